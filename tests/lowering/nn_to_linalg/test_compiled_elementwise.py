"""Single-node ONNX models of the elementwise family's ops (Mod on floats, casts to and from
bfloat16, ops on bfloat16, BitCast): each is compiled and run, and compared with onnx's
reference evaluator, edge values included."""

from __future__ import annotations

from typing import Any

import ml_dtypes
import numpy as np
import pytest
from node_checks import check_compiled as _check
from node_checks import compiled_model as _model
from onnx import TensorProto, helper

import terrace

RNG = np.random.default_rng(0)


# -- Mod on floats ----------------------------------------------------------------------------

_MOD_EDGES = np.array(
    [5.0, -5.0, 5.0, -5.0, 0.0, -0.0, 4.0, -4.0, np.inf, -np.inf, 7.5, 1e30, 3.0, np.nan, 2.5],
)
_MOD_DIVISORS = np.array(
    [3.0, 3.0, -3.0, -3.0, 2.0, 2.0, -2.0, 2.0, 3.0, 3.0, np.inf, 7.0, 0.0, 1.0, -np.inf],
)


@pytest.mark.parametrize("fmod", [0, 1])
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_float_mod_matches_numpy_signs_and_edges(fmod: int, dtype: Any):
    node = helper.make_node("Mod", ["a", "b"], ["c"], fmod=fmod)
    with np.errstate(all="ignore"):  # 1e30 is inf in float16; x mod 0 is NaN
        a = np.concatenate([_MOD_EDGES, RNG.uniform(-100, 100, 17)]).astype(dtype)
        b = np.concatenate([_MOD_DIVISORS, RNG.uniform(-10, 10, 17)]).astype(dtype)
        _check(node, {"a": a, "b": b})


# -- bfloat16 ---------------------------------------------------------------------------------

_BF16_EDGES = np.array(
    [1.0, -2.5, 3.14159, 1e38, 3.4e38, -np.inf, np.nan, 0.0, -0.0, 1.00390625, 1.01171875, 1e-40],
    np.float32,
)


def test_cast_to_bfloat16_rounds_to_nearest_even():
    node = helper.make_node("Cast", ["x"], ["y"], to=TensorProto.BFLOAT16)
    (y,) = _check(node, {"x": _BF16_EDGES})
    bits = np.asarray(y).view(np.uint16)
    assert np.array_equal(bits, _BF16_EDGES.astype(ml_dtypes.bfloat16).view(np.uint16))


def test_cast_from_bfloat16_is_exact():
    x = _BF16_EDGES.astype(ml_dtypes.bfloat16)
    for to in (TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.FLOAT16, TensorProto.INT32):
        node = helper.make_node("Cast", ["x"], ["y"], to=to)
        finite = x if to != TensorProto.INT32 else x[np.isfinite(x) & (np.abs(x) < 1e9)]
        _check(node, {"x": finite})


@pytest.mark.parametrize(
    ("op_type", "attributes"),
    [
        ("Add", {}),
        ("Mul", {}),
        ("Max", {}),
        ("Div", {}),
        ("Greater", {}),
        ("Where", {}),
        ("MatMul", {}),
        ("Relu", {}),
        ("Exp", {}),
        ("Softmax", {"axis": -1}),
        ("ReduceSum", {"keepdims": 0}),
        ("ReduceMax", {"keepdims": 0}),
    ],
)
def test_bfloat16_ops_match_the_reference(op_type: str, attributes: dict[str, Any]):
    def bf16(*shape: int) -> np.ndarray:
        return RNG.uniform(-3, 3, shape).astype(ml_dtypes.bfloat16)

    inputs: dict[str, np.ndarray] = {"a": bf16(3, 4), "b": bf16(3, 4)}
    if op_type in ("Relu", "Exp", "Softmax", "ReduceSum", "ReduceMax"):
        inputs = {"a": bf16(3, 4)}
    if op_type == "MatMul":
        inputs = {"a": bf16(3, 5), "b": bf16(5, 4)}
    if op_type == "Where":
        inputs = {"c": RNG.random((3, 4)) < 0.5, "a": bf16(3, 4), "b": bf16(3, 4)}
    node = helper.make_node(op_type, list(inputs), ["y"], **attributes)
    # onnx's reference computes bf16 in bf16 steps: two bf16 ulps, as onnx's runner allows
    _check(node, inputs, rtol=2**-6, atol=2**-6)


# -- BitCast ----------------------------------------------------------------------------------

_BIT_CASTS = [
    (np.float32, TensorProto.INT32),
    (np.float32, TensorProto.UINT32),
    (np.int32, TensorProto.FLOAT),
    (np.float64, TensorProto.INT64),
    (np.uint64, TensorProto.DOUBLE),
    (np.float16, TensorProto.INT16),
    (np.uint16, TensorProto.FLOAT16),
    (np.uint16, TensorProto.BFLOAT16),
    (np.int8, TensorProto.UINT8),
    (np.bool_, TensorProto.UINT8),
    (np.bool_, TensorProto.INT8),
    (np.uint8, TensorProto.BOOL),
]


@pytest.mark.parametrize(("dtype", "to"), _BIT_CASTS)
def test_bit_cast_keeps_the_bits(dtype: Any, to: int):
    if dtype is np.bool_:
        x = RNG.random((3, 4)) < 0.5
    elif np.issubdtype(dtype, np.floating):
        x = np.array([0.0, -0.0, 1.5, -np.inf, np.nan, 1e-8], dtype)
    else:
        x = RNG.integers(0, 256, (3, 4)).astype(dtype)
    node = helper.make_node("BitCast", ["x"], ["y"], to=to)
    (y,) = _check(node, {"x": x}, opset=26)
    assert np.asarray(y).tobytes() == x.tobytes() or to == TensorProto.BOOL


def test_bit_cast_to_another_width_is_an_error():
    node = helper.make_node("BitCast", ["x"], ["y"], to=TensorProto.INT16)
    x = np.ones(4, np.float32)
    with pytest.raises(terrace.errors.ModelImportError, match="bit-width"):  # onnx's checker
        terrace.compile(_model(node, {"x": x}, opset=26), cache=False)
