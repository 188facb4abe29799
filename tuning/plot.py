"""Convergence plots (`terrace tune --plot`, `python -m terrace.tuning.convergence --plot`):
one PNG of side-by-side panels, drawn with matplotlib (the optional extra `terrace[tune]`).

The callers compute the curves; this module only draws them, so everything but the drawing is
tested without matplotlib.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import TerraceError


@dataclass(frozen=True)
class Series:
    label: str
    xs: Sequence[float]
    ys: Sequence[float]
    dotted: bool = False


@dataclass(frozen=True)
class Panel:
    title: str
    xlabel: str
    ylabel: str
    series: Sequence[Series]
    lines: Sequence[tuple[float, str]] = field(default_factory=tuple[tuple[float, str], ...])
    """Horizontal dashed lines: (y, label), e.g. onnxruntime's latency or the default."""


def require_matplotlib() -> None:
    """Raises the install hint when matplotlib is missing (before any tuning is spent)."""
    try:
        import matplotlib
    except ImportError:
        raise TerraceError("--plot needs matplotlib: pip install 'terrace[tune]'") from None
    del matplotlib


def write_png(path: str | Path, title: str, panels: Sequence[Panel]) -> None:
    require_matplotlib()
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(1, len(panels), figsize=(6.5 * len(panels), 4.8), squeeze=False)
    for ax, panel in zip(axes[0], panels, strict=True):
        for series in panel.series:
            style = ":" if series.dotted else "-"
            ax.plot(series.xs, series.ys, style, drawstyle="steps-post", label=series.label)
        for y, label in panel.lines:
            ax.axhline(y, linestyle="--", linewidth=1, color="grey")
            ax.annotate(label, (0, y), xycoords=("axes fraction", "data"), fontsize=8, va="bottom")
        ax.set_title(panel.title, fontsize=10)
        ax.set_xlabel(panel.xlabel)
        ax.set_ylabel(panel.ylabel)
        ax.grid(alpha=0.3)
        if panel.series:
            ax.legend(fontsize=7, loc="upper right")
    figure.suptitle(title, fontsize=11)
    figure.tight_layout()
    figure.savefig(str(path), dpi=110)
    pyplot.close(figure)
