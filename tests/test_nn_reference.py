"""Every nn op's numpy reference (`dialects/nn/reference.py`) against onnxruntime.

A case is one ONNX node: its op type, its inputs (run-time arrays, constant tensors, or absent)
and its attributes. onnxruntime runs it as a one-node model at opset 21. The same node is written
as nn IR text (constant inputs become attributes, result types are onnxruntime's), parsed and
verified, which runs nn's result-type inference, then run by the nn interpreter. Expected values
come only from onnxruntime.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import onnx
import onnxruntime
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from onnx import TensorProto, helper, numpy_helper
from xdsl.parser import Parser

from terrace.dialects.context import parse_module, terrace_context
from terrace.dialects.nn import ALL_OPS, ONNX_OPS, RangeCheckOp, WeightOp
from terrace.dialects.nn.base import (
    Kind,
    NnOperation,
    attribute_from_python,
    tensor_type,
)
from terrace.dialects.nn.interpreter import run_function
from terrace.dialects.nn.reference import evaluate

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

RNG = np.random.default_rng(20260527)
FLOATS = (np.float32, np.float64, np.float16)
FLOAT32_16 = (np.float32, np.float16)
INTS = (np.int32, np.int64)


def rand(*shape: int, dtype: type = np.float32, low: float = -3, high: float = 3) -> np.ndarray:
    if dtype is np.bool_:
        return np.asarray(RNG.random(shape) < 0.5)
    if np.issubdtype(dtype, np.integer):
        return np.asarray(RNG.integers(int(low), int(high), size=shape, endpoint=True), dtype)
    return np.asarray(RNG.uniform(low, high, size=shape), dtype)


def positive(*shape: int, dtype: type = np.float32) -> np.ndarray:
    return rand(*shape, dtype=dtype, low=0.1, high=4)


def nonzero(*shape: int, dtype: type = np.float32) -> np.ndarray:
    magnitude = rand(*shape, dtype=dtype, low=1, high=4)
    return np.where(rand(*shape, dtype=np.bool_), magnitude, -magnitude).astype(dtype)


def ints(*values: int) -> Const:
    return Const(np.array(values, dtype=np.int64))


# -- the cases, op by op ----------------------------------------------------------------------


def unary_cases() -> Iterator[Case]:
    for op_type, dtype in itertools.product(["Sigmoid", "Tanh", "Exp", "Floor", "Ceil"], FLOATS):
        yield Case(op_type, [rand(2, 3, 4, dtype=dtype)])
    # onnxruntime has no float64 kernel for these.
    for op_type, dtype in itertools.product(["Erf", "Gelu", "Elu", "LeakyRelu"], FLOAT32_16):
        yield Case(op_type, [rand(2, 3, 4, dtype=dtype)])
    for op_type, dtype in itertools.product(["Sqrt", "Log"], FLOATS):
        yield Case(op_type, [positive(3, 4, dtype=dtype)])
    for dtype in FLOATS:
        yield Case("Reciprocal", [nonzero(3, 4, dtype=dtype)])
    for op_type, dtype in itertools.product(["Neg", "Abs", "Identity"], FLOATS + INTS):
        yield Case(op_type, [rand(2, 5, dtype=dtype)])
    for dtype in (*FLOATS, np.int32):  # onnxruntime has no int64 Relu
        yield Case("Relu", [rand(2, 5, dtype=dtype)])
    yield Case("Identity", [rand(3, dtype=np.bool_)])
    yield Case("Not", [rand(2, 3, dtype=np.bool_)])
    yield Case("Dropout", [rand(2, 3)])
    yield Case("Gelu", [rand(2, 3, 4)], {"approximate": "tanh"})
    yield Case("Gelu", [rand(2, 3, 4, dtype=np.float16)], {"approximate": "tanh"})
    yield Case("LeakyRelu", [rand(3, 4)], {"alpha": 0.2})
    yield Case("Elu", [rand(3, 4)], {"alpha": 0.5})
    yield Case("Sigmoid", [np.array([-100, -20, 0, 20, 100], np.float32)])
    for op_type in ["Sin", "Cos", "Tan", "Atan", "Sinh", "Cosh", "Asinh"]:
        yield Case(op_type, [rand(2, 3)])
    for op_type in ["Asin", "Acos", "Atanh"]:
        yield Case(op_type, [rand(2, 3, low=-0.9, high=0.9)])
    yield Case("Acosh", [rand(2, 3, low=1, high=4)])
    halves = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.4, -0.0, np.nan, np.inf], np.float32)
    for dtype in FLOATS:
        yield Case("Round", [halves.astype(dtype)])
        # onnxruntime's float16 Sign gives 0 for NaN, its float32 and numpy's give NaN
        yield Case("Sign", [halves[~np.isnan(halves)].astype(dtype)])
        yield Case("IsNaN", [halves.astype(dtype)])
    for dtype in (np.int32, np.int64, np.uint8):
        yield Case("Sign", [rand(2, 3, dtype=dtype)])
    infinities = np.array([np.nan, np.inf, -np.inf, 0.0, -3.0], np.float32)
    yield Case("IsInf", [infinities])
    yield Case("IsInf", [infinities], {"detect_negative": 0})
    yield Case("IsInf", [infinities.astype(np.float64)], {"detect_positive": 0})


def clip_cases() -> Iterator[Case]:
    for dtype in (*FLOATS, *INTS):
        low, high = Const(np.array(-1, dtype)), Const(np.array(2, dtype))
        yield Case("Clip", [rand(3, 4, dtype=dtype), low, high])
        yield Case("Clip", [rand(3, 4, dtype=dtype), low])
        yield Case("Clip", [rand(3, 4, dtype=dtype), None, high])
    yield Case("Clip", [rand(3, 4)])
    yield Case("Clip", [rand(3, 4), Const(np.float32(1.5)), Const(np.float32(0.5))])  # min > max


def cast_cases() -> Iterator[Case]:
    conversions = [
        (np.float32, TensorProto.INT32),
        (np.float32, TensorProto.INT64),
        (np.float32, TensorProto.FLOAT16),
        (np.float32, TensorProto.DOUBLE),
        (np.float32, TensorProto.BOOL),
        (np.float64, TensorProto.FLOAT),
        (np.float16, TensorProto.FLOAT),
        (np.int64, TensorProto.FLOAT),
        (np.int32, TensorProto.INT64),
        (np.int64, TensorProto.INT32),
        (np.int32, TensorProto.BOOL),
        (np.bool_, TensorProto.FLOAT),
        (np.bool_, TensorProto.INT64),
    ]
    for dtype, to in conversions:
        yield Case("Cast", [rand(3, 4, dtype=dtype, low=-5, high=5)], {"to": to})
    yield Case(
        "Cast", [np.array([0.0, -0.0, 0.5, -2.7, 3.9], np.float32)], {"to": TensorProto.BOOL}
    )


ARITHMETIC = ["Add", "Sub", "Mul", "Div"]
COMPARISONS = ["Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual"]
LOGICAL = ["And", "Or", "Xor"]
BITWISE = ["BitwiseAnd", "BitwiseOr", "BitwiseXor"]


def binary_cases() -> Iterator[Case]:
    for op_type, dtype in itertools.product(ARITHMETIC, (*FLOATS, *INTS)):
        yield Case(op_type, [rand(2, 3, 4, dtype=dtype), nonzero(3, 1, dtype=dtype)])
    for op_type, dtype in itertools.product(COMPARISONS, (np.float32, np.float64, *INTS)):
        yield Case(op_type, [rand(2, 3, dtype=dtype), rand(3, dtype=dtype)])
    yield Case("Equal", [rand(2, 3, dtype=np.bool_), rand(2, 1, dtype=np.bool_)])
    for op_type in LOGICAL:
        yield Case(op_type, [rand(4, 1, 3, dtype=np.bool_), rand(2, 1, dtype=np.bool_)])
    # ONNX integer division truncates toward zero.
    dividends = np.array([-7, 7, -7, 7, 6, -6, 0], np.int32)
    divisors = np.array([2, -2, -2, 2, -3, 4, -5], np.int32)
    yield Case("Div", [dividends, divisors])
    yield Case("Div", [dividends.astype(np.int64), divisors.astype(np.int64)])
    # Mod takes the divisor's sign (fmod 0, integers only) or the dividend's (fmod 1).
    for dtype in (np.int8, *INTS, np.uint8):
        lhs, rhs = dividends.astype(dtype), divisors.astype(dtype)
        if dtype == np.uint8:
            lhs, rhs = np.abs(dividends).astype(dtype), np.abs(divisors).astype(dtype)
        yield Case("Mod", [lhs, rhs])
        yield Case("Mod", [lhs, rhs], {"fmod": 1})
    for dtype in FLOATS:
        yield Case("Mod", [rand(2, 3, dtype=dtype), nonzero(3, dtype=dtype)], {"fmod": 1})
    for op_type, dtype in itertools.product(BITWISE, (np.int8, np.int32, np.uint8, np.uint64)):
        yield Case(op_type, [rand(2, 3, dtype=dtype, low=-100, high=100), rand(3, dtype=dtype)])
    for dtype in (np.int16, np.uint32):
        yield Case("BitwiseNot", [rand(2, 3, dtype=dtype, low=-100, high=100)])
    for dtype, direction in itertools.product((np.uint8, np.uint64), ("LEFT", "RIGHT")):
        x = rand(2, 3, dtype=dtype, low=0, high=255)
        yield Case("BitShift", [x, rand(3, dtype=dtype, low=0, high=7)], {"direction": direction})


def pow_cases() -> Iterator[Case]:
    for dtype in FLOATS:
        yield Case("Pow", [positive(2, 3, dtype=dtype), rand(3, dtype=dtype)])
    yield Case("Pow", [rand(2, 3), rand(3, dtype=np.int64, low=0, high=4)])
    yield Case("Pow", [rand(2, 3), np.array(2, np.int32)])
    yield Case("Pow", [rand(2, 3, dtype=np.int32), rand(3, dtype=np.int32, low=0, high=4)])
    yield Case("Pow", [rand(2, 3, dtype=np.int64), rand(2, 1, dtype=np.int64, low=0, high=5)])
    bases = np.array([1, -1, 2, -2, 3, 5], np.int64)
    yield Case("Pow", [bases, np.array([-3, -3, -1, -1, 2, 0], np.int64)])
    yield Case("Pow", [bases.astype(np.int32), np.array([0.5, 2, 1.5, 3, -1, 2.5], np.float32)])


VARIADIC = ["Sum", "Mean", "Max", "Min"]


def variadic_cases() -> Iterator[Case]:
    for op_type, dtype in itertools.product(VARIADIC, FLOATS):
        if (op_type, dtype) == ("Mean", np.float64):
            continue  # onnxruntime has no float64 Mean
        yield Case(op_type, [rand(2, 3, dtype=dtype)])
        three = [rand(2, 1, 3, dtype=dtype), rand(4, 1, dtype=dtype), rand(3, dtype=dtype)]
        yield Case(op_type, three)
    for op_type, dtype in itertools.product(["Max", "Min"], INTS):  # Sum and Mean: floats only
        yield Case(op_type, [rand(2, 3, dtype=dtype), rand(3, dtype=dtype)])


def where_cases() -> Iterator[Case]:
    for dtype in (np.float32, np.float64, *INTS):  # onnxruntime has no bool Where
        inputs = [rand(2, 1, 3, dtype=np.bool_), rand(4, 1, dtype=dtype), rand(3, dtype=dtype)]
        yield Case("Where", inputs)


def gemm_cases() -> Iterator[Case]:
    for trans_a, trans_b in itertools.product((0, 1), repeat=2):
        a = rand(4, 3) if trans_a else rand(3, 4)
        b = rand(5, 4) if trans_b else rand(4, 5)
        yield Case("Gemm", [a, b, rand(3, 5)], {"transA": trans_a, "transB": trans_b})
    for c_shape in [(5,), (1, 5), (3, 1), ()]:
        yield Case("Gemm", [rand(3, 4), rand(4, 5), rand(*c_shape)], {"alpha": 0.5, "beta": 2.0})
    yield Case("Gemm", [rand(3, 4), rand(4, 5)], {"alpha": 1.5})
    yield Case("Gemm", [rand(3, 4, dtype=np.float64), rand(5, 4, dtype=np.float64)], {"transB": 1})
    yield Case("Gemm", [rand(3, 4, dtype=np.float16), rand(4, 5, dtype=np.float16)])


def matmul_cases() -> Iterator[Case]:
    shapes = [
        ((4,), (4,)),
        ((4,), (4, 3)),
        ((3, 4), (4,)),
        ((3, 4), (4, 5)),
        ((2, 3, 4), (4, 5)),
        ((2, 1, 3, 4), (5, 4, 2)),
        ((4,), (2, 4, 3)),
    ]
    for shape_a, shape_b in shapes:
        yield Case("MatMul", [rand(*shape_a), rand(*shape_b)])
    for dtype in (np.float64, np.float16, *INTS):
        yield Case("MatMul", [rand(2, 3, 4, dtype=dtype), rand(4, 2, dtype=dtype)])


def normalization_cases() -> Iterator[Case]:
    for shape, dtype in [((2, 3, 4, 5), np.float32), ((4, 3), np.float32), ((2, 3, 4), np.float64)]:
        channels = shape[1]
        statistics = [rand(channels, dtype=dtype), rand(channels, dtype=dtype)]
        statistics += [rand(channels, dtype=dtype), positive(channels, dtype=dtype)]
        yield Case("BatchNormalization", [rand(*shape, dtype=dtype), *statistics])
    bn_inputs = [rand(2, 3, 4), rand(3), rand(3), rand(3), positive(3)]
    yield Case("BatchNormalization", bn_inputs, {"epsilon": 0.1})
    for axis, dtype in itertools.product((-1, 1, -2), (np.float32, np.float64)):
        x = rand(2, 3, 4, dtype=dtype)
        normalized = x.shape[axis:]
        yield Case("LayerNormalization", [x, rand(*normalized, dtype=dtype)], {"axis": axis})
        bias = rand(*normalized, dtype=dtype)
        yield Case("LayerNormalization", [x, rand(*normalized, dtype=dtype), bias], {"axis": axis})
    yield Case("LayerNormalization", [rand(2, 8), rand(8), rand(8)], {"epsilon": 0.01})
    f16 = [rand(2, 16, dtype=np.float16), rand(16, dtype=np.float16), rand(16, dtype=np.float16)]
    yield Case("LayerNormalization", f16, {"stash_type": 1})


def softmax_cases() -> Iterator[Case]:
    for op_type, axis, dtype in itertools.product(
        ["Softmax", "LogSoftmax"], (0, 1, -1), (np.float32, np.float64, np.float16)
    ):
        yield Case(op_type, [rand(3, 4, 5, dtype=dtype)], {"axis": axis})
    for op_type in ["Softmax", "LogSoftmax"]:
        yield Case(op_type, [rand(3, 4)])
        yield Case(op_type, [rand(2, 6, low=500, high=1000)])  # exp would overflow unshifted


def windowed_cases() -> Iterator[Case]:
    """Convolutions and pools (our kernels: onnx's own get grouped ConvTranspose, output_shape,
    ceil_mode overhangs and dilated SAME pads wrong) and resize (onnx's kernel)."""
    yield Case("Conv", [rand(1, 2, 5, 5), rand(3, 2, 3, 3), rand(3)], {"pads": [1, 1, 1, 1]})
    yield Case("Conv", [rand(2, 3, 7), rand(4, 3, 2)], {"dilations": [2], "strides": [2]})
    yield Case("Conv", [rand(1, 2, 4, 5, 3), rand(2, 2, 2, 2, 2)], {"pads": [1, 0, 1, 0, 1, 1]})
    yield Case("Conv", [rand(1, 3, 7, 6), rand(3, 1, 3, 3)], {"group": 3, "auto_pad": "SAME_LOWER"})
    yield Case(
        "Conv", [rand(1, 2, 7, 6), rand(2, 2, 3, 2)], {"auto_pad": "SAME_UPPER", "strides": [2, 2]}
    )
    yield Case("ConvTranspose", [rand(1, 4, 3, 3), rand(4, 1, 3, 3), rand(2)], {"group": 2})
    transposed = {"strides": [2, 2], "output_shape": [7, 8], "dilations": [1, 2]}
    yield Case("ConvTranspose", [rand(1, 2, 3, 3), rand(2, 3, 3, 2)], transposed)
    yield Case(
        "ConvTranspose",
        [rand(1, 2, 4, 3), rand(2, 2, 3, 3)],
        {"strides": [2, 3], "pads": [1, 0, 2, 1], "output_padding": [1, 2]},
    )
    yield Case(
        "ConvTranspose", [rand(1, 1, 4), rand(1, 2, 3)], {"strides": [2], "auto_pad": "SAME_UPPER"}
    )
    ceil = {"kernel_shape": [2, 2], "strides": [3, 3], "ceil_mode": 1}
    yield Case("MaxPool", [rand(1, 2, 8, 7)], ceil)
    yield Case("AveragePool", [rand(1, 2, 8, 7)], ceil)
    yield Case(
        "AveragePool", [rand(1, 1, 6, 6)], {**ceil, "pads": [1, 1, 1, 1], "count_include_pad": 1}
    )
    yield Case(
        "MaxPool",
        [rand(1, 1, 7, 7)],
        {"kernel_shape": [3, 3], "dilations": [2, 2], "pads": [2, 1, 1, 2]},
    )
    yield Case("Conv", [rand(1, 4, 6, 6), rand(4, 2, 3, 3)], {"group": 2, "strides": [2, 2]})
    yield Case("ConvTranspose", [rand(1, 2, 3, 3), rand(2, 3, 3, 3)], {"strides": [2, 2]})
    yield Case("MaxPool", [rand(1, 2, 6, 6)], {"kernel_shape": [2, 2], "strides": [2, 2]})
    yield Case("MaxPool", [rand(1, 1, 5, 5)], {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]})
    yield Case("AveragePool", [rand(1, 2, 5, 5)], {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]})
    counting = {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "count_include_pad": 1}
    yield Case("AveragePool", [rand(1, 2, 5, 5)], counting)
    yield Case("LRN", [rand(1, 5, 3, 3)], {"size": 3})
    # onnxruntime takes only 4-d inputs and odd sizes; a batch of 2 would catch onnx's LRN.
    lrn_attributes = {"size": 5, "alpha": 0.01, "beta": 0.5, "bias": 2.0}
    yield Case("LRN", [rand(2, 6, 3, 2, low=-9, high=9)], lrn_attributes)
    scales = Const(np.array([1, 1, 2, 2], np.float32))
    yield Case("Resize", [rand(1, 1, 2, 3), None, scales])
    yield Case("Resize", [rand(1, 1, 2, 3), None, scales], {"mode": "linear"})
    yield Case("Resize", [rand(1, 1, 2, 3), None, None, ints(1, 1, 3, 5)], {"mode": "linear"})


def pooling_cases() -> Iterator[Case]:
    for op_type, shape in itertools.product(
        ["GlobalAveragePool", "GlobalMaxPool"], [(2, 3, 4), (1, 2, 3, 4), (1, 2, 2, 3, 2)]
    ):
        yield Case(op_type, [rand(*shape)])
    yield Case("GlobalAveragePool", [rand(1, 2, 3, 4, dtype=np.float16)])
    yield Case("GlobalMaxPool", [rand(1, 2, 3, 4, dtype=np.float16)])


def reshape_cases() -> Iterator[Case]:
    x = rand(2, 3, 4)
    for shape in [(6, 4), (0, -1), (-1,), (4, 0, 2, -1), (2, 3, 4), (24, 1)]:
        yield Case("Reshape", [x, ints(*shape)])
    yield Case("Reshape", [rand(2, 3, dtype=np.int64), ints(3, 2)])
    yield Case("Reshape", [rand(0, 3), ints(3, 0)], {"allowzero": 1})
    yield Case("Reshape", [rand(2, 3), ints(0, 3)], {"allowzero": 0})
    for axis in (0, 1, 2, 3, -1, -3):
        yield Case("Flatten", [rand(2, 3, 4)], {"axis": axis})
    yield Case("Flatten", [rand(2, 3, 4, dtype=np.int32)])


def transpose_cases() -> Iterator[Case]:
    yield Case("Transpose", [rand(2, 3, 4)])
    yield Case("Transpose", [rand(2, 3, 4)], {"perm": [1, 0, 2]})
    yield Case("Transpose", [rand(2, 3, 4, 5, dtype=np.int64)], {"perm": [0, 2, 3, 1]})
    yield Case("Transpose", [rand(3, 2, dtype=np.bool_)])


def squeeze_cases() -> Iterator[Case]:
    x = rand(1, 3, 1, 2, 1)
    yield Case("Squeeze", [x])
    yield Case("Squeeze", [x, ints(0)])
    yield Case("Squeeze", [x, ints(-1, 2)])
    yield Case("Squeeze", [rand(1, 1, dtype=np.int64)])
    yield Case("Unsqueeze", [rand(3, 4), ints(0)])
    yield Case("Unsqueeze", [rand(3, 4), ints(-1)])
    yield Case("Unsqueeze", [rand(3, 4), ints(0, 3)])
    yield Case("Unsqueeze", [rand(3, 4, dtype=np.int32), ints(-1, 1)])
    yield Case("Unsqueeze", [np.array(2.5, np.float32), ints(0)])


def broadcast_cases() -> Iterator[Case]:
    yield Case("Expand", [rand(3, 1), ints(2, 1, 4)])
    yield Case("Expand", [rand(3, 4), ints(4)])
    yield Case("Expand", [rand(1, 4), ints(3, 1)])  # a 1 in shape keeps the input's dimension
    yield Case("Expand", [rand(3, dtype=np.int64), ints(2, 3)])
    yield Case("Tile", [rand(2, 3), ints(2, 2)])
    yield Case("Tile", [rand(2, 3, 2), ints(1, 3, 1)])
    yield Case("Tile", [rand(2, 3, dtype=np.int32), ints(3, 1)])


def slice_cases() -> Iterator[Case]:
    x = rand(5, 6, 4)
    variants = [
        (ints(1), ints(3), None, None),
        (ints(1, 0), ints(4, 5), ints(0, 1), None),
        (ints(-3), ints(INT64_MAX), ints(1), None),
        (ints(0), ints(-1), ints(-1), None),
        (ints(-1), ints(INT64_MIN), ints(0), ints(-1)),
        (ints(4, 5), ints(0, -100), ints(0, 1), ints(-2, -3)),
        (ints(0, 1), ints(100, 6), ints(2, 1), ints(3, 2)),
        (ints(10), ints(20), ints(0), None),  # empty: both bounds clamped past the end
        (ints(2), ints(1), ints(1), None),
        # negative steps whose end is past the start, before and after clamping: empty
        (ints(0), ints(2), ints(1), ints(-1)),
        (ints(1), ints(100), ints(0), ints(-2)),
        (ints(-100), ints(3), ints(2), ints(-1)),
        (ints(-1), ints(-1), ints(1), ints(-3)),
    ]
    for starts, ends, axes, steps in variants:
        yield Case("Slice", [x, starts, ends, axes, steps])
    # a negative step beside an axis cut short from offset 0 (tests/test_nn_to_linalg_shape.py)
    yield Case("Slice", [rand(1, 2), ints(0, 0), ints(-2, 1), ints(0, 1), ints(-3, 1)])
    yield Case("Slice", [rand(4, 3, dtype=np.int64), ints(1), ints(3)])


def pad_cases() -> Iterator[Case]:
    x = rand(3, 4)
    for mode in ["constant", "reflect", "edge", "wrap"]:
        yield Case("Pad", [x, ints(1, 2, 2, 1)], {"mode": mode})
        yield Case("Pad", [x, ints(1, -1, -1, 2)], {"mode": mode})  # negative pads crop
        yield Case("Pad", [x, ints(1, 2), None, ints(-1)], {"mode": mode})
    yield Case("Pad", [x, ints(1, 0, 0, 1), Const(np.array(2.5, np.float32))])
    yield Case("Pad", [rand(2, 3, dtype=np.int32), ints(1, 1, 1, 1), Const(np.array(7, np.int32))])
    yield Case("Pad", [rand(2, 3, dtype=np.int64), ints(0, 2, 1, 0)], {"mode": "reflect"})
    yield Case("Pad", [rand(2, 3, 4, dtype=np.float64), ints(1, 1, 0, 0, 1, 2)], {"mode": "edge"})


def concat_split_cases() -> Iterator[Case]:
    yield Case("Concat", [rand(2, 3), rand(2, 1), rand(2, 4)], {"axis": 1})
    yield Case("Concat", [rand(2, 3), rand(1, 3)], {"axis": -2})
    yield Case("Concat", [rand(2, dtype=np.int64), rand(3, dtype=np.int64)], {"axis": 0})
    yield Case("Concat", [rand(2, 2, dtype=np.bool_)], {"axis": 1})
    yield Case("Split", [rand(6, 4), ints(2, 4)], {"axis": 0}, outputs=2)
    yield Case("Split", [rand(3, 7), ints(1, 2, 4)], {"axis": -1}, outputs=3)
    yield Case("Split", [rand(7, 2)], {"num_outputs": 3}, outputs=3)  # uneven: 3, 3, 1
    yield Case("Split", [rand(2, 8)], {"axis": 1, "num_outputs": 3}, outputs=3)  # 3, 3, 2
    yield Case("Split", [rand(2, 6, dtype=np.int32)], {"axis": 1, "num_outputs": 2}, outputs=2)


def einsum_cases() -> Iterator[Case]:
    yield Case("Einsum", [rand(2, 3), rand(3, 4)], {"equation": "ij,jk->ik"})
    yield Case("Einsum", [rand(2, 3, 3)], {"equation": "...ii->...i"})
    yield Case("Einsum", [rand(4), rand(4)], {"equation": "i,i"})
    yield Case("Einsum", [rand(2, 3, dtype=np.float64)], {"equation": "ij->ji"})


def gather_cases() -> Iterator[Case]:
    data = rand(5, 4, 3)
    yield Case("Gather", [data, np.array([0, 4, -1, 2], np.int64)])
    yield Case("Gather", [data, np.array([[1, -2], [0, 3]], np.int32)], {"axis": 1})
    yield Case("Gather", [data, np.array(-1, np.int64)], {"axis": -1})
    yield Case("Gather", [rand(5, dtype=np.int64), np.array([[4, 0, -5]], np.int64)])
    yield Case("GatherElements", [data, np.array([[[0, -1, 4]], [[2, 3, -5]]], np.int64)])
    yield Case("GatherND", [data, np.array([[0, 1], [4, -1]], np.int64)])
    yield Case("GatherND", [data, np.array([[[2], [-1]]], np.int64)])
    yield Case("GatherND", [rand(2, 3, 4), np.array([[1, 0], [2, 3]], np.int64)], {"batch_dims": 1})
    indices = np.array([[[1], [-4]], [[3], [0]]], np.int32)
    yield Case("GatherElements", [data, indices], {"axis": 1})
    yield Case(
        "GatherElements",
        [rand(3, 3, dtype=np.int32), np.array([[2, 0], [1, -1], [0, 0]])],
        {"axis": -1},
    )


def scatter_cases() -> Iterator[Case]:
    data = rand(3, 4)
    indices = np.array([[1, -1, 0], [2, 0, 1]], np.int64)
    for reduction in ("none", "add", "mul", "max", "min"):
        yield Case("ScatterElements", [data, indices, rand(2, 3)], {"reduction": reduction})
        yield Case("ScatterND", [data, np.array([[1], [-1]]), rand(2, 4)], {"reduction": reduction})
    yield Case("ScatterElements", [data, indices.T.copy(), rand(3, 2)], {"axis": 1})
    updates = np.array([5, 6], np.int32)
    yield Case("ScatterND", [rand(2, 3, dtype=np.int32), np.array([[0, 2], [1, 0]]), updates])


def shape_cases() -> Iterator[Case]:
    x = rand(2, 3, 4, 5)
    for attributes in [{}, {"start": 1}, {"end": -1}, {"start": -3, "end": 3}, {"start": 9}]:
        yield Case("Shape", [x], attributes)
    yield Case("Shape", [np.array(1.0, np.float32)])


def constant_cases() -> Iterator[Case]:
    yield Case("ConstantOfShape", [ints(2, 3)])
    yield Case("ConstantOfShape", [ints(4)], {"value": np.array([7], np.int64)})
    yield Case("ConstantOfShape", [ints(2, 1, 2)], {"value": np.array([0.25], np.float32)})
    yield Case("ConstantOfShape", [ints(3)], {"value": np.array([True])})
    yield Case("Constant", [], {"value": rand(2, 3)})
    yield Case("Constant", [], {"value": rand(4, dtype=np.float64)})
    yield Case("Constant", [], {"value": np.array([3, -1, 4], np.int64)})
    yield Case("Constant", [], {"value": np.array(2.5, np.float32)})
    yield Case("Constant", [], {"value": np.array([True, False])})


REDUCTIONS = ["ReduceSum", "ReduceMean", "ReduceProd", "ReduceMax", "ReduceMin"]


def reduction_cases() -> Iterator[Case]:
    x = rand(2, 3, 4)
    for op_type in REDUCTIONS:
        yield Case(op_type, [x])
        yield Case(op_type, [x, ints(1)])
        yield Case(op_type, [x, ints(-1, 0)], {"keepdims": 0})
        yield Case(op_type, [x], {"keepdims": 0})
        yield Case(op_type, [x], {"noop_with_empty_axes": 1})
        yield Case(op_type, [rand(2, 3, 4, dtype=np.float64), ints(2)])
        yield Case(op_type, [rand(3, 4, dtype=np.int32, low=-9, high=9), ints(1)])
        yield Case(op_type, [rand(3, 4, dtype=np.int64, low=-9, high=9)], {"keepdims": 0})
    for op_type in ["ReduceMax", "ReduceMin"]:
        yield Case(op_type, [rand(3, 4, dtype=np.bool_), ints(1)])
        yield Case(op_type, [rand(2, 0), ints(1)])  # over nothing: -inf and +inf
    for op_type, keepdims, last in itertools.product(["ArgMax", "ArgMin"], (0, 1), (0, 1)):
        ties = rand(3, 4, 5, dtype=np.int32, low=0, high=2)
        attributes = {"axis": 1, "keepdims": keepdims, "select_last_index": last}
        yield Case(op_type, [ties], attributes)
        yield Case(op_type, [rand(3, 4)], {"axis": -1, "keepdims": keepdims})
    yield Case("ArgMax", [rand(4, 3, dtype=np.float64)])


def extra_cases() -> Iterator[Case]:
    """The ops added for conformance that onnxruntime runs at opset 21."""
    for exclusive, reverse in itertools.product((0, 1), (0, 1)):
        attributes = {"exclusive": exclusive, "reverse": reverse}
        yield Case("CumSum", [rand(3, 4), Const(np.array(1, np.int64))], attributes)
    yield Case("CumSum", [rand(5, dtype=np.int32), Const(np.array(0, np.int32))])
    yield Case("CumSum", [rand(2, 3, dtype=np.float64), Const(np.array(-2, np.int64))])
    for largest in (0, 1):
        ties = rand(3, 6, dtype=np.int32, low=0, high=3)
        yield Case("TopK", [ties, ints(4)], {"axis": 1, "largest": largest}, outputs=2)
        yield Case("TopK", [rand(5, 4), ints(2)], {"axis": 0, "largest": largest}, outputs=2)
    indices = np.array([[0, 3, -1], [-4, 7, 2]], np.int64)
    for axis in (-1, 0):
        values = np.array([-1.0, 2.0], np.float32)
        yield Case("OneHot", [indices, Const(np.array(4, np.int64)), values], {"axis": axis})
    window = {"kernel_shape": [3, 2], "pads": [1, 0, 2, 1], "strides": [2, 1]}
    for p in (1, 2, 3):
        yield Case("LpPool", [rand(1, 2, 6, 5)], {**window, "p": p})


CASES: list[Case] = [
    case
    for cases in [
        unary_cases,
        clip_cases,
        cast_cases,
        binary_cases,
        pow_cases,
        variadic_cases,
        where_cases,
        gemm_cases,
        matmul_cases,
        normalization_cases,
        softmax_cases,
        windowed_cases,
        pooling_cases,
        reshape_cases,
        transpose_cases,
        squeeze_cases,
        broadcast_cases,
        slice_cases,
        pad_cases,
        concat_split_cases,
        gather_cases,
        einsum_cases,
        scatter_cases,
        shape_cases,
        constant_cases,
        reduction_cases,
        extra_cases,
    ]
    for case in cases()
]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name()) for c in CASES])
def test_op_matches_onnxruntime(case: Case) -> None:
    check(case)


NEWER_THAN_OPSET = {"CumProd", "BitCast"}
"""Ops onnxruntime lacks at opset 21: tests/test_nn_to_linalg_extra.py checks their reference
kernels against onnx's reference evaluator."""


def test_every_op_has_cases() -> None:
    covered = {ONNX_OPS[case.op_type] for case in CASES}
    newer = {ONNX_OPS[op_type] for op_type in NEWER_THAN_OPSET if op_type in ONNX_OPS}
    assert covered == set(ALL_OPS) - {WeightOp, RangeCheckOp} - newer


# -- the default Split: no sizes, one equal part per result -----------------------------------


def _unverified_op(text: str) -> NnOperation:
    """The one nn op of a function, parsed but not verified."""
    module = Parser(terrace_context(), text).parse_module()
    return next(op for op in module.walk() if isinstance(op, NnOperation))


def test_split_without_sizes_makes_equal_parts() -> None:
    x = rand(6, 4)
    expected = onnxruntime_results(Case("Split", [x], {"num_outputs": 3}, outputs=3))
    text = nn_module_text(Case("Split", [x], outputs=3), expected)
    op = _unverified_op(text)
    for ours, theirs in zip(evaluate(op, [x]), expected, strict=True):
        assert_matches(ours, theirs)


def test_split_without_sizes_verifies() -> None:
    x = rand(6, 4)
    expected = onnxruntime_results(Case("Split", [x], {"num_outputs": 3}, outputs=3))
    module = parse_module(nn_module_text(Case("Split", [x], outputs=3), expected))
    for ours, theirs in zip(run_function(module, [x]), expected, strict=True):
        np.testing.assert_array_equal(ours, theirs)


# -- properties: shapes, broadcasting and axes drawn at random --------------------------------

PROPERTY_SETTINGS = settings(max_examples=100, deadline=None)


def _seeded(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _operand(
    op_type: str, shape: tuple[int, ...], dtype: type, rng: np.random.Generator
) -> np.ndarray:
    """A right-hand operand that keeps the op defined: no integer division by zero, no negative
    integer powers."""
    if op_type == "Div":
        magnitude = rng.integers(1, 5, size=shape)
        return np.asarray(np.where(rng.random(shape) < 0.5, magnitude, -magnitude), dtype)
    if op_type == "Pow":
        return np.asarray(rng.integers(0, 4, size=shape), dtype)
    return np.asarray(rng.integers(-4, 5, size=shape), dtype)


@PROPERTY_SETTINGS
@given(
    op_type=st.sampled_from([*ARITHMETIC, "Pow", *COMPARISONS]),
    shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=4, max_side=3),
    dtype=st.sampled_from([np.float32, np.float64, np.int32, np.int64]),
    seed=st.integers(0, 2**32 - 1),
)
def test_binary_broadcasting(op_type, shapes, dtype, seed) -> None:
    rng = _seeded(seed)
    lhs_shape, rhs_shape = shapes.input_shapes
    lhs = np.asarray(rng.integers(-9, 10, size=lhs_shape), dtype)
    check(Case(op_type, [lhs, _operand(op_type, rhs_shape, dtype, rng)]))


@PROPERTY_SETTINGS
@given(
    op_type=st.sampled_from([*VARIADIC, *LOGICAL, "Where"]),
    shapes=hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=4, max_side=3),
    count=st.integers(1, 3),
    seed=st.integers(0, 2**32 - 1),
)
def test_variadic_broadcasting(op_type, shapes, count, seed) -> None:
    rng = _seeded(seed)
    booleans = [np.asarray(rng.random(s) < 0.5) for s in shapes.input_shapes]
    floats = [np.asarray(rng.standard_normal(s), np.float32) for s in shapes.input_shapes]
    if op_type == "Where":
        check(Case(op_type, [booleans[0], floats[1], floats[2]]))
    elif op_type in LOGICAL:
        check(Case(op_type, booleans[:2]))
    else:
        check(Case(op_type, floats[:count]))


@st.composite
def shape_and_axes(draw: st.DrawFn, min_dims: int = 1) -> tuple[tuple[int, ...], list[int]]:
    """A shape and a list of distinct axes of it, each possibly negative."""
    shape = draw(hnp.array_shapes(min_dims=min_dims, max_dims=4, min_side=1, max_side=4))
    axes = draw(st.lists(st.integers(0, len(shape) - 1), unique=True, max_size=len(shape)))
    negate = draw(st.lists(st.booleans(), min_size=len(axes), max_size=len(axes)))
    return shape, [a - len(shape) if n else a for a, n in zip(axes, negate, strict=True)]


@PROPERTY_SETTINGS
@given(
    op_type=st.sampled_from(REDUCTIONS),
    shape_axes=shape_and_axes(),
    keepdims=st.integers(0, 1),
    noop=st.integers(0, 1),
    dtype=st.sampled_from([np.float32, np.int64]),
    seed=st.integers(0, 2**32 - 1),
)
def test_reductions(op_type, shape_axes, keepdims, noop, dtype, seed) -> None:
    shape, axes = shape_axes
    # integer products of up to 256 factors: -1, 0 and 1 only, as int64 overflow is left
    # undefined by ONNX (onnxruntime saturates, the reference wraps)
    high = 2 if op_type == "ReduceProd" and dtype == np.int64 else 10
    data = np.asarray(_seeded(seed).integers(1 - high, high, size=shape), dtype)
    inputs: list[Input] = [data, ints(*axes) if axes else None]
    attributes = {"keepdims": keepdims, "noop_with_empty_axes": noop}
    check(Case(op_type, inputs, attributes), atol_scale=10)


@PROPERTY_SETTINGS
@given(
    op_type=st.sampled_from(["Softmax", "LogSoftmax", "ArgMax", "ArgMin", "Flatten"]),
    shape_axes=shape_and_axes().filter(lambda shape_axes: len(shape_axes[1]) > 0),
    seed=st.integers(0, 2**32 - 1),
)
def test_one_axis(op_type, shape_axes, seed) -> None:
    shape, axes = shape_axes
    data = np.asarray(_seeded(seed).standard_normal(shape), np.float32)
    check(Case(op_type, [data], {"axis": axes[0]}))


_BOUNDS = st.one_of(st.integers(-7, 7), st.sampled_from([INT64_MAX, INT64_MIN]))
# onnxruntime reads an INT64_MAX end with a negative step as "through index 0"; ONNX (its spec,
# its shape inference and its reference) clamps it to the last index, which makes the slice empty.
_BOUNDS_BACKWARD = st.one_of(st.integers(-7, 7), st.just(INT64_MIN))


@st.composite
def slices(draw: st.DrawFn) -> tuple[tuple[int, ...], list[Const | None]]:
    shape, axes = draw(shape_and_axes().filter(lambda shape_axes: len(shape_axes[1]) > 0))
    count = len(axes)
    steps = draw(st.lists(st.sampled_from([-3, -2, -1, 1, 2, 3]), min_size=count, max_size=count))
    starts = draw(st.lists(_BOUNDS, min_size=count, max_size=count))
    ends = [draw(_BOUNDS if step > 0 else _BOUNDS_BACKWARD) for step in steps]
    return shape, [ints(*starts), ints(*ends), ints(*axes), ints(*steps)]


@PROPERTY_SETTINGS
@given(shape_bounds=slices(), seed=st.integers(0, 2**32 - 1))
def test_slice(shape_bounds, seed) -> None:
    shape, bounds = shape_bounds
    data = np.asarray(_seeded(seed).standard_normal(shape), np.float32)
    check(Case("Slice", [data, *bounds]))


@st.composite
def pads_of(draw: st.DrawFn, shape: tuple[int, ...]) -> list[int]:
    """Pads that crop at most one element per side, leaving at least two (onnxruntime's reflect
    needs two), and pad by at most the cropped extent less one (reflection reads that many)."""
    begins: list[int] = []
    ends: list[int] = []
    for size in shape:
        crop_begin, crop_end = draw(st.integers(0, 1)), draw(st.integers(0, 1))
        room = size - crop_begin - crop_end - 1
        begins.append(-crop_begin if crop_begin else draw(st.integers(0, room)))
        ends.append(-crop_end if crop_end else draw(st.integers(0, room)))
    return begins + ends


@PROPERTY_SETTINGS
@given(
    shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=4, max_side=5),
    mode=st.sampled_from(["constant", "reflect", "edge", "wrap"]),
    data=st.data(),
)
def test_pad(shape, mode, data) -> None:
    pads = data.draw(pads_of(shape))
    x = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    check(Case("Pad", [x, ints(*pads)], {"mode": mode}))


@PROPERTY_SETTINGS
@given(
    m=st.integers(1, 5),
    k=st.integers(1, 5),
    n=st.integers(1, 5),
    trans_a=st.integers(0, 1),
    trans_b=st.integers(0, 1),
    c_shape=st.sampled_from(["none", "mn", "n", "m1", "scalar"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_gemm(m, k, n, trans_a, trans_b, c_shape, seed) -> None:
    rng = _seeded(seed)
    a = np.asarray(rng.standard_normal((k, m) if trans_a else (m, k)), np.float32)
    b = np.asarray(rng.standard_normal((n, k) if trans_b else (k, n)), np.float32)
    c_shapes = {"mn": (m, n), "n": (n,), "m1": (m, 1), "scalar": ()}
    c = (
        [np.asarray(rng.standard_normal(c_shapes[c_shape]), np.float32)]
        if c_shape != "none"
        else []
    )
    attributes = {"transA": trans_a, "transB": trans_b, "alpha": 0.75, "beta": 1.25}
    check(Case("Gemm", [a, b, *c], attributes), atol_scale=k)


@PROPERTY_SETTINGS
@given(
    shapes=hnp.mutually_broadcastable_shapes(
        signature=np.matmul.signature,
        max_dims=3,
        max_side=4,  # pyright: ignore
    ),
    seed=st.integers(0, 2**32 - 1),
)
def test_matmul(shapes, seed) -> None:
    rng = _seeded(seed)
    a, b = (np.asarray(rng.standard_normal(s), np.float32) for s in shapes.input_shapes)
    check(Case("MatMul", [a, b]), atol_scale=4)


@PROPERTY_SETTINGS
@given(shape=hnp.array_shapes(min_dims=1, max_dims=5, max_side=3), data=st.data())
def test_transpose_and_squeeze(shape, data) -> None:
    x = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    perm = data.draw(st.permutations(range(len(shape))))
    check(Case("Transpose", [x], {"perm": list(perm)}))
    ones = [axis for axis, size in enumerate(shape) if size == 1]
    squeezed = data.draw(st.lists(st.sampled_from(ones), unique=True) if ones else st.just([]))
    check(Case("Squeeze", [x, ints(*squeezed) if squeezed else None]))
    inserted = data.draw(st.lists(st.integers(-len(shape) - 1, len(shape)), min_size=1, max_size=1))
    check(Case("Unsqueeze", [x, ints(*inserted)]))
