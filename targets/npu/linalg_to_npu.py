"""`convert-linalg-to-npu` (NPU.md section 8.4): each tiled NPU region becomes one
`npu.program` (conv.py's mapping), single-buffered and without tokens; the program passes
after it (npu-double-buffer, npu-dedup-uops, npu-insert-deps, npu-verify) finish it.

The regions hold nn ops, not linalg: TNPU-1 takes whole layers, which nn names directly (the
name is the spec's, where the region would be lowered to linalg first; docs/npu.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp, StringAttr
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter
from xdsl.utils.exceptions import DiagnosticException

from ...dialects.npu import program_op
from .conv import build_conv
from .isa import NpuIsaError
from .layers import ConvLayer
from .program_pass import config_for
from .regions import npu_regions, region_layer, region_tiling
from .tiling import Tiling

PROGRAM_ATTR = "npu.program"


@dataclass(frozen=True)
class ConvertLinalgToNpuPass(ModulePass):
    """For every `terrace.target = "npu"` function with an `npu.tiling`, adds
    `npu.program @<function>_tnpu` after it: the layer's program (DRAM segments input, weight,
    bias, residual, output and uops; NCHW16c and OIHW16o16i) with every tile in the lower
    halves of INP, WGT and ACC, and no tokens. The function keeps its nn body (the CPU's
    meaning of the region) and records the program's name in `npu.program`. Regions of the
    same layer and tiling share the first one's program (the weights are bound at launch),
    so the program passes and the host load each distinct layer once."""

    name = "convert-linalg-to-npu"

    tiny: bool = False

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        del ctx
        config = config_for(self.tiny)
        made: dict[tuple[ConvLayer, Tiling], str] = {}
        for region in list(npu_regions(op)):
            if PROGRAM_ATTR in region.attributes:
                continue
            layer = region_layer(region, self.name)
            tiling = region_tiling(region, self.name)
            if (layer, tiling) in made:
                region.attributes[PROGRAM_ATTR] = StringAttr(made[layer, tiling])
                continue
            name = f"{region.sym_name.data}_tnpu"
            made[layer, tiling] = name
            try:
                program = build_conv(layer, tiling, config)
            except NpuIsaError as error:
                raise DiagnosticException(
                    f"{self.name}: @{region.sym_name.data}: {error}"
                ) from None
            Rewriter.insert_op(program_op(name, program), InsertPoint.after(region))
            region.attributes[PROGRAM_ATTR] = StringAttr(name)
