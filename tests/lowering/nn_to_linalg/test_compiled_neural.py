"""Single-node ONNX models of the neural family's ops (LpPool): each is compiled and run, and
compared with onnx's reference evaluator, edge values included."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from node_checks import check_compiled as _check
from node_checks import compiled_model as _model
from onnx import TensorProto, helper

import terrace

RNG = np.random.default_rng(0)


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


# -- LayerNormalization and Softmax -----------------------------------------------------------


@pytest.mark.parametrize("axis", [-1, 2])
def test_layer_normalization_rows_match_onnx_reference(axis: int):
    """Rows as long as a transformer's (96 and 7 x 96): two reassociated sums, the deviation's
    reciprocal once per row. Rows far from zero (mean 1e3) keep their variance of 1: the sum's
    rounding (an ulp of 1e5, 0.008, over 96) is all they lose, where E[x^2] - E[x]^2 in f32
    would lose everything (ulps of 1e6)."""
    x = RNG.standard_normal((1, 5, 7, 96)).astype(np.float32)
    x[0, 1] += 1e3
    normalized = x.shape[axis % 4 :]
    scale = RNG.standard_normal(normalized).astype(np.float32)
    bias = RNG.standard_normal(normalized).astype(np.float32)
    node = helper.make_node("LayerNormalization", ["x", "s", "b"], ["y"], axis=axis)
    _check(node, {"x": x}, opset=17, initializers={"s": scale, "b": bias}, rtol=1e-3, atol=2e-3)


def test_softmax_rows_match_onnx_reference():
    x = (RNG.standard_normal((2, 3, 40)) * 10).astype(np.float32)
    x[0, 0, :] = -np.inf
    x[0, 0, 5] = 0.0  # one finite element: exactly 1 there, 0 elsewhere
    x[1, 2, 7] = np.nan  # the row's max skips it (maxnum), its outputs are all NaN still
    node = helper.make_node("Softmax", ["x"], ["y"], axis=-1)
    _check(node, {"x": x}, opset=13, rtol=1e-6, atol=1e-7)
