"""convert-nn-to-linalg of bit_cast (lowering/nn_to_linalg), differentially: a one-node ONNX model
imported to nn, run by the nn interpreter (the numpy reference kernels) and, lowered, by xDSL's
interpreter (tests/linalg_exec.py), both checked against onnx's reference evaluator."""

from __future__ import annotations

import numpy as np
import pytest
from node_checks import check_lowered as _check
from onnx import TensorProto, helper

RNG = np.random.default_rng(1)


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
