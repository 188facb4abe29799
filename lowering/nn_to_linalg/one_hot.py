"""convert-nn-to-linalg pattern for one_hot: one parallel `linalg.generic` over the result.

The indices are read with the new axis left out of their map, values[0] and values[1] with
constant maps; each element compares its position along the new axis with its index (wrapped
once when negative, compared as the index's type: a float index matches only a whole value,
an out-of-range one nothing) and selects on or off.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.builder import Builder
from xdsl.dialects import arith
from xdsl.dialects.builtin import AffineMapAttr, AnyFloat, IntegerType, i64
from xdsl.dialects.linalg import ops as linalg
from xdsl.ir import SSAValue
from xdsl.ir.affine import AffineExpr, AffineMap
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern, op_type_rewrite_pattern

from ...dialects.nn import shape as nn
from .common import (
    PARALLEL,
    build_generic,
    element_kind,
    element_type,
    empty_tensor,
    identity_map,
    scalar_constant,
    shape,
    unsupported,
)


def _position(b: Builder, dim: int, like: SSAValue) -> SSAValue:
    """The loop index along `dim` in the type of `like` (a float, or i64)."""
    index = b.insert(linalg.IndexOp(dim)).result
    as_integer = b.insert(arith.IndexCastOp(index, i64)).result
    if isinstance(like.type, AnyFloat):
        return b.insert(arith.SIToFPOp(as_integer, like.type)).result
    return as_integer


def _wrapped(b: Builder, index: SSAValue, depth: int) -> SSAValue:
    """index as i64 (or its float type), plus depth when negative."""
    if isinstance(index.type, IntegerType):
        if element_kind(index.type) == "unsigned":
            return (
                b.insert(arith.ExtUIOp(index, i64)).result if index.type.width.data < 64 else index
            )
        if index.type.width.data < 64:
            index = b.insert(arith.ExtSIOp(index, i64)).result
        zero, size = scalar_constant(b, 0, i64), scalar_constant(b, depth, i64)
        negative = b.insert(arith.CmpiOp(index, zero, "slt")).result
    else:
        zero, size = scalar_constant(b, 0, index.type), scalar_constant(b, depth, index.type)
        negative = b.insert(arith.CmpfOp(index, zero, "olt")).result
    shifted = b.insert(
        arith.AddfOp(index, size) if isinstance(index.type, AnyFloat) else arith.AddiOp(index, size)
    ).result
    return b.insert(arith.SelectOp(negative, shifted, index)).result


class LowerOneHot(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: nn.OneHotOp, rewriter: PatternRewriter) -> None:
        dims = shape(op.output)
        rank = len(dims)
        axis = op.int_attr("axis")
        axis = axis + rank if axis < 0 else axis
        depth = op.int_attr("depth")
        if shape(op.values) != (2,):
            raise unsupported(op, f"values of shape {list(shape(op.values))}, not [2]")
        loops = [AffineExpr.dimension(d) for d in range(rank)]
        index_map = AffineMap(rank, 0, tuple(e for d, e in enumerate(loops) if d != axis))
        off_map, on_map = (AffineMap(rank, 0, (AffineExpr.constant(i),)) for i in (0, 1))
        maps = [AffineMapAttr(m) for m in (index_map, off_map, on_map)] + [identity_map(rank)]

        def body(b: Builder, args: Sequence[SSAValue]) -> list[SSAValue]:
            index, off, on, _ = args
            wrapped = _wrapped(b, index, depth)
            position = _position(b, axis, wrapped)
            if isinstance(wrapped.type, AnyFloat):
                match = b.insert(arith.CmpfOp(wrapped, position, "oeq")).result
            else:
                match = b.insert(arith.CmpiOp(wrapped, position, "eq")).result
            return [b.insert(arith.SelectOp(match, on, off)).result]

        init = empty_tensor(rewriter, dims, element_type(op.values))
        generic = build_generic(
            rewriter, [op.indices, op.values, op.values], [init], maps, [PARALLEL] * rank, body
        )
        rewriter.replace(op, [], [generic.results[0]])


PATTERNS: list[RewritePattern] = [LowerOneHot()]
