"""`terrace.backend`: Terrace behind onnx's Backend API (prepare, run_model, run_node,
supports_device), driven directly and by onnx's own backend test runner."""

from __future__ import annotations

import unittest
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from onnx.backend.base import Backend, BackendRep

import terrace.backend
from terrace.backend import TerraceBackend, TerraceRep
from terrace.errors import InputError, UnsupportedModelError


@pytest.fixture(autouse=True)
def private_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TERRACE_CACHE_DIR", str(tmp_path / "cache"))


def _add_relu_model() -> onnx.ModelProto:
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "y"], ["s"]), helper.make_node("Relu", ["s"], ["z"])],
        "add_relu",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3]),
            helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3]),
        ],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, [2, 3])],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _inputs() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return (
        rng.standard_normal((2, 3)).astype(np.float32),
        rng.standard_normal((2, 3)).astype(np.float32),
    )


def test_backend_is_an_onnx_backend():
    assert issubclass(TerraceBackend, Backend)
    assert issubclass(TerraceRep, BackendRep)


def test_prepare_then_run_positionally_and_by_name():
    x, y = _inputs()
    rep = TerraceBackend.prepare(_add_relu_model(), "CPU")
    (by_position,) = rep.run([x, y])
    (by_name,) = rep.run({"x": x, "y": y})
    np.testing.assert_allclose(by_position, np.maximum(x + y, 0), rtol=1e-6)
    np.testing.assert_array_equal(by_name, by_position)


def test_run_model_and_the_module_level_functions():
    x, y = _inputs()
    (z,) = TerraceBackend.run_model(_add_relu_model(), [x, y])
    (same,) = terrace.backend.run_model(_add_relu_model(), [x, y])
    np.testing.assert_allclose(z, np.maximum(x + y, 0), rtol=1e-6)
    np.testing.assert_array_equal(same, z)


def test_run_node_infers_output_types():
    x, y = _inputs()
    node = helper.make_node("Sub", ["a", "b"], ["c"])
    (c,) = TerraceBackend.run_node(node, [x, y])
    np.testing.assert_allclose(c, x - y, rtol=1e-6)
    (c13,) = TerraceBackend.run_node(node, {"a": x, "b": y}, opset_version=13)
    np.testing.assert_array_equal(c13, c)


def test_run_node_takes_outputs_info():
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    node = helper.make_node("Transpose", ["x"], ["t"], perm=[1, 0])
    (t,) = TerraceBackend.run_node(node, [x], outputs_info=[(np.dtype(np.float32), (3, 2))])
    np.testing.assert_array_equal(t, x.T)


def test_one_input_model_runs_on_a_bare_array():
    x = np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)
    node = helper.make_node("Relu", ["x"], ["y"])
    model = terrace.backend.node_model(node, {"x": x}, 14)
    (y,) = TerraceBackend.prepare(model).run(x)
    np.testing.assert_array_equal(y, np.maximum(x, 0))


def test_supports_only_the_cpu():
    assert TerraceBackend.supports_device("CPU")
    assert terrace.backend.supports_device("CPU")
    assert not TerraceBackend.supports_device("CUDA")
    assert not TerraceBackend.supports_device("TPU")


def test_unsupported_op_raises_terrace_error_naming_it():
    x = np.ones((2, 2), np.float32)
    node = helper.make_node("Unique", ["a"], ["c"])
    with pytest.raises(UnsupportedModelError, match=r"Unique.*operator not supported"):
        TerraceBackend.run_node(node, [x])


def test_wrong_input_count_is_an_input_error():
    rep = TerraceBackend.prepare(_add_relu_model())
    with pytest.raises(InputError, match="expected 2 inputs"):
        rep.run([np.ones((2, 3), np.float32)])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # onnx's case generators divide by 0
def test_onnx_backend_test_runner_drives_terrace():
    # onnx's own runner (what other backends' CI uses), on a few of its node tests
    from onnx.backend.test import BackendTest

    runner = BackendTest(TerraceBackend, __name__)
    runner.include(r"^test_(relu|add|matmul_2d|softmax_axis_1)_cpu$")
    result = unittest.TextTestRunner(verbosity=0).run(runner.test_suite)
    assert result.testsRun - len(result.skipped) == 4  # the others are skipped, not run
    assert result.wasSuccessful(), [str(e) for _, e in result.failures + result.errors]
