"""`terrace bench` and the benchmark runner on tiny GEMMs (no timing assertions: only that the
fields are there and sane), their errors, and the FLOP counter against hand-computed counts."""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from terrace.benchmarks import measure, workloads
from terrace.benchmarks import run as runner
from terrace.benchmarks.flops import model_flops
from terrace.benchmarks.measure import Measurement, Timing, relative_error
from terrace.benchmarks.workloads import WORKLOADS, gemm, workload
from terrace.tools.cli import main


def _table(out: str) -> list[dict[str, str]]:
    """The console table's rows as {column: cell}; columns are split on two spaces."""
    header, *lines = [line for line in out.splitlines() if line.strip()]
    names = [name.strip() for name in header.split("  ") if name.strip()]
    rows: list[dict[str, str]] = []
    for line in lines:
        cells = [cell.strip() for cell in line.split("  ") if cell.strip()]
        if len(cells) == len(names):
            rows.append(dict(zip(names, cells, strict=True)))
    return rows


def test_bench_reports_latency_gflops_ratio_and_the_check(capsys: pytest.CaptureFixture[str]):
    status = main(["bench", "gemm32", "--runs", "3", "--threads", "1,2", "--budget", "2"])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert "compiling" in captured.err
    assert re.search(r"terrace \(\S+\) 3, onnxruntime 3", captured.err)
    rows = _table(captured.out)
    assert [row["threads"] for row in rows] == ["1", "2"]
    for row in rows:
        assert row["workload"] == "gemm32"
        assert float(row["GFLOP"]) == pytest.approx(2 * 32**3 / 1e9, rel=1e-3)
        assert 0 < float(row["compile s"]) < 600
        median, spread = row["terrace ms [min, max]"].split(" ", 1)
        low, high = (float(x) for x in spread.strip("[]").split(","))
        assert 0 < low <= float(median) <= high
        assert float(row["GFLOP/s"]) > 0 and float(row["ort GFLOP/s"]) > 0
        assert float(row["numpy GFLOP/s"]) > 0
        assert row["terrace/ort"].endswith("x") and float(row["terrace/ort"][:-1]) > 0
        assert row["runs"] == "3/3"
        assert float(row["max rel diff"]) <= 1e-4


def test_a_mismatch_is_loud_and_exits_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.setattr(measure, "relative_error", lambda actual, expected: 0.5)
    status = main(["bench", "gemm16", "--compare", "none", "--runs", "3"])
    captured = capsys.readouterr()
    assert status == 1
    assert "MISMATCH" in captured.out
    assert "terrace bench: MISMATCH: gemm16 at 1 thread:" in captured.err
    assert "onnxruntime ms" not in captured.out  # --compare none: no onnxruntime column


def test_bench_of_an_onnx_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    path = tmp_path / "small.onnx"
    onnx.save(gemm(8), str(path))
    assert main(["bench", str(path), "--runs", "3", "--compare", "none"]) == 0
    (row,) = _table(capsys.readouterr().out)
    assert row["workload"] == "small"
    assert "numpy ms" not in row  # a file is not known to be one GEMM


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["nonesuch"], "unknown workload 'nonesuch'"),
        (["missing.onnx"], "no such model file: missing.onnx"),
        (["gemm8", "--threads", "1,x"], "--threads '1,x'"),
        (["gemm8", "--threads", "0"], "at least 1"),
        (["gemm8", "--runs", "0"], "--runs must be at least 1"),
    ],
)
def test_mistakes_are_one_line(
    arguments: list[str], message: str, capsys: pytest.CaptureFixture[str]
):
    assert main(["bench", *arguments]) == 1
    err = capsys.readouterr().err
    assert err.startswith("terrace: error: ") and err.count("\n") == 1, err
    assert message in err


def test_a_file_that_is_not_onnx_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    path = tmp_path / "notes.onnx"
    path.write_text("not a model")
    assert main(["bench", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("terrace: error: ") and "Traceback" not in err


def test_missing_onnxruntime_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # makes `import onnxruntime` fail
    assert main(["bench", "gemm8"]) == 1
    err = capsys.readouterr().err
    assert "terrace bench needs onnxruntime" in err and "pip install" in err


def test_help_teaches_the_columns_and_workloads(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for word in ("terrace/ort", "GFLOP/s", "--threads", "--budget", "resnet50", "gemm<N>"):
        assert word in out


def test_runner_writes_results_markdown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(runner, "uncommitted_changes", lambda: [])
    output = tmp_path / "RESULTS.md"
    arguments = ["--workloads", "gemm16", "--threads", "1", "--runs", "3", "--output"]
    assert runner.main([*arguments, str(output)]) == 0
    assert "gemm16" in capsys.readouterr().out
    text = output.read_text()
    assert "python -m terrace.benchmarks --workloads gemm16" in text
    for field in ("- CPU: ", "- cores: ", "- numpy: ", "- onnxruntime: ", "- llvmlite: "):
        assert field in text
    assert "- xdsl: " in text and "- onnx: " in text
    # the target's vector width, which the ratios depend on
    assert re.search(r"- target \S+: cpu \S+, \d+ x (128|256|512)-bit vector registers", text)
    lines = text.splitlines()
    (row,) = [line for line in lines if line.startswith("| gemm16 |")]
    header = lines[lines.index(row) - 2]
    assert header.startswith("| workload |") and header.count("|") == row.count("|")
    cells = dict(zip(header.split("|"), row.split("|"), strict=True))
    # the process holds at least numpy, onnxruntime and xDSL while it compiles and runs
    assert int(cells[" compile MB "]) > 50 and int(cells[" run MB "]) > 50


def test_runner_draws_the_ratio_plot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(runner, "uncommitted_changes", lambda: [])
    plot = tmp_path / "ratios.png"
    arguments = ["--workloads", "gemm8,gemm16", "--threads", "1,2", "--runs", "3"]
    arguments += ["--output", str(tmp_path / "RESULTS.md"), "--plot", str(plot)]
    assert runner.main(arguments) == 0
    assert f"wrote {plot}" in capsys.readouterr().out
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_plot_without_onnxruntime_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    plot = tmp_path / "ratios.png"
    arguments = ["bench", "gemm8", "--runs", "3", "--compare", "none", "--plot", str(plot)]
    assert main(arguments) == 1
    assert "no ratio to plot: onnxruntime was not timed" in capsys.readouterr().err
    assert not plot.exists()


def test_runner_refuses_a_dirty_tree_unless_told(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(runner, "uncommitted_changes", lambda: ["passes/bufferize.py"])
    output = tmp_path / "RESULTS.md"
    arguments = ["--workloads", "gemm8", "--threads", "1", "--runs", "3", "--output", str(output)]
    assert runner.main(arguments) == 1
    assert "uncommitted changes (passes/bufferize.py)" in capsys.readouterr().err
    assert not output.exists()
    assert runner.main([*arguments, "--allow-dirty"]) == 0
    assert output.exists()


PEAK_RSS_SCRIPT = """
import numpy as np
from terrace.benchmarks.memory import peak_rss
size = 256 * 1024 * 1024
total, touched = peak_rss(lambda: int(np.ones(size, np.uint8).sum()))
_, idle = peak_rss(lambda: None)
print(total, touched, idle)
"""


def test_peak_rss_sees_what_a_call_touches_and_resets_between_calls():
    # a fresh process: a long-lived test worker may keep freed pages resident
    import subprocess

    result = subprocess.run(
        [sys.executable, "-c", PEAK_RSS_SCRIPT], capture_output=True, text=True, check=True
    )
    total, touched, idle = (int(word) for word in result.stdout.split())
    size = 256 * 1024 * 1024
    assert total == size
    # the mark after the call counts the 256 MB it wrote; reset, an idle call's mark does not
    assert touched - idle >= 0.9 * size, (touched, idle)


def test_runner_checks_every_name_before_running(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    output = tmp_path / "unused.md"
    assert runner.main(["--workloads", "gemm8,resnet5O", "--output", str(output)]) == 1
    captured = capsys.readouterr()
    assert "unknown workload 'resnet5O'" in captured.err
    assert "compiling" not in captured.err
    assert not output.exists()


# -- the FLOP counter ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "flops"),
    [
        ("gemm512", 2 * 512**3),
        ("mlp", 2 * 64 * (784 * 1024 + 1024 * 1024 + 1024 * 10)),
        # Q, K, V, output projections; scores and context per head; the FFN's two products
        (
            "transformer",
            4 * 2 * 128 * 256 * 256 + 2 * 4 * 2 * 128 * 128 * 64 + 2 * 2 * 128 * 256 * 1024,
        ),
        # depthwise: Cin/group = 1; pointwise 64 -> 128
        ("mobilenet_block", 2 * 64 * 56 * 56 * 9 + 2 * 128 * 56 * 56 * 64),
        # per block: the 7x7 depthwise, then 96 -> 384 -> 96 at each of 56x56 positions
        ("convnext_stage", 3 * (2 * 96 * 56 * 56 * 49 + 2 * 2 * 56 * 56 * 96 * 384)),
    ],
)
def test_flops_of_workloads(name: str, flops: int):
    assert model_flops(workload(name).build()) == flops


def _model(nodes: list[onnx.NodeProto], inputs: dict[str, list[int]]) -> onnx.ModelProto:
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs.items()],
        [helper.make_tensor_value_info(nodes[-1].output[0], TensorProto.FLOAT, None)],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])


def test_flops_by_hand():
    nodes = [
        # A is [K=8, M=4] transposed; B [8, 5]: 2*M*N*K
        helper.make_node("Gemm", ["a", "b"], ["gemm"], transA=1),
        # [3,1,4,8] x [2,8,5] -> [3,2,4,5]: 2 * batch 6 * 4*5*8
        helper.make_node("MatMul", ["p", "q"], ["matmul"]),
        # [2,6,9,9] * [4,3,3,3], group 2, stride 2 -> [2,4,4,4]: 2*N*Cout*H*W * Cin/group*kh*kw
        helper.make_node("Conv", ["x", "w"], ["conv"], group=2, strides=[2, 2]),
        # [1,4,5,5] with [4,2,3,3] -> [1,2,7,7]: 2 * input elements * Cout/group*kh*kw
        helper.make_node("ConvTranspose", ["t", "u"], ["deconv"]),
        helper.make_node("Relu", ["deconv"], ["out"]),
    ]
    shapes = {
        "a": [8, 4],
        "b": [8, 5],
        "p": [3, 1, 4, 8],
        "q": [2, 8, 5],
        "x": [2, 6, 9, 9],
        "w": [4, 3, 3, 3],
        "t": [1, 4, 5, 5],
        "u": [4, 2, 3, 3],
    }
    expected = 2 * 4 * 5 * 8 + 2 * 6 * 4 * 5 * 8 + 2 * 2 * 4 * 4 * 4 * 3 * 9 + 2 * 100 * 18
    assert model_flops(_model(nodes, shapes)) == expected


def test_flops_unknown_without_contractions_or_static_shapes():
    relu_only = _model([helper.make_node("Relu", ["x"], ["y"])], {"x": [4]})
    assert model_flops(relu_only) is None
    dynamic = _model([helper.make_node("MatMul", ["a", "b"], ["y"])], {"a": ["n", 4], "b": [4, 2]})
    assert model_flops(dynamic) is None


# -- the check and the summary numbers -----------------------------------------------------


def test_relative_error_and_mismatch():
    expected = [np.array([1.0, -4.0], np.float32)]
    assert relative_error([np.array([1.0, -3.0], np.float32)], expected) == pytest.approx(0.25)
    assert relative_error([np.zeros(3, np.float32)], expected) == math.inf  # shape differs
    nan = relative_error([np.array([np.nan, -4.0], np.float32)], expected)
    timing = Timing((0.002, 0.001, 0.004))
    measurement = Measurement("m", 1, 4_000_000, 0.5, timing, Timing((0.001,)), None, nan)
    assert measurement.mismatch
    assert measurement.ratio == pytest.approx(2.0)
    assert measurement.gflops(timing) == pytest.approx(2.0)
    assert timing.quartiles() == pytest.approx((0.0015, 0.003))


def test_engines_alternate_in_rounds():
    calls: list[str] = []
    engines: dict[str, Callable[[], object]] = {
        "a": lambda: calls.append("a"),
        "b": lambda: calls.append("b"),
    }
    settings = measure.Settings(runs=4, budget_seconds=100.0)
    timings = measure.time_in_rounds(engines, settings, "test")
    assert [len(t.seconds) for t in timings.values()] == [4, 4]
    # warm-ups, then rounds of 2, 1 and 1 timed runs each, every block after one untimed call
    assert "".join(calls) == "ab" + "aaabbb" + "aabb" + "aabb"


SMALL_MODERN_WORKLOADS = {
    "mobilenet_v2": lambda: workloads.mobilenet_v2(size=32, classes=10),
    "efficientnet_b0": lambda: workloads.efficientnet_b0(size=32, classes=10),
    "convnext_stage": lambda: workloads.convnext_stage(channels=8, size=8, depth=2),
    "gpt2_block": lambda: workloads.gpt2_block(sequence=8, hidden=16, heads=2),
}


@pytest.mark.parametrize("name", sorted(SMALL_MODERN_WORKLOADS))
def test_modern_workloads_compile_and_match_onnxruntime(name: str):
    """Each of today's model shapes, shrunk (same blocks, small images and widths): the
    compiled model against onnxruntime, the benchmark's own check."""
    import onnxruntime

    import terrace

    model = SMALL_MODERN_WORKLOADS[name]()
    (graph_input,) = model.graph.input
    shape = [d.dim_value for d in graph_input.type.tensor_type.shape.dim]
    x = np.random.default_rng(1).uniform(-1, 1, shape).astype(np.float32)
    session = onnxruntime.InferenceSession(
        model.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    (expected,) = session.run(None, {graph_input.name: x})
    assert relative_error(terrace.compile(model)(x), [expected]) < 1e-4


def test_every_bundled_workload_builds():
    for name, bundled in WORKLOADS.items():
        model = bundled.build()
        assert model.graph.input, name


def test_bench_times_two_targets_in_the_same_run(capsys: pytest.CaptureFixture[str]):
    from terrace.targets import host_target

    if "avx2" not in getattr(host_target(), "features", ""):
        pytest.skip("this host has no AVX2: x86_64-avx2 code cannot run here")
    arguments = ["bench", "gemm64", "--runs", "3", "--budget", "2"]
    status = main([*arguments, "--target", "host,x86_64-avx2"])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    rows = _table(captured.out)
    assert [row["target"] for row in rows] == [host_target().tag, "x86_64-avx2"]
    # onnxruntime ran once, in the same rounds as both
    assert rows[0]["onnxruntime ms [min, max]"] == rows[1]["onnxruntime ms [min, max]"]
    assert re.search(r"terrace \(x86_64-avx2\) 3, onnxruntime 3", captured.err)
