"""Deliberately wrong rewrites, loaded as a pass plugin: the fuzzer must catch each one.

- `wrong-swap-sub`: a - b -> b - a (wrong whenever a != b).
- `wrong-drop-broadcast`: an nn.add whose second operand is broadcast becomes an add of the
  first operand with the broadcast operand's first element splat over the result (wrong only
  when the broadcast operand has more than one distinct value, that is, when it really
  broadcasts a row rather than a scalar).
- `wrong-loop-bound`: the outermost scf.for of each nest runs one iteration fewer
  (wrong whenever that loop runs more than once).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from xdsl.context import Context
from xdsl.dialects import arith, scf
from xdsl.dialects.builtin import IndexType, IntegerAttr, ModuleOp
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.rewriter import InsertPoint

from terrace.dialects.nn.base import shape_of
from terrace.dialects.nn.elementwise import AddOp, SubOp
from terrace.dialects.nn.shape import ExpandOp, SliceOp
from terrace.targets import host_target

_DONE = "fuzz.wrong"


class SwapSubOperands(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: SubOp, rewriter: PatternRewriter, /) -> None:
        if _DONE in op.attributes:
            return
        swapped = SubOp.build(operands=[op.B, op.A], result_types=[op.C.type])
        swapped.attributes[_DONE] = IntegerAttr(1, 64)
        rewriter.replace(op, swapped)


class DropBroadcast(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: AddOp, rewriter: PatternRewriter, /) -> None:
        result = shape_of(op.C)
        rhs = shape_of(op.B)
        if _DONE in op.attributes or rhs == result or shape_of(op.A) != result or not rhs:
            return
        # treat the broadcast operand as if its first element were all of it
        rank = len(rhs)
        first = SliceOp.build(
            operands=[op.B],
            result_types=[op.B.type.__class__(op.B.type.element_type, [1] * rank)],  # pyright: ignore
            attributes=_slice_attributes(rank),
        )
        full = ExpandOp.build(
            operands=[first.output],
            result_types=[op.C.type],
            attributes=_expand_attributes(result),
        )
        add = AddOp.build(operands=[op.A, full.output], result_types=[op.C.type])
        add.attributes[_DONE] = IntegerAttr(1, 64)
        rewriter.replace(op, [first, full, add])


def _slice_attributes(rank: int):
    from terrace.dialects.nn.base import Kind, attribute_from_python

    return {
        "starts": attribute_from_python(Kind.INTS, [0] * rank),
        "ends": attribute_from_python(Kind.INTS, [1] * rank),
        "axes": attribute_from_python(Kind.INTS, list(range(rank))),
    }


def _expand_attributes(shape: tuple[int, ...]):
    from terrace.dialects.nn.base import Kind, attribute_from_python

    return {"shape": attribute_from_python(Kind.INTS, list(shape))}


class ShortenLoop(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: scf.ForOp, rewriter: PatternRewriter, /) -> None:
        if _DONE in op.attributes or isinstance(op.parent_op(), scf.ForOp):
            return
        one = arith.ConstantOp(IntegerAttr(1, IndexType()))
        bound = arith.SubiOp(op.ub, one.result)
        rewriter.insert_op([one, bound], InsertPoint.before(op))
        op.operands[1] = bound.result
        op.attributes[_DONE] = IntegerAttr(1, 64)
        rewriter.handle_operation_modification(op)


@dataclass(frozen=True)
class WrongSwapSub(ModulePass):
    name = "wrong-swap-sub"
    FAMILY: ClassVar[str] = "elementwise"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(SwapSubOperands()).rewrite_module(op)


@dataclass(frozen=True)
class WrongDropBroadcast(ModulePass):
    name = "wrong-drop-broadcast"
    FAMILY: ClassVar[str] = "elementwise"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(DropBroadcast()).rewrite_module(op)


@dataclass(frozen=True)
class WrongLoopBound(ModulePass):
    name = "wrong-loop-bound"
    FAMILY: ClassVar[str] = "loops"
    # fuzzed from nn programs lowered to loops (the CPU pipeline up to lower-affine)
    FUZZ_PIPELINE: ClassVar[str] = (
        host_target().pipeline().until("loops").spec() + ",wrong-loop-bound"
    )

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(ShortenLoop()).rewrite_module(op)
