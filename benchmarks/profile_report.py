"""`terrace profile`'s outputs: the table, the JSON, the Chrome trace and the roofline PNG.

The trace is the Trace Event Format that chrome://tracing and ui.perfetto.dev read: one
complete event (`"ph": "X"`, microseconds) per profiled call, per entry and per kernel call,
nested by time on one track, with the kernel's symbol, its ONNX nodes and bytes as arguments.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from ..errors import TerraceError
from .ort_profile import GroupComparison, OrtProfile, compare_groups
from .peak import Roofs
from .profile import Profile, Row

LABELLED = 8
"""The slowest rows that the roofline numbers and names."""


def table(profile: Profile, roofs: Roofs | None, ort: OrtProfile | None = None) -> str:
    """The rows, slowest first, with their time, share of the total, GFLOP/s and share of the
    peak, then the sum next to the measured latencies (and, with `ort`, the comparison with
    onnxruntime node group by node group)."""
    total = profile.total_seconds
    header = ["ms", "share", "GFLOP/s", "% peak", "calls", "ONNX nodes"]
    body = [_cells(row, total, roofs) for row in sorted(profile.rows, key=lambda r: -r.seconds)]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header) - 1)]
    lines = [_line(cells, widths) for cells in [header, *body]]
    plain = profile.plain_median
    runs = len(profile.plain_seconds)
    lines += [
        "",
        f"sum of the rows          {total * 1e3:9.3f} ms",
        f"instrumented latency     {profile.instrumented_median * 1e3:9.3f} ms (median)",
        f"latency without marks    {plain * 1e3:9.3f} ms (median of {runs} runs); "
        f"the sum is {100 * (total - plain) / plain:+.1f}% off it",
    ]
    if ort is not None:
        lines.append(
            f"onnxruntime latency      {ort.latency_median * 1e3:9.3f} ms (median of "
            f"{len(ort.latencies)} runs with its profiler on)"
        )
    if roofs is not None:
        threads = f"{roofs.threads} thread" + ("s" if roofs.threads > 1 else "")
        lines.append(
            f"roofs                    {roofs.peak_flops / 1e9:9.1f} GFLOP/s peak ({threads}), "
            f"{roofs.bandwidth / 1e9:.1f} GB/s memory"
        )
    if ort is not None:
        lines += ["", *_comparison_table(profile, ort)]
    return "\n".join(lines)


def to_json(
    profile: Profile, roofs: Roofs | None, about: dict[str, object], ort: OrtProfile | None = None
) -> str:
    """The profile as JSON: `about` (model, target, threads), the latencies in seconds, the
    roofs and the rows in the order they run (with onnxruntime's seconds for the same nodes
    when `ort` is given)."""
    data: dict[str, object] = {
        **about,
        "runs": len(profile.runs),
        "total_seconds": profile.total_seconds,
        "instrumented_median_seconds": profile.instrumented_median,
        "latency_median_seconds": profile.plain_median,
        "latency_seconds": list(profile.plain_seconds),
        "peak_flops": None if roofs is None else roofs.peak_flops,
        "memory_bytes_per_second": None if roofs is None else roofs.bandwidth,
        "rows": [_row_json(row, profile.total_seconds, roofs) for row in profile.rows],
    }
    if ort is not None:
        data["ort_latency_median_seconds"] = ort.latency_median
        data["ort_unattributed_seconds"] = ort.unattributed_seconds
        data["vs_ort"] = [
            {
                "onnx_nodes": sorted(group.labels),
                "seconds": group.terrace_seconds,
                "ort_seconds": group.ort_seconds,
                "ratio": group.ratio,
            }
            for group in _groups(profile, ort)
        ]
    return json.dumps(data, indent=2)


def chrome_trace(profile: Profile, about: dict[str, object]) -> dict[str, object]:
    """Every profiled run as nested complete events, times from the first run's start."""
    origin = profile.runs[0].call_start
    names = {index: row.name for row in profile.rows for index in row.calls}
    events: list[dict[str, object]] = [
        {"ph": "M", "pid": 1, "tid": 1, "name": "thread_name", "args": {"name": "model call"}},
    ]

    def span(name: str, start: int, end: int, args: dict[str, object]) -> None:
        microseconds = {"ts": (start - origin) / 1e3, "dur": (end - start) / 1e3}
        event: dict[str, object] = {"name": name, "ph": "X", "pid": 1, "tid": 1, "args": args}
        events.append(event | microseconds)

    for number, run in enumerate(profile.runs):
        span(f"run {number}", run.call_start, run.call_end, {})
        span("@main", run.entry_start, run.entry_end, {})
        for index, (start, end) in enumerate(run.kernel_spans()):
            call = profile.calls[index]
            args: dict[str, object] = {
                "kernel": call.kernel,
                "onnx_nodes": list(call.nodes),
                "bytes": call.bytes,
            }
            span(names.get(index, call.kernel), start, end, args)
    return {"traceEvents": events, "displayTimeUnit": "ms", "otherData": about}


def write_trace(profile: Profile, about: dict[str, object], path: Path) -> None:
    _write(path, json.dumps(chrome_trace(profile, about)))


def write_roofline(profile: Profile, roofs: Roofs, path: Path, title: str) -> None:
    """A log-log roofline: each row with FLOPs at its intensity (FLOP per byte its calls
    pass) and GFLOP/s, under the peak and the memory roof. The memory roof is what one
    thread streams from DRAM: a row whose buffers stay in the caches can sit above it."""
    try:
        import matplotlib
    except ImportError:
        raise TerraceError(
            "the roofline plot needs matplotlib: pip install 'terrace[bench]'"
        ) from None
    matplotlib.use("Agg")  # no display: write the file only
    from matplotlib import pyplot

    points = [(row, row.intensity(), row.gflops()) for row in profile.kernel_rows()]
    plotted = [(row, x, y) for row, x, y in points if x is not None and y is not None]
    figure, axes = pyplot.subplots(figsize=(9, 6))
    xs = [x for _, x, _ in plotted] or [1.0]
    low, high = min(min(xs) / 2, 0.1), max(max(xs) * 2, 100.0)
    ridge = roofs.peak_flops / roofs.bandwidth
    roof_x = [low, ridge, high]
    roof_y = [low * roofs.bandwidth / 1e9, roofs.peak_flops / 1e9, roofs.peak_flops / 1e9]
    axes.plot(roof_x, roof_y, color="black", linewidth=1.5, label="roofs")
    total = profile.total_seconds
    sizes = [20 + 600 * row.seconds / total for row, _, _ in plotted]
    axes.scatter([x for _, x, _ in plotted], [y for _, _, y in plotted], s=sizes, alpha=0.6)
    # the slowest rows by rank, named in a box: names beside the points overlap
    slowest = sorted(plotted, key=lambda p: -p[0].seconds)[:LABELLED]
    legend: list[str] = []
    for rank, (row, x, y) in enumerate(slowest, start=1):
        axes.annotate(str(rank), (x, y), fontsize=8, xytext=(5, 3), textcoords="offset points")
        legend.append(f"{rank:>2}  {_short(row)}  {100 * row.seconds / total:.1f}%")
    if legend:
        box = {"facecolor": "white", "alpha": 0.8, "edgecolor": "gray"}
        axes.text(
            0.98,
            0.03,
            "\n".join(legend),
            transform=axes.transAxes,
            fontsize=8,
            ha="right",
            va="bottom",
            bbox=box,
            family="monospace",
        )
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("FLOP per byte of the buffers each kernel call passes")
    axes.set_ylabel("GFLOP/s")
    axes.set_title(
        f"{title}: {roofs.peak_flops / 1e9:.0f} GFLOP/s peak, "
        f"{roofs.bandwidth / 1e9:.1f} GB/s (area: share of time)"
    )
    axes.grid(True, which="both", alpha=0.3)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        figure.savefig(path, dpi=120)
    except OSError as error:
        raise TerraceError(f"cannot write {path}: {error.strerror}") from None
    finally:
        pyplot.close(figure)


# -- helpers ---------------------------------------------------------------------------------


def _cells(row: Row, total: float, roofs: Roofs | None) -> list[str]:
    gflops = row.gflops()
    peak = None if gflops is None or roofs is None else 100 * gflops * 1e9 / roofs.peak_flops
    return [
        f"{row.seconds * 1e3:.3f}",
        f"{100 * row.seconds / total:.1f}%" if total > 0 else "-",
        "-" if gflops is None else f"{gflops:.1f}",
        "-" if peak is None else f"{peak:.1f}%",
        str(len(row.calls)) if row.calls else "-",
        row.name,
    ]


def _groups(profile: Profile, ort: OrtProfile) -> list[GroupComparison]:
    rows = [(frozenset(n.label for n in row.nodes), row.seconds) for row in profile.kernel_rows()]
    return compare_groups(rows, ort)


def _comparison_table(profile: Profile, ort: OrtProfile) -> list[str]:
    """Terrace against onnxruntime per group of nodes that neither side's fusion crosses,
    furthest behind first."""
    groups = _groups(profile, ort)
    names = {node.label: node for row in profile.rows for node in row.nodes}
    order = {label: index for index, label in enumerate(names)}  # the order rows first run

    def position(label: str) -> int:
        return order.get(label, len(order))

    header = ["ms", "ort ms", "x ort", "ONNX nodes (grouped where either side fuses)"]
    body = [
        [
            f"{group.terrace_seconds * 1e3:.3f}",
            f"{group.ort_seconds * 1e3:.3f}",
            "-" if group.ratio is None else f"{group.ratio:.2f}x",
            " + ".join(
                names[label].describe() if label in names else label
                for label in sorted(group.labels, key=position)
            ),
        ]
        for group in groups
    ]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header) - 1)]
    unattributed = ort.unattributed_seconds * 1e3
    return [
        "against onnxruntime, same nodes:",
        *(_line(cells, widths) for cells in [header, *body]),
        f"(onnxruntime also spent {unattributed:.3f} ms on nodes of its own, such as input "
        "layout reorders)",
    ]


def _line(cells: Sequence[str], widths: Sequence[int]) -> str:
    padded = [cell.rjust(width) for cell, width in zip(cells, widths, strict=False)]
    return "  ".join([*padded, cells[-1]])


def _row_json(row: Row, total: float, roofs: Roofs | None) -> dict[str, object]:
    gflops = row.gflops()
    return {
        "name": row.name,
        "seconds": row.seconds,
        "share": row.seconds / total if total > 0 else None,
        "onnx_nodes": [{"name": n.label, "op_type": n.op_type} for n in row.nodes],
        "kernels": list(row.kernels),
        "calls": len(row.calls),
        "flops": row.flops,
        "bytes": row.bytes,
        "gflops_per_second": gflops,
        "peak_share": None if gflops is None or roofs is None else gflops * 1e9 / roofs.peak_flops,
    }


def _short(row: Row) -> str:
    """A row's label on the plot: its first node, and how many more."""
    nodes = list(row.nodes)
    if not nodes:
        return row.name
    more = f" +{len(nodes) - 1}" if len(nodes) > 1 else ""
    return f"{nodes[0].describe()}{more}"


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    except OSError as error:
        raise TerraceError(f"cannot write {path}: {error.strerror}") from None
