"""The ai.onnx.ml ops that the importer converts into default-domain ops, exactly."""

from . import encoders, tree_ensemble

__all__ = ["encoders", "tree_ensemble"]
