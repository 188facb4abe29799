"""What the passes over `npu.program` share: each rewrites every program of the module with a
function of `NpuProgram` (its `transform`, which the npu target also calls without the IR)."""

from __future__ import annotations

from collections.abc import Callable

from xdsl.dialects.builtin import ModuleOp
from xdsl.rewriter import Rewriter
from xdsl.utils.exceptions import DiagnosticException

from ...dialects.npu import ProgramOp, program_of, program_op
from ...runtime.npu_sim.errors import NpuSimError
from .binary import NpuProgram
from .isa import NpuConfig, NpuIsaError


def config_for(tiny: bool) -> NpuConfig:
    """The pass option `tiny`: the 8 KiB configuration, else the default one."""
    return NpuConfig.tiny() if tiny else NpuConfig()


def rewrite_programs(
    module: ModuleOp, pass_name: str, transform: Callable[[NpuProgram], NpuProgram]
) -> None:
    """Replaces every npu.program by `transform` of it; an error names the pass and program."""
    for program in [p for p in module.walk() if isinstance(p, ProgramOp)]:
        name = program.sym_name.data
        try:
            result = transform(program_of(program))
        except (NpuIsaError, NpuSimError) as error:  # a deadlock is the simulator's
            raise DiagnosticException(f"{pass_name}: @{name}: {error}") from None
        Rewriter.replace_op(program, program_op(name, result))
