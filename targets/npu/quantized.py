"""A QLinearConv as one i8 TNPU-1 layer (NPU.md section 8.1, types): int8 data and weights
with zero zero points, one scale per tensor, an int32 bias; STORE OUT requantizes with
`OUT_SCALE = fp32(fp32(x_scale * w_scale) / y_scale)` and `OUT_ZP = y_zero_point`.

The scale is the product the CPU path takes (frontend/onnx_qlinear.py: in the scales' own
type); the rounding is STORE OUT's: `rne(fp32(acc) * OUT_SCALE) + zp`, saturated to int8
(docs/npu.md, "Quantized models", says where that can differ from ONNX's float64 rule).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import onnx
from numpy.typing import NDArray

from .isa import NpuConfig
from .layers import ConvLayer
from .partition import NpuLayer
from .tiling import can_map


def plan_qlinear(
    node: onnx.NodeProto,
    label: str,
    layer: ConvLayer,
    constants: dict[str, NDArray[np.generic]],
    config: NpuConfig,
) -> tuple[NpuLayer | None, str]:
    """`layer` is the node's geometry (partition.conv_geometry); the planned layer or why
    not."""
    x, x_scale, x_zero, w, w_scale, w_zero, y_scale, y_zero, bias = [*node.input, "", ""][:9]
    operands = (x_scale, x_zero, w, w_scale, w_zero, y_scale, y_zero)
    scaled = qlinear_scales("QLinearConv", operands, constants, [bias] if bias else [])
    if isinstance(scaled, str):
        return None, scaled
    weight = constants[w]
    layer = replace(
        layer, dtype="i8", bias=bool(bias), out_scale=scaled[0], out_zero_point=scaled[1]
    )
    reason = can_map(layer, config)
    if reason is not None:
        return None, reason
    bias_values = constants[bias].astype(np.int32) if bias else None
    return NpuLayer(label, layer, x, node.output[0], weight, bias_values, None, [label]), ""


def qlinear_scales(
    op: str,
    operands: tuple[str, str, str, str, str, str, str],
    constants: dict[str, NDArray[np.generic]],
    also_constant: list[str] | None = None,
) -> tuple[float, int] | str:
    """`(x_scale, x_zero, w, w_scale, w_zero, y_scale, y_zero)` of a QLinearConv or
    QLinearMatMul: STORE OUT's `(OUT_SCALE, OUT_ZP)`, or why TNPU-1 v1 cannot run it."""
    x_scale, x_zero, w, w_scale, w_zero, y_scale, y_zero = operands
    missing = [name for name in [*operands, *(also_constant or [])] if name not in constants]
    if missing:
        return f"{op} operands are not constants: {', '.join(missing)}"
    if any(constants[n].dtype != np.float32 for n in (x_scale, w_scale, y_scale)):
        return f"{op} scales that are not float32"
    if any(constants[n].dtype != np.int8 for n in (w, x_zero, y_zero)):  # x's type is x_zero's
        return f"uint8 {op}: TNPU-1 v1 computes int8 (zero zero points)"
    if np.any(constants[x_zero] != 0) or np.any(constants[w_zero] != 0):
        return "non-zero input or weight zero point (out of scope for TNPU-1 v1)"
    scales = [constants[x_scale], constants[w_scale], constants[y_scale]]
    if any(s.size != 1 for s in scales) or constants[y_zero].size != 1:
        return "per-channel quantization (out of scope for TNPU-1 v1)"
    x_s, w_s, y_s = (np.asarray(s, np.float32).reshape(()) for s in scales)
    out_scale = float((x_s * w_s) / y_s)  # in fp32, the scales' type, as the CPU path
    return out_scale, int(constants[y_zero].reshape(()))
