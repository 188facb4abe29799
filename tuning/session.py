"""One `terrace tune` run: the model's tasks, the database, the runner and the scheduler, the
records written after every batch (the tuner is the database's only writer), the per-task
table, the code-generation bugs found, and the end-to-end comparison of the tuned model with
the untuned one (and onnxruntime)."""

from __future__ import annotations

import datetime
import hashlib
import platform
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import onnx

from ..errors import TerraceError
from ..targets.target import Target
from .apply import with_config
from .config import SPACE, KernelConfig
from .kernels import Kernel, standalone_kernels
from .measure import FakeRunner, LocalRunner
from .records import Database, Record, Result
from .search import DRIFT_EVERY, Progress, Runner, Scheduler, TaskState
from .space import Space
from .target_info import TargetInfo, target_info
from .tasks import Task, extract_tasks, random_inputs, reference_outputs

CONFIRM_REPEATS = 50
COMPARE_ROUNDS = 10
IMPROVED = 0.01
"""A task whose best beats its default by at most this is reported as not improved."""
IN_MODEL_MATCH = 0.02
"""The standalone best counts as the in-model best when within this of the fastest finalist
timed in the model (the noise of interleaved whole-model timings here)."""
NOISE_LIMIT = 0.03
"""TUNING.md criterion 8: IQR / median of a final best (kernels of at least 1 ms)."""


class TuningSession:
    def __init__(
        self,
        model: onnx.ModelProto,
        target: Target,
        *,
        threads: int = 1,
        db_path: Path,
        runner_kind: str = "local",
        strategy: str = "seeded-beam",
        seed: int = 0,
        batch: int = 8,
        serialize: bool = True,
        finalists: int = 3,
        standalone: bool = True,
        only: Sequence[str] = (),
        top: int = 0,
    ) -> None:
        self.finalists = finalists
        self.standalone = standalone
        """Measure each task as its standalone kernel where it has one (tuning/kernels.py),
        else every candidate as the whole model."""
        self.notes: list[str] = []
        self.in_model_lines: list[str] = []
        """The standalone bests checked inside the whole model (`check_in_model`)."""
        self.serialize = serialize
        self.model, self.target, self.threads = model, target, threads
        self.info = target_info(target, threads)
        self.fp = self.info.fingerprint()
        self.database = Database(db_path)
        self.strategy, self.seed, self.batch = strategy, seed, batch
        tasks = select_tasks(extract_tasks(model, target, self.info), self.info, only, top)
        self.states = [self._state(task) for task in tasks]
        self.runner_kind = runner_kind
        self.bug_lines: list[str] = []
        self.trial = sum(s.trials for s in self.states)
        self.touched: set[str] = set()
        """Tasks measured in this run: the ones whose finalists are confirmed."""
        self.curve: list[tuple[float, int, float]] = []
        """(elapsed s, trials, estimated model seconds) after every batch (the --plot)."""
        self.default_model_s: float | None = None
        self.ort_s: float | None = None
        self.ort_start_s: float | None = None
        """onnxruntime's fastest repeat in `compare` (a dashed line of the --plot)."""

    def _state(self, task: Task) -> TaskState:
        space = Space(task.shape, self.info)
        state = TaskState(task, space, seeds=self.database.seeds(task.key, SPACE))
        for record in self.database.for_task(task.key, self.fp, SPACE):
            if record.meta.get("in_model"):
                continue  # a whole model's time (check_in_model), not the kernel's
            state.measured[record.config] = record.result
            if record.meta.get("confirmation"):
                state.confirmed.add(record.config)
        if state.best_seconds() is not None:
            state.history.append(state.best_seconds() or 0.0)
        state.first_default = state.default_seconds()
        return state

    def _runner(self) -> Runner:
        if self.runner_kind == "fake":
            return FakeRunner({s.task.key: s.space for s in self.states}, seed=self.seed)
        if self.runner_kind.startswith("ray"):
            from .ray_runner import import_ray

            import_ray()  # the install hint before any work
        inputs = random_inputs(self.model, self.seed)
        reference = reference_outputs(self.model, inputs)
        kernels = self._kernels()
        if self.runner_kind.startswith("ray"):
            from .ray_runner import RayRunner

            address = self.runner_kind.removeprefix("ray://") if "://" in self.runner_kind else None
            return RayRunner(
                self.model.SerializeToString(),
                self.target.tag,
                self.threads,
                inputs,
                reference,
                self.fp,
                address=address,
                serialize=self.serialize,
                kernels=kernels,
            )
        return LocalRunner(
            self.model.SerializeToString(),
            self.target.tag,
            self.threads,
            inputs,
            reference,
            kernels=kernels,
        )

    def _kernels(self) -> dict[str, Kernel]:
        """The standalone kernels; the tasks without one are marked to be timed in the
        model (and said so)."""
        kernels: dict[str, Kernel] = {}
        if self.standalone:
            tasks = [s.task for s in self.states]
            kernels = standalone_kernels(self.model, self.target, self.info, tasks, self.seed)
        for state in self.states:
            state.in_model = state.task.key not in kernels
        alone = len(self.states) - sum(s.in_model for s in self.states)
        self.notes.append(
            f"{alone}/{len(self.states)} tasks measured as standalone kernels"
            + "".join(f"; {s.task.name} in the whole model" for s in self.states if s.in_model)
        )
        return kernels

    def run(self, trials: int, seconds: float, progress: Callable[[str], None]) -> bool:
        """Tunes within the budgets; True when a Ctrl-C ended it (records kept)."""
        if not self.states:
            progress("no contraction to tune in this model")
            return False
        runner = self._runner()
        for note in self.notes:
            progress(note)
        started = time.perf_counter()

        def on_round(p: Progress) -> None:
            model_ms, default_ms = p.model_seconds() * 1e3, p.default_seconds() * 1e3
            self.curve.append((p.elapsed_s, p.trials, p.model_seconds()))
            self.default_model_s = p.default_seconds()
            progress(
                f"[{p.elapsed_s:6.1f} s / {_budget(seconds)}] trials {p.trials}/{trials}  "
                f"est. model {model_ms:.3f} ms  default {default_ms:.3f} ms  "
                f"speedup {default_ms / model_ms:.3f}x"
            )

        scheduler = Scheduler(
            self.states,
            runner,
            self._record,
            trials=trials,
            seconds=seconds,
            batch=self.batch,
            strategy=self.strategy,
            seed=self.seed,
            on_round=on_round,
            started=started,
        )
        try:
            scheduler.run()
            if self.finalists > 1:
                self._confirm(runner, progress)
        except KeyboardInterrupt:
            return True
        finally:
            runner.close()
        return False

    def _confirm(self, runner: Runner, progress: Callable[[str], None]) -> None:
        """Re-measures each tuned task's `finalists` fastest configs and its analytical
        default interleaved, with CONFIRM_REPEATS repeats (TUNING.md section 6); these records carry
        `meta.confirmation` and lookup prefers them, so the applied best is decided side by
        side, not across a search whose load changed under it."""
        for state in self.states:
            ranked = sorted(
                ((c, r.seconds) for c, r in state.measured.items() if r.ok), key=lambda i: i[1]
            )
            if state.task.key not in self.touched or len(ranked) < 2:
                continue
            # the analytical default always runs beside them: a record is applied only when it
            # beat the default side by side, never because the default drew a loaded moment
            configs = [c for c, _ in ranked[: self.finalists]]
            default = state.measured.get(state.task.default)
            if default is not None and default.ok and state.task.default not in configs:
                configs.append(state.task.default)
            results = runner.confirm(state.task, configs, CONFIRM_REPEATS)
            for config, result in zip(configs, results, strict=True):
                state.measured[config] = result
                if result.ok:
                    state.confirmed.add(config)
            self._record(state, configs, results, confirmation=True)
            best = state.best()
            if best is not None:
                progress(
                    f"confirmed {state.task.name}: {best[0].describe()} {best[1] * 1e3:.3f} ms "
                    f"(finalists {', '.join(c.describe() for c in configs)}, interleaved)"
                )

    def check_in_model(self, tasks: int, progress: Callable[[str], None]) -> None:
        """For the `tasks` heaviest tasks measured as standalone kernels: their finalists
        (the fastest configs and the default) re-measured inside the whole model, side by
        side; says whether the standalone best is also the best in the model (within
        IN_MODEL_MATCH). The in-model times are recorded (`meta.in_model`), and lookup applies
        the fastest of them: a standalone best that loses in the model gives way, to the
        default when the default won there."""
        alone = [s for s in self.states if not s.in_model and s.best() is not None]
        alone.sort(key=lambda s: -s.task.weight * (s.best_seconds() or 0.0))
        if not alone or tasks <= 0 or self.runner_kind == "fake":
            return
        inputs = random_inputs(self.model, self.seed)
        reference = reference_outputs(self.model, inputs)
        runner = self._model_runner(inputs, reference)
        lines = [
            "| task | standalone best | in model: standalone best ms | in model: fastest "
            "finalist | ratio | same best | standalone gain over default | in-model gain "
            "| applied |",
            "| --- | --- | --: | --- | --: | --- | --: | --: | --- |",
        ]
        try:
            for state in alone[:tasks]:
                ranked = sorted(
                    ((c, r.seconds) for c, r in state.measured.items() if r.ok),
                    key=lambda i: i[1],
                )
                # the applied best (a confirmed finalist, which need not be the fastest raw
                # search trial) first, then the fastest trials and the default
                chosen = state.best()
                first = [chosen[0]] if chosen else []
                fastest_trials = [c for c, _ in ranked[: self.finalists]]
                configs = list(dict.fromkeys([*first, *fastest_trials, state.task.default]))
                results = runner.confirm(state.task, configs, CONFIRM_REPEATS)
                self._record(state, configs, results, confirmation=True, in_model=True)
                timed = [(c, r.seconds) for c, r in zip(configs, results, strict=True) if r.ok]
                best = state.best()
                ours = next((t for c, t in timed if best and c == best[0]), None)
                if best is None or ours is None:
                    # a failure in the model that the kernel did not show: say it, never skip
                    failed = next((r for r in results if not r.ok), None)
                    why = f"{failed.error}: {failed.detail}" if failed else "not measured"
                    lines.append(f"| {state.task.name} | - | failed in the model ({why}) ||||||")
                    progress(f"in model: {lines[-1]}")
                    continue
                fastest = min(timed, key=lambda i: i[1])
                ratio = ours / fastest[1]
                same = "yes" if ratio <= 1 + IN_MODEL_MATCH else "no"
                # the isolated gain against what the model shows of it (TUNING.md section 2:
                # isolated gains that do not show up end to end are reported)
                default = state.default_seconds()
                in_model = next((t for c, t in timed if c == state.task.default), None)
                alone_gain = f"{default / best[1]:.3f}x" if default else "-"
                model_gain = f"{in_model / ours:.3f}x" if in_model else "-"
                applied = "default" if fastest[0] == state.task.default else fastest[0].describe()
                line = (
                    f"| {state.task.name} | {best[0].describe()} | {ours * 1e3:.3f} "
                    f"| {fastest[0].describe()} {fastest[1] * 1e3:.3f} | {ratio:.3f} | {same} "
                    f"| {alone_gain} | {model_gain} | {applied} |"
                )
                lines.append(line)
                progress(f"in model: {line}")
        finally:
            runner.close()
        self.in_model_lines = lines

    def _model_runner(self, inputs: list[np.ndarray], reference: list[np.ndarray]) -> Runner:
        """What times a task's configs inside the whole model (`check_in_model`)."""
        return LocalRunner(
            self.model.SerializeToString(), self.target.tag, self.threads, inputs, reference
        )

    def _record(
        self,
        state: TaskState,
        configs: Sequence[KernelConfig],
        results: Sequence[Result],
        confirmation: bool = False,
        in_model: bool = False,
    ) -> None:
        records: list[Record] = []
        self.touched.add(state.task.key)
        for config, result in zip(configs, results, strict=True):
            self.trial += 0 if confirmation else 1
            pipeline = with_config(self.target, state.task.key, config).pipeline().spec()
            records.append(
                Record(
                    key=state.task.key,
                    anchor_key=state.task.anchor_key,
                    desc=state.task.desc,
                    target={k: v for k, v in self.info.to_json().items()},
                    target_fp=self.fp,
                    space=SPACE,
                    config=config,
                    pipeline=pipeline,
                    result=result,
                    meta={
                        **self._meta(),
                        **({"confirmation": True} if confirmation else {}),
                        **({"in_model": True} if in_model else {}),
                    },
                )
            )
            if result.error is not None:
                self.bug_lines.append(
                    f"code-generation bug ({result.error}) in {state.task.name}, "
                    f"{config.describe()}: {result.detail}\n"
                    f"  reproduce: terrace-opt -p '{pipeline}'"
                )
        self.database.append(records)

    def _meta(self) -> dict[str, object]:
        return {
            "trial": self.trial,
            "strategy": self.strategy,
            "seed": self.seed,
            "runner": self.runner_kind,
            "host": hashlib.sha256(platform.node().encode()).hexdigest()[:16],
            "utc": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        }

    def bugs(self) -> list[str]:
        return self.bug_lines

    def table(self) -> str:
        lines = [
            "| task | weight | trials | default ms | best ms | IQR / median | GFLOP/s | speedup "
            "| best config | converged |",
            "| --- | --: | --: | --: | --: | --: | --: | --: | --- | --- |",
        ]
        for state in self.states:
            best, default = state.best(), state.default_seconds()
            best_ms = f"{best[1] * 1e3:.3f}" if best else "-"
            default_ms = f"{default * 1e3:.3f}" if default else "-"
            # a candidate timed as the whole model: per-task GFLOP/s only for one task
            alone = not state.in_model or len(self.states) == 1
            gflops = f"{state.task.shape.flops / best[1] / 1e9:.1f}" if best and alone else "-"
            speedup = f"{default / best[1]:.3f}x" if best and default else "-"
            config = best[0].describe() if best else "-"
            spread = "-"
            if best is not None:
                result = state.measured[best[0]]
                if result.iqr_s is not None and result.median_s:
                    spread = f"{result.iqr_s / result.median_s:.1%}"
                config += " (confirmed)" if best[0] in state.confirmed else ""
            lines.append(
                f"| {state.task.name} | {state.task.weight} | {state.trials} | {default_ms} | "
                f"{best_ms} | {spread} | {gflops} | {speedup} | {config} | {state.converged} |"
            )
        return "\n".join(lines)

    def time_ort_at_start(self) -> None:
        """onnxruntime's fastest repeat before tuning: `compare` reports its drift to the end
        (TUNING.md criterion 8: speedups come with the machine's drift)."""
        from ..tools.tune_command import ort_session, time_alternating

        inputs = random_inputs(self.model, self.seed)
        session = ort_session(self.model, self.threads)
        feeds = {i.name: x for i, x in zip(session.get_inputs(), inputs, strict=True)}
        (times,) = time_alternating([lambda: session.run(None, feeds)], rounds=3)
        self.ort_start_s = min(times)

    def compare(self, onnxruntime: bool) -> str:
        """The untuned model, the tuned one (this database) and onnxruntime, timed in
        alternating rounds in this process; a markdown table."""
        from ..compiler import compile
        from ..tools.tune_command import median_ms, ort_session, time_alternating

        inputs = random_inputs(self.model, self.seed)
        untuned = compile(self.model, self.target, self.threads, cache=False)
        tuned = compile(
            self.model, self.target, self.threads, cache=False, tuning_db=self.database.path
        )
        calls: list[Callable[[], object]] = [lambda: untuned(*inputs), lambda: tuned(*inputs)]
        names = ["terrace (analytical defaults)", "terrace (tuned)"]
        if onnxruntime:
            session = ort_session(self.model, self.threads)
            feeds = {i.name: x for i, x in zip(session.get_inputs(), inputs, strict=True)}
            calls.append(lambda: session.run(None, feeds))
            names.append("onnxruntime")
        times = time_alternating(calls, rounds=COMPARE_ROUNDS)
        reference = np.asarray(untuned(*inputs)[0])
        agree = np.max(np.abs(np.asarray(tuned(*inputs)[0]) - reference))
        lines = [
            "| engine | median ms | min ms | median / ort | min / ort |",
            "| --- | --: | --: | --: | --: |",
        ]
        last, fastest = median_ms(times[-1]), min(times[-1])
        self.ort_s = fastest if onnxruntime else None
        for name, measured in zip(names, times, strict=True):
            ratio = f"{median_ms(measured) / last:.3f}x" if onnxruntime else "-"
            by_min = f"{min(measured) / fastest:.3f}x" if onnxruntime else "-"
            lines.append(
                f"| {name} | {median_ms(measured):.3f} | {min(measured) * 1e3:.3f} | {ratio} "
                f"| {by_min} |"
            )
        lines.append(f"\nmax |tuned - untuned| = {agree:.3g}; {self.threads} thread(s)")
        if onnxruntime:
            per_round = len(times[-1]) // COMPARE_ROUNDS
            first, final = min(times[-1][:per_round]), min(times[-1][-per_round:])
            lines.append(
                f"onnxruntime drift: first to last round {final / first - 1:+.1%}"
                + (
                    f"; before tuning {self.ort_start_s * 1e3:.3f} ms to now "
                    f"{fastest * 1e3:.3f} ms ({fastest / self.ort_start_s - 1:+.1%})"
                    if self.ort_start_s
                    else ""
                )
            )
        return "\n".join(lines)

    def task_curves(self) -> dict[str, list[float]]:
        """Per task, its best time over its default after each search trial (confirmation
        re-measurements left out), in the order the database holds them."""
        curves: dict[str, list[float]] = {}
        for state in self.states:
            records = [
                r
                for r in self.database.for_task(state.task.key, self.fp, SPACE)
                if not r.meta.get("confirmation")
            ]
            # the default's search trial, as every other point of the curve
            default = next(
                (
                    r.result.seconds
                    for r in records
                    if r.config == state.task.default and r.result.ok
                ),
                None,
            )
            best, curve = float("inf"), list[float]()
            for record in records:
                if record.result.ok:
                    best = min(best, record.result.seconds)
                if default and best < float("inf"):
                    curve.append(best / default)
            curves[state.task.name] = curve
        return curves

    def plot(self, path: Path) -> None:
        """The convergence PNG: each task's best over its default against its trials; the
        estimated model latency against wall seconds, with the defaults' and onnxruntime's
        latency dashed."""
        from .plot import Panel, Series, write_png

        tasks = Panel(
            "best / analytical default, per task",
            "trials of the task",
            "best / default",
            [
                Series(name, range(1, len(curve) + 1), curve)
                for name, curve in self.task_curves().items()
                if curve
            ],
        )
        lines: list[tuple[float, str]] = []
        whole = any(s.in_model for s in self.states)
        if self.default_model_s:
            lines.append((self.default_model_s * 1e3, "analytical defaults"))
        # onnxruntime times the whole model: comparable with the curve only when the curve is
        # the whole model's (a sum of standalone kernels leaves out pooling, softmax, ...)
        if self.ort_s and whole:
            lines.append((self.ort_s * 1e3, "onnxruntime (fastest repeat)"))
        model = Panel(
            "estimated model latency"
            if whole
            else "contraction kernels: sum of weight x best (onnxruntime: see --compare-ort)",
            "wall seconds",
            "ms",
            [Series("terrace tuned", [c[0] for c in self.curve], [c[2] * 1e3 for c in self.curve])],
            lines,
        )
        title = f"terrace tune, {self.info.cpu}, {self.threads} thread(s), {self.strategy}"
        write_png(path, title, [tasks, model])

    def report(self, summary: str) -> str:
        machine = f"{platform.processor() or platform.machine()}, {self.info.cpu}"
        parts = [
            "# terrace tune report",
            "",
            f"- machine: {machine}; target fingerprint {self.fp}",
            f"- threads: {self.threads}; strategy {self.strategy}; seed {self.seed}",
            "",
            "## Tasks",
            "",
            self.table(),
            "",
            "## Errors (code-generation bugs)",
            "",
            *(self.bug_lines or ["none"]),
        ]
        parts += ["", "## Kernels the tuner did not improve", "", self.unimproved()]
        parts += ["", "## Noise of the final bests", "", self.noise_table()]
        parts += ["", "## Drift guard", "", self.drift_table()]
        if self.in_model_lines:
            parts += ["", "## Standalone best against in-model best", "", *self.in_model_lines]
        parts += ["", "## The analytical model against the measurements", "", self.rank_table()]
        if summary:
            parts += ["", "## End to end", "", summary]
        return "\n".join(parts) + "\n"

    def unimproved(self) -> str:
        """The tasks whose best is not faster than their default by more than IMPROVED, each
        with the reason: a space with nothing else in it, the default best of everything
        measured, a gain inside the noise, or a search cut short by the budget."""
        lines: list[str] = []
        for state in self.states:
            best, default = state.best(), state.default_seconds()
            if best is None or default is None:
                lines.append(f"- {state.task.name}: nothing measured (budget spent elsewhere)")
                continue
            gain = default / best[1] - 1
            if gain > IMPROVED:
                continue
            size = len(state.space.configs())
            result = state.measured[best[0]]
            spread = (result.iqr_s or 0.0) / (result.median_s or best[1])
            if size <= 1:
                why = "the space holds no config other than the default for this shape"
            elif best[0] == state.task.default:
                why = (
                    f"the default is the fastest of the {state.trials} configs measured "
                    f"(of {size} in the space)"
                )
            else:
                why = (
                    f"the best ({best[0].describe()}) gains {gain:+.1%}, inside the noise "
                    f"(IQR / median {spread:.1%})"
                )
            if not state.converged and state.trials < size:
                why += f"; the search stopped at the budget after {state.trials} trials"
            lines.append(f"- {state.task.name} (weight {state.task.weight}): {why}")
        return "\n".join(lines) or f"none: every task gained over {IMPROVED:.0%}"

    def noise_table(self) -> str:
        """TUNING.md criterion 8: IQR / median of each task's final (re-measured) best; the
        criterion holds for kernels of at least 1 ms under 3%."""
        lines = [
            "| task | best ms (median) | IQR / median | re-measured side by side |",
            "| --- | --: | --: | --- |",
        ]
        held, counted = 0, 0
        for state in self.states:
            best = state.best()
            if best is None:
                continue
            result = state.measured[best[0]]
            if result.median_s is None or result.iqr_s is None:
                continue
            spread = result.iqr_s / result.median_s
            if result.median_s >= 1e-3:
                counted += 1
                held += spread < NOISE_LIMIT
            lines.append(
                f"| {state.task.name} | {result.median_s * 1e3:.3f} | {spread:.1%} "
                f"| {'yes' if best[0] in state.confirmed else 'no'} |"
            )
        lines.append(
            f"\n{held}/{counted} kernels of at least 1 ms have IQR / median under {NOISE_LIMIT:.0%}"
        )
        return "\n".join(lines)

    def drift_table(self) -> str:
        """The drift guard's re-measurements of each task's default (TUNING.md section 6)."""
        lines = [
            "| task | checks | default drift (min .. max) | suspect batches re-measured |",
            "| --- | --: | --- | --: |",
        ]
        for state in self.states:
            if not state.drift:
                continue
            low, high = min(state.drift) - 1, max(state.drift) - 1
            lines.append(
                f"| {state.task.name} | {len(state.drift)} | {low:+.1%} .. {high:+.1%} "
                f"| {state.suspect} |"
            )
        if len(lines) == 2:
            return f"no task ran {DRIFT_EVERY} batches: nothing re-measured"
        return "\n".join(lines)

    def drift_summary(self) -> str:
        """One line: how far the defaults drifted and how many batches were re-measured."""
        ratios = [r for s in self.states for r in s.drift]
        if not ratios:
            return "drift guard: no task ran 4 batches"
        worst = max(ratios, key=lambda r: abs(r - 1)) - 1
        suspect = sum(s.suspect for s in self.states)
        return (
            f"drift guard: {len(ratios)} re-measurements of the defaults, largest drift "
            f"{worst:+.1%}, {suspect} suspect batch(es) re-measured"
        )

    def rank_table(self) -> str:
        """Per task, the Spearman rank correlation of the analytical estimate with the measured
        times of its search trials (TUNING.md section 4: it tells when the model misleads the
        ranking)."""
        lines = [
            "| task | measured configs | rank correlation (estimate, measured) |",
            "| --- | --: | --: |",
        ]
        for state in self.states:
            pairs = [
                (state.space.estimate(c), r.seconds) for c, r in state.measured.items() if r.ok
            ]
            rho = rank_correlation(pairs)
            shown = f"{rho:+.2f}" if rho is not None else "-"
            lines.append(f"| {state.task.name} | {len(pairs)} | {shown} |")
        return "\n".join(lines)


def select_tasks(
    tasks: Sequence[Task], info: TargetInfo, only: Sequence[str], top: int
) -> list[Task]:
    """`--only KEY...` (a key or its prefix, with or without `sha256:`) and `--tasks top:K`
    (the K heaviest by weight x analytical estimate); neither: every task."""
    chosen = list(tasks)
    if only:
        prefixes = [p if p.startswith("sha256:") else f"sha256:{p}" for p in only]
        chosen = [t for t in chosen if any(t.key.startswith(p) for p in prefixes)]
        if not chosen:
            raise TerraceError(f"--only {' '.join(only)}: no task of the model has that key")
    if top > 0:

        def share(task: Task) -> float:
            return task.weight * Space(task.shape, info).estimate(task.default)

        chosen = sorted(chosen, key=share, reverse=True)[:top]
    return chosen


def _budget(seconds: float) -> str:
    return "-" if seconds == float("inf") else f"{seconds:.0f} s"


def rank_correlation(pairs: Sequence[tuple[float, float]]) -> float | None:
    """Spearman's rho of the pairs (average ranks for ties); None under 3 pairs or when one
    side is constant."""
    if len(pairs) < 3:
        return None
    first = _ranks([a for a, _ in pairs])
    second = _ranks([b for _, b in pairs])
    if np.std(first) == 0 or np.std(second) == 0:
        return None
    return float(np.corrcoef(first, second)[0, 1])


def _ranks(values: Sequence[float]) -> np.ndarray:
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(len(values), dtype=float)
    for value in set(values):  # ties share their mean rank
        tied = [i for i, v in enumerate(values) if v == value]
        if len(tied) > 1:
            ranks[tied] = ranks[tied].mean()
    return ranks
