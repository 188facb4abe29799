"""The benchmark runner: every bundled workload (or a subset) at each thread count, printed as a
table and written to benchmarks/RESULTS.md.

    python -m terrace.benchmarks                       # all workloads, 1 and 2 threads
    python -m terrace.benchmarks --workloads gemm1024,resnet50 --threads 1

`add_timing_arguments` and `settings_of` are shared with `terrace bench`.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from ..errors import TerraceError
from .measure import DEFAULT_TOLERANCE, Measurement, Settings, bench_model
from .plot import write_ratio_plot
from .report import console_table, machine, markdown, mismatches, uncommitted_changes
from .workloads import WORKLOADS, workload

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"

DESCRIPTION = f"""\
Runs the bundled workloads through Terrace and onnxruntime (and numpy's matmul for the GEMMs)
at each thread count, prints the table and writes it, with the machine's CPU and library
versions, to {RESULTS.name} beside this module (--output elsewhere). Slow workloads get fewer
timed runs: max(3, min(--runs, --budget / warm-up latency)).

workloads: {", ".join(WORKLOADS)} (and gemm<N> for any N)

A tree with uncommitted changes is refused (--allow-dirty measures it and says so in the
report); `make bench` runs this command with the locked environment.

examples:
  python -m terrace.benchmarks
  python -m terrace.benchmarks --workloads gemm1024,resnet50 --threads 1,2 --budget 60
"""


def add_timing_arguments(parser: argparse.ArgumentParser, default_threads: str) -> None:
    parser.add_argument(
        "--target",
        default="",
        metavar="TAG,TAG,...",
        help="targets to compile for, comma-separated, each timed in the same rounds (default: "
        "this machine's); targets whose code runs in this process only (`terrace targets`)",
    )
    parser.add_argument(
        "--threads",
        default=default_threads,
        metavar="N,N,...",
        help=f"thread counts to measure, comma-separated (default {default_threads}); "
        "Terrace's OpenMP threads and onnxruntime's intra-op threads (inter-op 1)",
    )
    parser.add_argument(
        "--runs", type=int, default=10, metavar="N", help="timed runs after one warm-up (10)"
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=20.0,
        metavar="SECONDS",
        help="time budget per engine and thread count: fewer runs (at least 3) when the "
        "warm-up run says N runs would take longer (20)",
    )
    parser.add_argument(
        "--compare",
        choices=("onnxruntime", "none"),
        default="onnxruntime",
        help="time onnxruntime as well (default); outputs are checked against it either way",
    )
    parser.add_argument(
        "--tolerance",
        type=float,
        default=DEFAULT_TOLERANCE,
        help="largest accepted max |terrace - onnxruntime| / max |onnxruntime| "
        f"({DEFAULT_TOLERANCE:g}); above it, the run reports a MISMATCH and exits 1",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the random inputs (0)")


def settings_of(args: argparse.Namespace) -> Settings:
    if args.runs < 1:
        raise TerraceError(f"--runs must be at least 1, not {args.runs}")
    if args.budget <= 0:
        raise TerraceError(f"--budget must be positive, not {args.budget:g}")
    return Settings(
        threads=thread_counts(args.threads),
        targets=[tag or None for tag in args.target.split(",")],
        runs=args.runs,
        budget_seconds=args.budget,
        compare=args.compare == "onnxruntime",
        tolerance=args.tolerance,
        seed=args.seed,
        progress=_progress,
    )


def thread_counts(text: str) -> list[int]:
    """'1,2' -> [1, 2]: positive integers, each once, in the order given."""
    counts: list[int] = []
    for part in text.split(","):
        try:
            count = int(part)
        except ValueError:
            raise TerraceError(f"--threads '{text}': expected counts like 1,2") from None
        if count < 1:
            raise TerraceError(f"--threads '{text}': a thread count must be at least 1")
        if count not in counts:
            counts.append(count)
    return counts


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    if args.plot is not None and not settings.compare:
        raise TerraceError("no ratio to plot: onnxruntime was not timed (--compare none)")
    names = [name.strip() for name in args.workloads.split(",") if name.strip()]
    selected = [workload(name) for name in names]  # every name is checked before any runs
    changed = uncommitted_changes()
    if changed and not args.allow_dirty:
        listed = ", ".join(changed[:5]) + (" ..." if len(changed) > 5 else "")
        raise TerraceError(
            f"the tree has uncommitted changes ({listed}): results are named by their commit, "
            "so commit first, or pass --allow-dirty (the report then says so)"
        )
    measurements: list[Measurement] = []
    for chosen in selected:
        settings.progress(f"{chosen.name}: building the model ({chosen.summary})")
        measurements += bench_model(chosen.name, chosen.build(), settings, chosen.gemm_shape)
    print(console_table(measurements))
    command = "python -m terrace.benchmarks " + shlex.join(args.argv)
    info = machine() | targets_described(settings.targets)
    args.output.write_text(markdown(measurements, info, command.strip()))
    print(f"wrote {args.output}")
    if args.plot is not None:
        title = f"{info['CPU']}, commit {info['terrace commit']}"
        write_ratio_plot(measurements, args.plot, title)
        print(f"wrote {args.plot}")
    problems = mismatches(measurements)
    for line in problems:
        print(line, file=sys.stderr)
    return 1 if problems else 0


def targets_described(tags: Sequence[str | None]) -> dict[str, str]:
    """A line per target timed: its CPU and vector width, which the ratios depend on."""
    from ..targets import get_target
    from ..targets.llvm import LlvmTarget

    described: dict[str, str] = {}
    for target in map(get_target, tags):
        described[f"target {target.tag}"] = (
            f"cpu {target.cpu}, {target.vector_registers} x {target.vector_width_bits}-bit "
            "vector registers"
            if isinstance(target, LlvmTarget)
            else target.summary
        )
    return described


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m terrace.benchmarks",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--workloads",
        default=",".join(WORKLOADS),
        metavar="NAME,NAME,...",
        help="the workloads to run, comma-separated (default: all of them)",
    )
    add_timing_arguments(parser, default_threads="1,2")
    parser.add_argument(
        "--output", type=Path, default=RESULTS, help=f"the Markdown report ({RESULTS.name})"
    )
    parser.add_argument(
        "--plot",
        type=Path,
        default=None,
        metavar="PNG",
        help="also draw terrace/onnxruntime per workload and thread count here (matplotlib)",
    )
    parser.add_argument(
        "--allow-dirty",
        action="store_true",
        help="measure a tree with uncommitted changes (refused by default: the report names "
        "the commit it measured)",
    )
    arguments = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(arguments)
    args.argv = arguments
    try:
        return run(args)
    except TerraceError as error:
        print(f"terrace benchmarks: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("terrace benchmarks: interrupted", file=sys.stderr)
        return 130
