"""Constant folding at import (frontend/onnx/folding.py): values known at import are computed by
Terrace's own semantics (the nn reference, function bodies, EyeLike and Range in numpy), onnx's
reference evaluator only for what has none and then named; outputs folded at import are
recorded through compilation and the cache, and the conformance runner and report count such
passes apart from compiled ones. Values are compared with onnxruntime."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import TensorProto, helper, numpy_helper

import terrace
from terrace.conformance.cases import ConformanceCase
from terrace.conformance.report import RunInfo, markdown, tally
from terrace.conformance.runner import run_case
from terrace.errors import UnsupportedModelError
from terrace.frontend.onnx import import_model

RNG = np.random.default_rng(3)


def _model(
    nodes: list[onnx.NodeProto],
    outputs: dict[str, int],
    initializers: dict[str, np.ndarray] | None = None,
    inputs: dict[str, np.ndarray] | None = None,
    opset: int = 21,
) -> onnx.ModelProto:
    graph = helper.make_graph(
        nodes,
        "fold",
        [
            helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape)
            for n, a in (inputs or {}).items()
        ],
        [helper.make_tensor_value_info(n, dtype, None) for n, dtype in outputs.items()],
        initializer=[numpy_helper.from_array(a, n) for n, a in (initializers or {}).items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def _onnxruntime(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    session = onnxruntime.InferenceSession(
        model.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    return [np.asarray(y) for y in session.run(None, feeds)]


def _check(model: onnx.ModelProto, feeds: dict[str, np.ndarray] | None = None) -> None:
    expected = _onnxruntime(model, feeds or {})
    actual = terrace.compile(model, cache=False).run(feeds or {})
    for want, got in zip(expected, actual, strict=True):
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-6)


def _constant(name: str, value: np.ndarray) -> onnx.NodeProto:
    return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(value))


# -- what folds, and by whose semantics -----------------------------------------------------


def test_only_outputs_known_at_import_are_recorded_as_folded():
    nodes = [
        helper.make_node("Add", ["a", "b"], ["constant_sum"]),
        helper.make_node("Relu", ["x"], ["computed"]),
    ]
    model = _model(
        nodes,
        {"constant_sum": TensorProto.FLOAT, "computed": TensorProto.FLOAT},
        {"a": np.ones(3, np.float32), "b": np.full(3, 2.0, np.float32)},
        {"x": np.zeros(3, np.float32)},
    )
    imported = import_model(model)
    assert imported.folded_outputs == ("constant_sum",)
    assert imported.onnx_folded_ops == ()
    _check(model, {"x": RNG.standard_normal(3).astype(np.float32)})


def test_an_op_without_terrace_semantics_is_folded_by_onnx_and_named():
    nodes = [helper.make_node("Compress", ["table", "keep"], ["kept"], axis=1)]
    initializers = {
        "table": RNG.standard_normal((2, 3)).astype(np.float32),
        "keep": np.array([True, False, True]),
    }
    model = _model(nodes, {"kept": TensorProto.FLOAT}, initializers)
    imported = import_model(model)
    assert imported.onnx_folded_ops == ("Compress",)
    assert imported.folded_outputs == ("kept",)
    _check(model)


def test_an_nn_op_whose_reference_is_onnxs_kernel_is_named_too():
    """nn.resize's reference runs onnx's kernel: folding through it is onnx's, not Terrace's."""
    nodes = [
        _constant("scales", np.array([1, 1, 2, 2], np.float32)),
        helper.make_node("Resize", ["image", "", "scales"], ["resized"], mode="nearest"),
    ]
    image = RNG.standard_normal((1, 1, 2, 3)).astype(np.float32)
    model = _model(nodes, {"resized": TensorProto.FLOAT}, {"image": image})
    assert import_model(model).onnx_folded_ops == ("Resize",)
    _check(model)


@pytest.mark.parametrize(
    "op", ["ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"]
)
def test_reductions_with_a_function_body_fold_through_it(op: str):
    data = np.abs(RNG.standard_normal((2, 3, 4))).astype(np.float32) + 0.5
    nodes = [
        _constant("axes", np.array([1], np.int64)),
        helper.make_node(op, ["data", "axes"], ["reduced"], keepdims=0),
    ]
    model = _model(nodes, {"reduced": TensorProto.FLOAT}, {"data": data}, opset=18)
    imported = import_model(model)
    assert imported.onnx_folded_ops == ()
    assert imported.folded_outputs == ("reduced",)
    _check(model)


@pytest.mark.parametrize("op", ["ReduceSum", "ReduceMax", "ReduceProd", "ReduceL2"])
def test_reductions_of_an_empty_input_fold_to_their_identities(op: str):
    nodes = [
        _constant("axes", np.array([1], np.int64)),
        helper.make_node(op, ["data", "axes"], ["reduced"], keepdims=1),
    ]
    inputs = {"data": np.zeros((2, 0, 4), np.float32)}
    model = _model(nodes, {"reduced": TensorProto.FLOAT}, inputs=inputs, opset=18)
    imported = import_model(model)
    assert imported.folded_outputs == ("reduced",) and imported.onnx_folded_ops == ()
    _check(model, inputs)


@pytest.mark.parametrize(
    ("shape", "k", "dtype"),
    [((3, 3), 0, None), ((2, 5), 2, TensorProto.INT32), ((4, 2), -1, TensorProto.DOUBLE)],
)
def test_eye_like_of_a_run_time_input_folds(shape: tuple[int, int], k: int, dtype: int | None):
    attributes = {"k": k} if dtype is None else {"k": k, "dtype": dtype}
    nodes = [helper.make_node("EyeLike", ["x"], ["eye"], **attributes)]
    inputs = {"x": RNG.standard_normal(shape).astype(np.float32)}
    out_type = TensorProto.FLOAT if dtype is None else dtype
    model = _model(nodes, {"eye": out_type}, inputs=inputs)
    imported = import_model(model)
    assert imported.folded_outputs == ("eye",) and imported.onnx_folded_ops == ()
    _check(model, inputs)


@pytest.mark.parametrize(
    ("start", "limit", "delta"),
    [
        (np.int64(2), np.int64(17), np.int64(3)),
        (np.int32(10), np.int32(-4), np.int32(-3)),
        (np.int64(5), np.int64(1), np.int64(2)),  # empty
        (np.float32(0.5), np.float32(3.3), np.float32(0.7)),
        (np.float64(1.0), np.float64(-1.0), np.float64(-0.25)),
    ],
)
def test_range_folds_with_onnxs_element_count(
    start: np.generic, limit: np.generic, delta: np.generic
):
    nodes = [
        _constant("start", np.array(start)),
        _constant("limit", np.array(limit)),
        _constant("delta", np.array(delta)),
        helper.make_node("Range", ["start", "limit", "delta"], ["values"]),
    ]
    element = helper.np_dtype_to_tensor_dtype(np.array(start).dtype)
    model = _model(nodes, {"values": element})
    assert import_model(model).onnx_folded_ops == ()
    _check(model)


def test_a_constant_node_that_cannot_be_evaluated_is_named():
    nodes = [
        _constant("table", np.arange(6, dtype=np.float32).reshape(2, 3)),
        _constant("index", np.array([5], np.int64)),
        helper.make_node("Gather", ["table", "index"], ["row"], axis=0, name="pick_row"),
    ]
    model = _model(nodes, {"row": TensorProto.FLOAT})
    with pytest.raises(UnsupportedModelError, match="pick_row .*cannot evaluate this constant"):
        import_model(model)


# -- through compilation, the cache and the conformance runner ------------------------------


def test_folded_outputs_survive_the_compile_cache(tmp_path: Path):
    nodes = [
        helper.make_node("Shape", ["x"], ["shape"]),
        helper.make_node("Relu", ["x"], ["y"]),
    ]
    inputs = {"x": np.zeros((2, 3), np.float32)}
    model = _model(nodes, {"shape": TensorProto.INT64, "y": TensorProto.FLOAT}, inputs=inputs)
    first = terrace.compile(model, cache=tmp_path)
    second = terrace.compile(model, cache=tmp_path)
    assert not first.stats.from_cache and second.stats.from_cache
    assert first.stats.folded_outputs == second.stats.folded_outputs == ("shape",)


def _case(name: str, model: onnx.ModelProto, feeds: list[np.ndarray]) -> ConformanceCase:
    expected = _onnxruntime(
        model, {v.name: a for v, a in zip(model.graph.input, feeds, strict=True)}
    )
    return ConformanceCase(
        name,
        "node",
        model.graph.node[-1].op_type,
        21,
        model_bytes=model.SerializeToString(),
        data_sets=[(feeds, expected)],
    )


def test_the_runner_and_report_count_folded_passes_apart():
    x = RNG.standard_normal((3, 3)).astype(np.float32)
    eye = _model(
        [helper.make_node("EyeLike", ["x"], ["eye"])],
        {"eye": TensorProto.FLOAT},
        inputs={"x": x},
    )
    relu = _model(
        [helper.make_node("Relu", ["x"], ["y"])], {"y": TensorProto.FLOAT}, inputs={"x": x}
    )
    outcomes = [
        run_case(_case("test_eye", eye, [x]), cache=False),
        run_case(_case("test_relu", relu, [x]), cache=False),
    ]
    assert [o.passed for o in outcomes] == [True, True]
    assert [o.folded for o in outcomes] == [True, False]
    counts = tally(outcomes)
    assert (counts.passed, counts.compiled, counts.folded) == (2, 1, 1)
    text = markdown(outcomes, RunInfo(1, 1.0, "", onnx.__version__, ("node",)))
    assert "**2 / 2 pass (100.0%)**: 1 compiled, 1 folded at import;" in text
    assert "| test_eye | EyeLike | - |" in text
    assert "| test_relu |" not in text


def test_terrace_run_says_which_outputs_were_folded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    from terrace.tools.cli import main

    monkeypatch.setenv("TERRACE_CACHE_DIR", str(tmp_path / "cache"))
    nodes = [
        helper.make_node("Shape", ["x"], ["shape"]),
        helper.make_node("Relu", ["x"], ["y"]),
    ]
    inputs = {"x": np.zeros((2, 3), np.float32)}
    model = _model(nodes, {"shape": TensorProto.INT64, "y": TensorProto.FLOAT}, inputs=inputs)
    onnx.save(model, str(tmp_path / "model.onnx"))
    np.save(tmp_path / "x.npy", RNG.standard_normal((2, 3)).astype(np.float32))
    assert main(["run", str(tmp_path / "model.onnx"), "--input", f"x={tmp_path / 'x.npy'}"]) == 0
    captured = capsys.readouterr()
    assert "note: 'shape' folded to constants at import" in captured.err
    assert "'y'" not in captured.err
    assert captured.out.startswith("shape: int64[2]")
