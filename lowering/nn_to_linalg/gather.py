"""convert-nn-to-linalg patterns for data-dependent reads: gather, gather_elements, gather_nd
and resize.

Both become a parallel `linalg.generic` over the result whose body computes the source
position (from an index tensor, or from the result position by ONNX's coordinate transformation)
and reads it with `tensor.extract`.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.builder import Builder
from xdsl.dialects import arith, tensor
from xdsl.dialects import math as xmath
from xdsl.dialects.builtin import AffineMapAttr, Float64Type, IndexType, IntegerType, i64
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
    is_float,
    scalar_constant,
    shape,
    unsupported,
)
from .shape import clamp_index, index_constant

# ---------------------------------------------------------------------------------------------
# Helpers.

_COORDINATE_MODES = ("half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel")
_NEAREST_MODES = ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil")


def _loop_index(builder: Builder, dim: int) -> SSAValue:
    return builder.insert(linalg.IndexOp(dim)).result


def _f64(builder: Builder, value: float) -> SSAValue:
    return scalar_constant(builder, value, Float64Type())


def _source_coordinate(
    builder: Builder, output_index: SSAValue, scale: float, size: int, mode: str
) -> SSAValue:
    """ONNX Resize's `x_original` of one output index, in f64 with the reference's own operation
    order (so that nearest rounding ties fall the same way)."""
    as_int = builder.insert(arith.IndexCastOp(output_index, i64)).result
    y = builder.insert(arith.SIToFPOp(as_int, Float64Type())).result
    output_width = scale * size  # a float: ONNX uses it, not the integer output size
    if mode == "asymmetric":
        return builder.insert(arith.DivfOp(y, _f64(builder, scale))).result
    if mode == "align_corners":
        if output_width == 1:
            return _f64(builder, 0.0)
        scaled = builder.insert(arith.MulfOp(y, _f64(builder, size - 1))).result
        return builder.insert(arith.DivfOp(scaled, _f64(builder, output_width - 1))).result
    if mode == "pytorch_half_pixel" and output_width == 1:
        return _f64(builder, -0.5)
    # half_pixel and pytorch_half_pixel: (y + 0.5) / scale - 0.5
    centered = builder.insert(arith.AddfOp(y, _f64(builder, 0.5))).result
    divided = builder.insert(arith.DivfOp(centered, _f64(builder, scale))).result
    return builder.insert(arith.SubfOp(divided, _f64(builder, 0.5))).result


def _floor_and_ratio(builder: Builder, x: SSAValue) -> tuple[SSAValue, SSAValue]:
    """floor(x) as an index and x - floor(x)."""
    floor = builder.insert(xmath.FloorOp(x)).result
    ratio = builder.insert(arith.SubfOp(x, floor)).result
    as_int = builder.insert(arith.FPToSIOp(floor, i64)).result
    return builder.insert(arith.IndexCastOp(as_int, IndexType())).result, ratio


def _nearest_index(builder: Builder, x: SSAValue, size: int, nearest_mode: str) -> SSAValue:
    """The input index ONNX's nearest mode picks for coordinate `x`, clamped to the input."""
    floor, ratio = _floor_and_ratio(builder, x)
    predicate, threshold = {
        "round_prefer_floor": ("ogt", 0.5),
        "round_prefer_ceil": ("oge", 0.5),
        "floor": ("", 0.0),
        "ceil": ("ogt", 0.0),
    }[nearest_mode]
    if not predicate:
        return clamp_index(builder, floor, size)
    up = builder.insert(arith.CmpfOp(ratio, _f64(builder, threshold), predicate)).result
    ceil = builder.insert(arith.AddiOp(floor, index_constant(builder, 1))).result
    chosen = builder.insert(arith.SelectOp(up, ceil, floor)).result
    return clamp_index(builder, chosen, size)


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


def _resize_scales(op: nn.ResizeOp, source: Sequence[int], result: Sequence[int]) -> list[float]:
    """The scale of every axis, as ONNX's reference computes it (1 for axes not resized)."""
    rank = len(source)
    axes = [a + rank if a < 0 else a for a in op.ints_attr("axes") or range(rank)]
    scales = [1.0] * rank
    given = op.attr("scales")
    if isinstance(given, list) and given and not op.ints_attr("sizes"):
        for axis, scale in zip(axes, given, strict=True):
            scales[axis] = float(scale)
        return scales
    ratios = {axis: result[axis] / source[axis] for axis in axes}
    policy = op.str_attr("keep_aspect_ratio_policy")
    if policy == "not_larger":
        ratios = dict.fromkeys(axes, min(ratios.values()))
    elif policy == "not_smaller":
        ratios = dict.fromkeys(axes, max(ratios.values()))
    for axis, ratio in ratios.items():
        scales[axis] = ratio
    return scales


def _check_resize(op: nn.ResizeOp) -> None:
    mode = op.str_attr("mode")
    if mode not in ("nearest", "linear"):
        raise unsupported(op, f"resize mode {mode!r}")
    if op.int_attr("antialias"):
        raise unsupported(op, "antialiased resize")
    coordinate_mode = op.str_attr("coordinate_transformation_mode")
    if coordinate_mode not in _COORDINATE_MODES:
        raise unsupported(op, f"coordinate_transformation_mode {coordinate_mode!r}")
    if mode == "nearest" and op.str_attr("nearest_mode") not in _NEAREST_MODES:
        raise unsupported(op, f"nearest_mode {op.str_attr('nearest_mode')!r}")
    if mode == "linear" and not is_float(element_type(op.X)):
        raise unsupported(op, "linear resize of a non-float tensor")


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

        def body(builder: Builder, args: Sequence[SSAValue]) -> list[SSAValue]:
            position = wrapped_position(builder, args[0], data_dims[axis])
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
            [op.indices],
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

        def body(builder: Builder, args: Sequence[SSAValue]) -> list[SSAValue]:
            position = [_loop_index(builder, d) for d in range(len(dims))]
            position[axis] = wrapped_position(builder, args[0], data_dims[axis])
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
        index_element = element_type(op.indices)

        def body(builder: Builder, args: Sequence[SSAValue]) -> list[SSAValue]:
            loops = [_loop_index(builder, d) for d in range(len(dims))]
            position = loops[:batch]
            for k in range(depth):
                where = [*loops[:leading], index_constant(builder, k)]
                index = builder.insert(tensor.ExtractOp(op.indices, where, index_element))
                position.append(wrapped_position(builder, index.result, data_dims[batch + k]))
            position += loops[leading:]
            extract = tensor.ExtractOp(op.data, position, element_type(op.data))
            return [builder.insert(extract).result]

        init = empty_tensor(rewriter, dims, element_type(op.output))
        rank = len(dims)
        generic = build_generic(rewriter, [], [init], [identity_map(rank)], [PARALLEL] * rank, body)
        rewriter.replace(op, [], [generic.results[0]])


class LowerResize(RewritePattern):
    """Nearest and linear resize (no antialiasing) with ONNX's half_pixel, asymmetric,
    align_corners and pytorch_half_pixel coordinates; linear interpolates in f64, as ONNX's
    reference does, over the 2^k corners of the k resized axes."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: nn.ResizeOp, rewriter: PatternRewriter) -> None:
        _check_resize(op)
        source, dims = shape(op.X), shape(op.Y)
        scales = _resize_scales(op, source, dims)
        resized = [k for k in range(len(dims)) if source[k] != dims[k] or scales[k] != 1.0]
        if not resized:
            rewriter.replace(op, [], [op.X])
            return
        coordinate_mode = op.str_attr("coordinate_transformation_mode")
        nearest = op.str_attr("mode") == "nearest"
        element = element_type(op.Y)

        def body(builder: Builder, args: Sequence[SSAValue]) -> list[SSAValue]:
            indices = [_loop_index(builder, k) for k in range(len(dims))]
            coordinates = {
                k: _source_coordinate(builder, indices[k], scales[k], source[k], coordinate_mode)
                for k in resized
            }
            if nearest:
                for k in resized:
                    indices[k] = _nearest_index(
                        builder, coordinates[k], source[k], op.str_attr("nearest_mode")
                    )
                return [builder.insert(tensor.ExtractOp(op.X, indices, element)).result]
            return [_interpolate(builder, op.X, indices, coordinates)]

        init = empty_tensor(rewriter, dims, element)
        rank = len(dims)
        generic = build_generic(rewriter, [], [init], [identity_map(rank)], [PARALLEL] * rank, body)
        rewriter.replace(op, [], [generic.results[0]])


def _interpolate(
    builder: Builder, data: SSAValue, indices: Sequence[SSAValue], coordinates: dict[int, SSAValue]
) -> SSAValue:
    """Multilinear interpolation of `data` at `coordinates` (the other axes at `indices`)."""
    sizes = shape(data)
    corners: dict[int, tuple[tuple[SSAValue, SSAValue], tuple[SSAValue, SSAValue]]] = {}
    one = _f64(builder, 1.0)
    for k, x in coordinates.items():
        floor, ratio = _floor_and_ratio(builder, x)
        upper = builder.insert(arith.AddiOp(floor, index_constant(builder, 1))).result
        low_weight = builder.insert(arith.SubfOp(one, ratio)).result
        corners[k] = (
            (clamp_index(builder, floor, sizes[k]), low_weight),
            (clamp_index(builder, upper, sizes[k]), ratio),
        )
    total: SSAValue | None = None
    element = element_type(data)
    for corner in range(2 ** len(corners)):
        position = list(indices)
        weight: SSAValue | None = None
        for bit, (k, choices) in enumerate(corners.items()):
            index, factor = choices[(corner >> bit) & 1]
            position[k] = index
            weight = (
                factor if weight is None else builder.insert(arith.MulfOp(weight, factor)).result
            )
        value = builder.insert(tensor.ExtractOp(data, position, element)).result
        if not isinstance(element, Float64Type):
            value = builder.insert(arith.ExtFOp(value, Float64Type())).result
        assert weight is not None
        term = builder.insert(arith.MulfOp(value, weight)).result
        total = term if total is None else builder.insert(arith.AddfOp(total, term)).result
    assert total is not None
    if isinstance(element, Float64Type):
        return total
    return builder.insert(arith.TruncFOp(total, element)).result


PATTERNS: list[RewritePattern] = [
    LowerGather(),
    LowerGatherElements(),
    LowerGatherND(),
    LowerResize(),
]
