"""`npu-insert-deps` (NPU.md section 8.6): the dependency tokens of every `npu.program`,
computed from what each instruction reads and writes (`deps.insert_deps`)."""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass
from xdsl.rewriter import Rewriter
from xdsl.utils.exceptions import DiagnosticException

from ...dialects.npu import ProgramOp, program_of, program_op
from .deps import insert_deps
from .isa import NpuIsaError


@dataclass(frozen=True)
class NpuInsertDepsPass(ModulePass):
    """Replaces the token flags of every npu.program with the ones its data dependences need:
    for each instruction and each neighbouring module, a wait (pop) on the last earlier
    instruction of that module whose SRAM or DRAM ranges conflict, unless an earlier wait
    already covers it; FINISH waits for the last STORE. Every wait points backwards in program
    order, so the result cannot deadlock, and its overlapped run equals program order."""

    name = "npu-insert-deps"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        del ctx
        for program in [p for p in op.walk() if isinstance(p, ProgramOp)]:
            name = program.sym_name.data
            try:
                tokens = insert_deps(program_of(program))
            except NpuIsaError as error:
                raise DiagnosticException(f"npu-insert-deps: @{name}: {error}") from None
            Rewriter.replace_op(program, program_op(name, tokens))
