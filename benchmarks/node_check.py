"""Per-node comparison with onnxruntime over every bundled workload and light model: the node
groups that Terrace runs more than `--bar` times slower than onnxruntime runs the same nodes.

    python -m terrace.benchmarks.node_check                  # all of them, 1 thread
    python -m terrace.benchmarks.node_check --models resnet50,light_vgg19 --runs 30

Each model is profiled in a process of its own (`terrace profile MODEL --vs-ort --json`: both
engines' per-node times, same inputs and threads, alternating runs) and its groups are read
back; a group faster than `--min-ms` in onnxruntime is left out (kernel-call overhead, not
code, decides it). The table lists, per model, the slowest group against onnxruntime and every
group over the bar; the exit status is 1 when a group is over it. Light models take the
onnx backend's light models with random weights (`benchmarks/light_models.py`).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import TerraceError
from .light_models import LIGHT_MODELS
from .workloads import WORKLOADS


@dataclass(frozen=True)
class Group:
    model: str
    nodes: tuple[str, ...]
    ms: float
    ort_ms: float

    @property
    def ratio(self) -> float:
        return self.ms / self.ort_ms

    def markdown(self) -> str:
        shown = ", ".join(self.nodes[:4]) + (", ..." if len(self.nodes) > 4 else "")
        return f"| {self.model} | {shown} | {self.ms:.3f} | {self.ort_ms:.3f} | {self.ratio:.2f}x |"


def profile_groups(model: str, threads: int, runs: int, min_ms: float) -> list[Group]:
    """The node groups of `model` that both engines time, slowest against onnxruntime first."""
    command = [
        *[sys.executable, "-W", "ignore", "-m", "terrace.tools.cli", "profile", model],
        *["--vs-ort", "--json", "--threads", str(threads), "--runs", str(runs)],
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise TerraceError(f"{model}: terrace profile failed: {last}")
    groups = [
        Group(model, tuple(row["onnx_nodes"]), row["seconds"] * 1e3, row["ort_seconds"] * 1e3)
        for row in json.loads(result.stdout)["vs_ort"]
        if row["ort_seconds"] * 1e3 >= min_ms
    ]
    return sorted(groups, key=lambda group: -group.ratio)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m terrace.benchmarks.node_check",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    everything = [*WORKLOADS, *LIGHT_MODELS]
    parser.add_argument(
        "--models",
        default=",".join(everything),
        help="comma-separated workloads or light models (default: every one)",
    )
    parser.add_argument("--threads", type=int, default=1, help="threads (1)")
    parser.add_argument("--runs", type=int, default=20, help="timed runs per engine (20)")
    parser.add_argument("--bar", type=float, default=3.0, help="the ratio a group may reach (3)")
    parser.add_argument(
        "--min-ms",
        type=float,
        default=0.02,
        help="leave out groups faster than this in onnxruntime (0.02 ms)",
    )
    args = parser.parse_args(argv)
    print("| model | slowest group against onnxruntime | ms | ort ms | ratio |")
    print("|---|---|--:|--:|--:|")
    over: list[Group] = []
    for model in [name for name in args.models.split(",") if name]:
        try:
            groups = profile_groups(model, args.threads, args.runs, args.min_ms)
        except TerraceError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        if groups:
            print(groups[0].markdown(), flush=True)
        over += [group for group in groups if group.ratio > args.bar]
    print(f"\ngroups over {args.bar:g}x: {len(over)}")
    for group in over:
        print(group.markdown())
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
