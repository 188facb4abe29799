"""ONNX attributes and constant nodes as Python values: the attributes an nn op takes (types
checked against its schema), constant inputs as static attribute values, the values of
Constant, ConstantOfShape and Shape nodes, and which constants print inline."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import onnx
from onnx import helper

from ...dialects.nn import ONNX_OPS
from ...dialects.nn.base import Kind
from ...errors import ModelImportError
from .emitter import NodeError
from .graph import check_shape, tensor_to_array

INLINE_INTEGER_LIMIT = 16
"""Integer constants (shapes, indices) up to this many elements are printed inline; float
constants only when scalar. Everything else is a named weight or a splat."""


ATTRIBUTE_TYPES = {
    Kind.INT: onnx.AttributeProto.INT,
    Kind.FLOAT: onnx.AttributeProto.FLOAT,
    Kind.SCALAR: onnx.AttributeProto.FLOAT,
    Kind.STRING: onnx.AttributeProto.STRING,
    Kind.INTS: onnx.AttributeProto.INTS,
    Kind.FLOATS: onnx.AttributeProto.FLOATS,
    Kind.TENSOR: onnx.AttributeProto.TENSOR,
}
"""The ONNX attribute type that carries each kind of nn attribute."""


def canonical_attribute_name(op_type: str, name: str, opset: int) -> str:
    if op_type == "Pad" and opset < 11:
        return {"paddings": "pads", "value": "constant_value"}.get(name, name)
    return name


def node_attributes(node: onnx.NodeProto, opset: int) -> dict[str, object]:
    op_class = ONNX_OPS[node.op_type]
    attributes: dict[str, object] = {}
    for attribute in node.attribute:
        name = canonical_attribute_name(node.op_type, attribute.name, opset)
        if name not in op_class.ATTRIBUTES:
            continue  # legacy, checked ignorable before conversion
        expected = ATTRIBUTE_TYPES[op_class.ATTRIBUTES[name].kind]
        if attribute.type != expected:
            raise NodeError(
                f"attribute '{attribute.name}' is of type {attribute_type_name(attribute.type)}, "
                f"expected {attribute_type_name(expected)}"
            )
        if name in attributes:
            raise NodeError(f"attribute '{attribute.name}' is given twice")
        value = helper.get_attribute_value(attribute)
        if isinstance(value, onnx.TensorProto):
            value = tensor_attribute(value, attribute.name)
        attributes[name] = value
    return attributes


def attribute_type_name(code: int) -> str:
    if code in onnx.AttributeProto.AttributeType.values():
        return onnx.AttributeProto.AttributeType.Name(code)
    return str(code)


def tensor_attribute(tensor: onnx.TensorProto, name: str) -> np.ndarray:
    try:
        return tensor_to_array(tensor, f"tensor attribute '{name}'")
    except ModelImportError as error:  # listed with the node's other problems
        raise NodeError(str(error)) from None


def static_value(kind: Kind, array: np.ndarray) -> object:
    if kind is Kind.INTS:
        return [int(v) for v in array.reshape(-1)]
    if kind is Kind.FLOATS:
        return [float(v) for v in array.reshape(-1)]
    if kind in (Kind.SCALAR, Kind.FLOAT):
        return float(array.reshape(-1)[0]) if array.size else None
    if kind is Kind.INT:
        return int(array.reshape(-1)[0])
    return np.asarray(array)


def constant_value(node: onnx.NodeProto) -> np.ndarray:
    """The value of a Constant node: its one attribute, a tensor or a float, int or list."""
    if len(node.attribute) != 1:
        raise NodeError(f"a Constant needs one value attribute, has {len(node.attribute)}")
    attribute = node.attribute[0]
    value = helper.get_attribute_value(attribute)
    match attribute.name:
        case "value":
            assert isinstance(value, onnx.TensorProto)
            return tensor_attribute(value, attribute.name)
        case "value_float" | "value_floats":
            return np.array(value, dtype=np.float32)
        case "value_int" | "value_ints":
            return np.array(value, dtype=np.int64)
        case _:
            raise NodeError(f"attribute '{attribute.name}' not supported")


def constant_of_shape(node: onnx.NodeProto, shape: np.ndarray | None, opset: int) -> np.ndarray:
    value = node_attributes(node, opset).get("value", np.zeros((1,), dtype=np.float32))
    assert isinstance(value, np.ndarray)
    if value.size != 1:
        raise NodeError(f"attribute 'value' has {value.size} elements, expected one")
    if shape is not None and shape.dtype != np.int64:
        raise NodeError(f"input 'shape' is {shape.dtype}, expected int64")
    dims = [] if shape is None else [int(d) for d in shape.reshape(-1)]
    try:
        check_shape(dims, "the result")
    except ModelImportError as error:
        raise NodeError(str(error)) from None
    # a broadcast view: a splat costs no memory until someone writes it
    return np.broadcast_to(value.reshape(()), dims)


def fold_shape(node: onnx.NodeProto, shape: Sequence[int]) -> np.ndarray:
    start, end = 0, len(shape)
    for attribute in node.attribute:
        if attribute.name == "start":
            start = attribute.i
        if attribute.name == "end":
            end = attribute.i
    return np.array(list(shape)[start:end] if end else list(shape)[start:], dtype=np.int64)


def is_inline(array: np.ndarray) -> bool:
    if array.size <= 1:
        return True
    integral = np.issubdtype(array.dtype, np.integer) or array.dtype == np.bool_
    return integral and array.size <= INLINE_INTEGER_LIMIT


def is_splat(array: np.ndarray) -> bool:
    if array.size == 0:
        return False
    if all(stride == 0 for stride in array.strides):
        return True
    flat = array.reshape(-1)
    return bool(np.all(flat == flat[0]))
