"""Small helpers that write TNPU-1 instructions and programs for the simulator tests."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from terrace.runtime.npu_sim import UOP_SEGMENT
from terrace.targets.npu.binary import NpuProgram, Role, Segment
from terrace.targets.npu.isa import Buffer, Instruction, MemDtype, Opcode, Uop, mem_instruction

UOP_BASE = 1 << 20
"""Where the tests' programs keep their uop words in DRAM."""


def load(
    buffer: Buffer,
    dtype: int,
    sram: int,
    dram: int,
    y: int,
    x: int,
    stride: int | None = None,
    pads: tuple[int, int, int, int] = (0, 0, 0, 0),
    **flags: bool,
) -> Instruction:
    stride = x if stride is None else stride
    insn = mem_instruction(Opcode.LOAD, buffer, dtype, sram, dram, y, x, stride, pads)
    return insn.with_flags(**flags)


def store(
    buffer: Buffer,
    dtype: int,
    sram: int,
    dram: int,
    y: int,
    x: int,
    stride: int | None = None,
    **flags: bool,
) -> Instruction:
    stride = x if stride is None else stride
    return mem_instruction(Opcode.STORE, buffer, dtype, sram, dram, y, x, stride).with_flags(
        **flags
    )


def load_uops(count: int, sram: int = 0, **flags: bool) -> Instruction:
    return load(Buffer.UOP, 0, sram, UOP_BASE + sram * 8, 1, count, **flags)


def finish(**flags: bool) -> Instruction:
    return Instruction.make(Opcode.FINISH, **flags)


def program(instructions: Sequence[Instruction], uops: Sequence[Uop] = ()) -> NpuProgram:
    segments = (
        Segment(UOP_SEGMENT, UOP_BASE, max(len(uops), 1) * 8, MemDtype.I8, "uop", Role.SCRATCH),
    )
    return NpuProgram(tuple(instructions), tuple(uops), segments)


def dram(size: int = UOP_BASE + 32768) -> NDArray[np.uint8]:
    return np.zeros(size, np.uint8)


def put(memory: NDArray[np.uint8], offset: int, values: NDArray[np.generic]) -> None:
    data = np.ascontiguousarray(values).view(np.uint8).reshape(-1)
    memory[offset : offset + data.size] = data
