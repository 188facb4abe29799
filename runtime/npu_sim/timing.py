"""The TNPU-1 cycle model (NPU.md, "The cycle model"): three in-order modules, four counting
token FIFOs, one shared DRAM channel, command queues of bounded depth, analytic cost per
instruction. Nothing steps cycle by cycle: the model schedules whole instructions.

Schedule: fetch dispatches instructions in program order; an instruction enters its module's
queue when the queue has room (the instruction `queue_depth` places earlier in the same queue
has started), and fetch stalls behind it otherwise. A module starts its queue's head at
`max(module free, dispatch, times of the tokens it pops)`. A DMA first spends its fixed latency
(`dma_fixed + dma_per_row * y_size`, pipelined: it does not hold the channel), then holds the
channel for `ceil(bytes / BW)` cycles once the channel is free. Heads are started in order of
their start times, so the channel is granted first come, first served.

If no head can start and instructions remain, the program deadlocks: the error shows each
queue's head and what it waits for.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from ...targets.npu.isa import GemmDtype, Instruction, Module, NpuConfig, Opcode
from .errors import NpuSimError
from .functional import Effect

FIFOS: tuple[str, ...] = ("L->C", "C->L", "C->S", "S->C")

_POPS = {
    (Module.LOAD, "pop_next"): "C->L",
    (Module.COMPUTE, "pop_prev"): "L->C",
    (Module.COMPUTE, "pop_next"): "S->C",
    (Module.STORE, "pop_prev"): "C->S",
}
_PUSHES = {
    (Module.LOAD, "push_next"): "L->C",
    (Module.COMPUTE, "push_prev"): "C->L",
    (Module.COMPUTE, "push_next"): "C->S",
    (Module.STORE, "push_prev"): "S->C",
}


@dataclass
class Timing:
    """When each instruction ran, and the DRAM channel's use."""

    start: list[int]
    end: list[int]
    dispatch: list[int]
    token_stall: list[int]
    dram: list[tuple[int, int, int]] = field(default_factory=lambda: list[tuple[int, int, int]]())
    """(instruction, channel start, channel end) per DMA."""
    tokens_left: dict[str, int] = field(default_factory=lambda: dict[str, int]())

    @property
    def cycles(self) -> int:
        return max(self.end, default=0)


def pops(insn: Instruction) -> list[str]:
    """The FIFOs `insn` pops, in flag order."""
    return [
        fifo
        for (module, flag), fifo in _POPS.items()
        if module == insn.module and getattr(insn, flag)
    ]


def pushes(insn: Instruction) -> list[str]:
    return [
        fifo
        for (module, flag), fifo in _PUSHES.items()
        if module == insn.module and getattr(insn, flag)
    ]


def cost(insn: Instruction, effect: Effect, config: NpuConfig) -> tuple[int, int]:
    """(cycles outside the DRAM channel, cycles holding the channel) of one instruction."""
    if insn.is_nop() or insn.opcode in (Opcode.FINISH, Opcode.CONFIG):
        return config.simple_cycles, 0
    if insn.opcode in (Opcode.LOAD, Opcode.STORE):
        fixed = config.dma_fixed + config.dma_per_row * insn["y_size"]
        return fixed, math.ceil(effect.dram_bytes / config.dram_bytes_per_cycle)
    if insn.opcode == Opcode.GEMM:
        return config.gemm_fixed + effect.uops * config.gemm_ii[GemmDtype(insn["dtype"])], 0
    per_uop = config.alu_ii_imm if insn["use_imm"] else config.alu_ii_tensor
    return config.alu_fixed + effect.uops * per_uop, 0


def schedule(
    program: Sequence[Instruction], effects: Sequence[Effect], config: NpuConfig
) -> Timing:
    """The timed schedule of `program` whose functional run gave `effects`."""
    n = len(program)
    popping = [pops(insn) for insn in program]
    pushing = [pushes(insn) for insn in program]
    queues: dict[Module, list[int]] = {m: [] for m in Module}
    position: list[int] = []
    for index, insn in enumerate(program):
        position.append(len(queues[insn.module]))
        queues[insn.module].append(index)
    start: list[int | None] = [None] * n
    end = [0] * n
    dispatch = [0] * n
    stall = [0] * n
    heads = dict.fromkeys(Module, 0)
    free = dict.fromkeys(Module, 0)
    tokens: dict[str, list[int]] = {f: [] for f in FIFOS}
    popped: dict[str, int] = dict.fromkeys(FIFOS, 0)
    channel_free = 0
    fetched = 0
    fetch_time = 0
    timing = Timing([], [], [], [])
    for _ in range(n):
        fetched, fetch_time = _fetch(
            program, queues, position, start, dispatch, fetched, fetch_time, config
        )
        choice = _earliest_ready(popping, queues, heads, free, dispatch, tokens, popped, fetched)
        if choice is None:
            raise NpuSimError(
                -1, None, _deadlock_report(program, queues, heads, tokens, popped, fetched)
            )
        module, at, ready_without_tokens = choice
        index = queues[module][heads[module]]
        insn = program[index]
        for fifo in popping[index]:
            popped[fifo] += 1
        fixed, channel = cost(insn, effects[index], config)
        if channel:
            channel_start = max(at + fixed, channel_free)
            channel_free = channel_start + channel
            finish = channel_free
            timing.dram.append((index, channel_start, channel_free))
        else:
            finish = at + fixed
        start[index], end[index] = at, finish
        stall[index] = at - ready_without_tokens
        free[module] = finish
        heads[module] += 1
        for fifo in pushing[index]:
            tokens[fifo].append(finish)
    timing.start = [s if s is not None else 0 for s in start]
    timing.end, timing.dispatch, timing.token_stall = end, dispatch, stall
    timing.tokens_left = {
        f: len(tokens[f]) - popped[f] for f in FIFOS if len(tokens[f]) != popped[f]
    }
    return timing


def _fetch(
    program: Sequence[Instruction],
    queues: dict[Module, list[int]],
    position: list[int],
    start: list[int | None],
    dispatch: list[int],
    fetched: int,
    fetch_time: int,
    config: NpuConfig,
) -> tuple[int, int]:
    """Dispatch instructions in program order while their queues have room."""
    while fetched < len(program):
        slot = position[fetched]
        if slot >= config.queue_depth:
            blocker = start[queues[program[fetched].module][slot - config.queue_depth]]
            if blocker is None:
                break
            fetch_time = max(fetch_time, blocker)
        dispatch[fetched] = fetch_time
        fetched += 1
    return fetched, fetch_time


def _earliest_ready(
    popping: list[list[str]],
    queues: dict[Module, list[int]],
    heads: dict[Module, int],
    free: dict[Module, int],
    dispatch: list[int],
    tokens: dict[str, list[int]],
    popped: dict[str, int],
    fetched: int,
) -> tuple[Module, int, int] | None:
    """The module whose head can start earliest: (module, start, start without tokens)."""
    best: tuple[Module, int, int] | None = None
    for module in Module:
        if heads[module] >= len(queues[module]):
            continue
        index = queues[module][heads[module]]
        if index >= fetched:
            continue
        needed = popping[index]
        if any(popped[f] >= len(tokens[f]) for f in needed):
            continue
        base = max(free[module], dispatch[index])
        at = max([base, *(tokens[f][popped[f]] for f in needed)])
        if best is None or at < best[1]:
            best = (module, at, base)
    return best


def _deadlock_report(
    program: Sequence[Instruction],
    queues: dict[Module, list[int]],
    heads: dict[Module, int],
    tokens: dict[str, list[int]],
    popped: dict[str, int],
    fetched: int,
) -> str:
    lines = ["deadlock: no module can start its next instruction"]
    for module in Module:
        if heads[module] >= len(queues[module]):
            lines.append(f"  {module.name.lower()}: queue empty")
            continue
        index = queues[module][heads[module]]
        insn = program[index]
        if index >= fetched:
            lines.append(
                f"  {module.name.lower()}: head instruction {index} not fetched (fetch stalled)"
            )
            continue
        waits = [f for f in pops(insn) if popped[f] >= len(tokens[f])]
        lines.append(
            f"  {module.name.lower()}: head instruction {index} ({insn.opcode.name}) waits for a "
            f"token on {', '.join(waits)}"
        )
    return "\n".join(lines)
