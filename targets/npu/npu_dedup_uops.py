"""`npu-dedup-uops` (NPU.md section 8.7) over every `npu.program`: the uop table laid out from
what the GEMMs and ALUs use, identical kernels stored once (`uops.dedup_uops`)."""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from .binary import NpuProgram
from .isa import NpuConfig
from .program_pass import rewrite_programs
from .uops import dedup_uops


@dataclass(frozen=True)
class NpuDedupUopsPass(ModulePass):
    """Rebuilds each program's uop table: every GEMM's and ALU's kernel in program order, an
    identical kernel (same uops in the same order) stored once, rows no instruction reads
    dropped; the LOAD UOP and the `uops` DRAM segment take the new size. The instructions'
    results do not change (each still reads the same uops)."""

    name = "npu-dedup-uops"

    def transform(self, program: NpuProgram, config: NpuConfig) -> NpuProgram:
        del config
        return dedup_uops(program)

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        del ctx
        rewrite_programs(op, self.name, dedup_uops)
