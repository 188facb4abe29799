"""Terrace: an MLIR-style ML compiler in pure Python, built on xDSL."""

from .errors import ModelImportError, TerraceError, UnsupportedModelError

__all__ = ["ModelImportError", "TerraceError", "UnsupportedModelError"]
