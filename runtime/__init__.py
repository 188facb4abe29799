"""The runtime: loading compiled code into MCJIT (`jit`), the entry ABI (`abi`), compiled models
(`model`), the on-disk cache of compiled code (`cache`) and ahead-of-time artifacts
(`artifact`; `load` runs a host artifact with only numpy and llvmlite)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .model import CompiledModel

__all__ = ["load"]


def load(folder: str | Path, num_threads: int | None = None) -> CompiledModel:
    """The host artifact in `folder` (`terrace compile MODEL -o FOLDER`) as a `CompiledModel`:
    `model(*inputs)` or `model.run({name: array})`. Needs numpy and llvmlite only (no xDSL,
    no onnx). Raises `TerraceRuntimeError` for an artifact that does not match its manifest,
    another format version, or another machine (the message says how to run it there)."""
    # Imported here: importing the runtime package loads no llvmlite.
    from .artifact import load as load_artifact

    return load_artifact(folder, num_threads)
