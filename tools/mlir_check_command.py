"""`terrace mlir-check`: upstream MLIR 22 parses and verifies each stage Terrace prints, and
Terrace reads upstream's output back (docs/mlir.md).

`register(commands)` adds the subcommand to the `terrace` command's subparsers. Exit status 0
when every stage passed both ways, 1 with upstream's diagnostic, the stage and the pass that
produced the module otherwise (or when mlir-opt 22 is not installed).
"""

from __future__ import annotations

import argparse
import sys

from ..errors import TerraceError
from .mlir_interop import UPSTREAM_STAGES, check_upstream, read_back, stage_snapshots

DESCRIPTION = """\
Compiles the model for the host and, for each stage below nn that `terrace compile --emit`
prints (linalg, loops, llvm), runs upstream `mlir-opt-22 --verify-each` on it (no
--allow-unregistered-dialect) and parses upstream's output back with Terrace's dialects.
Needs Debian's mlir-22-tools.

examples:
  terrace mlir-check model.onnx
  terrace mlir-check model.onnx --stage linalg -o upstream-linalg.mlir
"""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:  # pyright: ignore[reportPrivateUsage]
    parser = commands.add_parser(
        "mlir-check",
        help="check each printed stage with upstream mlir-opt 22, and read its output back",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("model", help="path of an .onnx file")
    parser.add_argument(
        "--stage",
        action="append",
        choices=UPSTREAM_STAGES,
        help="a stage to check (repeatable; default: all three)",
    )
    parser.add_argument(
        "-o", "--output", help="write upstream's output of the (last) checked stage here"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    stages = [s for s in UPSTREAM_STAGES if s in (args.stage or UPSTREAM_STAGES)]
    upstream = ""
    for snapshot in stage_snapshots(args.model, stages):
        upstream = check_upstream(snapshot.text, snapshot.stage, snapshot.produced_by)
        module = read_back(upstream, snapshot.stage)
        ops = sum(1 for _ in module.walk())
        print(
            f"{snapshot.stage:<7} (after {snapshot.produced_by}): upstream mlir-opt 22 "
            f"verifies it; its output ({ops:,} ops) reads back into Terrace"
        )
    if args.output:
        try:
            with open(args.output, "w") as stream:
                stream.write(upstream)
        except OSError as error:
            raise TerraceError(f"cannot write {args.output}: {error.strerror}") from None
    sys.stdout.flush()
    return 0
