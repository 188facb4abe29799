"""The convergence benchmark (TUNING.md section 11, criterion 3): how many trials a search
needs to come within 5% of the best config of a reference run that measured the whole space.

`terrace tune MODEL --strategy exhaustive` measures every valid config of every task once
(160 per contraction on AVX-512: no search has more to find). This module then replays each
strategy on those measured times: a `ReplayRunner` answers a candidate with the reference's own
measurement of it, so seeded-beam and random are compared on one landscape, free of the noise
between two timing runs, and the search path is exactly the one the tuner would take on that
machine in that state (the search is deterministic given the times). Random search is replayed
under `seeds` seeds and its median is reported, as MetaSchedule's replay anchor.

    python -m terrace.tuning.convergence mlp --reference ref.jsonl --plot convergence.png
    python -m terrace.tuning.convergence gemm512 resnet50 --reference a.jsonl b.jsonl
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .config import SPACE, KernelConfig
from .measure import Candidate
from .plot import Panel, Series, write_png
from .records import Database, Result
from .search import Scheduler, TaskState
from .space import Space
from .tasks import Task

WITHIN = 0.05
"""A search has converged once its best is within this fraction of the reference's best."""


@dataclass
class ReplayRunner:
    """Answers each candidate with the reference's measurement of it."""

    landscape: Mapping[tuple[str, KernelConfig], Result]
    measured: list[Candidate] = field(default_factory=list[Candidate])

    def run(self, batch: Sequence[Candidate]) -> list[Result]:
        self.measured += batch
        missing = Result(None, error="not_measured", detail="absent from the reference")
        return [self.landscape.get((c.task.key, c.config), missing) for c in batch]

    def confirm(self, task: Task, configs: Sequence[KernelConfig], repeats: int) -> list[Result]:
        """The reference's times again (a replay has nothing to re-measure)."""
        return self.run([Candidate(task, c) for c in configs])

    def close(self) -> None:
        return None


def landscape(database: Database, fp: str) -> dict[tuple[str, KernelConfig], Result]:
    """Every search measurement of the target `fp` (confirmation re-measurements left out);
    a config measured twice keeps its faster result."""
    found: dict[tuple[str, KernelConfig], Result] = {}
    for record in database.records:
        if record.target_fp != fp or record.space != SPACE or record.meta.get("confirmation"):
            continue
        key = (record.key, record.config)
        known = found.get(key)
        if known is None or (record.result.ok and record.result.seconds < known.seconds):
            found[key] = record.result
    return found


def replay(
    task: Task,
    space: Space,
    times: Mapping[tuple[str, KernelConfig], Result],
    strategy: str,
    seed: int = 0,
    trials: int = 1 << 30,
) -> list[float]:
    """The best time after each trial of `strategy` on the reference's times (inf until a
    valid one), up to its own stopping rule or `trials`."""
    curve: list[float] = []

    def collect(_: TaskState, __: Sequence[KernelConfig], results: Sequence[Result]) -> None:
        for result in results:
            best = curve[-1] if curve else float("inf")
            curve.append(min(best, result.seconds) if result.ok else best)

    state = TaskState(task, space)
    runner = ReplayRunner(times)
    # a fixed landscape does not drift: no re-measurement of the default
    Scheduler(
        [state], runner, collect, trials=trials, strategy=strategy, seed=seed, drift_guard=False
    ).run()
    return curve


def trials_to_within(curve: Sequence[float], target: float) -> int | None:
    """The first trial (1-based) whose best is at most `target`; None if never."""
    return next((i + 1 for i, best in enumerate(curve) if best <= target), None)


@dataclass(frozen=True)
class TaskConvergence:
    task: Task
    coverage: tuple[int, int]
    """(configs the reference measured, configs in the space)."""
    reference_s: float
    default_s: float | None
    beam: list[float]
    beam_trials: int | None
    random_trials: list[int | None]

    @property
    def random_median(self) -> float | None:
        reached = [t for t in self.random_trials if t is not None]
        if len(reached) < len(self.random_trials) / 2:
            return None
        padded = [t if t is not None else 1 << 30 for t in self.random_trials]
        return statistics.median(padded)


def converge(
    tasks: Sequence[Task],
    spaces: Mapping[str, Space],
    times: Mapping[tuple[str, KernelConfig], Result],
    seeds: int = 10,
    within: float = WITHIN,
) -> list[TaskConvergence]:
    found: list[TaskConvergence] = []
    for task in tasks:
        space = spaces[task.key]
        valid = [r.seconds for (key, _), r in times.items() if key == task.key and r.ok]
        if not valid:
            continue
        reference = min(valid)
        target = reference * (1 + within)
        configs = space.configs()
        covered = sum(1 for c in configs if (task.key, c) in times)
        beam = replay(task, space, times, "seeded-beam")
        randoms = [
            trials_to_within(replay(task, space, times, "random", seed=s), target)
            for s in range(seeds)
        ]
        default = times.get((task.key, task.default))
        found.append(
            TaskConvergence(
                task,
                (covered, len(configs)),
                reference,
                default.seconds if default is not None and default.ok else None,
                beam,
                trials_to_within(beam, target),
                randoms,
            )
        )
    return found


def table(results: Sequence[TaskConvergence], within: float = WITHIN) -> str:
    lines = [
        f"| task | reference measured | reference best ms | default / best | seeded-beam trials "
        f"to {within:.0%} | seeded-beam stopped at (best / ref) | random trials to {within:.0%} "
        "(median of seeds) |",
        "| --- | --: | --: | --: | --: | --: | --: |",
    ]
    for r in results:
        default = f"{r.default_s / r.reference_s:.3f}" if r.default_s else "-"
        beam = str(r.beam_trials) if r.beam_trials is not None else "never"
        stopped = f"{len(r.beam)} ({r.beam[-1] / r.reference_s:.3f})" if r.beam else "-"
        median = r.random_median
        random_trials = f"{median:.0f}" if median is not None else "not in half the seeds"
        lines.append(
            f"| {r.task.name} (x{r.task.weight}) | {r.coverage[0]}/{r.coverage[1]} "
            f"| {r.reference_s * 1e3:.3f} | {default} | {beam} | {stopped} | {random_trials} |"
        )
    beams = [r.beam_trials if r.beam_trials is not None else 1 << 30 for r in results]
    if beams:
        median = statistics.median(beams)
        shown = f"{median:.0f}" if median < 1 << 30 else "never"
        lines.append(f"\nmedian seeded-beam trials to {within:.0%} over tasks: {shown}")
    return "\n".join(lines)


def panels(results: Sequence[TaskConvergence]) -> list[Panel]:
    beam = [
        Series(r.task.name, range(1, len(r.beam) + 1), [b / r.reference_s for b in r.beam])
        for r in results
    ]
    return [
        Panel(
            "seeded-beam: best / reference best, per task",
            "trials of the task",
            "best / reference best",
            beam,
            [(1 + WITHIN, f"within {WITHIN:.0%}")],
        )
    ]


def main(argv: Sequence[str] | None = None) -> int:
    from ..benchmarks.workloads import workload
    from ..targets import get_target
    from .target_info import target_info
    from .tasks import extract_tasks

    parser = argparse.ArgumentParser(
        prog="python -m terrace.tuning.convergence",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("models", nargs="+", help=".onnx files or bundled workloads")
    parser.add_argument(
        "--reference",
        required=True,
        nargs="+",
        help="records of exhaustive runs (any number: their tasks are pooled, one table, "
        "one median over every task)",
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seeds", type=int, default=10, help="random-search seeds (10)")
    parser.add_argument("--plot", metavar="PNG", help="the seeded-beam curves per task")
    args = parser.parse_args(argv)
    import onnx

    target = get_target()
    info = target_info(target, args.threads)
    tasks: dict[str, Task] = {}
    for name in args.models:
        model = onnx.load(name) if Path(name).is_file() else workload(name).build()
        for task in extract_tasks(model, target, info):
            tasks.setdefault(task.key, task)
    times: dict[tuple[str, KernelConfig], Result] = {}
    for path in args.reference:
        times |= landscape(Database(path), info.fingerprint())
    spaces = {key: Space(t.shape, info) for key, t in tasks.items()}
    results = converge(list(tasks.values()), spaces, times)
    if not results:
        print("no record of these models' tasks on this target", file=sys.stderr)
        return 1
    print(table(results))
    if args.plot:
        title = f"convergence on {', '.join(args.models)}, {info.cpu}"
        write_png(args.plot, title, panels(results))
        print(f"wrote {args.plot}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
