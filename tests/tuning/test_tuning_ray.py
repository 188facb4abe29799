"""RayRunner on a two-node test cluster on this machine (TUNING.md, "A distributed test on a
2-core machine"): the same best config per task as LocalRunner with the same seed under a
deterministic fake timer, and no record lost or duplicated when an actor is killed mid-run.

Marked `distributed`; it needs Ray (`pip install 'terrace[ray]'`, in requirements.lock)."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from terrace.tuning.config import SPACE, GemmShape, task_keys
from terrace.tuning.measure import LocalRunner, fake_timer
from terrace.tuning.records import Database, Record
from terrace.tuning.search import Scheduler, TaskState
from terrace.tuning.space import Space
from terrace.tuning.target_info import TargetInfo
from terrace.tuning.tasks import Task

ray = pytest.importorskip("ray")

pytestmark = pytest.mark.distributed

ZEN4 = TargetInfo("x86_64", "x86_64-unknown-linux-gnu", "znver4", "", 512, 32)


def _task(m: int, n: int, k: int) -> Task:
    desc = {"anchor": "contraction", "gemm": [m, n, k], "epilogue": []}
    key, anchor = task_keys(desc)
    shape = GemmShape(m, n, k)
    return Task(key, anchor, desc, shape, Space(shape, ZEN4).configs()[0])


TASKS = [_task(128, 128, 128), _task(64, 256, 64)]


@pytest.fixture(scope="module")
def cluster():
    from ray.cluster_utils import Cluster

    nodes = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    for _ in range(2):
        nodes.add_node(num_cpus=1)
    ray.init(address=nodes.address, include_dashboard=False, log_to_driver=False)
    yield nodes
    ray.shutdown()
    nodes.shutdown()


def _runner_options() -> dict[str, object]:
    inputs = [np.zeros((1,), np.float32)]
    return {
        "model": b"",
        "target": "x86_64",
        "threads": 1,
        "inputs": inputs,
        "reference": inputs,
        "measure": fake_timer,
        "repeat_s": 0.05,  # the fake timer's sleep: a kill finds measurements in flight
    }


def _tune(runner: object, db: Path, trials: int = 40) -> tuple[list[TaskState], Database]:
    database = Database(db)
    states = [TaskState(t, Space(t.shape, ZEN4)) for t in TASKS]

    def record(state: TaskState, configs, results) -> None:
        database.append(
            Record(
                state.task.key, state.task.anchor_key, state.task.desc, {}, "fp", SPACE, c, "", r
            )
            for c, r in zip(configs, results, strict=True)
        )

    Scheduler(states, runner, record, trials=trials, seed=0).run()  # pyright: ignore[reportArgumentType]
    return states, database


def test_ray_finds_what_local_finds(cluster, tmp_path: Path):
    from terrace.tuning.ray_runner import RayRunner

    local = LocalRunner(**_runner_options())  # pyright: ignore[reportArgumentType]
    local_states, _ = _tune(local, tmp_path / "local.jsonl")
    local.close()
    remote = RayRunner(**_runner_options(), fingerprint="", allow_heterogeneous=True)  # pyright: ignore[reportArgumentType]
    nodes = {node for node, _, _ in ray.get([h.describe.remote() for h in remote.handles])}
    assert len(remote.handles) == 2
    ray_states, _ = _tune(remote, tmp_path / "ray.jsonl")
    remote.close()
    del nodes
    for mine, theirs in zip(local_states, ray_states, strict=True):
        assert mine.best() == theirs.best()
        assert list(mine.measured) == list(theirs.measured)  # the same candidate sequence


def test_killing_an_actor_loses_no_record(cluster, tmp_path: Path):
    from terrace.tuning.ray_runner import RayRunner

    remote = RayRunner(**_runner_options(), fingerprint="", allow_heterogeneous=True)  # pyright: ignore[reportArgumentType]
    killer = threading.Timer(1.0, remote.kill_actor, args=(0,))
    killer.start()
    states, database = _tune(remote, tmp_path / "db.jsonl", trials=40)
    killer.join()
    remote.close()
    measured = sum(s.trials for s in states)
    lines = (tmp_path / "db.jsonl").read_text().splitlines()
    assert len(lines) == measured == len(Database(tmp_path / "db.jsonl").records)
    keys = [(r.key, r.config) for r in database.records]
    assert len(keys) == len(set(keys)), "no record written twice"
    assert remote.requeued >= 1, "the kill hit a measurement in flight"
    assert all(r.result.ok for r in database.records)


def test_ray_confirms_finalists_interleaved(cluster):
    """The finalists on a Ray actor: a real model built, validated and timed there."""
    from terrace.benchmarks.workloads import workload
    from terrace.targets import get_target
    from terrace.tuning.config import KernelConfig
    from terrace.tuning.ray_runner import RayRunner
    from terrace.tuning.target_info import target_info
    from terrace.tuning.tasks import extract_tasks, random_inputs, reference_outputs

    model = workload("gemm64").build()
    (task,) = extract_tasks(model, get_target(), target_info(get_target()))
    inputs = random_inputs(model)
    options = {
        "model": model.SerializeToString(),
        "target": "x86_64",
        "threads": 1,
        "inputs": inputs,
        "reference": reference_outputs(model, inputs),
        "repeat_s": 0.002,
    }
    remote = RayRunner(**options, fingerprint="", allow_heterogeneous=True)  # pyright: ignore[reportArgumentType]
    results = remote.confirm(task, [task.default, KernelConfig(4, 2, 16, "nm")], repeats=4)
    remote.close()  # its actors hold both nodes
    wrong = RayRunner(
        **{**options, "reference": [r + 1 for r in options["reference"]]},  # pyright: ignore[reportArgumentType]
        fingerprint="",
        allow_heterogeneous=True,
    )
    rejected = wrong.confirm(task, [task.default], repeats=2)
    wrong.close()
    assert [len(r.repeats_s) for r in results] == [4, 4] and all(r.ok for r in results)
    assert [r.error for r in rejected] == ["wrong_result"]
