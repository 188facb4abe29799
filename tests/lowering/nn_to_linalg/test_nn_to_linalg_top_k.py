"""convert-nn-to-linalg of top_k (lowering/nn_to_linalg), differentially: a one-node ONNX model
imported to nn, run by the nn interpreter (the numpy reference kernels) and, lowered, by xDSL's
interpreter (tests/linalg_exec.py), both checked against onnx's reference evaluator."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from node_checks import check_lowered as _check
from onnx import helper

RNG = np.random.default_rng(1)


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
