"""`terrace bench`: compile time, latency, GFLOP/s and the ratio to onnxruntime of one model.

`register(commands)` adds the subcommand to the `terrace` command's subparsers; `run(args)` is
its entry point. Progress goes to stderr, the table to stdout; the exit status is 1 when
Terrace's outputs do not match onnxruntime's.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import onnx

from ..benchmarks.measure import bench_model
from ..benchmarks.report import console_table, mismatches
from ..benchmarks.run import add_timing_arguments, settings_of
from ..benchmarks.workloads import WORKLOADS, workload
from ..errors import TerraceError

DESCRIPTION = f"""\
Compiles a model with Terrace (cold, without the disk cache) and reports:
  compile s       the cold compile time
  terrace ms      median latency over the timed runs after one warm-up, with [min, max]
  GFLOP/s         Gemm, MatMul and Conv FLOPs (2 per multiply-add) over the median
  onnxruntime ms  the same for onnxruntime on the same inputs, intra-op threads matched
  terrace/ort     Terrace's median over onnxruntime's (above 1: Terrace is slower)
  numpy ms        numpy's matmul on the same shapes (GEMM workloads only)
  max rel diff    max |terrace - onnxruntime| / max |onnxruntime|; above --tolerance it
                  is a MISMATCH and the command exits 1

MODEL is an .onnx file (static input shapes) or a bundled workload: {", ".join(WORKLOADS)},
or gemm<N> (Gemm + Relu, N cubed). `python -m terrace.benchmarks` runs them all and writes
benchmarks/RESULTS.md. Needs onnxruntime (pip install 'terrace[bench]').

examples:
  terrace bench gemm512
  terrace bench resnet50 --threads 1,2 --runs 5
  terrace bench model.onnx --compare none --budget 60
  terrace bench gemm1024 --target x86_64,x86_64-avx2   two targets, timed in the same rounds
"""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:  # pyright: ignore[reportPrivateUsage]
    """Adds `bench` to the subparsers of the `terrace` command (`args.run(args)` runs it)."""
    parser = commands.add_parser(
        "bench",
        help="time a model against onnxruntime: compile time, latency, GFLOP/s",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("model", metavar="MODEL", help="an .onnx file or a bundled workload")
    add_timing_arguments(parser, default_threads="1")
    parser.add_argument(
        "--plot",
        type=Path,
        metavar="PNG",
        help="also draw terrace/onnxruntime per thread count (and target) here (matplotlib)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from .progress import StatusLine

    settings = settings_of(args)
    if args.plot is not None and not settings.compare:
        raise TerraceError("no ratio to plot: onnxruntime was not timed (--compare none)")
    name, model, gemm_shape = resolve_model(args.model)
    status = StatusLine("terrace bench")
    settings.progress = status  # each phase: one redrawn line on a terminal, else a line each
    settings.progress(f"{name}: {_describe(model)}")
    try:
        measurements = bench_model(name, model, settings, gemm_shape)
    finally:
        status.close()
    print(console_table(measurements))
    if args.plot is not None:
        from ..benchmarks.plot import write_ratio_plot

        write_ratio_plot(measurements, args.plot, name)
        print(f"wrote {args.plot}")
    problems = mismatches(measurements)
    for line in problems:
        print(f"terrace bench: {line}", file=sys.stderr)
    return 1 if problems else 0


def resolve_model(text: str) -> tuple[str, onnx.ModelProto, tuple[int, int, int] | None]:
    """A model file, else a bundled workload's name: (name, model, GEMM shape or None)."""
    path = Path(text)
    if path.suffix == ".onnx" or path.exists():
        from ..frontend.onnx.graph import load_model

        if not path.is_file():
            raise TerraceError(f"no such model file: {text}")
        return path.stem, load_model(path), None
    chosen = workload(text)
    return chosen.name, chosen.build(), chosen.gemm_shape


def _describe(model: onnx.ModelProto) -> str:
    graph: Any = model.graph
    return f"{len(graph.node)} ONNX nodes, {len(graph.initializer)} initializers"
