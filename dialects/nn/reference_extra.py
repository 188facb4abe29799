"""numpy reference kernels of nn ops added for ONNX conformance: running sums and products
(CumSum, CumProd), TopK, OneHot, BitCast. They register into `reference.KERNELS` as
`reference_windows.py` does.

float16 and bfloat16 compute in float32 and round once, as the lowerings do.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from xdsl.dialects.builtin import TensorType

from . import elementwise, reduction
from . import shape as shape_ops
from .base import NnOperation, element_type_to_numpy
from .reference import kernel


def _axis(axis: int, rank: int) -> int:
    return axis + rank if axis < 0 else axis


def _compute_dtype(dtype: np.dtype[np.generic]) -> np.dtype[np.generic]:
    """float16 and bfloat16 compute in float32."""
    if dtype == np.float16 or dtype.name == "bfloat16":
        return np.dtype(np.float32)
    return dtype


@kernel(reduction.CumSumOp, reduction.CumProdOp)
def _cumulative(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    x = inputs[0]
    axis = _axis(op.int_attr("axis"), x.ndim)
    compute = _compute_dtype(x.dtype)
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
    axis = _axis(op.int_attr("axis"), x.ndim)
    (k,) = op.ints_attr("k") or [0]
    largest = bool(op.int_attr("largest"))
    position = np.indices(x.shape)[axis]
    order = np.lexsort((-position if largest else position, x), axis=axis)
    if largest:
        order = np.flip(order, axis)
    indices = np.take(order, np.arange(k), axis=axis)
    return [np.take_along_axis(x, indices, axis=axis), indices.astype(np.int64)]


@kernel(shape_ops.OneHotOp)
def _one_hot(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Out-of-range indices match nothing; float indices match only whole values."""
    indices, values = inputs
    depth = op.int_attr("depth")
    axis = _axis(op.int_attr("axis"), indices.ndim + 1)
    wrapped = np.where(indices < 0, indices + depth, indices)
    positions = np.arange(depth).reshape(
        [depth if d == axis else 1 for d in range(indices.ndim + 1)]
    )
    matches = np.expand_dims(wrapped, axis) == positions
    off, on = values.reshape(-1)[:2]
    return [np.where(matches, on, off).astype(values.dtype)]


@kernel(elementwise.BitCastOp)
def _bit_cast(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """numpy's view (little endian, as ONNX asks); `evaluate` casts to the result's dtype."""
    result_type = op.results[0].type
    assert isinstance(result_type, TensorType)
    return [np.ascontiguousarray(inputs[0]).view(element_type_to_numpy(result_type.element_type))]
