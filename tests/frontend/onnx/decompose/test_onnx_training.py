"""Adagrad, Adam and Momentum of ai.onnx.preview.training, rewritten by the importer
(frontend/onnx/decompose/training/optimizers.py), against onnx's reference evaluator: the first step
(t = 0, no bias correction) and a later one, two tensors at once, float and double; Gradient stays
unsupported."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator

import terrace
from terrace.errors import UnsupportedModelError

DOMAIN = "ai.onnx.preview.training"

_STATES = {"Adagrad": 1, "Momentum": 1, "Adam": 2}
_ATTRIBUTES: dict[str, dict[str, object]] = {
    "Adagrad": {"norm_coefficient": 0.01, "decay_factor": 0.1, "epsilon": 1e-5},
    "Momentum": {"norm_coefficient": 0.02, "alpha": 0.9, "beta": 0.7, "mode": "standard"},
    "Adam": {"norm_coefficient": 0.01, "norm_coefficient_post": 0.02, "alpha": 0.8},
}


def _model(op: str, dtype: type, count: int, attributes: dict[str, object]) -> onnx.ModelProto:
    tensor_type = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    roles = ["x", "g", *[f"s{k}" for k in range(_STATES[op])]]
    inputs = [f"{role}{i}" for role in roles for i in range(count)]
    outputs = [f"{role}{i}_new" for role in [roles[0], *roles[2:]] for i in range(count)]
    node = helper.make_node(op, ["r", "t", *inputs], outputs, domain=DOMAIN, **attributes)
    shape = [2, 3]
    graph = helper.make_graph(
        [node],
        "g",
        [
            helper.make_tensor_value_info("r", TensorProto.FLOAT, []),
            helper.make_tensor_value_info("t", TensorProto.INT64, []),
            *[helper.make_tensor_value_info(n, tensor_type, shape) for n in inputs],
        ],
        [helper.make_tensor_value_info(n, tensor_type, shape) for n in outputs],
    )
    opsets = [helper.make_opsetid(DOMAIN, 1)]
    return helper.make_model(graph, opset_imports=opsets)


def _feeds(model: onnx.ModelProto, step: int, dtype: type) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(step)
    feeds = {"r": np.array(0.1, np.float32), "t": np.array(step, np.int64)}
    for value in model.graph.input[2:]:
        array = rng.standard_normal((2, 3)).astype(dtype)
        # the states of Adagrad's and Adam's squares are not negative
        feeds[value.name] = np.abs(array) if value.name.startswith("s") else array
    return feeds


@pytest.mark.parametrize("op", ["Adagrad", "Momentum", "Adam"])
@pytest.mark.parametrize("step", [0, 3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_optimizer_against_reference(op: str, step: int, dtype: type):
    count = 2 if dtype == np.float32 else 1  # the reference's Adam casts many to float32
    model = _model(op, dtype, count, _ATTRIBUTES[op])
    feeds = _feeds(model, step, dtype)
    want = ReferenceEvaluator(model).run(None, feeds)
    got = terrace.compile(model, cache=False).run(feeds)
    assert len(got) == len(want)
    for name, value, expected in zip(model.graph.output, got, want, strict=True):
        assert value.dtype == dtype, name.name
        np.testing.assert_allclose(value, expected, rtol=1e-5, atol=1e-7, err_msg=name.name)


def test_nesterov_momentum():
    attributes = {**_ATTRIBUTES["Momentum"], "mode": "nesterov"}
    model = _model("Momentum", np.float32, 1, attributes)
    for step in (0, 5):
        feeds = _feeds(model, step, np.float32)
        want = ReferenceEvaluator(model).run(None, feeds)
        got = terrace.compile(model, cache=False).run(feeds)
        for value, expected in zip(got, want, strict=True):
            np.testing.assert_allclose(value, expected, rtol=1e-5, atol=1e-7)


def test_other_ops_of_the_training_domain_are_unsupported():
    """(Gradient is supported: tests/frontend/onnx/decompose/test_onnx_gradient.py.)"""
    node = helper.make_node("Lamb", ["x"], ["dx"], domain=DOMAIN)
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("dx", TensorProto.FLOAT, [2])],
    )
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid(DOMAIN, 1)]
    model = helper.make_model(graph, opset_imports=opsets)
    with pytest.raises(UnsupportedModelError, match="domain"):
        terrace.compile(model, cache=False)
