"""terrace-opt: xDSL's xdsl-opt driver with Terrace's nn dialect and passes registered.

The driver is xDSL's `xDSLOptMain`; this module adds what mlir-opt users expect on top of it:
`--print-ir-after-all`, a per-pass timing table, weight stores (`--weights`, `--weights-out`),
pass plugins (`--load-pass-plugin`), a `--help` that lists every pass with its summary, and one
clear line instead of a traceback for each user mistake.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import sys
import time
from collections.abc import Callable, Sequence
from io import StringIO
from typing import IO, ClassVar

from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation
from xdsl.parser import Parser
from xdsl.passes import ModulePass, PassPipeline, get_pass_option_infos
from xdsl.printer import Printer
from xdsl.utils.arg_spec import ArgSpec, parse_pipeline
from xdsl.utils.exceptions import (
    ArgSpecParseError,
    DiagnosticException,
    ParseError,
    VerifyException,
)
from xdsl.xdsl_opt_main import xDSLOptMain

from ..dialects.context import terrace_context
from ..dialects.nn.weights import WeightStore
from ..errors import TerraceError
from ..passes.registry import TERRACE_PASSES, all_passes
from ._plugin import load_pass_plugin

PassFactory = Callable[[], type[ModulePass]]

DESCRIPTION = """\
Parses MLIR (every xDSL dialect plus Terrace's nn), runs a pass pipeline, verifies the IR after
every pass and prints the result.

examples:
  terrace-opt model.mlir -p 'nn-canonicalize,cse' -o out.mlir
  terrace-opt model.mlir -p nn-fold-batchnorm --weights model.npz --weights-out folded.npz
  terrace-opt cases.mlir --split-input-file --print-ir-after-all --time-passes
  terrace-opt model.mlir -p my-pass --load-pass-plugin my_passes.py
"""


class UsageError(TerraceError):
    """A mistake on the command line: an unknown pass or option, an unreadable file."""


class IRVerifyError(VerifyException):
    """The IR does not verify; the message names the failing op and the pass before it."""


class TerraceOptMain(xDSLOptMain):
    version_format: ClassVar[str] = "terrace-opt built from xdsl version {xdsl_version}"

    def __init__(self, args: Sequence[str] | None = None):
        self.argv = list(sys.argv[1:] if args is None else args)
        # Plugins load before xDSL parses the pipeline, which needs their passes registered.
        self.plugin_passes = _load_plugins(self.argv)
        self.timer = PassTimer(())
        self.chunk_name = "input"
        super().__init__(description=DESCRIPTION, args=self.argv)
        self.weight_store = self._open_weight_store()

    # -- registration ----------------------------------------------------------------------

    def register_all_dialects(self) -> None:
        self.ctx = terrace_context()

    def register_all_passes(self) -> None:
        for name, factory in all_passes().items():
            self.register_pass(name, factory)
        for pass_class in self.plugin_passes:
            self.register_pass(pass_class.name, _constant_factory(pass_class))

    def register_all_arguments(self, arg_parser: argparse.ArgumentParser) -> None:
        super().register_all_arguments(arg_parser)
        arg_parser.formatter_class = argparse.RawDescriptionHelpFormatter
        # xDSL's help for -p is every pass name on one line; the epilog lists them readably.
        arg_parser._option_string_actions["-p"].help = (
            "pass pipeline, e.g. 'nn-canonicalize,cse' or 'apply-pdl{pdl-file=\"x.mlir\"}' "
            "(passes are listed below)"
        )
        arg_parser.add_argument(
            "--print-ir-after-all",
            action="store_true",
            help="print the IR after every pass to stderr, under a header naming the pass",
        )
        arg_parser.add_argument(
            "--weights", metavar="FILE.npz", help="weight store (.npz) attached to each module"
        )
        arg_parser.add_argument(
            "--weights-out", metavar="FILE.npz", help="save the weight store after the passes"
        )
        arg_parser.add_argument(
            "--load-pass-plugin",
            action="append",
            default=[],
            metavar="FILE_OR_MODULE",
            help="a .py file or module name whose ModulePass subclasses become usable with -p "
            "(repeatable)",
        )
        arg_parser.add_argument(
            "--list-passes", action="store_true", help="list every pass with its summary"
        )
        # Importing every pass for its docstring takes most of a second: only for --help.
        if _wants_help(self.argv):
            arg_parser.epilog = self.pass_listing()

    # -- the pipeline ----------------------------------------------------------------------

    def setup_pipeline(self) -> None:
        passes = tuple(self._instantiate(spec) for spec in _parse_pipeline_text(self.args.passes))
        self.timer = PassTimer(passes)
        self.pipeline = PassPipeline(passes, self._between_passes)

    def _instantiate(self, spec: ArgSpec) -> ModulePass:
        factory = self.available_passes.get(spec.name)
        if factory is None:
            raise UsageError(
                f"unknown pass '{spec.name}'{_suggest(spec.name, list(self.available_passes))}"
            )
        try:
            pass_class = factory()
        except Exception as error:  # a registered pass whose module does not import
            raise UsageError(f"pass '{spec.name}' is unavailable: {error}") from None
        _check_option_names(spec, pass_class)
        try:
            return pass_class.from_spec(spec)
        except ValueError as error:
            raise UsageError(f"bad options for pass '{spec.name}': {error}") from None

    def _between_passes(
        self, previous: ModulePass | None, module: ModuleOp, next_pass: ModulePass | None
    ) -> None:
        del next_pass
        if previous is not None:
            self.timer.record_pass(previous)
            if self.args.print_ir_after_all or self.args.print_between_passes:
                self._print_ir_after(previous, module)
        if not self.args.disable_verify:
            self.timer.restart()
            _verify(module, previous, self.chunk_name)
            self.timer.record_verify()
        self.timer.restart()

    def _print_ir_after(self, done: ModulePass, module: ModuleOp) -> None:
        header = f"// -----// IR Dump After {type(done).__name__} ({done.name}) //----- //"
        print(header, file=sys.stderr)
        printer = Printer(stream=sys.stderr, print_generic_format=self.args.print_op_generic)
        printer.print_op(module)
        print("\n", file=sys.stderr)

    # -- input and output ------------------------------------------------------------------

    def register_all_frontends(self) -> None:
        super().register_all_frontends()
        self.available_frontends["mlir"] = self._parse_mlir

    def _parse_mlir(self, stream: IO[bytes]) -> ModuleOp:
        parser = LocatingParser(self.ctx, stream.read(), self.get_input_name())
        return parser.parse_module(not self.args.no_implicit_module)

    def get_input_stream(self) -> tuple[IO[bytes], str]:
        try:
            return super().get_input_stream()
        except OSError as error:
            raise UsageError(f"cannot read {self.args.input_file}: {error.strerror}") from None

    def prepare_input(self) -> tuple[list[tuple[IO[bytes], int]], str]:
        try:
            return super().prepare_input()
        except ValueError as error:  # xDSL's message for an unknown file extension
            raise UsageError(f"{error} (name a frontend with -f mlir)") from None

    def prepare_output(self) -> IO[str]:
        try:
            return super().prepare_output()
        except OSError as error:
            raise UsageError(f"cannot write {self.args.output_file}: {error.strerror}") from None

    def parse_chunk(
        self, chunk: IO[bytes], file_extension: str, start_offset: int = 0
    ) -> ModuleOp | None:
        module = super().parse_chunk(chunk, file_extension, start_offset)
        self.chunk_name = self.get_input_name()
        if self.args.split_input_file:
            self.chunk_name += f" (chunk from line {start_offset + 1})"
        if module is not None and self.weight_store is not None:
            self.weight_store.attach(module)
        return module

    def _open_weight_store(self) -> WeightStore | None:
        if self.args.weights:
            try:
                return WeightStore.load(self.args.weights)
            except ValueError as error:
                raise UsageError(str(error)) from None
        # Without --weights, passes that add weights still need one store to save.
        return WeightStore() if self.args.weights_out else None

    def run(self) -> None:
        super().run()
        if self.args.weights_out and self.weight_store is not None:
            self.weight_store.save(self.args.weights_out)
        if self.args.time_passes:
            print(self.timer.report(), file=sys.stderr)

    # -- the pass listing ------------------------------------------------------------------

    def pass_listing(self) -> str:
        """Every pass with its summary: Terrace's, then plugins', then xDSL's."""
        plugin_names = [p.name for p in self.plugin_passes]
        terrace_names = [n for n in TERRACE_PASSES if n not in plugin_names]
        xdsl_names = sorted(
            n for n in self.available_passes if n not in TERRACE_PASSES and n not in plugin_names
        )
        sections = [
            ("Terrace passes", terrace_names),
            ("plugin passes", plugin_names),
            ("xDSL passes", xdsl_names),
        ]
        lines = ["passes (-p 'a,b{option=value}'):"]
        for title, names in sections:
            if not names:
                continue
            lines.append(f"  {title}:")
            lines.extend(_describe_pass(name, self.available_passes[name]) for name in names)
        return "\n".join(lines)


class LocatingParser(Parser):
    """xDSL's parser, except that a constraint a custom format checks while parsing (a
    non-tensor operand of an nn op, say) fails as a parse error at the op, with its line,
    instead of a bare message."""

    def parse_operation(self) -> Operation:
        start = self.pos
        try:
            return super().parse_operation()
        except VerifyException as error:
            self.raise_error(str(error), start)


class PassTimer:
    """Wall time per pass of the pipeline and for verification, summed over the chunks of a
    split input; the verifier's time is kept apart, as mlir-opt's timing report does."""

    def __init__(self, passes: Sequence[ModulePass]):
        self.passes = tuple(passes)
        self.pass_seconds = [0.0] * len(self.passes)
        self.verify_seconds = 0.0
        self.started = time.perf_counter()

    def restart(self) -> None:
        self.started = time.perf_counter()

    def record_pass(self, done: ModulePass) -> None:
        # By identity: one pass may appear twice in a pipeline, with equal options.
        index = next(i for i, p in enumerate(self.passes) if p is done)
        self.pass_seconds[index] += time.perf_counter() - self.started

    def record_verify(self) -> None:
        self.verify_seconds += time.perf_counter() - self.started

    def report(self) -> str:
        rows = [(p.name, s) for p, s in zip(self.passes, self.pass_seconds, strict=True)]
        rows.append(("(verify)", self.verify_seconds))
        total = sum(seconds for _, seconds in rows)
        width = max(len(name) for name, _ in [*rows, ("Total", 0.0)])
        lines = ["===- pass execution timing report -===", f"  {'Seconds':>9}  Pass"]
        lines.extend(f"  {seconds:9.4f}  {name:<{width}}" for name, seconds in rows)
        lines.append(f"  {total:9.4f}  Total")
        return "\n".join(lines)


# -- helpers -------------------------------------------------------------------------------


def _load_plugins(argv: Sequence[str]) -> list[type[ModulePass]]:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--load-pass-plugin", action="append", default=[])
    known, _ = parser.parse_known_args(argv)
    return [p for source in known.load_pass_plugin for p in load_pass_plugin(source)]


def _constant_factory(pass_class: type[ModulePass]) -> PassFactory:
    return lambda: pass_class


def _wants_help(argv: Sequence[str]) -> bool:
    # argparse accepts any unambiguous prefix of --help, such as --he
    return any(arg == "-h" or (len(arg) > 3 and "--help".startswith(arg)) for arg in argv)


def _parse_pipeline_text(text: str) -> list[ArgSpec]:
    try:
        return list(parse_pipeline(text))
    except ArgSpecParseError as error:
        raise UsageError(str(error).strip()) from None


def _suggest(name: str, candidates: Sequence[str]) -> str:
    matches = difflib.get_close_matches(name, candidates, n=3, cutoff=0.6)
    if not matches:
        return " (terrace-opt --list-passes lists them)"
    return f"; did you mean {', '.join(matches)}?"


def _check_option_names(spec: ArgSpec, pass_class: type[ModulePass]) -> None:
    options = [field.name.replace("_", "-") for field in dataclasses.fields(pass_class)]
    for given in spec.parameters:
        name = given.replace("_", "-")
        if name in options:
            continue
        known = f"its options are {', '.join(options)}" if options else "it takes no options"
        matches = difflib.get_close_matches(name, options, n=3, cutoff=0.6)
        hint = f"did you mean {', '.join(matches)}? " if matches else ""
        raise UsageError(f"pass '{spec.name}' has no option '{given}'; {hint}{known}")


def _verify(module: ModuleOp, previous: ModulePass | None, chunk_name: str) -> None:
    try:
        module.verify()
    except VerifyException as error:
        stage = chunk_name if previous is None else f"IR after pass '{previous.name}'"
        failing = _failing_op(module)
        at = f"\n  at: {_first_line(failing)}" if failing is not None else ""
        raise IRVerifyError(f"{stage} does not verify: {error}{at}") from None


def _failing_op(module: ModuleOp) -> Operation | None:
    """The first op, outermost first, whose own verifier fails (nested ops aside)."""
    for op in module.walk():
        try:
            op.verify(verify_nested_ops=False)
        except VerifyException:
            return op
    return None


def _first_line(op: Operation) -> str:
    text = StringIO()
    Printer(stream=text).print_op(op)
    return text.getvalue().strip().splitlines()[0]


_NAME_WIDTH = 34
_COLUMN = " " * (4 + _NAME_WIDTH + 1)


def _describe_pass(name: str, factory: PassFactory) -> str:
    """`name  summary`, then the options (`{name: type = default}`) under the summary."""
    try:
        pass_class = factory()
    except Exception as error:  # a registered pass whose module does not import (yet)
        column = [f"(unavailable: {error})"]
    else:
        column = [text for text in (_summary(pass_class), _options(pass_class)) if text]
    if not column:
        return f"    {name}"
    if len(name) > _NAME_WIDTH:
        return "\n".join([f"    {name}", *(_COLUMN + text for text in column)])
    head = f"    {name:<{_NAME_WIDTH}} {column[0]}"
    return "\n".join([head, *(_COLUMN + text for text in column[1:])])


def _options(pass_class: type[ModulePass]) -> str:
    options = [
        f"{info.name.replace('_', '-')}: {info.expected_type.replace('typing.', '')}"
        + ("" if info.default_value is None else f" = {info.default_value}")
        for info in get_pass_option_infos(pass_class)
    ]
    return f"{{{', '.join(options)}}}" if options else ""


def _summary(pass_class: type[ModulePass]) -> str:
    doc = pass_class.__dict__.get("__doc__") or ""
    # @dataclass writes a signature such as "Foo(bar: int = 1)" as the docstring of a class
    # that has none: that is no summary.
    if doc.startswith(f"{pass_class.__name__}("):
        return ""
    lines = [line.strip() for line in doc.strip().splitlines()]
    return lines[0] if lines else ""


def main(args: Sequence[str] | None = None) -> int:
    try:
        driver = TerraceOptMain(args)
        if driver.args.list_passes:
            print(driver.pass_listing())
            return 0
        driver.run()
    except (TerraceError, ParseError, ArgSpecParseError, DiagnosticException) as error:
        print(f"terrace-opt: error: {str(error).rstrip()}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
