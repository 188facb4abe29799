"""The front door's property, checked on mutated ONNX models (`onnx_mutations.py`): importing
ends in one one-line `TerraceError` or a verified module, never another exception, a hang or a
crash; through the CLI, exit 0 or 1 with one `terrace: error:` line; compiled and run, the outputs
match onnxruntime's.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import numpy as np
import onnx

from ..errors import TerraceError
from ..frontend.onnx import ImportedModel, import_model
from .onnx_mutations import Mutant


class Deadline(BaseException):
    """An import ran past its time budget (a BaseException, so no `except Exception` eats it)."""


@contextmanager
def deadline(seconds: float) -> Generator[None]:
    """Raises Deadline in the main thread after `seconds` (SIGALRM; a no-op elsewhere)."""

    def expire(signum: int, frame: FrameType | None) -> None:
        raise Deadline(f"still running after {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


FAILURES = ("failure", "crash", "hang")
"""Outcome kinds that break the property: an exception other than a one-line TerraceError (or a
deadline passed in Python code), and, when the check runs in a child process
(`onnx_isolation.py`), a child that died or stopped answering."""


@dataclass(frozen=True)
class Outcome:
    """What one check saw: `accepted`, `rejected` (a clean TerraceError), or one of FAILURES."""

    kind: str
    detail: str

    @property
    def failed(self) -> bool:
        return self.kind in FAILURES


def _failure(error: BaseException) -> Outcome:
    frames = traceback.extract_tb(error.__traceback__)
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    text = str(error).strip().splitlines()
    return Outcome("failure", f"{type(error).__name__}{where}: {text[0] if text else ''}")


def _check_message(error: TerraceError) -> Outcome:
    message = str(error)
    if not message.strip() or "\n" in message:
        return Outcome("failure", f"{type(error).__name__} is not one line: {message!r}")
    return Outcome("rejected", message)


def import_mutant(mutant: Mutant, seconds: float = 20.0) -> tuple[Outcome, ImportedModel | None]:
    """Imports the mutant (bytes through a temporary file) within `seconds`."""
    with tempfile.TemporaryDirectory() as folder:
        source: Path | onnx.ModelProto
        if mutant.data is not None:
            source = Path(folder) / "mutant.onnx"
            source.write_bytes(mutant.data)
        else:
            assert mutant.model is not None
            source = mutant.model
        try:
            with deadline(seconds):
                imported = import_model(source)
                imported.module.verify()
        except TerraceError as error:
            return _check_message(error), None
        except Exception as error:  # the property: nothing but a TerraceError may escape
            return _failure(error), None
        except (Deadline, MemoryError, RecursionError) as error:
            return _failure(error), None
    return Outcome("accepted", f"{len(imported.inputs)} inputs"), imported


def check_import(mutant: Mutant, seconds: float = 20.0) -> Outcome:
    return import_mutant(mutant, seconds)[0]


def check_cli(mutant: Mutant, seconds: float = 60.0) -> Outcome:
    """`python -m terrace.tools.cli import FILE`: exit 0, or 1 with one `terrace: error:` line."""
    proto = mutant.model
    data = mutant.data if mutant.data is not None else (proto.SerializeToString() if proto else b"")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "mutant.onnx"
        path.write_bytes(data)
        command = [
            sys.executable,
            "-m",
            "terrace.tools.cli",
            "import",
            str(path),
            "-o",
            "/dev/null",
        ]
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=seconds)
        except subprocess.TimeoutExpired:
            return Outcome("failure", f"the CLI ran past {seconds:g} s")
    lines = result.stderr.strip().splitlines()
    if result.returncode == 0 and not lines:
        return Outcome("accepted", "exit 0")
    if result.returncode != 1 or "Traceback" in result.stderr or len(lines) != 1:
        return Outcome("failure", f"exit {result.returncode}, stderr {result.stderr[-600:]!r}")
    if not lines[0].startswith("terrace: error: "):
        return Outcome("failure", f"unexpected stderr line {lines[0]!r}")
    return Outcome("rejected", lines[0])


def random_inputs(imported: ImportedModel, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    feeds: dict[str, np.ndarray] = {}
    for spec in imported.inputs:
        if spec.dtype.kind == "b":
            feeds[spec.name] = rng.integers(0, 2, spec.shape).astype(spec.dtype)
        elif spec.dtype.kind in "iu":
            feeds[spec.name] = rng.integers(0, 3, spec.shape).astype(spec.dtype)
        else:
            feeds[spec.name] = rng.uniform(-1, 1, spec.shape).astype(spec.dtype)
    return feeds


def check_compile(mutant: Mutant, seconds: float = 120.0) -> Outcome:
    """Import, compile and run; when it runs, the outputs match onnxruntime's.

    When onnxruntime refuses a model that Terrace compiles, the model must pass onnx's full
    check (strict shape inference included): then it is a valid model that onnxruntime cannot
    run (a kernel or limit of its own), which is no fault of Terrace's. A model that fails the
    full check is one Terrace should have refused too."""
    from .. import compile as compile_model

    outcome, imported = import_mutant(mutant, seconds)
    proto = mutant.as_proto()
    if imported is None or proto is None:
        return outcome
    feeds = random_inputs(imported)
    try:
        with deadline(seconds):
            compiled = compile_model(proto, cache=False)
            actual = compiled.run(feeds)
    except TerraceError as error:
        return _check_message(error)
    except Exception as error:  # the property: nothing but a TerraceError may escape
        return _failure(error)
    except (Deadline, MemoryError, RecursionError) as error:
        return _failure(error)
    expected = _onnxruntime_outputs(proto, feeds)
    if isinstance(expected, str):
        return _judge_refused_by_onnxruntime(proto, expected)
    return _compare(actual, expected)


def _onnxruntime_outputs(
    model: onnx.ModelProto, feeds: dict[str, np.ndarray]
) -> list[np.ndarray] | str:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 4
    try:
        session = ort.InferenceSession(
            model.SerializeToString(), options, providers=["CPUExecutionProvider"]
        )
        return [np.asarray(r) for r in session.run(None, feeds)]
    except Exception as error:  # onnxruntime's own refusals come in several types
        return f"onnxruntime refuses it: {str(error).strip()[:200]}"


def _onnx_full_check(model: onnx.ModelProto) -> None:
    """onnx's checker and strict shape inference (`check_model(full_check=True)`), except that
    graph outputs may leave their shape out: onnxruntime takes such models (their shapes come
    from inference), and so does Terrace, but onnx's checker asks for the field."""
    placeheld = onnx.ModelProto()
    placeheld.CopyFrom(model)
    for value in placeheld.graph.output:
        if value.type.HasField("tensor_type") and not value.type.tensor_type.HasField("shape"):
            value.type.tensor_type.shape.SetInParent()
    onnx.checker.check_model(placeheld)
    onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)


def _judge_refused_by_onnxruntime(model: onnx.ModelProto, why: str) -> Outcome:
    try:
        _onnx_full_check(model)
    except Exception as error:  # checker and shape-inference errors alike
        text = str(error).strip().splitlines()
        return Outcome("failure", f"accepted an invalid model ({text[0] if text else ''}); {why}")
    return Outcome("accepted", f"valid per onnx's full check; {why}")


def _compare(actual: Sequence[np.ndarray], expected: Sequence[np.ndarray]) -> Outcome:
    if len(actual) != len(expected):
        return Outcome("failure", f"{len(actual)} outputs, onnxruntime gives {len(expected)}")
    for index, (ours, theirs) in enumerate(zip(actual, expected, strict=True)):
        if ours.shape != theirs.shape:
            return Outcome("failure", f"output {index}: shape {ours.shape} vs {theirs.shape}")
        if theirs.dtype.kind not in "fc":
            if not np.array_equal(ours, theirs):
                return Outcome("failure", f"output {index}: values differ from onnxruntime")
            continue
        scale = max(float(np.nanmax(np.abs(theirs), initial=0.0)), 1.0)
        if not np.allclose(ours, theirs, rtol=1e-3, atol=1e-4 * scale, equal_nan=True):
            return Outcome("failure", f"output {index}: values differ from onnxruntime")
    return Outcome("accepted", "matches onnxruntime")


CHECKS: dict[str, Callable[[Mutant, float], Outcome]] = {
    "import": check_import,
    "cli": check_cli,
    "compile": check_compile,
}
"""The checks by name, each taking a mutant and its time budget in seconds."""


@dataclass
class Campaign:
    """Counts and failures of one run over many mutants."""

    counts: dict[str, int]
    failures: list[str]
    seconds: float

    def record(self, mutant: Mutant, outcome: Outcome) -> None:
        self.counts[outcome.kind] = self.counts.get(outcome.kind, 0) + 1
        if outcome.failed:
            self.failures.append(
                f"{mutant.base}: {outcome.kind}: {outcome.detail}\n    {mutant.describe()}"
            )

    def summary(self) -> str:
        counted = ", ".join(f"{n} {k}" for k, n in sorted(self.counts.items()))
        return f"{sum(self.counts.values())} mutants in {self.seconds:.1f} s: {counted}"


def run_campaign(
    check: Callable[[Mutant], Outcome], mutated: Iterator[Mutant] | Sequence[Mutant]
) -> Campaign:
    started = time.perf_counter()
    campaign = Campaign({}, [], 0.0)
    for mutant in mutated:
        campaign.record(mutant, check(mutant))
    campaign.seconds = time.perf_counter() - started
    return campaign
