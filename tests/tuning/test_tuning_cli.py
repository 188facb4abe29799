"""`terrace tune` end to end on the fake runner: records, resume, --show, --compact, errors."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from terrace.tools.cli import main

AVX2 = ["--target", "x86_64-avx2"]
"""The mlp's tasks depend on the vector width: its 10-wide classifier is a contraction the
micro-kernel takes with 8 lanes (AVX2: three tasks) and leaves to LLVM with 16 (AVX-512: two);
these tests name the AVX2 target, which runs on any x86-64 host."""


def _lines(db: Path) -> list[dict]:
    return [json.loads(line) for line in db.read_text().splitlines() if line.endswith("}")]


def _configs(db: Path) -> list[tuple[str, str]]:
    """The search's records (the finalists' confirmations left out)."""
    lines = [r for r in _lines(db) if not r["meta"].get("confirmation")]
    return [(r["task"]["key"], json.dumps(r["config"], sort_keys=True)) for r in lines]


def test_tune_writes_records_and_resumes_without_remeasuring(tmp_path: Path, capsys):
    db = tmp_path / "db.jsonl"
    assert main(["tune", "mlp", "--runner", "fake", "--trials", "10", "--db", str(db)]) == 0
    first = _configs(db)
    assert len(first) == 10
    out = capsys.readouterr()
    assert "| gemm 64x1024x784" in out.out and "trials 10/10" in out.err
    written = len(_lines(db))
    with db.open("a") as lines:
        lines.write('{"v": 1, "task": {"key": "sha')  # a run killed mid-write
    with pytest.warns(UserWarning, match=rf"db.jsonl:{written + 1}: skipped"):
        assert main(["tune", "mlp", "--runner", "fake", "--trials", "10", "--db", str(db)]) == 0
    second = _configs(db)[len(first) :]
    assert len(second) == 10
    assert not set(first) & set(second), "nothing already recorded is measured again"
    assert "resumed gemm 64x1024x784" in capsys.readouterr().err


def test_show_and_compact(tmp_path: Path, capsys):
    db, best = tmp_path / "db.jsonl", tmp_path / "best.jsonl"
    assert main(["tune", "mlp", *AVX2, "--runner", "fake", "--trials", "12", "--db", str(db)]) == 0
    capsys.readouterr()
    assert main(["tune", "--show", "--db", str(db)]) == 0
    shown = capsys.readouterr().out
    assert "64x1024x784" in shown and "apply-tuning{" in shown
    assert main(["tune", "--compact", "--db", str(db), "-o", str(best)]) == 0
    assert len(best.read_text().splitlines()) == 3  # mlp's three contractions (AVX2)


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


def test_finalists_are_confirmed_and_decide_the_best(tmp_path: Path, capsys):
    db = tmp_path / "db.jsonl"
    assert main(["tune", "gemm64", "--runner", "fake", "--trials", "12", "--db", str(db)]) == 0
    records = _lines(db)
    search = [r for r in records if not r["meta"].get("confirmation")]
    confirmed = [r for r in records if r["meta"].get("confirmation")]
    assert len(search) == 12
    fastest = sorted(search, key=lambda r: r["result"]["min_s"])[:3]
    default = search[0]["config"]  # trial 0 is the analytical default
    expected = [r["config"] for r in fastest]
    expected += [default] if default not in expected else []
    assert [r["config"] for r in confirmed] == expected
    assert "(confirmed)" in capsys.readouterr().out
    # no finalists: nothing re-measured
    other = tmp_path / "other.jsonl"
    options = ["--trials", "12", "--db", str(other), "--finalists", "0"]
    assert main(["tune", "gemm64", "--runner", "fake", *options]) == 0
    assert not any(r["meta"].get("confirmation") for r in _lines(other))


def test_exhaustive_measures_the_whole_space_once(tmp_path: Path):
    db = tmp_path / "db.jsonl"
    options = ["--strategy", "exhaustive", "--trials", "1000", "--finalists", "0"]
    assert main(["tune", "gemm64", "--runner", "fake", "--db", str(db), *options]) == 0
    configs = _configs(db)
    from terrace.benchmarks.workloads import workload
    from terrace.targets import get_target
    from terrace.tuning.space import Space
    from terrace.tuning.target_info import target_info
    from terrace.tuning.tasks import extract_tasks

    info = target_info(get_target())
    (task,) = extract_tasks(workload("gemm64").build(), get_target(), info)
    assert len(configs) == len(set(configs)) == len(Space(task.shape, info).configs())


def test_plot_writes_a_png(tmp_path: Path):
    pytest.importorskip("matplotlib", reason="the tune extra (matplotlib) draws the plot")
    db, png = tmp_path / "db.jsonl", tmp_path / "convergence.png"
    options = ["--trials", "12", "--db", str(db), "--plot", str(png)]
    assert main(["tune", "mlp", "--runner", "fake", *options]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_without_matplotlib_is_one_error_before_tuning(
    tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    db = tmp_path / "db.jsonl"
    options = ["--db", str(db), "--plot", str(tmp_path / "c.png")]
    assert main(["tune", "gemm64", "--runner", "fake", *options]) == 1
    assert "pip install 'terrace[tune]'" in capsys.readouterr().err
    assert not db.exists(), "nothing measured before the error"


def test_show_a_model_says_what_compile_takes(tmp_path: Path, capsys):
    db = tmp_path / "db.jsonl"
    assert main(["tune", "mlp", *AVX2, "--runner", "fake", "--trials", "12", "--db", str(db)]) == 0
    capsys.readouterr()
    assert main(["tune", "--show", "mlp", *AVX2, "--db", str(db)]) == 0
    shown = capsys.readouterr().out
    assert "3/3 tasks (100%) by full key" in shown and "| record |" in shown
    # another model's database: nothing applies, every task keeps its analytical default
    other = tmp_path / "other.jsonl"
    assert (
        main(["tune", "gemm64", *AVX2, "--runner", "fake", "--trials", "4", "--db", str(other)])
        == 0
    )
    capsys.readouterr()
    assert main(["tune", "--show", "mlp", *AVX2, "--db", str(other)]) == 0
    shown = capsys.readouterr().out
    assert "0/3 tasks (0%) by full key" in shown and shown.count("| analytical |") == 3


def test_convergence_curves_start_at_the_default_and_never_rise(tmp_path: Path):
    from terrace.benchmarks.workloads import workload
    from terrace.targets import get_target
    from terrace.tuning.session import TuningSession

    session = TuningSession(
        workload("mlp").build(),
        get_target(AVX2[1]),
        db_path=tmp_path / "db.jsonl",
        runner_kind="fake",
    )
    session.run(16, float("inf"), lambda _: None)
    curves = session.task_curves()
    assert len(curves) == 3
    for curve in curves.values():
        assert curve[0] == 1.0, "trial 0 is the default: the curve starts at 1"
        assert all(b <= a for a, b in zip(curve, curve[1:], strict=False)), curve
    # one point per search trial: the finalists' re-measurements are not trials
    assert sum(len(curve) for curve in curves.values()) == 16


def test_an_artifact_takes_the_tuning_database(tmp_path: Path, capsys):
    import onnx

    from terrace.benchmarks.workloads import workload

    model = tmp_path / "m.onnx"
    onnx.save(workload("gemm64").build(), str(model))
    missing = str(tmp_path / "nope.jsonl")
    out = str(tmp_path / "artifact")
    assert main(["compile", str(model), "-o", out, "--tuning-db", missing]) == 1
    assert "tuning database" in capsys.readouterr().err
    db = tmp_path / "db.jsonl"
    assert main(["tune", str(model), "--runner", "fake", "--trials", "4", "--db", str(db)]) == 0
    assert main(["compile", str(model), "-o", out, "--tuning-db", str(db)]) == 0
    assert (tmp_path / "artifact" / "manifest.json").is_file()


def test_compare_ort_reports_the_drift(tmp_path: Path, capsys):
    db = str(tmp_path / "db.jsonl")
    options = ["--runner", "fake", "--trials", "4", "--db", db, "--compare-ort"]
    assert main(["tune", "gemm64", *options]) == 0
    out = capsys.readouterr().out
    assert "| onnxruntime |" in out and "| terrace (tuned) |" in out
    assert "onnxruntime drift: first to last round" in out and "before tuning" in out


def test_rank_correlation_and_the_report(tmp_path: Path):
    from terrace.tuning.session import rank_correlation

    assert rank_correlation([(1.0, 10.0), (2.0, 20.0), (3.0, 25.0)]) == pytest.approx(1.0)
    assert rank_correlation([(1.0, 3.0), (2.0, 2.0), (3.0, 1.0)]) == pytest.approx(-1.0)
    assert rank_correlation([(1.0, 1.0), (2.0, 2.0)]) is None  # too few to rank
    assert rank_correlation([(1.0, 5.0), (2.0, 5.0), (3.0, 5.0)]) is None  # constant side
    report = tmp_path / "tune.md"
    options = ["--runner", "fake", "--trials", "12", "--db", str(tmp_path / "db.jsonl")]
    assert main(["tune", "gemm64", *options, "--report", str(report)]) == 0
    text = report.read_text()
    assert "## The analytical model against the measurements" in text
    # the fake runner's times are the estimate times 1-2% noise: a near-perfect ranking
    section = text.split("## The analytical model against the measurements")[1]
    row = next(line for line in section.splitlines() if line.startswith("| gemm 64x64x64"))
    assert float(row.split("|")[-2]) > 0.8


def test_tasks_top_and_only_choose_what_is_tuned(tmp_path: Path, capsys):
    db = tmp_path / "db.jsonl"
    options = ["--runner", "fake", "--trials", "8", "--finalists", "0", "--db", str(db)]
    assert main(["tune", "mlp", *options, "--tasks", "top:1"]) == 0
    keys = {key for key, _ in _configs(db)}
    assert len(keys) == 1
    # the heavier of the two GEMMs: K = 1024 against 784
    assert "| gemm 64x1024x1024" in capsys.readouterr().out
    (key,) = keys
    other = tmp_path / "other.jsonl"
    only = ["--runner", "fake", "--trials", "4", "--db", str(other), "--only", key[7:19]]
    assert main(["tune", "mlp", *only]) == 0
    assert {k for k, _ in _configs(other)} == {key}
    assert main(["tune", "mlp", "--runner", "fake", "--only", "0000", "--db", str(other)]) == 1
    assert "--only 0000: no task of the model has that key" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["tune", "mlp", "--tasks", "3"])


def test_convergence_pools_several_references_into_one_table(tmp_path: Path, capsys):
    from terrace.tuning.convergence import main as convergence

    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    exhaustive = ["--runner", "fake", "--strategy", "exhaustive", "--finalists", "0"]
    assert main(["tune", "gemm64", *exhaustive, "--trials", "1000", "--db", str(first)]) == 0
    options = [*exhaustive, "--tasks", "top:1", "--trials", "1000", "--db", str(second)]
    assert main(["tune", "mlp", *options]) == 0
    capsys.readouterr()
    assert convergence(["gemm64", "mlp", "--reference", str(first), str(second)]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| gemm ")]
    # gemm64's task and mlp's heavier one (the other mlp task has no reference: left out)
    assert len(rows) == 2 and "gemm 64x64x64" in rows[0] and "64x1024x1024" in rows[1]
    assert "median seeded-beam trials to 5% over tasks:" in out
