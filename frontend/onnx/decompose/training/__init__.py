"""The ai.onnx.preview.training ops: the optimizers and Gradient."""

from . import gradient, optimizers

__all__ = ["gradient", "optimizers"]
