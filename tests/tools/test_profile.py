"""`terrace profile`: the instrumented build computes what the plain one does, its marks bracket
every kernel call in order, the calls map back to the ONNX nodes of the model, the rows
partition the calls and add up, locations change no generated code, and the command writes
its table, JSON, Chrome trace and roofline (or says clearly why not). No timing is asserted:
only the structure of what was timed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, NameLoc, UnknownLoc

from terrace.benchmarks.profile import (
    MAIN_ROW,
    PYTHON_ROW,
    graph_nodes,
    group_calls,
    instrumented,
    middle_runs,
    profile_compiled,
    random_inputs,
)
from terrace.compiler import StageTimer, compile, lower
from terrace.dialects.context import terrace_context
from terrace.errors import CompilationError, TerraceRuntimeError
from terrace.runtime.profile import KernelCall, ProfiledModel, ProfiledRun, install_hook
from terrace.targets import get_target
from terrace.tools.cli import main

NODES = ("conv", "relu", "pool", "flatten", "fc", "softmax")
CONV_FLOPS = 2 * (1 * 8 * 8 * 8) * (3 * 3 * 3)
"""Output elements (N, Cout, H, W) times 2 * the reduction (Cin, kh, kw), written out here
rather than taken from benchmarks/flops.py."""
FC_FLOPS = 2 * 10 * 128


def _model() -> onnx.ModelProto:
    """Conv (padded, 3 -> 8 channels, 8x8) + Relu, MaxPool 2x2, Flatten, Gemm to 10, Softmax:
    each node named."""
    rng = np.random.default_rng(0)
    weights = [
        numpy_helper.from_array(rng.standard_normal((8, 3, 3, 3)).astype(np.float32), "w"),
        numpy_helper.from_array(rng.standard_normal((128, 10)).astype(np.float32), "fc_w"),
        numpy_helper.from_array(rng.standard_normal(10).astype(np.float32), "fc_b"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], "conv", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"], "relu"),
        helper.make_node("MaxPool", ["r"], ["p"], "pool", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["p"], ["f"], "flatten"),
        helper.make_node("Gemm", ["f", "fc_w", "fc_b"], ["g"], "fc"),
        helper.make_node("Softmax", ["g"], ["y"], "softmax"),
    ]
    graph = helper.make_graph(
        nodes,
        "profiled",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])],
        weights,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory):
    cache = tmp_path_factory.mktemp("cache")
    model = _model()
    target = get_target()
    plain = compile(model, target, 1, cache=cache)
    install_hook()
    profiled = compile(model, instrumented(target), 1, cache=cache)
    return model, plain, profiled


def test_the_instrumented_build_computes_what_the_plain_one_does(builds) -> None:
    _, plain, profiled = builds
    inputs = random_inputs(plain, seed=1)
    (expected,) = plain(*inputs)
    (actual,) = profiled(*inputs)
    np.testing.assert_array_equal(actual, expected)


def test_marks_bracket_each_kernel_call_in_order(builds) -> None:
    _, plain, profiled = builds
    model = ProfiledModel(profiled)
    run = model.run(random_inputs(plain, seed=0))
    stamps = [run.call_start, run.entry_start]
    for start, end in run.kernel_spans():
        stamps += [start, end]
    stamps += [run.entry_end, run.call_end]
    assert len(run.kernel_spans()) == len(model.calls) > 0
    assert stamps == sorted(stamps)


def test_every_call_names_nodes_of_the_model_and_every_computing_node_has_a_call(builds) -> None:
    _, _, profiled = builds
    calls = ProfiledModel(profiled).calls
    named = {node for call in calls for node in call.nodes}
    assert named <= set(NODES)
    # Flatten is a view (no kernel); the others compute
    assert {"conv", "relu", "pool", "fc", "softmax"} <= named
    assert all(call.kernel.startswith("kernel_") and call.bytes > 0 for call in calls)


def test_fused_elementwise_chains_keep_every_node_name(tmp_path: Path) -> None:
    """linalg-fuse-elementwise computes Add, Sigmoid and Mul (SiLU) in one kernel: its call
    names all three nodes."""
    nodes = [
        helper.make_node("Add", ["x", "x"], ["a"], "add"),
        helper.make_node("Sigmoid", ["a"], ["s"], "sigmoid"),
        helper.make_node("Mul", ["a", "s"], ["y"], "mul"),
    ]
    value = helper.make_tensor_value_info
    graph = helper.make_graph(
        nodes,
        "silu",
        [value("x", TensorProto.FLOAT, [4, 64])],
        [value("y", TensorProto.FLOAT, [4, 64])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    install_hook()
    profiled = compile(model, instrumented(get_target()), 1, cache=tmp_path)
    named = [set(call.nodes) for call in ProfiledModel(profiled).calls]
    assert {"add", "sigmoid", "mul"} in named


def test_rows_partition_the_calls_count_flops_once_and_add_up(builds) -> None:
    model, plain, profiled = builds
    nodes, flops = graph_nodes(model)
    profile = profile_compiled(plain, profiled, random_inputs(plain, 0), 5, nodes, flops)
    indices = sorted(i for row in profile.rows for i in row.calls)
    assert indices == list(range(len(profile.calls)))
    by_node = {node.label: row for row in profile.rows for node in row.nodes}
    assert by_node["conv"].flops == CONV_FLOPS + (by_node["conv"] is by_node["fc"]) * FC_FLOPS
    assert by_node["fc"].flops == FC_FLOPS + (by_node["conv"] is by_node["fc"]) * CONV_FLOPS
    assert by_node["softmax"].flops is None or by_node["softmax"] is by_node["fc"]
    assert [row.name for row in profile.rows[-2:]] == [MAIN_ROW, PYTHON_ROW]
    typical = middle_runs(profile.runs)
    mean_call = np.mean([r.call_end - r.call_start for r in typical]) / 1e9
    assert profile.total_seconds == pytest.approx(mean_call, rel=1e-9)
    assert len(profile.runs) == len(profile.plain_seconds) == 5


def test_calls_sharing_a_node_form_one_group_even_through_a_later_call() -> None:
    calls = [
        KernelCall("kernel_0", ("a",), 4),
        KernelCall("kernel_1", ("b",), 4),
        KernelCall("kernel_2", (), 4),  # a copy into an output: no node
        KernelCall("kernel_3", ("b", "a"), 4),  # joins a's group and b's
        KernelCall("kernel_4", ("c",), 4),
        KernelCall("kernel_0", ("c", "d"), 4),
    ]
    assert group_calls(calls) == [[0, 1, 3], [4, 5], [2]]


def test_middle_runs_keep_the_runs_between_the_quartiles() -> None:
    runs = [ProfiledRun(0, length, np.zeros(2, np.int64)) for length in (50, 10, 40, 30, 20)]
    assert sorted(r.call_end for r in middle_runs(runs)) == [20, 30, 40]
    assert len(middle_runs(runs[:1])) == 1


def test_a_model_without_the_instrumentation_is_refused(builds) -> None:
    _, plain, _ = builds
    with pytest.raises(TerraceRuntimeError, match="not compiled with instrument-kernels"):
        ProfiledModel(plain)


def test_a_pipeline_without_kernels_cannot_be_instrumented() -> None:
    target = get_target()
    no_kernels = target.with_pipeline(target.pipeline().without("outline-kernels"))
    with pytest.raises(CompilationError, match="does not outline kernels"):
        instrumented(no_kernels)
    passes = [p.name for p in instrumented(target).pipeline().passes()]
    assert passes.count("instrument-kernels") == 1
    assert passes.index("instrument-kernels") == passes.index("outline-kernels") + 1
    assert "instrument-kernels" not in target.pipeline().spec()


def _strip_locations(module: ModuleOp) -> None:
    for op in module.walk():
        op.location = UnknownLoc()


def test_locations_change_no_generated_code() -> None:
    """The same nn module lowered with its ONNX node locations and without any gives the same
    LLVM IR; the located one does carry node names to the kernel calls."""
    target = get_target()
    located = lower(_model(), target, "nn", StageTimer()).module
    bare = lower(_model(), target, "nn", StageTimer()).module
    _strip_locations(bare)
    texts: list[str] = []
    for module in (located, bare):
        ctx = terrace_context()
        for stage in target.pipeline().stages:
            for module_pass in stage.passes:
                module_pass.apply(ctx, module)
            if stage.name == "memrefs":
                calls = [op for op in module.walk() if isinstance(op, func.CallOp)]
                named = [c for c in calls if isinstance(c.location, NameLoc)]
                assert bool(named) == (module is located)
        texts.append(target.translate(module))
    assert texts[0] == texts[1]


# -- the command -----------------------------------------------------------------------------


def test_the_command_writes_json_trace_and_roofline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TERRACE_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "model.onnx"
    onnx.save(_model(), str(path))
    trace, roofline = tmp_path / "trace.json", tmp_path / "roof.png"
    runs = 3
    arguments = ["profile", str(path), "--runs", str(runs), "--json"]
    status = main([*arguments, "--trace", str(trace), "--roofline", str(roofline)])
    assert status == 0
    data = json.loads(capsys.readouterr().out)
    assert data["model"] == "model" and data["threads"] == 1 and data["runs"] == runs
    assert sum(row["seconds"] for row in data["rows"]) == pytest.approx(data["total_seconds"])
    conv = next(r for r in data["rows"] if {"name": "conv", "op_type": "Conv"} in r["onnx_nodes"])
    assert conv["flops"] >= CONV_FLOPS and conv["peak_share"] is not None
    events = json.loads(trace.read_text())["traceEvents"]
    spans = [e for e in events if e["ph"] == "X"]
    kernels = [e for e in spans if "kernel" in e["args"]]
    calls = sum(row["calls"] for row in data["rows"])
    assert len(kernels) == runs * calls
    assert len([e for e in spans if e["name"].startswith("run ")]) == runs
    assert all(e["dur"] >= 0 and e["ts"] >= 0 for e in spans)
    assert roofline.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_the_table_names_nodes_and_compares_the_sum_with_the_latency(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TERRACE_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "model.onnx"
    onnx.save(_model(), str(path))
    assert main(["profile", str(path), "--runs", "2"]) == 0
    out = capsys.readouterr().out
    assert "Conv conv" in out and "Gemm fc" in out
    assert "sum of the rows" in out and "latency without marks" in out
    assert MAIN_ROW in out and PYTHON_ROW in out


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--runs", "0"], "--runs must be at least 1"),
        (["--threads", "0"], "--threads must be at least 1"),
        (["--target", "no-such-target"], "unknown target 'no-such-target'"),
    ],
)
def test_mistakes_are_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    arguments: list[str],
    message: str,
) -> None:
    path = tmp_path / "model.onnx"
    onnx.save(_model(), str(path))
    assert main(["profile", str(path), *arguments]) == 1
    err = capsys.readouterr().err
    assert err.startswith("terrace: error: ") and message in err and err.count("\n") == 1


def test_a_missing_model_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profile", str(tmp_path / "missing.onnx")]) == 1
    err = capsys.readouterr().err
    assert err == f"terrace: error: no such model file: {tmp_path / 'missing.onnx'}\n"


def test_a_target_that_runs_elsewhere_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = next(t for t in ("aarch64", "riscv64", "wasm32") if t != get_target().tag)
    path = tmp_path / "model.onnx"
    onnx.save(_model(), str(path))
    assert main(["profile", str(path), "--target", other]) == 1
    assert "not in this process" in capsys.readouterr().err


# -- against onnxruntime (--vs-ort) ------------------------------------------------------------


def _fused_model_and_ort_graph() -> tuple[onnx.ModelProto, onnx.ModelProto]:
    """A Conv + BatchNormalization + Relu, Conv + Relu model, and the optimized graph that
    onnxruntime's NCHWc pass makes of it (written out by hand in its naming: reorders, internal
    `reorder_token` tensors, each convolution named after the original output it replaces)."""
    make = helper.make_node
    nodes = [
        make("Conv", ["x", "w"], ["c"], "conv"),
        make("BatchNormalization", ["c", "s", "b", "m", "v"], ["n"], "bn"),
        make("Relu", ["n"], ["r"], "relu"),
        make("Conv", ["r", "w2"], ["c2"], "conv2"),
        make("Relu", ["c2"], ["y"], "relu2"),
    ]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 4, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8, 4, 4])
    model = helper.make_model(helper.make_graph(nodes, "original", [x], [y]))
    optimized_nodes = [
        make("ReorderInput", ["x"], ["reorder_token_0"], "ReorderInput"),
        make("Conv", ["reorder_token_0", "w_fused"], ["reorder_token_1"], "r_nchwc"),
        make("Conv", ["reorder_token_1", "w2"], ["reorder_token_2"], "y_nchwc"),
        make("ReorderOutput", ["reorder_token_2"], ["y"], "ReorderOutput"),
    ]
    optimized = helper.make_model(helper.make_graph(optimized_nodes, "optimized", [x], [y]))
    return model, optimized


def test_onnxruntime_nodes_map_back_to_the_nodes_they_fused() -> None:
    from terrace.benchmarks.ort_profile import kernel_labels

    model, optimized = _fused_model_and_ort_graph()
    assert kernel_labels(optimized, model) == {
        "r_nchwc": {"conv", "bn", "relu"},  # n and c exist no more: fused into it
        "y_nchwc": {"conv2", "relu2"},  # stops at r, which r_nchwc still writes
        "ReorderOutput": {"conv2", "relu2"},  # writes y, whose c2 was fused away
    }  # the input's reorder writes no tensor of the model: unattributed


def test_a_fusion_writing_a_tensor_of_its_own_maps_to_the_node_it_is_named_after() -> None:
    """onnxruntime's MatMul + Add on a 3-d input: a Gemm between two reshapes, named after the
    MatMul, that writes an internal tensor (the transformer's attention projections)."""
    from terrace.benchmarks.ort_profile import kernel_labels

    make = helper.make_node
    nodes = [
        make("MatMul", ["x", "w"], ["m"], "matmul_5"),
        make("Add", ["m", "b"], ["a"], "add_6"),
        make("Reshape", ["a", "shape"], ["y"], "reshape_7"),
    ]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 2, 4])
    model = helper.make_model(helper.make_graph(nodes, "original", [x], [y]))
    optimized_nodes = [
        make("Reshape", ["x", "s0"], ["gemm_input_reshape_arg"], "gemm_input_reshape"),
        make(
            "Gemm", ["gemm_input_reshape_arg", "w", "b"], ["gemm_out"], "matmul_5/MatMulAddFusion"
        ),
        make("Reshape", ["gemm_out", "s1"], ["y"], "gemm_output_reshape"),
    ]
    optimized = helper.make_model(helper.make_graph(optimized_nodes, "optimized", [x], [y]))
    assert kernel_labels(optimized, model) == {
        "matmul_5/MatMulAddFusion": {"matmul_5"},
        "gemm_output_reshape": {"reshape_7", "add_6", "matmul_5"},  # m and a are fused away
    }  # the input's reshape writes no tensor of the model and is named after none: unattributed


def test_groups_join_what_either_side_fuses_and_leave_out_one_sided_nodes() -> None:
    from terrace.benchmarks.ort_profile import OrtKernel, OrtProfile, compare_groups

    rows = [
        (frozenset({"conv", "bn"}), 2.0),
        (frozenset({"relu"}), 1.0),
        (frozenset({"conv2", "relu2"}), 3.0),
        (frozenset({"softmax"}), 0.5),  # onnxruntime ran no such node
    ]
    ort = OrtProfile(
        (
            OrtKernel("r_nchwc", frozenset({"conv", "bn", "relu"}), 1.0),
            OrtKernel("y_nchwc", frozenset({"conv2", "relu2"}), 2.0),
            OrtKernel("ReorderOutput", frozenset({"relu2"}), 1.0),
            OrtKernel("flatten", frozenset({"flatten"}), 0.25),  # Terrace computes it as a view
        ),
        0.0,
        (4.0,),
    )
    groups = compare_groups(rows, ort)
    assert [(set(g.labels), g.terrace_seconds, g.ort_seconds) for g in groups] == [
        ({"conv", "bn", "relu"}, 3.0, 1.0),  # 3x behind: first
        ({"conv2", "relu2"}, 3.0, 3.0),
    ]
    assert groups[0].ratio == 3.0


def test_vs_ort_compares_node_groups_in_the_table_and_the_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TERRACE_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "model.onnx"
    onnx.save(_model(), str(path))
    assert main(["profile", str(path), "--runs", "3", "--vs-ort", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    groups = data["vs_ort"]
    assert data["ort_latency_median_seconds"] > 0
    conv = next(g for g in groups if "conv" in g["onnx_nodes"])
    assert {"conv", "relu"} <= set(conv["onnx_nodes"])  # both fuse Conv + Relu
    assert {"fc"} <= {node for g in groups for node in g["onnx_nodes"]}
    for group in groups:
        assert group["seconds"] > 0 and group["ort_seconds"] > 0
        assert group["ratio"] == pytest.approx(group["seconds"] / group["ort_seconds"])
    assert main(["profile", str(path), "--runs", "2", "--vs-ort"]) == 0
    out = capsys.readouterr().out
    assert "against onnxruntime, same nodes:" in out and "x ort" in out
    assert "Conv conv + Relu relu" in out.split("against onnxruntime")[1]
