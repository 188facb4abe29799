"""numpy arrays <-> xDSL's `ShapedArray`s, the values that the fuzz interpreters (interpreters.py,
arith_interpreter.py, vector_interpreter.py) hold tensors as: a copy in xDSL's buffer layout, a
writable view of one, and the element types and static shapes of tensor values."""

from __future__ import annotations

from typing import Any

import numpy as np
from xdsl.dialects.builtin import (
    Float16Type,
    Float32Type,
    Float64Type,
    IndexType,
    IntegerType,
    PackableType,
    Signedness,
    TensorType,
)
from xdsl.interpreters.shaped_array import ShapedArray
from xdsl.interpreters.utils.ptr import RawPtr, TypedPtr
from xdsl.ir import Attribute, SSAValue


def numpy_dtype(element_type: Attribute) -> np.dtype[Any]:
    """The numpy dtype holding one element of `element_type` in an xDSL buffer (i1 is a byte)."""
    if isinstance(element_type, Float32Type):
        return np.dtype(np.float32)
    if isinstance(element_type, Float64Type):
        return np.dtype(np.float64)
    if isinstance(element_type, Float16Type):
        return np.dtype(np.float16)
    if isinstance(element_type, IndexType):
        return np.dtype(np.int64)
    if isinstance(element_type, IntegerType):
        width = max(8, element_type.width.data)
        unsigned = element_type.signedness.data == Signedness.UNSIGNED
        return np.dtype(f"{'u' if unsigned else 'i'}{width // 8}")
    raise NotImplementedError(f"no numpy dtype for {element_type}")


def to_shaped(array: np.ndarray, element_type: Attribute) -> ShapedArray[Any]:
    """A new ShapedArray holding a copy of `array`, with xDSL's buffer layout."""
    assert isinstance(element_type, PackableType)
    data = np.ascontiguousarray(array, dtype=numpy_dtype(element_type))
    pointer = TypedPtr[Any](RawPtr(bytearray(data.tobytes())), xtype=element_type)
    return ShapedArray(pointer, list(array.shape))


def view(shaped: ShapedArray[Any]) -> np.ndarray:
    """A writable numpy view of a ShapedArray's buffer."""
    pointer = shaped.data_ptr
    dtype = numpy_dtype(pointer.xtype)
    flat = np.frombuffer(pointer.raw.memory, dtype, shaped.size, pointer.raw.offset)
    return flat.reshape(shaped.shape)


def from_shaped(shaped: ShapedArray[Any], result_type: Attribute) -> np.ndarray:
    """A numpy copy of a ShapedArray; i1 becomes bool."""
    array = view(shaped).copy()
    assert isinstance(result_type, TensorType)
    element_type: Attribute = result_type.element_type
    if isinstance(element_type, IntegerType) and element_type.width.data == 1:
        return array != 0
    return array


def element_type_of(value: SSAValue) -> Attribute:
    value_type = value.type
    assert isinstance(value_type, TensorType)
    return value_type.element_type  # pyright: ignore[reportUnknownMemberType]


def new_like(array: np.ndarray, value: SSAValue) -> ShapedArray[Any]:
    return to_shaped(array, element_type_of(value))


def static_shape(value: SSAValue) -> list[int]:
    value_type = value.type
    assert isinstance(value_type, TensorType)
    return list(value_type.get_shape())
