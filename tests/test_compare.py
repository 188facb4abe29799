"""`terrace compare` (tools/compare_command.py, docs/compare.md): an injected wrong rewrite is
found at the node where it starts; a model onnxruntime cannot run gives that error and
Terrace's outputs alone."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import terrace.compiler
from terrace.passes import registry
from terrace.tools._plugin import load_pass_plugin
from terrace.tools.cli import main
from terrace.tools.compare_command import compare, expose_intermediates

PLUGIN = Path(__file__).parent / "fuzz_plugins" / "wrong_rewrites.py"


def _chain_model() -> onnx.ModelProto:
    """x -> Relu -> Sub(bias) -> Mul(2) -> Tanh: four nodes, each feeding the next."""
    bias = numpy_helper.from_array(np.linspace(-1, 1, 8).astype(np.float32), "bias")
    two = numpy_helper.from_array(np.array(2.0, np.float32), "two")
    nodes = [
        helper.make_node("Relu", ["x"], ["r"], name="relu1"),
        helper.make_node("Sub", ["r", "bias"], ["s"], name="sub1"),
        helper.make_node("Mul", ["s", "two"], ["m"], name="mul1"),
        helper.make_node("Tanh", ["m"], ["y"], name="tanh1"),
    ]
    graph = helper.make_graph(
        nodes,
        "chain",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 8])],
        [bias, two],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


@pytest.fixture(autouse=True)
def own_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # an injected wrong rewrite must never reach, or come from, a shared compile cache
    monkeypatch.setenv("TERRACE_CACHE_DIR", str(tmp_path / "cache"))


def _inject_wrong_sub(monkeypatch: pytest.MonkeyPatch) -> None:
    """Terrace's nn pipeline gains the plugin's `wrong-swap-sub` (a - b -> b - a)."""
    (wrong,) = [p for p in load_pass_plugin(str(PLUGIN)) if p.name == "wrong-swap-sub"]
    monkeypatch.setitem(registry.TERRACE_PASSES, "wrong-swap-sub", lambda: wrong)
    monkeypatch.setattr(terrace.compiler, "NN_PIPELINE", "nn-canonicalize,wrong-swap-sub")


def test_every_node_output_is_exposed_in_graph_order():
    exposed, triples = expose_intermediates(_chain_model())
    assert [t[0] for t in triples] == ["relu1", "sub1", "mul1", "tanh1"]
    assert [o.name for o in exposed.graph.output] == ["y", "r", "s", "m"]
    _, narrowed = expose_intermediates(_chain_model(), "sub|Tanh")
    assert [t[0] for t in narrowed] == ["sub1", "tanh1"]


def test_a_correct_model_is_within_tolerance_everywhere():
    result = compare(_chain_model(), {})
    assert [d.node for d in result.diffs] == ["relu1", "sub1", "mul1", "tanh1"]
    assert result.first_divergent is None


def test_an_injected_wrong_rewrite_is_named_where_it_starts(monkeypatch: pytest.MonkeyPatch):
    _inject_wrong_sub(monkeypatch)
    result = compare(_chain_model(), {"x": np.full((2, 8), 0.5, np.float32)})
    first = result.first_divergent
    assert first is not None and (first.node, first.op_type, first.output) == ("sub1", "Sub", "s")
    relu = result.diffs[0]
    assert relu.node == "relu1" and relu.within and relu.max_abs == 0.0
    # (r - bias) and (bias - r) differ by 2 |r - bias|: at most 2 * 1.5 here
    assert first.max_abs == pytest.approx(3.0)


def test_cli_json_names_the_node(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    _inject_wrong_sub(monkeypatch)
    path = tmp_path / "chain.onnx"
    onnx.save(_chain_model(), str(path))
    x = tmp_path / "x.npy"
    np.save(x, np.full((2, 8), 0.5, np.float32))
    status = main(["compare", str(path), "--input", f"x={x}", "--nodes", "sub|mul", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert status == 1
    assert [t["node"] for t in report["tensors"]] == ["sub1", "mul1"]
    assert report["first_divergent"]["node"] == "sub1"
    assert main(["compare", str(path), "--input", f"x={x}"]) == 1
    table = capsys.readouterr().out
    assert "first node past tolerance (rtol 0.0001, atol 1e-06): 'sub1' (Sub)" in table


def test_a_model_onnxruntime_cannot_run_gives_terraces_outputs_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    """Momentum (ai.onnx.preview.training) has no onnxruntime kernel; Terrace runs it."""
    domain = "ai.onnx.preview.training"
    node = helper.make_node(
        "Momentum", ["r", "t", "x", "g", "v"], ["x_new", "v_new"], domain=domain,
        norm_coefficient=0.02, alpha=0.9, beta=0.7, mode="standard", name="step",
    )  # fmt: skip
    scalar = [helper.make_tensor_value_info("r", TensorProto.FLOAT, [])]
    scalar.append(helper.make_tensor_value_info("t", TensorProto.INT64, []))
    tensors = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [2, 3]) for n in "xgv"]
    outputs = [
        helper.make_tensor_value_info(n, TensorProto.FLOAT, [2, 3]) for n in ("x_new", "v_new")
    ]
    graph = helper.make_graph([node], "momentum", [*scalar, *tensors], outputs)
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid(domain, 1), helper.make_opsetid("", 17)]
    )
    path = tmp_path / "momentum.onnx"
    onnx.save(model, str(path))
    assert main(["compare", str(path)]) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith("terrace compare: onnxruntime cannot run the model:")
    assert "Terrace's outputs alone:" in captured.out
    assert "x_new: float32[2, 3]" in captured.out and "v_new: float32[2, 3]" in captured.out
