"""Reference kernels of the shape family (`dialects/nn/shape.py`): reshapes, slices, pads,
concatenation and splits, gathers and scatters (with ONNX's index range rules), OneHot."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np

from ....errors import IndexOutOfRangeError
from .. import shape as shape_ops
from ..base import NnOperation, node_name
from .core import axis_index, kernel

ONNX_KERNEL_OPS = frozenset({shape_ops.ResizeOp})
"""The ops that run onnx's own numpy kernel (`core.onnx_kernel`) for want of one here: Resize,
whose ONNX definition is mostly coordinate arithmetic."""


@kernel(shape_ops.ReshapeOp)
def _reshape(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    data = inputs[0]
    shape = op.ints_attr("shape") or []
    if not op.int_attr("allowzero"):  # a 0 copies the input's dimension
        shape = [data.shape[i] if size == 0 else size for i, size in enumerate(shape)]
    return [data.reshape(shape)]  # numpy infers the one -1, as ONNX does


@kernel(shape_ops.FlattenOp)
def _flatten(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    x = inputs[0]
    axis = axis_index(op.int_attr("axis"), x.ndim)
    outer = math.prod(x.shape[:axis])
    return [x.reshape(outer, math.prod(x.shape[axis:]))]  # no -1: it fails on empty tensors


@kernel(shape_ops.TransposeOp)
def _transpose(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    return [np.transpose(inputs[0], op.ints_attr("perm"))]  # no perm reverses the axes


@kernel(shape_ops.SqueezeOp)
def _squeeze(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    data = inputs[0]
    axes = op.ints_attr("axes")
    if not axes:  # squeezes every dimension of size 1
        return [np.squeeze(data)]
    return [np.squeeze(data, axis=tuple(axis_index(a, data.ndim) for a in axes))]


@kernel(shape_ops.UnsqueezeOp)
def _unsqueeze(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    data = inputs[0]
    axes = op.ints_attr("axes") or []
    rank = data.ndim + len(axes)  # negative axes count from the end of the result
    return [np.expand_dims(data, tuple(axis_index(a, rank) for a in axes))]


@kernel(shape_ops.ExpandOp)
def _expand(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    x = inputs[0]
    # Broadcasting is bidirectional: a 1 in `shape` keeps the input's dimension.
    shape = np.broadcast_shapes(x.shape, tuple(op.ints_attr("shape") or []))
    return [np.broadcast_to(x, shape).copy()]


@kernel(shape_ops.TileOp)
def _tile(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    return [np.tile(inputs[0], op.ints_attr("repeats") or [])]


def _slice_of(start: int, end: int, step: int, size: int) -> slice:
    """ONNX's clamping of one axis' bounds, as a Python slice."""
    start = start + size if start < 0 else start
    end = end + size if end < 0 else end
    if step > 0:
        return slice(min(max(start, 0), size), min(max(end, 0), size), step)
    start = min(max(start, 0), size - 1)
    end = min(max(end, -1), size - 1)
    return slice(start, None if end < 0 else end, step)  # -1: past index 0, not the last


@kernel(shape_ops.SliceOp)
def _slice(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    data = inputs[0]
    starts = op.ints_attr("starts") or []
    ends = op.ints_attr("ends") or []
    axes = op.ints_attr("axes") or list(range(len(starts)))
    steps = op.ints_attr("steps") or [1] * len(starts)
    index = [slice(None)] * data.ndim
    for start, end, axis, step in zip(starts, ends, axes, steps, strict=True):
        axis = axis_index(axis, data.ndim)
        index[axis] = _slice_of(start, end, step, data.shape[axis])
    return [data[tuple(index)].copy()]


_PadMode = Literal["constant", "reflect", "edge", "wrap"]
_PAD_MODES: dict[str, _PadMode] = {
    "constant": "constant",
    "reflect": "reflect",
    "edge": "edge",
    "wrap": "wrap",
}
"""ONNX's pad modes by name; numpy's np.pad has the same four, with the same meanings."""


@kernel(shape_ops.PadOp)
def _pad(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    data = inputs[0]
    pads = op.ints_attr("pads") or []
    axes = [axis_index(a, data.ndim) for a in op.ints_attr("axes") or range(data.ndim)]
    crop = [slice(None)] * data.ndim
    widths = [(0, 0)] * data.ndim
    for axis, begin, end in zip(axes, pads[: len(axes)], pads[len(axes) :], strict=True):
        crop[axis] = slice(max(-begin, 0), data.shape[axis] - max(-end, 0))
        widths[axis] = (max(begin, 0), max(end, 0))
    # Negative pads crop before the padding reads any values, as onnxruntime does.
    cropped = data[tuple(crop)]
    mode = _PAD_MODES[op.str_attr("mode")]
    if mode != "constant":
        return [np.pad(cropped, widths, mode=mode)]
    value = np.asarray(op.attr("constant_value") or 0).astype(data.dtype)
    return [np.pad(cropped, widths, mode="constant", constant_values=value)]


@kernel(shape_ops.ConcatOp)
def _concat(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    return [np.concatenate(inputs, axis=op.int_attr("axis"))]


def _split_sizes(op: NnOperation, size: int) -> list[int]:
    split = op.ints_attr("split")
    if split:
        return split
    num_outputs = op.attr("num_outputs")
    if not isinstance(num_outputs, int):  # neither given: equal parts, one per result
        assert size % len(op.results) == 0, "Split cannot divide the axis equally"
        return [size // len(op.results)] * len(op.results)
    chunk = -(-size // num_outputs)  # ceil: the last chunk is the smaller one
    return [chunk] * (num_outputs - 1) + [size - chunk * (num_outputs - 1)]


@kernel(shape_ops.SplitOp)
def _split(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    x = inputs[0]
    axis = axis_index(op.int_attr("axis"), x.ndim)
    boundaries = np.cumsum(_split_sizes(op, x.shape[axis]))[:-1]
    return [part.copy() for part in np.split(x, boundaries, axis=axis)]


def first_out_of_range(
    indices: np.ndarray, dims: Sequence[int], axes: Sequence[int]
) -> tuple[int, int] | None:
    """(value, axis) of the first index, in row-major order, outside [-size, size) of its
    axis, or None. One axis checks every index against it; several check indices[..., k]
    against axes[k] (GatherND, ScatterND)."""
    values = indices.astype(np.int64)
    if len(axes) == 1:
        axis_of = np.full(values.shape, axes[0], np.int64)
    else:
        axis_of = np.broadcast_to(np.asarray(axes, np.int64), values.shape)
    sizes = np.asarray(dims, np.int64)[axis_of]
    bad = np.flatnonzero((values < -sizes) | (values >= sizes))
    if not bad.size:
        return None
    return int(values.reshape(-1)[bad[0]]), int(axis_of.reshape(-1)[bad[0]])


def _wrapped_indices(
    op: NnOperation, indices: np.ndarray, dims: Sequence[int], axes: Sequence[int]
) -> np.ndarray:
    """`indices` with negative ones counted from the end of their axis; one out of range
    raises `IndexOutOfRangeError`, as onnxruntime fails the run."""
    bad = first_out_of_range(indices, dims, axes)
    if bad is not None:
        value, axis = bad
        raise IndexOutOfRangeError(node_name(op), op.ONNX_TYPE, value, axis, dims[axis])
    values = indices.astype(np.int64)
    if len(axes) == 1:
        sizes = np.int64(dims[axes[0]])
    else:
        sizes = np.asarray([dims[a] for a in axes], np.int64)
    return np.where(values < 0, values + sizes, values)


@kernel(shape_ops.GatherOp)
def _gather(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    data, indices = inputs
    axis = axis_index(op.int_attr("axis"), data.ndim)
    indices = _wrapped_indices(op, indices, data.shape, [axis])
    return [np.take(data, indices, axis=axis)]


@kernel(shape_ops.GatherElementsOp)
def _gather_elements(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    data, indices = inputs
    axis = axis_index(op.int_attr("axis"), data.ndim)
    indices = _wrapped_indices(op, indices, data.shape, [axis])
    # the other axes read the first indices.shape entries (numpy would broadcast instead)
    window = tuple(
        slice(None) if a == axis else slice(size) for a, size in enumerate(indices.shape)
    )
    return [np.take_along_axis(data[window], indices, axis=axis)]


@kernel(shape_ops.GatherNDOp)
def _gather_nd(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    data, indices = inputs
    batch = op.int_attr("batch_dims")
    depth = indices.shape[-1]
    indices = _wrapped_indices(op, indices, data.shape, range(batch, batch + depth))
    result = np.empty((*indices.shape[:-1], *data.shape[batch + depth :]), data.dtype)
    for position in np.ndindex(*indices.shape[:-1]):
        picked = tuple(
            int(i) + size if i < 0 else int(i)
            for i, size in zip(indices[position], data.shape[batch:], strict=False)
        )
        result[position] = data[(*position[:batch], *picked)]
    return [result]


_SCATTER_COMBINE: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "none": lambda old, new: new,
    "add": np.add,
    "mul": np.multiply,
    "max": np.maximum,
    "min": np.minimum,
}


@kernel(shape_ops.ScatterElementsOp)
def _scatter_elements(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    data, indices, updates = inputs
    axis = axis_index(op.int_attr("axis"), data.ndim)
    combine = _SCATTER_COMBINE[op.str_attr("reduction")]
    indices = _wrapped_indices(op, indices, data.shape, [axis])
    result = data.copy()
    for position in np.ndindex(*indices.shape):  # in order: later writes win
        target = list(position)
        index = int(indices[position])
        target[axis] = index + data.shape[axis] if index < 0 else index
        result[tuple(target)] = combine(result[tuple(target)], updates[position])
    return [result]


@kernel(shape_ops.ScatterNDOp)
def _scatter_nd(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    data, indices, updates = inputs
    combine = _SCATTER_COMBINE[op.str_attr("reduction")]
    result = data.copy()
    depth = indices.shape[-1]
    indices = _wrapped_indices(op, indices, data.shape, range(depth))
    for batch in np.ndindex(*indices.shape[:-1]):
        target = tuple(
            int(i) + size if i < 0 else int(i)
            for i, size in zip(indices[batch], data.shape[:depth], strict=True)
        )
        result[target] = combine(result[target], updates[batch])
    return [result]


@kernel(shape_ops.ShapeOp)
def _shape(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    end = op.attr("end")
    # Python's slice clamps start and end exactly as ONNX does.
    dims = inputs[0].shape[op.int_attr("start") : end if isinstance(end, int) else None]
    return [np.array(dims, dtype=np.int64)]


@kernel(shape_ops.OneHotOp)
def _one_hot(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Out-of-range indices match nothing; float indices match only whole values."""
    indices, values = inputs
    depth = op.int_attr("depth")
    axis = axis_index(op.int_attr("axis"), indices.ndim + 1)
    wrapped = np.where(indices < 0, indices + depth, indices)
    positions = np.arange(depth).reshape(
        [depth if d == axis else 1 for d in range(indices.ndim + 1)]
    )
    matches = np.expand_dims(wrapped, axis) == positions
    off, on = values.reshape(-1)[:2]
    return [np.where(matches, on, off).astype(values.dtype)]
