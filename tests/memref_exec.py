"""Runs stage-2 and stage-3 functions with xDSL's interpreter (the package's oracle executor,
`terrace.fuzz.buffer_interpreter`, re-exported here), and builds the random elementwise stage-2
programs of the bufferize and memory-plan tests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from terrace.fuzz.buffer_interpreter import (
    StridedArray,
    run_buffers,
    run_tensors,
    to_numpy,
    to_shaped,
)

__all__ = [
    "ProgramStep",
    "StridedArray",
    "elementwise_program",
    "run_buffers",
    "run_tensors",
    "to_numpy",
    "to_shaped",
]

# ---------------------------------------------------------------------------------------------
# Random stage-2 programs.

_BINARY = ("arith.addf", "arith.subf", "arith.mulf", "arith.maximumf")
_MAP = "affine_map<(d0, d1) -> (d0, d1)>"


@dataclass(frozen=True)
class ProgramStep:
    """One op of a random program: `kind` is "binary" (a fresh result from two values),
    "accumulate" (operands[1] is the init, updated in place with += operands[0]) or "reshape"
    (a collapse then expand round trip of operands[0])."""

    kind: str
    operands: tuple[int, ...]
    op_name: str = "arith.addf"


def elementwise_program(steps: Sequence[ProgramStep], results: Sequence[int], shape=(2, 3)) -> str:
    """Stage-2 IR for a chain or diamond of elementwise ops over `%v0` (the input) and the
    values the steps define (`%v1`, ...); `results` picks the returned values."""
    tensor_type = f"tensor<{shape[0]}x{shape[1]}xf32>"
    flat_type = f"tensor<{shape[0] * shape[1]}xf32>"
    lines = [
        f"func.func @main(%v0: {tensor_type}) -> ({', '.join([tensor_type] * len(results))}) {{"
    ]
    for number, step in enumerate(steps, start=1):
        a = step.operands[0]
        if step.kind == "reshape":
            lines.append(
                f"  %flat{number} = tensor.collapse_shape %v{a} [[0, 1]] : "
                f"{tensor_type} into {flat_type}"
            )
            lines.append(
                f"  %v{number} = tensor.expand_shape %flat{number} [[0, 1]] output_shape "
                f"[{shape[0]}, {shape[1]}] : {flat_type} into {tensor_type}"
            )
            continue
        if step.kind == "accumulate":
            init, inputs, body_op, lhs = f"%v{step.operands[1]}", f"%v{a}", "arith.addf", "%o"
            maps, ins_types = f"[{_MAP}, {_MAP}]", tensor_type
            args = "%x: f32, %o: f32"
            rhs = "%x"
        else:
            lines.append(f"  %e{number} = tensor.empty() : {tensor_type}")
            init, inputs, body_op = f"%e{number}", f"%v{a}, %v{step.operands[1]}", step.op_name
            maps, ins_types = f"[{_MAP}, {_MAP}, {_MAP}]", f"{tensor_type}, {tensor_type}"
            args, lhs, rhs = "%x: f32, %y: f32, %o: f32", "%x", "%y"
        lines += [
            f"  %v{number} = linalg.generic {{indexing_maps = {maps}, iterator_types = "
            f'["parallel", "parallel"]}} ins({inputs} : {ins_types}) '
            f"outs({init} : {tensor_type}) {{",
            f"  ^bb0({args}):",
            f"    %r = {body_op} {lhs}, {rhs} : f32",
            "    linalg.yield %r : f32",
            f"  }} -> {tensor_type}",
        ]
    returned = ", ".join(f"%v{r}" for r in results)
    lines.append(f"  func.return {returned} : {', '.join([tensor_type] * len(results))}")
    lines.append("}")
    return "\n".join(lines)
