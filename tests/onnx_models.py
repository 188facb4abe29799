"""Test helpers for ONNX models: the light models onnx ships, with random weights, and
onnxruntime as the oracle."""

from __future__ import annotations

import numpy as np
import onnx

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
    "light_model",
    "randomize_weights",
    "run_onnxruntime",
]


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
