"""`terrace tune`: tune a model's contractions on this machine into a records database
(docs/tuning.md); `--show` and `--compact` read one.

`register(commands)` adds the subcommand; `run(args)` is its entry point. Progress goes to
stderr, tables to stdout.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from ..errors import TerraceError

DEFAULT_DB = "terrace-tune.jsonl"

DESCRIPTION = f"""\
Tunes the micro-kernel of every contraction (MatMul, Gemm, Conv: the kernels
contraction-microkernel generates) of MODEL for this machine, and appends every measurement to a
records database (JSONL, one record a line; default {DEFAULT_DB}).

How it works (docs/tuning.md):
  tasks      the model's contractions with their fused epilogues, deduplicated by a sha256 key
             of their shapes, maps and epilogue; weight = how often each occurs
  space      mr x nr micro-kernels that fit the vector registers, at the full and half vector
             width, in both tile-grid orders; invalid configs are never built
  search     trial 0 is the analytical default (what an untuned compile uses); then the next
             micro-kernels and the other order; then rounds of the best configs' neighbours,
             ranked by the analytical cost model (--strategy random: uniform draws instead)
  measure    each candidate in a child process pinned to its cores: the task's kernel cut out
             of the model as a one-kernel model (same shapes, weights, fused epilogue, same
             key; --in-model: the whole model with the candidate on its task) compiled,
             checked against the nn reference, then timed
             (25 repeats of >= 2 ms; the fastest repeat decides); a crash, hang or wrong
             result is recorded and reported as a code-generation bug with the pipeline that
             reproduces it
  finalists  at the end, each task's 3 fastest configs and its default re-measured side by
             side (50 interleaved repeats in one process); that decides the applied best
  schedule   every task's seeds first (heaviest first), then the task with the largest
             expected saving; a task stops after two rounds under 1% gain
  drift      every 4 batches of a task its default is measured again; moved over 5% from
             its first time, the batch is suspect and measured again (--report: drift)
  records    keyed by task key + target fingerprint; `terrace compile --tuning-db DB` (or
             TERRACE_TUNING_DB) applies the best; a rerun resumes from the records and never
             re-measures one; Ctrl-C finishes the batch, keeps the records, prints the resume
             command

The progress line reads: elapsed / budget, trials / budget, the estimated model latency
(the untuned model's time less each task's saving) and its speedup over the analytical
defaults.

examples:
  terrace tune gemm512 --trials 64 --budget 80s --compare-ort
  terrace tune model.onnx --threads 2 --db model.jsonl --report tune.md
  terrace tune --show --db model.jsonl
  terrace tune --show model.onnx --db model.jsonl     # what a compile of it takes, hit rate
  terrace tune gemm512 --plot convergence.png         # pip install 'terrace[tune]'
  terrace compile model.onnx --tuning-db model.jsonl
"""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:  # pyright: ignore[reportPrivateUsage]
    parser = commands.add_parser(
        "tune",
        help="tune a model's kernels on this machine into a records database",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("model", nargs="?", help="an .onnx file or a bundled workload (gemm512)")
    parser.add_argument("--target", metavar="TAG", help="target (default: this machine)")
    parser.add_argument("--threads", type=int, default=1, help="threads per run (default: 1)")
    parser.add_argument("--trials", type=int, default=64, help="measurements in all (64)")
    parser.add_argument(
        "--budget", default="", metavar="T", help="wall time budget: 80s, 10m (default: none)"
    )
    parser.add_argument("--db", default=DEFAULT_DB, help=f"records file ({DEFAULT_DB})")
    parser.add_argument(
        "--runner",
        type=_runner_kind,
        default="local",
        metavar="local|ray|ray://ADDR|fake",
        help="local: a pinned child process measures; ray: a new local Ray cluster, ray://ADDR "
        "(or ray://auto) an existing one, one measuring actor per node "
        "(pip install 'terrace[ray]'); fake: the analytical estimate as the time, nothing "
        "built (to try the search and the database)",
    )
    parser.add_argument(
        "--parallel-measurement",
        action="store_true",
        help="with ray: every actor measures at once (default: one measurement at a time "
        "cluster-wide; timings on one shared machine are then contended)",
    )
    parser.add_argument(
        "--strategy",
        choices=("seeded-beam", "random", "exhaustive"),
        default="seeded-beam",
        help="search: seeded-beam (default), random (uniform draws, the MetaSchedule replay "
        "anchor), exhaustive (every valid config, no early stop: a convergence reference)",
    )
    parser.add_argument(
        "--tasks",
        type=_top,
        default=0,
        metavar="top:K",
        help="tune only the K heaviest tasks (weight x analytical estimate)",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        default=[],
        metavar="KEY",
        help="tune only the tasks with these keys (or key prefixes, as --show prints them)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (0)")
    parser.add_argument("--batch", type=int, default=8, help="candidates per round (8)")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue from the records in --db (a rerun always does; this only says so)",
    )
    parser.add_argument("--report", metavar="MD", help="write a markdown report here")
    parser.add_argument(
        "--plot",
        metavar="PNG",
        help="write the convergence plot here (pip install 'terrace[tune]' for matplotlib)",
    )
    parser.add_argument(
        "--finalists",
        type=int,
        default=3,
        help="per task, the fastest configs re-measured side by side (50 interleaved repeats) "
        "before the best is chosen; 0 or 1: none (3)",
    )
    parser.add_argument(
        "--in-model",
        action="store_true",
        help="time every candidate as the whole model with one kernel changed, instead of "
        "the kernel cut out as a one-kernel model (the default where the cut reproduces the "
        "task's key)",
    )
    parser.add_argument(
        "--check-in-model",
        type=int,
        default=0,
        metavar="K",
        help="after tuning, re-measure the finalists of the K heaviest tasks inside the whole "
        "model, side by side: is the standalone kernel's best the model's best? (0)",
    )
    parser.add_argument(
        "--compare-ort",
        action="store_true",
        help="time the tuned model, the untuned one and onnxruntime, alternating",
    )
    parser.add_argument(
        "--show",
        action="store_true",
        help="print the best record per task; with MODEL: what a compile of MODEL takes from "
        "the database (full key, anchor key or analytical), hits and lookup time",
    )
    parser.add_argument("--compact", action="store_true", help="write the best records to -o")
    parser.add_argument("-o", "--output", help="with --compact: the file to write")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.compact:
        return _compact(args)
    if args.show:
        return _show(args)
    if not args.model:
        raise TerraceError("terrace tune: give a MODEL (an .onnx file or a bundled workload)")
    return _tune(args)


# -- reading a database --------------------------------------------------------------------


def _compact(args: argparse.Namespace) -> int:
    from ..tuning.records import Database

    if not args.output:
        raise TerraceError("terrace tune --compact: give the output file with -o")
    count = Database(args.db).compact(args.output)
    print(f"wrote {count} best records to {args.output}", file=sys.stderr)
    return 0


def _show(args: argparse.Namespace) -> int:
    from ..tuning.records import Database

    if not Path(args.db).is_file():
        raise TerraceError(f"no tuning database at '{args.db}'")
    if args.model:
        return _show_model(args)
    database = Database(args.db)
    groups: dict[tuple[str, str, str], list[Any]] = {}
    for record in database.records:
        groups.setdefault((record.key, record.target_fp, record.space), []).append(record)
    print("| task | target | trials | errors | best ms | best config | pipeline |")
    print("| --- | --- | --: | --: | --: | --- | --- |")
    for (key, fp, space), records in groups.items():
        best = database.best(key, fp, space)
        errors = sum(1 for r in records if r.result.error)
        gemm = "x".join(str(d) for d in records[0].desc.get("gemm", []))
        shown = f"{best.result.seconds * 1e3:.3f}" if best else "-"
        config = best.config.describe() if best else "-"
        pipeline = f"`{best.pipeline}`" if best else "-"
        print(
            f"| {gemm} {key[7:19]} | {fp[7:15]} | {len(records)} | {errors} | {shown} "
            f"| {config} | {pipeline} |"
        )
    return 0


def _show_model(args: argparse.Namespace) -> int:
    """What a compile of MODEL takes from the database, task by task, and what the lookup
    costs (the file's digest, the index, one lookup per task)."""
    from ..runtime.cache import default_cache_dir
    from ..targets import get_target
    from ..tuning.config import SPACE, KernelConfig
    from ..tuning.records import Database, load_best_index
    from ..tuning.target_info import target_info
    from ..tuning.tasks import extract_tasks

    target = get_target(args.target)
    info = target_info(target, args.threads)
    tasks = extract_tasks(_load(args.model), target, info)
    fp = info.fingerprint()
    timings: list[float] = []
    chosen: list[tuple[KernelConfig, str] | None] = []
    for _ in range(2):  # the first may build the index; the second reads it, as compiles do
        started = time.perf_counter()
        index = load_best_index(args.db, default_cache_dir())
        chosen = [index.lookup(t.key, t.anchor_key, fp, SPACE) for t in tasks]
        timings.append((time.perf_counter() - started) * 1e3)
    database = Database(args.db)
    print("| task | weight | applied | best ms | config |")
    print("| --- | --: | --- | --: | --- |")
    for task, found in zip(tasks, chosen, strict=True):
        record = database.best(task.key, fp, SPACE, task.anchor_key) if found else None
        best = f"{record.result.seconds * 1e3:.3f}" if record else "-"
        config = found[0].describe() if found else task.default.describe()
        source = found[1] if found else "analytical"
        print(f"| {task.name} | {task.weight} | {source} | {best} | {config} |")
    hits = sum(1 for found in chosen if found is not None and found[1] == "record")
    anchors = sum(1 for found in chosen if found is not None and found[1] != "record")
    share = hits / len(tasks) if tasks else 1.0
    print(
        f"\n{hits}/{len(tasks)} tasks ({share:.0%}) by full key, {anchors} by anchor key; "
        f"compile-time lookup {timings[0]:.1f} ms, then {timings[1]:.1f} ms from the cached "
        f"index ({len(database.records)} records)"
    )
    return 0


# -- tuning --------------------------------------------------------------------------------


def _load(name: str) -> onnx.ModelProto:
    from ..benchmarks.workloads import workload

    if Path(name).is_file():
        return onnx.load(name)
    return workload(name).build()


def _runner_kind(text: str) -> str:
    if text in ("local", "fake", "ray") or text.startswith("ray://"):
        return text
    raise argparse.ArgumentTypeError(f"'{text}': expected local, ray, ray://ADDR or fake")


def _top(text: str) -> int:
    if text.startswith("top:") and text[4:].isdigit() and int(text[4:]) > 0:
        return int(text[4:])
    raise argparse.ArgumentTypeError(f"'{text}': expected top:K with K >= 1")


def _seconds(text: str) -> float:
    if not text:
        return float("inf")
    units = {"s": 1.0, "m": 60.0, "h": 3600.0}
    try:
        if text[-1] in units:
            return float(text[:-1]) * units[text[-1]]
        return float(text)
    except ValueError:
        raise TerraceError(f"--budget '{text}': expected seconds, e.g. 80s or 10m") from None


def _tune(args: argparse.Namespace) -> int:
    from ..targets import get_target
    from ..tuning.session import TuningSession

    started = time.perf_counter()
    if args.plot:
        from ..tuning.plot import require_matplotlib

        require_matplotlib()
    model = _load(args.model)
    target = get_target(args.target)
    if not target.runs_in_process():
        raise TerraceError(f"target '{target.tag}' does not run in this process: tune on it")
    session = TuningSession(
        model,
        target,
        threads=args.threads,
        db_path=Path(args.db),
        runner_kind=args.runner,
        serialize=not args.parallel_measurement,
        strategy=args.strategy,
        seed=args.seed,
        batch=args.batch,
        finalists=args.finalists,
        standalone=not args.in_model,
        only=args.only,
        top=args.tasks,
    )
    print(
        f"terrace tune: {len(session.states)} tasks, target {target.tag} "
        f"({session.info.fingerprint()[7:19]}), {args.threads} thread(s), database {args.db}",
        file=sys.stderr,
    )
    for state in session.states:
        if state.measured:
            print(f"  resumed {state.task.name}: {state.trials} records", file=sys.stderr)
    budget = _seconds(args.budget)
    if args.compare_ort:
        session.time_ort_at_start()
    interrupted = session.run(args.trials, budget - (time.perf_counter() - started), _progress)
    print(session.table())
    print(session.drift_summary())
    if args.check_in_model and not interrupted:
        session.check_in_model(args.check_in_model, _progress)
        print("\n".join(session.in_model_lines))
    for line in session.bugs():
        print(line, file=sys.stderr)
    if interrupted:
        command = shlex.join(["terrace", *sys.argv[1:]]) if sys.argv else "terrace tune ..."
        print(f"interrupted: records kept; resume with\n  {command}", file=sys.stderr)
    summary = ""
    if args.compare_ort and not interrupted:
        summary = session.compare(onnxruntime=True)
        print(summary)
    if args.report:
        Path(args.report).write_text(session.report(summary), encoding="utf-8")
        print(f"wrote {args.report}", file=sys.stderr)
    if args.plot:
        session.plot(Path(args.plot))
        print(f"wrote {args.plot}", file=sys.stderr)
    print(f"done in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 130 if interrupted else 0


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def time_alternating(calls: Sequence[Any], rounds: int = 3, repeats: int = 10) -> list[list[float]]:
    """Seconds per call of each callable, their repeats (of at least 2 ms, as the tuner's)
    alternating in `rounds` blocks."""
    from ..tuning.measure import REPEAT_S, time_calls

    times: list[list[float]] = [[] for _ in calls]
    for _ in range(rounds):
        for position, call in enumerate(calls):
            times[position] += time_calls(call, repeats, REPEAT_S)
    return times


def ort_session(model: onnx.ModelProto, threads: int) -> Any:
    try:
        import onnxruntime
    except ImportError:
        raise TerraceError(
            "--compare-ort needs onnxruntime: pip install 'terrace[bench]'"
        ) from None
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(model.SerializeToString(), options)


def median_ms(times: Sequence[float]) -> float:
    return float(np.median(times)) * 1e3


def usable_cores() -> int:
    return len(os.sched_getaffinity(0))
