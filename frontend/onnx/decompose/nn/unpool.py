"""MaxUnpool: ScatterElements of X into a flat zero tensor of the inferred shape at the
indices, reshaped and padded at the end to output_shape (known)."""

from __future__ import annotations

import numpy as np
import onnx

from ...emitter import Emitter, NodeError, known_value
from ...registry import decomposition


@decomposition("MaxUnpool", since=9)
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
