"""`npu-tile` (NPU.md section 8.3) on the NPU regions: the tiling of each region's layer, the
best-ranked by the analytic estimate (`tiling.ranked_tilings`) whose program fits the UOP
buffer, attached as `npu.tiling`."""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass
from xdsl.utils.exceptions import DiagnosticException

from .isa import NpuIsaError
from .layers import ConvLayer
from .pipeline import compile_conv
from .program_pass import config_for
from .regions import TILING_ATTR, npu_regions, region_layer, tiling_attr
from .tiling import Tiling


@dataclass(frozen=True)
class NpuTilePass(ModulePass):
    """Sets `npu.tiling = array<i64: oc_t, oh_t, ow_t, ic_c, kh_c>` on every
    `terrace.target = "npu"` function: tiles of oc_t output-channel blocks x oh_t rows x ow_t
    columns, reduced in chunks of ic_c input blocks x kh_c kernel rows, each fitting half of
    INP, WGT and ACC of the default or (`tiny=true`) the 8 KiB configuration, the one with the
    lowest analytic cycle estimate whose uop kernels fit (with `double_buffer`'s halves)."""

    name = "npu-tile"

    tiny: bool = False
    double_buffer: bool = True

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        del ctx
        config = config_for(self.tiny)
        chosen: dict[ConvLayer, Tiling] = {}  # a model repeats its layers: search each once
        for region in npu_regions(op):
            layer = region_layer(region, self.name)
            if layer not in chosen:
                try:
                    _, chosen[layer] = compile_conv(layer, config, double_buffer=self.double_buffer)
                except NpuIsaError as error:
                    name = region.sym_name.data
                    raise DiagnosticException(f"{self.name}: @{name}: {error}") from None
            region.attributes[TILING_ATTR] = tiling_attr(chosen[layer])
