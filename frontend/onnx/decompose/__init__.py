"""ONNX ops converted into other nn ops, one module (or package) per ONNX operator category.
Each conversion registers itself with `registry.decomposition`; importing this package
registers them all."""

from . import linalg, ml, nn, quantization, rnn, signal, tensor, training, vision

__all__ = ["linalg", "ml", "nn", "quantization", "rnn", "signal", "tensor", "training", "vision"]
