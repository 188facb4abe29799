"""Test helpers for ONNX models: the light models onnx ships, with random weights, and
onnxruntime as the oracle."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

LIGHT_DIR = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light"
LIGHT_MODELS = sorted(p.stem for p in LIGHT_DIR.glob("light_*.onnx"))


def light_model(name: str) -> onnx.ModelProto:
    return onnx.load(str(LIGHT_DIR / f"{name}.onnx"))


def randomize_weights(model: onnx.ModelProto, seed: int = 0) -> onnx.ModelProto:
    """Replaces every ConstantOfShape weight fill by a random initializer of that shape.

    Conv and Gemm weights get a fan-in scaled uniform init; 1-d parameters (biases, batchnorm
    scales, means and variances) values in [0.5, 1.5], so variances stay positive.
    """
    rng = np.random.default_rng(seed)
    result = onnx.ModelProto()
    result.CopyFrom(model)
    # IR version 4 lets initializers exist without being listed as graph inputs
    result.ir_version = max(result.ir_version, 4)
    graph = result.graph
    shapes = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    kept: list[onnx.NodeProto] = []
    for node in graph.node:
        if node.op_type != "ConstantOfShape" or node.input[0] not in shapes:
            kept.append(node)
            continue
        shape = [int(d) for d in shapes[node.input[0]]]
        graph.initializer.append(numpy_helper.from_array(_random(rng, shape), node.output[0]))
    del graph.node[:]
    graph.node.extend(kept)
    return result


def _random(rng: np.random.Generator, shape: list[int]) -> np.ndarray:
    if len(shape) <= 1:
        return rng.uniform(0.5, 1.5, shape).astype(np.float32)
    fan_in = int(np.prod(shape[1:]))
    bound = np.sqrt(3.0 / fan_in)
    return rng.uniform(-bound, bound, shape).astype(np.float32)


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
