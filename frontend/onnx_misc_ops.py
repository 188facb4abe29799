"""Small ONNX ops as other nn ops, following onnx's reference.

ReverseSequence   GatherElements along the time axis with index seq_len - 1 - t where
                  t < seq_len of the batch entry, else t; seq_len checked in [0, time steps]
Upsample          Resize with asymmetric coordinates (nearest: floor), the scales known
MaxUnpool         ScatterElements of X into a flat zero tensor of the inferred shape at the
                  indices, reshaped and padded at the end to output_shape (known)
TensorScatter     ScatterElements of the update into the cache along the sequence axis at
                  write_indices[b] + i (modulo the cache's length in circular mode);
                  write_indices checked non-negative, and in linear mode at most the cache's
                  length less the update's
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper

from .emitter import Emitter, NodeError, checked_attributes, known_value, numeric_attributes


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


def upsample(node: onnx.NodeProto, emitter: Emitter) -> None:
    mode, scales = "nearest", None
    for attribute in node.attribute:
        value = helper.get_attribute_value(attribute)
        if attribute.name == "mode" and isinstance(value, bytes):
            mode = value.decode()
        elif attribute.name == "scales":  # an attribute before opset 9
            scales = np.array(value, np.float32)
        else:
            raise NodeError(f"attribute '{attribute.name}' not supported")
    if mode not in ("nearest", "linear"):
        raise NodeError(f"mode '{mode}' (nearest or linear expected)")
    if scales is None:
        scales = known_value(emitter, node.input[1], "scales").astype(np.float32)
    if len(scales) != len(emitter.shape(node.input[0])) or np.any(scales < 1):
        raise NodeError(f"scales {scales.tolist()} (one at least 1 per dim expected)")
    attributes = {
        "mode": mode,
        "coordinate_transformation_mode": "asymmetric",
        "nearest_mode": "floor",
    }
    inputs = [node.input[0], "", emitter.constant(scales)]
    emitter.emit("Resize", inputs, attributes, output=node.output[0])


def max_unpool(node: onnx.NodeProto, emitter: Emitter) -> None:
    x, indices = node.input[0], node.input[1]
    dims = emitter.shape(x)
    rank = len(dims) - 2
    attributes = _ints_attributes(node, ("kernel_shape", "pads", "strides"))
    kernel = attributes.get("kernel_shape", [])
    pads = attributes.get("pads", [0] * 2 * rank)
    strides = attributes.get("strides", [1] * rank)
    if rank < 1 or len(kernel) != rank or len(pads) != 2 * rank or len(strides) != rank:
        raise NodeError("kernel_shape, pads and strides do not match X's rank")
    inferred = [
        *dims[:2],
        *[
            (dims[i + 2] - 1) * strides[i] - pads[i] - pads[i + rank] + kernel[i]
            for i in range(rank)
        ],
    ]
    wanted = inferred
    if len(node.input) > 2 and node.input[2]:
        wanted = [int(d) for d in known_value(emitter, node.input[2], "output_shape")]
    if len(wanted) != len(dims) or any(w < i for w, i in zip(wanted, inferred, strict=True)):
        raise NodeError(f"output_shape {wanted} is smaller than the inferred {inferred}")
    flat = emitter.constant(np.array([-1], np.int64))
    zeros = emitter.constant(np.zeros(int(np.prod(inferred)), emitter.dtype(x)))
    flat_indices = emitter.emit("Reshape", [indices, flat])
    updates = emitter.emit("Reshape", [x, flat])
    scattered = emitter.emit("ScatterElements", [zeros, flat_indices, updates], {"axis": 0})
    shape = emitter.constant(np.array(inferred, np.int64))
    if wanted == inferred:
        emitter.emit("Reshape", [scattered, shape], output=node.output[0])
        return
    unpooled = emitter.emit("Reshape", [scattered, shape])
    ends = [w - i for w, i in zip(wanted, inferred, strict=True)]
    padding = emitter.constant(np.array([0] * len(dims) + ends, np.int64))
    emitter.emit("Pad", [unpooled, padding], output=node.output[0])


def _ints_attributes(node: onnx.NodeProto, names: tuple[str, ...]) -> dict[str, list[int]]:
    values: dict[str, list[int]] = {}
    for attribute in node.attribute:
        if attribute.name not in names or attribute.type != onnx.AttributeProto.INTS:
            raise NodeError(f"attribute '{attribute.name}' not supported")
        values[attribute.name] = list(attribute.ints)
    return values


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
