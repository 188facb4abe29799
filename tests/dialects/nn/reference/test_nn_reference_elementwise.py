"""The nn reference's elementwise kernels (`dialects/nn/reference/elementwise.py`) against
onnxruntime, case by case and as broadcasting properties (nn_reference_cases.py)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from nn_reference_cases import (
    FLOAT32_16,
    FLOATS,
    INTS,
    PROPERTY_SETTINGS,
    Case,
    Const,
    Inputs,
    check,
    seeded,
)
from onnx import TensorProto

_inputs = Inputs()
rand, positive, nonzero = _inputs.rand, _inputs.positive, _inputs.nonzero


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
    ]
    for case in cases()
]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name()) for c in CASES])
def test_op_matches_onnxruntime(case: Case) -> None:
    check(case)


# -- properties: shapes, broadcasting and axes drawn at random --------------------------------


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
    rng = seeded(seed)
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
    rng = seeded(seed)
    booleans = [np.asarray(rng.random(s) < 0.5) for s in shapes.input_shapes]
    floats = [np.asarray(rng.standard_normal(s), np.float32) for s in shapes.input_shapes]
    if op_type == "Where":
        check(Case(op_type, [booleans[0], floats[1], floats[2]]))
    elif op_type in LOGICAL:
        check(Case(op_type, booleans[:2]))
    else:
        check(Case(op_type, floats[:count]))
