"""The differential checker: a program before and after a pipeline, on the same inputs.

`check_program` runs a program through the level's oracle, applies the passes to a copy
(verifying the IR after each), runs the result again on the same inputs (through the level's
oracle while the result is still at the level, else as native code) and compares. A
mismatch is bisected to the first pass that changed the answer.

What counts as a finding:
- a mismatch: different shapes or dtypes, NaN at different places, unequal infinities,
  integers or booleans not exactly equal, floats outside the tolerance of `compare`;
- a crash: the pass raised anything but an "unsupported" error, or left IR that does not
  verify (VerifyException);
- an oracle error: the level's oracle failed on the program before any pass ran, a bug of
  the program generator (or of the reference) rather than of the pass, shrunk and written as a
  reproducer all the same instead of ending the run with a traceback;
- not a finding: the pass raised `DiagnosticException` (not a VerifyException), xDSL's and
  Terrace's way for a pass to say it does not handle a valid program (a conversion naming an
  op it cannot lower). Such programs are counted as unsupported in the report.

`fuzz` drives the checker with hypothesis: it draws programs and inputs, lets hypothesis
shrink the first failing example, and writes the minimal one as a reproducer.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from hypothesis import Verbosity, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.errors import FailedHealthCheck, Flaky, Unsatisfiable
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass, PassPipeline
from xdsl.utils.exceptions import DiagnosticException, VerifyException

from ..dialects.context import terrace_context
from ..errors import TerraceError, first_line
from ..passes.registry import all_passes
from ..targets import Target, get_target
from ..tools._plugin import load_pass_plugin
from .compiled import execute_compiled, output_types
from .data import Edges, input_sets
from .hypothesis_state import fuzz_run_state
from .levels import Executor, Level, Program, available_levels, level_for_pass
from .pass_targets import stays_in_level

ORACLE = "oracle"
"""The culprit of an `oracle-error`: the program broke the level's oracle before any pass ran
(a program generator that drew an invalid program, or a reference bug)."""


class FuzzError(TerraceError):
    """A pipeline, level or plugin that the fuzzer cannot use."""


@dataclass(frozen=True)
class Finding:
    """A program on which the pipeline changed the answer, crashed, or broke the IR."""

    kind: str  # "mismatch", "crash", "invalid-ir" or "oracle-error"
    program: Program
    pipeline: str
    culprit: str
    """The first pass that changed the answer (or raised)."""
    inputs: list[np.ndarray]
    message: str
    oracle: str = "level"
    """What gave the expected results: "level" (the level's own oracle) or "mlir" (upstream
    MLIR's lowering of the program, against Terrace's lowering of the result)."""

    def describe(self) -> str:
        return f"{self.kind} after pass '{self.culprit}': {self.message}"


# -- pipelines ------------------------------------------------------------------------------


def pass_factories(plugins: Sequence[str] = ()) -> dict[str, Callable[[], type[ModulePass]]]:
    """Every registered pass, plus the passes of the plugins (files or modules)."""
    factories = dict(all_passes())
    for source in plugins:
        for pass_class in load_pass_plugin(source):
            factories[pass_class.name] = _constant(pass_class)
    return factories


def _constant(pass_class: type[ModulePass]) -> Callable[[], type[ModulePass]]:
    return lambda: pass_class


def parse_pipeline(text: str, plugins: Sequence[str] = ()) -> tuple[ModulePass, ...]:
    try:
        return PassPipeline.parse_spec(pass_factories(plugins), text).passes
    except Exception as error:  # unknown passes, bad options, a pass module that fails to load
        raise FuzzError(f"pipeline '{text}': {first_line(error)}") from None


def _pipeline_text(passes: Sequence[ModulePass]) -> str:
    return ",".join(str(p.pipeline_pass_spec()) for p in passes)


# -- comparison -----------------------------------------------------------------------------


def compare(expected: np.ndarray, actual: np.ndarray, accumulations: int = 1) -> str | None:
    """Why `actual` is not `expected`, or None. Integers and booleans compare exactly; floats
    within rtol = 16 eps (1 + accumulations) and atol = rtol times the largest finite expected
    magnitude (at least 1), NaN at the same places, infinities equal."""
    if expected.shape != actual.shape or expected.dtype != actual.dtype:
        want = f"{expected.dtype}{list(expected.shape)}"
        return f"expected {want}, got {actual.dtype}{list(actual.shape)}"
    if not np.issubdtype(expected.dtype, np.floating):
        wrong = np.flatnonzero(expected != actual)
        return None if wrong.size == 0 else _first_difference(expected, actual, wrong)
    nan_wrong = np.flatnonzero(np.isnan(expected) != np.isnan(actual))
    if nan_wrong.size:
        return "NaN at different places: " + _first_difference(expected, actual, nan_wrong)
    inf_wrong = np.flatnonzero((np.isinf(expected) | np.isinf(actual)) & (expected != actual))
    if inf_wrong.size:
        return "infinities differ: " + _first_difference(expected, actual, inf_wrong)
    finite = np.isfinite(expected)
    if not finite.any():
        return None
    rtol = 16 * float(np.finfo(expected.dtype).eps) * (1 + accumulations)
    scale = max(float(np.max(np.abs(expected[finite]))), 1.0)
    with np.errstate(invalid="ignore", over="ignore"):
        error = np.abs(expected.astype(np.float64) - actual.astype(np.float64))
        wrong = np.flatnonzero(finite & (error > rtol * np.abs(expected) + rtol * scale))
    if wrong.size == 0:
        return None
    return f"outside rtol {rtol:.2g}, atol {rtol * scale:.2g}: " + _first_difference(
        expected, actual, wrong
    )


def _first_difference(expected: np.ndarray, actual: np.ndarray, flat: np.ndarray) -> str:
    index = tuple(int(i) for i in np.unravel_index(int(flat[0]), expected.shape))
    return (
        f"{flat.size} of {expected.size} elements differ, first at {list(index)}: "
        f"expected {expected[index]!r}, got {actual[index]!r}"
    )


def compare_all(
    expected: Sequence[np.ndarray], actual: Sequence[np.ndarray], accumulations: int
) -> str | None:
    if len(expected) != len(actual):
        return f"expected {len(expected)} results, got {len(actual)}"
    for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
        problem = compare(np.asarray(want), np.asarray(got), accumulations)
        if problem is not None:
            return f"result #{index}: {problem}"
    return None


# -- one program ----------------------------------------------------------------------------


class Unsupported(Exception):
    """A pass declined the program (DiagnosticException): not a finding."""


@dataclass
class _Applied:
    module: ModuleOp | None
    finding: tuple[str, str, str] | None  # (kind, culprit, message)


def _apply(program: Program, passes: Sequence[ModulePass]) -> _Applied:
    """The module after `passes`, verified after each; raises Unsupported."""
    module = program.module()
    ctx = terrace_context()
    for module_pass in passes:
        try:
            module_pass.apply(ctx, module)
        except VerifyException as error:
            return _Applied(None, ("crash", module_pass.name, first_line(error)))
        except DiagnosticException as error:
            raise Unsupported(f"{module_pass.name}: {first_line(error)}") from None
        except Exception as error:  # whatever a broken pass raises is the finding
            message = f"{type(error).__name__}: {first_line(error)}"
            return _Applied(None, ("crash", module_pass.name, message))
        try:
            module.verify()
        except VerifyException as error:
            return _Applied(None, ("invalid-ir", module_pass.name, first_line(error)))
    return _Applied(module, None)


def executor_for(
    module: ModuleOp, program: Program, target: Target | None = None, oracle: str = "level"
) -> Executor:
    """The level's oracle while `module` is still at the level, else native code for `target`
    (None: the host). (A lower level's oracle may need what only its own generator records,
    such as output shapes.) With the upstream MLIR oracle, always native code: Terrace's own
    lowering of the result."""
    level = available_levels()[program.level]
    if oracle == "level" and level.accepts(module):
        return level.execute
    outputs = output_types(program.module())
    return lambda lowered, inputs: execute_compiled(lowered, inputs, outputs, target)


ORACLES = ("level", "mlir")
"""`level`: each level's own oracle (docs/fuzzing.md); `mlir`: upstream MLIR's lowering of the
program (fuzz/mlir_oracle.py), at the linalg and loops levels."""
MLIR_ORACLE_LEVELS = ("linalg", "loops")


def expected_executor(level: Level, oracle: str = "level") -> Executor:
    """What computes the expected results of a program of `level`."""
    if oracle == "level":
        return level.execute
    from .mlir_oracle import run_upstream

    return run_upstream


def check_program(
    program: Program,
    passes: Sequence[ModulePass],
    input_draws: Sequence[list[np.ndarray]],
    bisect: bool = True,
    target: Target | None = None,
    oracle: str = "level",
) -> Finding | None:
    """The first finding of `passes` on `program` over the input draws, or None; raises
    Unsupported when a pass declines the program. Without `bisect`, a mismatch names the
    pipeline's last pass (`locate` finds the first one that changed the answer). `oracle`
    is one of ORACLES."""
    level = available_levels()[program.level]
    pipeline = _pipeline_text(passes)
    original = program.module()  # the oracle only reads it
    try:
        expected = [expected_executor(level, oracle)(original, inputs) for inputs in input_draws]
    except Exception as error:  # a generator or reference bug, shrunk and written like a finding
        message = f"the oracle failed before any pass: {type(error).__name__}: {first_line(error)}"
        inputs = list(input_draws[0])
        return Finding("oracle-error", program, pipeline, ORACLE, inputs, message, oracle)
    applied = _apply(program, passes)
    if applied.finding is not None:
        kind, culprit, message = applied.finding
        return Finding(kind, program, pipeline, culprit, list(input_draws[0]), message, oracle)
    assert applied.module is not None
    execute = executor_for(applied.module, program, target, oracle)
    last = passes[-1].name
    for inputs, want in zip(input_draws, expected, strict=True):
        try:
            actual = execute(applied.module, inputs)
        except Exception as error:  # lowering the result the rest of the way, or running it
            message = f"running the result failed: {type(error).__name__}: {first_line(error)}"
            return Finding("crash", program, pipeline, last, list(inputs), message, oracle)
        problem = compare_all(want, actual, program.accumulations)
        if problem is None:
            continue
        finding = Finding("mismatch", program, pipeline, last, list(inputs), problem, oracle)
        return locate(finding, passes, target) if bisect else finding
    return None


def locate(finding: Finding, passes: Sequence[ModulePass], target: Target | None = None) -> Finding:
    """The mismatch with its culprit: the first pass after which the answer differs."""
    if finding.kind != "mismatch":
        return finding
    program = finding.program
    level = available_levels()[program.level]
    oracle = finding.oracle
    expected = expected_executor(level, oracle)(program.module(), finding.inputs)
    for count in range(1, len(passes)):
        module = _apply(program, passes[:count]).module
        assert module is not None, "the whole pipeline ran, so each prefix runs"
        actual = executor_for(module, program, target, oracle)(module, finding.inputs)
        if compare_all(expected, actual, program.accumulations) is not None:
            return replace(finding, culprit=passes[count - 1].name)
    return finding


# -- fuzzing --------------------------------------------------------------------------------


@dataclass
class FuzzReport:
    pipeline: str
    level: str
    examples: int = 0
    """Examples run (up to the first finding)."""
    requested: int = 0
    unsupported: int = 0
    seconds: float = 0.0
    findings: list[Finding] = field(default_factory=list[Finding])
    reproducers: list[Path] = field(default_factory=list[Path])
    seed: int | None = None
    targets: list[str] = field(default_factory=list[str])
    """The ops generation was directed at (the ops the pass rewrites); empty: the level's
    default mix."""
    coverage: Counter[str] = field(default_factory=Counter[str])
    """How many of the examples held each op."""
    errors: list[str] = field(default_factory=list[str])
    """Why the run is not a complete check: fewer examples than asked, a failed hypothesis
    health check, a flaky property. A run with errors fails."""

    @property
    def incomplete(self) -> bool:
        return bool(self.errors)

    def summary(self) -> str:
        lines = [
            f"fuzzed '{self.pipeline}' at level {self.level}: {self.examples} examples "
            f"({self.unsupported} unsupported), {len(self.findings)} mismatches, "
            f"{self.seconds:.1f} s" + ("" if self.seed is None else f", seed {self.seed}"),
            self.coverage_line(),
        ]
        lines += [f"  {finding.describe()}" for finding in self.findings]
        lines += [f"  reproducer: {path}" for path in self.reproducers]
        lines += [f"  error: {error}" for error in self.errors]
        return "\n".join(lines)

    def coverage_line(self) -> str:
        """Programs holding each op the run was directed at (the commonest ops otherwise)."""
        if self.targets:
            counts = [(name, self.coverage[name]) for name in self.targets]
            head = "coverage (programs holding each op the pass rewrites): "
        else:
            ops = [(n, c) for n, c in self.coverage.most_common() if n.startswith(self.level)]
            counts = ops[:12]
            head = "coverage (undirected; programs holding the commonest ops): "
        shown = ", ".join(f"{name} {count}/{self.examples}" for name, count in counts)
        return "  " + head + (shown or "none")


class _FoundIt(Exception):
    """Raised inside the property so that hypothesis shrinks the example."""


Progress = Callable[[FuzzReport], None]


def _check_oracle(oracle: str, level: Level) -> None:
    if oracle not in ORACLES:
        raise FuzzError(f"unknown oracle '{oracle}'; oracles: {', '.join(ORACLES)}")
    if oracle == "mlir" and level.name not in MLIR_ORACLE_LEVELS:
        levels = " and ".join(MLIR_ORACLE_LEVELS)
        raise FuzzError(
            f"the mlir oracle runs at the {levels} levels, not at '{level.name}' (--level)"
        )
    if oracle == "mlir":
        from ..tools.mlir_interop import upstream_tool

        try:
            upstream_tool("mlir-opt")
            upstream_tool("mlir-translate")
        except TerraceError as error:
            raise FuzzError(str(error)) from None


def resolve_level(pipeline: Sequence[ModulePass], level: str | None) -> Level:
    levels = available_levels()
    if level is not None:
        if level not in levels:
            raise FuzzError(f"unknown level '{level}'; levels: {', '.join(levels)}")
        return levels[level]
    found = level_for_pass(pipeline[0].name) if pipeline else None
    return found or levels["nn"]


def _programs(
    level: Level, passes: Sequence[ModulePass], key: str, directed: bool
) -> tuple[st.SearchStrategy[Program], list[str]]:
    """The level's programs, directed at the ops the passes rewrite where that is learnt."""
    if not directed or level.name != "nn":
        return level.programs(), []
    from .nn_programs import nn_programs
    from .pass_targets import learn_focus

    focus = learn_focus(passes, key)
    if focus is None:
        return level.programs(), []
    return nn_programs(focus=focus), focus.op_names()


def fuzz(
    pipeline: str,
    *,
    level: str | None = None,
    examples: int = 100,
    seed: int | None = None,
    plugins: Sequence[str] = (),
    reproducer_dir: str | Path = "fuzz-reproducers",
    input_draws: int = 3,
    special_values: bool = False,
    shrink_seconds: float = 60.0,
    progress: Progress | None = None,
    directed: bool = True,
    write_reproducers: bool = True,
    target: str | None = None,
    oracle: str = "level",
) -> FuzzReport:
    """Fuzzes `pipeline` (a pass name or a textual pipeline) on `examples` programs of
    `level` (by default the level of its first pass); at the nn level the programs are
    directed at the ops the passes rewrite (`pass_targets.py`) unless `directed` is False.
    Hypothesis shrinks the first finding for up to `shrink_seconds`, and the smallest failing
    program is written as a reproducer into `reproducer_dir`. NaN and infinities are drawn as
    inputs only when the oracle runs on both sides, or with `special_values`. A run that
    executes fewer examples than asked, fails a hypothesis health check or is flaky reports
    it in `errors`. Programs that leave the level are lowered the rest of the way and run
    with the pipeline and code generation of `target` (a tag of a target that runs in this
    process; None: the host). With `oracle="mlir"` (linalg and loops levels), upstream MLIR's
    lowering of each program gives the expected results and Terrace's lowering of the result
    the actual ones."""
    from .reproducer import write_reproducer

    described = get_target(target)
    if not described.runs_in_process():
        raise TerraceError(f"fuzzing runs code in this process; '{described.tag}' does not")
    passes = parse_pipeline(pipeline, plugins)
    chosen = resolve_level(passes, level)
    _check_oracle(oracle, chosen)
    key = "\n".join([_pipeline_text(passes), *plugins])
    report = FuzzReport(_pipeline_text(passes), chosen.name, requested=examples, seed=seed)
    programs, report.targets = _programs(chosen, passes, key, directed)
    failing: list[Finding] = []
    started = time.perf_counter()

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        report_multiple_bugs=False,
        verbosity=Verbosity.quiet,  # the report says what was found; hypothesis need not
    )
    @given(st.data())
    def property(data: st.DataObject) -> None:
        program = data.draw(programs, label="program")
        edges = _edges(program, passes, special_values)
        draws = [data.draw(input_sets(program.inputs, edges)) for _ in range(input_draws)]
        try:
            finding = check_program(
                program, passes, draws, bisect=False, target=described, oracle=oracle
            )
        except Unsupported:
            report.unsupported += 0 if failing else 1
            finding = None
        if not failing:
            report.examples += 1
            report.coverage.update(program.op_names or _op_names(program))
            report.seconds = time.perf_counter() - started
            if progress is not None:
                progress(report)
        if finding is None:
            return
        failing.append(finding)
        raise _FoundIt(finding.describe())

    test = property if seed is None else hypothesis_seed(seed)(property)
    try:
        with fuzz_run_state(shrink_seconds):
            test()
    except _FoundIt:
        pass
    except (FailedHealthCheck, Flaky, Unsatisfiable) as error:
        report.errors.append(f"hypothesis: {type(error).__name__}: {first_line(error)}")
    if failing:
        shrunk = locate(min(failing, key=lambda f: len(f.program.text)), passes, described)
        report.findings.append(shrunk)
        if write_reproducers:
            report.reproducers.append(write_reproducer(shrunk, Path(reproducer_dir), plugins))
    elif report.examples < examples and not report.errors:
        report.errors.append(
            f"ran {report.examples} of the {examples} examples asked for: hypothesis stopped "
            "early (too many draws rejected or too large); the pass is not checked as asked"
        )
    report.seconds = time.perf_counter() - started
    return report


def _op_names(program: Program) -> frozenset[str]:
    return frozenset(op.name for op in program.module().walk())


def _edges(program: Program, passes: Sequence[ModulePass], special_values: bool) -> Edges:
    """NaN and infinities only where every executor defines them alike: with the level's own
    oracle on both sides (a pass within the level), or when asked for."""
    if special_values or all(stays_in_level(p) for p in passes):
        return program.edges
    return Edges.FINITE if program.edges is not Edges.ORDINARY else Edges.ORDINARY
