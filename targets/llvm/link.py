"""Linking and running artifacts of LLVM targets with the toolchains outside Python.

An artifact's `model.o` (runtime/artifact.py) is linked by the target's `linker` Tool:

- CPU targets: `model.so` (`cc -shared`, or the cross gcc), and, to run it, `model_run`: the C
  harness (runtime/harness.c) compiled against the artifact's model.h and linked statically
  with model.o and libgomp, so that qemu-user runs it with no sysroot;
- wasm32: `model.wasm` (wasm-ld), which runtime/run_wasm.cjs runs in Node.js; no libc is
  linked, so the module's few libm imports come from JavaScript.

`run_artifact` gives the outputs of an artifact for numpy inputs through the target's runner:
in this process (`terrace.runtime.load`), or by writing the inputs as raw files, running the
harness under qemu-user (or the wasm runner under Node.js) and reading the outputs back. A
missing program is an error that names the Debian package to install.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ...errors import TerraceRuntimeError
from ..target import Tool

if TYPE_CHECKING:
    from . import LlvmTarget

HOST_CC = Tool("cc", "gcc")
"""The linker of targets that run on this machine (and have no `linker` of their own)."""

RUNTIME = Path(__file__).resolve().parent.parent.parent / "runtime"
HARNESS_SOURCE = RUNTIME / "harness.c"
WASM_RUNNER = RUNTIME / "run_wasm.cjs"
HARNESS = "model_run"
SHARED = "model.so"
WASM = "model.wasm"
WASM_STACK_BYTES = 1 << 20
"""wasm-ld's default stack is 64 KiB; LLVM's spills of wide vector loops can pass that."""

_INDEX_CHECK = re.compile(r"index check (-?\d+) failed: axis (-?\d+), index (-?\d+)")


def require(tool: Tool) -> str:
    """The path of `tool`'s program, or an error naming the Debian package that installs it."""
    found = shutil.which(tool.program)
    if found is None:
        raise TerraceRuntimeError(
            f"`{tool.program}` is not installed: it comes with the Debian package "
            f"{tool.apt_package} (`apt-get install {tool.apt_package}`, or "
            "`make system-packages` as root)"
        )
    return found


def link_artifact(target: LlvmTarget, folder: Path) -> dict[str, str]:
    """Links what the target's toolchain makes of `folder`'s model.o: `{kind: file name}`."""
    if "wasm" in target.emitters:
        _link_wasm(target, folder)
        return {"wasm": WASM}
    if "shared" not in target.emitters:
        return {}
    compiler = require(target.linker or HOST_CC)
    _run([compiler, "-shared", "-fopenmp", "-o", str(folder / SHARED), str(folder / "model.o")])
    return {"shared": SHARED}


def build_harness(target: LlvmTarget, folder: Path, into: Path | None = None) -> Path:
    """`into`/model_run (by default `folder`/model_run): the C harness compiled against
    `folder`'s model.h, linked statically with its model.o and libgomp."""
    compiler = require(target.linker or HOST_CC)
    executable = (into or folder) / HARNESS
    command = [compiler, "-std=c11", "-O2", "-static", "-fopenmp", f"-I{folder}"]
    command += [str(HARNESS_SOURCE), str(folder / "model.o"), "-lm", "-o", str(executable)]
    _run(command)
    return executable


def run_artifact(
    target: LlvmTarget,
    folder: Path,
    inputs: Sequence[np.ndarray],
    num_threads: int | None = None,
) -> list[np.ndarray]:
    """The outputs of the artifact in `folder` for `inputs` (in graph order), run by the
    target's runner; the inputs are checked as `CompiledModel` checks them."""
    from ...runtime.artifact import load, read_manifest

    if target.runs_in_process():
        return load(folder, num_threads)(*inputs)
    runner = target.runner
    if runner.tool is None:
        raise TerraceRuntimeError(f"target '{target.tag}' names no program to run it")
    program = require(runner.tool)
    if runner.kind != "node":
        return run_harness(target, folder, inputs, num_threads, [program, *runner.arguments])
    if "wasm" not in read_manifest(folder).files:  # wasm-ld was missing when it was compiled
        _link_wasm(target, folder)
    return _run_files([program, str(WASM_RUNNER), str(folder)], folder, inputs, num_threads)


def run_harness(
    target: LlvmTarget,
    folder: Path,
    inputs: Sequence[np.ndarray],
    num_threads: int | None = None,
    launcher: Sequence[str] = (),
) -> list[np.ndarray]:
    """The outputs of `folder`'s artifact linked with the C harness (`build_harness`, in a
    temporary folder: running leaves the artifact as it was) and run by `launcher` (qemu-user
    and its options; nothing: natively, for the host's targets)."""
    with tempfile.TemporaryDirectory(prefix="terrace-harness-") as scratch:
        executable = build_harness(target, folder, Path(scratch))
        return _run_files([*launcher, str(executable)], folder, inputs, num_threads)


def _run_files(
    command: list[str], folder: Path, inputs: Sequence[np.ndarray], num_threads: int | None
) -> list[np.ndarray]:
    """Runs `command WEIGHTS IN... OUT...` (the harness's arguments) on the inputs written as
    raw files, and reads the outputs back."""
    from ...runtime.artifact import read_manifest
    from ...runtime.model import checked_inputs, raise_on_failed_check, usable_cores

    manifest = read_manifest(folder)
    arrays = checked_inputs(manifest.abi.inputs, inputs)
    threads = str(num_threads or usable_cores())
    with tempfile.TemporaryDirectory(prefix="terrace-run-") as scratch:
        input_files = [Path(scratch, f"input{i}.bin") for i in range(len(arrays))]
        output_files = [Path(scratch, f"output{i}.bin") for i in range(len(manifest.abi.outputs))]
        for path, array in zip(input_files, arrays, strict=True):
            path.write_bytes(_little_endian(array).tobytes())
        command += [str(folder / "weights.bin"), *map(str, input_files), *map(str, output_files)]
        result = subprocess.run(
            command, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": threads}
        )
        failed = _INDEX_CHECK.search(result.stderr)
        if failed is not None:
            status = np.array([int(group) for group in failed.groups()], dtype=np.int64)
            raise_on_failed_check(manifest.abi.index_checks, status)
        if result.returncode != 0:
            raise TerraceRuntimeError(
                f"running {folder} with {Path(command[0]).name} failed (exit status "
                f"{result.returncode}): {_last_line(result.stderr)}"
            )
        return [
            _read_output(path, spec.dtype, spec.shape)
            for path, spec in zip(output_files, manifest.abi.outputs, strict=True)
        ]


# -- helpers -------------------------------------------------------------------------------


def _link_wasm(target: LlvmTarget, folder: Path) -> None:
    linker = require(target.linker or HOST_CC)
    # No libc: the libm calls LLVM leaves are imported, and run_wasm.cjs provides them.
    command = [linker, "--no-entry", "--export=terrace_main", "--export=__heap_base"]
    command += ["--allow-undefined", "-z", f"stack-size={WASM_STACK_BYTES}"]
    command += ["-o", str(folder / WASM), str(folder / "model.o")]
    _run(command)


def _run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        name = Path(command[0]).name
        raise TerraceRuntimeError(f"{name} failed: {_last_line(result.stderr)}")


def _little_endian(array: np.ndarray) -> np.ndarray:
    if array.dtype.byteorder == ">":
        return array.astype(array.dtype.newbyteorder("<"))
    return array


def _read_output(path: Path, dtype: np.dtype[np.generic], shape: tuple[int, ...]) -> np.ndarray:
    data = np.fromfile(path, dtype=dtype.newbyteorder("<"))
    if data.size != math.prod(shape):
        raise TerraceRuntimeError(f"{path.name}: {data.size} elements, expected {shape}")
    return data.astype(dtype, copy=False).reshape(shape)


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "(no message)"
