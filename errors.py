"""Terrace's exceptions: a user's mistake is one of these, shown as one line, no traceback."""

from __future__ import annotations


class TerraceError(Exception):
    """Base of every error Terrace reports to a user."""


class ModelImportError(TerraceError):
    """The ONNX model cannot be read, checked or converted."""


class UnsupportedModelError(ModelImportError):
    """The model uses ops, attributes or dtypes that Terrace does not support (all are listed)."""
