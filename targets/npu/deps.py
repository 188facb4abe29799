"""Static analysis of TNPU-1 programs: the SRAM and DRAM ranges each instruction touches,
dependency-token insertion (npu-insert-deps) and the program verifier (npu-verify).

Programs follow the compiler's convention: the first instruction is a LOAD UOP of the whole uop
segment at UOP row 0, so UOP row r holds `program.uops[r]` when a GEMM or ALU runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .binary import NpuProgram
from .isa import (
    Buffer,
    Instruction,
    Module,
    NpuConfig,
    NpuIsaError,
    Opcode,
    Uop,
    element_bytes,
    verify,
)


@dataclass(frozen=True)
class Range:
    resource: str
    """inp, wgt, acc, uop or dram."""
    lo: int
    hi: int
    write: bool

    def conflicts(self, other: Range) -> bool:
        return (
            self.resource == other.resource
            and self.lo < other.hi
            and other.lo < self.hi
            and (self.write or other.write)
        )


def ranges(insn: Instruction, uops: Sequence[Uop]) -> list[Range]:
    """The ranges `insn` reads and writes (rows; bytes for dram), conservatively as intervals."""
    if insn.is_nop() or insn.opcode in (Opcode.FINISH, Opcode.CONFIG):
        return []
    if insn.opcode in (Opcode.LOAD, Opcode.STORE):
        return _mem_ranges(insn)
    kernel = uops[insn["uop_bgn"] : insn["uop_end"]]
    if len(kernel) != insn["uop_end"] - insn["uop_bgn"]:
        raise NpuIsaError(
            f"{insn.opcode.name} uses uops {insn['uop_bgn']}..{insn['uop_end']} past the segment"
        )
    found = [Range("uop", insn["uop_bgn"], insn["uop_end"], False)]
    found.append(_field_range("acc", [u.dst for u in kernel], insn, "dst", True))
    if insn.opcode == Opcode.GEMM and not insn["reset"]:
        found.append(_field_range("inp", [u.src for u in kernel], insn, "src", False))
        found.append(_field_range("wgt", [u.wgt for u in kernel], insn, "wgt", False))
    if insn.opcode == Opcode.ALU and not insn["use_imm"]:
        found.append(_field_range("acc", [u.src for u in kernel], insn, "src", False))
    return found


def _field_range(
    resource: str, bases: list[int], insn: Instruction, prefix: str, write: bool
) -> Range:
    outer = insn[f"{prefix}_fo"] * (insn["iter_out"] - 1)
    inner = insn[f"{prefix}_fi"] * (insn["iter_in"] - 1)
    return Range(resource, min(bases), max(bases) + outer + inner + 1, write)


def _mem_ranges(insn: Instruction) -> list[Range]:
    buffer = Buffer(insn["buffer"])
    element = element_bytes(buffer, insn["dtype"])
    y, x = insn["y_size"], insn["x_size"]
    dram = Range(
        "dram",
        insn["dram_base"],
        insn["dram_base"] + ((y - 1) * insn["x_stride"] + x) * element,
        insn.opcode == Opcode.STORE,
    )
    if insn.opcode == Opcode.STORE:
        return [Range("acc", insn["sram_base"], insn["sram_base"] + y * x, False), dram]
    rows = (insn["y_pad0"] + y + insn["y_pad1"]) * (insn["x_pad0"] + x + insn["x_pad1"])
    resource = "acc" if buffer == Buffer.ACC else buffer.name.lower()
    return [Range(resource, insn["sram_base"], insn["sram_base"] + rows, True), dram]


_NEIGHBOURS = {
    Module.LOAD: (Module.COMPUTE,),
    Module.COMPUTE: (Module.LOAD, Module.STORE),
    Module.STORE: (Module.COMPUTE,),
}
_WAIT_FLAGS = {
    # (waiting module, module waited for): (pop flag on the waiter, push flag on the other)
    (Module.COMPUTE, Module.LOAD): ("pop_prev", "push_next"),
    (Module.COMPUTE, Module.STORE): ("pop_next", "push_prev"),
    (Module.LOAD, Module.COMPUTE): ("pop_next", "push_prev"),
    (Module.STORE, Module.COMPUTE): ("pop_prev", "push_next"),
}


def insert_deps(program: NpuProgram) -> NpuProgram:
    """The program with the dependency tokens that make its overlapped execution equal to
    program order (NPU.md section 8.6). Existing token flags are replaced.

    For instruction i on module A and each neighbour B, j is the last earlier B instruction
    whose ranges conflict with i's; if A has not yet waited for j or a later B instruction, j
    pushes a token to A and i pops it. Every wait points backwards in program order, so the
    program cannot deadlock. A load/store conflict (through DRAM) is an error: v1 programs
    never store and load one DRAM range.
    """
    insns = [
        i.with_flags(pop_prev=False, pop_next=False, push_prev=False, push_next=False)
        for i in program.instructions
    ]
    found = [ranges(i, program.uops) for i in insns]
    by_module: dict[Module, list[int]] = {m: [] for m in Module}
    waited: dict[tuple[Module, Module], int] = {}
    flags: list[dict[str, bool]] = [{} for _ in insns]
    for index, insn in enumerate(insns):
        module = insn.module
        if insn.opcode == Opcode.FINISH:
            _wait_for_last(index, module, Module.STORE, by_module, waited, flags)
            continue
        for other in _NEIGHBOURS[module]:
            _wait(index, module, other, found, by_module, waited, flags)
        by_module[module].append(index)
    _check_load_store(insns, found)
    result = tuple(
        insn.with_flags(**flags[k]) if flags[k] else insn for k, insn in enumerate(insns)
    )
    return NpuProgram(result, program.uops, program.segments)


def _wait(
    index: int,
    module: Module,
    other: Module,
    found: list[list[Range]],
    by_module: dict[Module, list[int]],
    waited: dict[tuple[Module, Module], int],
    flags: list[dict[str, bool]],
) -> None:
    last_waited = waited.get((module, other), -1)
    for j in reversed(by_module[other]):
        if j <= last_waited:
            return
        if any(a.conflicts(b) for a in found[index] for b in found[j]):
            pop, push = _WAIT_FLAGS[(module, other)]
            flags[index][pop] = True
            flags[j][push] = True
            waited[(module, other)] = j
            return


def _wait_for_last(
    index: int,
    module: Module,
    other: Module,
    by_module: dict[Module, list[int]],
    waited: dict[tuple[Module, Module], int],
    flags: list[dict[str, bool]],
) -> None:
    """FINISH retires after the last STORE: it waits for it unless it already has."""
    if not by_module[other] or by_module[other][-1] <= waited.get((module, other), -1):
        return
    pop, push = _WAIT_FLAGS[(module, other)]
    flags[index][pop] = True
    flags[by_module[other][-1]][push] = True


def _check_load_store(insns: Sequence[Instruction], found: list[list[Range]]) -> None:
    """No DRAM byte is touched by both the load and the store module (one sweep over the
    sorted ranges)."""
    spans: list[tuple[int, int, int, int]] = []
    for index, insn in enumerate(insns):
        if insn.module == Module.COMPUTE:
            continue
        for r in found[index]:
            if r.resource == "dram":
                spans.append((r.lo, r.hi, int(insn.module), index))
    spans.sort()
    reach: dict[int, tuple[int, int]] = {}
    for lo, hi, module, index in spans:
        other = int(Module.STORE) if module == int(Module.LOAD) else int(Module.LOAD)
        end, j = reach.get(other, (-1, -1))
        if end > lo:
            raise NpuIsaError(
                f"instruction {min(index, j)} and instruction {max(index, j)} touch the same DRAM "
                "range from the load and the store module; v1 programs never store and load one "
                "range"
            )
        if hi > reach.get(module, (-1, -1))[0]:
            reach[module] = (hi, index)


def verify_program(program: NpuProgram, config: NpuConfig) -> None:
    """npu-verify: every instruction's fields and bounds, the uop kernels' rows, FINISH last,
    token balance per FIFO, and an untimed run that proves the program cannot deadlock."""
    from ...runtime.npu_sim.functional import Effect
    from ...runtime.npu_sim.timing import FIFOS, pops, pushes, schedule

    insns = program.instructions
    for index, insn in enumerate(insns):
        verify(insn, config, index)
        if insn.opcode == Opcode.FINISH and index != len(insns) - 1:
            raise NpuIsaError(f"instruction {index}: FINISH before the end of the program")
    if not insns or insns[-1].opcode != Opcode.FINISH:
        raise NpuIsaError("the program does not end with FINISH")
    limits = {r: config.rows(Buffer[r.upper()]) for r in ("acc", "uop")}
    for index, insn in enumerate(insns):
        for r in ranges(insn, program.uops):
            if r.resource in limits and r.hi > limits[r.resource]:
                raise NpuIsaError(
                    f"instruction {index} ({insn.opcode.name}): {r.resource} rows up to "
                    f"{r.hi - 1} past the buffer"
                )
    balance = dict.fromkeys(FIFOS, 0)
    for insn in insns:
        for fifo in pushes(insn):
            balance[fifo] += 1
        for fifo in pops(insn):
            balance[fifo] -= 1
    unbalanced = {f: n for f, n in balance.items() if n}
    if unbalanced:
        raise NpuIsaError(f"token imbalance (pushes minus pops per FIFO): {unbalanced}")
    schedule(insns, [Effect() for _ in insns], config)
