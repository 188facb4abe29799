"""convert-nn-to-linalg patterns for scatters: scatter_elements and scatter_nd.

A scatter is a generic over the output's dims (parallel) and the updates' positions
(reduction, in row-major order, so that a later write wins as in the reference): where the
update's target is the output position, the update is written (or combined, by
`reduction`), else the accumulator, which starts as a copy of the data, is kept. This costs
output size times updates size; scatters in inference graphs are small. An index outside its
axis matches no position, so nothing is written outside the output; the index check beside the
generic (index_checks.py) reports it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from xdsl.builder import Builder
from xdsl.dialects import arith, tensor
from xdsl.dialects.builtin import AffineMapAttr, IntegerType
from xdsl.dialects.linalg import ops as linalg
from xdsl.ir import Operation, SSAValue
from xdsl.ir.affine import AffineExpr, AffineMap
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern, op_type_rewrite_pattern

from ...dialects.nn import shape as nn
from .common import (
    PARALLEL,
    REDUCTION,
    build_generic,
    element_kind,
    element_type,
    elementwise_generic,
    shape,
    unsupported,
)
from .gather import wrapped_position
from .index_checks import check_indices
from .shape import index_constant

Combine = Callable[[Builder, SSAValue, SSAValue], SSAValue]


def _binary(
    float_op: type[Operation], signed: type[Operation], unsigned: type[Operation]
) -> Combine:
    def combine(b: Builder, old: SSAValue, new: SSAValue) -> SSAValue:
        kind = element_kind(old.type)
        op_type = {"float": float_op, "signed": signed, "unsigned": unsigned}[kind]
        return b.insert(op_type(old, new)).results[0]  # pyright: ignore[reportCallIssue]

    return combine


_COMBINE: dict[str, Combine] = {
    "none": lambda b, old, new: new,
    "add": _binary(arith.AddfOp, arith.AddiOp, arith.AddiOp),
    "mul": _binary(arith.MulfOp, arith.MuliOp, arith.MuliOp),
    # maximumf/minimumf propagate NaN, as numpy's maximum and minimum
    "max": _binary(arith.MaximumfOp, arith.MaxSIOp, arith.MaxUIOp),
    "min": _binary(arith.MinimumfOp, arith.MinSIOp, arith.MinUIOp),
}


def _copy(b: Builder, value: SSAValue) -> SSAValue:
    """A fresh tensor equal to `value`: the scatter's accumulator, never the data's buffer."""
    return elementwise_generic(b, [value], element_type(value), lambda _, args: [args[0]])


def _combine_of(op: nn.ScatterElementsOp | nn.ScatterNDOp) -> Combine:
    reduction = op.str_attr("reduction")
    if reduction not in _COMBINE:
        raise unsupported(op, f"reduction '{reduction}'")
    if reduction != "none" and element_type(op.data) == IntegerType(1):
        raise unsupported(op, f"reduction '{reduction}' of booleans")
    return _COMBINE[reduction]


def _all(b: Builder, conditions: Sequence[SSAValue]) -> SSAValue:
    result = conditions[0]
    for condition in conditions[1:]:
        result = b.insert(arith.AndIOp(result, condition)).result
    return result


def _loop(b: Builder, dim: int) -> SSAValue:
    return b.insert(linalg.IndexOp(dim)).result


def _equal(b: Builder, lhs: SSAValue, rhs: SSAValue) -> SSAValue:
    return b.insert(arith.CmpiOp(lhs, rhs, "eq")).result


def _maps(loops: int, *results: Sequence[AffineExpr]) -> list[AffineMapAttr]:
    return [AffineMapAttr(AffineMap(loops, 0, tuple(r))) for r in results]


class LowerScatterElements(RewritePattern):
    """Loops: the output's r dims, then the indices' r dims; the target of update j is j with
    indices[j] (wrapped) at `axis`."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: nn.ScatterElementsOp, rewriter: PatternRewriter) -> None:
        dims, index_dims = shape(op.data), shape(op.indices)
        rank = len(dims)
        axis = op.int_attr("axis")
        axis = axis + rank if axis < 0 else axis
        if shape(op.updates) != index_dims or len(index_dims) != rank:
            raise unsupported(op, "updates and indices must share a shape of the data's rank")
        combine = _combine_of(op)
        check_indices(rewriter, op, op.indices, dims, [axis])
        loops = 2 * rank
        outputs = [AffineExpr.dimension(d) for d in range(rank)]
        positions = [AffineExpr.dimension(rank + d) for d in range(rank)]

        def body(b: Builder, args: Sequence[SSAValue]) -> list[SSAValue]:
            index, update, acc = args
            target = wrapped_position(b, index, dims[axis])
            matches = [
                _equal(b, _loop(b, d), target if d == axis else _loop(b, rank + d))
                for d in range(rank)
            ]
            written = combine(b, acc, update)
            return [b.insert(arith.SelectOp(_all(b, matches), written, acc)).result]

        generic = build_generic(
            rewriter,
            [op.indices, op.updates],
            [_copy(rewriter, op.data)],
            _maps(loops, positions, positions, outputs),
            [PARALLEL] * rank + [REDUCTION] * rank,
            body,
        )
        rewriter.replace(op, [], [generic.results[0]])


class LowerScatterND(RewritePattern):
    """Loops: the output's r dims, then the indices' q - 1 batch dims; batch b targets the
    output positions whose first k coordinates are indices[b] (wrapped), reading
    updates[b, rest]."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: nn.ScatterNDOp, rewriter: PatternRewriter) -> None:
        dims, index_dims = shape(op.data), shape(op.indices)
        rank, batch_rank, depth = len(dims), len(index_dims) - 1, index_dims[-1]
        if depth > rank or shape(op.updates) != (*index_dims[:-1], *dims[depth:]):
            raise unsupported(op, "updates must have the shape indices[:-1] + data[k:]")
        combine = _combine_of(op)
        check_indices(rewriter, op, op.indices, dims, range(depth))
        loops = rank + batch_rank
        outputs = [AffineExpr.dimension(d) for d in range(rank)]
        batch = [AffineExpr.dimension(rank + d) for d in range(batch_rank)]

        def body(b: Builder, args: Sequence[SSAValue]) -> list[SSAValue]:
            update, acc = args
            batch_index = [b.insert(linalg.IndexOp(rank + d)).result for d in range(batch_rank)]
            matches: list[SSAValue] = []
            for k in range(depth):
                position = [*batch_index, index_constant(b, k)]
                index = b.insert(
                    tensor.ExtractOp(op.indices, position, element_type(op.indices))
                ).result
                target = wrapped_position(b, index, dims[k])
                matches.append(_equal(b, b.insert(linalg.IndexOp(k)).result, target))
            written = combine(b, acc, update)
            if not matches:
                return [written]
            return [b.insert(arith.SelectOp(_all(b, matches), written, acc)).result]

        generic = build_generic(
            rewriter,
            [op.updates],
            [_copy(rewriter, op.data)],
            _maps(loops, [*batch, *outputs[depth:]], outputs),
            [PARALLEL] * rank + [REDUCTION] * batch_rank,
            body,
        )
        rewriter.replace(op, [], [generic.results[0]])


PATTERNS: list[RewritePattern] = [LowerScatterElements(), LowerScatterND()]
