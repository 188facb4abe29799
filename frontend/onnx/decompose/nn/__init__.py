"""ONNX's neural-network ops (onnx/defs/nn) converted into other nn ops."""

from . import activations, col2im, deform_conv, normalization, unpool

__all__ = ["activations", "col2im", "deform_conv", "normalization", "unpool"]
