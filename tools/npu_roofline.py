"""The roofline plot of `terrace npu-report --plot FILE.svg`: one point per NPU layer
(arithmetic intensity, achieved ops per cycle) under the roof `min(peak, AI x bandwidth)`,
on log-2 axes, as a standalone SVG (no plotting library)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any
from xml.sax.saxutils import escape

WIDTH, HEIGHT = 720, 460
LEFT, RIGHT, TOP, BOTTOM = 70, 20, 40, 50


def achieved_ops(row: dict[str, Any]) -> float:
    """Ops (2 per MAC) per cycle the layer reached."""
    return 2 * row["useful_macs"] / row["cycles"]


class _Axes:
    """Log-2 data coordinates to SVG pixels."""

    def __init__(self, x_range: tuple[float, float], y_range: tuple[float, float]) -> None:
        self.x0, self.x1 = (math.log2(v) for v in x_range)
        self.y0, self.y1 = (math.log2(v) for v in y_range)

    def x(self, value: float) -> float:
        share = (math.log2(value) - self.x0) / (self.x1 - self.x0)
        return LEFT + share * (WIDTH - LEFT - RIGHT)

    def y(self, value: float) -> float:
        share = (math.log2(value) - self.y0) / (self.y1 - self.y0)
        return HEIGHT - BOTTOM - share * (HEIGHT - TOP - BOTTOM)


def roofline_svg(
    rows: Sequence[dict[str, Any]], peak_ops: float, bandwidth: float, title: str
) -> str:
    """The plot; `peak_ops` in ops per cycle, `bandwidth` in DRAM bytes per cycle."""
    ridge = peak_ops / bandwidth
    intensities = [r["arithmetic_intensity"] for r in rows] or [ridge]
    reached = [achieved_ops(r) for r in rows] or [peak_ops]
    x_lo = 2.0 ** math.floor(math.log2(min(*intensities, ridge / 4)))
    x_hi = 2.0 ** math.ceil(math.log2(max(*intensities, ridge * 4)))
    y_lo = 2.0 ** math.floor(math.log2(min(*reached, x_lo * bandwidth)))
    y_hi = 2.0 ** math.ceil(math.log2(peak_ops * 1.5))
    axes = _Axes((x_lo, x_hi), (y_lo, y_hi))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'font-family="sans-serif" font-size="11">',
        f'<text x="{WIDTH / 2}" y="20" text-anchor="middle" font-size="13">{escape(title)}</text>',
        *_ticks(axes, (x_lo, x_hi), (y_lo, y_hi)),
    ]
    roof = [(x_lo, x_lo * bandwidth), (ridge, peak_ops), (x_hi, peak_ops)]
    points = " ".join(f"{axes.x(a):.1f},{axes.y(b):.1f}" for a, b in roof)
    parts.append(
        f'<polyline class="roof" points="{points}" fill="none" stroke="#c33" stroke-width="2"/>'
    )
    parts.append(
        f'<text x="{axes.x(ridge) + 4:.1f}" y="{axes.y(peak_ops) - 6:.1f}" fill="#c33">'
        f"peak {peak_ops:g} ops/cycle, {bandwidth:g} B/cycle, ridge at AI {ridge:g}</text>"
    )
    for row, ai, ops in zip(rows, intensities, reached, strict=False):
        label = f"{row['node']}: {row['layer']}, {row['mac_utilization']:.1%} of peak"
        parts.append(
            f'<circle class="layer" cx="{axes.x(ai):.1f}" cy="{axes.y(ops):.1f}" r="4" '
            f'fill="#36c" fill-opacity="0.6"><title>{escape(label)}</title></circle>'
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _ticks(axes: _Axes, x_range: tuple[float, float], y_range: tuple[float, float]) -> list[str]:
    bottom, top = HEIGHT - BOTTOM, TOP
    parts = [
        f'<rect x="{LEFT}" y="{top}" width="{WIDTH - LEFT - RIGHT}" height="{bottom - top}" '
        'fill="none" stroke="#444"/>',
        f'<text x="{(LEFT + WIDTH - RIGHT) / 2}" y="{HEIGHT - 12}" text-anchor="middle">'
        "arithmetic intensity (ops per DRAM byte, 2 ops per MAC)</text>",
        f'<text x="16" y="{(top + bottom) / 2}" text-anchor="middle" '
        f'transform="rotate(-90 16 {(top + bottom) / 2})">ops per cycle</text>',
    ]
    for k in range(round(math.log2(x_range[0])), round(math.log2(x_range[1])) + 1):
        x = axes.x(2.0**k)
        parts.append(f'<line x1="{x:.1f}" y1="{bottom}" x2="{x:.1f}" y2="{top}" stroke="#ddd"/>')
        parts.append(f'<text x="{x:.1f}" y="{bottom + 14}" text-anchor="middle">{2.0**k:g}</text>')
    for k in range(round(math.log2(y_range[0])), round(math.log2(y_range[1])) + 1):
        y = axes.y(2.0**k)
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="#ddd"/>'
        )
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{2.0**k:g}</text>')
    return parts
