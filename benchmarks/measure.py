"""Timing one model: Terrace's cold compile, its latency per thread count, onnxruntime's on the
same inputs and thread count, numpy's matmul for the plain GEMMs, and the check that Terrace's
outputs match onnxruntime's.

Each engine runs once to warm up, then its timed runs; their count adapts to the time budget:
max(3, min(runs, budget / warm-up latency)). Terrace's and onnxruntime's runs alternate in
ROUNDS blocks, so that a change in the machine's load between blocks touches both engines.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
import onnx

from ..errors import TerraceError
from .flops import model_flops
from .memory import peak_rss

if TYPE_CHECKING:
    from ..runtime.model import CompiledModel

MIN_RUNS = 3
ROUNDS = 3
DEFAULT_TOLERANCE = 1e-4
"""Largest accepted max |terrace - onnxruntime|, relative to max |onnxruntime|."""

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Timing:
    """Seconds of each timed run of one engine."""

    seconds: tuple[float, ...]

    @property
    def median(self) -> float:
        return float(np.median(self.seconds))

    @property
    def minimum(self) -> float:
        return min(self.seconds)

    @property
    def maximum(self) -> float:
        return max(self.seconds)

    def quartiles(self) -> tuple[float, float]:
        first, third = np.percentile(self.seconds, [25, 75])
        return float(first), float(third)


@dataclass(frozen=True)
class Measurement:
    """One workload at one thread count."""

    workload: str
    threads: int
    flops: int | None
    compile_seconds: float
    """Terrace's cold compile (import, passes, LLVM, JIT load), without the disk cache."""
    terrace: Timing
    onnxruntime: Timing | None
    numpy: Timing | None
    """numpy's matmul on the GEMM's shapes (its BLAS, the same thread count); None otherwise."""
    relative_error: float
    """max |terrace - onnxruntime| / max |onnxruntime|, over every output."""
    tolerance: float = DEFAULT_TOLERANCE
    target: str = ""
    """The tag of the target Terrace compiled for."""
    compile_peak_bytes: int | None = None
    """The process's peak RSS during the cold compile (benchmarks/memory.py)."""
    run_peak_bytes: int | None = None
    """The process's peak RSS during one run of the compiled model."""

    @property
    def mismatch(self) -> bool:
        return not self.relative_error <= self.tolerance  # NaN is a mismatch too

    @property
    def ratio(self) -> float | None:
        """Terrace's median latency over onnxruntime's (above 1: Terrace is slower)."""
        if self.onnxruntime is None:
            return None
        return self.terrace.median / self.onnxruntime.median

    def gflops(self, timing: Timing | None) -> float | None:
        if timing is None or self.flops is None:
            return None
        return self.flops / timing.median / 1e9


@dataclass
class Settings:
    threads: Sequence[int] = (1,)
    targets: Sequence[str | None] = (None,)
    """Tags of the targets to compile for (None: this machine's); each must run in process."""
    runs: int = 10
    budget_seconds: float = 20.0
    """Per engine and thread count: the timed runs stop adding up past this."""
    compare: bool = True
    """Time onnxruntime too (its outputs are checked against either way)."""
    tolerance: float = DEFAULT_TOLERANCE
    seed: int = 0
    progress: Progress = field(default=lambda line: None)


def bench_model(
    name: str,
    model: onnx.ModelProto,
    settings: Settings,
    gemm_shape: tuple[int, int, int] | None = None,
) -> list[Measurement]:
    """Measures one model at each thread count of `settings` (a row per thread count)."""
    from ..compiler import compile as terrace_compile
    from ..targets import get_target

    ort = _onnxruntime()
    say = settings.progress
    flops = model_flops(model)
    measurements: list[Measurement] = []
    targets = [get_target(tag) for tag in settings.targets]
    compiled_for: dict[str, CompiledModel] = {}
    compile_seconds: dict[str, float] = {}
    compile_peaks: dict[str, int | None] = {}
    # Each cold compile is timed once; the other thread counts load it from this cache.
    with tempfile.TemporaryDirectory(prefix="terrace-bench-") as cache:
        for target in targets:
            say(f"{name}: compiling for {target.tag} (cold, without the disk cache) ...")
            started = time.perf_counter()
            compiled_for[target.tag], compile_peaks[target.tag] = peak_rss(
                partial(terrace_compile, model, target.tag, settings.threads[0], cache=cache)
            )
            compile_seconds[target.tag] = time.perf_counter() - started
            say(f"{name}: compiled for {target.tag} in {compile_seconds[target.tag]:.2f} s")
        rng = np.random.default_rng(settings.seed)
        inputs = compiled_for[targets[0].tag].inputs
        feeds = {spec.name: _random_input(rng, spec.shape, spec.dtype) for spec in inputs}
        for threads in settings.threads:
            label = f"{name} [{thread_count(threads)}]"
            session = _session(ort, model, threads)
            engines: dict[str, Callable[[], object]] = {}
            errors: dict[str, float] = {}
            run_peaks: dict[str, int | None] = {}
            expected = session.run(None, feeds)
            for target in targets:
                compiled = terrace_compile(model, target.tag, threads, cache=cache)
                say(f"{label}: checking {target.tag}'s outputs against onnxruntime ...")
                outputs, run_peaks[target.tag] = peak_rss(partial(compiled.run, feeds))
                errors[target.tag] = relative_error(outputs, expected)
                engines[_engine(target.tag)] = partial(compiled.run, feeds)
            if settings.compare:
                engines["onnxruntime"] = partial(session.run, None, feeds)
            # every engine in the same rounds, so that the machine's noise hits them alike
            timings = time_in_rounds(engines, settings, label)
            numpy_timing = None
            if gemm_shape is not None:
                say(f"{label}: timing numpy matmul ...")
                numpy_timing = numpy_matmul_timing(gemm_shape, threads, settings)
            measurements.extend(
                Measurement(
                    name,
                    threads,
                    flops,
                    compile_seconds[target.tag],
                    timings[_engine(target.tag)],
                    timings.get("onnxruntime"),
                    numpy_timing,
                    errors[target.tag],
                    settings.tolerance,
                    target.tag,
                    compile_peaks[target.tag],
                    run_peaks[target.tag],
                )
                for target in targets
            )
    return measurements


def _engine(tag: str) -> str:
    return f"terrace ({tag})"


def thread_count(threads: int) -> str:
    return f"{threads} thread" if threads == 1 else f"{threads} threads"


def relative_error(actual: Sequence[Any], expected: Sequence[Any]) -> float:
    """max |actual - expected| / max |expected| over the outputs; inf when shapes differ."""
    worst = 0.0
    for ours, theirs in zip(actual, expected, strict=True):
        ours_array = np.asarray(ours, dtype=np.float64)
        theirs_array = np.asarray(theirs, dtype=np.float64)
        if ours_array.shape != theirs_array.shape:
            return math.inf
        if theirs_array.size == 0:
            continue
        scale = max(float(np.max(np.abs(theirs_array))), float(np.finfo(np.float32).tiny))
        difference = float(np.max(np.abs(ours_array - theirs_array)))
        worst = max(worst, difference / scale) if not math.isnan(difference) else math.nan
    return worst


def run_count(warmup_seconds: float, settings: Settings) -> int:
    """max(MIN_RUNS, min(runs, budget / warm-up latency))."""
    affordable = int(settings.budget_seconds / max(warmup_seconds, 1e-9))
    return max(MIN_RUNS, min(settings.runs, affordable))


ENGINE_SWITCH_PAUSE = 0.2
"""Seconds of pause before each engine's block of runs. Both thread pools spin-wait after a
call (libgomp's and onnxruntime's); on a 2-core machine the other engine's spinning threads
take the cores the timed engine's threads need, which made 2-thread timings bimodal."""


def time_in_rounds(
    engines: dict[str, Callable[[], object]], settings: Settings, label: str
) -> dict[str, Timing]:
    """Warms each engine up once, then times its runs in ROUNDS blocks that alternate between
    the engines (each engine's runs split as evenly as they go; each block after a pause and
    one untimed call)."""
    counts: dict[str, int] = {}
    for name, call in engines.items():
        started = time.perf_counter()
        call()  # warm-up: page faults, thread pools, caches
        counts[name] = run_count(time.perf_counter() - started, settings)
    planned = ", ".join(f"{name} {count}" for name, count in counts.items())
    settings.progress(f"{label}: timed runs: {planned}, in {ROUNDS} alternating rounds ...")
    seconds: dict[str, list[float]] = {name: [] for name in engines}
    for round_index in range(ROUNDS):
        for name, call in engines.items():
            share = counts[name] // ROUNDS + (round_index < counts[name] % ROUNDS)
            time.sleep(ENGINE_SWITCH_PAUSE)
            call()  # untimed: this engine's threads wake up while the other's are parked
            for _ in range(share):
                started = time.perf_counter()
                call()
                seconds[name].append(time.perf_counter() - started)
    return {name: Timing(tuple(samples)) for name, samples in seconds.items()}


def _random_input(rng: np.random.Generator, shape: Sequence[int], dtype: np.dtype[Any]) -> Any:
    if dtype.kind == "f":
        return rng.uniform(-1, 1, shape).astype(dtype)
    if dtype.kind == "b":
        return rng.integers(0, 2, shape).astype(dtype)
    return rng.integers(0, 10, shape).astype(dtype)


def _onnxruntime() -> Any:
    try:
        import onnxruntime
    except ImportError:
        raise TerraceError(
            "terrace bench needs onnxruntime, the reference it checks outputs against and "
            "times: pip install 'terrace[bench]'"
        ) from None
    return onnxruntime


def _session(ort: Any, model: onnx.ModelProto, threads: int) -> Any:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    return ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )


# numpy's BLAS reads its thread count when numpy loads: so it is timed in a child process
# whose environment sets it (threadpoolctl is not a dependency; this works for any BLAS).
_NUMPY_SCRIPT = """\
import json, sys, time
import numpy as np
m, n, k, runs, budget = json.loads(sys.argv[1])
rng = np.random.default_rng(0)
a = rng.uniform(-1, 1, (m, k)).astype(np.float32)
b = rng.uniform(-1, 1, (k, n)).astype(np.float32)
c = np.empty((m, n), np.float32)
started = time.perf_counter()
np.matmul(a, b, out=c)
warmup = time.perf_counter() - started
count = max(3, min(runs, int(budget / max(warmup, 1e-9))))
seconds = []
for _ in range(count):
    started = time.perf_counter()
    np.matmul(a, b, out=c)
    seconds.append(time.perf_counter() - started)
print(json.dumps(seconds))
"""

BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def numpy_matmul_timing(shape: tuple[int, int, int], threads: int, settings: Settings) -> Timing:
    """numpy's float32 matmul of an [M, K] by a [K, N] matrix, in a child process whose BLAS
    has `threads` threads (OPENBLAS_NUM_THREADS and the like, set before numpy loads)."""
    m, n, k = shape
    environment = dict(os.environ) | {name: str(threads) for name in BLAS_THREAD_VARIABLES}
    arguments = json.dumps([m, n, k, settings.runs, settings.budget_seconds])
    result = subprocess.run(
        [sys.executable, "-c", _NUMPY_SCRIPT, arguments],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise TerraceError(f"timing numpy's matmul failed: {last}")
    return Timing(tuple(float(s) for s in json.loads(result.stdout)))
