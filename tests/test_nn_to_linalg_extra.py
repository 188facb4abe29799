"""Differential tests of the convert-nn-to-linalg patterns of the nn ops added for ONNX
conformance (cum_sum, cum_prod, top_k, one_hot, lp_pool, bit_cast): each one-node ONNX model is
imported to nn, run through the nn interpreter (the numpy reference kernels) and, lowered,
through xDSL's interpreter (tests/linalg_exec.py); the results must agree. The reference
kernels are checked against onnx's reference evaluator on the same inputs."""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator
from xdsl.context import Context

from terrace.dialects.nn.interpreter import run_function
from terrace.frontend.onnx import import_model
from terrace.lowering.nn_to_linalg import ConvertNnToLinalgPass

from linalg_exec import run_linalg

RNG = np.random.default_rng(1)


def _model(
    node: onnx.NodeProto,
    inputs: dict[str, np.ndarray],
    initializers: dict[str, np.ndarray],
    opset: int,
) -> onnx.ModelProto:
    graph = helper.make_graph(
        [node],
        "g",
        [
            helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape)
            for n, a in inputs.items()
        ],
        [helper.make_tensor_value_info(n, TensorProto.UNDEFINED, None) for n in node.output],
        initializer=[numpy_helper.from_array(a, n) for n, a in initializers.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def _check(
    node: onnx.NodeProto,
    inputs: dict[str, np.ndarray],
    initializers: dict[str, np.ndarray] | None = None,
    opset: int = 21,
    rtol: float = 1e-6,
) -> None:
    """nn reference == onnx's reference, and lowered == nn reference."""
    model = _model(node, inputs, initializers or {}, opset)
    module = import_model(model).module
    arrays = list(inputs.values())
    expected = run_function(module, arrays)
    lowered = module.clone()
    ConvertNnToLinalgPass().apply(Context(), lowered)
    lowered.verify()
    actual = run_linalg(lowered, arrays)
    onnx_expected = ReferenceEvaluator(model).run(None, inputs)
    for want, reference, got in zip(onnx_expected, expected, actual, strict=True):
        want = np.asarray(want)
        for result in (reference, got):
            assert result.dtype == want.dtype and result.shape == want.shape
            np.testing.assert_allclose(
                result.astype(np.float64), want.astype(np.float64), rtol=rtol
            )


# -- cum_sum and cum_prod ---------------------------------------------------------------------


@pytest.mark.parametrize("op_type", ["CumSum", "CumProd"])
@pytest.mark.parametrize(("exclusive", "reverse"), [(0, 0), (1, 0), (0, 1), (1, 1)])
@pytest.mark.parametrize("dtype", [np.float32, np.int64])
def test_cumulative(op_type: str, exclusive: int, reverse: int, dtype: Any):
    x = RNG.integers(1, 4, (2, 3, 4)).astype(dtype)
    node = helper.make_node(op_type, ["x", "axis"], ["y"], exclusive=exclusive, reverse=reverse)
    _check(node, {"x": x}, {"axis": np.array(-2, np.int64)}, opset=26)


# -- top_k ------------------------------------------------------------------------------------


@pytest.mark.parametrize("largest", [0, 1])
@pytest.mark.parametrize("dtype", [np.float32, np.int32])
def test_top_k(largest: int, dtype: Any):
    x = RNG.integers(-3, 3, (3, 7)).astype(dtype)  # ties
    node = helper.make_node("TopK", ["x", "k"], ["values", "indices"], largest=largest)
    _check(node, {"x": x}, {"k": np.array([4], np.int64)})


def test_top_k_nan_is_the_largest():
    x = np.array([[1.0, np.nan, 3.0, np.nan, -1.0]], np.float32)
    for largest in (0, 1):
        node = helper.make_node("TopK", ["x", "k"], ["v", "i"], axis=1, largest=largest)
        _check(node, {"x": x}, {"k": np.array([5], np.int64)})


# -- one_hot ----------------------------------------------------------------------------------


@pytest.mark.parametrize("axis", [-1, 0, 1])
@pytest.mark.parametrize("index_dtype", [np.int64, np.float32])
def test_one_hot(axis: int, index_dtype: Any):
    indices = np.array([[0, 3, -1], [-4, 7, 2]]).astype(index_dtype)
    node = helper.make_node("OneHot", ["indices", "depth", "values"], ["y"], axis=axis)
    inputs = {"indices": indices, "values": np.array([1.5, -3.0], np.float32)}
    _check(node, inputs, {"depth": np.array(5, np.int64)})


# -- lp_pool ----------------------------------------------------------------------------------


@pytest.mark.parametrize("p", [1, 2, 3])
def test_lp_pool(p: int):
    x = RNG.standard_normal((1, 2, 5, 4)).astype(np.float32)
    node = helper.make_node("LpPool", ["x"], ["y"], kernel_shape=[2, 3], strides=[1, 2], p=p)
    _check(node, {"x": x}, rtol=1e-5)


# -- bit_cast ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("x", "to"),
    [
        (np.array([1.5, -0.0, np.inf], np.float32), TensorProto.INT32),
        (np.array([True, False]), TensorProto.UINT8),
        (np.array([0, 1, 7], np.uint8), TensorProto.BOOL),
    ],
)
def test_bit_cast(x: np.ndarray, to: int):
    _check(helper.make_node("BitCast", ["x"], ["y"], to=to), {"x": x}, opset=26)
