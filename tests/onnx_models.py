"""Test helpers for ONNX models: the light models onnx ships, with random weights, and
onnxruntime as the oracle."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# The light models and their random weights are shared with the benchmarks.
from terrace.benchmarks.light_models import (
    LIGHT_DIR,
    LIGHT_MODELS,
    light_model,
    randomize_weights,
)

__all__ = [
    "LIGHT_DIR",
    "LIGHT_MODELS",
    "assert_close_to_reference",
    "float_graph_model",
    "float_model",
    "gather_model",
    "light_model",
    "randomize_weights",
    "run_onnxruntime",
]


def float_graph_model(
    nodes: list[onnx.NodeProto],
    inputs: dict[str, Sequence[int]],
    weights: list[onnx.TensorProto],
) -> onnx.ModelProto:
    """An opset-17 model of `nodes` over float inputs of the given shapes and `weights`, with
    one output `out` of inferred shape."""
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, list(s)) for n, s in inputs.items()],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, None)],
        weights,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    return onnx.shape_inference.infer_shapes(model)


def run_onnxruntime(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    return [np.asarray(r) for r in session.run(None, feeds)]


def assert_close_to_reference(
    actual: np.ndarray, expected: np.ndarray, scale: float = 1e-4
) -> None:
    """Max absolute error at most `scale` of the expected output's largest magnitude."""
    assert actual.shape == expected.shape
    bound = scale * max(float(np.max(np.abs(expected))), np.finfo(np.float32).tiny)
    error = float(np.max(np.abs(actual.astype(np.float64) - expected.astype(np.float64))))
    assert error <= bound, f"max abs error {error:.3g} > {bound:.3g}"


def float_model(
    nodes: list[onnx.NodeProto],
    inputs: dict[str, list[int]],
    outputs: dict[str, list[int]],
    weights: dict[str, np.ndarray],
    name: str = "model",
) -> onnx.ModelProto:
    """A float32 graph of `nodes` at opset 21: inputs and outputs by name and shape, weights as
    initializers."""
    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs.items()],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in outputs.items()],
        [numpy_helper.from_array(a, n) for n, a in weights.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])


def gather_model(name: str) -> onnx.ModelProto:
    """y = Gather(W[4, 3], indices) on axis 0: its indices are checked at run time."""
    table = np.arange(12, dtype=np.float32).reshape(4, 3)
    graph = helper.make_graph(
        [helper.make_node("Gather", ["W", name], ["y"], name="lookup", axis=0)],
        "g",
        [helper.make_tensor_value_info(name, TensorProto.INT64, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])],
        [numpy_helper.from_array(table, "W")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
