"""`terrace profile`: time per kernel, mapped back to the ONNX nodes each kernel computes.

`register(commands)` adds the subcommand; `run(args)` is its entry point. Progress goes to
stderr; the table (or, with --json, the JSON) to stdout. The measurement is
benchmarks/profile.py, the outputs benchmarks/profile_report.py; docs/profile.md shows them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import TerraceError
from ..targets import get_target
from ..targets.llvm import LlvmTarget
from .arguments import add_input_shape, add_target_argument, input_shapes
from .bench_command import resolve_model

if TYPE_CHECKING:
    from ..benchmarks.peak import Roofs
    from ..benchmarks.profile import Profile

DESCRIPTION = """\
Compiles a model twice, as its target compiles it and with a timestamp around every kernel
call (the instrument-kernels pass; a normal compile never runs it), runs both in alternating
rounds and reports, per group of ONNX nodes computed by the same kernels (Conv + Relu when
fused), slowest first:
  ms        time of its kernel calls per model call (mean over the middle half of
            the runs, by their latency: the rows add up to a typical call)
  share     of the sum of all rows
  GFLOP/s   Conv, ConvTranspose, Gemm and MatMul FLOPs over that time
  % peak    of the target's peak on --threads cores (an FMA loop, measured here)
  calls     kernel calls (packing, the contraction, ...) per model call
Two rows account for the time outside kernels: @main between the calls, and the call's
Python side (checks, allocation, ctypes). Below the table: the sum of the rows next to the
median latency of the uninstrumented model.

MODEL is an .onnx file or a bundled workload (`terrace bench --help` lists them).

examples:
  terrace profile resnet50
  terrace profile model.onnx --threads 2 --runs 20 --trace trace.json --roofline roof.png
  terrace profile model.onnx --input-shape x=1,3,224,224 --json > profile.json
  terrace profile mobilenet_v2 --vs-ort      # each row next to onnxruntime's same nodes
"""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:  # pyright: ignore[reportPrivateUsage]
    """Adds `profile` to the subparsers of the `terrace` command."""
    parser = commands.add_parser(
        "profile",
        help="time per kernel, mapped to ONNX nodes: table, Chrome trace, roofline",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("model", metavar="MODEL", help="an .onnx file or a bundled workload")
    parser.add_argument("--threads", type=int, default=1, metavar="N", help="threads (1)")
    parser.add_argument(
        "--runs", type=int, default=10, metavar="N", help="timed runs of each build (10)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the random inputs (0)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    parser.add_argument(
        "--trace", metavar="FILE.json", help="write a Chrome trace (chrome://tracing, Perfetto)"
    )
    parser.add_argument("--roofline", metavar="FILE.png", help="write a roofline plot")
    parser.add_argument(
        "--vs-ort",
        action="store_true",
        help="also time the same nodes in onnxruntime (its profiler, same inputs and threads): "
        "columns `ort ms` and `x ort`, and the rows furthest behind it",
    )
    add_input_shape(parser)
    add_target_argument(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.runs < 1:
        raise TerraceError(f"--runs must be at least 1, not {args.runs}")
    if args.threads < 1:
        raise TerraceError(f"--threads must be at least 1, not {args.threads}")
    # loaded when profiling, not whenever the `terrace` command starts (they load xDSL)
    from ..benchmarks.peak import measure_roofs
    from ..benchmarks.profile import (
        graph_nodes,
        instrumented,
        profile_compiled,
        random_inputs,
        with_input_shapes,
    )
    from ..benchmarks.profile_report import table, to_json, write_trace
    from ..compiler import compile as compile_model
    from ..runtime.profile import install_hook
    from .progress import StatusLine

    name, model, _ = resolve_model(args.model)
    shapes = input_shapes(args.input_shape)
    target = get_target(args.target)
    status = StatusLine("terrace profile")  # one redrawn line on a terminal, else a line each
    try:
        status(f"{name}: compiling for {target.tag} (plain and instrumented) ...")
        plain = compile_model(model, target, args.threads, input_shapes=shapes)
        install_hook()  # before the instrumented object loads: it links against the hook
        profiled = compile_model(model, instrumented(target), args.threads, input_shapes=shapes)
        status(f"{name}: {args.runs} runs of each, alternating ...")
        nodes, flops = graph_nodes(with_input_shapes(model, shapes))
        inputs = random_inputs(plain, args.seed)
        profile = profile_compiled(plain, profiled, inputs, args.runs, nodes, flops)
        ort = None
        if args.vs_ort:
            from ..benchmarks.ort_profile import profile_onnxruntime

            status(f"{name}: {args.runs} runs in onnxruntime with its profiler ...")
            feeds = {spec.name: value for spec, value in zip(plain.inputs, inputs, strict=True)}
            ort = profile_onnxruntime(model, feeds, args.threads, args.runs)
        roofs = None
        if isinstance(target, LlvmTarget):  # the peak loop runs here, on this machine's cores
            status("measuring the peak FLOP/s and the memory bandwidth ...")
            roofs = measure_roofs(target, args.threads)
    finally:
        status.close()
    about: dict[str, object] = {"model": name, "target": target.tag, "threads": args.threads}
    if args.trace:
        write_trace(profile, about, Path(args.trace))
        print(f"wrote {args.trace}", file=sys.stderr)
    if args.roofline:
        _write_roofline(profile, roofs, Path(args.roofline), f"{name}, {target.tag}")
        print(f"wrote {args.roofline}", file=sys.stderr)
    print(to_json(profile, roofs, about, ort) if args.json else table(profile, roofs, ort))
    return 0


def _write_roofline(profile: Profile, roofs: Roofs | None, path: Path, title: str) -> None:
    if roofs is None:
        raise TerraceError("--roofline: the target has no measured peak (not an LLVM target)")
    from ..benchmarks.profile_report import write_roofline

    write_roofline(profile, roofs, path, title)
