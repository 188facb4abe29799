"""onnx's own backend test suite, run against `terrace.backend`.

`run_suite` collects the node cases onnx generates and the model tests its wheel ships
(`cases`), runs them in worker processes with a shared compile cache (`runner`), classifies
each outcome (`outcomes`), compares the failures with the checked-in expected-failure list
(`expected`) and summarizes per op (`report`). `terrace conformance` is the command line.
"""

from __future__ import annotations

from .cases import KINDS, ConformanceCase, collect
from .expected import EXPECTED_FAILURES, Verdict, judge
from .outcomes import Outcome
from .suite import SuiteRun, run_suite, select

__all__ = [
    "EXPECTED_FAILURES",
    "KINDS",
    "ConformanceCase",
    "Outcome",
    "SuiteRun",
    "Verdict",
    "collect",
    "judge",
    "run_suite",
    "select",
]
