"""`terrace tune` end to end on the fake runner: records, resume, --show, --compact, errors."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from terrace.tools.cli import main


def _configs(db: Path) -> list[tuple[str, str]]:
    lines = [json.loads(line) for line in db.read_text().splitlines() if line.endswith("}")]
    return [(r["task"]["key"], json.dumps(r["config"], sort_keys=True)) for r in lines]


def test_tune_writes_records_and_resumes_without_remeasuring(tmp_path: Path, capsys):
    db = tmp_path / "db.jsonl"
    assert main(["tune", "mlp", "--runner", "fake", "--trials", "10", "--db", str(db)]) == 0
    first = _configs(db)
    assert len(first) == 10
    out = capsys.readouterr()
    assert "| gemm 64x1024x784" in out.out and "trials 10/10" in out.err
    with db.open("a") as lines:
        lines.write('{"v": 1, "task": {"key": "sha')  # a run killed mid-write
    with pytest.warns(UserWarning, match=r"db.jsonl:11: skipped"):
        assert main(["tune", "mlp", "--runner", "fake", "--trials", "10", "--db", str(db)]) == 0
    second = _configs(db)[len(first) :]
    assert len(second) == 10
    assert not set(first) & set(second), "nothing already recorded is measured again"
    assert "resumed gemm 64x1024x784" in capsys.readouterr().err


def test_show_and_compact(tmp_path: Path, capsys):
    db, best = tmp_path / "db.jsonl", tmp_path / "best.jsonl"
    assert main(["tune", "mlp", "--runner", "fake", "--trials", "12", "--db", str(db)]) == 0
    capsys.readouterr()
    assert main(["tune", "--show", "--db", str(db)]) == 0
    shown = capsys.readouterr().out
    assert "64x1024x784" in shown and "apply-tuning{" in shown
    assert main(["tune", "--compact", "--db", str(db), "-o", str(best)]) == 0
    assert len(best.read_text().splitlines()) == 2  # mlp has two tunable contractions


def test_help_teaches(capsys):
    with pytest.raises(SystemExit):
        main(["tune", "--help"])
    text = capsys.readouterr().out
    for phrase in ("analytical default", "--tuning-db", "resume", "ray://", "code-generation bug"):
        assert phrase in text


def test_ray_missing_names_the_extra(tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    db = str(tmp_path / "db.jsonl")
    assert main(["tune", "gemm64", "--runner", "ray", "--db", db]) == 1
    assert "pip install 'terrace[ray]'" in capsys.readouterr().err


def test_unknown_runner_and_missing_model(capsys):
    with pytest.raises(SystemExit):
        main(["tune", "gemm64", "--runner", "dask"])
    assert "expected local, ray, ray://ADDR or fake" in capsys.readouterr().err
    assert main(["tune"]) == 1
    assert "give a MODEL" in capsys.readouterr().err


def test_compile_with_a_missing_database_is_one_error(tmp_path: Path, capsys):
    import onnx

    from terrace.benchmarks.workloads import workload

    model = tmp_path / "m.onnx"
    onnx.save(workload("gemm64").build(), str(model))
    missing = str(tmp_path / "nope.jsonl")
    assert main(["compile", str(model), "--emit", "linalg", "--tuning-db", missing]) == 1
    assert "tuning database" in capsys.readouterr().err
