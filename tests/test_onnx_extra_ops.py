"""Single-node ONNX models of the ops added for the conformance work (float Mod, CumSum and
CumProd, TopK, OneHot, LpPool, BitCast, bfloat16 element types): each is compiled and run,
and compared with onnx's reference evaluator, edge values included."""

from __future__ import annotations

from typing import Any

import ml_dtypes
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

import terrace

RNG = np.random.default_rng(0)


def _model(
    node: onnx.NodeProto,
    inputs: dict[str, np.ndarray],
    opset: int = 21,
    initializers: dict[str, np.ndarray] | None = None,
) -> onnx.ModelProto:
    graph = helper.make_graph(
        [node],
        "g",
        [
            helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape)
            for n, a in inputs.items()
        ],
        [helper.make_tensor_value_info(n, TensorProto.UNDEFINED, None) for n in node.output if n],
        initializer=[numpy_helper.from_array(a, n) for n, a in (initializers or {}).items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def _check(
    node: onnx.NodeProto,
    inputs: dict[str, np.ndarray],
    opset: int = 21,
    initializers: dict[str, np.ndarray] | None = None,
    rtol: float = 0.0,
    atol: float = 0.0,
) -> list[Any]:
    """Runs `node` on `inputs` in Terrace and in onnx's reference; the outputs must agree
    (exactly by default) in dtype, shape and value, NaNs equal."""
    model = _model(node, inputs, opset, initializers)
    expected = ReferenceEvaluator(model).run(None, inputs)
    actual = terrace.compile(model, cache=False).run(inputs)
    for want, got in zip(expected, actual, strict=True):
        want = np.asarray(want)
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_allclose(
            got.astype(np.float64), want.astype(np.float64), rtol=rtol, atol=atol
        )
        if rtol == atol == 0 and want.dtype.kind == "f":  # zeros' signs too
            numbers = ~np.isnan(want)
            assert np.array_equal(np.signbit(got[numbers]), np.signbit(want[numbers]))
    return actual


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


# -- CumSum and CumProd -----------------------------------------------------------------------


@pytest.mark.parametrize("op_type", ["CumSum", "CumProd"])
@pytest.mark.parametrize("exclusive", [0, 1])
@pytest.mark.parametrize("reverse", [0, 1])
@pytest.mark.parametrize(("shape", "axis"), [((5,), 0), ((3, 4), 0), ((3, 4), -1), ((2, 3, 4), 1)])
def test_cumulative(op_type: str, exclusive: int, reverse: int, shape: tuple[int, ...], axis: int):
    x = RNG.uniform(0.5, 1.5, shape).astype(np.float32)
    node = helper.make_node(op_type, ["x", "axis"], ["y"], exclusive=exclusive, reverse=reverse)
    axis_array = np.array(axis, np.int64)
    _check(node, {"x": x}, opset=26, initializers={"axis": axis_array}, rtol=1e-6)


@pytest.mark.parametrize("op_type", ["CumSum", "CumProd"])
@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.float64, np.float16])
def test_cumulative_types_and_an_int32_axis(op_type: str, dtype: Any):
    x = RNG.integers(-3, 4, (4, 6)).astype(dtype)
    node = helper.make_node(op_type, ["x", "axis"], ["y"], reverse=1)
    _check(node, {"x": x}, opset=26, initializers={"axis": np.array(1, np.int32)})


def test_cumulative_axis_from_a_graph_input_is_unsupported():
    node = helper.make_node("CumSum", ["x", "axis"], ["y"])
    inputs = {"x": np.ones(3, np.float32), "axis": np.array(0, np.int64)}
    with pytest.raises(terrace.errors.UnsupportedModelError, match="axis"):
        terrace.compile(_model(node, inputs), cache=False)


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


# -- TopK -------------------------------------------------------------------------------------


@pytest.mark.parametrize("largest", [0, 1])
@pytest.mark.parametrize(("shape", "axis", "k"), [((7,), 0, 3), ((3, 5), 0, 2), ((2, 6, 3), -2, 6)])
def test_top_k_ties_and_nans(largest: int, shape: tuple[int, ...], axis: int, k: int):
    x = RNG.integers(0, 3, shape).astype(np.float32)  # many ties
    x.reshape(-1)[::4] = np.nan
    x.reshape(-1)[1::5] = -0.0
    node = helper.make_node("TopK", ["x", "k"], ["values", "indices"], axis=axis, largest=largest)
    _check(node, {"x": x}, initializers={"k": np.array([k], np.int64)})


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint8, np.uint64, np.float16, np.float64])
def test_top_k_types(dtype: Any):
    x = RNG.integers(0, 200, (4, 9)).astype(dtype)
    node = helper.make_node("TopK", ["x", "k"], ["values", "indices"], sorted=0)
    _check(node, {"x": x}, initializers={"k": np.array([4], np.int64)})


def test_top_k_of_bfloat16():
    x = RNG.uniform(-2, 2, (3, 8)).astype(ml_dtypes.bfloat16)
    node = helper.make_node("TopK", ["x", "k"], ["values", "indices"], largest=0)
    _check(node, {"x": x}, opset=24, initializers={"k": np.array([3], np.int64)})


# -- OneHot -----------------------------------------------------------------------------------


@pytest.mark.parametrize("axis", [-1, 0, 1, -3])
@pytest.mark.parametrize("index_dtype", [np.int64, np.int32, np.uint8, np.float32])
def test_one_hot_negative_and_out_of_range_indices(axis: int, index_dtype: Any):
    raw = np.array([[0, 3, -1], [-4, 7, -9]])
    if index_dtype is np.uint8:
        raw = np.abs(raw)
    indices = raw.astype(index_dtype)
    node = helper.make_node("OneHot", ["indices", "depth", "values"], ["y"], axis=axis)
    values = np.array([-2.0, 5.0], np.float32)
    _check(node, {"indices": indices, "values": values}, initializers={"depth": np.array(4)})


def test_one_hot_float_depth_and_integer_values():
    indices = np.array([1.0, 2.5, -1.0, 9.0], np.float32)
    node = helper.make_node("OneHot", ["indices", "depth", "values"], ["y"])
    values = np.array([0, 1], np.int32)
    depth = np.array(10.0, np.float32)
    _check(node, {"indices": indices, "values": values}, initializers={"depth": depth})


# -- LpPool -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "attributes",
    [
        {"kernel_shape": [3, 3], "p": 2},
        {"kernel_shape": [2, 3], "p": 1, "strides": [2, 1], "pads": [1, 0, 1, 2]},
        {"kernel_shape": [3, 2], "p": 3, "dilations": [2, 1], "pads": [2, 1, 2, 1]},
        {"kernel_shape": [3, 3], "p": 2, "strides": [2, 2], "ceil_mode": 1},
        {"kernel_shape": [2, 2], "p": 4, "auto_pad": "SAME_LOWER"},
    ],
)
def test_lp_pool_matches_onnxruntime(attributes: dict[str, Any]):
    from onnx_models import run_onnxruntime

    x = RNG.standard_normal((2, 3, 7, 6)).astype(np.float32)
    node = helper.make_node("LpPool", ["x"], ["y"], **attributes)
    model = _model(node, {"x": x})
    model.graph.output[0].type.tensor_type.elem_type = TensorProto.FLOAT
    model.ir_version = 10  # opset 21's, which onnxruntime reads
    (expected,) = run_onnxruntime(model, {"x": x})
    (actual,) = terrace.compile(model, cache=False).run({"x": x})
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float16, np.float64])
def test_lp_pool_types_and_one_spatial_axis(dtype: Any):
    x = RNG.standard_normal((1, 2, 9)).astype(dtype)
    node = helper.make_node("LpPool", ["x"], ["y"], kernel_shape=[4], p=3, strides=[2])
    _check(node, {"x": x}, rtol=1e-3 if dtype == np.float16 else 1e-12)


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
