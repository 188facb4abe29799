"""The benchmark's picture: Terrace's latency over onnxruntime's per workload, one bar per
thread count (and target), a line at parity; below 1, Terrace is faster. Drawn with matplotlib
(the `bench` extra), written as a PNG without a display."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..errors import TerraceError
from .measure import Measurement, thread_count


def write_ratio_plot(measurements: Sequence[Measurement], path: Path, title: str) -> None:
    """Bars of terrace/ort per workload (measurements without onnxruntime are left out)."""
    timed = [m for m in measurements if m.ratio is not None]
    if not timed:
        raise TerraceError("no ratio to plot: onnxruntime was not timed (--compare none)")
    try:
        import matplotlib
    except ImportError:
        raise TerraceError(
            "the ratio plot needs matplotlib: pip install 'terrace[bench]'"
        ) from None
    matplotlib.use("Agg")  # no display: write the file only
    from matplotlib import pyplot

    workloads = list(dict.fromkeys(m.workload for m in timed))
    series = list(dict.fromkeys((m.threads, m.target) for m in timed))
    width = 0.8 / len(series)
    figure, axes = pyplot.subplots(figsize=(max(6.0, 1.1 * len(workloads) + 2), 4.5))
    for index, (threads, target) in enumerate(series):
        ratios = {m.workload: m.ratio for m in timed if (m.threads, m.target) == (threads, target)}
        xs = [w + index * width - 0.4 + width / 2 for w in range(len(workloads))]
        heights = [ratios.get(name) or 0.0 for name in workloads]
        label = thread_count(threads) + (f" ({target})" if len(series) > 1 and target else "")
        axes.bar(xs, heights, width, label=label)
    axes.axhline(1.0, color="black", linewidth=1)
    axes.set_xticks(range(len(workloads)), workloads, rotation=30, ha="right")
    axes.set_ylabel("terrace / onnxruntime latency (median)")
    axes.set_title(title)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    pyplot.close(figure)
