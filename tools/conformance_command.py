"""`terrace conformance`: onnx's backend test suite against Terrace, per-op results, the
expected-failure list and docs/conformance.md.

`register(commands)` adds the subcommand to the `terrace` command line's subparsers; `main`
runs it on its own (`python -m terrace.conformance`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..conformance import expected, report
from ..conformance.cases import KINDS
from ..conformance.outcomes import LISTABLE, PASS, Outcome
from ..conformance.runner import DEFAULT_TIMEOUT, Progress, default_cache
from ..conformance.suite import run_suite
from .progress import ProgressLine

DESCRIPTION = """\
Run onnx's own backend test cases against terrace.backend (for this machine, or --target): the
node cases onnx generates and the model tests its wheel ships (pytorch-converted,
pytorch-operator, simple, and the light models as "real"). Prints pass and fail counts per op
and opset and the failure reasons by count, then compares the failures with the expected-failure
list: an unlisted failure, a listed case that now passes, a changed reason, a wrong result, a
crash or a timeout makes it exit 1.
"""


def register(commands: Any) -> argparse.ArgumentParser:
    """Adds `conformance` to an argparse subparsers object; returns its parser."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "conformance",
        help="run onnx's backend test suite against Terrace",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    parser.set_defaults(run=run)
    return parser


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--update-expected",
        action="store_true",
        help="rewrite the expected-failure list from this run (entries of cases not run stay)",
    )
    parser.add_argument("--jobs", "-j", type=int, default=2, help="worker processes (2)")
    parser.add_argument(
        "--filter", default="", metavar="PATTERN", help="only cases whose names match this regex"
    )
    parser.add_argument(
        "--kind",
        action="append",
        choices=KINDS,
        help="only cases of this kind (repeatable; all by default)",
    )
    parser.add_argument("--markdown", type=Path, help="write the report here (docs/conformance.md)")
    parser.add_argument(
        "--expected",
        type=Path,
        default=expected.EXPECTED_FAILURES,
        help="the expected-failure list (tests/conformance_expected_failures.txt)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help=f"seconds per node case, compile and run ({DEFAULT_TIMEOUT:g}; model cases 5x)",
    )
    parser.add_argument(
        "--cache-dir", type=Path, help=f"the compile cache (default {default_cache()})"
    )
    parser.add_argument("--no-cache", action="store_true", help="compile every case afresh")
    parser.add_argument(
        "--target",
        metavar="TAG",
        help="compile the cases for this target (default: this machine; `terrace targets`)",
    )
    parser.add_argument(
        "--verbose", "-v", action="store_true", help="print every case as it finishes"
    )


def run(args: argparse.Namespace) -> int:
    cache: bool | Path = False if args.no_cache else (args.cache_dir or True)
    line = ProgressLine("terrace conformance", unit="cases", plain_every=200)
    try:
        suite = run_suite(
            args.kind or KINDS,
            args.filter,
            jobs=args.jobs,
            timeout=args.timeout,
            cache=cache,
            progress=_progress_printer(args.verbose, line),
            target=args.target,
        )
    finally:
        line.close()
    print(report.console(suite.outcomes, suite.info))
    if args.markdown is not None:
        args.markdown.write_text(report.markdown(suite.outcomes, suite.info))
        print(f"wrote {args.markdown}")
    if args.update_expected:
        count = expected.update(suite.outcomes, args.expected)
        print(f"wrote {args.expected}: {count} expected failures")
    verdict = expected.judge(suite.outcomes, expected.read(args.expected))
    if verdict.ok:
        print("conformance: every failure is listed and every listed case fails as listed")
        return 0
    print(verdict.report(), file=sys.stderr)
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="terrace conformance",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    try:
        return run(parser.parse_args(argv))
    except KeyboardInterrupt:
        print("terrace conformance: interrupted", file=sys.stderr)
        return 130


def _progress_printer(verbose: bool, line: ProgressLine) -> Progress:
    """Each case moves the progress line; failures (every case with --verbose) stay above it."""

    def show(outcome: Outcome, done: int, total: int) -> None:
        line.total = total
        if verbose or outcome.status not in (PASS, *LISTABLE):
            detail = f": {outcome.reason}" if outcome.reason else ""
            line.note(f"[{done}/{total}] {outcome.status} {outcome.name}{detail}")
        line.update(done)

    return show
