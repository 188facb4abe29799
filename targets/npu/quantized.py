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
    needed = [x_scale, x_zero, w, w_scale, w_zero, y_scale, y_zero, *([bias] if bias else [])]
    missing = [name for name in needed if name not in constants]
    if missing:
        return None, f"QLinearConv operands are not constants: {', '.join(missing)}"
    weight = constants[w]
    if any(constants[n].dtype != np.float32 for n in (x_scale, w_scale, y_scale)):
        return None, "QLinearConv scales that are not float32"
    if any(constants[n].dtype != np.int8 for n in (w, x_zero, y_zero)):  # x's type is x_zero's
        return None, "uint8 QLinearConv: TNPU-1 v1 computes int8 (zero zero points)"
    if np.any(constants[x_zero] != 0) or np.any(constants[w_zero] != 0):
        return None, "non-zero input or weight zero point (out of scope for TNPU-1 v1)"
    scales = [constants[x_scale], constants[w_scale], constants[y_scale]]
    if any(s.size != 1 for s in scales) or constants[y_zero].size != 1:
        return None, "per-channel quantization (out of scope for TNPU-1 v1)"
    x_s, w_s, y_s = (np.asarray(s, np.float32).reshape(()) for s in scales)
    out_scale = float((x_s * w_s) / y_s)  # in fp32, the scales' type, as the CPU path
    layer = replace(
        layer,
        dtype="i8",
        bias=bool(bias),
        out_scale=out_scale,
        out_zero_point=int(constants[y_zero].reshape(())),
    )
    reason = can_map(layer, config)
    if reason is not None:
        return None, reason
    bias_values = constants[bias].astype(np.int32) if bias else None
    return NpuLayer(label, layer, x, node.output[0], weight, bias_values, None, [label]), ""
