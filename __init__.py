"""Terrace: an MLIR-style ML compiler in pure Python, built on xDSL."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeGuard

from .errors import (
    CompilationError,
    InputError,
    ModelImportError,
    TerraceError,
    TerraceRuntimeError,
    UnsupportedModelError,
)

if TYPE_CHECKING:
    import numpy as np
    import onnx

    from .runtime.model import CompiledModel

__all__ = [
    "CompilationError",
    "InputError",
    "ModelImportError",
    "TerraceError",
    "TerraceRuntimeError",
    "UnsupportedModelError",
    "compile",
]


def compile(
    source: str | Path | onnx.ModelProto,
    target: str | None = None,
    num_threads: int | None = None,
    *,
    input_shapes: Mapping[str, Sequence[int]] | None = None,
    input_values: Mapping[str, np.ndarray] | None = None,
    cache: bool | str | Path = True,
    tuning_db: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> CompiledModel:
    """Compiles an ONNX model (a path or an onnx.ModelProto) to a callable `CompiledModel`:
    `model(*inputs)` in graph order or `model.run({name: array})`, each returning a list of
    numpy arrays. `target` is a tag of `terrace targets` whose code runs in this process (None:
    this machine's; other targets compile to artifacts, `terrace compile -o`). `num_threads`
    is how many threads parallel loops run on (None: every core
    this process may use, its affinity mask). `input_shapes` fixes dynamic input dimensions;
    `input_values` binds inputs that give axes, shapes, scales or trip counts to values,
    compiling for those (they leave the inputs; an `UnsupportedModelError`'s `value_inputs`
    names the ones a model needs); `cache` is True for the default cache folder
    ($TERRACE_CACHE_DIR or ~/.cache/terrace), a folder, or False. `tuning_db` (default:
    $TERRACE_TUNING_DB) is a `terrace tune` records file whose best configs replace the
    analytical defaults (docs/tuning.md). `progress`, when given, is called with each stage
    and pass as it starts ("memrefs: bufferize"): the CLI draws its progress line from it."""
    if _plain_file_compile(source, input_values, tuning_db, cache):
        # Compiled before and unchanged: loaded without importing the compiler (xDSL, onnx).
        from .runtime.remembered import load_remembered

        remembered = load_remembered(source, target, num_threads, input_shapes, cache)
        if remembered is not None:
            return remembered
    # Imported here so that `import terrace` does not load the compiler, onnx and llvmlite.
    from .compiler import compile as compile_model

    return compile_model(
        source,
        target,
        num_threads,
        input_shapes=input_shapes,
        input_values=input_values,
        cache=cache,
        tuning_db=tuning_db,
        progress=progress,
    )


def _plain_file_compile(
    source: str | Path | onnx.ModelProto,
    input_values: Mapping[str, np.ndarray] | None,
    tuning_db: str | Path | None,
    cache: bool | str | Path,
) -> TypeGuard[str | Path]:
    """A compile that `terrace.runtime.remembered` may serve: a model file, cached, with no
    bound input values and no tuning database (their records change without the file)."""
    tuned = tuning_db is not None or os.environ.get("TERRACE_TUNING_DB", "")
    return isinstance(source, str | Path) and not input_values and not tuned and cache is not False
