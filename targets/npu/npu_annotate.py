"""`npu-annotate` (NPU.md section 8.1) on the nn dialect: marks each `nn.conv` with where
TNPU-1 v1 would run it and why, by the rule of the npu target's partition
(`partition.layer_geometry`, then the tiler's `can_map`)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from xdsl.context import Context
from xdsl.dialects.builtin import Float32Type, ModuleOp, StringAttr, TensorType
from xdsl.ir import Attribute, SSAValue
from xdsl.passes import ModulePass

from ...dialects.nn.constants import ConstantOp, WeightOp
from ...dialects.nn.neural import ConvOp
from .isa import NpuConfig
from .layers import ConvLayer
from .partition import ConvAttributes, layer_geometry
from .tiling import can_map


@dataclass(frozen=True)
class NpuAnnotatePass(ModulePass):
    """Sets `npu.device` ("npu" or "cpu") and `npu.reason` on every nn.conv: an f32 2-D conv
    with group 1, dilation 1, equal strides, batch 1, Cin >= 16, constant weights and bias,
    pads <= 15 and a tiling that fits the buffers (`tiny=true`: the 8 KiB configuration's)
    runs on TNPU-1; any other says why not. The IR is otherwise unchanged (the fusion of batch
    norm, residual add and ReLU is the partition's, docs/npu.md)."""

    name = "npu-annotate"

    tiny: bool = False

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        del ctx
        config = NpuConfig.tiny() if self.tiny else NpuConfig()
        for conv in [c for c in op.walk() if isinstance(c, ConvOp)]:
            result = conv_layer(conv)
            reason = result if isinstance(result, str) else can_map(result, config)
            device = "npu" if reason is None else "cpu"
            conv.attributes["npu.device"] = StringAttr(device)
            conv.attributes["npu.reason"] = StringAttr(reason or "conv layer mapped")


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
