"""Single-node ONNX models of the reduction family's ops (CumSum and CumProd, TopK): each is
compiled and run, and compared with onnx's reference evaluator, edge values included."""

from __future__ import annotations

from typing import Any

import ml_dtypes
import numpy as np
import pytest
from node_checks import check_compiled as _check
from node_checks import compiled_model as _model
from onnx import helper

import terrace

RNG = np.random.default_rng(0)


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
