"""`npu-insert-deps` (NPU.md section 8.6): the dependency tokens of every `npu.program`,
computed from what each instruction reads and writes (`deps.insert_deps`)."""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from .binary import NpuProgram
from .deps import insert_deps
from .isa import NpuConfig
from .program_pass import rewrite_programs


@dataclass(frozen=True)
class NpuInsertDepsPass(ModulePass):
    """Replaces the token flags of every npu.program with the ones its data dependences need:
    for each instruction and each neighbouring module, a wait (pop) on the last earlier
    instruction of that module whose SRAM or DRAM ranges conflict, unless an earlier wait
    already covers it; FINISH waits for the last STORE. Every wait points backwards in program
    order, so the result cannot deadlock, and its overlapped run equals program order."""

    name = "npu-insert-deps"

    def transform(self, program: NpuProgram, config: NpuConfig) -> NpuProgram:
        del config
        return insert_deps(program)

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        del ctx
        rewrite_programs(op, self.name, insert_deps)
