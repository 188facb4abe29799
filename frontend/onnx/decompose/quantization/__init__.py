"""ONNX's quantization ops: QuantizeLinear and DequantizeLinear, and the integer and
QLinear matmuls and convolutions."""

from . import integer, linear

__all__ = ["integer", "linear"]
