"""How reliably the fuzzer catches deliberately wrong rewrites: each one over many seeds.

    python -m terrace.fuzz.seed_table --plugin tests/fuzz_plugins/wrong_nn_rewrites.py \\
        --seeds 20 --examples 60 --jobs 2

fuzzes every pass of the plugins (or those named with `--pass`; a pass class's `FUZZ_PIPELINE`
is the pipeline it runs in, when it needs passes before it) with seeds 0 to N-1, each run with
the given example budget and no shrinking, and prints a Markdown table: the rewrite, its
op family (the pass class's `FAMILY`), on how many seeds it was caught, and the median number
of examples it took (over the seeds that caught it). docs/fuzzing.md holds the table for the
CI budget; the exit status is 1 when a rewrite was caught on fewer seeds than `--require`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from ..tools._plugin import load_pass_plugin


@dataclass(frozen=True)
class Row:
    rewrite: str
    family: str
    caught: list[int | None]
    """Per seed: the examples it took to catch the rewrite, or None."""
    seconds: float

    @property
    def caught_count(self) -> int:
        return sum(found is not None for found in self.caught)

    def markdown(self) -> str:
        found = [n for n in self.caught if n is not None]
        median = f"{statistics.median(found):g}" if found else "-"
        missed = [str(seed) for seed, n in enumerate(self.caught) if n is None]
        seeds = "seed" if len(missed) == 1 else "seeds"
        note = f" (missed: {seeds} {', '.join(missed)})" if missed else ""
        return (
            f"| `{self.rewrite}` | {self.family} | {self.caught_count}/{len(self.caught)}"
            f"{note} | {median} |"
        )


def measure(
    rewrite: str,
    plugins: Sequence[str],
    seeds: int,
    examples: int,
    level: str,
    directed: bool = True,
) -> Row:
    """Fuzzes `rewrite` once per seed; an error in a run (fewer examples than asked) fails.
    Without `directed`, the programs are the level's default mix (for comparison)."""
    from .checker import fuzz

    [pass_class] = [c for p in plugins for c in load_pass_plugin(p) if c.name == rewrite]
    family: str = getattr(pass_class, "FAMILY", "") or "-"
    pipeline: str = getattr(pass_class, "FUZZ_PIPELINE", "") or rewrite
    started = time.perf_counter()
    caught: list[int | None] = []
    for seed in range(seeds):
        report = fuzz(
            pipeline,
            level=level,
            examples=examples,
            seed=seed,
            plugins=plugins,
            shrink_seconds=0,
            write_reproducers=False,
            directed=directed,
        )
        if report.errors:
            raise SystemExit(f"{rewrite}, seed {seed}: {'; '.join(report.errors)}")
        caught.append(report.examples if report.findings else None)
    return Row(rewrite, family, caught, time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m terrace.fuzz.seed_table", description=__doc__)
    parser.add_argument("--plugin", action="append", required=True, metavar="FILE")
    parser.add_argument("--pass", dest="passes", action="append", default=[], metavar="NAME")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--examples", type=int, default=60)
    parser.add_argument("--level", default="nn")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--require", type=int, default=0, metavar="N")
    parser.add_argument("--undirected", action="store_true", help="the default program mix")
    args = parser.parse_args(argv)
    rewrites = args.passes or [c.name for p in args.plugin for c in load_pass_plugin(p)]
    print("| rewrite | family | seeds caught | median examples to detection |")
    print("|---|---|---|---|")
    with ProcessPoolExecutor(max_workers=max(args.jobs, 1)) as pool:
        futures = [
            pool.submit(
                measure,
                r,
                args.plugin,
                args.seeds,
                args.examples,
                args.level,
                not args.undirected,
            )
            for r in rewrites
        ]
        rows: list[Row] = []
        for future in futures:  # in order, each as soon as it is there
            rows.append(future.result())
            print(rows[-1].markdown(), flush=True)
    seconds = sum(row.seconds for row in rows)
    print(f"\n{len(rows)} rewrites, {args.seeds} seeds, {args.examples} examples: {seconds:.0f} s")
    short = [row.rewrite for row in rows if row.caught_count < args.require]
    if short:
        print(f"caught on fewer than {args.require} seeds: {', '.join(short)}", file=sys.stderr)
    return 1 if short else 0


if __name__ == "__main__":
    sys.exit(main())
