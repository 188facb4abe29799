"""convert-nn-to-linalg patterns for convolutions: conv and conv_transpose.

A group-1 2-d convolution becomes `linalg.conv_2d_nchw_fchw`; a depthwise one (as many groups
as input and output channels) one `linalg.generic` over (n, c, outputs..., window...) that reads
the weight as (c, 0, window...), the form conv-depthwise-kernel recognizes; every other case is
one `linalg.generic` whose indexing maps carry the groups, strides and dilations. Padding is
materialized as empty + fill + insert_slice; a transposed convolution is a convolution of the
zero-inserted input with flipped, transposed weights. The window helpers here (pads from
`auto_pad`, padded tensors) are shared with `pooling.py`.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.builder import Builder
from xdsl.dialects import tensor
from xdsl.dialects.builtin import TensorType
from xdsl.dialects.linalg import ops as linalg
from xdsl.ir import Attribute, SSAValue
from xdsl.ir.affine import AffineExpr
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern, op_type_rewrite_pattern

from ...dialects.nn import ConvOp, ConvTransposeOp, NnOperation
from .common import (
    PARALLEL,
    REDUCTION,
    build_generic,
    element_type,
    empty_tensor,
    filled_tensor,
    identity_map,
    is_float,
    shape,
    unsupported,
)
from .contraction import (
    accumulator_type,
    affine_map,
    collapse,
    dense_i64,
    dim_exprs,
    expand,
    extend_to,
    multiply_add,
    narrow_to,
    split_dim0,
    split_dim1,
)

# ---------------------------------------------------------------------------------------------
# Helpers: windows (shared with pooling.py).


def window_attribute(op: NnOperation, name: str, rank: int, default: int) -> list[int]:
    """A per-spatial-dim attribute (strides, dilations, kernel_shape) or its default."""
    values = op.ints_attr(name)
    if values is None:
        return [default] * rank
    if len(values) != rank:
        raise unsupported(op, f"{name} has {len(values)} values for {rank} spatial dims")
    return values


def window_pads(
    op: NnOperation,
    in_dims: Sequence[int],
    kernel: Sequence[int],
    strides: Sequence[int],
    dilations: Sequence[int],
    out_dims: Sequence[int],
) -> tuple[list[int], list[int]]:
    """The (begin, end) pads per spatial dim from `auto_pad` and `pads` (ONNX Conv/Pool rules;
    SAME_* pads are taken from the output size, which the result type gives)."""
    rank = len(in_dims)
    auto_pad = op.str_attr("auto_pad")
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        totals = [
            max(0, (out - 1) * stride + (size - 1) * dilation + 1 - extent)
            for extent, size, stride, dilation, out in zip(
                in_dims, kernel, strides, dilations, out_dims, strict=True
            )
        ]
        smaller = [total // 2 for total in totals]
        larger = [total - total // 2 for total in totals]
        return (smaller, larger) if auto_pad == "SAME_UPPER" else (larger, smaller)
    if auto_pad == "VALID":
        return [0] * rank, [0] * rank
    if auto_pad != "NOTSET":
        raise unsupported(op, f"unknown auto_pad {auto_pad}")
    pads = op.ints_attr("pads") or [0] * (2 * rank)
    if len(pads) != 2 * rank or min(pads) < 0:
        raise unsupported(op, f"pads {pads} for {rank} spatial dims")
    return pads[:rank], pads[rank:]


def place_in_filled(
    builder: Builder,
    value: SSAValue,
    dims: Sequence[int],
    offsets: Sequence[int],
    strides: Sequence[int],
    fill: float | int,
) -> SSAValue:
    """A `dims` tensor filled with `fill`, `value` inserted at `offsets` with `strides`."""
    filled = filled_tensor(builder, dims, element_type(value), fill)
    insert = tensor.InsertSliceOp.from_static_parameters(
        value, filled, offsets, shape(value), strides
    )
    return builder.insert(insert).result


def pad_spatial(
    builder: Builder,
    value: SSAValue,
    begin: Sequence[int],
    end: Sequence[int],
    fill: float | int,
) -> SSAValue:
    """`value` (N, C, spatial...) padded with `fill`; itself when every pad is zero."""
    if not any(begin) and not any(end):
        return value
    batch, channels, *spatial = shape(value)
    dims = [batch, channels, *(b + s + e for b, s, e in zip(begin, spatial, end, strict=True))]
    ones = [1] * len(dims)
    return place_in_filled(builder, value, dims, [0, 0, *begin], ones, fill)


def check_dims(op: NnOperation, expected: Sequence[int], actual: Sequence[int]) -> None:
    if list(expected) != list(actual):
        raise unsupported(op, f"result shape {list(actual)}, expected {list(expected)}")


# ---------------------------------------------------------------------------------------------
# Helpers: convolution builders.


def bias_init(builder: Builder, bias: SSAValue | None, out_type: TensorType[Attribute]) -> SSAValue:
    """The accumulator of a convolution (in `accumulator_type`): zeros, or the bias broadcast
    along dim 1."""
    dims = out_type.get_shape()
    accumulator = accumulator_type(out_type.element_type)
    if bias is None:
        return filled_tensor(builder, dims, accumulator, 0)
    rank = len(dims)
    maps = [affine_map(rank, [AffineExpr.dimension(1)]), identity_map(rank)]
    init = empty_tensor(builder, dims, accumulator)
    generic = build_generic(
        builder,
        [bias],
        [init],
        maps,
        [PARALLEL] * rank,
        lambda body, args: [extend_to(body, args[0], accumulator)],
    )
    return generic.results[0]


def convolve(
    builder: Builder,
    padded: SSAValue,
    weight: SSAValue,
    init: SSAValue,
    group: int,
    strides: Sequence[int],
    dilations: Sequence[int],
    shifts: Sequence[int],
) -> SSAValue:
    """init + conv(padded, weight): padded (N, C, D...), weight (M, C/group, K...), init
    (N, M, O...); input index o*stride + k*dilation + shift. Grouped operands are expanded to
    (N, G, C/G, ...), (G, M/G, C/G, ...), (N, G, M/G, ...) so that every loop is a plain
    dimension of some operand."""
    rank = len(strides)
    if group == 1 and rank == 2 and not any(shifts) and element_type(init) == element_type(padded):
        conv = linalg.Conv2DNchwFchwOp(
            [padded, weight],
            [init],
            [init.type],
            strides=dense_i64(strides),
            dilations=dense_i64(dilations),
        )
        return builder.insert(conv).results[0]
    if group > 1 and group == shape(padded)[1] == shape(weight)[0]:
        return _depthwise(builder, padded, weight, init, strides, dilations, shifts)
    if group > 1 and _is_pointwise(shape(padded), shape(weight), shape(init), strides, shifts):
        return _grouped_pointwise(builder, padded, weight, init, group)
    grouped = group > 1
    batch, channels, *in_spatial = shape(padded)
    out_channels, group_channels, *kernel = shape(weight)
    out_dims = shape(init)
    if grouped:
        padded = expand(
            builder,
            padded,
            split_dim1(rank + 2),
            [batch, group, channels // group, *in_spatial],
        )
        weight = expand(
            builder,
            weight,
            split_dim0(rank + 2),
            [group, out_channels // group, group_channels, *kernel],
        )
        init = expand(
            builder,
            init,
            split_dim1(rank + 2),
            [batch, group, out_channels // group, *out_dims[2:]],
        )
    # loops: n, (g), oc, o..., ic, k...
    lead = 2 if grouped else 1
    num_loops = lead + 2 + 2 * rank
    leading = dim_exprs(0, lead)
    out_channel = AffineExpr.dimension(lead)
    outs = dim_exprs(lead + 1, rank)
    in_channel = AffineExpr.dimension(lead + 1 + rank)
    window = dim_exprs(lead + 2 + rank, rank)
    positions = [
        out * stride + k * dilation + shift
        for out, k, stride, dilation, shift in zip(
            outs, window, strides, dilations, shifts, strict=True
        )
    ]
    maps = [
        affine_map(num_loops, [*leading, in_channel, *positions]),
        affine_map(num_loops, [*leading[1:], out_channel, in_channel, *window]),
        affine_map(num_loops, [*leading, out_channel, *outs]),
    ]
    iterators = [PARALLEL] * (lead + 1 + rank) + [REDUCTION] * (rank + 1)
    generic = build_generic(
        builder,
        [padded, weight],
        [init],
        maps,
        iterators,
        lambda body, args: [multiply_add(body, args[0], args[1], args[2])],
    )
    result = generic.results[0]
    if grouped:
        result = collapse(builder, result, split_dim1(rank + 2), out_dims)
    return result


def _is_pointwise(
    padded: Sequence[int],
    weight: Sequence[int],
    init: Sequence[int],
    strides: Sequence[int],
    shifts: Sequence[int],
) -> bool:
    """A 2-d 1x1 convolution with unit strides, no padding and no shift: every output pixel
    reads the input pixel at the same place."""
    if len(strides) != 2 or any(s != 1 for s in strides) or any(shifts):
        return False
    return list(weight[2:]) == [1, 1] and list(padded[2:]) == list(init[2:])


def _is_single_pixel(
    x_dims: Sequence[int], w_dims: Sequence[int], out_dims: Sequence[int], begin: Sequence[int]
) -> bool:
    """A 1x1 convolution of a 1x1 image, unpadded (squeeze-and-excitation's reduce and
    expand convolutions): one input pixel, one output pixel."""
    spatial = (*x_dims[2:], *w_dims[2:], *out_dims[2:])
    return all(extent == 1 for extent in spatial) and not any(begin)


def _single_pixel(
    builder: Builder, x: SSAValue, weight: SSAValue, init: SSAValue, out_dims: Sequence[int]
) -> SSAValue:
    """init + conv(x, weight) for `_is_single_pixel`, as the product of the (N, C) pixels by
    the (M, C) weight into an (N, M) init, expanded back to `out_dims`. The convolution's own
    form has the output pixels, all one of them, for its vector dimension; this one has M,
    so contraction-microkernel runs it as a Gemm (M = 1: a vector of M per FMA), reading x
    and the weight through maps that pin their 1x1 dims to 0."""
    n, m, c = dim_exprs(0, 3)
    zeros = [AffineExpr.constant(0)] * (len(out_dims) - 2)
    maps = [
        affine_map(3, [n, c, *zeros]),
        affine_map(3, [m, c, *zeros]),
        affine_map(3, [n, m]),
    ]
    generic = build_generic(
        builder,
        [x, weight],
        [init],
        maps,
        [PARALLEL, PARALLEL, REDUCTION],
        lambda body, args: [multiply_add(body, args[0], args[1], args[2])],
    )
    groups = [[0], list(range(1, len(out_dims)))]
    return expand(builder, generic.results[0], groups, out_dims)


def _grouped_pointwise(
    builder: Builder, padded: SSAValue, weight: SSAValue, init: SSAValue, group: int
) -> SSAValue:
    """init + grouped 1x1 conv(padded, weight): loops n, oc, oy, ox, ic over the output's
    own shape (no expanded operands), the input channel `(oc floordiv M/G) * C/G + ic` and
    the weight read as (oc, ic, 0, 0): the form conv-grouped-kernel recognizes, whose output
    is the 4-d tensor the elementwise consumers read (so they fuse into it)."""
    out_channels, group_channels = shape(weight)[:2]
    n, oc, oy, ox, ic = dim_exprs(0, 5)
    first_channel = (oc // (out_channels // group)) * group_channels
    zero = AffineExpr.constant(0)
    maps = [
        affine_map(5, [n, first_channel + ic, oy, ox]),
        affine_map(5, [oc, ic, zero, zero]),
        affine_map(5, [n, oc, oy, ox]),
    ]
    generic = build_generic(
        builder,
        [padded, weight],
        [init],
        maps,
        [PARALLEL] * 4 + [REDUCTION],
        lambda body, args: [multiply_add(body, args[0], args[1], args[2])],
    )
    return generic.results[0]


def _depthwise(
    builder: Builder,
    padded: SSAValue,
    weight: SSAValue,
    init: SSAValue,
    strides: Sequence[int],
    dilations: Sequence[int],
    shifts: Sequence[int],
) -> SSAValue:
    """init + depthwise conv(padded, weight): one group per channel, weight (C, 1, K...).
    Loops n, c, o..., k...: without the grouped form's unit loops, the maps are those of
    conv-depthwise-kernel's match (and the outputs' innermost loop is the one
    linalg-interchange-reductions moves inside the window)."""
    rank = len(strides)
    num_loops = 2 + 2 * rank
    batch, channel = AffineExpr.dimension(0), AffineExpr.dimension(1)
    outs = dim_exprs(2, rank)
    window = dim_exprs(2 + rank, rank)
    positions = [
        out * stride + k * dilation + shift
        for out, k, stride, dilation, shift in zip(
            outs, window, strides, dilations, shifts, strict=True
        )
    ]
    maps = [
        affine_map(num_loops, [batch, channel, *positions]),
        affine_map(num_loops, [channel, AffineExpr.constant(0), *window]),
        affine_map(num_loops, [batch, channel, *outs]),
    ]
    generic = build_generic(
        builder,
        [padded, weight],
        [init],
        maps,
        [PARALLEL] * (2 + rank) + [REDUCTION] * rank,
        lambda body, args: [multiply_add(body, args[0], args[1], args[2])],
    )
    return generic.results[0]


def _flip_transpose_weight(builder: Builder, weight: SSAValue, group: int) -> SSAValue:
    """ConvTranspose weights (C, M/G, K...) as convolution weights (M, C/G, K...), each kernel
    flipped: w'[g*M/G + m, c, k] = w[g*C/G + c, m, K-1-k]."""
    channels, group_out, *kernel = shape(weight)
    rank = len(kernel)
    group_in = channels // group
    grouped = group > 1
    lead = 1 if grouped else 0
    num_loops = lead + 2 + rank
    out_channel = AffineExpr.dimension(lead)
    in_channel = AffineExpr.dimension(lead + 1)
    window = dim_exprs(lead + 2, rank)
    source_channel = in_channel
    if grouped:
        source_channel = AffineExpr.dimension(0) * group_in + in_channel
    # AffineExpr's __rsub__ computes expr - int, so the constant goes on the left explicitly
    flipped = [AffineExpr.constant(size - 1) - k for size, k in zip(kernel, window, strict=True)]
    source_map = affine_map(num_loops, [source_channel, out_channel, *flipped])
    dims = [*([group] if grouped else []), group_out, group_in, *kernel]
    init = empty_tensor(builder, dims, element_type(weight))
    generic = build_generic(
        builder,
        [weight],
        [init],
        [source_map, identity_map(num_loops)],
        [PARALLEL] * num_loops,
        lambda _, args: [args[0]],
    )
    result = generic.results[0]
    if grouped:
        result = collapse(builder, result, split_dim0(rank + 2), [group * group_out, *dims[2:]])
    return result


def _transpose_pads(
    op: ConvTransposeOp,
    in_dims: Sequence[int],
    kernel: Sequence[int],
    strides: Sequence[int],
    dilations: Sequence[int],
    output_padding: Sequence[int],
) -> tuple[list[int], list[int]]:
    """ConvTranspose's (begin, end) pads: from output_shape when given (or SAME_* auto_pad),
    else from pads."""
    rank = len(in_dims)
    auto_pad = op.str_attr("auto_pad")
    output_shape = op.ints_attr("output_shape")
    if output_shape is None and auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        output_shape = [extent * stride for extent, stride in zip(in_dims, strides, strict=True)]
    if output_shape is None:
        pads = op.ints_attr("pads") or [0] * (2 * rank)
        if len(pads) != 2 * rank:
            raise unsupported(op, f"pads {pads} for {rank} spatial dims")
        return pads[:rank], pads[rank:]
    if len(output_shape) != rank:
        raise unsupported(op, f"output_shape {output_shape} for {rank} spatial dims")
    totals = [
        stride * (extent - 1) + extra + (size - 1) * dilation + 1 - out
        for stride, extent, extra, size, dilation, out in zip(
            strides, in_dims, output_padding, kernel, dilations, output_shape, strict=True
        )
    ]
    smaller = [total // 2 for total in totals]
    larger = [total - total // 2 for total in totals]
    return (smaller, larger) if auto_pad == "SAME_UPPER" else (larger, smaller)


def _check_convolution(
    op: ConvOp | ConvTransposeOp,
    x_dims: Sequence[int],
    w_dims: Sequence[int],
    input_channels: int,
) -> None:
    """The preconditions both convolutions share: float data, a kernel_shape that agrees with
    the weight, and channels that split into `group` groups (`input_channels` is what the
    weight implies for X's channel dimension)."""
    if not is_float(element_type(op.Y)):
        raise unsupported(op, "convolution needs a float element type")
    group = op.int_attr("group")
    kernel = list(w_dims[2:])
    if op.ints_attr("kernel_shape") not in (None, kernel):
        raise unsupported(op, f"kernel_shape differs from the weight's {kernel}")
    if group < 1 or x_dims[1] != input_channels or w_dims[0] % group:
        raise unsupported(op, f"group {group} with input {x_dims} and weight {w_dims}")


class ConvLowering(RewritePattern):
    """nn.conv -> pad (empty + fill + insert_slice), then linalg.conv_2d_nchw_fchw (2-d,
    group 1) or a grouped linalg.generic, accumulating into zeros or the broadcast bias."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ConvOp, rewriter: PatternRewriter) -> None:
        x_dims, w_dims, out_type = shape(op.X), shape(op.W), op.Y.type
        assert isinstance(out_type, TensorType)
        out_dims: tuple[int, ...] = tuple(out_type.get_shape())
        rank = len(x_dims) - 2
        group = op.int_attr("group")
        kernel = list(w_dims[2:])
        _check_convolution(op, x_dims, w_dims, w_dims[1] * group)
        strides = window_attribute(op, "strides", rank, 1)
        dilations = window_attribute(op, "dilations", rank, 1)
        begin, end = window_pads(op, x_dims[2:], kernel, strides, dilations, out_dims[2:])
        expected = [
            (extent + b + e - (size - 1) * dilation - 1) // stride + 1
            for extent, b, e, size, dilation, stride in zip(
                x_dims[2:], begin, end, kernel, dilations, strides, strict=True
            )
        ]
        check_dims(op, [x_dims[0], w_dims[0], *expected], out_dims)
        if group == 1 and _is_single_pixel(x_dims, w_dims, out_dims, begin):
            matrix_type = TensorType(out_type.element_type, out_dims[:2])
            init = bias_init(rewriter, op.B, matrix_type)
            result = _single_pixel(rewriter, op.X, op.W, init, out_dims)
            rewriter.replace(op, [], [narrow_to(rewriter, result, out_type.element_type)])
            return
        padded = pad_spatial(rewriter, op.X, begin, end, 0)
        init = bias_init(rewriter, op.B, out_type)
        result = convolve(rewriter, padded, op.W, init, group, strides, dilations, [0] * rank)
        rewriter.replace(op, [], [narrow_to(rewriter, result, out_type.element_type)])


class ConvTransposeLowering(RewritePattern):
    """nn.conv_transpose -> the input zero-inserted (stride) and padded by one insert_slice into
    zeros, convolved at stride 1 with the flipped, transposed weights (a generic over them)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ConvTransposeOp, rewriter: PatternRewriter) -> None:
        x_dims, w_dims, out_type = shape(op.X), shape(op.W), op.Y.type
        assert isinstance(out_type, TensorType)
        out_dims: tuple[int, ...] = tuple(out_type.get_shape())
        rank = len(x_dims) - 2
        group = op.int_attr("group")
        kernel = list(w_dims[2:])
        _check_convolution(op, x_dims, w_dims, w_dims[0])
        strides = window_attribute(op, "strides", rank, 1)
        dilations = window_attribute(op, "dilations", rank, 1)
        output_padding = window_attribute(op, "output_padding", rank, 0)
        begin, end = _transpose_pads(op, x_dims[2:], kernel, strides, dilations, output_padding)
        expected = [
            stride * (extent - 1) + extra + (size - 1) * dilation + 1 - b - e
            for stride, extent, extra, size, dilation, b, e in zip(
                strides, x_dims[2:], output_padding, kernel, dilations, begin, end, strict=True
            )
        ]
        check_dims(op, [x_dims[0], w_dims[1] * group, *expected], out_dims)
        # the equivalent convolution pads the zero-inserted input by (K-1)*dilation - pad; a
        # negative pad crops, which the convolution's maps do by shifting their input index
        conv_begin = [
            (size - 1) * d - b for size, d, b in zip(kernel, dilations, begin, strict=True)
        ]
        conv_end = [
            (size - 1) * d - e + extra
            for size, d, e, extra in zip(kernel, dilations, end, output_padding, strict=True)
        ]
        offsets = [max(0, b) for b in conv_begin]
        spatial = [
            offset + (extent - 1) * stride + 1 + max(0, e)
            for offset, extent, stride, e in zip(
                offsets, x_dims[2:], strides, conv_end, strict=True
            )
        ]
        dilated = op.X
        if any(offsets) or any(s != 1 for s in strides) or any(e > 0 for e in conv_end):
            dilated = place_in_filled(
                rewriter, op.X, [*x_dims[:2], *spatial], [0, 0, *offsets], [1, 1, *strides], 0
            )
        weight = _flip_transpose_weight(rewriter, op.W, group)
        init = bias_init(rewriter, op.B, out_type)
        shifts = [max(0, -b) for b in conv_begin]
        result = convolve(rewriter, dilated, weight, init, group, [1] * rank, dilations, shifts)
        rewriter.replace(op, [], [narrow_to(rewriter, result, out_type.element_type)])


# ---------------------------------------------------------------------------------------------
# The pattern list.

PATTERNS: list[RewritePattern] = [
    ConvLowering(),
    ConvTransposeLowering(),
]
