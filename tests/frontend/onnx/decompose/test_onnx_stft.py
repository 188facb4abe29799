"""STFT, rewritten by the importer into frames, window weights and DFT
(frontend/onnx/decompose/signal/stft.py), against onnx's reference evaluator: with and without a
window, one- and two-sided, complex signals, opsets before and after DFT's axis became an input."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

import terrace


def _model(
    signal: np.ndarray, step: int, window: np.ndarray | None, length: int | None, **attributes: int
) -> onnx.ModelProto:
    constants = [numpy_helper.from_array(np.array(step, np.int64), "step")]
    inputs = ["signal", "step", "", ""]
    if window is not None:
        constants.append(numpy_helper.from_array(window, "window"))
        inputs[2] = "window"
    if length is not None:
        constants.append(numpy_helper.from_array(np.array(length, np.int64), "length"))
        inputs[3] = "length"
    opset = attributes.pop("opset", 17)
    node = helper.make_node("STFT", inputs, ["y"], **attributes)
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("signal", TensorProto.FLOAT, signal.shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=constants,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


@pytest.mark.parametrize(
    ("parts", "step", "window_length", "length", "attributes"),
    [
        (1, 4, 8, None, {}),
        (1, 3, None, 10, {"onesided": 0}),
        (1, 5, 6, 6, {"opset": 21}),
        (2, 4, 8, 8, {"onesided": 0}),
    ],
)
def test_against_reference(
    parts: int, step: int, window_length: int | None, length: int | None, attributes: dict[str, int]
):
    rng = np.random.default_rng(step)
    signal = rng.standard_normal((2, 32, parts)).astype(np.float32)
    window = None
    if window_length is not None:
        window = np.hanning(window_length).astype(np.float32)
    model = _model(signal, step, window, length, **attributes)
    (want,) = ReferenceEvaluator(model).run(None, {"signal": signal})
    (got,) = terrace.compile(model, cache=False).run({"signal": signal})
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
