"""Run a TNPU-1 program: the functional core in program order, then the cycle model, then
(in debug mode) the race detector; the result carries the stats and the Chrome trace."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ...targets.npu.binary import NpuProgram
from ...targets.npu.isa import GemmDtype, Module, NpuConfig, Opcode, encode_uop, verify
from ...targets.npu.uops import UOP_SEGMENT
from .errors import NpuSimError
from .functional import Effect, NpuState, execute
from .races import check_races
from .timing import Timing, schedule


@dataclass
class SimResult:
    program: NpuProgram
    config: NpuConfig
    effects: list[Effect]
    timing: Timing
    state: NpuState

    @property
    def cycles(self) -> int:
        return self.timing.cycles

    def stats(self, useful_macs: int | None = None) -> dict[str, Any]:
        """The stats JSON (docs/npu.md, "Stats"): cycles, per-module busy/stall/idle, DRAM
        bytes per buffer, MACs, uops, utilization, arithmetic intensity and the roofline."""
        return program_stats(self, useful_macs)

    def chrome_trace(self) -> dict[str, Any]:
        """One track per module and one for the DRAM channel (times in microseconds at the
        configured clock)."""
        scale = 1e6 / self.config.clock_hz
        events: list[dict[str, Any]] = []
        for module in Module:
            events.append(
                {
                    "ph": "M",
                    "name": "thread_name",
                    "pid": 0,
                    "tid": int(module),
                    "args": {"name": module.name.lower()},
                }
            )
        events.append(
            {"ph": "M", "name": "thread_name", "pid": 0, "tid": 3, "args": {"name": "dram"}}
        )
        for index, insn in enumerate(self.program.instructions):
            start, end = self.timing.start[index], self.timing.end[index]
            name = "NOP" if insn.is_nop() else insn.opcode.name
            events.append(
                {
                    "ph": "X",
                    "name": name,
                    "pid": 0,
                    "tid": int(insn.module),
                    "ts": start * scale,
                    "dur": (end - start) * scale,
                    "args": {"index": index},
                }
            )
        for index, start, end in self.timing.dram:
            events.append(
                {
                    "ph": "X",
                    "name": f"dma {index}",
                    "pid": 0,
                    "tid": 3,
                    "ts": start * scale,
                    "dur": (end - start) * scale,
                }
            )
        return {"traceEvents": events, "displayTimeUnit": "ns"}

    def write(self, stats_path: Path | None = None, trace_path: Path | None = None) -> None:
        if stats_path is not None:
            stats_path.write_text(json.dumps(self.stats(), indent=2))
        if trace_path is not None:
            trace_path.write_text(json.dumps(self.chrome_trace()))


def simulate(
    program: NpuProgram,
    dram: NDArray[np.uint8],
    config: NpuConfig | None = None,
    *,
    check_races_: bool = False,
) -> SimResult:
    """Run `program` on a TNPU-1 with `config` over `dram` (changed in place: the host's
    shared memory). With `check_races_`, the race detector runs too."""
    config = config or NpuConfig()
    instructions = program.instructions
    if not instructions or instructions[-1].opcode != Opcode.FINISH:
        raise NpuSimError(len(instructions), None, "the last instruction must be FINISH")
    for index, insn in enumerate(instructions):
        verify(insn, config, index)
        if insn.opcode == Opcode.FINISH and index != len(instructions) - 1:
            raise NpuSimError(index, insn, "FINISH before the end of the program")
    _write_uops(program, dram)
    state = NpuState(config, dram)
    effects = [execute(state, insn, index) for index, insn in enumerate(instructions)]
    timing = schedule(instructions, effects, config)
    if check_races_:
        check_races(instructions, effects, timing)
    return SimResult(program, config, effects, timing, state)


def _write_uops(program: NpuProgram, dram: NDArray[np.uint8]) -> None:
    if not program.uops:
        return
    segment = program.segment(UOP_SEGMENT)
    words = b"".join(encode_uop(u) for u in program.uops)
    if len(words) > segment.size:
        raise NpuSimError(
            -1, None, f"{len(program.uops)} uops do not fit the '{UOP_SEGMENT}' segment"
        )
    dram[segment.offset : segment.offset + len(words)] = np.frombuffer(words, np.uint8)


def program_stats(result: SimResult, useful_macs: int | None) -> dict[str, Any]:
    config, timing = result.config, result.timing
    cycles = max(timing.cycles, 1)
    modules: dict[str, dict[str, int]] = {}
    for module in Module:
        members = [i for i, insn in enumerate(result.program.instructions) if insn.module == module]
        busy = sum(timing.end[i] - timing.start[i] for i in members)
        stall = sum(timing.token_stall[i] for i in members)
        modules[module.name.lower()] = {
            "busy": busy,
            "token_stall": stall,
            "idle": cycles - busy - stall,
        }
    dram_bytes: dict[str, int] = {}
    for effect in result.effects:
        if effect.buffer:
            dram_bytes[effect.buffer] = dram_bytes.get(effect.buffer, 0) + effect.dram_bytes
    gemms = [
        (insn, e)
        for insn, e in zip(result.program.instructions, result.effects, strict=True)
        if insn.opcode == Opcode.GEMM and not insn["reset"]
    ]
    executed = sum(e.uops for _, e in gemms) * 256
    dtypes = {GemmDtype(insn["dtype"]) for insn, _ in gemms} or {GemmDtype.I8}
    peak = min(config.peak_macs[d] for d in dtypes)
    macs = executed if useful_macs is None else useful_macs
    total_bytes = sum(dram_bytes.values())
    intensity = 2 * macs / total_bytes if total_bytes else float("inf")
    bound = min(2 * peak, intensity * config.dram_bytes_per_cycle)
    achieved = 2 * macs / cycles
    return {
        "cycles": timing.cycles,
        "launch_cycles": config.launch_cycles,
        "modules": modules,
        "dram_bytes": dram_bytes,
        "useful_macs": macs,
        "executed_macs": executed,
        "executed_uops": sum(e.uops for e in result.effects),
        "peak_macs_per_cycle": peak,
        "mac_utilization": macs / (peak * cycles),
        "arithmetic_intensity": intensity,
        "roofline_ops_per_cycle": bound,
        "roofline_efficiency": achieved / bound if bound else 0.0,
        "tokens_left": timing.tokens_left,
    }


def static_effects(program: NpuProgram) -> list[Effect]:
    """What the cycle model needs of each instruction (DRAM bytes, executed uops), computed from
    the instructions alone: the timing of a program without running its data."""
    from ...targets.npu.isa import Buffer, element_bytes

    effects: list[Effect] = []
    for insn in program.instructions:
        if insn.is_nop() or insn.opcode in (Opcode.FINISH, Opcode.CONFIG):
            effects.append(Effect())
        elif insn.opcode in (Opcode.LOAD, Opcode.STORE):
            buffer = Buffer(insn["buffer"])
            size = insn["y_size"] * insn["x_size"] * element_bytes(buffer, insn["dtype"])
            effects.append(Effect(dram_bytes=size, buffer=buffer.name.lower()))
        else:
            count = (insn["uop_end"] - insn["uop_bgn"]) * insn["iter_out"] * insn["iter_in"]
            effects.append(Effect(uops=count))
    return effects


def time_program(program: NpuProgram, config: NpuConfig | None = None) -> SimResult:
    """The cycle model alone (no data): the same cycles and stats as `simulate`, in a fraction
    of its time. The result's state is empty."""
    config = config or NpuConfig()
    effects = static_effects(program)
    timing = schedule(program.instructions, effects, config)
    return SimResult(program, config, effects, timing, NpuState(config, np.zeros(0, np.uint8)))
