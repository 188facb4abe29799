"""`terrace targets`: every target's tag, what it is, and what runs its code here."""

from __future__ import annotations

import argparse
import shutil


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:  # pyright: ignore[reportPrivateUsage]
    parser = commands.add_parser(
        "targets",
        help="list the targets and what runs each",
        description="List the targets --target accepts: tag, summary, vector unit, the "
        "micro-kernel tile derived from it, and what runs the code (this process, or a "
        "program that must be installed, with its Debian package). The pipeline of one "
        "target, as a terrace-opt -p string: `terrace targets --pipeline TAG`.",
    )
    parser.add_argument("--pipeline", metavar="TAG", help="print this target's pass pipeline")
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    from ..targets import get_target, host_target, target_tags

    if args.pipeline:
        print(get_target(args.pipeline).pipeline().spec())
        return 0
    host = host_target()
    for tag in target_tags():
        target = get_target(tag)
        marker = " (host)" if target is host else ""
        print(f"{tag}{marker}: {target.summary}")
        for line in _details(target):
            print(f"    {line}")
    return 0


def _details(target: object) -> list[str]:
    from ..targets import Target
    from ..targets.llvm import LlvmTarget

    lines: list[str] = []
    if isinstance(target, LlvmTarget):
        shape = target.microkernel()
        lines.append(f"triple {target.triple}, cpu {target.cpu}")
        lines.append(
            f"vectors: {target.vector_registers} x {target.vector_width_bits} bits; "
            f"micro-kernel tile {shape.mr} x {shape.nr} f32; "
            f"threads: {'libgomp' if target.threads else 'one'}"
        )
    if isinstance(target, Target):
        runner = target.runner
        missing = runner.tool is not None and shutil.which(runner.tool.program) is None
        lines.append(f"runs: {runner.describe()}{' (not installed)' if missing else ''}")
    return lines
