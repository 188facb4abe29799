"""MatMul, Gemm and QLinearMatMul as TNPU-1 layers (NPU.md section 4: `[M,K] x [K,N]` is a 1x1
conv with M pixels). The layer is `ConvLayer(K, N, 1, M, 1, 1)`: A `(M, K)` is the activation
`(1, K, 1, M)`, B `(K, N)` the weight `(N, K, 1, 1)`; the result `(1, N, 1, M)` is Y `(M, N)`.
A constant bias (Gemm's C, or a MatMul's following Add of a constant row) goes into the
accumulator, a following Relu onto STORE OUT, as for a conv.
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

MATMUL_OPS = ("MatMul", "Gemm")


def matmul_geometry(m: int, k: int, n: int, dtype: str) -> ConvLayer | str:
    """The 1x1 conv TNPU-1 runs for `[m, k] x [k, n]`, or why not."""
    if k < 16:
        return f"K {k} < 16: the 16-lane GEMM would run {k}/16 full"
    return ConvLayer(k, n, 1, m, 1, 1, dtype=dtype)


def to_activation(a: NDArray[np.generic]) -> NDArray[np.generic]:
    """A `(M, K)` -> the layer's input `(1, K, 1, M)`."""
    m, k = a.shape
    return np.ascontiguousarray(a.T).reshape(1, k, 1, m)


def from_activation(y: NDArray[np.generic]) -> NDArray[np.generic]:
    """The layer's output `(1, N, 1, M)` -> Y `(M, N)`."""
    _, n, _, m = y.shape
    return np.ascontiguousarray(y.reshape(n, m).T)


def plan_matmul(  # noqa: PLR0913 - the partition's tables
    node: onnx.NodeProto,
    label: str,
    dims: dict[str, list[int]],
    consumers: dict[str, list[onnx.NodeProto]],
    constants: dict[str, NDArray[np.generic]],
    dtype: str,
    labels: dict[int, str],
    config: NpuConfig,
) -> tuple[NpuLayer | None, str]:
    """A MatMul or Gemm (f32), with a following constant bias Add (MatMul) and Relu."""
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    if node.op_type == "Gemm" and (attrs.get("alpha", 1.0), attrs.get("beta", 1.0)) != (1, 1):
        return None, "Gemm with alpha or beta other than 1"
    if attrs.get("transA", 0):
        return None, "Gemm with transA (the activation would need a transpose)"
    a, b = node.input[0], node.input[1]
    if b not in constants:
        return None, "B is not a constant initializer"
    a_shape, b_shape = dims.get(a, []), list(constants[b].shape)
    if len(a_shape) != 2 or 0 in a_shape or len(b_shape) != 2:
        return None, "not a 2-D MatMul with static shapes (batched MatMul is out of scope)"
    weight = np.asarray(constants[b], np.float32)
    weight = weight if attrs.get("transB", 0) else weight.T  # (N, K)
    (m, k), n = a_shape, weight.shape[0]
    layer = matmul_geometry(m, k, n, dtype)
    if isinstance(layer, str):
        return None, layer
    bias = None
    if len(node.input) > 2 and node.input[2]:
        bias = _row(constants.get(node.input[2]), n)
        if bias is None:
            return None, "C is not a constant row broadcast over M"
    planned = NpuLayer(label, layer, a, node.output[0], weight[:, :, None, None], None, None)
    planned.nodes.append(label)
    planned.matmul = True
    for op_type in ("Add", "Relu"):
        users = consumers.get(planned.output, [])
        if len(users) != 1 or users[0].op_type != op_type:
            continue
        user = users[0]
        if op_type == "Add":
            others = [name for name in user.input if name != planned.output]
            row = _row(constants.get(others[0]), n) if len(others) == 1 else None
            if row is None or bias is not None:
                continue
            bias = row
            planned.reasons[labels[id(user)]] = f"bias add fused into {label}"
        else:
            layer = replace(layer, relu=True)
        planned.nodes.append(labels[id(user)])
        planned.output = user.output[0]
    layer = replace(layer, bias=bias is not None)
    reason = can_map(layer, config)
    if reason is not None:
        return None, reason
    planned.layer = layer
    planned.bias = bias
    return planned, ""


def plan_qlinear_matmul(
    node: onnx.NodeProto,
    label: str,
    dims: dict[str, list[int]],
    constants: dict[str, NDArray[np.generic]],
    config: NpuConfig,
) -> tuple[NpuLayer | None, str]:
    """A QLinearMatMul with int8 operands, zero input and weight zero points and one scale per
    tensor: an i8 layer requantized on STORE OUT (quantized.py's rule for QLinearConv)."""
    from .quantized import qlinear_scales

    a, a_scale, a_zero, b, b_scale, b_zero, y_scale, y_zero = [*node.input, *[""] * 8][:8]
    if b not in constants:
        return None, "B is not a constant initializer"
    a_shape, b_shape = dims.get(a, []), list(constants[b].shape)
    if len(a_shape) != 2 or 0 in a_shape or len(b_shape) != 2:
        return None, "not a 2-D QLinearMatMul with static shapes"
    operands = (a_scale, a_zero, b, b_scale, b_zero, y_scale, y_zero)
    scaled = qlinear_scales("QLinearMatMul", operands, constants)
    if isinstance(scaled, str):
        return None, scaled
    out_scale, out_zero = scaled
    weight = np.asarray(constants[b]).T  # (N, K)
    layer = matmul_geometry(a_shape[0], a_shape[1], weight.shape[0], "i8")
    if isinstance(layer, str):
        return None, layer
    layer = replace(layer, out_scale=out_scale, out_zero_point=out_zero)
    reason = can_map(layer, config)
    if reason is not None:
        return None, reason
    planned = NpuLayer(label, layer, a, node.output[0], weight[:, :, None, None], None, None)
    planned.nodes.append(label)
    planned.matmul = True
    return planned, ""


def _row(value: NDArray[np.generic] | None, n: int) -> NDArray[np.float32] | None:
    """`value` as an (N,) bias if it is one row broadcast over M ((N,), (1, N), (1,), ())."""
    if value is None or value.ndim > 2 or (value.ndim == 2 and value.shape[0] != 1):
        return None
    flat = np.asarray(value, np.float32).reshape(-1)
    if flat.size not in (1, n):
        return None
    return np.ascontiguousarray(np.broadcast_to(flat, (n,)))
