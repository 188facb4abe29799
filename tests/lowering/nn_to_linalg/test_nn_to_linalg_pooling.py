"""convert-nn-to-linalg of lp_pool (lowering/nn_to_linalg), differentially: a one-node ONNX model
imported to nn, run by the nn interpreter (the numpy reference kernels) and, lowered, by xDSL's
interpreter (tests/linalg_exec.py), both checked against onnx's reference evaluator."""

from __future__ import annotations

import numpy as np
import pytest
from node_checks import check_lowered as _check
from onnx import helper

RNG = np.random.default_rng(1)


# -- lp_pool ----------------------------------------------------------------------------------


@pytest.mark.parametrize("p", [1, 2, 3])
def test_lp_pool(p: int):
    x = RNG.standard_normal((1, 2, 5, 4)).astype(np.float32)
    node = helper.make_node("LpPool", ["x"], ["y"], kernel_shape=[2, 3], strides=[1, 2], p=p)
    _check(node, {"x": x}, rtol=1e-5)
