"""convert-nn-to-linalg for nn.resize: a parallel `linalg.generic` over the result.

Its body maps each resized axis's output index to ONNX's source coordinate `x_original` (in
f64, in the reference's operation order, so that rounding ties fall the same way), then reads
the input with `tensor.extract`: the nearest index, or the interpolation taps of that axis
(2 for linear, 4 for cubic, more for antialiased downsampling: indices clamped to the input,
as the reference's edge padding) multiplied over the resized axes and summed in f64.
`tf_crop_and_resize` gives `extrapolation_value` where a coordinate falls outside the input.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from xdsl.builder import Builder
from xdsl.dialects import arith, tensor
from xdsl.dialects import math as xmath
from xdsl.dialects.builtin import Float64Type, IndexType, i64
from xdsl.dialects.linalg import ops as linalg
from xdsl.ir import SSAValue
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

COORDINATE_MODES = (
    "half_pixel",
    "half_pixel_symmetric",
    "asymmetric",
    "align_corners",
    "pytorch_half_pixel",
    "tf_crop_and_resize",
)
NEAREST_MODES = ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil")


@dataclass(frozen=True)
class _Axis:
    """One resized axis: its input size, scale, integer output size and ROI (start, end)."""

    size: int
    scale: float
    output: int
    roi: tuple[float, float]


class _Body:
    """Emits f64 arithmetic into a generic's body."""

    def __init__(self, builder: Builder):
        self.builder = builder

    def f64(self, value: float) -> SSAValue:
        return scalar_constant(self.builder, value, Float64Type())

    def add(self, a: SSAValue, b: SSAValue) -> SSAValue:
        return self.builder.insert(arith.AddfOp(a, b)).result

    def sub(self, a: SSAValue, b: SSAValue) -> SSAValue:
        return self.builder.insert(arith.SubfOp(a, b)).result

    def mul(self, a: SSAValue, b: SSAValue) -> SSAValue:
        return self.builder.insert(arith.MulfOp(a, b)).result

    def div(self, a: SSAValue, b: SSAValue) -> SSAValue:
        return self.builder.insert(arith.DivfOp(a, b)).result

    def index_as_f64(self, index: SSAValue) -> SSAValue:
        as_int = self.builder.insert(arith.IndexCastOp(index, i64)).result
        return self.builder.insert(arith.SIToFPOp(as_int, Float64Type())).result

    def floor_and_ratio(self, x: SSAValue) -> tuple[SSAValue, SSAValue]:
        """floor(x) as an index and x - floor(x)."""
        floor = self.builder.insert(xmath.FloorOp(x)).result
        ratio = self.sub(x, floor)
        as_int = self.builder.insert(arith.FPToSIOp(floor, i64)).result
        return self.builder.insert(arith.IndexCastOp(as_int, IndexType())).result, ratio

    def offset(self, index: SSAValue, by: int) -> SSAValue:
        return self.builder.insert(arith.AddiOp(index, index_constant(self.builder, by))).result


def source_coordinate(body: _Body, output_index: SSAValue, axis: _Axis, mode: str) -> SSAValue:
    """ONNX Resize's `x_original` of one output index."""
    y = body.index_as_f64(output_index)
    output_width = axis.scale * axis.size  # a float: ONNX uses it, not the integer size
    if mode == "asymmetric":
        return body.div(y, body.f64(axis.scale))
    if mode == "align_corners":
        if output_width == 1:
            return body.f64(0.0)
        return body.div(body.mul(y, body.f64(axis.size - 1)), body.f64(output_width - 1))
    if mode == "tf_crop_and_resize":
        start, end = axis.roi
        if output_width == 1:
            x = body.f64((end - start) * (axis.size - 1) / 2)
        else:
            scaled = body.mul(body.mul(y, body.f64(end - start)), body.f64(axis.size - 1))
            x = body.div(scaled, body.f64(output_width - 1))
        return body.add(x, body.f64(start * (axis.size - 1)))
    if mode == "pytorch_half_pixel" and output_width == 1:
        return body.f64(-0.5)
    # half_pixel, pytorch_half_pixel: (y + 0.5) / scale - 0.5
    divided = body.div(body.add(y, body.f64(0.5)), body.f64(axis.scale))
    if mode == "half_pixel_symmetric":
        # the ROI's center maps to the output's center: relevant when the output size was rounded
        adjustment = axis.output / output_width
        divided = body.add(body.f64(axis.size / 2 * (1 - adjustment)), divided)
    return body.sub(divided, body.f64(0.5))


def nearest_index(body: _Body, x: SSAValue, size: int, nearest_mode: str) -> SSAValue:
    """The input index ONNX's nearest mode picks for coordinate `x`, clamped to the input."""
    floor, ratio = body.floor_and_ratio(x)
    predicate, threshold = {
        "round_prefer_floor": ("ogt", 0.5),
        "round_prefer_ceil": ("oge", 0.5),
        "floor": ("", 0.0),
        "ceil": ("ogt", 0.0),
    }[nearest_mode]
    if not predicate:
        return clamp_index(body.builder, floor, size)
    up = body.builder.insert(arith.CmpfOp(ratio, body.f64(threshold), predicate)).result
    chosen = body.builder.insert(arith.SelectOp(up, body.offset(floor, 1), floor)).result
    return clamp_index(body.builder, chosen, size)


Tap = tuple[SSAValue, SSAValue]
"""An input index (clamped) and its weight."""


def linear_taps(body: _Body, x: SSAValue, size: int) -> list[Tap]:
    floor, ratio = body.floor_and_ratio(x)
    return [
        (clamp_index(body.builder, floor, size), body.sub(body.f64(1.0), ratio)),
        (clamp_index(body.builder, body.offset(floor, 1), size), ratio),
    ]


def cubic_taps(body: _Body, x: SSAValue, size: int, a: float, exclude_outside: bool) -> list[Tap]:
    """Keys' cubic convolution at floor(x) - 1 .. floor(x) + 2 with ONNX's coefficient
    polynomials; `exclude_outside` drops taps outside the input and renormalizes the rest."""
    floor, r = body.floor_and_ratio(x)
    f = body.f64
    one_minus = body.sub(f(1.0), r)

    def outer(t: SSAValue) -> SSAValue:  # ((a t - 5a) t + 8a) t - 4a at t = distance + 1
        t1 = body.add(t, f(1.0))
        inner = body.sub(body.mul(f(a), t1), f(5 * a))
        return body.sub(body.mul(body.add(body.mul(inner, t1), f(8 * a)), t1), f(4 * a))

    def near(t: SSAValue) -> SSAValue:  # ((a + 2) t - (a + 3)) t t + 1
        inner = body.sub(body.mul(f(a + 2), t), f(a + 3))
        return body.add(body.mul(body.mul(inner, t), t), f(1.0))

    weights = [outer(r), near(r), near(one_minus), outer(one_minus)]
    raw = [body.offset(floor, k) for k in (-1, 0, 1, 2)]
    return _clamped_taps(body, raw, weights, size, exclude_outside, normalize=False)


def antialias_taps(
    body: _Body, x: SSAValue, axis: _Axis, mode: str, a: float, exclude_outside: bool
) -> list[Tap]:
    """ONNX's antialiased linear or cubic filter: when downsampling by s, the kernel stretched
    by 1/s (a triangle of half-width 1/s, or Keys' cubic of half-width 2/s) over every input
    index within reach of x, weights normalized to sum to 1."""
    s = min(axis.scale, 1.0)
    reach = 1 if mode == "linear" else 2
    start = math.floor(-reach / s) + 1
    floor, r = body.floor_and_ratio(x)
    f = body.f64
    raw: list[SSAValue] = []
    weights: list[SSAValue] = []
    for i in range(start, 2 - start):
        raw.append(body.offset(floor, i))
        distance = body.builder.insert(xmath.AbsFOp(body.mul(f(s), body.sub(f(i), r)))).result
        if mode == "linear":
            weight = body.sub(f(1.0), distance)
            weights.append(body.builder.insert(arith.MaxnumfOp(weight, f(0.0))).result)
            continue
        square = body.mul(distance, distance)
        cube = body.mul(distance, square)
        near = body.add(body.sub(body.mul(f(a + 2), cube), body.mul(f(a + 3), square)), f(1.0))
        far = body.sub(
            body.add(
                body.sub(body.mul(f(a), cube), body.mul(f(5 * a), square)),
                body.mul(f(8 * a), distance),
            ),
            f(4 * a),
        )
        is_near = body.builder.insert(arith.CmpfOp(distance, f(1.0), "ole")).result
        is_far = body.builder.insert(arith.CmpfOp(distance, f(2.0), "olt")).result
        outside = body.builder.insert(arith.SelectOp(is_far, far, f(0.0))).result
        weights.append(body.builder.insert(arith.SelectOp(is_near, near, outside)).result)
    return _clamped_taps(body, raw, weights, axis.size, exclude_outside, normalize=True)


def _clamped_taps(
    body: _Body,
    raw: list[SSAValue],
    weights: list[SSAValue],
    size: int,
    exclude_outside: bool,
    normalize: bool,
) -> list[Tap]:
    """The taps at `raw` indices clamped to the input (the reference's edge padding), their
    weights normalized to sum to 1 (over the taps inside the input if `exclude_outside`)."""
    f = body.f64
    if exclude_outside:
        for k, index in enumerate(raw):
            inside = _inside(body, index, size)
            weights[k] = body.builder.insert(arith.SelectOp(inside, weights[k], f(0.0))).result
    if exclude_outside or normalize:
        total = weights[0]
        for weight in weights[1:]:
            total = body.add(total, weight)
        weights = [body.div(w, total) for w in weights]
    return [(clamp_index(body.builder, i, size), w) for i, w in zip(raw, weights, strict=True)]


def _inside(body: _Body, index: SSAValue, size: int) -> SSAValue:
    builder = body.builder
    low = builder.insert(arith.CmpiOp(index, index_constant(builder, 0), "sge")).result
    high = builder.insert(arith.CmpiOp(index, index_constant(builder, size), "slt")).result
    return builder.insert(arith.AndIOp(low, high)).result


def interpolate(
    body: _Body, data: SSAValue, indices: Sequence[SSAValue], taps: dict[int, list[Tap]]
) -> SSAValue:
    """The sum over every combination of the resized axes' taps of the product of their
    weights times the input there (f64), in the input's element type."""
    element = element_type(data)
    total: SSAValue | None = None
    for combination in itertools.product(*taps.values()):
        position = list(indices)
        weight: SSAValue | None = None
        for k, (index, factor) in zip(taps, combination, strict=True):
            position[k] = index
            weight = factor if weight is None else body.mul(weight, factor)
        value = body.builder.insert(tensor.ExtractOp(data, position, element)).result
        if not isinstance(element, Float64Type):
            value = body.builder.insert(arith.ExtFOp(value, Float64Type())).result
        assert weight is not None
        term = body.mul(value, weight)
        total = term if total is None else body.add(total, term)
    assert total is not None
    if isinstance(element, Float64Type):
        return total
    return body.builder.insert(arith.TruncFOp(total, element)).result


def resize_scales(op: nn.ResizeOp, source: Sequence[int], result: Sequence[int]) -> list[float]:
    """The scale of every axis, as ONNX's reference computes it (1 for axes not resized)."""
    rank = len(source)
    axes = _axes(op, rank)
    scales = [1.0] * rank
    given = op.attr("scales")
    if isinstance(given, list) and given and not op.ints_attr("sizes"):
        for axis, scale in zip(axes, given, strict=True):
            scales[axis] = float(scale)
        return scales
    # the policy applies to the requested sizes' ratios: the result's sizes are rounded
    sizes = op.ints_attr("sizes") or [result[axis] for axis in axes]
    ratios = {axis: size / source[axis] for axis, size in zip(axes, sizes, strict=True)}
    policy = op.str_attr("keep_aspect_ratio_policy")
    if policy == "not_larger":
        ratios = dict.fromkeys(axes, min(ratios.values()))
    elif policy == "not_smaller":
        ratios = dict.fromkeys(axes, max(ratios.values()))
    for axis, ratio in ratios.items():
        scales[axis] = ratio
    return scales


def _axes(op: nn.ResizeOp, rank: int) -> list[int]:
    return [a + rank if a < 0 else a for a in op.ints_attr("axes") or range(rank)]


def _rois(op: nn.ResizeOp, rank: int) -> list[tuple[float, float]]:
    """Each axis's (start, end) ROI, (0, 1) where the op gives none."""
    rois = [(0.0, 1.0)] * rank
    given = op.attr("roi")
    if op.str_attr("coordinate_transformation_mode") != "tf_crop_and_resize":
        return rois
    if not isinstance(given, list) or not given:
        raise unsupported(op, "tf_crop_and_resize without a roi")
    axes = _axes(op, rank)
    if len(given) != 2 * len(axes):
        raise unsupported(op, f"a roi of {len(given)} values for {len(axes)} axes")
    for i, axis in enumerate(axes):
        rois[axis] = (float(given[i]), float(given[len(axes) + i]))  # pyright: ignore
    return rois


def check_resize(op: nn.ResizeOp) -> None:
    mode = op.str_attr("mode")
    if mode not in ("nearest", "linear", "cubic"):
        raise unsupported(op, f"resize mode {mode!r}")
    coordinate_mode = op.str_attr("coordinate_transformation_mode")
    if coordinate_mode not in COORDINATE_MODES:
        raise unsupported(op, f"coordinate_transformation_mode {coordinate_mode!r}")
    if mode == "nearest" and op.str_attr("nearest_mode") not in NEAREST_MODES:
        raise unsupported(op, f"nearest_mode {op.str_attr('nearest_mode')!r}")
    if mode != "nearest" and not is_float(element_type(op.X)):
        raise unsupported(op, f"{mode} resize of a non-float tensor")


class LowerResize(RewritePattern):
    """Nearest, linear and cubic resize with ONNX's coordinate transformation modes."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: nn.ResizeOp, rewriter: PatternRewriter) -> None:
        check_resize(op)
        source, dims = shape(op.X), shape(op.Y)
        scales = resize_scales(op, source, dims)
        rois = _rois(op, len(dims))
        axes = {
            k: _Axis(source[k], scales[k], dims[k], rois[k])
            for k in range(len(dims))
            if source[k] != dims[k] or scales[k] != 1.0 or rois[k] != (0.0, 1.0)
        }
        if not axes:
            rewriter.replace(op, [], [op.X])
            return
        coordinate_mode = op.str_attr("coordinate_transformation_mode")
        mode = op.str_attr("mode")
        element = element_type(op.Y)

        def build(builder: Builder, args: Sequence[SSAValue]) -> list[SSAValue]:
            body = _Body(builder)
            indices: list[SSAValue] = [
                builder.insert(linalg.IndexOp(k)).result for k in range(len(dims))
            ]
            xs = {
                k: source_coordinate(body, indices[k], a, coordinate_mode) for k, a in axes.items()
            }
            if mode == "nearest":
                for k, a in axes.items():
                    indices[k] = nearest_index(body, xs[k], a.size, op.str_attr("nearest_mode"))
                result = builder.insert(tensor.ExtractOp(op.X, indices, element)).result
            elif op.int_attr("antialias"):
                a_coefficient = op.float_attr("cubic_coeff_a")
                exclude = bool(op.int_attr("exclude_outside"))
                taps = {
                    k: antialias_taps(body, xs[k], a, mode, a_coefficient, exclude)
                    for k, a in axes.items()
                }
                result = interpolate(body, op.X, indices, taps)
            elif mode == "linear":
                taps = {k: linear_taps(body, xs[k], a.size) for k, a in axes.items()}
                result = interpolate(body, op.X, indices, taps)
            else:
                a_coefficient = op.float_attr("cubic_coeff_a")
                exclude = bool(op.int_attr("exclude_outside"))
                taps = {
                    k: cubic_taps(body, xs[k], a.size, a_coefficient, exclude)
                    for k, a in axes.items()
                }
                result = interpolate(body, op.X, indices, taps)
            if coordinate_mode == "tf_crop_and_resize":
                result = _extrapolated(body, result, xs, axes, op.float_attr("extrapolation_value"))
            return [result]

        init = empty_tensor(rewriter, dims, element)
        rank = len(dims)
        generic = build_generic(
            rewriter, [], [init], [identity_map(rank)], [PARALLEL] * rank, build
        )
        rewriter.replace(op, [], [generic.results[0]])


def _extrapolated(
    body: _Body, value: SSAValue, xs: dict[int, SSAValue], axes: dict[int, _Axis], fill: float
) -> SSAValue:
    """`fill` where any coordinate lies outside [0, size - 1], else `value`."""
    builder = body.builder
    outside: SSAValue | None = None
    for k, axis in axes.items():
        below = builder.insert(arith.CmpfOp(xs[k], body.f64(0.0), "olt")).result
        above = builder.insert(arith.CmpfOp(xs[k], body.f64(axis.size - 1), "ogt")).result
        either = builder.insert(arith.OrIOp(below, above)).result
        outside = either if outside is None else builder.insert(arith.OrIOp(outside, either)).result
    assert outside is not None
    filler = scalar_constant(builder, fill, value.type)
    return builder.insert(arith.SelectOp(outside, filler, value)).result


PATTERNS: list[RewritePattern] = [LowerResize()]
