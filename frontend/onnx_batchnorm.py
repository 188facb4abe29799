"""BatchNormalization: inference mode as nn.batch_normalization; training mode (opset 14's
training_mode = 1) as reductions and elementwise ops, following onnx's reference:

    mean, var = the mean and (population) variance of x over all axes but 1
    Y = scale * (x - mean) / sqrt(var + epsilon) + B
    running_mean = input_mean * momentum + mean * (1 - momentum)
    running_var  = input_var * momentum + var * (1 - momentum)
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper

from .emitter import Emitter, NodeError

_LEGACY = {"consumed_inputs", "is_test"}
"""Attributes of old opsets that do not change inference-time results."""


def batch_normalization(node: onnx.NodeProto, emitter: Emitter) -> None:
    values: dict[str, float] = {}
    training = 0
    for attribute in node.attribute:
        value = helper.get_attribute_value(attribute)
        if attribute.name in ("epsilon", "momentum") and isinstance(value, float):
            values[attribute.name] = value
        elif attribute.name == "training_mode" and isinstance(value, int):
            training = value
        elif attribute.name == "spatial" and value == 1 or attribute.name in _LEGACY:
            continue
        else:
            raise NodeError(f"attribute '{attribute.name}' not supported")
    if not training:
        emitter.emit("BatchNormalization", node.input[:5], values, output=node.output[0])
        return
    _training(node, emitter, values.get("epsilon", 1e-5), values.get("momentum", 0.9))


def _training(node: onnx.NodeProto, emitter: Emitter, epsilon: float, momentum: float) -> None:
    x, scale, bias, input_mean, input_var = node.input[:5]
    dims = emitter.shape(x)
    dtype = emitter.dtype(x)
    if len(dims) < 2:
        raise NodeError(f"X of rank {len(dims)} (at least 2 expected)")
    axes = emitter.constant(np.array([0, *range(2, len(dims))], np.int64))
    mean = emitter.emit("ReduceMean", [x, axes], {"keepdims": 1})
    centered = emitter.emit("Sub", [x, mean])
    squares = emitter.emit("Mul", [centered, centered])
    variance = emitter.emit("ReduceMean", [squares, axes], {"keepdims": 1})
    per_channel = emitter.constant(np.array([-1, *[1] * (len(dims) - 2)], np.int64))
    scaled = emitter.emit("Mul", [emitter.emit("Reshape", [scale, per_channel]), centered])
    shifted = emitter.emit("Add", [variance, emitter.constant(np.array(epsilon, dtype))])
    normalized = emitter.emit("Div", [scaled, emitter.emit("Sqrt", [shifted])])
    shift = emitter.emit("Reshape", [bias, per_channel])
    emitter.emit("Add", [normalized, shift], output=node.output[0])
    outputs = [*node.output[1:3], "", ""][:2]
    flat = emitter.constant(np.array([-1], np.int64))
    kept = emitter.constant(np.array(momentum, dtype))
    taken = emitter.constant(np.array(1 - momentum, dtype))
    statistics = zip(outputs, (input_mean, input_var), (mean, variance), strict=True)
    for output, running, batch in statistics:
        if not output:
            continue
        old = emitter.emit("Mul", [running, kept])
        new = emitter.emit("Mul", [emitter.emit("Reshape", [batch, flat]), taken])
        emitter.emit("Add", [old, new], output=output)
