"""convert-nn-to-linalg of one_hot (lowering/nn_to_linalg), differentially: a one-node ONNX model
imported to nn, run by the nn interpreter (the numpy reference kernels) and, lowered, by xDSL's
interpreter (tests/linalg_exec.py), both checked against onnx's reference evaluator."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from node_checks import check_lowered as _check
from onnx import helper

RNG = np.random.default_rng(1)


# -- one_hot ----------------------------------------------------------------------------------


@pytest.mark.parametrize("axis", [-1, 0, 1])
@pytest.mark.parametrize("index_dtype", [np.int64, np.float32])
def test_one_hot(axis: int, index_dtype: Any):
    indices = np.array([[0, 3, -1], [-4, 7, 2]]).astype(index_dtype)
    node = helper.make_node("OneHot", ["indices", "depth", "values"], ["y"], axis=axis)
    inputs = {"indices": indices, "values": np.array([1.5, -3.0], np.float32)}
    _check(node, inputs, {"depth": np.array(5, np.int64)})
