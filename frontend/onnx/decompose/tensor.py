"""ONNX's tensor ops that nn has no op of, as other nn ops, following onnx's reference.

CastLike          Cast(x) to like's element type (low-precision ones: lowprecision.py)
Trilu             Where(mask, x, 0), the triangle mask of the last two dims
Scatter           ScatterElements (Scatter is its name before opset 11)
ReverseSequence   GatherElements along the time axis with index seq_len - 1 - t where
                  t < seq_len of the batch entry, else t; seq_len checked in [0, time steps]
TensorScatter     ScatterElements of the update into the cache along the sequence axis at
                  write_indices[b] + i (modulo the cache's length in circular mode);
                  write_indices checked non-negative, and in linear mode at most the cache's
                  length less the update's
"""

from __future__ import annotations

import ml_dtypes
import numpy as np
import onnx
from onnx import helper

from ..emitter import Emitter, NodeError, checked_attributes, numeric_attributes
from ..lowprecision import convert, is_low_precision
from ..registry import decomposition


@decomposition("ReverseSequence", since=10)
def reverse_sequence(node: onnx.NodeProto, emitter: Emitter) -> None:
    attributes = numeric_attributes(node, {"time_axis": 0, "batch_axis": 1})
    x, lengths = node.input[0], node.input[1]
    dims = emitter.shape(x)
    time, batch = attributes["time_axis"], attributes["batch_axis"]
    if len(dims) < 2 or {time, batch} != {0, 1}:
        raise NodeError(f"time_axis {time} and batch_axis {batch} (0 and 1 expected)")
    along_time = [1] * len(dims)
    along_time[time] = dims[time]
    along_batch = [1] * len(dims)
    along_batch[batch] = dims[batch]
    steps = emitter.constant(np.arange(dims[time], dtype=np.int64).reshape(along_time))
    lengths = emitter.emit("Cast", [lengths], {"to": onnx.TensorProto.INT64})
    # onnxruntime fails the run on a length outside [0, time steps]; the gather would not
    lengths = emitter.check_range(lengths, "ReverseSequence", "sequence_lens", 0, dims[time])
    lengths = emitter.emit("Reshape", [lengths, emitter.constant(np.array(along_batch))])
    one = emitter.constant(np.array(1, np.int64))
    reversed_ = emitter.emit("Sub", [emitter.emit("Sub", [lengths, one]), steps])
    inside = emitter.emit("Less", [steps, lengths])
    index = emitter.emit("Where", [inside, reversed_, steps])
    index = emitter.emit("Expand", [index, emitter.constant(np.array(dims, np.int64))])
    emitter.emit("GatherElements", [x, index], {"axis": time}, output=node.output[0])


@decomposition("TensorScatter", since=24)
def tensor_scatter(node: onnx.NodeProto, emitter: Emitter) -> None:
    attributes = checked_attributes(node, {"mode", "axis"})
    mode = attributes.get("mode", b"linear")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    if mode not in ("linear", "circular"):
        raise NodeError(f"mode '{mode}' is not supported")
    cache, update = node.input[0], node.input[1]
    dims, update_dims = emitter.shape(cache), emitter.shape(update)
    rank = len(dims)
    axis = int(attributes.get("axis", -2))  # pyright: ignore[reportArgumentType]
    axis = axis + rank if axis < 0 else axis
    if not 0 < axis < rank:
        raise NodeError(f"axis {axis} (the sequence axis follows the batch axis)")
    along_axis = [1] * rank
    along_axis[axis] = update_dims[axis]
    steps = emitter.constant(np.arange(update_dims[axis], dtype=np.int64).reshape(along_axis))
    along_batch = [dims[0]] + [1] * (rank - 1)
    writes = node.input[2] if len(node.input) > 2 else ""
    if writes:
        start = emitter.emit("Cast", [writes], {"to": onnx.TensorProto.INT64})
        # as onnxruntime: no negative write index, and in linear mode room for the update
        last = dims[axis] - update_dims[axis] if mode == "linear" else None
        start = emitter.check_range(start, "TensorScatter", "write_indices", 0, last)
        start = emitter.emit("Reshape", [start, emitter.constant(np.array(along_batch))])
        index = emitter.emit("Add", [start, steps])
    else:
        index = steps
    if mode == "circular":
        index = emitter.emit("Mod", [index, emitter.constant(np.array(dims[axis], np.int64))])
    index = emitter.emit("Expand", [index, emitter.constant(np.array(update_dims, np.int64))])
    emitter.emit("ScatterElements", [cache, index, update], {"axis": axis}, output=node.output[0])


@decomposition("CastLike", since=15)
def cast_like(node: onnx.NodeProto, emitter: Emitter) -> None:
    """A Cast; of a constant (the -inf that Attention's body casts like its input), a
    constant, so that ops taking constant inputs (Pad's value) still get one."""
    like = emitter.dtype(node.input[1])
    to = helper.np_dtype_to_tensor_dtype(like)
    settings: dict[str, object] = {}
    for attribute in node.attribute:
        if attribute.name != "saturate" or attribute.type != onnx.AttributeProto.INT:
            raise NodeError(f"attribute '{attribute.name}' not supported")
        settings["saturate"] = attribute.i
    if is_low_precision(like) or is_low_precision(emitter.dtype(node.input[0])):
        convert(emitter, node.input[0], to, settings, node.output[0])
        return
    attributes = {"to": to, **settings}
    known = emitter.value(node.input[0])
    floating = _is_float(like)
    if known is not None and _is_float(known.dtype) == floating:
        # float to float and integer to integer: numpy's astype is ONNX's Cast
        emitter.bind(node.output[0], known.astype(like))
        return
    emitter.emit("Cast", [node.input[0]], attributes, output=node.output[0])


@decomposition("Trilu", since=14)
def trilu(node: onnx.NodeProto, emitter: Emitter) -> None:
    """column - row >= k keeps the upper part, <= k the lower. A constant k makes the mask a
    constant; a run-time k is compared with the constant column - row offsets."""
    x = node.input[0]
    upper = bool(next((a.i for a in node.attribute if a.name == "upper"), 1))
    rows, columns = emitter.shape(x)[-2:]
    offsets = np.arange(columns)[None, :] - np.arange(rows)[:, None]
    k = node.input[1] if len(node.input) > 1 else ""
    known = emitter.value(k) if k else np.zeros(1, np.int64)
    if known is not None:
        bound = int(known.reshape(-1)[0])
        mask = emitter.constant(offsets >= bound if upper else offsets <= bound)
    else:
        compare = "GreaterOrEqual" if upper else "LessOrEqual"
        mask = emitter.emit(compare, [emitter.constant(offsets.astype(np.int64)), k])
    zero = emitter.constant(np.zeros((), emitter.dtype(x)))
    emitter.emit("Where", [mask, x, zero], output=node.output[0])


@decomposition("Scatter", since=9)
def scatter(node: onnx.NodeProto, emitter: Emitter) -> None:
    """Scatter (deprecated at opset 11) is ScatterElements."""
    attributes = {a.name: a.i for a in node.attribute}
    if set(attributes) - {"axis"}:
        raise NodeError(f"attribute '{sorted(set(attributes) - {'axis'})[0]}' not supported")
    emitter.emit("ScatterElements", list(node.input), attributes, output=node.output[0])


def _is_float(dtype: np.dtype[np.generic]) -> bool:
    """numpy's floats and bfloat16 (ml_dtypes', which astype rounds to nearest even as ONNX's
    Cast does)."""
    return bool(np.issubdtype(dtype, np.floating)) or dtype == ml_dtypes.bfloat16
