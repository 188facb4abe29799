"""Inputs that give axes, shapes or trip counts: `terrace.compile(input_values=...)` binds them,
and `terrace.backend` compiles per distinct set of their values (`SpecializingRep`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import terrace
from terrace.backend import SpecializingRep, TerraceBackend, TerraceRep
from terrace.errors import InputError, ModelImportError, UnsupportedModelError


@pytest.fixture(autouse=True)
def private_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TERRACE_CACHE_DIR", str(tmp_path / "cache"))


def _model(nodes: list[onnx.NodeProto], inputs: list[onnx.ValueInfoProto], out: str):
    graph = helper.make_graph(
        nodes, "g", inputs, [helper.make_tensor_value_info(out, TensorProto.FLOAT, None)]
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])


def _reduce_sum_model() -> onnx.ModelProto:
    return _model(
        [helper.make_node("ReduceSum", ["x", "axes"], ["y"], keepdims=0)],
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 4, 5]),
            helper.make_tensor_value_info("axes", TensorProto.INT64, [1]),
        ],
        "y",
    )


def _data() -> np.ndarray:
    return np.random.default_rng(0).standard_normal((3, 4, 5)).astype(np.float32)


def test_compile_names_the_inputs_it_needs_values_of():
    with pytest.raises(UnsupportedModelError, match=r"ReduceSum.*axes.*must be constant") as info:
        terrace.compile(_reduce_sum_model(), cache=False)
    assert info.value.value_inputs == {"axes"}


def test_compile_with_input_values_binds_them():
    model = terrace.compile(
        _reduce_sum_model(), input_values={"axes": np.array([1], np.int64)}, cache=False
    )
    assert [spec.name for spec in model.inputs] == ["x"]
    x = _data()
    (y,) = model(x)
    np.testing.assert_allclose(y, x.sum(axis=1), rtol=1e-5, atol=1e-6)


def test_backend_compiles_once_per_distinct_value():
    rep = TerraceBackend.prepare(_reduce_sum_model(), "CPU")
    assert isinstance(rep, SpecializingRep)
    assert rep.model is None
    x = _data()
    for axis in (1, 0, -1, 1):
        (y,) = rep.run([x, np.array([axis], np.int64)])
        np.testing.assert_allclose(y, x.sum(axis=axis), rtol=1e-5, atol=1e-6)
    assert len(rep._compiled) == 3  # pyright: ignore[reportPrivateUsage]
    (by_name,) = rep.run({"x": x, "axes": np.array([2], np.int64)})
    np.testing.assert_allclose(by_name, x.sum(axis=2), rtol=1e-5, atol=1e-6)


def test_backend_checks_inputs_before_compiling():
    rep = TerraceBackend.prepare(_reduce_sum_model(), "CPU")
    with pytest.raises(InputError, match="expected 2 inputs"):
        rep.run([_data()])
    with pytest.raises(ModelImportError, match=r"input_values\['axes'\] is int32"):
        rep.run([_data(), np.array([1], np.int32)])
    with pytest.raises(ModelImportError, match=r"has shape \[2\]"):
        rep.run([_data(), np.array([0, 1], np.int64)])


def test_loop_trip_count_from_an_input():
    body = helper.make_graph(
        [
            helper.make_node("Add", ["acc_in", "one"], ["acc_out"]),
            helper.make_node("Identity", ["cond_in"], ["cond_out"]),
        ],
        "body",
        [
            helper.make_tensor_value_info("i", TensorProto.INT64, []),
            helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
            helper.make_tensor_value_info("acc_in", TensorProto.FLOAT, [2]),
        ],
        [
            helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
            helper.make_tensor_value_info("acc_out", TensorProto.FLOAT, [2]),
        ],
        [helper.make_tensor("one", TensorProto.FLOAT, [2], [1.0, 2.0])],
    )
    model = _model(
        [helper.make_node("Loop", ["trips", "", "x"], ["y"], body=body)],
        [
            helper.make_tensor_value_info("trips", TensorProto.INT64, []),
            helper.make_tensor_value_info("x", TensorProto.FLOAT, [2]),
        ],
        "y",
    )
    rep = TerraceBackend.prepare(model, "CPU")
    assert isinstance(rep, SpecializingRep) and rep.value_inputs == {"trips"}
    x = np.array([0.5, -1.0], np.float32)
    for trips in (3, 0):
        (y,) = rep.run([np.array(trips, np.int64), x])
        np.testing.assert_allclose(y, x + trips * np.array([1.0, 2.0], np.float32))


def test_an_output_the_values_alone_determine_is_refused():
    """Range's output is its inputs' function: binding them would compute it at import time
    (with onnx's reference kernels), not in compiled code."""
    scalar = [helper.make_tensor_value_info(n, TensorProto.INT64, []) for n in "abc"]
    model = _model([helper.make_node("Range", ["a", "b", "c"], ["y"])], scalar, "y")
    model.graph.output[0].type.tensor_type.elem_type = TensorProto.INT64
    values = {n: np.array(v, np.int64) for n, v in zip("abc", (0, 6, 2), strict=True)}
    with pytest.raises(UnsupportedModelError, match="determined by the values bound to"):
        terrace.compile(model, input_values=values, cache=False)


def test_data_inputs_are_never_bound():
    """A shape computed from a large data input stays unsupported at prepare."""
    model = _model(
        [
            helper.make_node("ArgMax", ["x"], ["where"], axis=1, keepdims=0),
            helper.make_node("Concat", ["where", "where"], ["shape"], axis=0),
            helper.make_node("Reshape", ["x", "shape"], ["y"]),
        ],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8192])],
        "y",
    )
    with pytest.raises(UnsupportedModelError, match="Reshape") as info:
        TerraceBackend.prepare(model, "CPU")
    assert not info.value.value_inputs


def test_a_model_without_value_inputs_gets_a_plain_rep():
    model = _model(
        [helper.make_node("Relu", ["x"], ["y"])],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
        "y",
    )
    assert isinstance(TerraceBackend.prepare(model, "CPU"), TerraceRep)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"nope": np.array([1], np.int64)}, "which is not a graph input"),
        ({"axes": np.zeros(5000, np.int64)}, "has shape"),
    ],
)
def test_input_values_errors(values: dict[str, np.ndarray], message: str):
    with pytest.raises(ModelImportError, match=message):
        terrace.compile(_reduce_sum_model(), input_values=values, cache=False)


def test_backend_compiles_per_shape_for_dynamic_dimensions():
    """A dynamic batch dimension: `terrace.compile` asks for shapes, the backend takes them
    from each call's data (one compiled model per distinct shape)."""
    model = _model(
        [helper.make_node("Softmax", ["x"], ["y"], axis=-1)],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        "y",
    )
    with pytest.raises(ModelImportError, match="dynamic dimension 'N'"):
        terrace.compile(model, cache=False)
    rep = TerraceBackend.prepare(model, "CPU")
    for batch in (3, 1, 3):
        x = np.random.default_rng(batch).standard_normal((batch, 4)).astype(np.float32)
        (y,) = rep.run([x])
        expected = np.exp(x) / np.exp(x).sum(axis=-1, keepdims=True)
        np.testing.assert_allclose(y, expected, rtol=1e-5)


def test_dropout_in_training_mode_with_ratio_zero_is_the_identity():
    """training_mode and ratio given at run time: bound, then ratio 0 keeps every element;
    another ratio would drop at random, which is unsupported."""
    graph = helper.make_graph(
        [helper.make_node("Dropout", ["x", "r", "t"], ["y", "mask"])],
        "g",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3]),
            helper.make_tensor_value_info("r", TensorProto.FLOAT, []),
            helper.make_tensor_value_info("t", TensorProto.BOOL, []),
        ],
        [
            helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3]),
            helper.make_tensor_value_info("mask", TensorProto.BOOL, [2, 3]),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    rep = TerraceBackend.prepare(model, "CPU")
    x = _data()[0, :2, :3]
    y, mask = rep.run([x, np.array(0.0, np.float32), np.array(True)])
    np.testing.assert_array_equal(y, x)
    np.testing.assert_array_equal(mask, np.ones((2, 3), np.bool_))
    (y,) = rep.run([x, np.array(0.5, np.float32), np.array(False)])[:1]
    np.testing.assert_array_equal(y, x)
    with pytest.raises(UnsupportedModelError, match="training mode"):
        rep.run([x, np.array(0.5, np.float32), np.array(True)])
