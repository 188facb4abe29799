"""`npu-annotate` (NPU.md section 8.1) on the nn dialect: marks each `nn.conv` with where
TNPU-1 v1 would run it and why, by the rule of the npu target's partition
(`partition.layer_geometry`, then the tiler's `can_map`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from xdsl.context import Context
from xdsl.dialects.builtin import Float32Type, ModuleOp, StringAttr, TensorType
from xdsl.ir import Attribute, SSAValue
from xdsl.passes import ModulePass

from ...dialects.nn.constants import ConstantOp, WeightOp
from ...dialects.nn.neural import ConvOp, GemmOp, MatMulOp
from .isa import NpuConfig
from .layers import ConvLayer
from .matmul import matmul_geometry
from .partition import ConvAttributes, layer_geometry
from .tiling import can_map


@dataclass(frozen=True)
class NpuAnnotatePass(ModulePass):
    """Sets `npu.device` ("npu" or "cpu") and `npu.reason` on every nn.conv, nn.matmul and
    nn.gemm: an f32 2-D conv with group 1, dilation 1, equal strides, batch 1, Cin >= 16,
    constant weights and bias, pads <= 15, or an f32 2-D matmul/gemm (alpha = beta = 1, no
    transA) with a constant B, K >= 16 and a constant row as C, and a tiling that fits the
    buffers (`tiny=true`: the 8 KiB configuration's) runs on TNPU-1; any other says why not.
    The IR is otherwise unchanged (the epilogues are npu-partition's, docs/npu.md)."""

    name = "npu-annotate"

    tiny: bool = False

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        del ctx
        config = NpuConfig.tiny() if self.tiny else NpuConfig()
        for layer_op in [c for c in op.walk() if isinstance(c, ConvOp | MatMulOp | GemmOp)]:
            result = layer_of(layer_op)
            reason = result if isinstance(result, str) else can_map(result, config)
            device = "npu" if reason is None else "cpu"
            kind = "conv" if isinstance(layer_op, ConvOp) else "matmul"
            layer_op.attributes["npu.device"] = StringAttr(device)
            layer_op.attributes["npu.reason"] = StringAttr(reason or f"{kind} layer mapped")


def layer_of(op: ConvOp | MatMulOp | GemmOp) -> ConvLayer | str:
    """The TNPU-1 layer of an nn.conv, nn.matmul or nn.gemm before any epilogue (bias from
    the conv's B or the gemm's C), or why not."""
    return conv_layer(op) if isinstance(op, ConvOp) else matmul_layer(op)


def matmul_layer(op: MatMulOp | GemmOp) -> ConvLayer | str:
    """A 2-D matmul or gemm as the 1x1 conv with M pixels (matmul.py), or why not."""
    kind = op.A.type
    if not isinstance(kind, TensorType) or not isinstance(kind.element_type, Float32Type):
        return "TNPU-1 takes f32 here (i8 through QLinearMatMul)"
    if isinstance(op, GemmOp):
        if (op.float_attr("alpha"), op.float_attr("beta")) != (1.0, 1.0):
            return "Gemm with alpha or beta other than 1"
        if op.int_attr("transA"):
            return "Gemm with transA (the activation would need a transpose)"
    if not isinstance(op.B.owner, WeightOp | ConstantOp):
        return "B is not a constant"
    a_shape, b_shape = _shape(op.A), _shape(op.B)
    if len(a_shape) != 2 or 0 in a_shape or len(b_shape) != 2:
        return "not a 2-D MatMul with static shapes (batched MatMul is out of scope)"
    transposed = isinstance(op, GemmOp) and op.int_attr("transB")
    n = b_shape[0] if transposed else b_shape[1]
    layer = matmul_geometry(a_shape[0], a_shape[1], n, "f32")
    if isinstance(layer, str) or not isinstance(op, GemmOp) or op.C is None:
        return layer
    if not isinstance(op.C.owner, WeightOp | ConstantOp) or not is_row(_shape(op.C), n):
        return "C is not a constant row broadcast over M"
    return replace(layer, bias=True)


def is_row(shape: list[int], n: int) -> bool:
    """A bias shape broadcast over M: (N,), (1, N), (1,) or ()."""
    return len(shape) <= 2 and (len(shape) < 2 or shape[0] == 1) and math.prod(shape) in (1, n)


def _shape(value: SSAValue) -> list[int]:
    kind: Attribute = value.type
    if not isinstance(kind, TensorType):
        return []
    return [max(0, d) for d in kind.get_shape()]  # a dynamic dimension is -1


def conv_layer(conv: ConvOp) -> ConvLayer | str:
    """The TNPU-1 layer of an nn.conv before any epilogue (bias from its B), or why not."""
    kind = conv.X.type
    if not isinstance(kind, TensorType) or not isinstance(kind.element_type, Float32Type):
        element = kind.element_type if isinstance(kind, TensorType) else kind
        return f"element type {element}: TNPU-1 takes f32 here (i8 through QLinearConv)"
    weight_shape = _shape(conv.W)
    attrs = ConvAttributes(
        conv.ints_attr("kernel_shape") or weight_shape[2:],
        conv.ints_attr("strides") or [1, 1],
        conv.ints_attr("pads") or [0, 0, 0, 0],
        conv.ints_attr("dilations") or [1, 1],
        conv.int_attr("group"),
        conv.str_attr("auto_pad"),
    )
    layer = layer_geometry(attrs, _shape(conv.X), _shape(conv.Y), "f32")
    if isinstance(layer, str):
        return layer
    constants = [conv.W, *([conv.B] if conv.B is not None else [])]
    if any(not isinstance(v.owner, WeightOp | ConstantOp) for v in constants):
        return "weights are not constants"
    if conv.B is not None:
        return replace(layer, bias=True)
    return layer
