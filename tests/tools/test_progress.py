"""The progress line of long commands (tools/progress.py): redrawn in place on a terminal,
plain complete lines anywhere else."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

from onnx import TensorProto, helper

import terrace
from terrace.tools.progress import CompileProgress, ProgressLine, StatusLine


def test_plain_lines_every_n_steps_and_the_last():
    stream = StringIO()
    line = ProgressLine("terrace fuzz", 5, unit="examples", stream=stream, plain_every=2)
    for done in range(1, 6):
        line.update(done, f"{done} found")
    line.close()
    lines = stream.getvalue().splitlines()
    assert [x.split(",")[0] for x in lines] == [
        "terrace fuzz: 2/5 examples",
        "terrace fuzz: 4/5 examples",
        "terrace fuzz: 5/5 examples",
    ]
    assert lines[1].startswith("terrace fuzz: 4/5 examples, 4 found, ")
    assert "s left" in lines[1] and "s left" not in lines[2]  # nothing is left at the end
    assert "\r" not in stream.getvalue() and "\x1b" not in stream.getvalue()


def test_a_terminal_gets_one_redrawn_line_with_notes_above_it():
    stream = StringIO()
    line = ProgressLine("terrace conformance", 4, unit="cases", stream=stream, tty=True)
    line.update(1)
    line.note("[2/4] fail Relu: wrong result")
    line.update(2)
    line.close()
    text = stream.getvalue()
    assert text.count("\r\x1b[K") == 4  # two updates, the note's erase, the redraw after it
    assert "[######..................] 1/4 cases" in text
    assert "\r\x1b[K[2/4] fail Relu: wrong result\n" in text
    assert text.endswith("\n") and text.rstrip("\n").rsplit("\r\x1b[K", 1)[1].startswith(
        "terrace conformance: [############............] 2/4 cases"
    )


def test_status_phases_are_lines_unless_on_a_terminal():
    plain = StringIO()
    status = StatusLine("terrace bench", stream=plain, tty=False)
    status("resnet: compiling")
    status("resnet: timed runs")
    status.close()
    assert plain.getvalue() == "resnet: compiling\nresnet: timed runs\n"
    terminal = StringIO()
    status = StatusLine("terrace bench", stream=terminal, tty=True)
    status("resnet: compiling")
    status("resnet: timed runs")
    status.close()
    drawn = terminal.getvalue().split("\r\x1b[K")[1:]
    assert [d.split(",")[0] for d in drawn] == [
        "terrace bench: resnet: compiling",
        "terrace bench: resnet: timed runs",
    ]


def _compile_steps() -> list[str]:
    return ["load", "import", "nn: nn-canonicalize", "linalg: convert-nn-to-linalg"] + [
        "linalg: linalg-fuse-elementwise",
        "llvm: convert-func-to-llvm",
        "codegen",
    ]


def test_a_compile_logs_one_line_per_stage_once_it_is_slow():
    stream = StringIO()
    progress = CompileProgress("compiling m.onnx", stream=stream, tty=False, quiet_for=0.0)
    for step in _compile_steps():
        progress(step)
    progress.close()
    lines = [line.split(",")[0] for line in stream.getvalue().splitlines()]
    assert lines == [
        f"compiling m.onnx: {stage}"
        for stage in ("load", "import", "nn", "linalg", "llvm", "codegen")
    ]


def test_a_compile_draws_the_running_pass_on_a_terminal_and_erases_it():
    stream = StringIO()
    progress = CompileProgress("compiling m.onnx", stream=stream, tty=True, quiet_for=0.0)
    for step in _compile_steps():
        progress(step)
    progress.close()
    text = stream.getvalue()
    assert "compiling m.onnx: linalg: linalg-fuse-elementwise, " in text
    assert text.count("\r\x1b[K") == len(_compile_steps()) + 1  # each step, then the erase
    assert text.endswith("\r\x1b[K") and "\n" not in text


def test_a_quick_compile_prints_nothing():
    for tty in (True, False):
        stream = StringIO()
        progress = CompileProgress("compiling m.onnx", stream=stream, tty=tty, quiet_for=60.0)
        for step in _compile_steps():
            progress(step)
        progress.close()
        assert stream.getvalue() == ""


def test_compile_tells_each_stage_and_pass_in_pipeline_order(tmp_path: Path):
    steps: list[str] = []
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "relu", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    terrace.compile(model, cache=tmp_path, progress=steps.append)
    stages = list(dict.fromkeys(step.split(":")[0] for step in steps))
    # the kernels' passes run under one step; then @main's loops and llvm stages
    assert stages == ["load", "import", "nn", "linalg", "memrefs", "kernels", "loops", "llvm"] + [
        "translate",
        "codegen",
        "jit load",
    ]
    assert "memrefs: bufferize" in steps and "linalg: convert-nn-to-linalg" in steps
    cached: list[str] = []
    terrace.compile(model, cache=tmp_path, progress=cached.append)
    assert set(cached) == {"load", "jit load"}  # from the cache: no pass runs
