"""QuantizeLinear and DequantizeLinear as nn elementwise ops, following onnx's reference.

    DequantizeLinear: y = ((float32) x - zero_point) * scale, as the scale's type (or
                      output_dtype)
    QuantizeLinear:   y = saturate(round_half_even(x / scale) + zero_point) as the zero
                      point's type (or output_dtype, uint8 by default)

The scale and zero point are scalars, 1-d along `axis` (per axis) or, with `block_size`, the
input's shape with the axis divided into blocks; they are reshaped (and, blocked, repeated) to
broadcast against the input. 8- and 16-bit integer types only; float8, int4 and the other
narrow types have no nn element type.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import onnx
from onnx import TensorProto, helper

from .emitter import Emitter, NodeError

QUANTIZED_TYPES: dict[int, tuple[int, int]] = {
    TensorProto.UINT8: (0, 255),
    TensorProto.INT8: (-128, 127),
    TensorProto.UINT16: (0, 65535),
    TensorProto.INT16: (-32768, 32767),
}
"""The quantized element types Terrace computes, and their saturation ranges."""


def dequantize_linear(node: onnx.NodeProto, emitter: Emitter) -> None:
    x, scale, zero_point = _inputs(node)
    attributes = _attributes(node)
    if helper.np_dtype_to_tensor_dtype(emitter.dtype(x)) not in {
        *QUANTIZED_TYPES,
        TensorProto.INT32,
    }:
        raise NodeError(f"dequantizing {emitter.dtype(x)} is not supported")
    output_type = int(attributes.get("output_dtype", 0)) or helper.np_dtype_to_tensor_dtype(
        emitter.dtype(scale)
    )
    shaped = _Broadcast(emitter, emitter.shape(x), attributes)
    value = emitter.emit("Cast", [x], {"to": TensorProto.FLOAT})
    if zero_point:
        offset = emitter.emit("Cast", [shaped(zero_point)], {"to": TensorProto.FLOAT})
        value = emitter.emit("Sub", [value, offset])
    factor = emitter.emit("Cast", [shaped(scale)], {"to": TensorProto.FLOAT})
    value = emitter.emit("Mul", [value, factor])
    emitter.emit("Cast", [value], {"to": output_type}, output=node.output[0])


def quantize_linear(node: onnx.NodeProto, emitter: Emitter) -> None:
    x, scale, zero_point = _inputs(node)
    attributes = _attributes(node)
    output_type = int(attributes.get("output_dtype", 0)) or TensorProto.UINT8
    if zero_point:
        output_type = helper.np_dtype_to_tensor_dtype(emitter.dtype(zero_point))
    if output_type not in QUANTIZED_TYPES:
        name = TensorProto.DataType.Name(output_type)
        raise NodeError(f"quantizing to {name} is not supported")
    precision = int(attributes.get("precision", 0))
    compute = (
        helper.tensor_dtype_to_np_dtype(precision)
        if precision
        else np.promote_types(emitter.dtype(x), emitter.dtype(scale))
    )
    compute_type = helper.np_dtype_to_tensor_dtype(compute)
    shaped = _Broadcast(emitter, emitter.shape(x), attributes)
    divisor = shaped(scale)
    if emitter.dtype(x) != compute:
        x = emitter.emit("Cast", [x], {"to": compute_type})
    if emitter.dtype(divisor) != compute:
        divisor = emitter.emit("Cast", [divisor], {"to": compute_type})
    rounded = emitter.emit("Round", [emitter.emit("Div", [x, divisor])])
    value = emitter.emit("Cast", [rounded], {"to": TensorProto.INT32})
    if zero_point:
        offset = emitter.emit("Cast", [shaped(zero_point)], {"to": TensorProto.INT32})
        value = emitter.emit("Add", [value, offset])
    low, high = QUANTIZED_TYPES[output_type]
    bounds = [emitter.constant(np.array(bound, np.int32)) for bound in (low, high)]
    value = emitter.emit("Clip", [value, *bounds])
    emitter.emit("Cast", [value], {"to": output_type}, output=node.output[0])


def _inputs(node: onnx.NodeProto) -> tuple[str, str, str]:
    names = [*node.input, "", ""]
    return names[0], names[1], names[2]


def _attributes(node: onnx.NodeProto) -> dict[str, int]:
    known = {"axis", "block_size", "output_dtype", "saturate", "precision"}
    attributes: dict[str, int] = {}
    for attribute in node.attribute:
        if attribute.name not in known or attribute.type != onnx.AttributeProto.INT:
            raise NodeError(f"attribute '{attribute.name}' not supported")
        attributes[attribute.name] = attribute.i
    return attributes


class _Broadcast:
    """Reshapes (and for blocks repeats) a scale or zero point to broadcast against x."""

    def __init__(self, emitter: Emitter, shape: tuple[int, ...], attributes: Mapping[str, int]):
        self.emitter = emitter
        self.shape = shape
        axis = attributes.get("axis", 1)
        self.axis = axis + len(shape) if axis < 0 else axis
        self.block_size = attributes.get("block_size", 0)

    def __call__(self, name: str) -> str:
        dims = self.emitter.shape(name)
        if int(np.prod(dims)) == 1:
            return self._reshape(name, [])
        if not 0 <= self.axis < len(self.shape):
            raise NodeError(f"axis {self.axis} is out of range")
        if self.block_size <= 0:
            if len(dims) != 1 or dims[0] != self.shape[self.axis]:
                raise NodeError(f"a per-axis scale of shape {list(dims)}")
            along = [1] * len(self.shape)
            along[self.axis] = dims[0]
            return self._reshape(name, along)
        return self._repeat_blocks(name, dims)

    def _repeat_blocks(self, name: str, dims: tuple[int, ...]) -> str:
        axis, block = self.axis, self.block_size
        blocks = dims[axis] if len(dims) == len(self.shape) else 0
        expected = [*self.shape[:axis], blocks, *self.shape[axis + 1 :]]
        if list(dims) != expected or blocks * block < self.shape[axis]:
            raise NodeError(f"a blocked scale of shape {list(dims)}")
        split = [*dims[: axis + 1], 1, *dims[axis + 1 :]]
        repeated = [*dims[: axis + 1], block, *dims[axis + 1 :]]
        value = self._reshape(name, split)
        value = self.emitter.emit("Expand", [value, self.emitter.constant(np.array(repeated))])
        merged = [*dims[:axis], blocks * block, *dims[axis + 1 :]]
        value = self._reshape(value, merged)
        if blocks * block == self.shape[axis]:
            return value
        ends = self.emitter.constant(np.array([self.shape[axis]]))
        start, axes = self.emitter.constant(np.array([0])), self.emitter.constant(np.array([axis]))
        return self.emitter.emit("Slice", [value, start, ends, axes])

    def _reshape(self, name: str, dims: Sequence[int]) -> str:
        shape = self.emitter.constant(np.array(dims, np.int64))
        return self.emitter.emit("Reshape", [name, shape])
