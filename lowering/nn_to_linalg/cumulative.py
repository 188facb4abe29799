"""convert-nn-to-linalg patterns for running sums and products: cum_sum and cum_prod.

One `linalg.generic` scans the axis as a sequential (reduction) loop: its iteration space is
the input's, with the axis as the reduction dim. It has two outputs: the running value, whose
map leaves the axis out (one accumulator per line along the axis, starting at 0 or 1), and the
result, whose map keeps it, so each step stores the running value into its own element. The
work is linear in the input; nothing triangular is built. `reverse` flips the axis before and
after the scan (copies whose map reads it from its end, `n - 1 - d`, as a negative-step slice
does); `exclusive` stores the running value before adding the element.
f16 and bf16 accumulate in f32 and round each stored element once.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.builder import Builder
from xdsl.dialects import arith
from xdsl.dialects.builtin import AffineMapAttr, AnyFloat, IntegerType
from xdsl.ir import Attribute, SSAValue
from xdsl.ir.affine import AffineExpr, AffineMap
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern, op_type_rewrite_pattern

from ...dialects.nn import reduction as nn
from .common import (
    PARALLEL,
    REDUCTION,
    build_generic,
    element_type,
    empty_tensor,
    filled_tensor,
    shape,
    unsupported,
)
from .contraction import accumulator_type
from .shape import copy_generic


def _combine(b: Builder, sum_: bool, acc: SSAValue, value: SSAValue) -> SSAValue:
    if isinstance(acc.type, AnyFloat):
        if value.type != acc.type:
            value = b.insert(arith.ExtFOp(value, acc.type)).result
        op = arith.AddfOp(acc, value) if sum_ else arith.MulfOp(acc, value)
        return b.insert(op).result
    op = arith.AddiOp(acc, value) if sum_ else arith.MuliOp(acc, value)
    return b.insert(op).result


def _narrow(b: Builder, value: SSAValue, element: Attribute) -> SSAValue:
    if value.type == element:
        return value
    assert isinstance(element, AnyFloat)
    return b.insert(arith.TruncFOp(value, element)).result


class LowerCumulative(RewritePattern):
    """cum_sum and cum_prod as one sequential scan along the axis (see the module doc)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: nn.CumSumOp | nn.CumProdOp, rewriter: PatternRewriter) -> None:
        dims = shape(op.x)
        rank = len(dims)
        element = element_type(op.x)
        if rank == 0:
            raise unsupported(op, "a scalar has no axis to run along")
        if element == IntegerType(1):
            raise unsupported(op, "running sums of booleans")
        axis = op.int_attr("axis")
        axis = axis + rank if axis < 0 else axis
        if not 0 <= axis < rank:
            raise unsupported(op, f"axis {op.int_attr('axis')} of a rank-{rank} input")
        sum_ = isinstance(op, nn.CumSumOp)
        exclusive = bool(op.int_attr("exclusive"))
        accumulator = accumulator_type(element)

        reverse = bool(op.int_attr("reverse"))
        loops = [AffineExpr.dimension(d) for d in range(rank)]
        lines = [e for d, e in enumerate(loops) if d != axis]
        maps = [AffineMapAttr(AffineMap(rank, 0, tuple(r))) for r in (loops, lines, loops)]
        flipped = list(loops)
        flipped[axis] = AffineExpr.constant(dims[axis] - 1) - loops[axis]
        flip = AffineMap(rank, 0, tuple(flipped))
        x = copy_generic(rewriter, op.x, flip, dims) if reverse else op.x
        line_dims = [n for d, n in enumerate(dims) if d != axis]
        running = filled_tensor(rewriter, line_dims, accumulator, 0 if sum_ else 1)
        result = empty_tensor(rewriter, dims, element)

        def body(b: Builder, args: Sequence[SSAValue]) -> list[SSAValue]:
            value, acc, _ = args
            updated = _combine(b, sum_, acc, value)
            return [updated, _narrow(b, acc if exclusive else updated, element)]

        iterators = [REDUCTION if d == axis else PARALLEL for d in range(rank)]
        generic = build_generic(rewriter, [x], [running, result], maps, iterators, body)
        scanned = generic.results[1]
        if reverse:
            scanned = copy_generic(rewriter, scanned, flip, dims)
        rewriter.replace(op, [], [scanned])


PATTERNS: list[RewritePattern] = [LowerCumulative()]
