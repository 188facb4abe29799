"""Every nn op's numpy reference (`dialects/nn/reference/`) against onnxruntime: the cases
and checks that the tests of each family's module share.

A case is one ONNX node: its op type, its inputs (run-time arrays, constant tensors, or absent)
and its attributes. onnxruntime runs it as a one-node model at opset 21. The same node is written
as nn IR text (constant inputs become attributes, result types are onnxruntime's), parsed and
verified, which runs nn's result-type inference, then run by the nn interpreter. Expected values
come only from onnxruntime.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import onnx
import onnxruntime
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from onnx import helper, numpy_helper

from terrace.dialects.context import parse_module
from terrace.dialects.nn import ONNX_OPS
from terrace.dialects.nn.base import Kind, attribute_from_python, tensor_type
from terrace.dialects.nn.interpreter import run_function

OPSET = 21


INT64_MAX = np.iinfo(np.int64).max


INT64_MIN = np.iinfo(np.int64).min


# -- one ONNX node, run both ways -------------------------------------------------------------


@dataclass(frozen=True)
class Const:
    """An ONNX input given as a constant tensor (an initializer): an attribute in nn."""

    value: np.ndarray


Input = np.ndarray | Const | None  # None: an absent optional input


@dataclass(frozen=True)
class Case:
    op_type: str
    inputs: Sequence[Input]
    attributes: dict[str, object] = field(default_factory=dict)
    outputs: int = 1

    def runtime_inputs(self) -> list[np.ndarray]:
        return [value for value in self.inputs if isinstance(value, np.ndarray)]

    def name(self) -> str:
        dtypes = [v.dtype.name for v in self.runtime_inputs()]
        attributes = [f"{k}={_short(v)}" for k, v in self.attributes.items()]
        consts = [_short(v.value) for v in self.inputs if isinstance(v, Const)]
        return "-".join([self.op_type, *dtypes, *attributes, *consts])


def _short(value: object) -> str:
    if isinstance(value, np.ndarray):
        return str(value.tolist()).replace(" ", "") if value.size <= 6 else f"{value.shape}"
    return str(value).replace(" ", "")


def onnxruntime_results(case: Case) -> list[np.ndarray]:
    names: list[str] = []
    graph_inputs: list[onnx.ValueInfoProto] = []
    initializers: list[onnx.TensorProto] = []
    feeds: dict[str, np.ndarray] = {}
    for position, value in enumerate(case.inputs):
        name = f"x{position}" if value is not None else ""
        names.append(name)
        if isinstance(value, Const):
            initializers.append(numpy_helper.from_array(value.value, name))
        elif value is not None:
            assert isinstance(value, np.ndarray), f"input {position} is not an array: {value!r}"
            feeds[name] = value
            onnx_type = helper.np_dtype_to_tensor_dtype(value.dtype)
            graph_inputs.append(helper.make_tensor_value_info(name, onnx_type, value.shape))
    while names and not names[-1]:
        names.pop()
    outputs = [f"y{i}" for i in range(case.outputs)]
    attributes = {
        key: numpy_helper.from_array(value) if isinstance(value, np.ndarray) else value
        for key, value in case.attributes.items()
    }
    node = helper.make_node(case.op_type, names, outputs, **attributes)
    graph = helper.make_graph(
        [node],
        case.op_type,
        graph_inputs,
        [onnx.ValueInfoProto(name=name) for name in outputs],
        initializer=initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 10  # opset 21's IR version, which every onnxruntime with opset 21 reads
    session = onnxruntime.InferenceSession(
        model.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    return [np.asarray(r) for r in session.run(None, feeds)]


def _nn_value(kind: Kind, value: object) -> object:
    """An ONNX attribute or constant input as an nn attribute's Python value."""
    if kind is Kind.FLOAT:
        assert isinstance(value, float | int)
        return float(np.float32(value))  # ONNX float attributes are float32
    if not isinstance(value, np.ndarray) or kind is Kind.TENSOR:
        return value
    if kind is Kind.INTS:
        return [int(v) for v in value.ravel()]
    if kind is Kind.FLOATS:
        return [float(v) for v in value.ravel()]
    if kind is Kind.INT:
        return int(value.reshape(()))
    return float(value.reshape(()))  # SCALAR: a one-element tensor of the data type


def nn_module_text(case: Case, results: Sequence[np.ndarray]) -> str:
    """A function of one nn op in generic form, with onnxruntime's result types."""
    op_class = ONNX_OPS[case.op_type]
    values = dict(case.attributes)
    for position, value in enumerate(case.inputs):
        if isinstance(value, Const):
            values[op_class.STATIC_INPUTS[position]] = value.value
    entries: list[str] = []
    for name, value in values.items():
        kind = op_class.ATTRIBUTES[name].kind
        entries.append(f"{name} = {attribute_from_python(kind, _nn_value(kind, value))}")
    attributes = ", ".join(entries)
    operand_types = [str(tensor_type(a.dtype, a.shape)) for a in case.runtime_inputs()]
    result_types = [str(tensor_type(r.dtype, r.shape)) for r in results]
    arguments = ", ".join(f"%a{i}: {t}" for i, t in enumerate(operand_types))
    operands = ", ".join(f"%a{i}" for i in range(len(operand_types)))
    result_name = "%r" if len(results) == 1 else f"%r:{len(results)}"
    returned = ["%r"] if len(results) == 1 else [f"%r#{i}" for i in range(len(results))]
    return (
        f"func.func @main({arguments}) -> ({', '.join(result_types)}) {{\n"
        f'  {result_name} = "{op_class.name}"({operands}) {{{attributes}}}'
        f" : ({', '.join(operand_types)}) -> ({', '.join(result_types)})\n"
        f"  func.return {', '.join(returned)} : {', '.join(result_types)}\n"
        "}\n"
    )


TOLERANCES = {
    np.dtype(np.float16): (2e-3, 2e-3),
    np.dtype(np.float32): (1e-5, 1e-6),
    np.dtype(np.float64): (1e-10, 1e-12),
}


def assert_matches(actual: np.ndarray, expected: np.ndarray, atol_scale: float = 1.0) -> None:
    assert actual.dtype == expected.dtype
    assert actual.shape == expected.shape
    if expected.dtype not in TOLERANCES:
        np.testing.assert_array_equal(actual, expected)
        return
    rtol, atol = TOLERANCES[expected.dtype]
    finite = np.abs(expected[np.isfinite(expected)])
    magnitude = max(1.0, float(finite.max())) if finite.size else 1.0
    np.testing.assert_allclose(
        actual, expected, rtol=rtol, atol=atol * magnitude * atol_scale, equal_nan=True
    )


def check(case: Case, atol_scale: float = 1.0) -> None:
    expected = onnxruntime_results(case)
    module = parse_module(nn_module_text(case, expected))
    actual = run_function(module, case.runtime_inputs())
    assert len(actual) == len(expected)
    for ours, theirs in zip(actual, expected, strict=True):
        assert_matches(ours, theirs, atol_scale)


# -- inputs -----------------------------------------------------------------------------------

FLOATS = (np.float32, np.float64, np.float16)
FLOAT32_16 = (np.float32, np.float16)
INTS = (np.int32, np.int64)

SEED = 20260527
"""Each family's module draws its cases' inputs from a generator of its own, seeded with this."""


class Inputs:
    """Random inputs drawn from one seeded generator."""

    def __init__(self, seed: int = SEED) -> None:
        self.rng = np.random.default_rng(seed)

    def rand(
        self, *shape: int, dtype: type = np.float32, low: float = -3, high: float = 3
    ) -> np.ndarray:
        if dtype is np.bool_:
            return np.asarray(self.rng.random(shape) < 0.5)
        if np.issubdtype(dtype, np.integer):
            return np.asarray(
                self.rng.integers(int(low), int(high), size=shape, endpoint=True), dtype
            )
        return np.asarray(self.rng.uniform(low, high, size=shape), dtype)

    def positive(self, *shape: int, dtype: type = np.float32) -> np.ndarray:
        return self.rand(*shape, dtype=dtype, low=0.1, high=4)

    def nonzero(self, *shape: int, dtype: type = np.float32) -> np.ndarray:
        magnitude = self.rand(*shape, dtype=dtype, low=1, high=4)
        return np.where(self.rand(*shape, dtype=np.bool_), magnitude, -magnitude).astype(dtype)


def ints(*values: int) -> Const:
    return Const(np.array(values, dtype=np.int64))


# -- properties: shapes, broadcasting and axes drawn at random --------------------------------

PROPERTY_SETTINGS = settings(max_examples=100, deadline=None)


def seeded(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


@st.composite
def shape_and_axes(draw: st.DrawFn, min_dims: int = 1) -> tuple[tuple[int, ...], list[int]]:
    """A shape and a list of distinct axes of it, each possibly negative."""
    shape = draw(hnp.array_shapes(min_dims=min_dims, max_dims=4, min_side=1, max_side=4))
    axes = draw(st.lists(st.integers(0, len(shape) - 1), unique=True, max_size=len(shape)))
    negate = draw(st.lists(st.booleans(), min_size=len(axes), max_size=len(axes)))
    return shape, [a - len(shape) if n else a for a, n in zip(axes, negate, strict=True)]
