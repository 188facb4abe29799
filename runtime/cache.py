"""The on-disk cache of compiled models, so a second compile of a model skips the pipeline.

An entry is a folder named by its key (`cache_key`: a hash of the target's fingerprint (tag,
machine, pipeline), of what the caller says the code depends on, and of the versions of Terrace,
xDSL and llvmlite, including a hash of every source file of Terrace's package, so an edited pass,
driver or runtime module never serves stale code). It holds the object code (`code.o`), the final
LLVM IR (`module.ll`), the entry ABI (`abi.json`) and the bound weights in one binary file
(`weights.bin`, each array 64-byte aligned), which loads as memory maps: nothing is copied
until the code reads it.

The cache lives in `$TERRACE_CACHE_DIR`, else `$XDG_CACHE_HOME/terrace`, else
`~/.cache/terrace`. Entries are written to a temporary folder and renamed into place, so
concurrent writers and readers never see half an entry.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any, cast

import numpy as np

from .abi import WORKSPACE_ALIGNMENT, EntryAbi, dtype_named

FORMAT_VERSION = 2

_PACKAGE_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Artifact:
    """A compiled model as the cache stores it."""

    object_code: bytes
    abi: EntryAbi
    weights: Mapping[str, np.ndarray]
    llvm_ir: str = ""
    stage_seconds: dict[str, float] = field(default_factory=dict[str, float])
    folded_outputs: tuple[str, ...] = ()
    """The outputs the importer folded to constants (`ImportedModel.folded_outputs`)."""
    onnx_folded_ops: tuple[str, ...] = ()


def default_cache_dir() -> Path:
    explicit = os.environ.get("TERRACE_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "terrace"


def cache_key(target: Sequence[str], *parts: str | bytes) -> str:
    """A hex digest of `parts`, the target's fingerprint (`Target.fingerprint()`: its tag,
    machine and pipeline) and the versions of everything that compiles."""
    digest = hashlib.sha256()
    for part in (*_environment(), *target, *parts):
        data = part.encode() if isinstance(part, str) else part
        # Length-prefixed, so that moving bytes between parts changes the key.
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()


class ArtifactCache:
    """Artifacts in a folder, one subfolder per key."""

    def __init__(self, directory: str | Path | None = None):
        self.directory = Path(directory) if directory is not None else default_cache_dir()

    def get(self, key: str) -> Artifact | None:
        """The stored artifact, or None when absent or unreadable (a damaged entry is a miss)."""
        entry = self.directory / key
        try:
            meta = json.loads((entry / "abi.json").read_text())
            if meta.get("format") != FORMAT_VERSION:
                return None
            return Artifact(
                object_code=(entry / "code.o").read_bytes(),
                abi=EntryAbi.from_json(meta["abi"]),
                weights=map_weights(entry / "weights.bin", meta["weights"]),
                llvm_ir=(entry / "module.ll").read_text(),
                stage_seconds={str(k): float(v) for k, v in meta["stage_seconds"].items()},
                folded_outputs=tuple(str(name) for name in meta["folded_outputs"]),
                onnx_folded_ops=tuple(str(op) for op in meta["onnx_folded_ops"]),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put(self, key: str, artifact: Artifact) -> None:
        """Stores `artifact` under `key`; an existing entry is kept. A cache that cannot be
        written (read-only home, full disk) only costs the next compile its time."""
        entry = self.directory / key
        if entry.is_dir():
            return
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=f".{key[:16]}-", dir=self.directory))
        except OSError:
            return
        try:
            _write_entry(staging, artifact)
            staging.rename(entry)
        except OSError:
            # Another process may have stored the same key first: theirs is as good.
            shutil.rmtree(staging, ignore_errors=True)


class PathIndex:
    """Which artifact key a model file had when last compiled, so that a compile of an
    unchanged file finds its entry without reading, parsing and hashing the model (light
    resnet50: 100 MB, about a second). An entry is keyed by the file's absolute path and what
    else the artifact key depends on, and holds the file's size, inode, modification and
    change times: any write to the file changes them and the entry no longer applies (as git
    trusts its index and ccache its direct mode)."""

    def __init__(self, directory: str | Path | None = None):
        base = Path(directory) if directory is not None else default_cache_dir()
        self.directory = base / "paths"

    def get(self, path_key: str, model: Path) -> str | None:
        """The artifact key remembered for `model` under `path_key`, if the file is unchanged."""
        entry = self.get_entry(path_key, model)
        return str(entry["key"]) if entry is not None else None

    def get_entry(self, path_key: str, model: Path) -> dict[str, Any] | None:
        """The whole entry (`key` and what `put` was given besides), if the file is unchanged."""
        try:
            entry = json.loads((self.directory / f"{path_key}.json").read_text())
            if not isinstance(entry, dict) or "key" not in entry:
                return None
            entry = cast("dict[str, Any]", entry)
            return entry if entry["stat"] == _file_stat(model) else None
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put(self, path_key: str, model: Path, key: str, **extra: object) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            text = json.dumps({**extra, "stat": _file_stat(model), "key": key})
            _write_atomically(self.directory / f"{path_key}.json", text.encode())
        except OSError:
            return


class KernelCache:
    """Optimized kernels (LLVM bitcode, targets/llvm/kernels.py) in `directory`/kernels, one
    file per key, shared by every model compiled with the same cache folder."""

    def __init__(self, directory: str | Path | None = None):
        base = Path(directory) if directory is not None else default_cache_dir()
        self.directory = base / "kernels"

    def get(self, key: str) -> bytes | None:
        try:
            return (self.directory / f"{key}.bc").read_bytes()
        except OSError:
            return None

    def put(self, key: str, code: bytes) -> None:
        """Stores `code` under `key` (replacing a damaged entry); a cache that cannot be
        written only costs the next compile its time."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            _write_atomically(self.directory / f"{key}.bc", code)
        except OSError:
            return


# -- helpers -------------------------------------------------------------------------------


def _file_stat(path: Path) -> list[int]:
    status = path.stat()
    return [status.st_size, status.st_ino, status.st_mtime_ns, status.st_ctime_ns]


def _write_atomically(path: Path, data: bytes) -> None:
    """Writes a temporary file beside `path` and renames it into place: readers see the old
    file or the new one, never half of one."""
    handle, staging = tempfile.mkstemp(prefix=f".{path.name[:16]}-", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(staging, path)
    except OSError:
        Path(staging).unlink(missing_ok=True)
        raise


def _write_entry(folder: Path, artifact: Artifact) -> None:
    layout = write_weights(folder / "weights.bin", artifact.abi.weights, artifact.weights)
    meta = {
        "format": FORMAT_VERSION,
        "abi": artifact.abi.to_json(),
        "weights": layout,
        "stage_seconds": artifact.stage_seconds,
        "folded_outputs": list(artifact.folded_outputs),
        "onnx_folded_ops": list(artifact.onnx_folded_ops),
    }
    (folder / "code.o").write_bytes(artifact.object_code)
    (folder / "module.ll").write_text(artifact.llvm_ir)
    # abi.json last: an entry without it reads as a miss.
    (folder / "abi.json").write_text(json.dumps(meta, indent=1))


def write_weights(
    path: Path, names: Sequence[str], weights: Mapping[str, np.ndarray]
) -> list[dict[str, Any]]:
    """Writes the arrays `names` of `weights` into one file, in that order, each starting on a
    64-byte boundary, and returns the layout: name, dtype, shape, offset and bytes of each."""
    layout: list[dict[str, Any]] = []
    offset = 0
    with path.open("wb") as stream:
        for name in names:
            array = np.ascontiguousarray(weights[name])
            offset += -offset % WORKSPACE_ALIGNMENT
            stream.seek(offset)
            stream.write(array.tobytes())
            layout.append(
                {
                    "name": name,
                    "dtype": array.dtype.name,
                    "shape": list(array.shape),
                    "offset": offset,
                    "bytes": array.nbytes,
                }
            )
            offset += array.nbytes
    return layout


def map_weights(path: Path, layout: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    """The arrays of a file `write_weights` wrote, as copy-on-write memory maps."""
    weights: dict[str, np.ndarray] = {}
    for item in layout:
        dtype = dtype_named(item["dtype"])
        shape = tuple(int(d) for d in item["shape"])
        if dtype.itemsize * int(np.prod(shape, dtype=np.int64)) == 0:
            weights[item["name"]] = np.zeros(shape, dtype)
            continue
        # Copy-on-write: the file is never modified, whatever the code does with the pages.
        weights[item["name"]] = np.memmap(
            path, dtype=dtype, mode="c", offset=int(item["offset"]), shape=shape
        )
    return weights


@cache
def _environment() -> tuple[str, ...]:
    versions = [f"format {FORMAT_VERSION}"]
    for package in ("terrace", "xdsl", "llvmlite"):
        try:
            versions.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{package} unknown")
    return (*versions, source_digest())


def source_files(root: Path = _PACKAGE_ROOT) -> list[Path]:
    """Every .py file of the package at `root`: its own and those of each folder below it that
    is a subpackage (holds an `__init__.py`), found by walking, so that no module is left out.
    Other folders (tests, the virtual environment, docs) are not part of the package."""
    found: list[Path] = []
    for folder, subfolders, files in os.walk(root):
        # os.walk descends only into the subfolders left in the list: keep the subpackages
        subfolders[:] = sorted(d for d in subfolders if (Path(folder, d) / "__init__.py").is_file())
        found.extend(Path(folder, name) for name in sorted(files) if name.endswith(".py"))
    return found


def source_digest(root: Path = _PACKAGE_ROOT) -> str:
    """A hash of the names and contents of the package's sources (`source_files`)."""
    # An editable install keeps one version number while its sources change under it.
    digest = hashlib.sha256()
    for source in source_files(root):
        name = source.relative_to(root).as_posix().encode()
        data = source.read_bytes()
        for part in (name, data):
            digest.update(len(part).to_bytes(8, "little"))
            digest.update(part)
    return digest.hexdigest()
