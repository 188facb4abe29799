"""ONNX's normalizations as other nn ops.

InstanceNormalization   (x - mean) / sqrt(variance + epsilon) * scale + B, per sample and channel
LpNormalization         x / its p-norm along axis, 0 where the norm is 0
Dropout                 inference mode: y = x, mask all true

BatchNormalization: inference mode as nn.batch_normalization; training mode (opset 14's
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

from ...emitter import Emitter, NodeError, known_value, numeric_attributes
from ...registry import decomposition

_LEGACY = {"consumed_inputs", "is_test"}
"""Attributes of old opsets that do not change inference-time results."""


@decomposition("BatchNormalization", since=1)
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


@decomposition("InstanceNormalization", since=1)
def instance_normalization(node: onnx.NodeProto, emitter: Emitter) -> None:
    """(x - mean) / sqrt(variance + epsilon) * scale + B, the moments over the spatial dims
    of each sample and channel, scale and B per channel."""
    epsilon = numeric_attributes(node, {"epsilon": 1e-5})["epsilon"]
    x, scale, bias = node.input[0], node.input[1], node.input[2]
    rank = len(emitter.shape(x))
    dtype = emitter.dtype(x)
    axes = emitter.constant(np.arange(2, rank, dtype=np.int64))
    mean = emitter.emit("ReduceMean", [x, axes], {"keepdims": 1})
    centered = emitter.emit("Sub", [x, mean])
    squares = emitter.emit("Mul", [centered, centered])
    variance = emitter.emit("ReduceMean", [squares, axes], {"keepdims": 1})
    shifted = emitter.emit("Add", [variance, emitter.constant(np.array(epsilon, dtype))])
    normalized = emitter.emit("Div", [centered, emitter.emit("Sqrt", [shifted])])
    per_channel = emitter.constant(np.array([-1, *[1] * (rank - 2)], np.int64))
    scaled = emitter.emit("Mul", [normalized, emitter.emit("Reshape", [scale, per_channel])])
    shift = emitter.emit("Reshape", [bias, per_channel])
    emitter.emit("Add", [scaled, shift], output=node.output[0])


@decomposition("LpNormalization", since=1)
def lp_normalization(node: onnx.NodeProto, emitter: Emitter) -> None:
    """x / norm along axis (the p = 1 or 2 norm, kept dims), 0 where the norm is 0, as onnx's
    reference."""
    attributes = {a.name: a.i for a in node.attribute}
    if set(attributes) - {"axis", "p"}:
        raise NodeError(f"attribute '{sorted(set(attributes) - {'axis', 'p'})[0]}' not supported")
    p, axis = attributes.get("p", 2), attributes.get("axis", -1)
    if p not in (1, 2):
        raise NodeError(f"p = {p}")
    x = node.input[0]
    axes = emitter.constant(np.array([axis], np.int64))
    magnitude = emitter.emit("Abs", [x]) if p == 1 else emitter.emit("Mul", [x, x])
    norm = emitter.emit("ReduceSum", [magnitude, axes], {"keepdims": 1})
    if p == 2:
        norm = emitter.emit("Sqrt", [norm])
    zero = emitter.constant(np.zeros((), emitter.dtype(x)))
    quotient = emitter.emit("Div", [x, norm])
    vanishing = emitter.emit("Equal", [norm, zero])
    emitter.emit("Where", [vanishing, zero, quotient], output=node.output[0])


@decomposition("Dropout", since=1)
def dropout(node: onnx.NodeProto, emitter: Emitter) -> None:
    """Inference-mode Dropout, or training mode with ratio 0: y = x, mask all true; training
    mode with a ratio (dropping at random) is not supported."""
    for attribute in node.attribute:
        if attribute.name == "is_test" and attribute.i == 0:
            raise NodeError("Dropout in training mode (is_test = 0) is not supported")
        if attribute.name not in ("seed", "ratio", "is_test"):
            raise NodeError(f"attribute '{attribute.name}' not supported")
    training = node.input[2] if len(node.input) > 2 else ""
    if training and bool(known_value(emitter, training, "training_mode").reshape(-1)[0]):
        ratio = node.input[1] if len(node.input) > 1 else ""
        if not ratio or float(known_value(emitter, ratio, "ratio").reshape(-1)[0]) != 0.0:
            raise NodeError("Dropout in training mode is not supported")
    emitter.emit("Identity", [node.input[0]], output=node.output[0])
    if len(node.output) > 1 and node.output[1]:
        emitter.bind(node.output[1], np.ones(emitter.shape(node.input[0]), np.bool_))
