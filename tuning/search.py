"""Seeded local search per task and the task scheduler across a model (TUNING.md sections 5
and 8).

Per task: trial 0 is the analytical default; the other seeds are the next two micro-kernels
by the analytical ranking, the default in the other tile-grid order, and the best configs this
task got on other machines (records of another fingerprint: seeds, never applied). Then each
round proposes the untried one-step tile neighbours (mr, nr-vectors, lanes, order, each with
its analytical cache blocks) of a beam of the `beam` best measured configs, ranks them by the
analytical estimate and measures the top `batch`, a quarter of which goes to the cache-block
steps (kc, the streamed block) of the best config so far. A task converges when two
rounds in a row improve its best by under 1%, or its space is exhausted, or it hits its cap.
`--strategy random` measures uniformly drawn untried configs instead (the MetaSchedule
replay anchor); `--strategy exhaustive` measures the whole space, best estimate first, and
never stops early (the reference a convergence benchmark compares with).

Across tasks: round 0 measures every task's seeds in decreasing weight x default estimate, so a
small budget goes where it matters; after it, each batch goes to the task with the largest
expected saving, weight x best x its recent relative gain (MetaSchedule's gradient rule, window
3), skipping converged tasks. The objective is the estimated model latency, sum of weight x
best (the analytical estimate scaled to the measured default for unmeasured tasks).
Everything is seeded: the same measured times give the same path. Resuming starts from the
records already in the database and never re-measures them.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from .config import KernelConfig
from .measure import Candidate
from .records import Result
from .space import Space
from .tasks import Task

IMPROVEMENT = 0.01
STALE_ROUNDS = 2
WINDOW = 3
BLOCK_SHARE = 4
"""One proposal in this many of a batch moves the best config's cache blocks."""
DRIFT_EVERY = 4
"""The drift guard re-measures a task's analytical default after every this many batches."""
DRIFT_LIMIT = 0.05
"""A default that moved more than this from its first measurement makes the batch suspect."""


class Runner(Protocol):
    def run(self, batch: Sequence[Candidate]) -> list[Result]: ...

    def confirm(self, task: Task, configs: Sequence[KernelConfig], repeats: int) -> list[Result]:
        """The finalists re-measured side by side (interleaved repeats)."""
        ...

    def close(self) -> None: ...


@dataclass
class TaskState:
    task: Task
    space: Space
    seeds: Sequence[KernelConfig] = ()
    measured: dict[KernelConfig, Result] = field(default_factory=dict[KernelConfig, Result])
    history: list[float] = field(default_factory=list[float])
    """The best median after each round."""
    stale: int = 0
    converged: bool = False
    cap: int = 1 << 30
    confirmed: set[KernelConfig] = field(default_factory=set[KernelConfig])
    """Finalists re-measured side by side: the best is chosen among them when there are any."""
    first_default: float | None = None
    """The analytical default's first measurement: what the drift guard compares with."""
    batches: int = 0
    drift: list[float] = field(default_factory=list[float])
    """The drift guard's re-measurements of the default, over `first_default`."""
    suspect: int = 0
    """Batches measured while the default had drifted, and re-measured."""
    in_model: bool = False
    """Its candidates are timed as the whole model with this task changed (a task without a
    standalone kernel, tuning/kernels.py), not as its kernel alone."""

    @property
    def trials(self) -> int:
        return len(self.measured)

    def best(self) -> tuple[KernelConfig, float] | None:
        valid = [(c, r.seconds) for c, r in self.measured.items() if r.ok]
        confirmed = [(c, seconds) for c, seconds in valid if c in self.confirmed]
        return min(confirmed or valid, key=lambda item: item[1], default=None)

    def best_seconds(self) -> float | None:
        found = self.best()
        return found[1] if found else None

    def default_seconds(self) -> float | None:
        result = self.measured.get(self.task.default)
        return result.seconds if result is not None and result.ok else None

    def estimated_seconds(self) -> float:
        """Measured best, else the analytical estimate."""
        return self.best_seconds() or self.space.estimate(self.task.default)

    def initial(self) -> list[KernelConfig]:
        default = self.task.default
        ranked = [c for c in self.space.configs() if c.order == default.order]
        alternatives = [
            c
            for c in ranked
            if (c.mr, c.nr_vectors, c.lanes) != (default.mr, default.nr_vectors, default.lanes)
        ]
        swapped = KernelConfig(
            default.mr, default.nr_vectors, default.lanes, "nm" if default.order == "mn" else "mn"
        )
        chosen = [default, *alternatives[:2], swapped, *self.seeds]
        return [
            c for c in dict.fromkeys(chosen) if self.space.is_valid(c) and c not in self.measured
        ]

    def propose(
        self, batch: int, strategy: str, rng: random.Random, beam: int
    ) -> list[KernelConfig]:
        if not self.measured:
            return self.initial()[:batch]
        untried = [c for c in self.space.configs() if c not in self.measured]
        if strategy == "exhaustive":
            return untried[:batch]
        if strategy == "random":
            rng.shuffle(untried)
            return untried[:batch]
        ranked = sorted(
            ((c, r.seconds) for c, r in self.measured.items() if r.ok),
            key=lambda item: item[1],
        )
        tiles: list[KernelConfig] = []
        for config, _ in ranked[:beam]:
            tiles += [c for c in self.space.tile_neighbours(config) if c not in self.measured]
        tiles = sorted(dict.fromkeys(tiles), key=self.space.estimate)
        # the cache blocks of the best tile so far take a quarter of the batch: a block
        # step the estimate ranks high must not crowd out the tile steps, nor the reverse
        best = [ranked[0][0]] if ranked else []
        blocks = [c for b in best for c in self.space.block_neighbours(b) if c not in self.measured]
        blocks = sorted(blocks, key=self.space.estimate)
        share = min(len(blocks), max(batch // BLOCK_SHARE, 1))
        proposals = list(dict.fromkeys([*tiles[: batch - share], *blocks[:share]]))
        proposals += [c for c in [*tiles, *blocks] if c not in proposals]
        if not proposals:
            # the beam's neighbourhood is exhausted: the next best untried by the estimate
            proposals = untried
        return proposals[:batch]

    def update(
        self, configs: Sequence[KernelConfig], results: Sequence[Result], early_stop: bool = True
    ) -> None:
        before = self.best_seconds()
        for config, result in zip(configs, results, strict=True):
            self.measured[config] = result
            if config == self.task.default and result.ok and self.first_default is None:
                self.first_default = result.seconds
        after = self.best_seconds()
        if after is not None:
            self.history.append(after)
        gained = before is None or (after is not None and after < before * (1 - IMPROVEMENT))
        self.stale = 0 if gained else self.stale + 1
        exhausted = all(c in self.measured for c in self.space.configs())
        if (early_stop and self.stale >= STALE_ROUNDS) or self.trials >= self.cap or exhausted:
            self.converged = True

    def gain_rate(self) -> float:
        """Relative improvement of the best over the last WINDOW rounds (at least 1%)."""
        if len(self.history) < 2:
            return 1.0
        old = self.history[max(0, len(self.history) - 1 - WINDOW)]
        return max((old - self.history[-1]) / old, IMPROVEMENT)


@dataclass
class Progress:
    trials: int
    elapsed_s: float
    states: Sequence[TaskState]
    whole_model: bool = False
    """Every candidate was timed as the whole model with one task changed; otherwise each
    state's `in_model` says (a standalone kernel, or FakeRunner, times the kernel alone)."""

    def _in_model(self, state: TaskState) -> bool:
        return self.whole_model or state.in_model

    def model_seconds(self) -> float:
        """The estimated model latency: per kernel, the sum of weight x best; when some tasks
        are timed as whole models, the untuned model's time less each task's saving (savings
        add up: each task changes other code; a kernel's saving counts weight times)."""
        if not any(self._in_model(s) for s in self.states):
            return sum(s.task.weight * s.estimated_seconds() for s in self.states)
        savings = 0.0
        for state in self.states:
            default, best = state.default_seconds(), state.best_seconds()
            if default is not None and best is not None:
                times = 1 if self._in_model(state) else state.task.weight
                savings += times * max(default - best, 0.0)
        return self.default_seconds() - savings

    def default_seconds(self) -> float:
        """The untuned model: per kernel, the sum of weight x default; when some tasks are
        timed as whole models, the fastest of their default trials (each one is the untuned
        model)."""
        if not any(self._in_model(s) for s in self.states):
            return sum(
                s.task.weight * (s.default_seconds() or s.estimated_seconds()) for s in self.states
            )
        defaults = [
            d
            for d in (s.default_seconds() for s in self.states if self._in_model(s))
            if d is not None
        ]
        if defaults:
            return min(defaults)
        return sum(s.task.weight * s.space.estimate(s.task.default) for s in self.states)


@dataclass
class Scheduler:
    states: list[TaskState]
    runner: Runner
    on_results: Callable[[TaskState, Sequence[KernelConfig], Sequence[Result]], None]
    trials: int = 64
    seconds: float = float("inf")
    batch: int = 8
    beam: int = 4
    strategy: str = "seeded-beam"
    seed: int = 0
    on_round: Callable[[Progress], None] | None = None
    drift_guard: bool = True
    """Re-measure each task's default every DRIFT_EVERY batches (TUNING.md section 6)."""
    whole_model: bool = False
    """The runner times the whole model per candidate (see `Progress`)."""
    measured: int = 0
    started: float = field(default_factory=time.perf_counter)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        if len(self.states) > 1:
            # per-task cap: 3 x the mean share, so one task cannot take the whole budget
            cap = max(3 * self.trials // len(self.states), self.batch)
            for state in self.states:
                state.cap = min(state.cap, cap)
        self.states.sort(key=lambda s: -s.task.weight * s.space.estimate(s.task.default))

    def run(self) -> None:
        """Round 0 over every task, then the gradient rule, within the budgets; a Ctrl-C ends
        after the batch that was being measured has been recorded."""
        for state in self.states:
            if not self._budget_left():
                return
            if not state.measured:
                self._step(state)
        while self._budget_left():
            state = self._pick()
            if state is None:
                return
            self._step(state)

    def _budget_left(self) -> bool:
        elapsed = time.perf_counter() - self.started
        return self.measured < self.trials and elapsed < self.seconds

    def _pick(self) -> TaskState | None:
        open_states = [s for s in self.states if not s.converged]
        if not open_states:
            return None
        return max(open_states, key=self._priority)

    def _priority(self, state: TaskState) -> float:
        """The expected saving: weight x the kernel's time x its recent relative gain. Timed
        as whole models, a task's measured time is the model's; its kernel's share is then
        the analytical estimate scaled by how far its best has come from its default."""
        if not (self.whole_model or state.in_model):
            return state.task.weight * state.estimated_seconds() * state.gain_rate()
        kernel = state.task.weight * state.space.estimate(state.task.default)
        default, best = state.default_seconds(), state.best_seconds()
        if default and best:
            kernel *= best / default
        return kernel * state.gain_rate()

    def _guard(
        self, state: TaskState, configs: Sequence[KernelConfig], results: list[Result]
    ) -> list[Result]:
        """The drift guard: every DRIFT_EVERY batches of a task, its analytical default is
        measured again; if it moved more than DRIFT_LIMIT from its first measurement, the
        machine changed under the batch (load, clock), which is marked suspect and measured
        again. The re-measurements are not trials of the budget; the ratios go to the
        report."""
        if not self.drift_guard or state.batches % DRIFT_EVERY or state.first_default is None:
            return results
        (check,) = self.runner.run([Candidate(state.task, state.task.default)])
        if not check.ok:
            return results
        ratio = check.seconds / state.first_default
        state.drift.append(ratio)
        if abs(ratio - 1) <= DRIFT_LIMIT:
            return results
        state.suspect += 1
        return self.runner.run([Candidate(state.task, c) for c in configs])

    def _step(self, state: TaskState) -> None:
        room = min(self.batch, self.trials - self.measured, state.cap - state.trials)
        if room <= 0:
            state.converged = True
            return
        configs = state.propose(room, self.strategy, self.rng, self.beam)
        if not configs:
            state.converged = True
            return
        results = self.runner.run([Candidate(state.task, c) for c in configs])
        self.measured += len(configs)
        state.batches += 1
        results = self._guard(state, configs, results)
        state.update(configs, results, early_stop=self.strategy == "seeded-beam")
        self.on_results(state, configs, results)
        if self.on_round is not None:
            elapsed = time.perf_counter() - self.started
            self.on_round(Progress(self.measured, elapsed, self.states, self.whole_model))
