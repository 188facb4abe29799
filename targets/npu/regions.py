"""The NPU regions `npu-partition` outlines, as npu-tile and convert-linalg-to-npu read them:
`func.func @npu_region_N {terrace.target = "npu"}` holding one nn.conv (or nn.matmul, nn.gemm)
and its epilogue."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from xdsl.dialects import func
from xdsl.dialects.builtin import DenseArrayBase, ModuleOp, StringAttr, i64
from xdsl.utils.exceptions import DiagnosticException

from ...dialects.nn.elementwise import AddOp, ReluOp, SumOp
from ...dialects.nn.neural import ConvOp, GemmOp, MatMulOp
from .layers import ConvLayer
from .npu_annotate import layer_of
from .tiling import Tiling

REGION_ATTR = "terrace.target"
TILING_ATTR = "npu.tiling"
"""On a region: `array<i64: oc_t, oh_t, ow_t, ic_c, kh_c>`, npu-tile's choice."""


def npu_regions(module: ModuleOp) -> Iterator[func.FuncOp]:
    for op in module.body.block.ops:
        if isinstance(op, func.FuncOp) and op.attributes.get(REGION_ATTR) == StringAttr("npu"):
            yield op


def region_layer(region: func.FuncOp, pass_name: str) -> ConvLayer:
    """The layer the region computes: its conv (or matmul, gemm) with the epilogue its other
    ops fuse: an add is the conv's residual or the matmul's bias, a ReLU the store's clamp."""
    found = [op for op in region.walk() if isinstance(op, ConvOp | MatMulOp | GemmOp)]
    name = region.sym_name.data
    if len(found) != 1:
        raise DiagnosticException(
            f"{pass_name}: @{name} holds {len(found)} nn.conv, nn.matmul or nn.gemm, not 1"
        )
    layer = layer_of(found[0])
    kind = "conv" if isinstance(found[0], ConvOp) else "matmul"
    if isinstance(layer, str):
        raise DiagnosticException(f"{pass_name}: @{name}: its {kind} does not map: {layer}")
    add = any(isinstance(op, AddOp | SumOp) for op in region.walk())
    relu = any(isinstance(op, ReluOp) for op in region.walk())
    if kind == "conv":
        return replace(layer, residual=add, relu=relu)
    return replace(layer, bias=layer.bias or add, relu=relu)


def tiling_attr(tiling: Tiling) -> DenseArrayBase:
    values = (tiling.oc_t, tiling.oh_t, tiling.ow_t, tiling.ic_c, tiling.kh_c)
    return DenseArrayBase.from_list(i64, values)


def region_tiling(region: func.FuncOp, pass_name: str) -> Tiling:
    attr = region.attributes.get(TILING_ATTR)
    if not isinstance(attr, DenseArrayBase):
        raise DiagnosticException(
            f"{pass_name}: @{region.sym_name.data} has no {TILING_ATTR} (run npu-tile first)"
        )
    values = attr.get_values()
    if len(values) != 5:
        raise DiagnosticException(f"{pass_name}: {TILING_ATTR} needs 5 values, got {len(values)}")
    oc_t, oh_t, ow_t, ic_c, kh_c = (int(v) for v in values)
    return Tiling(oc_t, oh_t, ow_t, ic_c, kh_c)
