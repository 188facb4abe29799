"""`terrace npu-report MODEL`: which op of an ONNX model runs on TNPU-1 and why, and per
offloaded convolution the cycle model's numbers (docs/npu.md, "npu-report").

The partition is the npu target's (`targets/npu/partition.py`). Each layer's program is
compiled and timed with the cycle model alone (`time_program`: the same cycles as a full
simulation, without the data).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import onnx

from ..runtime.npu_sim.simulator import time_program
from ..targets.npu.isa import NpuConfig
from ..targets.npu.layers import ConvLayer
from ..targets.npu.partition import CONSTANT_REASON, partition
from ..targets.npu.pipeline import compile_conv
from .npu_roofline import roofline_svg


def _load(model: str) -> onnx.ModelProto:
    if model == "resnet50":
        from ..benchmarks.light_models import light_model

        return light_model("light_resnet50")
    from ..frontend.onnx.graph import load_model

    return load_model(model)  # a missing or unreadable file is one clear error


def model_report(  # noqa: PLR0913 - the command's options
    model: str,
    dtype: str,
    bandwidth: int,
    double_buffer: bool,
    json_path: str | None,
    plot_path: str | None = None,
) -> str:
    """The partition report and the per-layer table, as text; the rows as JSON and the
    roofline plot as SVG where asked."""
    config = NpuConfig(dram_bytes_per_cycle=bandwidth)
    placements = partition(_load(model), dtype, config).placements
    lines = ["Partition (op: device, why):"]
    listed = [p for p in placements if p.reason != CONSTANT_REASON]
    lines += [f"  {p.node} ({p.op_type}): {p.device}, {p.reason}" for p in listed]
    if len(listed) < len(placements):
        lines.append(f"  ({len(placements) - len(listed)} constants not listed: {CONSTANT_REASON})")
    rows: list[dict[str, Any]] = []
    timed: dict[ConvLayer, dict[str, Any]] = {}
    for placement in placements:
        layer = placement.layer
        if layer is None:
            continue
        if layer not in timed:
            program, tiling = compile_conv(layer, config, double_buffer=double_buffer)
            stats = time_program(program, config).stats(layer.macs)
            timed[layer] = {
                **stats,
                "tiling": tiling.describe(),
                "instructions": len(program.instructions),
            }
        stats = timed[layer]
        rows.append(
            {
                "node": placement.node,
                "layer": layer.describe(),
                **{k: stats[k] for k in _COLUMNS},
                "tiling": stats["tiling"],
            }
        )
    buffering = "double" if double_buffer else "single"
    lines += ["", f"TNPU-1 {dtype}, {bandwidth} B/cycle, {buffering} buffering, 1 GHz:"]
    header = ("node", "layer", "MMACs", "cycles", "util", "DRAM KB", "AI", "bound", "eff")
    lines.append(_table_line(header))
    lines += [_table_line(_cells(row)) for row in rows]
    macs = sum(r["useful_macs"] for r in rows)
    cycles = sum(r["cycles"] for r in rows)
    peak = NpuConfig().peak_macs[0 if dtype == "i8" else 2]
    if rows:
        lines.append(
            f"  total: {len(rows)} layers, {macs / 1e9:.2f} GMAC, {cycles} cycles "
            f"({cycles / config.clock_hz * 1e3:.1f} ms), aggregate utilization "
            f"{macs / (peak * cycles):.1%} of {peak} MAC/cycle"
        )
    if json_path is not None:
        Path(json_path).write_text(json.dumps(rows, indent=2))
    if plot_path is not None:
        title = f"TNPU-1 roofline: {Path(model).stem}, {dtype}, {buffering} buffering"
        svg = roofline_svg(rows, 2 * peak, bandwidth, title)
        Path(plot_path).write_text(svg)
    return "\n".join(lines)


_WIDTHS = (-28, -34, 8, 10, 6, 8, 6, 6, 5)


def _table_line(cells: tuple[str, ...]) -> str:
    parts = [f"{c:<{-w}}" if w < 0 else f"{c:>{w}}" for c, w in zip(cells, _WIDTHS, strict=True)]
    return "  " + " ".join(parts)


def _cells(row: dict[str, Any]) -> tuple[str, ...]:
    return (
        row["node"][:28],
        row["layer"][:34],
        f"{row['useful_macs'] / 1e6:.1f}",
        str(row["cycles"]),
        f"{row['mac_utilization']:.1%}",
        f"{sum(row['dram_bytes'].values()) / 1024:.0f}",
        f"{row['arithmetic_intensity']:.1f}",
        f"{row['roofline_ops_per_cycle']:.0f}",
        f"{row['roofline_efficiency']:.0%}",
    )


_COLUMNS = (
    "useful_macs",
    "cycles",
    "mac_utilization",
    "dram_bytes",
    "arithmetic_intensity",
    "roofline_ops_per_cycle",
    "roofline_efficiency",
)
