"""`terrace.compile`: the driver, the disk cache and the compiled models.

The first tests run the driver on a stand-in target (fake_target.py: one pass that swaps in a
hand-written llvm-dialect module), so that they hold whatever the lowering stages do. The last
ones compile tiny models through the host target's real pipeline with onnxruntime as the
oracle.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import helper

import terrace
from terrace import compiler
from terrace.errors import CompilationError, InputError, TerraceError

from fake_target import SIZE, relu_add_model, use_fake_target
from onnx_models import assert_close_to_reference, float_model, run_onnxruntime


def _forbid(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"compiler.{name} ran on a cache hit")

    monkeypatch.setattr(compiler, name, fail)


# -- the driver, on the stand-in target ----------------------------------------------------


def test_compile_runs_like_onnxruntime(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    use_fake_target(monkeypatch)
    model, _ = relu_add_model()
    compiled = terrace.compile(model, cache=tmp_path)
    x = np.random.default_rng(1).standard_normal(SIZE).astype(np.float32)
    (expected,) = run_onnxruntime(model, {"x": x})
    np.testing.assert_allclose(compiled(x)[0], expected, rtol=0, atol=1e-6)
    np.testing.assert_allclose(compiled.run({"x": x})[0], expected, rtol=0, atol=1e-6)
    assert [s.name for s in compiled.inputs] == ["x"]
    assert [s.name for s in compiled.outputs] == ["y"]
    assert not compiled.stats.from_cache
    assert {"import", "nn", "translate", "codegen"} <= set(compiled.stats.stage_seconds)


def test_second_compile_skips_import_and_pipeline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    use_fake_target(monkeypatch)
    model, _ = relu_add_model(seed=2)
    path = tmp_path / "relu_add.onnx"
    onnx.save(model, str(path))
    first = terrace.compile(path, cache=tmp_path / "cache")
    for name in ("build", "lower", "import_model"):
        _forbid(monkeypatch, name)
    second = terrace.compile(path, cache=tmp_path / "cache")
    assert second.stats.from_cache and second.stats.cache_key == first.stats.cache_key
    x = np.random.default_rng(3).standard_normal(SIZE).astype(np.float32)
    (expected,) = run_onnxruntime(model, {"x": x})
    np.testing.assert_allclose(second(x)[0], expected, rtol=0, atol=1e-6)


def test_other_weights_miss_the_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    use_fake_target(monkeypatch)
    first = terrace.compile(relu_add_model(seed=4)[0], cache=tmp_path)
    model, weight = relu_add_model(seed=5)
    second = terrace.compile(model, cache=tmp_path)
    assert not second.stats.from_cache
    x = np.ones(SIZE, np.float32)
    np.testing.assert_allclose(second(x)[0], 1 + weight, rtol=0, atol=1e-6)
    assert first.stats.cache_key != second.stats.cache_key


def test_no_cache_writes_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    use_fake_target(monkeypatch)
    monkeypatch.setenv("TERRACE_CACHE_DIR", str(tmp_path))
    terrace.compile(relu_add_model()[0], cache=False)
    assert list(tmp_path.iterdir()) == []


def test_wrong_inputs_raise_input_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    use_fake_target(monkeypatch)
    compiled = terrace.compile(relu_add_model()[0], cache=tmp_path)
    with pytest.raises(InputError, match=r"input 'x': expected float32\[8\], given float64\[8\]"):
        compiled(np.zeros(SIZE))
    with pytest.raises(InputError, match="missing input 'x'"):
        compiled.run({})


def test_unknown_target_and_missing_file():
    with pytest.raises(
        CompilationError,
        match="unknown target 'tpu'; targets: .*wasm32",
    ):
        terrace.compile(relu_add_model()[0], target="tpu", cache=False)
    with pytest.raises(TerraceError, match="no such model file"):
        terrace.compile("/nonexistent/model.onnx")


def test_failing_pass_is_named(monkeypatch: pytest.MonkeyPatch):
    use_fake_target(monkeypatch)

    def broken(self: object, ctx: object, op: object) -> None:
        raise KeyError("the missing thing")

    from fake_target import SwapInHandWrittenLlvm

    monkeypatch.setattr(SwapInHandWrittenLlvm, "apply", broken)
    with pytest.raises(CompilationError, match="pass 'test-swap-in-hand-written-llvm' failed"):
        terrace.compile(relu_add_model()[0], cache=False)


def test_unknown_pass_in_a_pipeline_is_named():
    from terrace.compiler import parse_pipeline

    with pytest.raises(CompilationError, match="no-such-pass"):
        parse_pipeline("cse,no-such-pass")


# -- the real CPU pipeline, against onnxruntime ----------------------------------------------


def _tiny_models() -> dict[str, onnx.ModelProto]:
    rng = np.random.default_rng(0)
    conv_w = rng.uniform(-0.5, 0.5, (4, 3, 3, 3)).astype(np.float32)
    conv_b = rng.uniform(-0.5, 0.5, (4,)).astype(np.float32)
    gemm_b = rng.uniform(-0.5, 0.5, (5, 7)).astype(np.float32)
    gemm_c = rng.uniform(-0.5, 0.5, (7,)).astype(np.float32)
    return {
        "relu": float_model(
            [helper.make_node("Relu", ["x"], ["y"])], {"x": [2, 3]}, {"y": [2, 3]}, {}
        ),
        "add_broadcast": float_model(
            [helper.make_node("Add", ["a", "b"], ["y"])],
            {"a": [2, 3, 4], "b": [3, 1]},
            {"y": [2, 3, 4]},
            {},
        ),
        "conv_relu": float_model(
            [
                helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
                helper.make_node("Relu", ["c"], ["y"]),
            ],
            {"x": [1, 3, 6, 6]},
            {"y": [1, 4, 6, 6]},
            {"w": conv_w, "b": conv_b},
        ),
        "gemm": float_model(
            [helper.make_node("Gemm", ["x", "B", "C"], ["y"], transB=0)],
            {"x": [3, 5]},
            {"y": [3, 7]},
            {"B": gemm_b, "C": gemm_c},
        ),
    }


@pytest.mark.parametrize("name", sorted(_tiny_models()))
def test_tiny_model_matches_onnxruntime(name: str, tmp_path: Path):
    model = _tiny_models()[name]
    compiled = terrace.compile(model, cache=tmp_path)
    rng = np.random.default_rng(1)
    feeds = {s.name: rng.standard_normal(s.shape).astype(np.float32) for s in compiled.inputs}
    expected = run_onnxruntime(model, feeds)
    for actual, reference in zip(compiled.run(feeds), expected, strict=True):
        assert_close_to_reference(actual, reference)
    positional = compiled(*(feeds[s.name] for s in compiled.inputs))
    for actual, reference in zip(positional, expected, strict=True):
        assert_close_to_reference(actual, reference)


def test_real_pipeline_second_compile_is_served_by_the_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    model = _tiny_models()["conv_relu"]
    first = terrace.compile(model, cache=tmp_path)
    for name in ("build", "lower", "import_model"):
        _forbid(monkeypatch, name)
    second = terrace.compile(model, cache=tmp_path)
    assert second.stats.from_cache
    x = np.random.default_rng(2).standard_normal((1, 3, 6, 6)).astype(np.float32)
    np.testing.assert_array_equal(first(x)[0], second(x)[0])
