"""`terrace compile`, `terrace run` and `terrace demo`, in process, on the stand-in target of
fake_target.py (the real lowering is not needed to test the commands) and on the nn stage.
Mistakes are one line on stderr, exit status 1, no traceback."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest

from terrace.dialects.context import parse_module
from terrace.dialects.nn import WeightOp
from terrace.tools.cli import DEMO_MODEL, main

from fake_target import SIZE, relu_add_model, use_fake_target
from onnx_models import run_onnxruntime


@pytest.fixture
def relu_add_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[Path, onnx.ModelProto]:
    use_fake_target(monkeypatch)
    monkeypatch.setenv("TERRACE_CACHE_DIR", str(tmp_path / "cache"))
    model, _ = relu_add_model()
    path = tmp_path / "relu_add.onnx"
    onnx.save(model, str(path))
    return path, model


def _one_line_error(capsys: pytest.CaptureFixture[str], status: int) -> str:
    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith("terrace: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


def test_run_prints_outputs_and_saves_them(
    relu_add_file: tuple[Path, onnx.ModelProto],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
):
    path, model = relu_add_file
    x = np.random.default_rng(0).standard_normal(SIZE).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    (expected,) = run_onnxruntime(model, {"x": x})
    assert main(["run", str(path), "--input", f"x={tmp_path / 'x.npy'}"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("y: float32[8]")
    assert f"max {expected.max():.4g}" in out
    saved = tmp_path / "out.npz"
    assert (
        main(["run", str(path), "--input", f"x={tmp_path / 'x.npy'}", "--output", str(saved)]) == 0
    )
    with np.load(saved) as outputs:
        np.testing.assert_allclose(outputs["y"], expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.zeros(SIZE + 1, np.float32), r"input 'x': expected float32\[8\], given float32\[9\]"),
        (np.zeros(SIZE, np.int64), r"input 'x': expected float32\[8\], given int64\[8\]"),
    ],
)
def test_run_wrong_input_is_one_line(
    relu_add_file: tuple[Path, onnx.ModelProto],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    array: np.ndarray,
    message: str,
):
    path, _ = relu_add_file
    np.save(tmp_path / "x.npy", array)
    status = main(["run", str(path), "--input", f"x={tmp_path / 'x.npy'}"])
    assert message.replace("\\", "") in _one_line_error(capsys, status)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "missing input 'x'"),
        (["--input", "x"], "--input 'x': expected NAME=FILE.npy"),
        (["--input", "x=/nonexistent.npy"], "cannot read /nonexistent.npy"),
    ],
)
def test_run_bad_input_arguments(
    relu_add_file: tuple[Path, onnx.ModelProto],
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    message: str,
):
    path, _ = relu_add_file
    assert message in _one_line_error(capsys, main(["run", str(path), *extra]))


def test_compile_missing_model_is_one_line(capsys: pytest.CaptureFixture[str]):
    status = main(["compile", "/nonexistent/model.onnx", "--emit", "ll"])
    assert "no such model file" in _one_line_error(capsys, status)


def test_emit_nn_reads_back_with_weights_by_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    out = tmp_path / "demo.mlir"
    weights = tmp_path / "demo.npz"
    args = ["compile", str(DEMO_MODEL), "--emit", "nn", "-o", str(out), "--weights", str(weights)]
    assert main([*args, "--time"]) == 0
    err = capsys.readouterr().err
    assert "import" in err and "total" in err
    module = parse_module(out.read_text())
    names = {op.ref.data for op in module.walk() if isinstance(op, WeightOp)}
    with np.load(weights) as store:
        assert names and names <= set(store.files)
    assert "dense<" not in out.read_text()


def test_emit_ll_and_asm(
    relu_add_file: tuple[Path, onnx.ModelProto], capsys: pytest.CaptureFixture[str]
):
    path, _ = relu_add_file
    assert main(["compile", str(path), "--emit", "ll"]) == 0
    assert 'define void @"terrace_main"(ptr' in capsys.readouterr().out
    assert main(["compile", str(path), "--emit", "asm", "--time"]) == 0
    captured = capsys.readouterr()
    assert "terrace_main:" in captured.out
    assert "codegen" in captured.err


def test_emit_llvm_is_the_llvm_dialect(
    relu_add_file: tuple[Path, onnx.ModelProto], capsys: pytest.CaptureFixture[str]
):
    path, _ = relu_add_file
    assert main(["compile", str(path), "--emit", "llvm"]) == 0
    module = parse_module(capsys.readouterr().out)
    assert {op.name for op in module.ops} == {"llvm.func"}


def test_demo_compiles_runs_and_matches_the_reference(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.setenv("TERRACE_CACHE_DIR", str(tmp_path))
    assert main(["demo", "--runs", "2"]) == 0
    out = capsys.readouterr().out
    assert "top-5" in out
    error = float(out.split("max abs error against the nn reference: ")[1].split()[0])
    assert error < 1e-4
    assert "median latency over 2 runs" in out


def test_demo_exits_1_when_compiling_fails(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    import terrace
    from terrace.errors import CompilationError

    def failing_compile(*args: object, **kwargs: object) -> None:
        raise CompilationError("pass 'convert-nn-to-linalg' failed: no lowering for nn.relu")

    monkeypatch.setenv("TERRACE_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(terrace, "compile", failing_compile)
    status = main(["demo", "--runs", "2"])
    captured = capsys.readouterr()
    assert status == 1
    # the reference run is still shown, and stderr says why the demo failed, in one line
    assert "top-5" in captured.out
    assert "median latency" not in captured.out
    assert captured.err == (
        "terrace: error: compiling the model failed: "
        "pass 'convert-nn-to-linalg' failed: no lowering for nn.relu\n"
    )


def test_demo_exits_1_when_the_compiled_outputs_are_wrong(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    import terrace
    from terrace.runtime.model import CompiledModel

    real_compile = terrace.compile

    class OffByOne:
        """The real compiled model, its outputs shifted by one."""

        def __init__(self, model: CompiledModel) -> None:
            self.model = model
            self.stats = model.stats
            self.abi = model.abi

        def __call__(self, *inputs: np.ndarray) -> list[np.ndarray]:
            return [y + 1 for y in self.model(*inputs)]

    def wrong_compile(*args: object, **kwargs: object) -> OffByOne:
        return OffByOne(real_compile(*args, **kwargs))  # pyright: ignore[reportArgumentType]

    monkeypatch.setenv("TERRACE_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(terrace, "compile", wrong_compile)
    assert main(["demo", "--runs", "1"]) == 1
    captured = capsys.readouterr()
    assert "max abs error against the nn reference: 1\n" in captured.out
    assert captured.err.startswith("terrace: error: MISMATCH: the compiled outputs differ")
    assert captured.err.count("\n") == 1


def test_demo_reports_a_bug_in_the_compiled_path_as_internal(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    import terrace

    def broken_compile(*args: object, **kwargs: object) -> None:
        raise KeyError("ops")

    monkeypatch.setenv("TERRACE_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(terrace, "compile", broken_compile)
    assert main(["demo", "--runs", "2"]) == 70
    assert capsys.readouterr().err.startswith("terrace: internal error: KeyError")
