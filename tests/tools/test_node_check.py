"""`python -m terrace.benchmarks.node_check`: the groups over the bar, read from each model's
`terrace profile --vs-ort --json` (faked here: the profile command has its own tests)."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from terrace.benchmarks import node_check


def _fake_profiles(monkeypatch: pytest.MonkeyPatch, groups: dict[str, list[tuple[float, float]]]):
    """Each model's profile holds groups of (terrace seconds, onnxruntime seconds)."""

    def run(command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        model = command[command.index("profile") + 1]
        if model not in groups:
            return subprocess.CompletedProcess(command, 2, "", f"error: unknown model '{model}'")
        rows = [
            {"onnx_nodes": [f"{model}_node_{i}"], "seconds": ours, "ort_seconds": theirs}
            for i, (ours, theirs) in enumerate(groups[model])
        ]
        return subprocess.CompletedProcess(command, 0, json.dumps({"vs_ort": rows}), "")

    monkeypatch.setattr(node_check.subprocess, "run", run)


def test_a_group_over_the_bar_fails_and_is_listed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    _fake_profiles(
        monkeypatch,
        {"fast": [(1e-3, 1e-3), (2e-3, 1e-3)], "slow": [(1e-3, 1e-3), (3.5e-3, 1e-3)]},
    )
    assert node_check.main(["--models", "fast,slow"]) == 1
    out = capsys.readouterr().out
    assert "| fast | fast_node_1 | 2.000 | 1.000 | 2.00x |" in out  # its slowest group
    assert "groups over 3x: 1\n| slow | slow_node_1 | 3.500 | 1.000 | 3.50x |" in out


def test_tiny_groups_are_left_out_and_the_bar_is_an_option(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    # 10x slower, but 5 microseconds in onnxruntime: under the default --min-ms
    _fake_profiles(monkeypatch, {"m": [(5e-5, 5e-6), (2.5e-3, 1e-3)]})
    assert node_check.main(["--models", "m"]) == 0
    assert node_check.main(["--models", "m", "--bar", "2"]) == 1
    assert "groups over 2x: 1\n| m | m_node_1 |" in capsys.readouterr().out


def test_a_failing_profile_is_an_error_naming_the_model(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    _fake_profiles(monkeypatch, {})
    assert node_check.main(["--models", "nosuch"]) == 2
    assert (
        "nosuch: terrace profile failed: error: unknown model 'nosuch'" in capsys.readouterr().err
    )
