"""Differential tests of convert-nn-to-linalg on reductions and normalizations: the nn
interpreter (numpy reference kernels) is the oracle, the converted module runs through xDSL's
interpreter (tests/linalg_exec.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp

from terrace.dialects.context import parse_module
from terrace.dialects.nn.interpreter import run_function
from terrace.lowering.nn_to_linalg import ConvertNnToLinalgPass

from linalg_exec import run_linalg, tensor_type

# ---------------------------------------------------------------------------------------------
# Helpers.


def _check(
    op: str,
    inputs: Sequence[np.ndarray],
    result_shape: Sequence[int],
    result_dtype: Any = None,
    attributes: str = "",
    rtol: float = 1e-5,
) -> None:
    """One nn op on the inputs: the reference and the lowered module must agree."""
    types = [tensor_type(x.shape, x.dtype) for x in inputs]
    result = tensor_type(result_shape, result_dtype or inputs[0].dtype)
    arguments = ", ".join(f"%a{i}: {t}" for i, t in enumerate(types))
    operands = ", ".join(f"%a{i}" for i in range(len(inputs)))
    attribute_text = f" {{{attributes}}}" if attributes else ""
    module = parse_module(
        f"func.func @main({arguments}) -> {result} {{\n"
        f"  %r = {op} {operands}{attribute_text} : ({', '.join(types)}) -> {result}\n"
        f"  func.return %r : {result}\n}}"
    )
    expected = run_function(module, inputs)[0]
    actual = run_linalg(_lower(module), inputs)[0]
    assert actual.shape == expected.shape
    assert actual.dtype == expected.dtype
    if np.issubdtype(expected.dtype, np.floating):
        np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol, equal_nan=True)
    else:
        np.testing.assert_array_equal(actual, expected)


def _lower(module: ModuleOp) -> ModuleOp:
    lowered = module.clone()
    ConvertNnToLinalgPass().apply(Context(), lowered)
    lowered.verify()
    assert not any(op.dialect_name() == "nn" for op in lowered.walk()), "nn ops left"
    return lowered


def _floats(shape: Sequence[int], seed: int, dtype: Any = np.float32) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 2, shape).astype(dtype)


def _reduced_shape(shape: Sequence[int], axes: Sequence[int], keepdims: bool) -> list[int]:
    normalized = {a % len(shape) for a in axes} if axes else set(range(len(shape)))
    return [
        1 if i in normalized else d for i, d in enumerate(shape) if keepdims or i not in normalized
    ]


def _axes_attribute(axes: Sequence[int]) -> str:
    return f"axes = array<i64: {', '.join(str(a) for a in axes)}>" if axes else ""


# ---------------------------------------------------------------------------------------------
# reduce_*.

_REDUCE = ["nn.reduce_sum", "nn.reduce_mean", "nn.reduce_prod", "nn.reduce_max", "nn.reduce_min"]


@st.composite
def _shape_and_axes(draw: st.DrawFn) -> tuple[tuple[int, ...], list[int]]:
    shape = tuple(draw(st.lists(st.integers(1, 3), min_size=1, max_size=3)))
    axes = draw(st.lists(st.integers(-len(shape), len(shape) - 1), max_size=len(shape)))
    unique = list({a % len(shape): a for a in axes}.values())
    return shape, unique


@settings(max_examples=25, deadline=None)
@given(
    shape_and_axes=_shape_and_axes(),
    op=st.sampled_from(_REDUCE),
    keepdims=st.booleans(),
    seed=st.integers(0, 99),
)
def test_reduce(
    shape_and_axes: tuple[tuple[int, ...], list[int]], op: str, keepdims: bool, seed: int
) -> None:
    shape, axes = shape_and_axes
    attributes = ", ".join(
        a for a in (_axes_attribute(axes), f"keepdims = {int(keepdims)} : i64") if a
    )
    result_shape = _reduced_shape(shape, axes, keepdims)
    _check(op, [_floats(shape, seed)], result_shape, attributes=attributes)


@pytest.mark.parametrize("op", _REDUCE)
def test_reduce_integers(op: str) -> None:
    x = np.random.default_rng(1).integers(-50, 50, (3, 4)).astype(np.int32)
    _check(op, [x], [3], attributes="axes = array<i64: 1>, keepdims = 0 : i64")


@pytest.mark.parametrize("op", _REDUCE)
def test_reduce_noop_with_empty_axes(op: str) -> None:
    _check(op, [_floats((2, 3), 2)], [2, 3], attributes="noop_with_empty_axes = 1 : i64")


@pytest.mark.parametrize("op", ["nn.reduce_max", "nn.reduce_min"])
def test_reduce_max_min_propagate_nan(op: str) -> None:
    x = _floats((2, 3), 3)
    x[1, 2] = np.nan
    _check(op, [x], [2, 1], attributes="axes = array<i64: 1>")


# ---------------------------------------------------------------------------------------------
# arg_max, arg_min.


@pytest.mark.parametrize("op", ["nn.arg_max", "nn.arg_min"])
@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("keepdims", [0, 1])
@pytest.mark.parametrize("last", [0, 1])
def test_arg_reduce_with_ties(op: str, axis: int, keepdims: int, last: int) -> None:
    x = np.random.default_rng(4).integers(0, 3, (3, 4)).astype(np.float32)  # many ties
    shape = _reduced_shape(x.shape, [axis], bool(keepdims))
    attributes = (
        f"axis = {axis} : i64, keepdims = {keepdims} : i64, select_last_index = {last} : i64"
    )
    _check(op, [x], shape, np.int64, attributes)


def test_arg_max_integers() -> None:
    x = np.random.default_rng(5).integers(-5, 5, (2, 5)).astype(np.int64)
    _check("nn.arg_max", [x], [2, 1], np.int64, "axis = 1 : i64")


def test_arg_max_picks_the_first_nan() -> None:
    x = np.array([[1.0, np.nan, 3.0, np.nan], [1.0, 2.0, 0.0, 2.0]], np.float32)
    _check("nn.arg_max", [x], [2, 1], np.int64, "axis = 1 : i64")


# ---------------------------------------------------------------------------------------------
# softmax, log_softmax.


@pytest.mark.parametrize("op", ["nn.softmax", "nn.log_softmax"])
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_softmax(op: str, axis: int) -> None:
    _check(op, [_floats((2, 3, 2), 6)], [2, 3, 2], attributes=f"axis = {axis} : i64")


@pytest.mark.parametrize("op", ["nn.softmax", "nn.log_softmax"])
def test_softmax_is_stable_for_large_inputs(op: str) -> None:
    x = np.array([[1000.0, 1001.0, 999.0], [-1000.0, -1002.0, -1001.0]], np.float32)
    _check(op, [x], [2, 3])


# ---------------------------------------------------------------------------------------------
# Normalizations, global pooling, LRN.


@pytest.mark.parametrize("axis", [-1, 1])
@pytest.mark.parametrize("with_bias", [False, True])
def test_layer_normalization(axis: int, with_bias: bool) -> None:
    x = _floats((2, 2, 3), 7) + 5.0
    normalized = x.shape[axis % 3 :]
    inputs = [x, _floats(normalized, 8)] + ([_floats(normalized, 9)] if with_bias else [])
    _check("nn.layer_normalization", inputs, x.shape, attributes=f"axis = {axis} : i64")


def test_layer_normalization_float16_computes_in_float32() -> None:
    x, scale = _floats((2, 4), 10, np.float16), _floats((4,), 11, np.float16)
    _check("nn.layer_normalization", [x, scale], x.shape, rtol=2e-3)


def test_batch_normalization() -> None:
    x = _floats((2, 3, 2, 2), 12)
    channel = [_floats((3,), s) for s in (13, 14, 15)]
    variance = np.abs(_floats((3,), 16)) + 0.5
    _check(
        "nn.batch_normalization",
        [x, *channel, variance],
        x.shape,
        attributes="epsilon = 0.001 : f64",
    )


@pytest.mark.parametrize("op", ["nn.global_average_pool", "nn.global_max_pool"])
@pytest.mark.parametrize("shape", [(2, 3, 4), (1, 2, 3, 2)])
def test_global_pool(op: str, shape: tuple[int, ...]) -> None:
    result = [*shape[:2], *[1] * (len(shape) - 2)]
    _check(op, [_floats(shape, 17)], result)


@pytest.mark.parametrize("size", [1, 2, 3, 4])
def test_lrn(size: int) -> None:
    x = _floats((1, 5, 2, 2), 18)
    attributes = f"size = {size} : i64, alpha = 0.01 : f64, beta = 0.6 : f64, bias = 2.0 : f64"
    _check("nn.lrn", [x], x.shape, attributes=attributes)
