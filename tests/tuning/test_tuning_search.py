"""terrace tune's database, search and scheduler on the deterministic FakeRunner (no timing),
and the LocalRunner's isolation and validation on a small GEMM."""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import terrace
from terrace.benchmarks.workloads import workload
from terrace.targets import get_target
from terrace.tuning.config import SPACE, GemmShape, KernelConfig, task_keys
from terrace.tuning.measure import Candidate, FakeRunner, LocalRunner, MeasureRequest
from terrace.tuning.records import Database, DatabaseWarning, Record, Result
from terrace.tuning.search import Scheduler, TaskState
from terrace.tuning.space import Space
from terrace.tuning.target_info import TargetInfo
from terrace.tuning.tasks import Task, extract_tasks, random_inputs, reference_outputs

ZEN4 = TargetInfo("x86_64", "x86_64-unknown-linux-gnu", "znver4", "", 512, 32)


def _task(m: int, n: int, k: int, weight: int = 1) -> Task:
    desc = {"anchor": "contraction", "gemm": [m, n, k], "epilogue": []}
    key, anchor = task_keys(desc)
    shape = GemmShape(m, n, k)
    space = Space(shape, ZEN4)
    return Task(key, anchor, desc, shape, space.configs()[0], weight)


def _record(key: str, config: KernelConfig, seconds: float | None, fp: str = "fp") -> Record:
    error = None if seconds is not None else "crash"
    result = Result(seconds, seconds, (), 0.0, 0.1, error, "", seconds is not None)
    return Record(key, "anchor", {"gemm": [1, 2, 3]}, {}, fp, SPACE, config, "p", result)


# -- the database --------------------------------------------------------------------------


def test_database_round_trip_and_best(tmp_path: Path):
    path = tmp_path / "db.jsonl"
    fast, slow = KernelConfig(6, 4, 16), KernelConfig(8, 2, 16)
    Database(path).append([_record("k", slow, 2.0), _record("k", fast, 1.0)])
    Database(path).append([_record("k", KernelConfig(1, 1, 16), None)])  # a crash: never best
    again = Database(path)
    assert len(again.records) == 3
    best = again.best("k", "fp", SPACE)
    assert best is not None and best.config == fast
    assert again.best("k", "other-fp", SPACE) is None
    assert again.best("k", "fp", "contraction/v0") is None  # a space-version bump


def test_corrupt_line_is_skipped_with_a_warning(tmp_path: Path):
    path = tmp_path / "db.jsonl"
    Database(path).append([_record("k", KernelConfig(6, 4, 16), 1.0)])
    with path.open("a") as out:
        out.write('{"v": 1, "task": {"key": "trunc')  # a writer killed mid-line
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        database = Database(path)
    assert len(database.records) == 1
    assert any(isinstance(w.message, DatabaseWarning) and ":2:" in str(w.message) for w in caught)
    database.append([_record("k", KernelConfig(8, 2, 16), 0.5)])
    assert Database(path).best("k", "fp", SPACE) is not None


def test_other_machines_records_are_seeds_only(tmp_path: Path):
    path = tmp_path / "db.jsonl"
    Database(path).append([_record("k", KernelConfig(5, 3, 16), 1.0, fp="elsewhere")])
    database = Database(path)
    assert database.best("k", "fp", SPACE) is None
    assert database.seeds("k", SPACE) == [KernelConfig(5, 3, 16)]


def test_compact_keeps_one_best_per_task(tmp_path: Path):
    path, out = tmp_path / "db.jsonl", tmp_path / "best.jsonl"
    Database(path).append(
        [_record("a", KernelConfig(6, 4, 16), 2.0), _record("a", KernelConfig(8, 2, 16), 1.0)]
        + [_record("b", KernelConfig(6, 4, 16), 3.0)]
    )
    assert Database(path).compact(out) == 2
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted((r["task"]["key"], r["config"]["mr"]) for r in lines) == [("a", 8), ("b", 6)]


# -- search and scheduler ------------------------------------------------------------------


def _optimum_at(best: KernelConfig):
    """A timing landscape with one optimum: time grows with the distance in knob steps."""

    def time_of(task: Task, config: KernelConfig) -> float:
        distance = abs(config.mr - best.mr) + abs(config.nr_vectors - best.nr_vectors)
        distance += (config.order != best.order) + (config.lanes != best.lanes)
        distance += sum(getattr(config, b) != getattr(best, b) for b in ("kc", "mc", "nc"))
        return 1e-3 * (1 + 0.1 * distance)

    return time_of


def _tune(
    tasks: list[Task],
    runner: FakeRunner,
    trials: int,
    strategy: str = "seeded-beam",
    drift_guard: bool = True,
):
    states = [TaskState(t, Space(t.shape, ZEN4)) for t in tasks]
    scheduler = Scheduler(
        states, runner, lambda *_: None, trials=trials, strategy=strategy, drift_guard=drift_guard
    )
    scheduler.run()
    return states


def test_seeded_beam_finds_a_planted_optimum():
    task = _task(512, 512, 512)
    optimum = KernelConfig(4, 2, 8, "nm")  # far from the analytical default (6 x 4 x 16)
    runner = FakeRunner({}, noise=0.0, time_of=_optimum_at(optimum))
    (state,) = _tune([task], runner, trials=64)
    best = state.best()
    assert best is not None and best[0] == optimum
    assert state.trials <= 64


def test_search_is_deterministic_under_a_seed():
    task = _task(256, 200, 64)
    paths = []
    for _ in range(2):
        runner = FakeRunner({task.key: Space(task.shape, ZEN4)}, seed=3)
        _tune([task], runner, trials=30)
        paths.append([c.config for c in runner.measured])
    assert paths[0] == paths[1]
    assert len(set(paths[0])) == len(paths[0]), "no config is measured twice"


def test_scheduler_spends_trials_where_the_time_is():
    heavy, light = _task(1024, 1024, 1024, weight=4), _task(64, 64, 64)
    spaces = {t.key: Space(t.shape, ZEN4) for t in (heavy, light)}
    runner = FakeRunner(spaces, seed=0)
    _tune([light, heavy], runner, trials=60)
    owners = [c.task.key for c in runner.measured]
    assert owners[0] == heavy.key  # round 0 goes heaviest first
    light_seeds = owners.index(light.key)
    first_light_after_seeds = next(
        (i for i in range(light_seeds, len(owners)) if owners[i] == heavy.key), len(owners)
    )
    later_light = [i for i in range(first_light_after_seeds, len(owners)) if owners[i] == light.key]
    last_heavy = max(i for i, key in enumerate(owners) if key == heavy.key)
    # after the light task's seeds, it gets nothing until the heavy task has converged
    assert all(i > last_heavy for i in later_light)
    assert owners.count(heavy.key) >= 0.8 * (last_heavy + 1 - owners.count(light.key))


def test_resumed_state_measures_nothing_twice():
    task = _task(512, 512, 512)
    space = Space(task.shape, ZEN4)
    first = FakeRunner({task.key: space}, seed=0)
    (state,) = _tune([task], first, trials=16)
    resumed = TaskState(task, space, measured=dict(state.measured))
    second = FakeRunner({task.key: space}, seed=0)
    Scheduler([resumed], second, lambda *_: None, trials=16).run()
    assert not {c.config for c in second.measured} & set(state.measured)


# -- measurement in a child process ---------------------------------------------------------


def crash(request: MeasureRequest) -> Result:
    os._exit(3)


def hang(request: MeasureRequest) -> Result:
    import time

    from terrace.tuning.measure import notify_built

    notify_built()  # built: the run hangs
    time.sleep(60)
    raise AssertionError("unreachable")


def slow_build(request: MeasureRequest) -> Result:
    import time

    time.sleep(60)  # never says it is built
    raise AssertionError("unreachable")


@pytest.fixture(scope="module")
def gemm64():
    model = workload("gemm64").build()
    target = get_target()
    from terrace.tuning.target_info import target_info

    (task,) = extract_tasks(model, target, target_info(target))
    inputs = random_inputs(model)
    return model, task, inputs, reference_outputs(model, inputs)


def test_local_runner_validates_and_isolates(gemm64):
    model, task, inputs, reference = gemm64

    def runner(reference, **options) -> LocalRunner:
        return LocalRunner(
            model.SerializeToString(), "x86_64", 1, inputs, reference, repeats=2, **options
        )

    good = runner(reference)
    (ok,) = good.run([Candidate(task, KernelConfig(4, 2, 16, "nm"))])
    good.close()
    assert ok.ok and ok.median_s is not None and len(ok.repeats_s) == 2
    wrong = runner([r + 1.0 for r in reference])
    (rejected,) = wrong.run([Candidate(task, task.default)])
    wrong.close()
    assert rejected.error == "wrong_result" and not rejected.ok
    crashing = runner(reference, measure=crash)
    (crashed,) = crashing.run([Candidate(task, task.default)])
    assert crashed.error == "crash"
    crashing.close()
    hanging = runner(reference, measure=hang, min_timeout_s=2.0)
    (hung,) = hanging.run([Candidate(task, task.default)])
    hanging.close()
    assert hung.error == "timeout" and "running took over 2.0 s" in hung.detail
    # a build slower than the run's timeout is not a hang until the build timeout
    slow = runner(reference, measure=slow_build, min_timeout_s=0.5, build_timeout_s=3.0)
    (stuck,) = slow.run([Candidate(task, task.default)])
    slow.close()
    assert stuck.error == "timeout" and "building took over 3.0 s" in stuck.detail
    real = runner(reference, min_timeout_s=0.5, build_timeout_s=120.0)
    (built,) = real.run([Candidate(task, task.default)])  # a build of over 0.5 s is fine
    real.close()
    assert built.ok and built.build_s > 0


def test_compile_applies_the_best_record(gemm64, tmp_path: Path):
    model, task, inputs, reference = gemm64
    from terrace.tuning.apply import target_fingerprint, with_config

    target = get_target()
    chosen = KernelConfig(2, 1, 16, "nm")  # never the analytical choice
    pipeline = with_config(target, task.key, chosen).pipeline().spec()
    record = _record(task.key, chosen, 1e-6, fp=target_fingerprint(target))
    db = tmp_path / "db.jsonl"
    Database(db).append([record])
    from terrace.compiler import StageTimer, lower, with_tuning

    tuned, _ = with_tuning(target, db, 1)
    module = lower(model, tuned, "linalg", StageTimer())
    del module
    text = tuned.pipeline().spec()
    assert "apply-tuning{" in text and str(db.resolve()) in text
    compiled = terrace.compile(model, cache=tmp_path / "cache", tuning_db=db)
    # 16 lanes are two vectors on AVX2: another summation order, off in the last bits
    np.testing.assert_allclose(compiled(*inputs)[0], reference[0], rtol=1e-5, atol=1e-5)
    # the forced-config pipeline of the record reproduces the same kernel choice by hand
    assert 'config="2,1,16,nm"' in pipeline


# -- the finalists and the convergence benchmark -------------------------------------------


def test_confirmed_records_decide_the_best(tmp_path: Path):
    path = tmp_path / "db.jsonl"
    lucky, steady = KernelConfig(6, 4, 16), KernelConfig(8, 2, 16)
    confirmed = replace(_record("k", steady, 1.1), meta={"confirmation": True})
    # the lucky search record is faster, but only the side-by-side re-measurement counts
    Database(path).append([_record("k", lucky, 1.0), _record("k", steady, 1.2), confirmed])
    best = Database(path).best("k", "fp", SPACE)
    assert best is not None and best.config == steady and best.result.seconds == 1.1


def test_local_runner_confirms_finalists_interleaved(gemm64):
    model, task, inputs, reference = gemm64
    runner = LocalRunner(model.SerializeToString(), "x86_64", 1, inputs, reference, repeat_s=0.002)
    finalists = [task.default, KernelConfig(4, 2, 16, "nm")]
    results = runner.confirm(task, finalists, repeats=6)
    runner.close()
    assert [len(r.repeats_s) for r in results] == [6, 6]
    assert all(r.ok and r.iqr_s is not None for r in results)
    wrong = LocalRunner(model.SerializeToString(), "x86_64", 1, inputs, [r + 1 for r in reference])
    rejected = wrong.confirm(task, finalists, repeats=2)
    wrong.close()
    assert [r.error for r in rejected] == ["wrong_result", "wrong_result"]


def test_replay_follows_the_live_search_and_counts_trials():
    from terrace.tuning.convergence import converge, replay, trials_to_within

    task = _task(512, 512, 512)
    space = Space(task.shape, ZEN4)
    optimum = KernelConfig(4, 2, 8, "nm")
    time_of = _optimum_at(optimum)
    live = FakeRunner({}, noise=0.0, time_of=time_of)
    _tune([task], live, trials=1000, drift_guard=False)  # a replay has no drift checks
    times = {
        (task.key, c): Result(time_of(task, c), time_of(task, c), validated=True)
        for c in space.configs()
    }
    curve = replay(task, space, times, "seeded-beam")
    assert len(curve) == len(live.measured), "the replay takes the live search's path"
    assert curve == sorted(curve, reverse=True) and curve[-1] == 1e-3
    assert trials_to_within(curve, 1e-3) == 1 + next(
        i for i, c in enumerate(live.measured) if c.config == optimum
    )
    assert trials_to_within(curve, 0.5e-3) is None
    (found,) = converge([task], {task.key: space}, times, seeds=3)
    assert found.coverage == (len(space.configs()), len(space.configs()))
    assert found.beam_trials == trials_to_within(curve, 1.05e-3)
    assert len(found.random_trials) == 3 and all(t is not None for t in found.random_trials)


def test_whole_model_timings_add_savings_not_times():
    """LocalRunner times the whole model with one task changed: the model estimate is the
    untuned model less each task's saving, never the sum of the model's time per task."""
    from terrace.tuning.search import Progress

    def ok(seconds: float) -> Result:
        return Result(seconds, seconds, validated=True)

    small, large = _task(64, 64, 64), _task(512, 512, 512)
    states = [TaskState(t, Space(t.shape, ZEN4)) for t in (small, large)]
    for state, best in zip(states, (9e-3, 8e-3), strict=True):
        other = next(c for c in state.space.configs() if c != state.task.default)
        state.measured = {state.task.default: ok(10e-3), other: ok(best)}
    whole = Progress(4, 1.0, states, whole_model=True)
    assert whole.default_seconds() == pytest.approx(10e-3)
    assert whole.model_seconds() == pytest.approx(7e-3)
    per_kernel = Progress(4, 1.0, states)
    assert per_kernel.model_seconds() == pytest.approx(17e-3)
    # the next batch goes to the task whose kernel is the larger share of the model
    scheduler = Scheduler(states, FakeRunner({}), lambda *_: None, whole_model=True)
    picked = scheduler._pick()  # pyright: ignore[reportPrivateUsage]
    assert picked is not None and picked.task is large


def test_the_best_index_answers_as_the_database_and_is_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from terrace.tuning import records
    from terrace.tuning.records import load_best_index

    path, cache = tmp_path / "db.jsonl", tmp_path / "cache"
    fast, slow = KernelConfig(6, 4, 16), KernelConfig(8, 2, 16)
    Database(path).append([_record("k", slow, 2.0), _record("k", fast, 1.0)])
    index = load_best_index(path, cache)
    assert index.lookup("k", "anchor", "fp", SPACE) == (fast, "record")
    # another task with the same anchor (another epilogue): the anchor's best
    assert index.lookup("k2", "anchor", "fp", SPACE) == (fast, "anchor-record")
    assert index.lookup("k", "anchor", "other-fp", SPACE) is None
    assert len(list((cache / "tuning-index").glob("*.json"))) == 1

    def no_parsing(*_: object) -> None:
        raise AssertionError("the cached index is read, the records are not parsed")

    monkeypatch.setattr(records.Database, "__init__", no_parsing)
    assert load_best_index(path, cache).lookup("k", "", "fp", SPACE) == (fast, "record")
    monkeypatch.undo()
    # a new record is a new file version: a new index
    Database(path).append([_record("k", KernelConfig(4, 2, 16), 0.5)])
    assert load_best_index(path, cache).lookup("k", "", "fp", SPACE) == (
        KernelConfig(4, 2, 16),
        "record",
    )
    # a damaged index is rebuilt, and a folder that cannot be written only costs a parse
    for stored in (cache / "tuning-index").glob("*.json"):
        stored.write_text("{")
    assert load_best_index(path, cache).lookup("k", "", "fp", SPACE) is not None
    assert load_best_index(path, tmp_path / "db.jsonl" / "x").lookup("k", "", "fp", SPACE)
