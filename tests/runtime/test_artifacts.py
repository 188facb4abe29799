"""Ahead-of-time artifacts (runtime/artifact.py, targets/llvm/link.py): `terrace compile -o`
writes them, `terrace.runtime.load` runs a host one with neither xDSL nor onnx importable, the
C harness runs one natively (as it does under qemu for other chips), and an artifact that does
not match its manifest, or belongs to another machine, is a clear error."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import pytest

import terrace
import terrace.runtime
from terrace.compiler import StageTimer, build, compile_artifact
from terrace.errors import IndexOutOfRangeError, InputError, TerraceRuntimeError
from terrace.targets import get_target, host_target
from terrace.targets.llvm import LlvmTarget
from terrace.targets.llvm.link import build_harness, run_harness
from terrace.tools.cli import main

from onnx_models import gather_model

DEMO_MODEL = Path(terrace.__file__).parent / "models" / "demo_cnn.onnx"
ODD_NAME = 'x "q"\\??/ü'
"""An input name that needs escaping in C (quotes, a backslash, a trigraph, UTF-8)."""


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo CNN's host artifact."""
    folder = tmp_path_factory.mktemp("demo") / "artifact"
    compile_artifact(DEMO_MODEL, folder, cache=False)
    return folder


@pytest.fixture(scope="module")
def demo_input() -> np.ndarray:
    return np.random.default_rng(0).uniform(0, 1, (1, 3, 64, 64)).astype(np.float32)


@pytest.fixture(scope="module")
def demo_output(demo_input: np.ndarray) -> np.ndarray:
    """The JIT's output (`terrace.compile`), which every artifact run must reproduce."""
    return terrace.compile(DEMO_MODEL, cache=False)(demo_input)[0]


@pytest.fixture
def copy_of(demo: Path, tmp_path: Path) -> Callable[[], Path]:
    def copy() -> Path:
        return Path(shutil.copytree(demo, tmp_path / "copy"))

    return copy


def test_artifact_files_and_manifest(demo: Path):
    files = {path.name for path in demo.iterdir()}
    assert {"model.o", "model.so", "weights.bin", "model.h", "manifest.json"} <= files
    manifest = json.loads((demo / "manifest.json").read_text())
    weights_bin = (demo / "weights.bin").read_bytes()
    host = host_target()
    assert isinstance(host, LlvmTarget)
    assert manifest["target"] == {
        "tag": host.tag,
        "triple": host.triple,
        "cpu": host.cpu,
        "features": host.features,
    }
    assert manifest["inputs"] == [{"name": "image", "dtype": "float32", "shape": [1, 3, 64, 64]}]
    assert manifest["outputs"][0]["shape"] == [1, 10]
    assert manifest["weights_file"]["sha256"] == hashlib.sha256(weights_bin).hexdigest()
    assert manifest["weights_file"]["bytes"] == len(weights_bin)
    assert manifest["files"]["shared"] == "model.so"
    header = (demo / "model.h").read_text()
    assert "void terrace_main(void **buffers);" in header
    assert f"#define TERRACE_WORKSPACE_BYTES {manifest['workspace_bytes']}\n" in header


def test_weights_bin_holds_the_bound_weights_64_byte_aligned(demo: Path):
    built = build(onnx.load(DEMO_MODEL), host_target(), None, StageTimer())
    manifest = json.loads((demo / "manifest.json").read_text())
    arrays = manifest["weights_file"]["arrays"]
    assert [item["name"] for item in arrays] == list(built.abi.weights) == manifest["weights"]
    data = (demo / "weights.bin").read_bytes()
    for item in arrays:
        assert item["offset"] % 64 == 0
        expected = np.ascontiguousarray(built.weights[item["name"]])
        stored = np.frombuffer(data, expected.dtype, expected.size, item["offset"])
        np.testing.assert_array_equal(stored.reshape(expected.shape), expected)


def test_loaded_artifact_gives_the_jits_outputs(
    demo: Path, demo_input: np.ndarray, demo_output: np.ndarray
):
    model = terrace.runtime.load(demo, num_threads=2)
    np.testing.assert_array_equal(model(demo_input)[0], demo_output)
    np.testing.assert_array_equal(model.run({"image": demo_input})[0], demo_output)
    with pytest.raises(InputError, match="expected float32\\[1, 3, 64, 64\\]"):
        model(demo_input[:, :2])


def test_artifact_loads_where_xdsl_and_onnx_cannot(
    demo: Path, demo_input: np.ndarray, demo_output: np.ndarray, tmp_path: Path
):
    np.save(tmp_path / "x.npy", demo_input)
    script = f"""
        import sys
        sys.modules["xdsl"] = None
        sys.modules["onnx"] = None
        for poisoned in ("xdsl", "onnx"):
            try:
                __import__(poisoned)
            except ImportError:
                pass
            else:
                raise SystemExit(poisoned + " imported")
        import numpy as np
        import terrace.runtime
        model = terrace.runtime.load({str(demo)!r})
        np.save({str(tmp_path / "y.npy")!r}, model(np.load({str(tmp_path / "x.npy")!r}))[0])
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("xdsl", "onnx"))
        assert all(sys.modules[m] is None for m in loaded), loaded
    """
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), demo_output)


def test_c_harness_gives_the_jits_outputs(
    demo: Path, demo_input: np.ndarray, demo_output: np.ndarray
):
    (output,) = run_harness(get_target(), demo, [demo_input], num_threads=2)
    np.testing.assert_array_equal(output, demo_output)


def test_c_harness_refuses_an_input_file_of_the_wrong_size(demo: Path, tmp_path: Path):
    executable = build_harness(get_target(), demo, tmp_path)
    short = tmp_path / "short.bin"
    short.write_bytes(bytes(12))
    result = subprocess.run(
        [executable, demo / "weights.bin", short, tmp_path / "out.bin"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "expected exactly 49152 bytes" in result.stderr
    usage = subprocess.run([executable], capture_output=True, text=True)
    assert usage.returncode == 1
    assert "usage:" in usage.stderr


def test_c_harness_reports_a_failed_index_check(tmp_path: Path):
    folder = tmp_path / "gather"
    compile_artifact(gather_model(ODD_NAME), folder, cache=False)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["index_checks"][0]["node"] == "lookup"
    assert manifest["status"] == {"name": "terrace.status", "dtype": "int64", "shape": [3]}
    # the odd name is escaped in model.h, and reads back as itself from C
    probe = tmp_path / "probe.c"
    probe.write_text(
        '#include <stdio.h>\n#include "model.h"\n'
        "int main(void) { fputs(terrace_input_names[0], stdout); return 0; }\n"
    )
    program = tmp_path / "probe"
    subprocess.run(["cc", "-std=c11", "-Wall", "-Werror", f"-I{folder}", probe, "-o", program])
    assert subprocess.run([program], capture_output=True).stdout == ODD_NAME.encode()
    target = get_target()
    (rows,) = run_harness(target, folder, [np.array([3, -4], dtype=np.int64)])
    np.testing.assert_array_equal(rows, [[9, 10, 11], [0, 1, 2]])
    with pytest.raises(IndexOutOfRangeError, match="node 'lookup' \\(Gather\\): index 4 "):
        run_harness(target, folder, [np.array([0, 4], dtype=np.int64)])
    with pytest.raises(IndexOutOfRangeError, match="index -5 "):
        terrace.runtime.load(folder)(np.array([-5, 0], dtype=np.int64))


def _edit_manifest(folder: Path, edit: Callable[[dict[str, object]], None]) -> None:
    path = folder / "manifest.json"
    manifest = json.loads(path.read_text())
    edit(manifest)
    path.write_text(json.dumps(manifest))


def _set_target(key: str, value: str) -> Callable[[dict[str, object]], None]:
    def edit(manifest: dict[str, object]) -> None:
        target = manifest["target"]
        assert isinstance(target, dict)
        target[key] = value  # pyright: ignore[reportUnknownMemberType]

    return edit


def _truncate(folder: Path) -> None:
    data = (folder / "weights.bin").read_bytes()
    (folder / "weights.bin").write_bytes(data[:-4])


def _flip_a_byte(folder: Path) -> None:
    data = bytearray((folder / "weights.bin").read_bytes())
    data[100] ^= 1
    (folder / "weights.bin").write_bytes(bytes(data))


BAD_ARTIFACTS: dict[str, tuple[Callable[[Path], None], str]] = {
    "weights truncated": (_truncate, "bytes, the manifest says"),
    "weights changed": (_flip_a_byte, "does not match the manifest's sha256"),
    "newer format": (
        lambda f: _edit_manifest(f, lambda m: m.update(format_version=99)),
        "artifact format version 99",
    ),
    "no manifest": (lambda f: (f / "manifest.json").unlink(), "is no Terrace artifact"),
    "damaged manifest": (
        lambda f: _edit_manifest(f, lambda m: m.pop("weights_file")),
        "manifest.json is damaged",
    ),
    "another architecture": (
        lambda f: _edit_manifest(f, _set_target("triple", "aarch64-unknown-linux-gnu")),
        "not for this x86_64 machine: run it with `terrace run",
    ),
    "a feature this machine lacks": (
        lambda f: _edit_manifest(f, _set_target("features", "+avx2,+no-such-feature")),
        "CPU features this machine lacks: no-such-feature",
    ),
}


@pytest.mark.parametrize("case", BAD_ARTIFACTS)
def test_bad_artifact_is_a_clear_error(
    copy_of: Callable[[], Path],
    case: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    demo_input: np.ndarray,
):
    if case == "another architecture" and host_target().machine().arch != "x86_64":
        pytest.skip("NOT TESTED here: the case edits an x86_64 artifact")
    damage, message = BAD_ARTIFACTS[case]
    folder = copy_of()
    damage(folder)
    with pytest.raises(TerraceRuntimeError, match=message.replace("(", "\\(")):
        terrace.runtime.load(folder)
    # the command line says the same in one line, exit status 1
    np.save(tmp_path / "x.npy", demo_input)
    assert main(["run", str(folder), "--input", f"image={tmp_path / 'x.npy'}"]) == 1
    error = capsys.readouterr().err
    assert error.startswith("terrace: error: ") and message in error
    assert len(error.strip().splitlines()) == 1


def test_compile_and_run_an_artifact_from_the_command_line(
    demo_input: np.ndarray, demo_output: np.ndarray, tmp_path: Path
):
    out = tmp_path / "out"
    assert main(["compile", str(DEMO_MODEL), "-o", str(out)]) == 0
    assert (out / "manifest.json").is_file()
    np.save(tmp_path / "x.npy", demo_input)
    saved = tmp_path / "y.npz"
    assert (
        main(["run", str(out), "--input", f"image={tmp_path / 'x.npy'}", "--output", str(saved)])
        == 0
    )
    np.testing.assert_array_equal(np.load(saved)["probabilities"], demo_output)


def test_a_missing_cross_tool_names_its_debian_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    folder = tmp_path / "aarch64"
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    written = compile_artifact(gather_model("i"), folder, "aarch64", cache=False)
    # the artifact is complete without its shared library, and the note says how to link it
    assert (folder / "manifest.json").is_file() and not (folder / "model.so").exists()
    (note,) = written.notes
    assert "aarch64-linux-gnu-gcc" in note and "gcc-aarch64-linux-gnu" in note
    inputs = [np.zeros(2, np.int64)]
    with pytest.raises(TerraceRuntimeError, match="Debian package qemu-user"):
        get_target("aarch64").run_artifact(folder, inputs)
    # with qemu-aarch64 there (a stand-in: the harness is linked first), the cross gcc is missing
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "qemu-aarch64").write_text("#!/bin/sh\nexit 99\n")
    (tools / "qemu-aarch64").chmod(0o755)
    monkeypatch.setenv("PATH", str(tools))
    with pytest.raises(TerraceRuntimeError, match="Debian package gcc-aarch64-linux-gnu"):
        get_target("aarch64").run_artifact(folder, inputs)


def test_compile_o_without_emit_wants_a_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    assert main(["compile", str(DEMO_MODEL), "-o", str(tmp_path / "model.ll")]) == 1
    assert "add --emit ll" in capsys.readouterr().err
    taken = tmp_path / "taken"
    taken.write_text("")
    assert main(["compile", str(DEMO_MODEL), "-o", str(taken)]) == 1
    assert "it is a file, not a folder" in capsys.readouterr().err


def test_an_artifact_written_over_another_leaves_none_of_its_files(tmp_path: Path):
    folder = tmp_path / "out"
    compile_artifact(gather_model("i"), folder, cache=False)
    assert (folder / "model.so").is_file()
    compile_artifact(gather_model("i"), folder, "wasm32", cache=False)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["target"]["tag"] == "wasm32"
    assert not (folder / "model.so").exists()
    assert {path.name for path in folder.iterdir()} == {
        "manifest.json",
        *manifest["files"].values(),
    }
