"""The drift guard (TUNING.md section 6) on FakeRunner with a timer that drifts: every 4
batches a task's default is measured again; moved over 5% from its first time, the batch is
suspect and measured again, and the report says so. Deterministic, no timing."""

from __future__ import annotations

from collections.abc import Callable

from terrace.tuning.config import GemmShape, KernelConfig, task_keys
from terrace.tuning.measure import FakeRunner
from terrace.tuning.search import DRIFT_EVERY, Scheduler, TaskState
from terrace.tuning.space import Space
from terrace.tuning.target_info import TargetInfo
from terrace.tuning.tasks import Task

ZEN4 = TargetInfo("x86_64", "x86_64-unknown-linux-gnu", "znver4", "", 512, 32)
BATCH = 8


def _task() -> Task:
    desc = {"anchor": "contraction", "gemm": [512, 512, 512], "epilogue": []}
    key, anchor = task_keys(desc)
    shape = GemmShape(512, 512, 512)
    return Task(key, anchor, desc, shape, Space(shape, ZEN4).configs()[0])


OPTIMUM = KernelConfig(4, 2, 8, "nm")
"""Far from the default: the search improves for many batches before it converges."""


def base(config: KernelConfig) -> float:
    """The machine's true time: one optimum, time grows with the distance in knob steps."""
    distance = abs(config.mr - OPTIMUM.mr) + abs(config.nr_vectors - OPTIMUM.nr_vectors)
    distance += (config.order != OPTIMUM.order) + (config.lanes != OPTIMUM.lanes)
    distance += sum(getattr(config, b) != getattr(OPTIMUM, b) for b in ("kc", "mc", "nc"))
    return 1e-3 * (1 + 0.1 * distance)


def _drifting(slow_calls: range, factor: float) -> tuple[Callable[..., float], list[int]]:
    """`base`, times `factor` for the measurements numbered in `slow_calls` (a load spike on
    the machine); the list counts the measurements."""
    calls = [0]

    def time_of(task: Task, config: KernelConfig) -> float:
        calls[0] += 1
        return base(config) * (factor if calls[0] - 1 in slow_calls else 1.0)

    return time_of, calls


def _run(time_of: Callable[..., float], guard: bool = True) -> tuple[TaskState, FakeRunner]:
    task = _task()
    state = TaskState(task, Space(task.shape, ZEN4))
    runner = FakeRunner({}, noise=0.0, time_of=time_of)
    recorded: list[tuple[KernelConfig, float]] = []
    sizes: list[int] = []

    def on_results(_: TaskState, configs, results) -> None:
        recorded.extend((c, r.seconds) for c, r in zip(configs, results, strict=True))
        sizes.append(len(configs))

    Scheduler([state], runner, on_results, trials=10 * BATCH, batch=BATCH, drift_guard=guard).run()
    state.recorded = recorded  # pyright: ignore[reportAttributeAccessIssue]
    state.sizes = sizes  # pyright: ignore[reportAttributeAccessIssue]
    return state, runner


def _fourth_batch() -> tuple[int, int]:
    """Where the 4th batch starts among the measurements, and its size (a steady run takes
    the same path up to there)."""
    state, _ = _run(_drifting(range(0), 1.0)[0])
    sizes: list[int] = state.sizes  # pyright: ignore[reportAttributeAccessIssue]
    return sum(sizes[: DRIFT_EVERY - 1]), sizes[DRIFT_EVERY - 1]


def test_a_steady_machine_is_checked_but_nothing_is_measured_again():
    time_of, calls = _drifting(range(0), 1.0)
    state, runner = _run(time_of)
    assert state.batches >= DRIFT_EVERY
    assert len(state.drift) == state.batches // DRIFT_EVERY
    assert all(ratio == 1.0 for ratio in state.drift)
    assert state.suspect == 0
    # the checks are the only extra measurements: one default each
    assert calls[0] == state.trials + len(state.drift)
    assert [c.config for c in runner.measured].count(state.task.default) == 1 + len(state.drift)


def test_a_drifted_default_makes_the_batch_suspect_and_measured_again():
    # the 4th batch (measurements 12..15) and the check after it (16) run 30% slow; the
    # re-measurement of the batch (17..20) runs on a quiet machine again
    fourth_batch, size = _fourth_batch()
    time_of, _ = _drifting(range(fourth_batch, fourth_batch + size + 1), 1.3)
    state, runner = _run(time_of)
    assert state.suspect == 1
    assert state.drift[0] == 1.3
    # what the search keeps (and records) is the quiet re-measurement, not the spike
    for config, seconds in state.recorded:  # pyright: ignore[reportAttributeAccessIssue]
        assert seconds == base(config)
    suspect = runner.measured[fourth_batch : fourth_batch + size]
    check = runner.measured[fourth_batch + size]
    again = runner.measured[fourth_batch + size + 1 : fourth_batch + 2 * size + 1]
    assert check.config == state.task.default
    assert [c.config for c in again] == [c.config for c in suspect]


def test_without_the_guard_the_spike_is_kept():
    fourth_batch, size = _fourth_batch()
    time_of, calls = _drifting(range(fourth_batch, fourth_batch + size), 1.3)
    state, _ = _run(time_of, guard=False)
    assert state.drift == [] and state.suspect == 0 and calls[0] == state.trials
    slow = [s / base(c) for c, s in state.recorded]  # pyright: ignore[reportAttributeAccessIssue]
    assert slow.count(1.3) == size


def test_the_report_says_which_kernels_were_not_improved_and_why(tmp_path):
    from pathlib import Path

    from terrace.benchmarks.workloads import workload
    from terrace.targets import get_target
    from terrace.tuning.records import Result
    from terrace.tuning.session import TuningSession

    session = TuningSession(
        workload("mlp").build(), get_target(), db_path=Path(tmp_path) / "db.jsonl"
    )
    first, second, *_ = session.states  # the mlp's first two tasks

    def timed(median: float, iqr: float) -> Result:
        return Result(median, median, (median,), iqr, 0.1, validated=True)

    # first: the default beat the 3 others; second: a 0.5% gain, with 4% IQR
    others = [c for c in first.space.configs() if c != first.task.default][:3]
    first.measured = {first.task.default: timed(1e-3, 1e-5)}
    first.measured |= {c: timed(1.2e-3, 1e-5) for c in others}
    first.converged = True
    better = next(c for c in second.space.configs() if c != second.task.default)
    second.measured = {second.task.default: timed(2.01e-3, 8e-5), better: timed(2e-3, 8e-5)}
    second.confirmed.add(better)
    second.drift, second.suspect = [1.0, 1.08], 1
    text = session.report("")
    section = text.split("## Kernels the tuner did not improve")[1].split("##")[0]
    assert f"{first.task.name} (weight 1): the default is the fastest of the 4 configs" in section
    assert f"{second.task.name} (weight 1): the best ({better.describe()}) gains +0.5%" in section
    assert "inside the noise (IQR / median 4.0%)" in section
    assert "the search stopped at the budget after 2 trials" in section
    noise = text.split("## Noise of the final bests")[1].split("##")[0]
    assert "1/2 kernels of at least 1 ms have IQR / median under 3%" in noise
    drift = text.split("## Drift guard")[1].split("##")[0]
    assert f"| {second.task.name} | 2 | +0.0% .. +8.0% | 1 |" in drift
    assert "largest drift +8.0%, 1 suspect batch(es)" in session.drift_summary()
