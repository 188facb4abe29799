"""QuantizeLinear and DequantizeLinear as nn elementwise ops, following onnx's reference.

    DequantizeLinear: y = ((float32) x - zero_point) * scale, as the scale's type (or
                      output_dtype)
    QuantizeLinear:   y = saturate(round_half_even(x / scale) + zero_point) as the zero
                      point's type (or output_dtype, uint8 by default)

The scale and zero point are scalars, 1-d along `axis` (per axis) or, with `block_size`, the
input's shape with the axis divided into blocks; they are reshaped (and, blocked, repeated) to
broadcast against the input. Low-precision types (onnx_lowprecision.py) follow onnx's
reference too: a 4- or 2-bit integer as the integers, its bytes made at the end; float8 is
Cast(x / scale) (saturating as `saturate` says) and ignores the zero point, float4e2m1 is
Cast(x / scale + zero_point); dequantizing decodes x, and subtracts the zero point of an
integer type only.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import onnx
from onnx import TensorProto, helper

from ...emitter import Emitter, NodeError
from ...lowprecision import convert, decode, encode_float, encode_integer, is_low_precision
from ...registry import decomposition
from ..builder import Ops

QUANTIZED_TYPES: dict[int, tuple[int, int]] = {
    TensorProto.UINT8: (0, 255),
    TensorProto.INT8: (-128, 127),
    TensorProto.UINT16: (0, 65535),
    TensorProto.INT16: (-32768, 32767),
    TensorProto.UINT4: (0, 15),
    TensorProto.INT4: (-8, 7),
    TensorProto.UINT2: (0, 3),
    TensorProto.INT2: (-2, 1),
}
"""The quantized integer types Terrace computes, and their saturation ranges."""

NARROW_INTEGER_TYPES = {TensorProto.UINT4, TensorProto.INT4, TensorProto.UINT2, TensorProto.INT2}
"""The quantized integer types held as bytes (onnx_lowprecision.py)."""

FLOAT_QUANTIZED_TYPES = {
    TensorProto.FLOAT8E4M3FN,
    TensorProto.FLOAT8E4M3FNUZ,
    TensorProto.FLOAT8E5M2,
    TensorProto.FLOAT8E5M2FNUZ,
    TensorProto.FLOAT4E2M1,
}


@decomposition("DequantizeLinear", since=10)
def dequantize_linear(node: onnx.NodeProto, emitter: Emitter) -> None:
    x, scale, zero_point = _inputs(node)
    attributes = _attributes(node)
    x_type = helper.np_dtype_to_tensor_dtype(emitter.dtype(x))
    if x_type not in {*QUANTIZED_TYPES, *FLOAT_QUANTIZED_TYPES, TensorProto.INT32}:
        raise NodeError(f"dequantizing {emitter.dtype(x)} is not supported")
    output_type = int(attributes.get("output_dtype", 0)) or helper.np_dtype_to_tensor_dtype(
        emitter.dtype(scale)
    )
    ops = Ops(emitter)
    shaped = _Broadcast(ops, emitter.shape(x), attributes)
    if x_type in FLOAT_QUANTIZED_TYPES:
        zero_point = ""  # onnx's reference ignores it (it must be zero)
    if zero_point and is_low_precision(emitter.dtype(zero_point)):
        zero_point = _converted(emitter, zero_point, TensorProto.FLOAT)
    if is_low_precision(emitter.dtype(x)):
        value = decode(emitter, x, TensorProto.FLOAT)
    else:
        value = ops.cast(x, np.float32)
    if zero_point:
        value = ops.emit("Sub", [value, ops.cast(shaped(zero_point), np.float32)])
    value = ops.emit("Mul", [value, ops.cast(shaped(scale), np.float32)])
    ops.emit("Cast", [value], {"to": output_type}, output=node.output[0])


@decomposition("QuantizeLinear", since=10)
def quantize_linear(node: onnx.NodeProto, emitter: Emitter) -> None:
    x, scale, zero_point = _inputs(node)
    attributes = _attributes(node)
    output_type = int(attributes.get("output_dtype", 0)) or TensorProto.UINT8
    if zero_point:
        output_type = helper.np_dtype_to_tensor_dtype(emitter.dtype(zero_point))
    if output_type not in {*QUANTIZED_TYPES, *FLOAT_QUANTIZED_TYPES}:
        name = TensorProto.DataType.Name(output_type)
        raise NodeError(f"quantizing to {name} is not supported")
    precision = int(attributes.get("precision", 0))
    compute = (
        helper.tensor_dtype_to_np_dtype(precision)
        if precision
        else np.promote_types(emitter.dtype(x), emitter.dtype(scale))
    )
    ops = Ops(emitter, np.dtype(np.int32))
    shaped = _Broadcast(ops, emitter.shape(x), attributes)
    scaled = ops.emit("Div", [ops.cast(x, compute), ops.cast(shaped(scale), compute)])
    if output_type in FLOAT_QUANTIZED_TYPES:
        _quantize_float(emitter, scaled, shaped, zero_point, output_type, node)
        return
    value = ops.cast(ops.emit("Round", [scaled]), np.int32)
    if zero_point and is_low_precision(emitter.dtype(zero_point)):
        zero_point = _converted(emitter, zero_point, TensorProto.INT32)
    if zero_point:
        value = ops.emit("Add", [value, ops.cast(shaped(zero_point), np.int32)])
    low, high = QUANTIZED_TYPES[output_type]
    value = ops.emit("Clip", [value, ops.const(low), ops.const(high)])  # int32 bounds
    if output_type not in NARROW_INTEGER_TYPES:
        ops.emit("Cast", [value], {"to": output_type}, output=node.output[0])
        return
    encode_integer(emitter, value, output_type, node.output[0])


def _quantize_float(
    emitter: Emitter,
    scaled: str,
    shaped: _Broadcast,
    zero_point: str,
    output_type: int,
    node: onnx.NodeProto,
) -> None:
    """x / scale to float8, saturating as `saturate` says; float4e2m1 adds its zero point."""
    if output_type == TensorProto.FLOAT4E2M1 and zero_point:
        compute = helper.np_dtype_to_tensor_dtype(emitter.dtype(scaled))
        offset = shaped(_converted(emitter, zero_point, compute))
        scaled = shaped.ops.emit("Add", [scaled, offset])
    settings = (int(_attributes(node).get("saturate", 1)), "up")
    encode_float(emitter, scaled, output_type, settings, node.output[0])
    emitter.set_storage_dtype(node.output[0], helper.tensor_dtype_to_np_dtype(output_type))


def _converted(emitter: Emitter, name: str, to: int) -> str:
    """A low-precision zero point as the type `to`."""
    return convert(emitter, name, to, {})


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

    def __init__(self, ops: Ops, shape: tuple[int, ...], attributes: Mapping[str, int]):
        self.ops = ops
        self.shape = shape
        axis = attributes.get("axis", 1)
        self.axis = axis + len(shape) if axis < 0 else axis
        self.block_size = attributes.get("block_size", 0)

    def __call__(self, name: str) -> str:
        dims = self.ops.emitter.shape(name)
        if int(np.prod(dims)) == 1:
            return self.ops.reshape(name, [])
        if not 0 <= self.axis < len(self.shape):
            raise NodeError(f"axis {self.axis} is out of range")
        if self.block_size <= 0:
            if len(dims) != 1 or dims[0] != self.shape[self.axis]:
                raise NodeError(f"a per-axis scale of shape {list(dims)}")
            along = [1] * len(self.shape)
            along[self.axis] = dims[0]
            return self.ops.reshape(name, along)
        return self._repeat_blocks(name, dims)

    def _repeat_blocks(self, name: str, dims: tuple[int, ...]) -> str:
        axis, block = self.axis, self.block_size
        blocks = dims[axis] if len(dims) == len(self.shape) else 0
        expected = [*self.shape[:axis], blocks, *self.shape[axis + 1 :]]
        if list(dims) != expected or blocks * block < self.shape[axis]:
            raise NodeError(f"a blocked scale of shape {list(dims)}")
        split = [*dims[: axis + 1], 1, *dims[axis + 1 :]]
        repeated = [*dims[: axis + 1], block, *dims[axis + 1 :]]
        value = self.ops.reshape(name, split)
        value = self.ops.emit("Expand", [value, self.ops.ints(repeated)])
        merged = [*dims[:axis], blocks * block, *dims[axis + 1 :]]
        value = self.ops.reshape(value, merged)
        if blocks * block == self.shape[axis]:
            return value
        return self.ops.slice(value, 0, self.shape[axis], axis)
