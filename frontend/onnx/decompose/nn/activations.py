"""ONNX activations and elementwise functions as other nn ops.

Clip       Clip, or Min(Max(x, min), max) with a bound known only at run time
Hardmax    Equal(iota along axis, ArgMax(x)) as x's type
PRelu      Where(x < 0, slope * x, x)
Selu       gamma * x above 0, gamma * (alpha * exp(x) - alpha) elsewhere
Shrink     x + bias below -lambd, x - bias above lambd, 0 between
Softplus   log(exp(x) + 1)
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper

from ...emitter import Emitter, NodeError, numeric_attributes
from ...registry import decomposition


@decomposition("Clip", since=1)
def clip(node: onnx.NodeProto, emitter: Emitter) -> None:
    """Clip, or with a bound known only at run time, Min(Max(x, min), max): max wins where
    min > max and NaN propagates, as in Clip."""
    legacy: dict[str, object] = {}  # before opset 11 the bounds were attributes
    for attribute in node.attribute:
        if attribute.name not in ("min", "max") or attribute.type != onnx.AttributeProto.FLOAT:
            raise NodeError(f"attribute '{attribute.name}' not supported")
        legacy[attribute.name] = attribute.f
    bounds = [*node.input[1:], "", ""][:2]
    if all(not name or emitter.value(name) is not None for name in bounds):
        emitter.emit("Clip", list(node.input), legacy, output=node.output[0])
        return
    low, high = bounds
    value = node.input[0]
    if low:
        value = emitter.emit("Max", [value, low], output="" if high else node.output[0])
    if high:
        emitter.emit("Min", [value, high], output=node.output[0])


@decomposition("Hardmax", since=1)
def hardmax(node: onnx.NodeProto, emitter: Emitter) -> None:
    """Equal(iota along axis, ArgMax(x, axis, keepdims)) as x's type: 1 at the first
    maximum."""
    if emitter.opset < 13:
        raise NodeError("Hardmax before opset 13 (2-d flattening) is not supported")
    x = node.input[0]
    dims = emitter.shape(x)
    axis = next((a.i for a in node.attribute if a.name == "axis"), -1)
    axis = axis + len(dims) if axis < 0 else axis
    iota_dims = [1] * len(dims)
    iota_dims[axis] = dims[axis]
    iota = emitter.constant(np.arange(dims[axis], dtype=np.int64).reshape(iota_dims))
    first = emitter.emit("ArgMax", [x], {"axis": axis, "keepdims": 1})
    one_hot = emitter.emit("Equal", [iota, first])
    to = helper.np_dtype_to_tensor_dtype(emitter.dtype(x))
    emitter.emit("Cast", [one_hot], {"to": to}, output=node.output[0])


@decomposition("PRelu", since=1)
def prelu(node: onnx.NodeProto, emitter: Emitter) -> None:
    """Where(x < 0, slope * x, x). Before opset 7 a 1-d slope is per channel (axis 1); from
    opset 7 it broadcasts as numpy's."""
    if node.attribute:
        raise NodeError(f"attribute '{node.attribute[0].name}' not supported")
    x, slope = node.input[0], node.input[1]
    rank, slope_dims = len(emitter.shape(x)), emitter.shape(slope)
    if emitter.opset < 7 and len(slope_dims) == 1 and slope_dims[0] != 1 and rank > 1:
        channels = np.array([slope_dims[0], *[1] * (rank - 2)], np.int64)
        slope = emitter.emit("Reshape", [slope, emitter.constant(channels)])
    zero = emitter.constant(np.zeros((), emitter.dtype(x)))
    negative = emitter.emit("Less", [x, zero])
    scaled = emitter.emit("Mul", [x, slope])
    emitter.emit("Where", [negative, scaled, x], output=node.output[0])


@decomposition("Selu", since=1)
def selu(node: onnx.NodeProto, emitter: Emitter) -> None:
    """gamma * x for x > 0, gamma * (alpha * exp(x) - alpha) elsewhere."""
    values = numeric_attributes(
        node, {"alpha": 1.67326319217681884765625, "gamma": 1.05070102214813232421875}
    )
    x = node.input[0]
    dtype = emitter.dtype(x)
    alpha, gamma = (emitter.constant(np.array(values[n], dtype)) for n in ("alpha", "gamma"))
    zero = emitter.constant(np.zeros((), dtype))
    negative_part = emitter.emit(
        "Sub", [emitter.emit("Mul", [alpha, emitter.emit("Exp", [x])]), alpha]
    )
    positive = emitter.emit("Greater", [x, zero])
    chosen = emitter.emit("Where", [positive, x, negative_part])
    emitter.emit("Mul", [gamma, chosen], output=node.output[0])


@decomposition("Shrink", since=9)
def shrink(node: onnx.NodeProto, emitter: Emitter) -> None:
    """x + bias below -lambd, x - bias above lambd, 0 between."""
    values = numeric_attributes(node, {"bias": 0.0, "lambd": 0.5})
    x = node.input[0]
    dtype = emitter.dtype(x)
    bias, lambd = (emitter.constant(np.array(values[n], dtype)) for n in ("bias", "lambd"))
    low = emitter.constant(np.array(-values["lambd"], dtype))
    zero = emitter.constant(np.zeros((), dtype))
    above = emitter.emit(
        "Where", [emitter.emit("Greater", [x, lambd]), emitter.emit("Sub", [x, bias]), zero]
    )
    below = emitter.emit("Less", [x, low])
    emitter.emit("Where", [below, emitter.emit("Add", [x, bias]), above], output=node.output[0])


@decomposition("Softplus", since=1)
def softplus(node: onnx.NodeProto, emitter: Emitter) -> None:
    """log(exp(x) + 1), as ONNX defines it."""
    if node.attribute:
        raise NodeError(f"attribute '{node.attribute[0].name}' not supported")
    x = node.input[0]
    one = emitter.constant(np.ones((), emitter.dtype(x)))
    shifted = emitter.emit("Add", [emitter.emit("Exp", [x]), one])
    emitter.emit("Log", [shifted], output=node.output[0])
