"""`npu-verify` (NPU.md section 8.8): the whole-program checks of every `npu.program`
(`deps.verify_program`), beyond what each instruction op verifies alone."""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass
from xdsl.utils.exceptions import DiagnosticException

from ...dialects.npu import ProgramOp, program_of
from ...runtime.npu_sim.errors import NpuSimError
from .binary import NpuProgram
from .deps import verify_program
from .isa import NpuConfig, NpuIsaError
from .program_pass import config_for


@dataclass(frozen=True)
class NpuVerifyPass(ModulePass):
    """Checks every npu.program against an NpuConfig (`tiny=true`: the 8 KiB one): each
    instruction's fields and buffer bounds, the uop kernels' ACC and UOP rows, FINISH last and
    only there, equal pushes and pops per token FIFO, and an untimed run of the token protocol
    that proves the program cannot deadlock. The module is left unchanged; a failure names the
    program and the instruction."""

    name = "npu-verify"

    tiny: bool = False

    def transform(self, program: NpuProgram, config: NpuConfig) -> NpuProgram:
        verify_program(program, config)
        return program

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        del ctx
        config = config_for(self.tiny)
        for program in [p for p in op.walk() if isinstance(p, ProgramOp)]:
            try:
                verify_program(program_of(program), config)
            except (NpuIsaError, NpuSimError) as error:  # a deadlock is the simulator's
                raise DiagnosticException(
                    f"npu-verify: @{program.sym_name.data}: {error}"
                ) from None
