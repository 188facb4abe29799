"""The analytical default against the fixed register-blocking rule it replaced (one micro-kernel
per target, targets/llvm/microkernel.py) and onnxruntime, timed in alternating rounds in one
process: `python -m terrace.tuning.baseline gemm512 mlp transformer --threads 1`.

Prints a markdown table: per workload, the median and min of each engine and the ratios.
"""

from __future__ import annotations

import argparse
import platform
from collections.abc import Callable, Sequence
from functools import partial

import numpy as np

from ..benchmarks.workloads import workload
from ..compiler import compile
from ..targets import get_target
from ..targets.llvm import LlvmTarget
from ..tools.tune_command import median_ms, ort_session, time_alternating
from .apply import with_config
from .config import KernelConfig
from .tasks import random_inputs


def compare(names: Sequence[str], threads: int, rounds: int) -> str:
    target = get_target()
    assert isinstance(target, LlvmTarget)
    shape = target.microkernel()
    fixed = with_config(target, "", KernelConfig(shape.mr, shape.nr_vectors, shape.lanes))
    lines = [
        f"machine: {platform.processor() or platform.machine()} ({target.cpu}), "
        f"{threads} thread(s), {rounds} alternating rounds of 10 repeats of >= 2 ms",
        "",
        "| workload | fixed rule ms | analytical ms | onnxruntime ms | analytical / fixed "
        "| analytical / ort | (min) fixed / analytical / ort ms |",
        "| --- | --: | --: | --: | --: | --: | --: |",
    ]
    for name in names:
        model = workload(name).build()
        inputs = random_inputs(model)
        old = compile(model, fixed, threads, cache=False)
        new = compile(model, target, threads, cache=False)
        session = ort_session(model, threads)
        feeds = {i.name: x for i, x in zip(session.get_inputs(), inputs, strict=True)}
        calls: list[Callable[[], object]] = [
            partial(old, *inputs),
            partial(new, *inputs),
            partial(session.run, None, feeds),
        ]
        np.testing.assert_allclose(old(*inputs)[0], new(*inputs)[0], rtol=1e-4, atol=1e-4)
        times = time_alternating(calls, rounds)
        fixed_ms, new_ms, ort_ms = (median_ms(t) for t in times)
        minimums = " / ".join(f"{min(t) * 1e3:.3f}" for t in times)
        lines.append(
            f"| {name} | {fixed_ms:.3f} | {new_ms:.3f} | {ort_ms:.3f} | {new_ms / fixed_ms:.3f} "
            f"| {new_ms / ort_ms:.3f} | {minimums} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m terrace.tuning.baseline")
    parser.add_argument("workloads", nargs="+")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    print(compare(args.workloads, args.threads, args.rounds))


if __name__ == "__main__":
    main()
