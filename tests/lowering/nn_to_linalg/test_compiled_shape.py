"""Single-node ONNX models of the shape family's ops (OneHot): each is compiled and run, and
compared with onnx's reference evaluator, edge values included."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from node_checks import check_compiled as _check
from onnx import helper

RNG = np.random.default_rng(0)


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
