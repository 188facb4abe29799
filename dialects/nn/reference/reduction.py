"""Reference kernels of the reduction family (`dialects/nn/reduction.py`): Reduce*, ArgMax and
ArgMin, the running sums and products (CumSum, CumProd), TopK. float16 and bfloat16 compute in
float32 and round once, as the lowerings do."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from .. import reduction
from ..base import NnOperation
from .core import axis_index, compute_dtype, is_integer, kernel, widen


def _reduced_axes(op: NnOperation, data: np.ndarray) -> tuple[int, ...]:
    """The axes to reduce; () reduces nothing (numpy's meaning too)."""
    axes = op.ints_attr("axes")
    if axes:
        return tuple(axis_index(a, data.ndim) for a in axes)
    if op.int_attr("noop_with_empty_axes"):
        return ()
    return tuple(range(data.ndim))


def _keepdims(op: NnOperation) -> bool:
    return bool(op.int_attr("keepdims"))


@kernel(reduction.ReduceSumOp)
def _reduce_sum(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    data = widen(inputs[0])
    axes = _reduced_axes(op, data)
    return [np.sum(data, axis=axes, keepdims=_keepdims(op), dtype=data.dtype)]


@kernel(reduction.ReduceProdOp)
def _reduce_prod(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    data = widen(inputs[0])
    axes = _reduced_axes(op, data)
    return [np.prod(data, axis=axes, keepdims=_keepdims(op), dtype=data.dtype)]


@kernel(reduction.ReduceMeanOp)
def _reduce_mean(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    data = widen(inputs[0])
    axes = _reduced_axes(op, data)
    if not is_integer(data):
        return [np.mean(data, axis=axes, keepdims=_keepdims(op))]
    # Integer means divide the integer sum, truncating toward zero as onnxruntime does.
    total = np.sum(data, axis=axes, keepdims=_keepdims(op), dtype=data.dtype)
    count = math.prod(data.shape[a] for a in axes)
    return [np.sign(total) * (np.abs(total) // count)]


def _lowest(dtype: np.dtype[np.generic]) -> float | int | bool:
    """The identity of max: ONNX's maximum over an empty set."""
    if np.issubdtype(dtype, np.floating):
        return -np.inf
    if np.issubdtype(dtype, np.integer):
        return np.iinfo(dtype.name).min
    return False


def _highest(dtype: np.dtype[np.generic]) -> float | int | bool:
    if np.issubdtype(dtype, np.floating):
        return np.inf
    if np.issubdtype(dtype, np.integer):
        return np.iinfo(dtype.name).max
    return True


@kernel(reduction.ReduceMaxOp)
def _reduce_max(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    data = inputs[0]
    axes = _reduced_axes(op, data)
    initial = _lowest(data.dtype)
    return [np.max(data, axis=axes, keepdims=_keepdims(op), initial=initial)]


@kernel(reduction.ReduceMinOp)
def _reduce_min(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    data = inputs[0]
    axes = _reduced_axes(op, data)
    initial = _highest(data.dtype)
    return [np.min(data, axis=axes, keepdims=_keepdims(op), initial=initial)]


def _arg_reduce(op: NnOperation, data: np.ndarray, find: Callable[..., np.ndarray]) -> np.ndarray:
    axis = axis_index(op.int_attr("axis"), data.ndim)
    if op.int_attr("select_last_index"):  # the first index in the reversed axis is the last
        index = data.shape[axis] - 1 - find(np.flip(data, axis), axis=axis)
    else:
        index = find(data, axis=axis)
    return np.expand_dims(index, axis) if _keepdims(op) else index


@kernel(reduction.ArgMaxOp)
def _arg_max(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    return [_arg_reduce(op, inputs[0], np.argmax)]


@kernel(reduction.ArgMinOp)
def _arg_min(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    return [_arg_reduce(op, inputs[0], np.argmin)]


@kernel(reduction.CumSumOp, reduction.CumProdOp)
def _cumulative(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    x = inputs[0]
    axis = axis_index(op.int_attr("axis"), x.ndim)
    compute = compute_dtype(x.dtype)
    data = x.astype(compute)
    if op.int_attr("reverse"):
        data = np.flip(data, axis)
    if isinstance(op, reduction.CumSumOp):
        result = data.cumsum(axis=axis, dtype=compute)
    else:
        result = data.cumprod(axis=axis, dtype=compute)
    if op.int_attr("exclusive"):
        identity = 0 if isinstance(op, reduction.CumSumOp) else 1
        first = np.full_like(np.take(result, [0], axis=axis), identity)
        rest = np.take(result, np.arange(x.shape[axis] - 1), axis=axis)
        result = np.concatenate([first, rest], axis=axis)
    if op.int_attr("reverse"):
        result = np.flip(result, axis)
    return [result.astype(x.dtype)]


@kernel(reduction.TopKOp)
def _top_k(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """A stable sort on (value, index), as onnx's reference: NaN sorts last ascending, so
    first when largest; equal values keep the lower index first."""
    x = inputs[0]
    axis = axis_index(op.int_attr("axis"), x.ndim)
    (k,) = op.ints_attr("k") or [0]
    largest = bool(op.int_attr("largest"))
    position = np.indices(x.shape)[axis]
    order = np.lexsort((-position if largest else position, x), axis=axis)
    if largest:
        order = np.flip(order, axis)
    indices = np.take(order, np.arange(k), axis=axis)
    return [np.take_along_axis(x, indices, axis=axis), indices.astype(np.int64)]
