"""MatMulInteger, ConvInteger, QLinearMatMul and QLinearConv, rewritten by the importer
(frontend/onnx/decompose/quantization/integer.py), against onnx's reference evaluator bit for bit:
saturating values, ties that round half to even, float16 scales, per-channel weight scales and zero
points."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

import terrace


def _model(
    node: onnx.NodeProto, inputs: dict[str, np.ndarray], constants: dict[str, np.ndarray]
) -> onnx.ModelProto:
    graph = helper.make_graph(
        [node],
        "g",
        [
            helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape)
            for n, a in inputs.items()
        ],
        [helper.make_tensor_value_info(node.output[0], TensorProto.UNDEFINED, None)],
        initializer=[numpy_helper.from_array(a, n) for n, a in constants.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])


def _check(
    node: onnx.NodeProto, inputs: dict[str, np.ndarray], constants: dict[str, np.ndarray]
) -> None:
    model = _model(node, inputs, constants)
    (want,) = ReferenceEvaluator(model).run(None, inputs)
    (got,) = terrace.compile(model, cache=False).run(inputs)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


def _random(dtype: type, shape: tuple[int, ...], seed: int) -> np.ndarray:
    info = np.iinfo(dtype)
    return np.random.default_rng(seed).integers(info.min, info.max + 1, shape).astype(dtype)


@pytest.mark.parametrize("dtype", [np.int8, np.uint8])
def test_matmul_integer(dtype: type):
    a, b = _random(dtype, (2, 3, 5), 0), _random(dtype, (5, 4), 1)
    zeros = {"a_zero": np.array(dtype(3)), "b_zero": np.array([dtype(1)] * 4)}
    node = helper.make_node("MatMulInteger", ["a", "b", "a_zero", "b_zero"], ["y"])
    _check(node, {"a": a, "b": b}, zeros)


@pytest.mark.parametrize("dtype", [np.int8, np.uint8])
@pytest.mark.parametrize("scale_type", [np.float32, np.float16])
def test_qlinear_matmul_saturates_and_rounds_half_even(dtype: type, scale_type: type):
    a, b = _random(dtype, (3, 4), 2), _random(dtype, (4, 5), 3)
    a[0, :] = np.iinfo(dtype).max  # saturates
    b[:, 0] = 1
    node = helper.make_node("QLinearMatMul", ["a", "sa", "za", "b", "sb", "zb", "sy", "zy"], ["y"])
    constants = {
        # 0.5 * 1 / 1 makes every odd product a tie
        "sa": np.array([0.5], scale_type),
        "za": np.array([dtype(2)]),
        "sb": np.array([1.0], scale_type),
        "zb": np.array([dtype(0)]),
        "sy": np.array([1.0], scale_type),
        "zy": np.array([dtype(5)]),
    }
    _check(node, {"a": a, "b": b}, constants)
    constants.update(sa=np.array([0.0137], scale_type), sy=np.array([0.3], scale_type))
    _check(node, {"a": a, "b": b}, constants)


@pytest.mark.parametrize("dtype", [np.int8, np.uint8])
def test_conv_integer_per_channel_zero_point(dtype: type):
    x, w = _random(dtype, (1, 2, 5, 5), 4), _random(dtype, (3, 2, 3, 3), 5)
    node = helper.make_node(
        "ConvInteger", ["x", "w", "zx", "zw"], ["y"], pads=[1, 0, 1, 2], strides=[2, 1]
    )
    constants = {"zx": np.array(dtype(7)), "zw": np.array([1, 2, 3], dtype)}
    _check(node, {"x": x, "w": w}, constants)


@pytest.mark.parametrize("dtype", [np.int8, np.uint8])
def test_qlinear_conv_bias_and_per_channel_scale(dtype: type):
    x, w = _random(dtype, (1, 2, 6, 6), 6), _random(dtype, (4, 1, 3, 3), 7)
    node = helper.make_node(
        "QLinearConv",
        ["x", "sx", "zx", "w", "sw", "zw", "sy", "zy", "bias"],
        ["y"],
        group=2,
        pads=[1, 1, 1, 1],
        dilations=[1, 2],
    )
    constants = {
        "sx": np.array(0.02, np.float32),
        "zx": np.array(dtype(3)),
        "sw": np.array([0.5, 0.01, 0.003, 0.25], np.float32),
        "zw": np.array(dtype(0)),
        "sy": np.array(0.05, np.float32),
        "zy": np.array(dtype(9)),
        "bias": np.array([100, -3000, 7, 0], np.int32),
    }
    _check(node, {"x": x, "w": w}, constants)
