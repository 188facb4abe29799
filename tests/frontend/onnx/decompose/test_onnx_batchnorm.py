"""BatchNormalization through the importer's rewrite (frontend/onnx/decompose/nn/normalization.py):
training mode (Y, running mean and variance from the batch's statistics) and inference mode, against
onnx's reference evaluator; the legacy spatial = 0 stays unsupported."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator

import terrace
from terrace.errors import UnsupportedModelError


def _model(shape: list[int], outputs: list[str], opset: int, **attributes: object):
    channels = shape[1]
    node = helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], outputs, **attributes)
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)]
    inputs += [helper.make_tensor_value_info(n, TensorProto.FLOAT, [channels]) for n in "sbmv"]
    results = [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in outputs if n]
    graph = helper.make_graph([node], "g", inputs, results)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def _feeds(shape: list[int]) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(len(shape))
    channels = shape[1]
    x = rng.standard_normal(shape).astype(np.float32) * 3 + 1
    x[0, 0] = 5.0  # one channel nearly constant: a tiny variance, epsilon matters
    feeds = {"x": x, "s": rng.standard_normal(channels).astype(np.float32)}
    feeds["b"] = rng.standard_normal(channels).astype(np.float32)
    feeds["m"] = rng.standard_normal(channels).astype(np.float32)
    feeds["v"] = rng.random(channels).astype(np.float32) + 0.5
    return feeds


def _check(model: onnx.ModelProto, shape: list[int]) -> None:
    feeds = _feeds(shape)
    want = ReferenceEvaluator(model).run(None, feeds)
    got = terrace.compile(model, cache=False).run(feeds)
    assert len(got) == len(want)
    for value, expected in zip(got, want, strict=True):
        np.testing.assert_allclose(value, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape", [[1, 3, 1], [2, 3, 4, 5], [3, 2]])
def test_training_mode(shape: list[int]):
    model = _model(shape, ["y", "rm", "rv"], 15, training_mode=1, momentum=0.7, epsilon=1e-3)
    _check(model, shape)


def test_training_mode_without_running_statistics():
    shape = [2, 4, 3]
    _check(_model(shape, ["y", "", "rv"], 15, training_mode=1), shape)


@pytest.mark.parametrize("opset", [14, 15])
def test_inference_mode(opset: int):
    shape = [2, 3, 4]
    _check(_model(shape, ["y"], opset, epsilon=1e-2), shape)


def test_spatial_zero_is_unsupported():
    model = _model([2, 3, 4], ["y"], 7, spatial=0)
    with pytest.raises(UnsupportedModelError, match="spatial"):
        terrace.compile(model, cache=False)
