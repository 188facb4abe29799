"""`terrace npu-report MODEL`: which op of an ONNX model runs on TNPU-1 and why, and per
offloaded convolution the cycle model's numbers (docs/npu.md, "npu-report").

The partition here reads the ONNX graph: a Conv (with the BatchNormalization that folds into it,
a residual Add/Sum and a Relu after it) is one NPU layer when `can_map` accepts it; every other
op stays on the CPU with the reason. Each layer's program is compiled and timed with the cycle
model alone (`time_program`: the same cycles as a full simulation, without the data).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import onnx

from ..runtime.npu_sim.simulator import time_program
from ..targets.npu.conv import can_map, compile_conv
from ..targets.npu.isa import NpuConfig
from ..targets.npu.layers import ConvLayer

_FUSABLE = {
    "BatchNormalization": "folded into",
    "Relu": "fused into",
    "Sum": "residual add fused into",
    "Add": "residual add fused into",
}


@dataclass
class Placement:
    node: str
    op_type: str
    device: str
    reason: str
    layer: ConvLayer | None = None


def _cpu_reason(op_type: str) -> str:
    if op_type in ("MaxPool", "AveragePool", "GlobalAveragePool", "Softmax"):
        return "pooling and softmax are out of scope for TNPU-1 v1"
    if op_type in _FUSABLE:
        return "not after an NPU conv: runs with the CPU code around it"
    return "no TNPU-1 pattern for this op (v1 maps conv layers)"


def _load(model: str) -> onnx.ModelProto:
    if model == "resnet50":
        from ..benchmarks.light_models import light_model

        return light_model("light_resnet50")
    return onnx.load(model)


def partition(model: onnx.ModelProto, dtype: str, config: NpuConfig) -> list[Placement]:
    """Every node of the graph with where it runs and why."""
    inferred = onnx.shape_inference.infer_shapes(model)
    graph = inferred.graph
    dims = {
        v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
        for v in [*graph.value_info, *graph.input, *graph.output]
    }
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    placements: dict[str, Placement] = {}
    for index, node in enumerate(graph.node):
        label = node.name or f"{node.op_type}_{index}"
        if node.op_type == "ConstantOfShape" or label in placements:
            continue
        if node.op_type != "Conv":
            placements[label] = Placement(label, node.op_type, "cpu", _cpu_reason(node.op_type))
            continue
        layer, fused = _conv_layer(node, dims, consumers, dtype)
        reason = (
            can_map(layer, config)
            if layer is not None
            else "not a 2-D conv with group 1 and dilation 1"
        )
        if layer is not None and layer.cin < 16:
            reason = f"Cin {layer.cin} < 16: the 16-lane GEMM would run {layer.cin}/16 full"
        if reason is not None:
            placements[label] = Placement(label, "Conv", "cpu", reason)
            continue
        placements[label] = Placement(label, "Conv", "npu", "conv layer mapped", layer)
        for position, other in fused:
            name = other.name or f"{other.op_type}_{position}"
            placements[name] = Placement(
                name, other.op_type, "npu", f"{_FUSABLE[other.op_type]} {label}"
            )
    return list(placements.values())


def _conv_layer(
    node: onnx.NodeProto,
    dims: dict[str, list[int]],
    consumers: dict[str, list[onnx.NodeProto]],
    dtype: str,
) -> tuple[ConvLayer | None, list[tuple[int, onnx.NodeProto]]]:
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    kernel = list(attrs.get("kernel_shape", []))
    if (
        len(kernel) != 2
        or attrs.get("group", 1) != 1
        or any(d != 1 for d in attrs.get("dilations", [1, 1]))
    ):
        return None, []
    strides = list(attrs.get("strides", [1, 1]))
    pads = list(attrs.get("pads", [0, 0, 0, 0]))
    _, cin, h, w = dims[node.input[0]]
    cout = dims[node.output[0]][1]
    if strides[0] != strides[1]:
        return None, []
    layer = ConvLayer(
        cin,
        cout,
        h,
        w,
        kernel[0],
        kernel[1],
        strides[0],
        (pads[0], pads[1], pads[2], pads[3]),
        dtype,
        bias=len(node.input) > 2,
    )
    fused: list[tuple[int, onnx.NodeProto]] = []
    value = node.output[0]
    for op_type in ("BatchNormalization", "Sum|Add", "Relu"):
        users = consumers.get(value, [])
        if len(users) != 1 or users[0].op_type not in op_type.split("|"):
            continue
        user = users[0]
        if user.op_type in ("Sum", "Add"):
            if len(user.input) != 2 or dtype == "i8":
                continue
            layer = replace(layer, residual=True)
        if user.op_type == "BatchNormalization":
            layer = replace(layer, bias=True)
        if user.op_type == "Relu":
            layer = replace(layer, relu=True)
        fused.append((id(user), user))
        value = user.output[0]
    return layer, fused


def model_report(
    model: str, dtype: str, bandwidth: int, double_buffer: bool, json_path: str | None
) -> str:
    """The partition report and the per-layer table, as text."""
    config = NpuConfig(dram_bytes_per_cycle=bandwidth)
    placements = partition(_load(model), dtype, config)
    lines = ["Partition (op: device, why):"]
    lines += [f"  {p.node} ({p.op_type}): {p.device}, {p.reason}" for p in placements]
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
