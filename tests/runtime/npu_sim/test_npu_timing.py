"""The TNPU-1 cycle model: hand-computed golden counts (the arithmetic is in each test), the
invariants of NPU.md's cycle-model section as properties, the race and deadlock detectors,
stats and trace."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from npu_programs import dram, finish, load, load_uops, program, store
from npu_strategies import EXAMPLES

from terrace.runtime.npu_sim import NpuSimError, simulate
from terrace.targets.npu.binary import NpuProgram
from terrace.targets.npu.isa import AluOp, Buffer, Instruction, MemDtype, NpuConfig, Opcode, Uop


def _gemm(
    dtype: int, bgn: int, end: int, iter_out: int, iter_in: int, **flags: bool
) -> Instruction:
    return Instruction.make(
        Opcode.GEMM,
        dtype=dtype,
        uop_bgn=bgn,
        uop_end=end,
        iter_out=iter_out,
        iter_in=iter_in,
        dst_fo=iter_in,
        dst_fi=1,
        src_fi=1,
        **flags,
    )


def test_golden_one_load() -> None:
    # LOAD INP i8, 2 x 16 rows: fixed 100 + 2*2 = 104, then 512 B / 16 B per cycle = 32 -> 136.
    # FINISH pops the load's token at 136 and takes 1 cycle -> 137.
    insns = [load(Buffer.INP, MemDtype.I8, 0, 0, 2, 16, push_next=True), finish(pop_prev=True)]
    result = simulate(program(insns), dram())
    assert result.timing.end == [136, 137]
    assert result.cycles == 137


def test_golden_compute_costs() -> None:
    # LOAD UOP of 5 uops: 100 + 2 * 1 fixed, 40 B / 16 -> 3 channel cycles: 105.
    # GEMM f32, 3 uops x (2 x 3) iterations: 32 + 18 * 4 = 104 -> 209.
    # ALU imm, 2 uops x 4 iterations: 16 + 8 * 1 = 24 -> 233; ALU tensor: 16 + 8 * 2 = 32 -> 265.
    # FINISH 1 -> 266.
    alu = {"iter_out": 1, "iter_in": 4, "dst_fi": 1, "src_fi": 1}
    insns = [
        load_uops(5),
        _gemm(2, 0, 3, 2, 3),
        Instruction.make(
            Opcode.ALU, dtype=0, alu_op=AluOp.MAX, use_imm=1, uop_bgn=3, uop_end=5, **alu
        ),
        Instruction.make(Opcode.ALU, dtype=0, alu_op=AluOp.ADD, uop_bgn=3, uop_end=5, **alu),
        finish(),
    ]
    uops = [Uop(0, 0, 0), Uop(0, 16, 1), Uop(0, 32, 2), Uop(100, 100, 0), Uop(200, 200, 0)]
    result = simulate(program(insns, uops), dram())
    assert result.timing.end == [105, 209, 233, 265, 266]


def test_golden_dram_channel_is_shared() -> None:
    # Both DMAs start at 0 and spend their fixed 100 + 2 = 102 cycles in parallel. The load
    # module's LOAD INP (1 x 64 i8 rows = 1,024 B = 64 cycles) gets the channel at 102 and ends
    # at 166; the compute module's LOAD ACC (1 x 32 i32 rows = 2,048 B = 128 cycles) waits for
    # the channel until 166 and ends at 294. FINISH waits for the compute module: 294 + 1.
    insns = [
        load(Buffer.INP, MemDtype.I8, 0, 0, 1, 64, push_next=True),
        load(Buffer.ACC, MemDtype.I32, 0, 4096, 1, 32),
        finish(pop_prev=True),
    ]
    result = simulate(program(insns), dram())
    assert result.timing.dram == [(0, 102, 166), (1, 166, 294)]
    assert result.cycles == 295


def _pipeline() -> list[Instruction]:
    return [
        load_uops(2),
        load(Buffer.INP, MemDtype.I8, 0, 0, 1, 16, push_next=True),
        load(Buffer.INP, MemDtype.I8, 16, 256, 1, 16, push_next=True),
        _gemm(0, 0, 1, 1, 16, pop_prev=True, push_next=True),
        _gemm(0, 1, 2, 1, 16, pop_prev=True, push_next=True),
        store(Buffer.ACC, MemDtype.I32, 0, 8192, 1, 16, pop_prev=True),
        store(Buffer.ACC, MemDtype.I32, 16, 9216, 1, 16, pop_prev=True, push_prev=True),
        finish(pop_next=True),
    ]


def test_golden_pipeline_with_tokens() -> None:
    # At 0 the load module (first on ties) and the compute module's LOAD UOP both start.
    # load 0: 102 fixed, then the channel for 256 B / 16 = 16 cycles: [0, 118].
    # LOAD UOP (2 uops, 16 B): fixed 102, the channel is busy until 118: [0, 119].
    # load 1 starts at 118, channel at 118 + 102 = 220: [118, 236].
    # gemm 0 (1 uop x 16, i8: 32 + 16 = 48) after the LOAD UOP: [119, 167]; gemm 1 waits for
    #   load 1: [236, 284].
    # store 0 (1,024 B = 64 cycles) waits for gemm 0: starts 167, channel at 269 -> 333;
    #   store 1 waits for its module (333): channel at 435 -> 499.
    # FINISH pops store 1's token: [499, 500].
    result = simulate(
        program(_pipeline(), [Uop(0, 0, 0), Uop(16, 16, 0)]), dram(), check_races_=True
    )
    assert result.timing.start == [0, 0, 118, 119, 236, 167, 333, 499]
    assert result.timing.end == [119, 118, 236, 167, 284, 333, 499, 500]
    stats = result.stats()
    # compute: busy 119 + 48 + 48 + 1; waits for tokens 236 - 167 (gemm 1), 499 - 284 (FINISH).
    assert stats["modules"]["compute"] == {"busy": 216, "token_stall": 69 + 215, "idle": 0}


def test_golden_full_queue_stalls_fetch() -> None:
    # Queue depth 1: GEMM B enters when A starts (0); C only when B starts (132), so fetch
    # stalls and the LOAD behind C is dispatched at 132: [132, 132 + 102 + 16 = 250]. With the
    # default depth the LOAD runs at [0, 118] and the program ends with FINISH at 198 + 1.
    # A: 1 uop x 100 iterations = 32 + 100 = 132; B, C: 1 uop x 1 = 33 each.
    insns = [
        _gemm(0, 0, 1, 1, 100),
        _gemm(0, 0, 1, 1, 1),
        _gemm(0, 0, 1, 1, 1),
        load(Buffer.INP, MemDtype.I8, 0, 0, 1, 16),
        finish(),
    ]
    shallow = simulate(program(insns), dram(), NpuConfig(queue_depth=1))
    assert shallow.timing.start[3] == 132
    assert shallow.cycles == 250
    assert simulate(program(insns), dram()).cycles == 199


def _double_buffered(tiles: list[tuple[int, int, int]], dtype: int) -> NpuProgram:
    """VTA's two-virtual-thread pattern: tile t uses half t % 2 of INP and ACC; loads wait for
    the compute of tile t - 2 to free their half, computes wait for the store of tile t - 2."""
    insns = [load_uops(2)]
    for t, (rows, uops, y) in enumerate(tiles):
        half = t % 2
        insns.append(
            load(
                Buffer.INP,
                dtype,
                half * 512,
                4096 * t,
                y,
                rows // y,
                pop_next=t >= 2,
                push_next=True,
            )
        )
        gemm = Instruction.make(
            Opcode.GEMM,
            dtype=dtype,
            uop_bgn=half,
            uop_end=half + 1,
            iter_out=uops,
            iter_in=rows,
            dst_fo=rows,
            dst_fi=1,
            src_fi=1,
            pop_prev=True,
            pop_next=t >= 2,
            push_prev=True,
            push_next=True,
        )
        insns.append(gemm)
        insns.append(
            store(
                Buffer.ACC,
                MemDtype.I32 if dtype == 0 else MemDtype.F32,
                half * 512,
                1 << 19 | 8192 * t,
                1,
                rows,
                pop_prev=True,
                push_prev=True,
            )
        )
    insns.append(finish(pop_next=True))
    return program(insns, [Uop(0, 0, 0), Uop(512, 512, 0)])


tile_lists = st.lists(
    st.tuples(st.sampled_from([16, 32, 64, 128]), st.integers(1, 3), st.sampled_from([1, 2, 4])),
    min_size=1,
    max_size=6,
)


def _cycles(prog: NpuProgram, config: NpuConfig) -> int:
    return simulate(prog, dram(), config).cycles


@settings(max_examples=EXAMPLES, deadline=None, database=None)
@given(tile_lists, st.sampled_from([0, 2]))
def test_cycles_lie_between_busiest_module_and_the_serial_sum(
    tiles: list[tuple[int, int, int]], dtype: int
) -> None:
    result = simulate(_double_buffered(tiles, dtype), dram(), check_races_=True)
    stats = result.stats()
    busy = [m["busy"] for m in stats["modules"].values()]
    channel = sum(end - start for _, start, end in result.timing.dram)
    assert result.cycles >= max(busy)
    assert result.cycles <= sum(busy) + channel + result.config.launch_cycles


@settings(max_examples=EXAMPLES, deadline=None, database=None)
@given(
    tile_lists,
    st.sampled_from(
        [
            {"dram_bytes_per_cycle": 32},
            {"dma_fixed": 50},
            {"dma_per_row": 1},
            {"gemm_fixed": 8},
            {"gemm_ii": (1, 1, 2)},
            {"alu_fixed": 4},
        ]
    ),
)
def test_cycles_never_increase_with_faster_parameters(
    tiles: list[tuple[int, int, int]], faster: dict[str, object]
) -> None:
    prog = _double_buffered(tiles, 2)
    base = NpuConfig(dram_bytes_per_cycle=8)
    quicker = (
        replace(base, **faster)
        if "dram_bytes_per_cycle" not in faster
        else replace(base, dram_bytes_per_cycle=16)
    )
    assert _cycles(prog, quicker) <= _cycles(prog, base)


def _drop_token(prog: NpuProgram, pusher: int, popper: int, push: str, pop: str) -> NpuProgram:
    insns = list(prog.instructions)
    insns[pusher] = insns[pusher].with_flags(**{push: False})
    insns[popper] = insns[popper].with_flags(**{pop: False})
    return NpuProgram(tuple(insns), prog.uops, prog.segments)


@settings(max_examples=EXAMPLES, deadline=None, database=None)
@given(tile_lists.filter(lambda t: len(t) >= 2), st.data())
def test_removing_a_token_never_increases_cycles(
    tiles: list[tuple[int, int, int]], data: st.DataObject
) -> None:
    prog = _double_buffered(tiles, 0)
    t = data.draw(st.integers(0, len(tiles) - 1))
    load_index, gemm_index = 1 + 3 * t, 2 + 3 * t
    dropped = _drop_token(prog, load_index, gemm_index, "push_next", "pop_prev")
    assert simulate(dropped, dram()).cycles <= simulate(prog, dram()).cycles


def test_a_deleted_token_is_flagged_by_the_race_detector() -> None:
    # Tile 1's GEMM no longer waits for tile 1's LOAD: it reads INP rows the LOAD is writing.
    prog = _double_buffered([(64, 1, 1), (64, 1, 1)], 0)
    simulate(prog, dram(), check_races_=True)
    dropped = _drop_token(prog, 4, 5, "push_next", "pop_prev")
    with pytest.raises(
        NpuSimError, match=r"instruction 5 \(GEMM\): race on inp \[512, 576\).*instruction 4 \(LOAD"
    ):
        simulate(dropped, dram(), check_races_=True)


def test_an_inverted_token_is_flagged_by_the_deadlock_detector() -> None:
    # Tile 0's LOAD waits for a C->L token (pop_next) instead of sending L->C (push_next): the
    # load module waits for compute, and compute waits for the load.
    prog = _double_buffered([(64, 1, 1), (64, 1, 1)], 0)
    insns = list(prog.instructions)
    insns[1] = insns[1].with_flags(push_next=False, pop_next=True)
    inverted = NpuProgram(tuple(insns), prog.uops, prog.segments)
    message = (
        r"deadlock(.|\n)*load: head instruction 1 \(LOAD\) waits for a token on C->L"
        r"(.|\n)*compute: head instruction 2 \(GEMM\) waits for a token on L->C"
    )
    with pytest.raises(NpuSimError, match=message):
        simulate(inverted, dram())


def test_stats_and_trace_are_json(tmp_path: object) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    result = simulate(program(_pipeline(), [Uop(0, 0, 0), Uop(16, 16, 0)]), dram())
    result.write(tmp_path / "stats.json", tmp_path / "trace.json")
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["cycles"] == 500
    assert stats["dram_bytes"] == {"uop": 16, "inp": 512, "acc": 2048}
    assert stats["executed_macs"] == 2 * 16 * 256
    assert stats["mac_utilization"] == pytest.approx(2 * 16 * 256 / (256 * 500))
    trace = json.loads((tmp_path / "trace.json").read_text())
    spans = [e for e in trace["traceEvents"] if e["ph"] == "X"]
    assert len(spans) == 8 + 5  # one per instruction, one per DMA on the dram track
    assert {e["tid"] for e in spans} == {0, 1, 2, 3}
    assert np.isclose(max(e["ts"] + e["dur"] for e in spans), 0.5)
