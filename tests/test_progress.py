"""The progress line of long commands (tools/progress.py): redrawn in place on a terminal,
plain complete lines anywhere else."""

from __future__ import annotations

from io import StringIO

from terrace.tools.progress import ProgressLine, StatusLine


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
