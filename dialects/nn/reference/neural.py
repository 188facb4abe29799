"""Reference kernels of the neural family (`dialects/nn/neural.py`): Gemm, MatMul, Einsum, the
normalizations, Softmax, LRN, global pooling, and the windowed ops (convolution, transposed
convolution, max, average and p-norm pooling) for any number of spatial dimensions.

The window geometry (kernel, stride, dilation, padding before each axis) follows ONNX, with
`auto_pad` resolved from the op's result type; output sizes are the op's result type, whose
ceil_mode rule matches onnxruntime (see `neural.py`). Windows that hang over the padded input
(ceil_mode) never count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import product
from string import ascii_letters
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .. import neural
from ..base import NnOperation, element_type_from_onnx, element_type_to_numpy, shape_of
from .core import axis_index, kernel, widen


@dataclass(frozen=True)
class _Axis:
    """One spatial axis of a window: sizes, stride, dilation and the padding before it."""

    size: int  # input extent
    out: int  # output extent
    kernel: int
    stride: int
    dilation: int
    pad_begin: int
    pad_end: int

    @property
    def span(self) -> int:
        return (self.kernel - 1) * self.dilation + 1


def _geometry(op: NnOperation, spatial: Sequence[int], kernel_shape: Sequence[int]) -> list[_Axis]:
    rank = len(spatial)
    out = shape_of(op.results[0])[2:]
    strides = op.ints_attr("strides") or [1] * rank
    dilations = op.ints_attr("dilations") or [1] * rank
    pads = op.ints_attr("pads") or [0] * (2 * rank)
    auto_pad = op.str_attr("auto_pad")
    axes: list[_Axis] = []
    for i in range(rank):
        span = (kernel_shape[i] - 1) * dilations[i] + 1
        begin, end = pads[i], pads[i + rank]
        if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            total = max(0, (out[i] - 1) * strides[i] + span - spatial[i])
            begin = total // 2 if auto_pad == "SAME_UPPER" else total - total // 2
            end = total - begin
        elif auto_pad == "VALID":
            begin, end = 0, 0
        axis = _Axis(spatial[i], out[i], kernel_shape[i], strides[i], dilations[i], begin, end)
        axes.append(axis)
    return axes


def _windows(x: np.ndarray, axes: Sequence[_Axis], fill: float | int) -> np.ndarray:
    """(N, C, *out, *kernel) views of x padded with `fill` before and after each axis, enough
    for every output window."""
    widths = [(0, 0), (0, 0)]
    for axis in axes:
        needed = (axis.out - 1) * axis.stride + axis.span
        widths.append((axis.pad_begin, max(0, needed - axis.size - axis.pad_begin)))
    padded = np.pad(x, widths, constant_values=fill)
    spatial = tuple(range(2, 2 + len(axes)))
    views = sliding_window_view(padded, [a.span for a in axes], axis=spatial)
    index: list[slice] = [slice(None), slice(None)]
    index += [slice(0, a.out * a.stride, a.stride) for a in axes]
    index += [slice(None, None, a.dilation) for a in axes]
    return views[tuple(index)]


def _padding_mask(axes: Sequence[_Axis], explicit_counts: bool) -> np.ndarray:
    """(*out, *kernel): 1 where a window element lies inside the input (or, with
    `explicit_counts`, inside the explicit padding too), 0 elsewhere."""
    ones = np.ones([a.size for a in axes], dtype=np.float64)
    if explicit_counts:
        ones = np.pad(ones, [(a.pad_begin, a.pad_end) for a in axes], constant_values=1.0)
        shifted = [
            _Axis(a.size + a.pad_begin + a.pad_end, a.out, a.kernel, a.stride, a.dilation, 0, 0)
            for a in axes
        ]
        return _windows(ones[None, None], shifted, 0.0)[0, 0]
    return _windows(ones[None, None], axes, 0.0)[0, 0]


def _compute_dtype(x: np.ndarray) -> np.dtype[Any]:
    return np.dtype(np.float32) if x.dtype == np.float16 else x.dtype


# -- convolution ----------------------------------------------------------------------------


@kernel(neural.ConvOp)
def _conv(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    x, w = inputs[0], inputs[1]
    dtype = _compute_dtype(x)
    x, w = x.astype(dtype), w.astype(dtype)
    group = op.int_attr("group")
    batch, channels = x.shape[:2]
    features = w.shape[0]
    axes = _geometry(op, x.shape[2:], w.shape[2:])
    rank = len(axes)
    windows = _windows(x, axes, 0)
    out = [a.out for a in axes]
    grouped = windows.reshape(batch, group, channels // group, *out, *w.shape[2:])
    weights = w.reshape(group, features // group, channels // group, *w.shape[2:])
    o = ascii_letters[:rank]
    k = ascii_letters[rank : 2 * rank]
    y = np.einsum(f"NGC{o}{k},GMC{k}->NGM{o}", grouped, weights, optimize=True)
    y = y.reshape(batch, features, *out)
    if len(inputs) > 2:
        y = y + inputs[2].astype(dtype).reshape(1, -1, *([1] * rank))
    return [y]


@kernel(neural.ConvTransposeOp)
def _conv_transpose(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    x, w = inputs[0], inputs[1]
    dtype = _compute_dtype(x)
    x, w = x.astype(dtype), w.astype(dtype)
    group = op.int_attr("group")
    batch, channels = x.shape[:2]
    per_group = w.shape[1]
    spatial = x.shape[2:]
    rank = len(spatial)
    kernel_shape = w.shape[2:]
    out = shape_of(op.results[0])[2:]
    strides = op.ints_attr("strides") or [1] * rank
    dilations = op.ints_attr("dilations") or [1] * rank
    output_padding = op.ints_attr("output_padding") or [0] * rank
    full = [
        strides[i] * (spatial[i] - 1) + (kernel_shape[i] - 1) * dilations[i] + 1 + output_padding[i]
        for i in range(rank)
    ]
    begins = _transpose_pad_begins(op, full, out)
    buffer = np.zeros((batch, group, per_group, *full), dtype=dtype)
    grouped_x = x.reshape(batch, group, channels // group, *spatial)
    grouped_w = w.reshape(group, channels // group, per_group, *kernel_shape)
    for position in product(*[range(k) for k in kernel_shape]):
        tap = grouped_w[(slice(None), slice(None), slice(None), *position)]
        contribution = np.einsum("NGC...,GCM->NGM...", grouped_x, tap)
        target = [
            slice(p * d, p * d + s * (n - 1) + 1, s)
            for p, d, s, n in zip(position, dilations, strides, spatial, strict=True)
        ]
        buffer[(slice(None), slice(None), slice(None), *target)] += contribution
    y = _crop(buffer.reshape(batch, group * per_group, *full), begins, out)
    if len(inputs) > 2:
        y = y + inputs[2].astype(dtype).reshape(1, -1, *([1] * rank))
    return [y]


def _transpose_pad_begins(op: NnOperation, full: Sequence[int], out: Sequence[int]) -> list[int]:
    rank = len(full)
    auto_pad = op.str_attr("auto_pad")
    if op.ints_attr("output_shape") is None and auto_pad not in ("SAME_UPPER", "SAME_LOWER"):
        pads = op.ints_attr("pads") or [0] * (2 * rank)
        return list(pads[:rank])
    totals = [f - o for f, o in zip(full, out, strict=True)]
    if auto_pad == "SAME_UPPER":
        return [t // 2 for t in totals]
    return [t - t // 2 for t in totals]


def _crop(y: np.ndarray, begins: Sequence[int], out: Sequence[int]) -> np.ndarray:
    """y[..., begin : begin + out] per spatial axis, zero where that reaches outside y."""
    widths = [(0, 0), (0, 0)]
    widths += [
        (max(0, -b), max(0, b + o - size))
        for b, o, size in zip(begins, out, y.shape[2:], strict=True)
    ]
    padded = np.pad(y, widths)
    index = [slice(None), slice(None)]
    index += [slice(max(0, b), max(0, b) + o) for b, o in zip(begins, out, strict=True)]
    return padded[tuple(index)]


# -- pooling --------------------------------------------------------------------------------


def _lowest(dtype: np.dtype[Any]) -> float | int:
    if np.issubdtype(dtype, np.floating):
        return -np.inf
    return int(np.iinfo(dtype).min)


@kernel(neural.MaxPoolOp)
def _max_pool(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    x = inputs[0].astype(_compute_dtype(inputs[0]))
    axes = _geometry(op, x.shape[2:], op.ints_attr("kernel_shape") or [])
    windows = _windows(x, axes, _lowest(x.dtype))
    window_axes = tuple(range(-len(axes), 0))
    return [windows.max(axis=window_axes)]


@kernel(neural.AveragePoolOp)
def _average_pool(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    x = inputs[0].astype(_compute_dtype(inputs[0]))
    axes = _geometry(op, x.shape[2:], op.ints_attr("kernel_shape") or [])
    window_axes = tuple(range(-len(axes), 0))
    total = _windows(x, axes, 0).sum(axis=window_axes, dtype=np.float64)
    counts = _padding_mask(axes, op.int_attr("count_include_pad") == 1).sum(axis=window_axes)
    return [total / counts]


@kernel(neural.LpPoolOp)
def _lp_pool(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """onnx's test data, not its reference kernel (onnx 1.23), which rescales the average of a
    padded window by the full kernel size."""
    x = inputs[0].astype(_compute_dtype(inputs[0]))
    p = op.int_attr("p")
    axes = _geometry(op, x.shape[2:], op.ints_attr("kernel_shape") or [])
    window_axes = tuple(range(-len(axes), 0))
    total = _windows(np.abs(x) ** p, axes, 0).sum(axis=window_axes)
    return [total ** (1.0 / p)]


# -- the other neural ops -------------------------------------------------------------------


@kernel(neural.GemmOp)
def _gemm(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    a, b = widen(inputs[0]), widen(inputs[1])
    if op.int_attr("transA"):
        a = a.T
    if op.int_attr("transB"):
        b = b.T
    result = op.float_attr("alpha") * (a @ b)
    if len(inputs) == 3:  # C is optional
        result = result + op.float_attr("beta") * widen(inputs[2])
    return [result]


@kernel(neural.MatMulOp)
def _matmul(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    # numpy.matmul is ONNX's definition: 1-d operands promoted, batch dimensions broadcast.
    return [np.matmul(widen(inputs[0]), widen(inputs[1]))]


@kernel(neural.EinsumOp)
def _einsum(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    return [np.einsum(op.str_attr("equation"), *(widen(x) for x in inputs))]


@kernel(neural.BatchNormalizationOp)
def _batch_normalization(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    x, scale, bias, mean, variance = (widen(value) for value in inputs)
    assert x.ndim >= 2, "BatchNormalization normalizes over axis 1"
    channel_shape = [1] * x.ndim
    channel_shape[1] = x.shape[1]

    def per_channel(value: np.ndarray) -> np.ndarray:
        return value.astype(x.dtype).reshape(channel_shape)

    inverse_std = 1 / np.sqrt(per_channel(variance) + op.float_attr("epsilon"))
    normalized = (x - per_channel(mean)) * inverse_std
    return [normalized * per_channel(scale) + per_channel(bias)]


@kernel(neural.LayerNormalizationOp)
def _layer_normalization(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    x = inputs[0]
    # stash_type is the least precise type of mean and variance (float32 by default).
    stash = element_type_to_numpy(element_type_from_onnx(op.int_attr("stash_type")))
    x = x.astype(np.promote_types(x.dtype, stash))
    axes = tuple(range(axis_index(op.int_attr("axis"), x.ndim), x.ndim))
    centered = x - x.mean(axis=axes, keepdims=True)
    variance = np.mean(centered * centered, axis=axes, keepdims=True)
    result = centered / np.sqrt(variance + op.float_attr("epsilon")) * inputs[1]
    if len(inputs) == 3:  # B is optional
        result = result + inputs[2]
    return [result]


def _shifted_by_max(op: NnOperation, x: np.ndarray) -> tuple[np.ndarray, int]:
    """x minus its maximum along the op's axis, so that exp cannot overflow."""
    axis = axis_index(op.int_attr("axis"), x.ndim)
    x = widen(x)
    return x - np.max(x, axis=axis, keepdims=True), axis


@kernel(neural.SoftmaxOp)
def _softmax(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    shifted, axis = _shifted_by_max(op, inputs[0])
    exp = np.exp(shifted)
    return [exp / np.sum(exp, axis=axis, keepdims=True)]


@kernel(neural.LogSoftmaxOp)
def _log_softmax(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    shifted, axis = _shifted_by_max(op, inputs[0])
    return [shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))]


@kernel(neural.LRNOp)
def _lrn(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    x = widen(inputs[0])
    size = op.int_attr("size")
    before = (size - 1) // 2
    after = size - 1 - before  # ceil((size - 1) / 2)
    # Zero channels on both sides make every window `size` wide: the window of channel c is
    # padded channels c .. c + size - 1.
    widths = [(0, 0), (before, after)] + [(0, 0)] * (x.ndim - 2)
    squares = np.pad(x * x, widths)
    channels = x.shape[1]
    square_sum = sum(squares[:, start : start + channels] for start in range(size))
    scale = op.float_attr("bias") + op.float_attr("alpha") / size * square_sum
    return [x / scale ** op.float_attr("beta")]


@kernel(neural.GlobalAveragePoolOp)
def _global_average_pool(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    x = widen(inputs[0])
    return [np.mean(x, axis=tuple(range(2, x.ndim)), keepdims=True)]


@kernel(neural.GlobalMaxPoolOp)
def _global_max_pool(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    x = inputs[0]
    return [np.max(x, axis=tuple(range(2, x.ndim)), keepdims=True)]
