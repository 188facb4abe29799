"""convert-nn-to-linalg patterns for pooling: max_pool, average_pool and lp_pool.

The input is padded (empty + fill + insert_slice) with the identity of the reduction: the lowest
value for max, zero for a sum. The padded tensor also covers the overhang of `ceil_mode`
windows, which ONNX ignores. Each pool is a `linalg.generic` over (n, c, out..., window...) that
reads a `tensor.empty` of the kernel shape to give the window loops their bounds, as linalg's
named pooling ops do. (xDSL 0.74's `linalg.pooling_nchw_max` is not used: its body yields
max(input, window element) instead of max(input, accumulator).)

An average divides the window sum by the number of elements that count: those inside the input
(count_include_pad = 0) or inside the explicitly padded input (count_include_pad = 1); ceil_mode
overhang never counts. When every window has the same count the divisor is a constant; for
undilated windows each output computes its count from its index (the window clipped to the
region that counts, per spatial dim); otherwise it is a tensor of counts, computed in the IR by
pooling a mask of ones over the same windows. The sums of a 2-d f32 average pool with more than
one output position are a depthwise convolution with weights of 1, the form conv-depthwise-kernel
runs on its vector kernel (x * 1 is exact: the same terms as a plain sum); other sums are
reassociable (`fastmath<reassoc>`), so a window over the whole input sums in vector lanes.

Windows are trimmed first to the kernel offsets that some output position can place on an
element that matters (inside the input, or inside the explicit pads where they count): the rest
only ever read the identity. A pool whose kernel dwarfs its input (an exporter's
`AvgPool2d(1280, ceil_mode=True)` over 7x7 is a global average) then walks 7x7, not 1280x1280;
the divisor still counts by the ONNX window.

A p-norm pool sums |x|^p over the zero-padded windows and takes the p-th root (x*x and sqrt for
p = 2, powf otherwise); f16 and bf16 compute in f32 and round once.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence

from xdsl.builder import Builder
from xdsl.dialects import arith
from xdsl.dialects import math as xmath
from xdsl.dialects.builtin import (
    AffineMapAttr,
    AnyFloat,
    IndexType,
    IntegerAttr,
    IntegerType,
    TensorType,
    f32,
)
from xdsl.dialects.linalg.ops import IndexOp
from xdsl.dialects.utils.fast_math import FastMathFlag
from xdsl.ir import Attribute, SSAValue
from xdsl.ir.affine import AffineExpr, AffineMap
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern, op_type_rewrite_pattern

from ...dialects.nn import AveragePoolOp, LpPoolOp, MaxPoolOp, NnOperation
from .common import (
    PARALLEL,
    REDUCTION,
    build_generic,
    element_type,
    empty_tensor,
    filled_tensor,
    identity_map,
    is_float,
    is_unsigned,
    lowest_value,
    scalar_constant,
    shape,
    unsupported,
)
from .contraction import accumulator_type
from .convolution import (
    check_dims,
    pad_spatial,
    place_in_filled,
    window_attribute,
    window_pads,
)

# ---------------------------------------------------------------------------------------------
# Helpers.


class _Window:
    """The geometry of one pool: kernel, strides, dilations and pads per spatial dim, and the
    end pads that make the padded input cover every window (ceil_mode overhang included)."""

    kernel: Sequence[int]
    strides: Sequence[int]
    dilations: Sequence[int]
    begin: Sequence[int]
    end: Sequence[int]
    covering_end: Sequence[int]

    def __init__(self, op: NnOperation, in_dims: Sequence[int], out_dims: Sequence[int]):
        rank = len(in_dims)
        kernel = op.ints_attr("kernel_shape")
        if kernel is None or len(kernel) != rank:
            raise unsupported(op, f"kernel_shape {kernel} for {rank} spatial dims")
        self.kernel = kernel
        self.strides = window_attribute(op, "strides", rank, 1)
        self.dilations = window_attribute(op, "dilations", rank, 1)
        self.begin, self.end = window_pads(
            op, in_dims, kernel, self.strides, self.dilations, out_dims
        )
        ceil_mode = op.int_attr("ceil_mode") != 0 and op.str_attr("auto_pad") == "NOTSET"
        expected = [
            _pooled_size(extent, b, e, size, stride, dilation, ceil_mode)
            for extent, b, e, size, stride, dilation in zip(
                in_dims, self.begin, self.end, kernel, self.strides, self.dilations, strict=True
            )
        ]
        check_dims(op, expected, out_dims)
        self.covering_end = [
            max(e, (out - 1) * stride + (size - 1) * dilation + 1 - extent - b)
            for e, out, stride, size, dilation, extent, b in zip(
                self.end,
                out_dims,
                self.strides,
                kernel,
                self.dilations,
                in_dims,
                self.begin,
                strict=True,
            )
        ]

    def trimmed(
        self, in_dims: Sequence[int], out_dims: Sequence[int], include_pad: bool
    ) -> _Window:
        """This pool with each kernel dim cut to the offsets that can reach the input (with
        `include_pad`, the explicitly padded input); the begin pad shrinks alike, never below
        zero. The pooled values are the same: the cut offsets only ever read the identity."""
        trimmed = copy.copy(self)
        kernel, begin, covering = [], [], []
        for dim, extent in enumerate(in_dims):
            size, stride, dilation = self.kernel[dim], self.strides[dim], self.dilations[dim]
            low, high = (-self.begin[dim], extent + self.end[dim]) if include_pad else (0, extent)
            hits = [
                k
                for k in range(size)
                if _reaches(k * dilation - self.begin[dim], stride, out_dims[dim], low, high)
            ]
            first = min(min(hits, default=0), self.begin[dim] // dilation)
            last = max(hits, default=size - 1)
            kernel.append(last - first + 1)
            begin.append(self.begin[dim] - first * dilation)
            span = (out_dims[dim] - 1) * stride + (kernel[-1] - 1) * dilation + 1
            covering.append(max(0, span - extent - begin[-1]))
        trimmed.kernel, trimmed.begin, trimmed.covering_end = kernel, begin, covering
        return trimmed


def _reaches(start: int, stride: int, count: int, low: int, high: int) -> bool:
    """Whether start + o * stride lies in [low, high) for some o in [0, count)."""
    first = max(0, -(-(low - start) // stride))
    return first < count and start + first * stride < high


def _pooled_size(
    extent: int, begin: int, end: int, size: int, stride: int, dilation: int, ceil_mode: bool
) -> int:
    """ONNX's output size; in ceil_mode the last window must start inside the input or its
    begin padding."""
    span = extent + begin + end - (size - 1) * dilation - 1
    if not ceil_mode:
        return span // stride + 1
    out = -(-span // stride) + 1
    if (out - 1) * stride >= extent + begin:
        out -= 1
    return out


def _maximum(builder: Builder, lhs: SSAValue, rhs: SSAValue) -> SSAValue:
    if is_float(lhs.type):
        return builder.insert(arith.MaximumfOp(lhs, rhs)).result
    if is_unsigned(lhs.type):
        return builder.insert(arith.MaxUIOp(lhs, rhs)).result
    return builder.insert(arith.MaxSIOp(lhs, rhs)).result


def _add(builder: Builder, lhs: SSAValue, rhs: SSAValue) -> SSAValue:
    # reassociable, as reduction.py's sums: a window that is the whole input (a global
    # average written as a pool) sums in vector lanes once its dimensions are collapsed
    flags = arith.FastMathFlagsAttr([FastMathFlag.REASSOC])
    return builder.insert(arith.AddfOp(lhs, rhs, flags)).result


def _pool_generic(
    builder: Builder,
    padded: SSAValue,
    init: SSAValue,
    window: _Window,
    maximum: bool,
    leading: int,
) -> SSAValue:
    """init combined with every window of `padded`: loops (leading..., out..., window...),
    input index out*stride + k*dilation; the max of them, or their sum."""
    rank = len(window.kernel)
    num_loops = leading + 2 * rank
    lead = [AffineExpr.dimension(index) for index in range(leading)]
    outs = [AffineExpr.dimension(leading + index) for index in range(rank)]
    ks = [AffineExpr.dimension(leading + rank + index) for index in range(rank)]
    positions = [
        out * stride + k * dilation
        for out, k, stride, dilation in zip(outs, ks, window.strides, window.dilations, strict=True)
    ]
    maps = [
        AffineMapAttr(AffineMap(num_loops, 0, (*lead, *positions))),
        AffineMapAttr(AffineMap(num_loops, 0, tuple(ks))),
        AffineMapAttr(AffineMap(num_loops, 0, (*lead, *outs))),
    ]
    kernel_bounds = empty_tensor(builder, window.kernel, element_type(padded))
    combine_values = _maximum if maximum else _add
    generic = build_generic(
        builder,
        [padded, kernel_bounds],
        [init],
        maps,
        [PARALLEL] * (leading + rank) + [REDUCTION] * rank,
        lambda body, args: [combine_values(body, args[2], args[0])],
    )
    return generic.results[0]


def _sum_as_depthwise(
    builder: Builder, padded: SSAValue, init: SSAValue, window: _Window
) -> SSAValue:
    """The window sums of a 2-d pool as a depthwise convolution with weights of 1: the
    generic conv-depthwise-kernel recognizes (loops (n, c, oy, ox, ky, kx), weight read as
    (c, 0, ky, kx), body acc + x * w), so the pool runs on its vector kernel, reading the
    padding in place. x * 1 is exact, so each term is the same as in a plain sum."""
    n, c, oy, ox, ky, kx = (AffineExpr.dimension(index) for index in range(6))
    rows, columns = (
        out * stride + k * dilation
        for out, k, stride, dilation in zip(
            (oy, ox), (ky, kx), window.strides, window.dilations, strict=True
        )
    )
    element = element_type(padded)
    weights = filled_tensor(builder, [shape(padded)[1], 1, *window.kernel], element, 1)
    zero = AffineExpr.constant(0)
    maps = [
        AffineMapAttr(AffineMap(6, 0, (n, c, rows, columns))),
        AffineMapAttr(AffineMap(6, 0, (c, zero, ky, kx))),
        AffineMapAttr(AffineMap(6, 0, (n, c, oy, ox))),
    ]

    def body(b: Builder, args: Sequence[SSAValue]) -> list[SSAValue]:
        product = b.insert(arith.MulfOp(args[0], args[1])).result
        return [b.insert(arith.AddfOp(args[2], product)).result]

    iterators = [PARALLEL] * 4 + [REDUCTION] * 2
    return build_generic(builder, [padded, weights], [init], maps, iterators, body).results[0]


def _window_counts(
    window: _Window, in_dims: Sequence[int], out_dims: Sequence[int], include_pad: bool
) -> list[list[int]]:
    """Per spatial dim and output index, how many window positions count for the average."""
    counts: list[list[int]] = []
    for extent, out, size, stride, dilation, b, e in zip(
        in_dims,
        out_dims,
        window.kernel,
        window.strides,
        window.dilations,
        window.begin,
        window.end,
        strict=True,
    ):
        low, high = (0, b + extent + e) if include_pad else (b, b + extent)
        counts.append(
            [sum(low <= o * stride + k * dilation < high for k in range(size)) for o in range(out)]
        )
    return counts


def _count_tensor(
    builder: Builder,
    window: _Window,
    in_dims: Sequence[int],
    out_dims: Sequence[int],
    include_pad: bool,
    element: Attribute,
) -> SSAValue:
    """The counts as a tensor over the output's spatial dims: a mask of ones over the counted
    region of the padded input, summed over each window (of a trimmed `window`, the region cut
    to what its windows reach)."""
    padded_dims = [
        b + extent + e
        for b, extent, e in zip(window.begin, in_dims, window.covering_end, strict=True)
    ]
    if include_pad:
        region = [
            min(b + extent + e, padded)
            for b, extent, e, padded in zip(
                window.begin, in_dims, window.end, padded_dims, strict=True
            )
        ]
        offsets = [0] * len(in_dims)
    else:
        region, offsets = list(in_dims), window.begin
    ones = filled_tensor(builder, region, element, 1)
    mask = place_in_filled(builder, ones, padded_dims, offsets, [1] * len(in_dims), 0)
    init = filled_tensor(builder, out_dims, element, 0)
    return _pool_generic(builder, mask, init, window, False, 0)


def _divide(
    builder: Builder, sums: SSAValue, divisor: SSAValue | float, out_type: TensorType[Attribute]
) -> SSAValue:
    """sums / divisor, the divisor a scalar or a tensor over the spatial dims."""
    dims = out_type.get_shape()
    rank = len(dims)
    init = empty_tensor(builder, dims, out_type.element_type)
    if isinstance(divisor, SSAValue):
        spatial = tuple(AffineExpr.dimension(index) for index in range(2, rank))
        maps = [identity_map(rank), AffineMapAttr(AffineMap(rank, 0, spatial)), identity_map(rank)]
        generic = build_generic(
            builder,
            [sums, divisor],
            [init],
            maps,
            [PARALLEL] * rank,
            lambda body, args: [body.insert(arith.DivfOp(args[0], args[1])).result],
        )
        return generic.results[0]
    constant = divisor

    def body(builder: Builder, args: Sequence[SSAValue]) -> list[SSAValue]:
        count = scalar_constant(builder, constant, args[0].type)
        return [builder.insert(arith.DivfOp(args[0], count)).result]

    maps = [identity_map(rank), identity_map(rank)]
    return build_generic(builder, [sums], [init], maps, [PARALLEL] * rank, body).results[0]


def _divide_by_window_counts(
    builder: Builder,
    sums: SSAValue,
    window: _Window,
    in_dims: Sequence[int],
    include_pad: bool,
    out_type: TensorType[Attribute],
) -> SSAValue:
    """sums / count with the count computed from the output index (undilated windows): per
    spatial dim, the window [o*stride, o*stride + size) of the padded input clipped to the
    region that counts, the counts multiplied. The same integers as `_window_counts`, with no
    count tensor to build at run time."""
    dims = out_type.get_shape()
    rank = len(dims)
    init = empty_tensor(builder, dims, out_type.element_type)
    index_type = IndexType()

    def index(b: Builder, value: int) -> SSAValue:
        return b.insert(arith.ConstantOp(IntegerAttr(value, index_type))).result

    def body(b: Builder, args: Sequence[SSAValue]) -> list[SSAValue]:
        count = index(b, 1)
        for dim, (extent, size, stride, begin, end) in enumerate(
            zip(in_dims, window.kernel, window.strides, window.begin, window.end, strict=True)
        ):
            low, high = (0, begin + extent + end) if include_pad else (begin, begin + extent)
            start = b.insert(arith.MuliOp(b.insert(IndexOp(2 + dim)), index(b, stride)))
            stop = b.insert(arith.AddiOp(start, index(b, size)))
            first = b.insert(arith.MaxSIOp(start, index(b, low)))
            last = b.insert(arith.MinSIOp(stop, index(b, high)))
            inside = b.insert(arith.SubiOp(last, first))
            count = b.insert(arith.MuliOp(count, inside)).result
        wide = b.insert(arith.IndexCastOp(count, IntegerType(64))).result
        element = args[0].type
        assert isinstance(element, AnyFloat)
        divisor = b.insert(arith.SIToFPOp(wide, element)).result
        return [b.insert(arith.DivfOp(args[0], divisor)).result]

    maps = [identity_map(rank), identity_map(rank)]
    return build_generic(builder, [sums], [init], maps, [PARALLEL] * rank, body).results[0]


# ---------------------------------------------------------------------------------------------
# Patterns.


class MaxPoolLowering(RewritePattern):
    """nn.max_pool -> pad with the lowest value, then a max linalg.generic into a fill of the
    lowest value."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: MaxPoolOp, rewriter: PatternRewriter) -> None:
        out_type = op.Y.type
        assert isinstance(out_type, TensorType)
        x_dims, out_dims = shape(op.X), shape(op.Y)
        element = element_type(op.Y)
        if not is_float(element) and not isinstance(element, IntegerType):
            raise unsupported(op, f"element type {element}")
        window = _Window(op, x_dims[2:], out_dims[2:]).trimmed(x_dims[2:], out_dims[2:], False)
        lowest = lowest_value(element)
        padded = pad_spatial(rewriter, op.X, window.begin, window.covering_end, lowest)
        init = filled_tensor(rewriter, out_dims, element, lowest)
        result = _pool_generic(rewriter, padded, init, window, True, 2)
        rewriter.replace(op, [], [result])


class AveragePoolLowering(RewritePattern):
    """nn.average_pool -> a sum linalg.generic over the zero-padded input, divided by the
    window counts (a constant, or a count tensor when windows differ)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: AveragePoolOp, rewriter: PatternRewriter) -> None:
        out_type = op.Y.type
        assert isinstance(out_type, TensorType)
        x_dims, out_dims = shape(op.X), shape(op.Y)
        element = element_type(op.Y)
        if not is_float(element):
            raise unsupported(op, "average pooling needs a float element type")
        onnx_window = _Window(op, x_dims[2:], out_dims[2:])
        include_pad = op.int_attr("count_include_pad") != 0
        counts = _window_counts(onnx_window, x_dims[2:], out_dims[2:], include_pad)
        window = onnx_window.trimmed(x_dims[2:], out_dims[2:], include_pad)
        padded = pad_spatial(rewriter, op.X, window.begin, window.covering_end, 0)
        init = filled_tensor(rewriter, out_dims, element, 0)
        if len(x_dims) == 4 and element == f32 and math.prod(out_dims[2:]) > 1:
            sums = _sum_as_depthwise(rewriter, padded, init, window)
        else:
            sums = _pool_generic(rewriter, padded, init, window, False, 2)
        if all(min(dim) == max(dim) for dim in counts):
            divisor: SSAValue | float = float(math.prod(dim[0] for dim in counts))
        elif all(dilation == 1 for dilation in onnx_window.dilations):
            result = _divide_by_window_counts(
                rewriter, sums, onnx_window, x_dims[2:], include_pad, out_type
            )
            rewriter.replace(op, [], [result])
            return
        else:
            divisor = _count_tensor(
                rewriter, window, x_dims[2:], out_dims[2:], include_pad, element
            )
        rewriter.replace(op, [], [_divide(rewriter, sums, divisor, out_type)])


def _power(builder: Builder, value: SSAValue, p: float) -> SSAValue:
    if p == 2:
        return builder.insert(arith.MulfOp(value, value)).result
    if p == 0.5:
        return builder.insert(xmath.SqrtOp(value)).result
    exponent = scalar_constant(builder, p, value.type)
    return builder.insert(xmath.PowFOp(value, exponent)).result


def _map_elements(
    builder: Builder,
    value: SSAValue,
    element: Attribute,
    function: Callable[[Builder, SSAValue], SSAValue],
) -> SSAValue:
    """function(x) per element, converted to `element` (extended or truncated) first."""
    dims = shape(value)
    init = empty_tensor(builder, dims, element)

    def body(b: Builder, args: Sequence[SSAValue]) -> list[SSAValue]:
        x = args[0]
        if x.type != element:
            assert isinstance(x.type, AnyFloat) and isinstance(element, AnyFloat)
            wider = element.bitwidth > x.type.bitwidth
            x = b.insert(arith.ExtFOp(x, element) if wider else arith.TruncFOp(x, element)).result
        return [function(b, x)]

    maps = [identity_map(len(dims))] * 2
    return build_generic(builder, [value], [init], maps, [PARALLEL] * len(dims), body).results[0]


class LpPoolLowering(RewritePattern):
    """nn.lp_pool -> |x|^p, a sum pool over the zero-padded windows, then the p-th root."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: LpPoolOp, rewriter: PatternRewriter) -> None:
        x_dims, out_dims = shape(op.X), shape(op.Y)
        element = element_type(op.Y)
        p = op.int_attr("p")
        if not is_float(element) or p <= 0:
            raise unsupported(op, f"p = {p} on {element}")
        compute = accumulator_type(element)
        window = _Window(op, x_dims[2:], out_dims[2:])

        def powered(b: Builder, x: SSAValue) -> SSAValue:
            return _power(b, b.insert(xmath.AbsFOp(x)).result, float(p))

        magnitudes = _map_elements(rewriter, op.X, compute, powered)
        padded = pad_spatial(rewriter, magnitudes, window.begin, window.covering_end, 0)
        init = filled_tensor(rewriter, out_dims, compute, 0)
        sums = _pool_generic(rewriter, padded, init, window, False, 2)
        root = _map_elements(rewriter, sums, compute, lambda b, s: _power(b, s, 1.0 / p))
        if compute != element:
            root = _map_elements(rewriter, root, element, lambda _, x: x)
        rewriter.replace(op, [], [root])


# ---------------------------------------------------------------------------------------------
# The pattern list.

PATTERNS: list[RewritePattern] = [MaxPoolLowering(), AveragePoolLowering(), LpPoolLowering()]
