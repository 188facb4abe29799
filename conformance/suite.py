"""One whole conformance run: select the cases, run them, time it."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import onnx

from ..targets import get_target
from .cases import KINDS, ConformanceCase, collect
from .outcomes import Outcome
from .report import RunInfo
from .runner import DEFAULT_TIMEOUT, Progress, run_cases


@dataclass(frozen=True)
class SuiteRun:
    outcomes: list[Outcome]
    info: RunInfo


def select(kinds: Sequence[str] = KINDS, name_filter: str = "") -> list[ConformanceCase]:
    """The cases of `kinds` whose names match the regular expression `name_filter`."""
    unknown = [kind for kind in kinds if kind not in KINDS]
    if unknown:
        raise ValueError(f"unknown kinds {', '.join(unknown)}; kinds: {', '.join(KINDS)}")
    pattern = re.compile(name_filter)
    return [case for case in collect(kinds) if pattern.search(case.name)]


def run_suite(
    kinds: Sequence[str] = KINDS,
    name_filter: str = "",
    *,
    jobs: int = 2,
    timeout: float = DEFAULT_TIMEOUT,
    cache: bool | str | Path = True,
    progress: Progress | None = None,
    target: str | None = None,
) -> SuiteRun:
    """Runs the selected cases for `target` (None: this machine); the seconds include
    collecting them."""
    started = time.perf_counter()
    cases = select(kinds, name_filter)
    if target is not None:
        get_target(target)  # an unknown tag is one error, not one per case
    outcomes = run_cases(
        cases, jobs, timeout=timeout, cache=cache, progress=progress, target=target
    )
    seconds = time.perf_counter() - started
    return SuiteRun(outcomes, RunInfo(jobs, seconds, name_filter, onnx.__version__, tuple(kinds)))
