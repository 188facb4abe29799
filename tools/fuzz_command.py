"""`terrace fuzz`: property-based fuzzing of one pass or pipeline, or of the ONNX importer
with mutated models (`--onnx`) (docs/fuzzing.md).

`register(commands)` adds the subcommand to the `terrace` command's subparsers; `run(args)`
is its entry point. Progress goes to stderr every `--progress-every` examples, the summary to
stdout; the exit status is 1 when a mismatch (or, with `--onnx`, a crash, a hang or an
exception other than a one-line Terrace error) was found, 3 when the run was incomplete.
"""

from __future__ import annotations

import argparse
import random
import sys
from typing import TYPE_CHECKING

from ..errors import TerraceError

if TYPE_CHECKING:  # the fuzzing library (hypothesis) loads only when `terrace fuzz` runs
    from ..fuzz.checker import FuzzReport

DESCRIPTION = """\
Generates random well-typed programs at a level, runs each before and after the pass (or
pipeline) on the same random inputs, edge values included, and compares the results. At the nn
level the programs are directed at the ops the pass rewrites (learnt by trying it on one-op
programs); the summary says how many programs held each. The first mismatch is shrunk and
written as a reproducer (.mlir plus .npz inputs) that terrace-opt reruns. Exit status: 1 when
something was found, 3 when fewer examples ran than asked (or a hypothesis health check failed).

With --onnx, it damages real ONNX models instead (bit flips, truncation, wrong attributes,
absurd shapes, cycles...) and checks each in a child process: importing must end in a result
or one clean error line, never another exception, a hang or a crash.

examples:
  terrace fuzz --pass nn-canonicalize --examples 200
  terrace fuzz --load-pass-plugin my_pass.py --pass my-pass --examples 200
  terrace fuzz --pipeline 'nn-fold-batchnorm,nn-canonicalize,convert-nn-to-linalg' --seed 1
  terrace fuzz --oracle mlir --level loops --pass convert-arith-to-llvm --examples 50
  terrace fuzz --onnx --bases light --examples 1000 --seed 0
"""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:  # pyright: ignore[reportPrivateUsage]
    """Adds `fuzz` to the subparsers of the `terrace` command (`args.run(args)` runs it)."""
    parser = commands.add_parser(
        "fuzz",
        help="fuzz a pass or pipeline by differential execution",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    parser.set_defaults(run=run)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pass", dest="pass_name", metavar="NAME", help="the pass to fuzz")
    parser.add_argument(
        "--pipeline",
        metavar="P",
        help="a textual pipeline to fuzz (instead of, or run after, --pass)",
    )
    parser.add_argument(
        "--level",
        metavar="L",
        help="the level programs are drawn at: nn, or a lower level (default: the level "
        "where the first pass applies)",
    )
    parser.add_argument("--examples", type=int, default=100, metavar="N")
    parser.add_argument("--seed", type=int, default=None, metavar="S")
    parser.add_argument(
        "--load-pass-plugin",
        action="append",
        default=[],
        metavar="FILE_OR_MODULE",
        help="a .py file or module name whose ModulePass subclasses become fuzzable (repeatable)",
    )
    parser.add_argument(
        "--reproducers", default="fuzz-reproducers", metavar="DIR", help="where to write them"
    )
    parser.add_argument(
        "--special-values",
        action="store_true",
        help="draw NaN and infinities even when the pass leaves the level",
    )
    parser.add_argument("--shrink-seconds", type=float, default=60.0, metavar="T")
    parser.add_argument(
        "--oracle",
        choices=("level", "mlir"),
        default="level",
        help="what gives the expected results: the level's own oracle, or upstream MLIR 22 "
        "lowering the program (linalg and loops levels; the result then runs through "
        "Terrace's own lowering; docs/mlir.md)",
    )
    parser.add_argument("--progress-every", type=int, default=10, metavar="N")
    onnx = parser.add_argument_group("mutated ONNX models (--onnx)")
    onnx.add_argument(
        "--onnx", action="store_true", help="fuzz the ONNX importer with mutated models"
    )
    onnx.add_argument(
        "--bases",
        default="all",
        metavar="B",
        help="the models to mutate: all, light (onnx's nine light models), small (one-op "
        "models) or names separated by commas (default: all)",
    )
    onnx.add_argument(
        "--check",
        default="import",
        metavar="C",
        help="import: import the mutant; cli: run `terrace import` on it; compile: compile, "
        "run and compare with onnxruntime; or module:function, a check of one's own "
        "(default: import)",
    )
    onnx.add_argument(
        "--mutant-seconds",
        type=float,
        default=20.0,
        metavar="T",
        help="each mutant's time budget; past it plus 10 s its child is killed (a hang)",
    )
    onnx.add_argument(
        "--memory-limit-mb",
        type=int,
        default=4096,
        metavar="M",
        help="the checking process's address-space limit (0: none)",
    )
    parser.add_argument(
        "--target",
        metavar="TAG",
        help="lower and run programs that leave their level with this target's pipeline and "
        "code (one whose code runs in this process; default: this machine)",
    )
    parser.add_argument(
        "--undirected",
        action="store_true",
        help="draw the level's default mix of programs instead of programs directed at the "
        "ops the pass rewrites",
    )


def pipeline_of(args: argparse.Namespace) -> str:
    parts = [part for part in (args.pass_name, args.pipeline) if part]
    if not parts:
        raise TerraceError("terrace fuzz needs --pass NAME or --pipeline P")
    return ",".join(parts)


def run(args: argparse.Namespace) -> int:
    """Fuzzes, prints the summary; 1 when something was found, 2 on a usage error, 3 when
    the run is not a complete check (fewer examples than asked, a failed hypothesis health
    check, a flaky property)."""
    if args.onnx:
        return run_onnx(args)
    from ..fuzz.checker import fuzz
    from .progress import ProgressLine

    line = ProgressLine(
        "terrace fuzz", args.examples, unit="examples", plain_every=args.progress_every
    )

    def progress(report: FuzzReport) -> None:
        found = f"{len(report.findings)} mismatches, {report.unsupported} unsupported"
        line.update(report.examples, found)

    try:
        report = fuzz(
            pipeline_of(args),
            level=args.level,
            examples=args.examples,
            seed=args.seed,
            plugins=args.load_pass_plugin,
            reproducer_dir=args.reproducers,
            special_values=args.special_values,
            shrink_seconds=args.shrink_seconds,
            progress=progress,
            directed=not args.undirected,
            target=args.target,
            oracle=args.oracle,
        )
    except TerraceError as error:
        line.close()
        print(f"terrace fuzz: error: {error}", file=sys.stderr)
        return 2
    line.close()
    print(report.summary())
    for path in report.reproducers:
        print(f"  rerun: python -m terrace.fuzz.reproducer {path}")
    if report.findings:
        return 1
    for error in report.errors:
        print(f"terrace fuzz: error: {error}", file=sys.stderr)
    return 3 if report.errors else 0


def run_onnx(args: argparse.Namespace) -> int:
    """`--onnx`: mutants of the chosen bases, each checked in a child process."""
    from ..fuzz.onnx_checks import Campaign
    from ..fuzz.onnx_isolation import IsolatedCheck, isolated_campaign, resolve_bases
    from .progress import ProgressLine

    # without --seed the run is random, as for passes; the summary prints the seed to rerun it
    seed = random.randrange(2**32) if args.seed is None else args.seed

    line = ProgressLine(
        "terrace fuzz", args.examples, unit="mutants", plain_every=args.progress_every
    )

    def progress(done: int, campaign: Campaign) -> None:
        line.update(done, f"{len(campaign.failures)} failures")

    try:
        if args.pass_name or args.pipeline or args.level:
            raise TerraceError(
                "--onnx fuzzes the importer: --pass, --pipeline and --level do not apply"
            )
        bases = resolve_bases(args.bases)
        memory = max(args.memory_limit_mb, 0) << 20
        with IsolatedCheck(args.check, args.mutant_seconds, memory) as check:
            campaign = isolated_campaign(seed, args.examples, bases, check, progress)
    except TerraceError as error:
        line.close()
        print(f"terrace fuzz: error: {error}", file=sys.stderr)
        return 2
    line.close()
    rate = sum(campaign.counts.values()) / max(campaign.seconds, 1e-9)
    print(f"seed {seed}, bases {args.bases}, check {args.check}: {campaign.summary()}")
    print(f"{rate:.1f} mutants per second")
    for failure in campaign.failures:
        print(f"  {failure}")
    return 1 if campaign.failures else 0


def main(argv: list[str] | None = None) -> int:
    """`terrace fuzz` on its own (tests, and before the `terrace` command registers it)."""
    parser = argparse.ArgumentParser(prog="terrace fuzz", description=DESCRIPTION)
    add_arguments(parser)
    return run(parser.parse_args(argv))
