"""`npu-double-buffer` (NPU.md section 8.5) over every `npu.program`: alternate chunks and tiles
in the upper halves of INP, WGT and ACC (`double_buffer.py`)."""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from .binary import NpuProgram
from .double_buffer import double_buffer
from .isa import NpuConfig
from .program_pass import config_for, rewrite_programs


@dataclass(frozen=True)
class NpuDoubleBufferPass(ModulePass):
    """Moves a single-buffered program's chunk k (the INP and WGT loads before a GEMM, and the
    GEMM) to the halves k mod 2 of INP and WGT, and its tile t (the ACC work up to its
    STOREs) to the half t mod 2 of ACC, against the default or (`tiny=true`) the 8 KiB
    NpuConfig. Shifted uop kernels are appended to the table (npu-dedup-uops lays it out);
    the tokens are npu-insert-deps's. A program that is not single-buffered, or a GEMM that
    reads rows its chunk did not load, is an error naming the instruction."""

    name = "npu-double-buffer"

    tiny: bool = False

    def transform(self, program: NpuProgram, config: NpuConfig) -> NpuProgram:
        return double_buffer(program, config)

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        del ctx
        config = config_for(self.tiny)
        rewrite_programs(op, self.name, lambda p: self.transform(p, config))
