"""A compile of an unchanged model file that an earlier compile built, served without the
compiler: no xDSL, no onnx and no target objects are imported (in a fresh process those imports
cost more than a second of CPU; `terrace run model.onnx` pays them on every call otherwise).

`terrace.compile` asks here first. An entry is written by a full compile of a model file for a
target that runs in this process, with no tuning database and no bound input values; it maps
(the file's path, the target tag asked for, the input shapes, this machine's CPU and features,
and every version and source file of Terrace, `cache_key`) to the artifact key and the machine
its code was generated for. The file's size, inode and times must be unchanged (`PathIndex`),
and the artifact must still be in the cache, or the full compile runs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, fields
from pathlib import Path

from ..targets.llvm.machine import host_cpu, host_features, target_machine
from ..targets.target import Machine
from .cache import ArtifactCache, PathIndex, cache_key, default_cache_dir
from .jit import NativeCode
from .model import CompiledModel, CompileStats


def remembered_key(
    path: Path, target: str | None, input_shapes: Mapping[str, Sequence[int]] | None
) -> str:
    """The index key of a compile of the file at `path` (absolute) for the tag `target`."""
    shapes = json.dumps({k: list(v) for k, v in (input_shapes or {}).items()}, sort_keys=True)
    requested = ("remembered", target or "host", host_cpu(), host_features())
    return cache_key(requested, str(path), shapes)


def remember(
    cache: bool | str | Path,
    source: Path,
    target: str | None,
    input_shapes: Mapping[str, Sequence[int]] | None,
    key: str,
    machine: Machine,
) -> None:
    """Records that compiling `source` for `target` gave the cached artifact `key`."""
    folder = _cache_folder(cache)
    if folder is None:
        return
    path = source.resolve()
    entry_key = remembered_key(path, target, input_shapes)
    PathIndex(folder).put(entry_key, path, key, machine=asdict(machine))


def load_remembered(
    source: str | Path,
    target: str | None,
    num_threads: int | None,
    input_shapes: Mapping[str, Sequence[int]] | None,
    cache: bool | str | Path,
) -> CompiledModel | None:
    """The compiled model of `source` if an earlier compile left it in the cache and the
    file is unchanged; None sends the caller to the full compile."""
    started = time.perf_counter()
    folder = _cache_folder(cache)
    path = Path(source).resolve()
    if folder is None or not path.is_file():
        return None
    entry = PathIndex(folder).get_entry(remembered_key(path, target, input_shapes), path)
    if entry is None:
        return None
    key = str(entry["key"])
    artifact = ArtifactCache(folder).get(key)
    if artifact is None:
        return None
    try:
        machine = Machine(**{f.name: str(entry["machine"][f.name]) for f in fields(Machine)})
    except (KeyError, TypeError):  # an entry of another layout: the full compile rewrites it
        return None
    code_machine = target_machine(machine.triple, machine.cpu, machine.features)
    native = NativeCode.load(artifact.object_code, code_machine)
    stats = CompileStats(
        {"load": time.perf_counter() - started},
        from_cache=True,
        cache_key=key,
        folded_outputs=artifact.folded_outputs,
        onnx_folded_ops=artifact.onnx_folded_ops,
    )
    return CompiledModel(
        native, artifact.abi, artifact.weights, num_threads=num_threads, stats=stats
    )


def _cache_folder(cache: bool | str | Path) -> Path | None:
    if cache is False:
        return None
    return default_cache_dir() if cache is True else Path(cache)
