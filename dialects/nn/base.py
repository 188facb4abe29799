"""The shared base of every nn op: ONNX attribute schemas, the ONNX node an op stands for, and
result-type inference through onnx's own shape inference.

An nn op has ONNX semantics at one canonical opset (`CANONICAL_OPSET`). Its attributes carry
ONNX's attribute names; inputs that ONNX takes as constant tensors (a Reshape's shape, a Slice's
starts, a Clip's bounds) are attributes here, under the ONNX input's name, so that shapes are
static in the IR. `onnx_node` rebuilds the equivalent ONNX node, which gives type inference, the
fallback reference semantics and single-op differential tests one shared definition.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ClassVar, cast

import ml_dtypes
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from xdsl.dialects.builtin import (
    AnyFloat,
    ArrayAttr,
    BFloat16Type,
    DenseArrayBase,
    DenseIntOrFPElementsAttr,
    Float16Type,
    Float32Type,
    Float64Type,
    FloatAttr,
    IntegerAttr,
    IntegerType,
    NameLoc,
    Signedness,
    StringAttr,
    TensorType,
    f64,
    i64,
)
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.irdl import IRDLOperation, traits_def
from xdsl.traits import HasCanonicalizationPatternsTrait, Pure
from xdsl.utils.exceptions import VerifyException
from xdsl.utils.hints import isa

CANONICAL_OPSET = 21
"""The ONNX opset whose semantics every nn op has."""


# ---------------------------------------------------------------------------------------------
# Element types: ONNX, numpy and xDSL spellings of one thing.

_ELEMENT_TYPES: list[tuple[int, np.dtype[np.generic], Attribute]] = [
    (TensorProto.FLOAT, np.dtype(np.float32), Float32Type()),
    (TensorProto.DOUBLE, np.dtype(np.float64), Float64Type()),
    (TensorProto.FLOAT16, np.dtype(np.float16), Float16Type()),
    (TensorProto.BFLOAT16, np.dtype(ml_dtypes.bfloat16), BFloat16Type()),
    (TensorProto.INT8, np.dtype(np.int8), IntegerType(8)),
    (TensorProto.INT16, np.dtype(np.int16), IntegerType(16)),
    (TensorProto.INT32, np.dtype(np.int32), IntegerType(32)),
    (TensorProto.INT64, np.dtype(np.int64), IntegerType(64)),
    (TensorProto.UINT8, np.dtype(np.uint8), IntegerType(8, Signedness.UNSIGNED)),
    (TensorProto.UINT16, np.dtype(np.uint16), IntegerType(16, Signedness.UNSIGNED)),
    (TensorProto.UINT32, np.dtype(np.uint32), IntegerType(32, Signedness.UNSIGNED)),
    (TensorProto.UINT64, np.dtype(np.uint64), IntegerType(64, Signedness.UNSIGNED)),
    (TensorProto.BOOL, np.dtype(np.bool_), IntegerType(1)),
]


class UnsupportedElementType(ValueError):
    """An ONNX, numpy or IR element type that nn has no spelling for."""


def element_type_from_onnx(onnx_type: int) -> Attribute:
    for code, _, attr in _ELEMENT_TYPES:
        if code == onnx_type:
            return attr
    name = TensorProto.DataType.Name(onnx_type) if onnx_type else "UNDEFINED"
    raise UnsupportedElementType(f"unsupported element type {name}")


def element_type_to_onnx(element_type: Attribute) -> int:
    for code, _, attr in _ELEMENT_TYPES:
        if attr == element_type:
            return code
    if isinstance(element_type, BFloat16Type):
        return TensorProto.BFLOAT16
    raise UnsupportedElementType(f"unsupported element type {element_type}")


def element_type_from_numpy(dtype: np.dtype[np.generic]) -> Attribute:
    for _, np_type, attr in _ELEMENT_TYPES:
        if np_type == dtype:
            return attr
    raise UnsupportedElementType(f"unsupported element type {dtype}")


def element_type_to_numpy(element_type: Attribute) -> np.dtype[np.generic]:
    for _, np_type, attr in _ELEMENT_TYPES:
        if attr == element_type:
            return np_type
    raise UnsupportedElementType(f"unsupported element type {element_type}")


def tensor_type(dtype: np.dtype[np.generic], shape: Sequence[int]) -> TensorType[Attribute]:
    return TensorType(element_type_from_numpy(np.dtype(dtype)), list(shape))


def tensor_type_of(value: SSAValue | Attribute) -> TensorType[Attribute]:
    """The tensor type of a value (or a type), which nn requires everywhere."""
    value_type = value.type if isinstance(value, SSAValue) else value
    # isinstance, not xDSL's isa with TensorType[Attribute]: any element type is an Attribute,
    # and the generic check cost a third of an import's time
    if not isinstance(value_type, TensorType):
        raise VerifyException(f"expected a tensor type, got {value_type}")
    return cast(TensorType[Attribute], value_type)


def shape_of(value: SSAValue | Attribute) -> tuple[int, ...]:
    return tuple(tensor_type_of(value).get_shape())


def numpy_dtype_of(value: SSAValue) -> np.dtype[np.generic]:
    return element_type_to_numpy(tensor_type_of(value).element_type)


# ---------------------------------------------------------------------------------------------
# Dense attributes <-> numpy.


def dense_from_numpy(array: np.ndarray) -> DenseIntOrFPElementsAttr:
    array = np.asarray(array)
    result_type = tensor_type(array.dtype, array.shape)
    if array.dtype == np.bool_:
        array = array.astype(np.int64)
    if array.dtype == ml_dtypes.bfloat16:
        array = array.astype(np.float32)  # exact; the attribute rounds nothing back
    if array.size and np.all(array.flat == array.flat[0]):
        values = [array.flat[0].item()]  # splats print as one value
    else:
        values = array.ravel().tolist()
    return DenseIntOrFPElementsAttr.from_list(result_type, values)  # pyright: ignore


def dense_to_numpy(attr: DenseIntOrFPElementsAttr) -> np.ndarray:
    attr_type = tensor_type_of(attr.get_type())
    dtype = element_type_to_numpy(attr_type.element_type)
    shape = tuple(attr_type.get_shape())
    values = np.array(attr.get_values(), dtype=dtype)
    if values.size == 1 and int(np.prod(shape)) != 1:
        return np.full(shape, values.reshape(()), dtype=dtype)
    return values.reshape(shape)


# ---------------------------------------------------------------------------------------------
# ONNX attribute schemas.


class Kind(enum.Enum):
    """The kinds of ONNX attribute (and of constant inputs that nn keeps as attributes)."""

    INT = "int"
    FLOAT = "float"
    STRING = "string"
    INTS = "ints"
    FLOATS = "floats"
    TENSOR = "tensor"
    SCALAR = "scalar"  # a float kept as an attribute, given to ONNX as a tensor of the data type


@dataclass(frozen=True)
class Attr:
    """One attribute of an nn op: its kind and ONNX's default (None when ONNX has none)."""

    kind: Kind
    default: object = None
    required: bool = False


def attribute_from_python(kind: Kind, value: object) -> Attribute:
    match kind:
        case Kind.INT:
            assert isinstance(value, int | np.integer)
            return IntegerAttr(int(value), i64)
        case Kind.FLOAT | Kind.SCALAR:
            assert isinstance(value, float | int | np.floating | np.integer)
            return FloatAttr(float(value), f64)
        case Kind.STRING:
            return StringAttr(value.decode() if isinstance(value, bytes) else str(value))
        case Kind.INTS:
            return DenseArrayBase.from_list(i64, [int(v) for v in _sequence(value)])
        case Kind.FLOATS:
            return ArrayAttr([FloatAttr(float(v), f64) for v in _sequence(value)])
        case Kind.TENSOR:
            assert isinstance(value, np.ndarray)
            return dense_from_numpy(value)


def _sequence(value: object) -> list[float | int]:
    if isinstance(value, np.ndarray):
        return cast(list[float | int], value.reshape(-1).tolist())
    assert isinstance(value, Sequence)
    return [
        float(v) if isinstance(v, float) else int(cast(int, v))
        for v in cast(Sequence[object], value)
    ]


def attribute_to_python(kind: Kind, attr: Attribute) -> object:
    match kind:
        case Kind.INT:
            assert isinstance(attr, IntegerAttr)
            return int(attr.value.data)
        case Kind.FLOAT | Kind.SCALAR:
            assert isinstance(attr, FloatAttr)
            return float(attr.value.data)
        case Kind.STRING:
            assert isinstance(attr, StringAttr)
            return attr.data
        case Kind.INTS:
            assert isinstance(attr, DenseArrayBase)
            return [int(v) for v in attr.get_values()]
        case Kind.FLOATS:
            assert isa(attr, ArrayAttr[FloatAttr])
            return [float(v.value.data) for v in attr.data]
        case Kind.TENSOR:
            assert isinstance(attr, DenseIntOrFPElementsAttr)
            return dense_to_numpy(attr)


def _attribute_matches(kind: Kind, attr: Attribute) -> bool:
    match kind:
        case Kind.INT:
            return isinstance(attr, IntegerAttr)
        case Kind.FLOAT | Kind.SCALAR:
            return isinstance(attr, FloatAttr)
        case Kind.STRING:
            return isinstance(attr, StringAttr)
        case Kind.INTS:
            return isinstance(attr, DenseArrayBase)
        case Kind.FLOATS:
            return isa(attr, ArrayAttr[FloatAttr])
        case Kind.TENSOR:
            return isinstance(attr, DenseIntOrFPElementsAttr)


# ---------------------------------------------------------------------------------------------
# The base class.


class NnCanonicalizationTrait(HasCanonicalizationPatternsTrait):
    """Attaches nn's canonicalization patterns (canonicalization.py, imported locally: its
    patterns import the ops)."""

    @classmethod
    def get_canonicalization_patterns(cls):
        from .canonicalization import canonicalization_patterns

        return canonicalization_patterns()


def node_name(op: Operation) -> str:
    """The name of the ONNX node an op comes from: its location's (the importer sets it), or
    "" for an op without a name."""
    location = op.location
    if isinstance(location, NameLoc):
        return location.desc.data
    return ""


class NnOperation(IRDLOperation):
    """An op with ONNX semantics at `CANONICAL_OPSET`.

    Subclasses set `ONNX_TYPE`, their operands and results, `ATTRIBUTES` (the schema of ONNX
    attributes they accept) and `STATIC_INPUTS` (ONNX input positions held as attributes).
    """

    ONNX_TYPE: ClassVar[str] = ""
    ATTRIBUTES: ClassVar[Mapping[str, Attr]] = {}
    STATIC_INPUTS: ClassVar[Mapping[int, str]] = {}

    assembly_format = "operands attr-dict `:` functional-type(operands, results)"
    traits = traits_def(Pure(), NnCanonicalizationTrait())

    # -- attribute access ------------------------------------------------------------------

    def attr(self, name: str) -> object:
        """The attribute's Python value, or ONNX's default when it is absent."""
        spec = self.ATTRIBUTES[name]
        if name in self.attributes:
            return attribute_to_python(spec.kind, self.attributes[name])
        return spec.default

    def int_attr(self, name: str) -> int:
        value = self.attr(name)
        assert isinstance(value, int), f"{self.name}: attribute {name} is not set"
        return value

    def float_attr(self, name: str) -> float:
        value = self.attr(name)
        assert isinstance(value, float | int), f"{self.name}: attribute {name} is not set"
        return float(value)

    def str_attr(self, name: str) -> str:
        value = self.attr(name)
        assert isinstance(value, str), f"{self.name}: attribute {name} is not set"
        return value

    def ints_attr(self, name: str) -> list[int] | None:
        value = self.attr(name)
        assert value is None or isinstance(value, list)
        return value  # pyright: ignore

    def python_attributes(self) -> dict[str, object]:
        """The attributes that are set, as Python values."""
        return {
            name: attribute_to_python(spec.kind, self.attributes[name])
            for name, spec in self.ATTRIBUTES.items()
            if name in self.attributes
        }

    # -- the equivalent ONNX node ----------------------------------------------------------

    def onnx_node(
        self, input_names: Sequence[str], output_names: Sequence[str]
    ) -> tuple[onnx.NodeProto, list[onnx.TensorProto]]:
        """The ONNX node this op stands for, and the initializers of its static inputs."""
        return build_onnx_node(
            self.ONNX_TYPE,
            self.ATTRIBUTES,
            self.STATIC_INPUTS,
            self.python_attributes(),
            [(name if present else "") for name, present in self._operand_slots(input_names)],
            output_names,
            self._data_dtype(),
        )

    def _operand_slots(self, input_names: Sequence[str]) -> list[tuple[str, bool]]:
        """The operands in ONNX input order, with absent optional operands and the positions
        of static inputs (OneHot's depth, between two operands) as ("", False)."""
        slots: list[tuple[str, bool]] = []
        names = iter(input_names)
        for (_, operand_def), operands in zip(
            self.get_irdl_definition().operands, self._operand_groups(), strict=True
        ):
            del operand_def
            if not operands:
                slots.append(("", False))
            for _ in operands:
                slots.append((next(names), True))
        for position in sorted(self.STATIC_INPUTS):
            if position < len(slots):
                slots.insert(position, ("", False))
        return slots

    def _operand_groups(self) -> list[Sequence[SSAValue]]:
        groups: list[Sequence[SSAValue]] = []
        for name, _ in self.get_irdl_definition().operands:
            value = getattr(self, name)
            if value is None:
                groups.append(())
            elif isinstance(value, SSAValue):
                groups.append((value,))
            else:
                groups.append(tuple(value))
        return groups

    def _data_dtype(self) -> np.dtype[np.generic]:
        return numpy_dtype_of(self.operands[0]) if self.operands else np.dtype(np.float32)

    # -- verification ----------------------------------------------------------------------

    def verify_(self) -> None:
        for name, spec in self.ATTRIBUTES.items():
            if name not in self.attributes:
                if spec.required:
                    raise VerifyException(f"{self.name} needs attribute '{name}'")
                continue
            if not _attribute_matches(spec.kind, self.attributes[name]):
                raise VerifyException(
                    f"{self.name}: attribute '{name}' should be {spec.kind.value}, "
                    f"got {self.attributes[name]}"
                )
        for value in (*self.operands, *self.results):
            if not isinstance(value.type, TensorType):
                raise VerifyException(f"{self.name}: expected tensor types, got {value.type}")
        self.verify_result_types()

    def verify_result_types(self) -> None:
        expected = self.infer_result_types()
        for index, (result, inferred) in enumerate(zip(self.results, expected, strict=False)):
            if inferred is None or result.type == inferred:
                continue
            raise VerifyException(
                f"{self.name}: result #{index} has type {result.type}, "
                f"but its operands and attributes give {inferred}"
            )

    def infer_result_types(self) -> list[TensorType[Attribute] | None]:
        """Result types from onnx's shape inference on the equivalent ONNX node (None where a
        dimension is not inferred)."""
        input_types = tuple((element_type_to_onnx(_element(v)), shape_of(v)) for v in self.operands)
        node, initializers = self.onnx_node(
            [f"in{i}" for i in range(len(self.operands))],
            [f"out{i}" for i in range(len(self.results))],
        )
        inferred = _infer_types(
            node.SerializeToString(),
            tuple(t.SerializeToString() for t in initializers),
            input_types,
        )
        return [
            None if entry is None else TensorType(element_type_from_onnx(entry[0]), entry[1])
            for entry in inferred
        ]


def _element(value: SSAValue) -> Attribute:
    return tensor_type_of(value).element_type


class TypeInferenceError(VerifyException):
    pass


@lru_cache(maxsize=8192)
def _infer_types(
    node_bytes: bytes,
    initializer_bytes: tuple[bytes, ...],
    input_types: tuple[tuple[int, tuple[int, ...]], ...],
) -> list[tuple[int, list[int]] | None]:
    node = onnx.NodeProto.FromString(node_bytes)
    initializers = [onnx.TensorProto.FromString(b) for b in initializer_bytes]
    graph_inputs = [
        helper.make_tensor_value_info(name, elem, list(shape))
        for name, (elem, shape) in zip(
            [n for n in node.input if n and n.startswith("in")], input_types, strict=True
        )
    ]
    graph = helper.make_graph(
        [node],
        "infer",
        graph_inputs,
        [helper.make_tensor_value_info(name, TensorProto.UNDEFINED, None) for name in node.output],
        initializer=initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", CANONICAL_OPSET)])
    try:
        inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True, data_prop=True)
    except Exception as error:  # onnx raises its own InferenceError and others
        message = str(error).strip().splitlines()[-1]
        raise TypeInferenceError(f"{node.op_type}: {message}") from None
    by_name = {v.name: v for v in inferred.graph.output}
    result: list[tuple[int, list[int]] | None] = []
    for name in node.output:
        value = by_name.get(name)
        tensor = value.type.tensor_type if value is not None else None
        if tensor is None or not tensor.HasField("shape"):
            result.append(None)
            continue
        dims = [d.dim_value if d.HasField("dim_value") else -1 for d in tensor.shape.dim]
        if -1 in dims or tensor.elem_type == 0:
            result.append(None)
            continue
        result.append((tensor.elem_type, dims))
    return result


def build_onnx_node(
    onnx_type: str,
    schema: Mapping[str, Attr],
    static_inputs: Mapping[int, str],
    attributes: Mapping[str, object],
    input_names: Sequence[str],
    output_names: Sequence[str],
    data_dtype: np.dtype[np.generic],
) -> tuple[onnx.NodeProto, list[onnx.TensorProto]]:
    """An ONNX node at `CANONICAL_OPSET` from nn attributes: static inputs become initializers."""
    inputs = list(input_names)
    initializers: list[onnx.TensorProto] = []
    static_names = set(static_inputs.values())
    for position, name in sorted(static_inputs.items()):
        while len(inputs) <= position:
            inputs.append("")
        if name not in attributes:
            continue
        array = _static_input_array(schema[name].kind, attributes[name], data_dtype)
        initializer_name = f"static_{name}"
        initializers.append(numpy_helper.from_array(array, initializer_name))
        inputs[position] = initializer_name
    while inputs and not inputs[-1]:
        inputs.pop()
    node_attributes: dict[str, Any] = {
        name: _onnx_attribute_value(schema[name].kind, value)
        for name, value in attributes.items()
        if name not in static_names
    }
    node = helper.make_node(onnx_type, inputs, list(output_names), **node_attributes)
    return node, initializers


def _static_input_array(kind: Kind, value: object, data_dtype: np.dtype[np.generic]) -> np.ndarray:
    match kind:
        case Kind.INTS:
            return np.array(value, dtype=np.int64)
        case Kind.INT:
            return np.array(value, dtype=np.int64)
        case Kind.FLOATS:
            return np.array(value, dtype=np.float32)
        case Kind.SCALAR | Kind.FLOAT:
            return np.array(value, dtype=data_dtype)
        case Kind.TENSOR:
            assert isinstance(value, np.ndarray)
            return value
        case Kind.STRING:
            raise ValueError("string attributes cannot be ONNX inputs")


def _onnx_attribute_value(kind: Kind, value: object) -> object:
    if kind is Kind.TENSOR:
        assert isinstance(value, np.ndarray)
        return numpy_helper.from_array(value)
    return value


__all__ = [
    "CANONICAL_OPSET",
    "AnyFloat",
    "Attr",
    "Kind",
    "NnOperation",
    "TypeInferenceError",
    "UnsupportedElementType",
    "attribute_from_python",
    "attribute_to_python",
    "build_onnx_node",
    "dense_from_numpy",
    "dense_to_numpy",
    "element_type_from_numpy",
    "element_type_from_onnx",
    "element_type_to_numpy",
    "element_type_to_onnx",
    "numpy_dtype_of",
    "shape_of",
    "tensor_type",
    "tensor_type_of",
]
