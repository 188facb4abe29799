"""instrument-kernels: a timestamp before and after every kernel call of `@main`, for
`terrace profile` (an opt-in build: no target's pipeline runs it).

After outline-kernels, `@main` is a straight line of views and `func.call @kernel_N`s, each
call at the location of the ONNX nodes it computes (lowering/locations.py). This pass brackets
the calls with `func.call @terrace_profile_mark(i64 id)`: mark 0 on entry, marks 2i+1 and
2i+2 around the i-th kernel call, and mark 2n+1 before the return, so that the time of each
call, of the entry as a whole, and of @main's own code between the calls (the rest) can all
be read from one array of timestamps. The runtime (runtime/profile.py) binds the external
`terrace_profile_mark` to a native function that stores the clock at its index.

What each call computes is recorded in the module itself, as the JSON text of the global
`@terrace_profile_map` (`{"calls": [{"kernel": ..., "nodes": [...], "bytes": ...}, ...]}`),
so that the object code describes its own marks whether it comes fresh or from the compile
cache.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import arith, func, llvm
from xdsl.dialects.builtin import (
    FixedBitwidthType,
    IntegerAttr,
    LocationAttr,
    MemRefType,
    ModuleOp,
    NameLoc,
    StringAttr,
    i8,
    i64,
)
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter
from xdsl.utils.exceptions import DiagnosticException

from ..lowering.locations import location_parts

MARK_FUNCTION = "terrace_profile_mark"
MAP_GLOBAL = "terrace_profile_map"
ENTRY_FUNCTION = "main"

# helpers


def location_names(location: LocationAttr) -> list[str]:
    """The ONNX node names a location holds: a name, the names fused into it, or none."""
    return [part.desc.data for part in location_parts(location) if isinstance(part, NameLoc)]


def _operand_bytes(call: func.CallOp) -> int:
    """The bytes of the memrefs a call passes: what its kernel reads or writes at least once
    (the roofline's traffic)."""
    total = 0
    for operand in call.arguments:
        memref_type = operand.type
        if not isinstance(memref_type, MemRefType):
            continue
        element = memref_type.get_element_type()
        if isinstance(element, FixedBitwidthType):
            total += math.prod(memref_type.get_shape()) * element.size
    return total


def _mark(id_: int, where: InsertPoint) -> None:
    constant = arith.ConstantOp(IntegerAttr(id_, i64))
    call = func.CallOp(MARK_FUNCTION, [constant.result], [])
    Rewriter.insert_op([constant, call], where)


def _entry(module: ModuleOp) -> func.FuncOp:
    for op in module.ops:
        if isinstance(op, func.FuncOp) and op.sym_name.data == ENTRY_FUNCTION:
            if len(op.body.blocks) != 1:
                raise DiagnosticException(
                    "instrument-kernels: @main must be one block (run it after outline-kernels)"
                )
            return op
    raise DiagnosticException("instrument-kernels: the module has no func.func @main")


def _kernels(module: ModuleOp) -> set[str]:
    """The private functions with a body: the outlined kernels."""
    return {
        op.sym_name.data
        for op in module.ops
        if isinstance(op, func.FuncOp)
        and op.sym_visibility == StringAttr("private")
        and not op.is_declaration
    }


def _map_global(calls: list[dict[str, object]]) -> llvm.GlobalOp:
    """The map as a NUL-terminated string constant (the runtime reads it as a C string)."""
    text = json.dumps({"calls": calls}, separators=(",", ":")) + "\0"
    size = len(text.encode())
    array = llvm.LLVMArrayType(size, i8)
    return llvm.GlobalOp(array, MAP_GLOBAL, "external", constant=True, value=StringAttr(text))


# the pass


@dataclass(frozen=True)
class InstrumentKernelsPass(ModulePass):
    """Bracket every kernel call of @main with calls of an external timestamp hook.

    Input: stage 3 of docs/pipeline.md after outline-kernels (@main one block of views and
    `func.call`s of private kernels). Output: `func.func private @terrace_profile_mark(i64)`
    declared; in @main, `terrace_profile_mark(0)` first, `(2i+1)` and `(2i+2)` before and
    after the i-th call of a kernel, `(2n+1)` before `func.return`; and
    `llvm.mlir.global external constant @terrace_profile_map`, the JSON text
    `{"calls": [{"kernel": NAME, "nodes": [ONNX node names from the call's location],
    "bytes": the size of the memrefs it passes}]}` (NUL-terminated). The code of @main and
    of the kernels is otherwise unchanged. No options.
    Used by `terrace profile` only; the runtime binds the hook (runtime/profile.py).
    """

    name = "instrument-kernels"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        entry = _entry(op)
        kernels = _kernels(op)
        block = entry.body.block
        calls = [
            c
            for c in block.ops
            if isinstance(c, func.CallOp) and c.callee.string_value() in kernels
        ]
        returns = [r for r in block.ops if isinstance(r, func.ReturnOp)]
        _mark(0, InsertPoint.at_start(block))
        records: list[dict[str, object]] = []
        for index, call in enumerate(calls):
            _mark(2 * index + 1, InsertPoint.before(call))
            _mark(2 * index + 2, InsertPoint.after(call))
            kernel = call.callee.string_value()
            nodes = location_names(call.location)
            records.append({"kernel": kernel, "nodes": nodes, "bytes": _operand_bytes(call)})
        for return_op in returns:
            _mark(2 * len(calls) + 1, InsertPoint.before(return_op))
        op.body.block.add_op(func.FuncOp.external(MARK_FUNCTION, [i64], []))
        op.body.block.add_op(_map_global(records))
