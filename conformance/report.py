"""Summaries of a conformance run: totals, pass and fail counts per op and opset, failure
reasons by count, as console text and as the markdown of docs/conformance.md."""

from __future__ import annotations

import platform
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from .cases import MODEL_KINDS
from .outcomes import Outcome


@dataclass(frozen=True)
class RunInfo:
    """How the run was made, for the report's header."""

    jobs: int
    seconds: float
    name_filter: str = ""
    onnx_version: str = ""
    kinds: tuple[str, ...] = ()


@dataclass(frozen=True)
class Tally:
    passed: int
    total: int
    folded: int = 0
    """Passes whose outputs were all folded at import (no compiled code computed them)."""
    onnx_folded: int = 0
    """Of those, the ones that needed onnx's reference kernels for some fold."""

    @property
    def compiled(self) -> int:
        return self.passed - self.folded

    def passes(self) -> str:
        """How the passes came about: compiled, or folded entirely at import."""
        if not self.folded:
            return f"{self.passed} compiled"
        by_onnx = f" ({self.onnx_folded} of them by onnx's kernels)" if self.onnx_folded else ""
        return f"{self.compiled} compiled, {self.folded} folded at import{by_onnx}"

    @property
    def failed(self) -> int:
        return self.total - self.passed

    def rate(self) -> str:
        return f"{100 * self.passed / self.total:.1f}%" if self.total else "-"


def tally(outcomes: Sequence[Outcome]) -> Tally:
    folded = [o for o in outcomes if o.passed and o.folded]
    return Tally(
        sum(o.passed for o in outcomes),
        len(outcomes),
        len(folded),
        sum(bool(o.onnx_folded_ops) for o in folded),
    )


def folded_cases(outcomes: Sequence[Outcome]) -> list[Outcome]:
    """The passes whose outputs were all folded at import, by name."""
    return sorted((o for o in outcomes if o.passed and o.folded), key=lambda o: o.name)


def by_op(outcomes: Sequence[Outcome]) -> list[tuple[str, int, Tally]]:
    """(op, opset, tally) per op and opset, sorted by op then opset."""
    groups: dict[tuple[str, int], list[Outcome]] = {}
    for outcome in outcomes:
        groups.setdefault((outcome.op, outcome.opset), []).append(outcome)
    return [(op, opset, tally(group)) for (op, opset), group in sorted(groups.items())]


def reason_counts(outcomes: Sequence[Outcome]) -> list[tuple[str, int]]:
    """Each failure reason (split where one case has several) with its number of cases, most
    frequent first."""
    counts: Counter[str] = Counter()
    for outcome in outcomes:
        if outcome.passed:
            continue
        for reason in outcome.reason.split("; "):
            counts[reason] += 1
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def status_counts(outcomes: Sequence[Outcome]) -> list[tuple[str, int]]:
    return sorted(Counter(o.status for o in outcomes).items(), key=lambda item: -item[1])


def console(outcomes: Sequence[Outcome], info: RunInfo) -> str:
    nodes = [o for o in outcomes if o.kind == "node"]
    models = [o for o in outcomes if o.kind != "node"]
    lines = [f"{'op':32} {'opset':>5} {'pass':>5} {'fail':>5}"]
    for op, opset, counts in by_op(outcomes):
        lines.append(f"{op:32} {opset:>5} {counts.passed:>5} {counts.failed:>5}")
    lines.append("")
    lines.append("failure reasons:")
    lines += [f"  {count:5}  {reason}" for reason, count in reason_counts(outcomes)]
    lines.append("")
    statuses = ", ".join(f"{count} {status}" for status, count in status_counts(outcomes))
    lines.append(f"statuses: {statuses}")
    for label, group in (("node tests", nodes), ("model tests", models)):
        counts = tally(group)
        lines.append(
            f"{label}: {counts.passed} / {counts.total} pass ({counts.rate()}): {counts.passes()}"
        )
    rejudged = sum(1 for o in outcomes if o.note)
    if rejudged:
        lines.append(
            f"{rejudged} cases whose expected outputs depend on the installed ml_dtypes were "
            "judged by Terrace's rules and onnxruntime"
        )
    compile_seconds = sum(o.compile_seconds for o in outcomes)
    cached = sum(o.from_cache for o in outcomes)
    lines.append(
        f"compiling: {compile_seconds:.1f} s, the sum of the cases' compile stages "
        f"({cached} compiled models from the cache)"
    )
    lines.append(f"{len(outcomes)} cases in {info.seconds:.1f} s with {info.jobs} workers")
    return "\n".join(lines)


def markdown(outcomes: Sequence[Outcome], info: RunInfo) -> str:
    nodes = [o for o in outcomes if o.kind == "node"]
    models = [o for o in outcomes if o.kind != "node"]
    node_tally, model_tally = tally(nodes), tally(models)
    node_ops = {o.op for o in nodes}
    passing_ops = {op for op in node_ops if all(o.passed for o in nodes if o.op == op)}
    lines = [
        "# ONNX conformance",
        "",
        "Generated by `terrace conformance --markdown docs/conformance.md` from a real run of "
        "onnx's own backend test cases against `terrace.backend` on the cpu target; do not edit "
        "by hand. Each case is compiled, run on onnx's inputs and compared with onnx's outputs "
        "as onnx's runner compares them (shapes, dtypes, `assert_allclose` with the case's "
        "rtol and atol; bfloat16 and float16 outputs within two of their ulps, since onnx "
        "rounds every step of its float16 expected values; DFT outputs within one float32 ulp "
        "of the largest, since onnx computes them with numpy's float32 fft). Inputs that give "
        "axes, shapes, scales or trip counts are bound to the case's values when compiling "
        "(`SpecializingRep`). Failures listed "
        'here are explicit "unsupported" (or compile) errors; a wrong result fails the suite.',
        "",
        f"- onnx {info.onnx_version}, {platform.machine()}, {info.jobs} workers, "
        f"{info.seconds:.0f} s ({sum(o.from_cache for o in outcomes)} compiled models from the "
        f"cache); kinds: {', '.join(info.kinds)}"
        + (f"; cases matching `{info.name_filter}`" if info.name_filter else ""),
        f"- node tests: **{node_tally.passed} / {node_tally.total} pass ({node_tally.rate()})**: "
        f"{node_tally.passes()}; {len(node_ops)} ops tested, {len(passing_ops)} of them pass "
        "every case",
        f"- model tests: **{model_tally.passed} / {model_tally.total} pass "
        f"({model_tally.rate()})**: {model_tally.passes()}",
        "- outcomes: "
        + ", ".join(f"{count} {status}" for status, count in status_counts(outcomes)),
        "",
        "## Model tests",
        "",
        "| kind | pass | fail |",
        "| --- | ---: | ---: |",
    ]
    for kind in sorted({o.kind for o in models}):
        counts = tally([o for o in models if o.kind == kind])
        lines.append(f"| {kind} | {counts.passed} | {counts.failed} |")
    left_out = [kind for kind in MODEL_KINDS if kind not in info.kinds]
    if left_out:
        lines += ["", f"Not run here: {', '.join(left_out)}."]
    rejudged = [o for o in outcomes if o.note]
    if rejudged:
        lines += [
            "",
            "## Cases judged by Terrace's rules",
            "",
            "onnx computes these cases' expected outputs with whatever ml_dtypes is installed, "
            "whose low-precision casts changed between releases; each was judged instead by "
            "Terrace's own rules (the ONNX spec, `frontend/onnx/lowprecision_formats.py`) and by "
            "onnxruntime, both of which Terrace's outputs must equal.",
            "",
            "| case | status | how |",
            "| --- | --- | --- |",
        ]
        lines += [f"| {o.name} | {o.status} | {o.note} |" for o in rejudged]
    lines += _folded_section(outcomes)
    lines += ["", "## Failure reasons", "", "| cases | reason |", "| ---: | --- |"]
    lines += [f"| {count} | `{reason}` |" for reason, count in reason_counts(outcomes)]
    lines += [
        "",
        "## Node tests per op",
        "",
        "| op | opset | pass | of them folded at import | fail |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for op, opset, counts in by_op(nodes):
        lines.append(f"| {op} | {opset} | {counts.passed} | {counts.folded} | {counts.failed} |")
    lines.append("")
    return "\n".join(lines)


def _folded_section(outcomes: Sequence[Outcome]) -> list[str]:
    """The passes that no compiled code took part in: the importer folded every output (an
    empty input's reduction, an EyeLike, a constant-only graph). They pass by the importer's
    constant folding, with Terrace's nn reference semantics unless the table names onnx's."""
    folded = folded_cases(outcomes)
    lines = [
        "",
        "## Folded at import",
        "",
        f"{len(folded)} passing cases were folded entirely at import: every output is a "
        "constant of the imported module, computed by Terrace's nn reference semantics "
        "(`dialects/nn/reference/`, `frontend/onnx/folding.py`) unless the last column names "
        "ops that onnx's reference kernels evaluated. They are not counted as compiled passes.",
    ]
    if not folded:
        return lines
    lines += ["", "| case | op | folded by onnx's kernels |", "| --- | --- | --- |"]
    for outcome in folded:
        by_onnx = ", ".join(outcome.onnx_folded_ops) or "-"
        lines.append(f"| {outcome.name} | {outcome.op} | {by_onnx} |")
    return lines
