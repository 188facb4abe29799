"""A program's uop table (NPU.md section 8.7, `npu-dedup-uops`): the kernels its GEMMs and ALUs
read, the LOAD UOP that brings them in and the DRAM segment that holds them.

Programs follow the compiler's convention (deps.py): one LOAD UOP of the whole table into UOP
row 0, the `uops` segment last in DRAM, so that its size moves no other segment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from .binary import NpuProgram, Segment
from .isa import Buffer, Instruction, NpuIsaError, Opcode, Uop

UOP_SEGMENT = "uops"


class KernelTable:
    """Uop kernels appended as a pass makes them; an identical kernel (by content) is added
    once. The passes that make kernels share them as they go: without it a layer's table
    (one kernel per chunk) would not fit the UOP buffer between two passes."""

    def __init__(self) -> None:
        self.uops: list[Uop] = []
        self._where: dict[tuple[Uop, ...], tuple[int, int]] = {}

    def add(self, kernel: tuple[Uop, ...]) -> tuple[int, int]:
        found = self._where.get(kernel)
        if found is None:
            found = (len(self.uops), len(self.uops) + len(kernel))
            self.uops.extend(kernel)
            self._where[kernel] = found
        return found


def uses_uops(insn: Instruction) -> bool:
    return insn.opcode in (Opcode.GEMM, Opcode.ALU) and not insn.is_nop()


def set_fields(insn: Instruction, **values: int) -> Instruction:
    """`insn` with the named fields changed (flags kept); an unknown name raises."""
    unknown = sorted(set(values) - {name for name, _ in insn.fields})
    if unknown:
        raise NpuIsaError(f"{insn.opcode.name} has no field {', '.join(unknown)}")
    return replace(insn, fields=tuple((n, values.get(n, v)) for n, v in insn.fields))


def with_table(
    program: NpuProgram, instructions: Sequence[Instruction], uops: Sequence[Uop]
) -> NpuProgram:
    """`program` with new instructions and uop table: the LOAD UOP and the `uops` segment
    resized to the table."""
    loads = [
        i
        for i, insn in enumerate(instructions)
        if insn.opcode == Opcode.LOAD and insn["buffer"] == Buffer.UOP and not insn.is_nop()
    ]
    whole = len(loads) == 1 and not instructions[loads[0]]["sram_base"]
    if not whole or instructions[loads[0]]["y_size"] != 1:
        raise NpuIsaError(
            "the uop table is laid out for programs with one LOAD UOP of the whole table into "
            f"UOP row 0; this one has {len(loads)} LOAD UOPs"
        )
    insns = list(instructions)
    insns[loads[0]] = set_fields(insns[loads[0]], x_size=len(uops), x_stride=len(uops))
    segments = tuple(
        replace(s, size=len(uops) * 8) if s.name == UOP_SEGMENT else s for s in program.segments
    )
    _check_segment_last(segments)
    return NpuProgram(tuple(insns), tuple(uops), segments)


def _check_segment_last(segments: Sequence[Segment]) -> None:
    table = [s for s in segments if s.name == UOP_SEGMENT]
    if table and any(s.offset > table[0].offset for s in segments):
        raise NpuIsaError(f"the '{UOP_SEGMENT}' segment must be the last in DRAM to be resized")


def dedup_uops(program: NpuProgram) -> NpuProgram:
    """The uop table rebuilt from what the program uses: each GEMM's and ALU's kernel, in
    program order, an identical kernel stored once; rows no instruction reads are dropped."""
    table = KernelTable()
    instructions: list[Instruction] = []
    for insn in program.instructions:
        if not uses_uops(insn):
            instructions.append(insn)
            continue
        kernel = tuple(program.uops[insn["uop_bgn"] : insn["uop_end"]])
        if len(kernel) != insn["uop_end"] - insn["uop_bgn"]:
            raise NpuIsaError(
                f"{insn.opcode.name} uses uops {insn['uop_bgn']}..{insn['uop_end']} past the "
                f"table's {len(program.uops)}"
            )
        bgn, end = table.add(kernel)
        instructions.append(set_fields(insn, uop_bgn=bgn, uop_end=end))
    return with_table(program, instructions, table.uops)
