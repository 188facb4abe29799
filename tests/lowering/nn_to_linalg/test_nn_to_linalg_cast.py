"""convert-nn-to-linalg of cast and bit_cast (lowering/nn_to_linalg/cast.py), differentially:
cast as a one-op nn module run by the nn interpreter and, lowered, by xDSL's interpreter
(nn_one_op.py); bit_cast as a one-node ONNX model imported to nn, run both ways and checked
against onnx's reference evaluator too (node_checks.py)."""

from __future__ import annotations

import numpy as np
import pytest
from nn_one_op import CAST_TARGETS, check_one_op
from node_checks import check_lowered
from onnx import TensorProto, helper

CAST_SOURCES = [
    np.array([-2.7, -0.5, 0.0, 0.4, 1.5, 3.9], np.float32),
    np.array([-2.7, -0.5, 0.0, 0.4, 1.5, 300.9], np.float64),
    np.array([-120, -1, 0, 1, 7, 127], np.int8),
    np.array([-70000, -1, 0, 1, 255, 70000], np.int32),
    np.array([0, 1, 2, 127, 128, 255], np.uint8),
    np.array([True, False, True, True, False, False]),
]


@pytest.mark.parametrize("to", sorted(CAST_TARGETS))
@pytest.mark.parametrize("source", range(len(CAST_SOURCES)))
def test_cast(source: int, to: int) -> None:
    x = CAST_SOURCES[source]
    target = np.dtype(CAST_TARGETS[to])
    in_range = np.issubdtype(target, np.floating) or target == np.bool_
    if not in_range and np.issubdtype(x.dtype, np.floating):
        # out-of-range float-to-int conversions are undefined (numpy's astype too)
        info = np.iinfo(target)
        x = np.clip(x, info.min, info.max).astype(x.dtype)
    if target == np.uint8 and x.dtype != np.bool_:
        # negative to unsigned is undefined; tests/linalg_exec.py does not yet store unsigned
        # values of 128 and more (it keeps integers signed), so stay below
        x = np.clip(np.abs(x), 0, 127).astype(x.dtype)
    check_one_op("nn.cast", [x], f"to = {to} : i64", rtol=1e-3)


@pytest.mark.parametrize(
    ("x", "to"),
    [
        (np.array([1.5, -0.0, np.inf], np.float32), TensorProto.INT32),
        (np.array([True, False]), TensorProto.UINT8),
        (np.array([0, 1, 7], np.uint8), TensorProto.BOOL),
    ],
)
def test_bit_cast(x: np.ndarray, to: int):
    check_lowered(helper.make_node("BitCast", ["x"], ["y"], to=to), {"x": x}, opset=26)
