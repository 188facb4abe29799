"""Upstream MLIR interop: the stages Terrace prints, checked by upstream mlir-opt 22 (docs/mlir.md).

- `upstream_form(module)`: a module below nn in the form upstream parses: nn.weight becomes a
  load of an external `ml_program.global` of the same name, and arith ops on unsigned integers
  compute on signless ones between bit casts (the two Terrace-only forms upstream rejects).
- `stage_snapshots(model)`: the text of each stage `terrace compile --emit` prints (linalg,
  loops, llvm), with the pass that produced it, from one run of the pipeline.
- `check_upstream(text, ...)`: `mlir-opt-22 --verify-each` on the text; upstream's own output,
  or an `UpstreamRejected` error with upstream's diagnostic, the stage and the pass.
- `read_back(text)`: upstream's output parsed and verified by Terrace's context.

The tools are found as `mlir-opt-22` / `mlir-translate-22` on PATH or in /usr/lib/llvm-22/bin
(Debian's `mlir-22-tools`), or in the folder named by TERRACE_MLIR_TOOLS_DIR, which then is the
only place looked in.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import onnx
from xdsl.dialects.builtin import ModuleOp

from ..errors import TerraceError, first_line

APT_PACKAGE = "mlir-22-tools"
LLVM_MAJOR = 22
TOOLS_DIR_VARIABLE = "TERRACE_MLIR_TOOLS_DIR"
UPSTREAM_STAGES = ("linalg", "loops", "llvm")
"""The stages below nn that `terrace compile --emit` prints as MLIR."""


class UpstreamToolMissing(TerraceError):
    """mlir-opt or mlir-translate 22 is not installed."""


class UpstreamRejected(TerraceError):
    """Upstream MLIR rejects a module Terrace printed (or Terrace cannot read upstream's)."""


@dataclass(frozen=True)
class StageSnapshot:
    """The printed text of one stage and the pass whose output it is."""

    stage: str
    produced_by: str
    text: str


# -- the tools -------------------------------------------------------------------------------


def upstream_tool(name: str) -> str:
    """The path of upstream's `name` (mlir-opt, mlir-translate), major version 22."""
    folder = os.environ.get(TOOLS_DIR_VARIABLE)
    if folder:
        candidates = [Path(folder) / name, Path(folder) / f"{name}-{LLVM_MAJOR}"]
    else:
        on_path = shutil.which(f"{name}-{LLVM_MAJOR}")
        candidates = [Path(on_path)] if on_path else []
        candidates.append(Path(f"/usr/lib/llvm-{LLVM_MAJOR}/bin/{name}"))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    where = f"in {TOOLS_DIR_VARIABLE}={folder}" if folder else "on PATH or in /usr/lib/llvm-22/bin"
    raise UpstreamToolMissing(
        f"upstream {name} {LLVM_MAJOR} not found {where}: install it with "
        f"`apt-get install {APT_PACKAGE}`"
    )


def run_tool(name: str, arguments: Sequence[str], text: str, what: str) -> str:
    """Runs upstream `name` on `text` (standard input); its output, or UpstreamRejected naming
    `what` with upstream's diagnostic."""
    tool = upstream_tool(name)
    result = subprocess.run(
        [tool, *arguments, "-"], input=text, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise UpstreamRejected(f"upstream {name} rejects {what}: {_diagnostic(result.stderr)}")
    return result.stdout


def _diagnostic(stderr: str) -> str:
    """Upstream's first error with its source line, on one line."""
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    errors = [i for i, line in enumerate(lines) if ": error:" in line]
    start = errors[0] if errors else 0
    return " | ".join(lines[start : start + 2]) or "(no diagnostic)"


# -- Terrace to upstream and back -----------------------------------------------------------


def upstream_form(module: ModuleOp) -> ModuleOp:
    """`module` rewritten in place into the form upstream parses: weights as extern globals,
    arith on signless integers (unsigned values bit-cast on the way in and out)."""
    from ..dialects.context import terrace_context
    from ..dialects.nn.constants import WeightOp
    from ..lowering.arith_to_signless import ConvertArithToSignlessPass
    from ..lowering.nn_weight_to_ml_program import ConvertNnWeightToMlProgramPass

    ctx = terrace_context()
    # one walk to skip the rewrites that have nothing to do (an llvm-stage module has no
    # nn.weight and no arith; walking its ~10^4 ops with two pattern walkers took 0.8 s)
    names = {op.name for op in module.walk()}
    if WeightOp.name in names:
        ConvertNnWeightToMlProgramPass().apply(ctx, module)
    if any(name.startswith("arith.") for name in names):
        ConvertArithToSignlessPass().apply(ctx, module)
    return module


def check_upstream(text: str, stage: str, produced_by: str) -> str:
    """`mlir-opt --verify-each` on a stage's text: upstream's output (its own printing)."""
    what = f"the {stage} stage (the output of pass '{produced_by}')"
    return run_tool("mlir-opt", ["--verify-each"], text, what)


def read_back(text: str, stage: str = "upstream") -> ModuleOp:
    """Upstream's output parsed and verified with Terrace's dialects."""
    from ..dialects.context import parse_module

    try:
        return parse_module(text)
    except Exception as error:  # xDSL's parse and verify errors have no common base
        raise UpstreamRejected(
            f"Terrace cannot read back upstream's output of the {stage} stage: {first_line(error)}"
        ) from None


def stage_snapshots(
    model: str | Path | onnx.ModelProto,
    stages: Sequence[str] = UPSTREAM_STAGES,
    input_shapes: Mapping[str, Sequence[int]] | None = None,
) -> Iterator[StageSnapshot]:
    """The text of each of `stages`, as `terrace compile --emit STAGE` prints it, from one run
    of the host pipeline (each stage's module is printed when its last pass has run)."""
    from ..compiler import StageTimer, lower
    from ..dialects.context import terrace_context
    from ..targets import host_target
    from .printing import module_text

    target = host_target()
    lowered = lower(model, target, "nn", StageTimer(), input_shapes)
    module = lowered.module
    staged = target.pipeline().staged_passes()
    ranks = {"linalg": 0, "memrefs": 1, "loops": 1, "llvm": 2}
    printed = {stage: UPSTREAM_STAGES.index(stage) for stage in stages}
    ctx = terrace_context()
    for position, (stage, module_pass) in enumerate(staged):
        module_pass.apply(ctx, module)
        rank = ranks[stage]
        is_last = position + 1 == len(staged) or ranks[staged[position + 1][0]] != rank
        if not is_last or rank not in printed.values():
            continue
        module.verify()
        name = UPSTREAM_STAGES[rank]
        snapshot = module.clone()
        yield StageSnapshot(name, module_pass.name, module_text(upstream_form(snapshot)))
        if rank == max(printed.values()):
            return
