"""convert-nn-to-linalg patterns for data-dependent reads: gather, gather_elements and
gather_nd (resize is in resize.py).

Each becomes a parallel `linalg.generic` over the result whose body computes the source
position from an index tensor and reads it with `tensor.extract`. The position is clamped into
the axis, so a bad index never reads outside the data; the index check beside the generic
(index_checks.py) reports it. Gather and GatherND read positions wrapped and clamped once per
index beforehand (`in_bounds_indices`): their inner loops copy slices, and LLVM cannot hoist
a per-element position out of them (the index buffer might alias the output).
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.builder import Builder
from xdsl.dialects import arith, tensor
from xdsl.dialects.builtin import AffineMapAttr, IndexType, IntegerType, i64
from xdsl.dialects.linalg import ops as linalg
from xdsl.ir import SSAValue
from xdsl.ir.affine import AffineExpr, AffineMap
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern, op_type_rewrite_pattern

from ...dialects.nn import shape as nn
from .common import (
    PARALLEL,
    build_generic,
    element_type,
    empty_tensor,
    identity_map,
    shape,
    unsupported,
)
from .index_checks import check_indices, clamped_position, in_bounds_indices
from .shape import index_constant

# ---------------------------------------------------------------------------------------------
# Helpers.


def _loop_index(builder: Builder, dim: int) -> SSAValue:
    return builder.insert(linalg.IndexOp(dim)).result


def wrapped_position(builder: Builder, index: SSAValue, size: int) -> SSAValue:
    """An integer index as an `index`, a negative one counting from the end of the axis."""
    index_type = index.type
    assert isinstance(index_type, IntegerType)
    if index_type.width.data < 64:
        index = builder.insert(arith.ExtSIOp(index, i64)).result
    position = builder.insert(arith.IndexCastOp(index, IndexType())).result
    zero = index_constant(builder, 0)
    negative = builder.insert(arith.CmpiOp(position, zero, "slt")).result
    wrapped = builder.insert(arith.AddiOp(position, index_constant(builder, size))).result
    return builder.insert(arith.SelectOp(negative, wrapped, position)).result


def in_bounds_position(builder: Builder, index: SSAValue, size: int) -> SSAValue:
    """The wrapped position clamped into [0, size): what a gather reads."""
    return clamped_position(builder, wrapped_position(builder, index, size), size)


# ---------------------------------------------------------------------------------------------
# Patterns.


class LowerGather(RewritePattern):
    """result[i.., j.., k..] = data[i.., indices[j..], k..]; a negative index counts from the
    end of the axis."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: nn.GatherOp, rewriter: PatternRewriter) -> None:
        data_dims, index_rank = shape(op.data), len(shape(op.indices))
        axis = op.int_attr("axis")
        axis = axis + len(data_dims) if axis < 0 else axis
        dims = shape(op.output)
        indices_map = AffineMap(
            len(dims), 0, tuple(AffineExpr.dimension(axis + k) for k in range(index_rank))
        )
        check_indices(rewriter, op, op.indices, data_dims, [axis])
        positions = in_bounds_indices(rewriter, op.indices, data_dims, [axis])

        def body(builder: Builder, args: Sequence[SSAValue]) -> list[SSAValue]:
            position = builder.insert(arith.IndexCastOp(args[0], IndexType())).result
            leading = [_loop_index(builder, d) for d in range(axis)]
            trailing = [
                _loop_index(builder, axis + index_rank + d)
                for d in range(len(data_dims) - axis - 1)
            ]
            extract = tensor.ExtractOp(
                op.data, [*leading, position, *trailing], element_type(op.data)
            )
            return [builder.insert(extract).result]

        init = empty_tensor(rewriter, dims, element_type(op.output))
        generic = build_generic(
            rewriter,
            [positions],
            [init],
            [AffineMapAttr(indices_map), identity_map(len(dims))],
            [PARALLEL] * len(dims),
            body,
        )
        rewriter.replace(op, [], [generic.results[0]])


class LowerGatherElements(RewritePattern):
    """result[i..] = data[i.. with indices[i..] at axis]: a generic over the indices' shape."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: nn.GatherElementsOp, rewriter: PatternRewriter) -> None:
        data_dims = shape(op.data)
        axis = op.int_attr("axis")
        axis = axis + len(data_dims) if axis < 0 else axis
        dims = shape(op.output)
        if any(size > data_dims[d] for d, size in enumerate(dims) if d != axis):
            raise unsupported(op, f"indices of shape {list(dims)} reach past data {data_dims}")
        check_indices(rewriter, op, op.indices, data_dims, [axis])

        def body(builder: Builder, args: Sequence[SSAValue]) -> list[SSAValue]:
            position = [_loop_index(builder, d) for d in range(len(dims))]
            position[axis] = in_bounds_position(builder, args[0], data_dims[axis])
            extract = tensor.ExtractOp(op.data, position, element_type(op.data))
            return [builder.insert(extract).result]

        init = empty_tensor(rewriter, dims, element_type(op.output))
        generic = build_generic(
            rewriter,
            [op.indices],
            [init],
            [identity_map(len(dims)), identity_map(len(dims))],
            [PARALLEL] * len(dims),
            body,
        )
        rewriter.replace(op, [], [generic.results[0]])


class LowerGatherND(RewritePattern):
    """A generic over the result: batch loops index data directly, the index vector at the
    result's leading position (read from indices with tensor.extract, wrapped) picks the next
    k coordinates, and the remaining loops the slice."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: nn.GatherNDOp, rewriter: PatternRewriter) -> None:
        data_dims, index_dims, dims = shape(op.data), shape(op.indices), shape(op.output)
        batch, depth = op.int_attr("batch_dims"), index_dims[-1]
        leading = len(index_dims) - 1
        if batch + depth > len(data_dims) or index_dims[:batch] != data_dims[:batch]:
            raise unsupported(op, f"indices {list(index_dims)} do not fit data {data_dims}")
        axes = range(batch, batch + depth)
        check_indices(rewriter, op, op.indices, data_dims, axes)
        positions = in_bounds_indices(rewriter, op.indices, data_dims, axes)

        def body(builder: Builder, args: Sequence[SSAValue]) -> list[SSAValue]:
            loops = [_loop_index(builder, d) for d in range(len(dims))]
            position = loops[:batch]
            for k in range(depth):
                where = [*loops[:leading], index_constant(builder, k)]
                index = builder.insert(tensor.ExtractOp(positions, where, i64)).result
                position.append(builder.insert(arith.IndexCastOp(index, IndexType())).result)
            position += loops[leading:]
            extract = tensor.ExtractOp(op.data, position, element_type(op.data))
            return [builder.insert(extract).result]

        init = empty_tensor(rewriter, dims, element_type(op.output))
        rank = len(dims)
        generic = build_generic(rewriter, [], [init], [identity_map(rank)], [PARALLEL] * rank, body)
        rewriter.replace(op, [], [generic.results[0]])


PATTERNS: list[RewritePattern] = [
    LowerGather(),
    LowerGatherElements(),
    LowerGatherND(),
]
