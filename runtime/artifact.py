"""Ahead-of-time artifacts: a compiled model as a folder of files, and `load` for the host's.

`terrace compile MODEL --target TAG -o OUT` (`terrace.compiler.compile_artifact`) writes:

- `model.o`: the object code, which defines `void terrace_main(void **buffers)`;
- `weights.bin`: every weight in `terrace.weights` order, each at a 64-byte aligned offset
  (the disk cache's own format, `cache.write_weights`);
- `model.h`: the entry's C signature, the buffer order and each tensor's name, dtype, shape and
  size (what the C harness, runtime/harness.c, is compiled against);
- what the target's toolchain links (`model.so`, `model.wasm`: targets/llvm/link.py);
- `manifest.json`, written last (a folder without it is no artifact): the target, the inputs,
  outputs and index checks, the weights' layout and sha256, the workspace size, the versions.

`load(OUT)` runs a host artifact in this process with only numpy and llvmlite: this module and
all it imports load no xDSL and no onnx (a test poisons both imports to hold it to that).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import TerraceRuntimeError
from ..targets.target import Machine
from .abi import STATUS_SPEC, WORKSPACE_ALIGNMENT, EntryAbi, TensorSpec
from .cache import map_weights, write_weights
from .jit import ENTRY_SYMBOL, NativeCode
from .model import CompiledModel

FORMAT = "terrace-artifact"
FORMAT_VERSION = 1
"""Bumped whenever a file's layout or the entry ABI changes: `load` refuses other versions."""

MANIFEST = "manifest.json"
OBJECT = "model.o"
WEIGHTS = "weights.bin"
HEADER = "model.h"


@dataclass(frozen=True)
class Manifest:
    """manifest.json, read back: the machine, the entry ABI and the weights file's layout."""

    machine: Machine
    abi: EntryAbi
    weights: list[dict[str, Any]]
    weights_bytes: int
    weights_sha256: str
    files: dict[str, str]


def write_artifact(
    folder: Path,
    machine: Machine,
    abi: EntryAbi,
    weights: Mapping[str, np.ndarray],
    object_code: bytes,
) -> Manifest:
    """Writes the object code, the weights and the header into `folder` (made if missing) and
    returns the manifest, which `write_manifest` writes once the target has linked its files."""
    folder.mkdir(parents=True, exist_ok=True)
    _remove_old_artifact(folder)
    (folder / OBJECT).write_bytes(object_code)
    layout = write_weights(folder / WEIGHTS, abi.weights, weights)
    size, digest = _file_digest(folder / WEIGHTS)
    manifest = Manifest(
        machine, abi, layout, size, digest, {"object": OBJECT, "header": HEADER, "weights": WEIGHTS}
    )
    (folder / HEADER).write_text(header_text(manifest))
    return manifest


def write_manifest(folder: Path, manifest: Manifest, linked: Mapping[str, str]) -> None:
    """Writes manifest.json, listing the files the target linked (`linked`: kind to name)."""
    files = {**manifest.files, **linked}
    data = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "terrace_version": _terrace_version(),
        "target": asdict(manifest.machine),  # tag, triple, cpu, features
        "entry": ENTRY_SYMBOL,
        "buffers": "inputs, outputs, status (when index_checks), weights, workspace",
        **manifest.abi.to_json(),
        # sizes too, so that a runner needs no table of dtypes (run_wasm.cjs)
        "input_bytes": [_nbytes(spec) for spec in manifest.abi.inputs],
        "output_bytes": [_nbytes(spec) for spec in manifest.abi.outputs],
        "status": STATUS_SPEC.to_json() if manifest.abi.index_checks else None,
        "workspace_alignment": WORKSPACE_ALIGNMENT,
        "weights_file": {
            "bytes": manifest.weights_bytes,
            "sha256": manifest.weights_sha256,
            "alignment": WORKSPACE_ALIGNMENT,
            "arrays": manifest.weights,
        },
        "files": files,
    }
    (folder / MANIFEST).write_text(json.dumps(data, indent=1) + "\n")


def read_manifest(folder: str | Path) -> Manifest:
    """The artifact's manifest, after checking its format version and that weights.bin is the
    file it describes (size and sha256). Raises `TerraceRuntimeError` on any mismatch."""
    folder = Path(folder)
    path = folder / MANIFEST
    try:
        data = json.loads(path.read_text())
    except OSError as error:
        raise TerraceRuntimeError(f"{folder} is no Terrace artifact: {error.strerror}") from None
    except ValueError as error:
        raise TerraceRuntimeError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:  # pyright: ignore[reportUnknownMemberType]
        raise TerraceRuntimeError(f"{path} is not a Terrace artifact manifest")
    manifest: dict[str, Any] = data  # pyright: ignore[reportUnknownVariableType]
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise TerraceRuntimeError(
            f"{folder}: artifact format version {version}, written by Terrace "
            f"{manifest.get('terrace_version')}; this Terrace ({_terrace_version()}) reads "
            f"version {FORMAT_VERSION}: compile the model again"
        )
    try:
        parsed = _parse(manifest)
    except (KeyError, TypeError, ValueError) as error:
        raise TerraceRuntimeError(f"{path} is damaged: {error!r}") from None
    _check_weights(folder, parsed)
    return parsed


def load(folder: str | Path, num_threads: int | None = None) -> CompiledModel:
    """The host artifact in `folder` as a `CompiledModel` (the same call API and input checks
    as `terrace.compile`'s). An artifact for another machine is refused with how to run it."""
    folder = Path(folder)
    from .npu_sim.artifact import is_npu_artifact, load_npu_artifact

    if is_npu_artifact(folder):  # a model split between TNPU-1 and this machine
        return load_npu_artifact(folder, num_threads)
    manifest = read_manifest(folder)
    machine_of_artifact = manifest.machine
    _check_runs_here(folder, machine_of_artifact)
    from ..targets.llvm.machine import target_machine

    object_path = folder / manifest.files.get("object", OBJECT)
    try:
        object_code = object_path.read_bytes()
    except OSError as error:
        raise TerraceRuntimeError(f"cannot read {object_path}: {error.strerror}") from None
    machine = target_machine(
        machine_of_artifact.triple, machine_of_artifact.cpu, machine_of_artifact.features
    )
    native = NativeCode.load(object_code, machine)
    weights = map_weights(folder / WEIGHTS, manifest.weights)
    return CompiledModel(native, manifest.abi, weights, num_threads=num_threads)


def header_text(manifest: Manifest) -> str:
    """model.h: the entry, the counts and sizes, and per tensor its name, dtype and shape."""
    abi = manifest.abi
    machine = manifest.machine
    lines = [
        f"/* model.h: written by Terrace {_terrace_version()} for target {machine.tag} "
        f"({machine.triple}, {machine.cpu}). */",
        "#ifndef TERRACE_MODEL_H",
        "#define TERRACE_MODEL_H",
        "#include <stddef.h>",
        "#include <stdint.h>",
        "",
        "/* `buffers` holds, in this order: the inputs, the outputs, the index checks' status",
        " * (int64_t[3]; only when TERRACE_HAS_STATUS), the weights (each at its offset in",
        " * weights.bin), and the workspace (TERRACE_WORKSPACE_BYTES, 64-byte aligned). */",
        "void terrace_main(void **buffers);",
        "",
        f"#define TERRACE_NUM_INPUTS {len(abi.inputs)}",
        f"#define TERRACE_NUM_OUTPUTS {len(abi.outputs)}",
        f"#define TERRACE_HAS_STATUS {1 if abi.index_checks else 0}",
        f"#define TERRACE_NUM_WEIGHTS {len(abi.weights)}",
        f"#define TERRACE_WORKSPACE_BYTES {abi.workspace_bytes}",
        f"#define TERRACE_WEIGHTS_BYTES {manifest.weights_bytes}",
        f"#define TERRACE_ALIGNMENT {WORKSPACE_ALIGNMENT}",
        "",
        "#if defined(__GNUC__)",
        "#define TERRACE_UNUSED __attribute__((unused))",
        "#else",
        "#define TERRACE_UNUSED",
        "#endif",
        "",
        "/* Each table has one entry per tensor, then a 0, so that none is empty. The dims of",
        " * all tensors are in one array, `ranks` long each. */",
    ]
    for kind, specs in (("input", abi.inputs), ("output", abi.outputs)):
        lines += _tensor_tables(kind, specs)
    offsets = [int(item["offset"]) for item in manifest.weights]
    lines.append(_table("size_t", "weight_offsets", [str(o) for o in offsets]))
    lines += ["", "#endif"]
    return "\n".join(lines) + "\n"


# -- helpers -------------------------------------------------------------------------------


def _tensor_tables(kind: str, specs: Sequence[TensorSpec]) -> list[str]:
    dims = [str(d) for spec in specs for d in spec.shape]
    return [
        _table("char *const", f"{kind}_names", [_c_string(s.name) for s in specs], "0"),
        _table("char *const", f"{kind}_dtypes", [_c_string(s.dtype.name) for s in specs], "0"),
        _table("int", f"{kind}_ranks", [str(len(s.shape)) for s in specs]),
        _table("int64_t", f"{kind}_dims", dims),
        _table("size_t", f"{kind}_bytes", [str(_nbytes(s)) for s in specs]),
    ]


def _table(c_type: str, name: str, values: Sequence[str], end: str = "0") -> str:
    return (
        f"static const {c_type} terrace_{name}[] TERRACE_UNUSED = {{{', '.join([*values, end])}}};"
    )


def _c_string(text: str) -> str:
    """A C string literal of `text`'s UTF-8 bytes (octal escapes for all but plain ASCII;
    `?` escaped too, so that no trigraph forms)."""
    plain = set(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:;,+=# ")
    body = "".join(chr(b) if b in plain else f"\\{b:03o}" for b in text.encode())
    return f'"{body}"'


def _nbytes(spec: TensorSpec) -> int:
    return math.prod(spec.shape) * spec.dtype.itemsize


def _parse(data: dict[str, Any]) -> Manifest:
    target = data["target"]
    machine = Machine(**{field.name: str(target[field.name]) for field in fields(Machine)})
    weights_file = data["weights_file"]
    files = {str(k): str(v) for k, v in data["files"].items()}
    return Manifest(
        machine,
        EntryAbi.from_json(data),
        list(weights_file["arrays"]),
        int(weights_file["bytes"]),
        str(weights_file["sha256"]),
        files,
    )


def _check_weights(folder: Path, manifest: Manifest) -> None:
    path = folder / WEIGHTS
    try:
        size, digest = _file_digest(path)
    except OSError as error:
        raise TerraceRuntimeError(f"cannot read {path}: {error.strerror}") from None
    if size != manifest.weights_bytes:
        raise TerraceRuntimeError(
            f"{path} has {size:,} bytes, the manifest says {manifest.weights_bytes:,}: "
            "the weights do not belong to this artifact"
        )
    if digest != manifest.weights_sha256:
        raise TerraceRuntimeError(
            f"{path} does not match the manifest's sha256: the weights were changed or belong "
            "to another artifact"
        )
    names = [str(item["name"]) for item in manifest.weights]
    if names != list(manifest.abi.weights):
        raise TerraceRuntimeError(f"{folder / MANIFEST}: the weights layout is not the entry's")


def _check_runs_here(folder: Path, machine: Machine) -> None:
    """Refuses an artifact for another architecture, or for CPU features this one lacks."""
    from ..targets.llvm.machine import host_features, host_triple

    host = Machine("host", host_triple(), "", host_features())
    if machine.arch != host.arch:
        raise TerraceRuntimeError(
            f"{folder} was compiled for {machine.tag} ({machine.triple}), not for this "
            f"{host.arch} machine: run it with `terrace run {folder} --input NAME=FILE.npy` "
            f"(the C harness, run by {_runner_of(machine.tag)}), or on a machine of that kind"
        )
    missing = sorted(machine.enabled_features() - host.enabled_features())
    if missing:
        raise TerraceRuntimeError(
            f"{folder} was compiled for {machine.tag} ({machine.cpu}) with CPU features this "
            f"machine lacks: {', '.join(missing)}; compile it for this machine instead"
        )


def _runner_of(tag: str) -> str:
    from ..errors import TerraceError
    from ..targets import get_target

    try:
        return get_target(tag).runner.describe()
    except TerraceError:  # an artifact of a target this Terrace does not know
        return "its target's runner"


def _remove_old_artifact(folder: Path) -> None:
    """Removes the files an earlier artifact in `folder` listed (a model.so of another target
    must not stay beside a new model.wasm), then its manifest."""
    old = folder / MANIFEST
    try:
        listed = json.loads(old.read_text())["files"].values()
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        listed = []
    for name in listed:
        if isinstance(name, str) and Path(name).name == name:  # a file of the folder, no path
            (folder / name).unlink(missing_ok=True)
    old.unlink(missing_ok=True)


def _file_digest(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def _terrace_version() -> str:
    try:
        return metadata.version("terrace")
    except metadata.PackageNotFoundError:
        return "unknown"
