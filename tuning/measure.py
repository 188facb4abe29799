"""Measuring candidates (TUNING.md section 6): build, validate against the nn reference, time.

`LocalRunner` sends each candidate to a child process (one measurement slot, pinned to its
cores with `os.sched_setaffinity`): a segfault or a hang kills only the child, which is
recorded as `crash` or `timeout` and restarted. A build (the whole model compiled and
validated) may take `build_timeout_s`; the child then says so (`notify_built`) and the run
gets max(`min_timeout_s`, 10 x the task's best): on a loaded machine a slow compile is not
reported as a hung kernel. The child compiles the model with the candidate's config forced on
its task (every other kernel keeps its default), checks every output against the reference
(`wrong_result` otherwise: a code-generation bug, reported with the pipeline that reproduces
it), then times it: one warm-up call, `number` calls per repeat calibrated to last at least
`repeat_s`, `repeats` repeats; the fastest repeat mean decides (`Result.seconds`), the
median and IQR are kept.
`confirm` re-measures a task's finalists in one child: each is built and validated once, then
their repeats are timed interleaved (ABCABC...), so a load change on the machine falls on all
of them alike (TUNING.md section 6, "final confirmation").
`FakeRunner` returns the analytical estimate times seeded noise: search and scheduling tests
run on it without timing.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any, Protocol

import numpy as np

from .config import KernelConfig, sha256_key
from .kernels import Kernel
from .records import Result
from .space import Space
from .tasks import Task

REPEATS = 25
REPEAT_S = 0.002
"""A repeat lasts at least 2 ms, shorter than a scheduler time slice: on a loaded machine
some repeats run uncontended, and the fastest one decides; 20 ms repeats (the design's) were
all stretched alike at a load of 6 on 2 cores."""

TOLERANCE = 1e-4
"""Largest accepted max |out - reference| / max(|reference|, 1)."""


@dataclass(frozen=True)
class Candidate:
    task: Task
    config: KernelConfig


@dataclass(frozen=True)
class MeasureRequest:
    model: bytes
    target: str
    threads: int
    task_key: str
    config: KernelConfig
    inputs: Sequence[np.ndarray]
    reference: Sequence[np.ndarray]
    repeats: int = REPEATS
    repeat_s: float = REPEAT_S


@dataclass(frozen=True)
class ConfirmRequest:
    """The finalists of one task, re-measured interleaved in one child process."""

    model: bytes
    target: str
    threads: int
    task_key: str
    configs: Sequence[KernelConfig]
    inputs: Sequence[np.ndarray]
    reference: Sequence[np.ndarray]
    repeats: int = 2 * REPEATS
    repeat_s: float = REPEAT_S


class RequestSource(Protocol):
    """What every request of one tuning run shares: the runners' own fields."""

    model: bytes
    target: str
    threads: int
    inputs: Sequence[np.ndarray]
    reference: Sequence[np.ndarray]
    repeats: int
    repeat_s: float
    kernels: Mapping[str, Kernel]
    """The tasks measured alone, by key (tuning/kernels.py); the others are measured as the
    whole model."""


def _subject(source: RequestSource, task_key: str) -> Kernel:
    """What a candidate of the task compiles: its standalone kernel, else the whole model."""
    kernel = source.kernels.get(task_key)
    return kernel or Kernel(source.model, source.inputs, source.reference)


def measure_request(source: RequestSource, candidate: Candidate) -> MeasureRequest:
    subject = _subject(source, candidate.task.key)
    return MeasureRequest(
        subject.model,
        source.target,
        source.threads,
        candidate.task.key,
        candidate.config,
        subject.inputs,
        subject.reference,
        source.repeats,
        source.repeat_s,
    )


def confirm_request(
    source: RequestSource, task_key: str, configs: Sequence[KernelConfig], repeats: int
) -> ConfirmRequest:
    """The finalists of one task, each timed `repeats` times interleaved."""
    subject = _subject(source, task_key)
    return ConfirmRequest(
        subject.model,
        source.target,
        source.threads,
        task_key,
        tuple(configs),
        subject.inputs,
        subject.reference,
        repeats,
        source.repeat_s,
    )


def _build_and_validate(
    model_bytes: bytes,
    target_tag: str,
    threads: int,
    task_key: str,
    config: KernelConfig,
    inputs: Sequence[np.ndarray],
    reference: Sequence[np.ndarray],
) -> tuple[Callable[[], object] | None, Result]:
    """The compiled candidate (None on failure) and a Result holding its build time or its
    failure."""
    import onnx

    from ..compiler import compile
    from ..errors import TerraceError
    from ..targets import get_target
    from .apply import with_config

    started = time.perf_counter()
    target = with_config(get_target(target_tag), task_key, config)
    model = onnx.load_from_string(model_bytes)
    try:
        compiled = compile(model, target, threads, cache=False)
    except TerraceError as error:
        return None, Result(None, error="build_error", detail=str(error))
    build_s = time.perf_counter() - started
    outputs = compiled(*inputs)
    for position, (got, want) in enumerate(zip(outputs, reference, strict=True)):
        scale = max(float(np.max(np.abs(want))) if want.size else 0.0, 1.0)
        error = float(np.max(np.abs(got - want))) if want.size else 0.0
        if got.shape != want.shape or not error <= TOLERANCE * scale:
            detail = f"output {position}: max |diff| {error:.3g} over scale {scale:.3g}"
            return None, Result(None, build_s=build_s, error="wrong_result", detail=detail)
    notify_built()
    return (lambda: compiled(*inputs)), Result(None, build_s=build_s, validated=True)


def _timed(built: Result, repeats: Sequence[float]) -> Result:
    first, third = np.percentile(repeats, [25, 75])
    return Result(
        median_s=float(np.median(repeats)),
        min_s=min(repeats),
        repeats_s=tuple(repeats),
        iqr_s=float(third - first),
        build_s=built.build_s,
        validated=True,
    )


def measure_candidate(request: MeasureRequest) -> Result:
    """Build, validate, time (runs in the child process)."""
    call, built = _build_and_validate(
        request.model,
        request.target,
        request.threads,
        request.task_key,
        request.config,
        request.inputs,
        request.reference,
    )
    if call is None:
        return built
    return _timed(built, time_calls(call, request.repeats, request.repeat_s))


def confirm_candidates(request: ConfirmRequest) -> list[Result]:
    """Build and validate every finalist, then time their repeats interleaved: one repeat of
    each in turn, `repeats` times (runs in the child process)."""
    built = [
        _build_and_validate(
            request.model,
            request.target,
            request.threads,
            request.task_key,
            config,
            request.inputs,
            request.reference,
        )
        for config in request.configs
    ]
    ready = [(position, call) for position, (call, _) in enumerate(built) if call is not None]
    numbers = {position: _calibrate(call, request.repeat_s) for position, call in ready}
    repeats: dict[int, list[float]] = {position: [] for position, _ in ready}
    for _ in range(request.repeats):
        for position, call in ready:
            started = time.perf_counter()
            for _ in range(numbers[position]):
                call()
            repeats[position].append((time.perf_counter() - started) / numbers[position])
    return [
        _timed(result, repeats[position]) if call is not None else result
        for position, (call, result) in enumerate(built)
    ]


def _calibrate(call: Callable[[], object], repeat_s: float) -> int:
    """Calls per repeat so that one repeat lasts at least `repeat_s` (after a warm-up call)."""
    started = time.perf_counter()
    call()
    return max(1, int(repeat_s / max(time.perf_counter() - started, 1e-7)))


def time_calls(call: Callable[[], object], repeats: int, repeat_s: float) -> list[float]:
    """Seconds per call, one mean per repeat, after a warm-up call."""
    number = _calibrate(call, repeat_s)
    means: list[float] = []
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(number):
            call()
        means.append((time.perf_counter() - started) / number)
    return means


BUILT = "built"
"""What the child sends when a candidate is built and validated: the parent then waits for
the run alone, with the run's timeout (a build's time is the machine's load, not a hang)."""

_PARENT: list[Connection] = []


def notify_built() -> None:
    """Tells the parent that the build is over (in a measuring child; elsewhere nothing)."""
    if _PARENT:
        _PARENT[0].send(BUILT)


def _serve(connection: Connection, cores: Sequence[int], measure: Callable[..., Result]) -> None:
    if cores:
        os.sched_setaffinity(0, set(cores))
    _PARENT.append(connection)
    while True:
        request = connection.recv()
        if request is None:
            return
        try:
            if isinstance(request, ConfirmRequest):
                result = confirm_candidates(request)
            else:
                result = measure(request)
        except Exception as error:  # a failure of the candidate's code, not of the tuner
            result = Result(None, error="run_error", detail=f"{type(error).__name__}: {error}")
        connection.send(result)


@dataclass
class _Slot:
    """One child process that measures, restarted after a crash or a hang."""

    cores: Sequence[int]
    measure: Callable[..., Result]
    process: Any = None
    connection: Any = None

    def start(self) -> None:
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        self.process = context.Process(
            target=_serve, args=(child, list(self.cores), self.measure), daemon=True
        )
        self.process.start()
        self.connection = parent

    def run(
        self, request: MeasureRequest | ConfirmRequest, timeout_s: float, build_timeout_s: float
    ) -> Any:
        """The child's answer; a build gets `build_timeout_s`, and after each build the run
        gets `timeout_s` (a confirmation builds several candidates: each restarts the wait)."""
        if self.connection is None or not self.process.is_alive():  # first use, or died
            self.start()
        connection = self.connection
        assert connection is not None
        try:
            connection.send(request)
            wait, phase = build_timeout_s, "building"
            while True:
                if not connection.poll(wait):
                    self.stop()
                    detail = f"{phase} took over {wait:.1f} s"
                    return Result(None, error="timeout", detail=detail)
                answer = connection.recv()
                if answer != BUILT:
                    return answer
                # the next message: another build (a confirmation) or the run's result
                wait, phase = build_timeout_s + timeout_s, "running"
                if isinstance(request, MeasureRequest):
                    wait = timeout_s
        except (EOFError, ConnectionError):
            code = self.process.exitcode if self.process is not None else None
            self.stop()
            return Result(None, error="crash", detail=f"the measuring process died (exit {code})")

    def stop(self) -> None:
        if self.process is not None and self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.process, self.connection = None, None


@dataclass
class LocalRunner:
    """Candidates measured one at a time in a pinned child process (module docstring)."""

    model: bytes
    target: str
    threads: int
    inputs: Sequence[np.ndarray]
    reference: Sequence[np.ndarray]
    cores: Sequence[int] = ()
    min_timeout_s: float = 60.0
    build_timeout_s: float = 600.0
    """A build (the whole model compiled, then validated) slower than this is a hang."""
    repeats: int = REPEATS
    repeat_s: float = REPEAT_S
    measure: Callable[..., Result] = measure_candidate
    best_s: dict[str, float] = field(default_factory=dict[str, float])
    kernels: Mapping[str, Kernel] = field(default_factory=dict[str, Kernel])

    def __post_init__(self) -> None:
        cores = list(self.cores) or sorted(os.sched_getaffinity(0))[-self.threads :]
        self._slot = _Slot(cores, self.measure)

    def run(self, batch: Sequence[Candidate]) -> list[Result]:
        results: list[Result] = []
        for candidate in batch:
            best = self.best_s.get(candidate.task.key)
            timeout = max(self.min_timeout_s, 10 * best) if best else self.min_timeout_s
            request = measure_request(self, candidate)
            result = self._slot.run(request, timeout, self.build_timeout_s)
            if result.ok:
                self.best_s[candidate.task.key] = min(best or result.seconds, result.seconds)
            results.append(result)
        return results

    def confirm(self, task: Task, configs: Sequence[KernelConfig], repeats: int) -> list[Result]:
        """The finalists re-measured interleaved (module docstring); one failure of the child
        (crash, hang) fails them all."""
        best = self.best_s.get(task.key)
        # after the last build, every finalist is timed `repeats` times
        budget = self.min_timeout_s + len(configs) * repeats * 10 * max(best or 0, self.repeat_s)
        request = confirm_request(self, task.key, configs, repeats)
        answer = self._slot.run(request, budget, self.build_timeout_s)
        if isinstance(answer, Result):
            return [answer] * len(configs)
        return list(answer)

    def close(self) -> None:
        self._slot.stop()


@dataclass
class FakeRunner:
    """Deterministic synthetic timings: `time_of(task, config)` (the analytical estimate by
    default) times 1 + `noise` x a number drawn from the sha256 of the candidate and `seed`."""

    spaces: dict[str, Space]
    seed: int = 0
    noise: float = 0.02
    time_of: Callable[[Task, KernelConfig], float] | None = None
    measured: list[Candidate] = field(default_factory=list[Candidate])

    def run(self, batch: Sequence[Candidate]) -> list[Result]:
        results: list[Result] = []
        for candidate in batch:
            self.measured.append(candidate)
            task, config = candidate.task, candidate.config
            if self.time_of is not None:
                base = self.time_of(task, config)
            else:
                base = self.spaces[task.key].estimate(config)
            digest = sha256_key([task.key, config.to_json(), self.seed])
            jitter = int(digest[-8:], 16) / 0xFFFFFFFF
            seconds = base * (1 + self.noise * jitter)
            results.append(Result(seconds, seconds, (seconds,), 0.0, 0.0, validated=True))
        return results

    def confirm(self, task: Task, configs: Sequence[KernelConfig], repeats: int) -> list[Result]:
        """The same deterministic times again (a fake re-measurement)."""
        return self.run([Candidate(task, config) for config in configs])

    def close(self) -> None:
        return None


def fake_timer(request: MeasureRequest) -> Result:
    """A deterministic stand-in for `measure_candidate` (tests of the runners): the time is
    drawn from the sha256 of (task, config), the call sleeps `repeat_s`, nothing is built."""
    digest = sha256_key([request.task_key, request.config.to_json()])
    seconds = 1e-3 * (1 + int(digest[-6:], 16) / 0xFFFFFF)
    time.sleep(request.repeat_s)
    return Result(seconds, seconds, (seconds,), 0.0, 0.0, validated=True)
