"""ONNX's signal-processing ops: DFT and STFT."""

from . import dft, stft

__all__ = ["dft", "stft"]
