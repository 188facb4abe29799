"""Deliberately wrong vector rewrites, loaded as a pass plugin: the vector level must catch
each one.

- `wrong-fma-addend`: convert-vector-to-llvm with `vector.fma a, b, c` lowered to
  `llvm.intr.fma(a, c, b)`, the addend swapped with the second factor (wrong whenever
  a * b + c != a * c + b).
- `wrong-mask-last-lane`: each constant mask of a masked load or store loses its last lane
  that is on (the edge element of a tail is neither read nor written).
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import arith, llvm, vector
from xdsl.dialects.builtin import DenseIntOrFPElementsAttr, IntegerAttr, ModuleOp, VectorType, i1
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)

from terrace.lowering.vector_to_llvm import ConvertVectorToLlvmPass

_DONE = "fuzz.wrong"


class SwapFmaAddend(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: vector.FMAOp, rewriter: PatternRewriter, /) -> None:
        rewriter.replace(op, llvm.FMAOp(op.lhs, op.acc, op.rhs))  # a*b+c -> a*c+b


class DropLastMaskLane(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: arith.ConstantOp, rewriter: PatternRewriter, /) -> None:
        value, result_type = op.value, op.result.type
        if _DONE in op.attributes or not isinstance(value, DenseIntOrFPElementsAttr):
            return
        if not isinstance(result_type, VectorType) or result_type.element_type != i1:
            return
        lanes = [bool(lane) for lane in value.get_values()]
        if len(lanes) == 1:
            lanes = lanes * result_type.get_shape()[0]
        on = [index for index, lane in enumerate(lanes) if lane]
        if on:
            lanes[on[-1]] = False
        mask = arith.ConstantOp(DenseIntOrFPElementsAttr.from_list(result_type, lanes))
        mask.attributes[_DONE] = IntegerAttr(1, 64)
        rewriter.replace(op, mask)


@dataclass(frozen=True)
class WrongFmaAddend(ModulePass):
    name = "wrong-fma-addend"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(SwapFmaAddend()).rewrite_module(op)
        ConvertVectorToLlvmPass().apply(ctx, op)


@dataclass(frozen=True)
class WrongMaskLastLane(ModulePass):
    name = "wrong-mask-last-lane"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(DropLastMaskLane()).rewrite_module(op)
