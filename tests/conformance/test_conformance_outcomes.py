"""The conformance suite's own parts, without running it: failure reasons group, outputs
compare as onnx's runner compares them, and the expected-failure list judges a run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from terrace.conformance import expected
from terrace.conformance.outcomes import (
    CRASH,
    ERROR,
    PASS,
    UNSUPPORTED,
    WRONG_RESULT,
    Outcome,
    compare,
    error_reason,
    error_status,
)
from terrace.errors import CompilationError, ModelImportError, UnsupportedModelError


def _outcome(name: str, status: str, reason: str = "") -> Outcome:
    return Outcome(name, "node", "Add", 14, status, reason)


def test_unsupported_nodes_become_one_reason_each():
    error = UnsupportedModelError(
        "unsupported: 3 nodes: Einsum#0 (Einsum, opset 12): operator not supported; "
        "n1 (Resize, opset 19): attribute 'antialias' not supported; "
        "Cast#2 (Cast, opset 21): unsupported element type FLOAT8E4M3FN"
    )
    reason = error_reason(error, "Einsum")
    assert reason == (
        "unsupported-op: Einsum; unsupported-attribute: Resize.antialias; "
        "unsupported-dtype: Cast float8e4m3fn"
    )
    assert error_status(reason) == UNSUPPORTED


def test_the_same_failure_of_different_nodes_reads_the_same():
    first = UnsupportedModelError(
        "unsupported: 1 node: a (Pad, opset 18): input 'p' (pads) must be constant"
    )
    second = UnsupportedModelError(
        "unsupported: 1 node: b (Pad, opset 18): input 'q' (pads) must be constant"
    )
    assert error_reason(first, "Pad") == error_reason(second, "Pad")
    assert error_reason(first, "Pad") == "unsupported-dynamic-input: Pad.pads"


def test_compile_errors_and_crashes_are_not_unsupported():
    compile_reason = error_reason(CompilationError("pass 'bufferize' failed: 'x' broke"), "Mul")
    assert compile_reason == "compile-error: Mul: pass 'bufferize' failed: '*' broke"
    assert error_status(compile_reason) == ERROR
    crash_reason = error_reason(ZeroDivisionError("division by zero"), "Div")
    assert crash_reason == "crash: Div: ZeroDivisionError: division by zero"
    assert error_status(crash_reason) == CRASH
    import_reason = error_reason(ModelImportError("invalid ONNX model: bad"), "Add")
    assert error_status(import_reason) == ERROR


def test_compare_checks_count_shape_dtype_and_values():
    want = [np.array([1.0, 2.0, np.nan], np.float32)]
    assert compare(want, [np.array([1.0, 2.0005, np.nan], np.float32)], 1e-3, 1e-7) == ""
    assert "2 outputs" in compare(want, [want[0], want[0]], 1e-3, 1e-7)
    assert "shape" in compare(want, [np.zeros((1, 3), np.float32)], 1e-3, 1e-7)
    assert "dtype" in compare(want, [want[0].astype(np.float64)], 1e-3, 1e-7)
    difference = compare(want, [np.array([1.0, 3.0, np.nan], np.float32)], 1e-3, 1e-7)
    assert difference.startswith("output 0: 1 of 3 elements differ; at [1]")


def test_float16_outputs_may_miss_by_two_ulps_of_one():
    want = [np.array([0.4695], np.float16)]
    two_ulps = np.array([0.469], np.float16)  # 0.4695 - 2 * 2**-12; 2**-9 is two ulps of 1
    assert compare(want, [two_ulps], 1e-3, 1e-7) == ""
    four_ulps = np.array([0.4685], np.float16)
    assert compare(want, [four_ulps], 1e-3, 1e-7) != ""


def test_the_list_fails_on_new_failures_new_passes_changed_reasons_and_wrong_results():
    listed = {"test_a": "unsupported-op: A", "test_b": "unsupported-op: B", "test_c": "x"}
    verdict = expected.judge(
        [
            _outcome("test_a", UNSUPPORTED, "unsupported-op: A"),  # as listed
            _outcome("test_b", PASS),  # now passes
            _outcome("test_c", UNSUPPORTED, "unsupported-op: C"),  # reason changed
            _outcome("test_d", UNSUPPORTED, "unsupported-op: D"),  # unlisted
            _outcome("test_e", WRONG_RESULT, "output 0: differs"),  # never listable
        ],
        listed,
    )
    assert not verdict.ok
    assert [o.name for o in verdict.unlisted] == ["test_d"]
    assert verdict.now_passing == ["test_b"]
    assert [o.name for o, _ in verdict.changed] == ["test_c"]
    assert [o.name for o in verdict.never_listable] == ["test_e"]
    assert expected.judge([_outcome("test_a", UNSUPPORTED, "unsupported-op: A")], listed).ok


def test_update_keeps_entries_of_cases_not_run_and_never_lists_wrong_results(tmp_path: Path):
    path = tmp_path / "expected.txt"
    path.write_text("test_old: unsupported-op: Old\ntest_a: unsupported-op: A\n")
    outcomes = [
        _outcome("test_a", PASS),
        _outcome("test_b", UNSUPPORTED, "unsupported-op: B"),
        _outcome("test_c", WRONG_RESULT, "output 0: differs"),
    ]
    assert expected.update(outcomes, path) == 2
    assert expected.read(path) == {"test_b": "unsupported-op: B", "test_old": "unsupported-op: Old"}


def test_a_malformed_line_is_an_error(tmp_path: Path):
    path = tmp_path / "expected.txt"
    path.write_text("test_a unsupported\n")
    with pytest.raises(ValueError, match="test_name: reason"):
        expected.read(path)


def test_the_command_registers_as_a_terrace_subcommand():
    import argparse

    from terrace.tools import conformance_command

    parser = argparse.ArgumentParser(prog="terrace")
    conformance_command.register(parser.add_subparsers())
    args = parser.parse_args(["conformance", "--filter", "^test_relu", "--jobs", "1"])
    assert args.run is conformance_command.run
    assert (args.filter, args.jobs, args.update_expected) == ("^test_relu", 1, False)
