"""The simulator's error: it names the instruction (index, opcode) that caused it."""

from __future__ import annotations

from ...errors import TerraceRuntimeError
from ...targets.npu.isa import Instruction


class NpuSimError(TerraceRuntimeError):
    """A program the simulator cannot run: out-of-range rows, a broken uop rule, a deadlock,
    a race."""

    def __init__(self, index: int, insn: Instruction | None, message: str) -> None:
        where = f"instruction {index} ({insn.opcode.name})" if insn is not None else "program"
        super().__init__(f"TNPU-1 simulator: {where}: {message}")
        self.index = index
