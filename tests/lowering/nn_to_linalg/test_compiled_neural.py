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
