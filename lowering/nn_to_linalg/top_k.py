"""convert-nn-to-linalg pattern for top_k.

Two `linalg.generic`s, no sort: first each element's rank along the axis, the number of
elements that come before it (larger, or smaller for `largest = 0`; equal ones with a lower
index; NaN counts as the largest, as in onnx's reference), a reduction over a second copy of
the axis; then output position p takes the element of rank p, a reduction over the axis that
selects it. The work is n * n + k * n per line along the axis, for the small k and n of
inference graphs. The result is always sorted (ONNX leaves the order free for `sorted = 0`).
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.builder import Builder
from xdsl.dialects import arith
from xdsl.dialects.builtin import AffineMapAttr, AnyFloat, i64
from xdsl.dialects.linalg import ops as linalg
from xdsl.ir import SSAValue
from xdsl.ir.affine import AffineExpr, AffineMap
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern, op_type_rewrite_pattern

from ...dialects.nn import reduction as nn
from .common import (
    PARALLEL,
    REDUCTION,
    build_generic,
    element_kind,
    element_type,
    empty_tensor,
    filled_tensor,
    shape,
    unsupported,
)


def _cmp(b: Builder, lhs: SSAValue, rhs: SSAValue, predicate: str) -> SSAValue:
    """A comparison: float predicates ('ogt', 'oeq', 'uno', ...) or signed ones ('sgt', 'eq')
    that take the unsigned form for unsigned operands."""
    if isinstance(lhs.type, AnyFloat):
        return b.insert(arith.CmpfOp(lhs, rhs, predicate)).result
    if element_kind(lhs.type) == "unsigned" and predicate[0] == "s":
        predicate = "u" + predicate[1:]
    return b.insert(arith.CmpiOp(lhs, rhs, predicate)).result


def _and(b: Builder, lhs: SSAValue, rhs: SSAValue) -> SSAValue:
    return b.insert(arith.AndIOp(lhs, rhs)).result


def _or(b: Builder, lhs: SSAValue, rhs: SSAValue) -> SSAValue:
    return b.insert(arith.OrIOp(lhs, rhs)).result


def _not(b: Builder, value: SSAValue) -> SSAValue:
    true = b.insert(arith.ConstantOp.from_int_and_width(1, 1)).result
    return b.insert(arith.XOrIOp(value, true)).result


def _precedes(
    b: Builder, other: SSAValue, this: SSAValue, lower_index: SSAValue, largest: bool
) -> SSAValue:
    """Whether `other` comes before `this` in the order: strictly first, or equal and at a
    lower index. NaN is the largest value and equals NaN."""
    if not isinstance(other.type, AnyFloat):
        strict = _cmp(b, other, this, "sgt" if largest else "slt")
        equal = _cmp(b, other, this, "eq")
        return _or(b, strict, _and(b, equal, lower_index))
    strict = _cmp(b, other, this, "ogt" if largest else "olt")
    other_nan = _cmp(b, other, other, "uno")
    this_nan = _cmp(b, this, this, "uno")
    if largest:
        strict = _or(b, strict, _and(b, other_nan, _not(b, this_nan)))
    else:
        strict = _or(b, strict, _and(b, this_nan, _not(b, other_nan)))
    equal = _or(b, _cmp(b, other, this, "oeq"), _and(b, other_nan, this_nan))
    return _or(b, strict, _and(b, equal, lower_index))


def _index(b: Builder, dim: int) -> SSAValue:
    index = b.insert(linalg.IndexOp(dim)).result
    return b.insert(arith.IndexCastOp(index, i64)).result


def _map(loops: int, results: Sequence[AffineExpr]) -> AffineMapAttr:
    return AffineMapAttr(AffineMap(loops, 0, tuple(results)))


class LowerTopK(RewritePattern):
    """top_k as ranks, then a selection by rank (see the module doc)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: nn.TopKOp, rewriter: PatternRewriter) -> None:
        dims = shape(op.X)
        rank = len(dims)
        axis = op.int_attr("axis")
        axis = axis + rank if axis < 0 else axis
        ks = op.ints_attr("k") or []
        k = ks[0] if len(ks) == 1 else -1
        if rank == 0 or not 0 <= axis < rank or not 0 <= k <= dims[axis]:
            raise unsupported(op, f"k = {ks} along axis {op.int_attr('axis')} of {list(dims)}")
        largest = bool(op.int_attr("largest"))
        element = element_type(op.X)
        loops = rank + 1  # the line's dims, then a second walk along the axis
        lines = [AffineExpr.dimension(d) for d in range(rank)]
        along = [*lines[:axis], AffineExpr.dimension(rank), *lines[axis + 1 :]]

        def rank_body(b: Builder, args: Sequence[SSAValue]) -> list[SSAValue]:
            this, other, count = args
            lower = _cmp(b, _index(b, rank), _index(b, axis), "slt")
            before = _precedes(b, other, this, lower, largest)
            one = b.insert(arith.ExtUIOp(before, i64)).result
            return [b.insert(arith.AddiOp(count, one)).result]

        iterators = [PARALLEL] * rank + [REDUCTION]
        ranks = build_generic(
            rewriter,
            [op.X, op.X],
            [filled_tensor(rewriter, dims, i64, 0)],
            [_map(loops, lines), _map(loops, along), _map(loops, lines)],
            iterators,
            rank_body,
        ).results[0]

        def select_body(b: Builder, args: Sequence[SSAValue]) -> list[SSAValue]:
            value, value_rank, value_acc, index_acc = args
            chosen = _cmp(b, value_rank, _index(b, axis), "eq")
            index = _index(b, rank)
            return [
                b.insert(arith.SelectOp(chosen, value, value_acc)).result,
                b.insert(arith.SelectOp(chosen, index, index_acc)).result,
            ]

        out_dims = [k if d == axis else n for d, n in enumerate(dims)]
        selected = build_generic(
            rewriter,
            [op.X, ranks],
            [empty_tensor(rewriter, out_dims, element), filled_tensor(rewriter, out_dims, i64, 0)],
            [_map(loops, along), _map(loops, along), _map(loops, lines), _map(loops, lines)],
            iterators,
            select_body,
        )
        rewriter.replace(op, [], list(selected.results))


PATTERNS: list[RewritePattern] = [LowerTopK()]
