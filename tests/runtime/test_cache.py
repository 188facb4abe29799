"""The path index of the compile cache: an unchanged model file is served without parsing it
(in a fresh process, without importing the compiler), a rewritten one never gets the old code."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import terrace
from terrace import compiler
from terrace.runtime.cache import PathIndex
from terrace.runtime.remembered import load_remembered


def _scale_model(factor: float) -> onnx.ModelProto:
    """y = x * factor (the same size of file for every factor)."""
    graph = helper.make_graph(
        [helper.make_node("Mul", ["x", "k"], ["y"])],
        "scale",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])],
        [helper.make_tensor("k", TensorProto.FLOAT, [1], [factor])],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])


def test_unchanged_file_is_served_without_loading_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    path = tmp_path / "scale.onnx"
    onnx.save(_scale_model(2.0), path)
    cache = tmp_path / "cache"
    first = terrace.compile(path, cache=cache)
    assert not first.stats.from_cache
    assert list((cache / "paths").glob("*.json"))

    def no_loading(source: object) -> onnx.ModelProto:
        raise AssertionError("the model was read again")

    monkeypatch.setattr(compiler, "load_model", no_loading)
    second = terrace.compile(path, cache=cache)
    assert second.stats.from_cache
    x = np.arange(4, dtype=np.float32)
    np.testing.assert_array_equal(second(x)[0], x * 2)


def test_rewritten_file_is_compiled_again(tmp_path: Path):
    path = tmp_path / "scale.onnx"
    onnx.save(_scale_model(2.0), path)
    cache = tmp_path / "cache"
    terrace.compile(path, cache=cache)
    stat = path.stat()
    onnx.save(_scale_model(3.0), path)
    # even with the old size and modification time, the change time and inode differ
    assert path.stat().st_size == stat.st_size
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    rebuilt = terrace.compile(path, cache=cache)
    x = np.arange(4, dtype=np.float32)
    np.testing.assert_array_equal(rebuilt(x)[0], x * 3)


def test_damaged_index_entry_is_a_miss(tmp_path: Path):
    path = tmp_path / "scale.onnx"
    onnx.save(_scale_model(2.0), path)
    index = PathIndex(tmp_path / "cache")
    index.put("k", path, "artifact-key")
    assert index.get("k", path) == "artifact-key"
    (index.directory / "k.json").write_text("{not json")
    assert index.get("k", path) is None
    assert index.get("absent", path) is None


def test_fresh_process_loads_a_compiled_file_without_the_compiler(tmp_path: Path):
    path = tmp_path / "scale.onnx"
    onnx.save(_scale_model(2.0), path)
    cache = tmp_path / "cache"
    terrace.compile(path, cache=cache)
    script = f"""
        import sys
        sys.modules["xdsl"] = None
        sys.modules["onnx"] = None
        import numpy as np
        import terrace
        model = terrace.compile({str(path)!r}, cache={str(cache)!r})
        assert model.stats.from_cache
        print(model(np.arange(4, dtype=np.float32))[0].tolist())
    """
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[0.0, 2.0, 4.0, 6.0]"


def test_remembered_compile_is_per_target_and_shapes(tmp_path: Path):
    path = tmp_path / "scale.onnx"
    onnx.save(_scale_model(2.0), path)
    cache = tmp_path / "cache"
    terrace.compile(path, cache=cache)
    assert load_remembered(path, None, None, None, cache) is not None
    assert load_remembered(path, "x86_64-avx2", None, None, cache) is None
    assert load_remembered(path, None, None, {"x": [4]}, cache) is None
    assert load_remembered(path, None, None, None, False) is None
