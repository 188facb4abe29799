"""Runs conformance cases through `terrace.backend`, in worker processes, each case under a
deadline.

Each worker is a fresh (spawned) process that compiles and runs one case at a time through
`TerraceBackend.prepare` with a shared disk cache, so a rerun of an unchanged Terrace loads
every compiled case instead of compiling it. The parent hands out cases, waits for answers,
and kills a worker whose case runs past its deadline (native code cannot be interrupted from
Python) or replaces one that died; a worker retires after `RECYCLE_AFTER` cases, so that
native engines and memory left by earlier cases cannot pile up.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import signal
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.context import SpawnContext
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..runtime.cache import default_cache_dir
from .cases import ConformanceCase
from .library_dependent import onnxruntime_disagrees, rejudge
from .outcomes import (
    CRASH,
    PASS,
    TIMEOUT,
    WRONG_RESULT,
    Outcome,
    compare,
    error_reason,
    error_status,
)

if TYPE_CHECKING:  # the type checker may assume Windows, whose pipes have their own class
    from multiprocessing.connection import PipeConnection

    from ..runtime.model import CompiledModel

DEFAULT_TIMEOUT = 60.0
"""Seconds a node case may take, compile and run together; model cases get MODEL_TIMEOUT_SCALE
times as long."""

MODEL_TIMEOUT_SCALE = 5
RECYCLE_AFTER = 300
PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>

Progress = Callable[[Outcome, int, int], None]


def default_cache() -> Path:
    """The suite's own compile cache: a folder of the Terrace cache, kept apart from models a
    user compiles."""
    return default_cache_dir() / "conformance"


def run_case(case: ConformanceCase, cache: bool | str | Path, target: str | None = None) -> Outcome:
    """Compiles and runs `case` for `target` (None: this machine) in this process and says how
    it went."""
    from ..backend import TerraceBackend

    started, started_cpu = time.perf_counter(), time.process_time()
    compile_seconds, from_cache = 0.0, False
    model = None
    note = ""
    folded, onnx_folded_ops = True, set[str]()
    try:
        loaded = case.load()
        model = loaded.model
        rep = TerraceBackend.prepare(loaded.model, "CPU", cache=cache, target=target)
        difference = ""
        for inputs, expected in loaded.data_sets:
            with np.errstate(all="ignore"):
                actual = list(rep.run(inputs))
            if rep.model is not None:  # a specializing rep compiles on its first run
                stats = rep.model.stats
                compile_seconds, from_cache = stats.total_seconds, stats.from_cache
                folded = folded and _all_folded(rep.model)
                onnx_folded_ops.update(stats.onnx_folded_ops)
            rejudged = rejudge(loaded.model, inputs, expected)
            if rejudged is not None:
                expected, note = rejudged.expected, rejudged.note
                difference = onnxruntime_disagrees(loaded.model, inputs, expected)
                if difference:
                    difference = f"judged by Terrace's rules and onnxruntime: {difference}"
                    break
            difference = compare(expected, actual, case.rtol, case.atol)
            if difference:
                break
        status, reason = (WRONG_RESULT, difference) if difference else (PASS, "")
    except Exception as error:  # every failure is a finding; classify it, never stop the run
        reason = error_reason(error, case.op, model)
        status = error_status(reason)
        folded = False
    return Outcome(
        case.name,
        case.kind,
        case.op,
        case.opset,
        status,
        reason,
        seconds=time.perf_counter() - started,
        compile_seconds=compile_seconds,
        cpu_seconds=time.process_time() - started_cpu,
        from_cache=from_cache,
        note=note,
        folded=folded,
        onnx_folded_ops=tuple(sorted(onnx_folded_ops)),
    )


def _all_folded(model: CompiledModel) -> bool:
    """Whether the importer folded every output of `model` to a constant: compiled code
    computed none of them."""
    folded = set(model.stats.folded_outputs)
    return bool(model.outputs) and all(spec.name in folded for spec in model.outputs)


def run_cases(
    cases: Sequence[ConformanceCase],
    jobs: int = 2,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    cache: bool | str | Path = True,
    progress: Progress | None = None,
    target: str | None = None,
) -> list[Outcome]:
    """Every case's outcome, in the order of `cases`, from `jobs` worker processes compiling
    for `target` (None: this machine)."""
    if cache is True:
        cache = default_cache()
    pool = _Pool(max(1, jobs), cache, timeout, progress, target)
    return pool.run(cases)


# -- the worker process ------------------------------------------------------------------------


def _worker_main(
    connection: Connection | PipeConnection, cache: bool | str | Path, target: str | None
) -> None:
    _die_with_parent()
    warnings.simplefilter("ignore")
    while True:
        try:
            case = connection.recv()
        except EOFError:
            return
        if case is None:
            return
        connection.send(run_case(case, cache, target))


def _die_with_parent() -> None:
    """Asks Linux to kill this worker when its parent dies, so that an interrupted run leaves
    no compile going on (elsewhere a worker ends at its next answer, on the broken pipe)."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


# -- the parent's side -----------------------------------------------------------------------


@dataclass
class _Worker:
    process: BaseProcess
    connection: Connection | PipeConnection
    case_index: int = -1
    deadline: float = 0.0
    cases_run: int = 0


@dataclass
class _Pool:
    jobs: int
    cache: bool | str | Path
    timeout: float
    progress: Progress | None
    target: str | None = None
    workers: list[_Worker] = field(default_factory=list[_Worker])

    def run(self, cases: Sequence[ConformanceCase]) -> list[Outcome]:
        context = multiprocessing.get_context("spawn")
        outcomes: list[Outcome | None] = [None] * len(cases)
        pending = list(range(len(cases)))
        pending.reverse()  # popped from the end: in order
        done = 0
        try:
            while done < len(cases):
                self._start_work(context, cases, pending)
                for worker, outcome in self._collect(cases):
                    outcomes[worker.case_index] = outcome
                    worker.case_index = -1
                    done += 1
                    if self.progress is not None:
                        self.progress(outcome, done, len(cases))
        finally:
            for worker in self.workers:
                _stop(worker)
        return [outcome for outcome in outcomes if outcome is not None]

    def _start_work(
        self, context: SpawnContext, cases: Sequence[ConformanceCase], pending: list[int]
    ) -> None:
        for worker in [
            w for w in self.workers if w.case_index < 0 and w.cases_run >= RECYCLE_AFTER
        ]:
            _stop(worker)
        self.workers = [w for w in self.workers if w.process.is_alive() or w.case_index >= 0]
        while len(self.workers) < self.jobs and pending:
            self.workers.append(_spawn(context, self.cache, self.target))
        for worker in self.workers:
            if worker.case_index >= 0 or not pending:
                continue
            index = pending.pop()
            case = cases[index]
            scale = 1 if case.kind == "node" else MODEL_TIMEOUT_SCALE
            worker.case_index, worker.cases_run = index, worker.cases_run + 1
            worker.deadline = time.monotonic() + self.timeout * scale
            worker.connection.send(case)

    def _collect(self, cases: Sequence[ConformanceCase]) -> list[tuple[_Worker, Outcome]]:
        """Waits for answers (or the nearest deadline) and returns the finished cases."""
        busy = [w for w in self.workers if w.case_index >= 0]
        nearest = min(w.deadline for w in busy)
        ready = wait([w.connection for w in busy], timeout=max(0.0, nearest - time.monotonic()))
        finished: list[tuple[_Worker, Outcome]] = []
        for worker in busy:
            case = cases[worker.case_index]
            if worker.connection in ready:
                finished.append((worker, self._answer(worker, case)))
                continue
            if time.monotonic() >= worker.deadline:
                _kill(worker)
                seconds = self.timeout * (1 if case.kind == "node" else MODEL_TIMEOUT_SCALE)
                reason = f"timeout: {case.op}: over {seconds:g} s"
                finished.append((worker, _failed(case, TIMEOUT, reason, seconds)))
        return finished

    def _answer(self, worker: _Worker, case: ConformanceCase) -> Outcome:
        try:
            outcome: Outcome = worker.connection.recv()
        except (EOFError, ConnectionResetError):
            worker.process.join(5)
            code = worker.process.exitcode
            _kill(worker)
            return _failed(case, CRASH, f"crash: {case.op}: worker died (exit code {code})", 0.0)
        return outcome


def _spawn(context: SpawnContext, cache: bool | str | Path, target: str | None) -> _Worker:
    parent_end, child_end = context.Pipe()
    arguments = (child_end, cache, target)
    process = context.Process(target=_worker_main, args=arguments, daemon=True)
    process.start()
    child_end.close()
    return _Worker(process, parent_end)


def _stop(worker: _Worker) -> None:
    if worker.process.is_alive():
        with contextlib.suppress(OSError):  # a worker that died meanwhile needs no goodbye
            worker.connection.send(None)
        worker.process.join(5)
    _kill(worker)


def _kill(worker: _Worker) -> None:
    if worker.process.is_alive():
        worker.process.kill()
        worker.process.join(5)
    worker.connection.close()


def _failed(case: ConformanceCase, status: str, reason: str, seconds: float) -> Outcome:
    return Outcome(case.name, case.kind, case.op, case.opset, status, reason, seconds)
