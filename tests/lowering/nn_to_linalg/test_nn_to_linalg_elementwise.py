"""Differential tests of convert-nn-to-linalg on elementwise ops (lowering/nn_to_linalg/
elementwise.py): each one-op nn module runs through the nn interpreter (numpy reference kernels,
the oracle) and, converted, through xDSL's interpreter (nn_one_op.py); the results must agree on
random inputs."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from nn_one_op import BOOL_RESULTS, floats, ints, lower, one_op_module
from nn_one_op import check_one_op as _check
from xdsl.utils.exceptions import DiagnosticException

from linalg_exec import run_linalg

# ---------------------------------------------------------------------------------------------
# Unary.

_FLOAT_UNARY = [
    ("nn.relu", ""),
    ("nn.sigmoid", ""),
    ("nn.tanh", ""),
    ("nn.erf", ""),
    ("nn.exp", ""),
    ("nn.neg", ""),
    ("nn.abs", ""),
    ("nn.floor", ""),
    ("nn.ceil", ""),
    ("nn.reciprocal", ""),
    ("nn.leaky_relu", ""),
    ("nn.leaky_relu", "alpha = 0.3 : f64"),
    ("nn.elu", ""),
    ("nn.elu", "alpha = 0.5 : f64"),
    ("nn.clip", ""),
    ("nn.clip", "min = -1.0 : f64"),
    ("nn.clip", "max = 0.5 : f64"),
    ("nn.clip", "min = -1.0 : f64, max = 0.5 : f64"),
    ("nn.gelu", ""),
    ("nn.gelu", 'approximate = "tanh"'),
    ("nn.identity", ""),
    ("nn.dropout", ""),
]


@pytest.mark.parametrize(("op", "attributes"), _FLOAT_UNARY)
def test_float_unary(op: str, attributes: str) -> None:
    _check(op, [floats((2, 3), 1)], attributes, rtol=2e-6)


@pytest.mark.parametrize("op", ["nn.sqrt", "nn.log"])
def test_float_unary_positive(op: str) -> None:
    _check(op, [np.abs(floats((2, 3), 2)) + 0.1])


@pytest.mark.parametrize("dtype", [np.float64, np.float16])
@pytest.mark.parametrize("op", ["nn.sigmoid", "nn.gelu", "nn.elu", "nn.relu"])
def test_float_unary_other_widths(op: str, dtype: Any) -> None:
    _check(op, [floats((5,), 3, dtype)], rtol=1e-3 if dtype == np.float16 else 1e-12)


@pytest.mark.parametrize(
    "op", ["nn.sin", "nn.cos", "nn.tan", "nn.atan", "nn.sinh", "nn.cosh", "nn.asinh"]
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_trigonometric(op: str, dtype: Any) -> None:
    _check(op, [floats((2, 3), 30, dtype)], rtol=1e-5)


@pytest.mark.parametrize("op", ["nn.asin", "nn.acos", "nn.atanh"])
def test_inverse_trigonometric_in_domain(op: str) -> None:
    _check(op, [np.tanh(floats((2, 3), 31))], rtol=1e-5)


def test_acosh_in_domain() -> None:
    _check("nn.acosh", [np.abs(floats((2, 3), 32)) + 1], rtol=1e-5)


def test_round_ties_to_even_and_sign() -> None:
    x = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.4, -0.0, np.nan, np.inf], np.float32)
    _check("nn.round", [x])
    _check("nn.sign", [x])
    _check("nn.sign", [ints((6,), 33, np.int32)])
    _check("nn.sign", [np.array([0, 3, 200], np.uint8)])


def test_is_nan_and_is_inf() -> None:
    x = np.array([np.nan, np.inf, -np.inf, 0.0, -3.0], np.float32)
    _check("nn.is_nan", [x])
    _check("nn.is_inf", [x])
    _check("nn.is_inf", [x], "detect_negative = 0 : i64")
    _check("nn.is_inf", [x.astype(np.float16)], "detect_positive = 0 : i64")


def test_sigmoid_extremes_do_not_overflow() -> None:
    _check("nn.sigmoid", [np.array([-1000.0, -90.0, 0.0, 90.0, 1000.0], np.float32)])


def test_nan_propagates_through_relu_and_clip() -> None:
    x = np.array([np.nan, -1.0, 2.0], np.float32)
    _check("nn.relu", [x])
    _check("nn.clip", [x], "min = 0.0 : f64, max = 1.0 : f64")


@pytest.mark.parametrize(
    ("op", "attributes"),
    [
        ("nn.relu", ""),
        ("nn.neg", ""),
        ("nn.abs", ""),
        ("nn.clip", "min = -3.0 : f64, max = 7.0 : f64"),
    ],
)
@pytest.mark.parametrize("dtype", [np.int8, np.int64])
def test_integer_unary(op: str, attributes: str, dtype: Any) -> None:
    _check(op, [ints((6,), 4, dtype)], attributes)


def test_unsigned_clip() -> None:
    _check("nn.clip", [ints((6,), 5, np.uint8, low=0)], "min = 3.0 : f64, max = 11.0 : f64")


def test_not() -> None:
    _check("nn.not", [np.array([True, False, True])])


def test_float_op_on_integers_is_an_error_naming_the_op() -> None:
    module = one_op_module("nn.sqrt", [ints((3,), 0)], (3,), np.int32)
    with pytest.raises(DiagnosticException, match="nn.sqrt"):
        lower(module)


# ---------------------------------------------------------------------------------------------
# Binary, with broadcasting.

_BINARY = ["nn.add", "nn.sub", "nn.mul", "nn.div"]
_COMPARE = sorted(BOOL_RESULTS)


@st.composite
def _broadcast_pair(draw: st.DrawFn) -> tuple[tuple[int, ...], tuple[int, ...]]:
    shapes = draw(
        hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3)
    )
    return shapes.input_shapes[0], shapes.input_shapes[1]


@settings(max_examples=15, deadline=None)
@given(shapes=_broadcast_pair(), op=st.sampled_from(_BINARY + _COMPARE), seed=st.integers(0, 99))
def test_binary_broadcasting(
    shapes: tuple[tuple[int, ...], tuple[int, ...]], op: str, seed: int
) -> None:
    _check(op, [floats(shapes[0], seed), floats(shapes[1], seed + 1)])


@pytest.mark.parametrize("op", _BINARY + _COMPARE)
@pytest.mark.parametrize("dtype", [np.int32, np.uint8])
def test_integer_binary(op: str, dtype: Any) -> None:
    if dtype == np.uint8:
        # no wrap-around: tests/linalg_exec.py stores unsigned results below 128 only
        lhs = np.random.default_rng(6).integers(6, 12, (2, 3)).astype(dtype)
        rhs = np.random.default_rng(7).integers(1, 6, (3,)).astype(dtype)
    else:
        lhs, rhs = ints((2, 3), 6, dtype), ints((3,), 7, dtype)
        rhs[rhs == 0] = 3  # no division by zero
    _check(op, [lhs, rhs])


def test_integer_division_truncates_toward_zero() -> None:
    lhs = np.array([7, -7, 7, -7, 6], np.int64)
    rhs = np.array([2, 2, -2, -2, 4], np.int64)
    _check("nn.div", [lhs, rhs])


@pytest.mark.parametrize("fmod", [0, 1])
@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.int64])
def test_integer_mod_takes_the_divisor_or_dividend_sign(fmod: int, dtype: Any) -> None:
    info = np.iinfo(dtype)
    lhs = np.array([7, -7, 7, -7, 6, 0, info.min, info.min, 5], dtype)
    rhs = np.array([3, 3, -3, -3, 3, -4, -1, 7, 0], dtype)  # min % -1, x % 0: 0
    _check("nn.mod", [lhs, rhs], f"fmod = {fmod} : i64")


def test_unsigned_mod() -> None:
    lhs = np.array([[7, 9, 0], [100, 5, 6]], np.uint8)
    _check("nn.mod", [lhs, np.array([3, 0, 4], np.uint8)])


def test_float_mod_lowers_to_frem() -> None:
    # xDSL's interpreter has no llvm.frem: test_compiled_elementwise.py (beside this file) runs
    # it compiled
    module = one_op_module(
        "nn.mod", [floats((3,), 0), floats((3,), 1)], (3,), np.float32, "fmod = 1 : i64"
    )
    assert "llvm.frem" in [op.name for op in lower(module).walk()]


@pytest.mark.parametrize("op", ["nn.bitwise_and", "nn.bitwise_or", "nn.bitwise_xor"])
@pytest.mark.parametrize("dtype", [np.int8, np.int64])
def test_bitwise(op: str, dtype: Any) -> None:
    _check(op, [ints((2, 3), 20, dtype, low=-100), ints((3,), 21, dtype, low=-100)])


def test_bitwise_not() -> None:
    _check("nn.bitwise_not", [ints((2, 3), 22, np.int32, low=-100)])


@pytest.mark.parametrize("direction", ["LEFT", "RIGHT"])
@pytest.mark.parametrize("dtype", [np.int8, np.int32])
def test_bit_shift_out_of_range_leaves_the_sign(direction: str, dtype: Any) -> None:
    # opset 28: a negative amount or one of at least the width shifts everything out
    x = np.array([1, -1, 5, -100, 64, -128, 3, -3], dtype)
    amounts = np.array([0, 1, 2, 3, -1, -5, 8, 40], dtype)
    _check("nn.bit_shift", [x, amounts], f'direction = "{direction}"')


def test_bit_shift_semantics() -> None:
    x = np.array([1, -1, -100, 64, -3], np.int8)
    amounts = np.array([7, 3, 9, -1, 8], np.int8)
    right = one_op_module("nn.bit_shift", [x, amounts], (5,), np.int8, 'direction = "RIGHT"')
    left = one_op_module("nn.bit_shift", [x, amounts], (5,), np.int8, 'direction = "LEFT"')
    assert run_linalg(lower(right), [x, amounts])[0].tolist() == [0, -1, -1, 0, -1]
    assert run_linalg(lower(left), [x, amounts])[0].tolist() == [-128, -8, 0, 0, 0]


def test_comparisons_with_nan_are_false() -> None:
    x = np.array([np.nan, 1.0, np.nan], np.float32)
    y = np.array([1.0, np.nan, np.nan], np.float32)
    for op in _COMPARE:
        _check(op, [x, y])


@pytest.mark.parametrize("op", ["nn.and", "nn.or", "nn.xor", "nn.equal", "nn.less"])
def test_logical(op: str) -> None:
    x = np.array([[True, False, True, False]])
    y = np.array([[True], [False]])
    _check(op, [x, y])


def test_pow_float() -> None:
    _check("nn.pow", [np.abs(floats((2, 3), 8)) + 0.1, floats((3,), 9)], rtol=1e-5)


def test_pow_float_base_integer_exponent() -> None:
    _check("nn.pow", [floats((2, 3), 10), np.array([0, 1, 3], np.int64)], rtol=1e-5)


def test_pow_float_base_unsigned_exponent() -> None:
    _check("nn.pow", [floats((2, 3), 10), np.array([0, 1, 3], np.uint8)], rtol=1e-5)


def test_pow_integers() -> None:
    _check("nn.pow", [ints((2, 3), 11, np.int64), np.array([0, 1, 3], np.int64)])


def test_pow_integer_base_float_exponent() -> None:
    base = np.array([1, 2, 3, 4], np.int32)
    _check("nn.pow", [base, np.array([0.5, 2.0, 1.5, 3.0], np.float32)])


# ---------------------------------------------------------------------------------------------
# Variadic and where.


@pytest.mark.parametrize("op", ["nn.sum", "nn.mean", "nn.max", "nn.min"])
def test_variadic_float(op: str) -> None:
    inputs = [floats((2, 3), 12), floats((3,), 13), floats((2, 1), 14)]
    inputs[0][0, 0] = np.nan  # max and min propagate NaN, as numpy
    _check(op, inputs)


@pytest.mark.parametrize("op", ["nn.sum", "nn.mean", "nn.max", "nn.min"])
@pytest.mark.parametrize("dtype", [np.int32, np.uint8])
def test_variadic_integer(op: str, dtype: Any) -> None:
    low = 0 if dtype == np.uint8 else -20
    _check(op, [ints((4,), 15, dtype, low), ints((4,), 16, dtype, low)])


def test_single_input_variadic() -> None:
    _check("nn.max", [floats((3,), 17)])


@settings(max_examples=10, deadline=None)
@given(
    shapes=hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, max_side=3),
    seed=st.integers(0, 99),
)
def test_where_broadcasting(shapes: Any, seed: int) -> None:
    condition_shape, x_shape, y_shape = shapes.input_shapes
    condition = np.random.default_rng(seed).random(condition_shape) < 0.5
    _check("nn.where", [condition, floats(x_shape, seed), floats(y_shape, seed + 1)])
