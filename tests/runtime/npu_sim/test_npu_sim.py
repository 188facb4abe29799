"""The TNPU-1 functional simulator against numpy oracles: every opcode x buffer x dtype, written
as the spec's loops (NPU.md section 5) run element by element in Python."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from npu_programs import dram, finish, load, load_uops, program, put, store
from numpy.typing import NDArray

from terrace.runtime.npu_sim import NpuSimError, simulate
from terrace.runtime.npu_sim.functional import f32_to_bf16_bits
from terrace.targets.npu.isa import (
    AluOp,
    Buffer,
    ConfigReg,
    Instruction,
    MemDtype,
    Opcode,
    Uop,
)

RNG = np.random.default_rng(7)
NUMPY = {
    MemDtype.I8: np.int8,
    MemDtype.BF16: np.uint16,
    MemDtype.F32: np.float32,
    MemDtype.I32: np.int32,
}


def _random(dtype: MemDtype, shape: tuple[int, ...]) -> NDArray[np.generic]:
    if dtype == MemDtype.I8:
        return RNG.integers(-128, 128, shape).astype(np.int8)
    if dtype == MemDtype.I32:
        return RNG.integers(-(2**31), 2**31, shape).astype(np.int32)
    values = RNG.standard_normal(shape).astype(np.float32)
    return f32_to_bf16_bits(values) if dtype == MemDtype.BF16 else values


def _expected_tile(
    source: NDArray[np.generic],
    y: int,
    x: int,
    stride: int,
    pads: tuple[int, int, int, int],
    row: int,
) -> NDArray[np.generic]:
    """The spec's LOAD loop, element by element: a zeroed padded tile, then the rows."""
    x_all = pads[2] + x + pads[3]
    flat = source.reshape(-1, row)
    tile = np.zeros(((pads[0] + y + pads[1]) * x_all, row), source.dtype)
    for yy in range(y):
        for xx in range(x):
            tile[(yy + pads[0]) * x_all + xx + pads[2]] = flat[yy * stride + xx]
    return tile


PADS = [
    (0, 0, 0, 0),
    (1, 0, 0, 0),
    (0, 2, 0, 0),
    (0, 0, 3, 0),
    (0, 0, 0, 1),
    (1, 1, 1, 1),
    (15, 0, 0, 0),
    (0, 15, 0, 0),
    (0, 0, 15, 0),
    (0, 0, 0, 15),
]


@pytest.mark.parametrize("buffer", [Buffer.INP, Buffer.WGT])
@pytest.mark.parametrize("dtype", [MemDtype.I8, MemDtype.BF16, MemDtype.F32])
@pytest.mark.parametrize("pads", PADS)
def test_load_inp_wgt(buffer: Buffer, dtype: MemDtype, pads: tuple[int, int, int, int]) -> None:
    row = 16 if buffer == Buffer.INP else 256
    y, x, stride, base = 3, 4, 6, 5
    source = _random(dtype, (y * stride, row))
    memory = dram()
    put(memory, 256, source)
    result = simulate(
        program([load(buffer, dtype, base, 256, y, x, stride, pads), finish()]), memory
    )
    width = row * np.dtype(NUMPY[dtype]).itemsize
    raw = result.state.rows(buffer, dtype)
    tile = _expected_tile(source, y, x, stride, pads, row)
    got = raw[base : base + tile.shape[0]].copy().view(NUMPY[dtype]).reshape(tile.shape)
    np.testing.assert_array_equal(got, tile)
    assert raw.shape[1] == width


def test_load_with_stride_zero_broadcasts_one_row() -> None:
    source = _random(MemDtype.I8, (4, 16))
    memory = dram()
    put(memory, 0, source)
    result = simulate(
        program([load(Buffer.INP, MemDtype.I8, 0, 0, 3, 4, stride=0), finish()]), memory
    )
    got = result.state.inp[: 12 * 16].view(np.int8).reshape(3, 4, 16)
    np.testing.assert_array_equal(got, np.broadcast_to(source, (3, 4, 16)))


def test_load_zero_fills_the_padded_tile_over_stale_rows() -> None:
    memory = dram()
    put(memory, 0, np.full((4, 16), 9, np.int8))
    put(memory, 64, np.full((1, 16), 5, np.int8))
    insns = [
        load(Buffer.INP, 0, 0, 0, 2, 2),
        load(Buffer.INP, 0, 0, 64, 1, 1, pads=(1, 0, 1, 0)),
        finish(),
    ]
    result = simulate(program(insns), memory)
    rows = result.state.inp[: 4 * 16].view(np.int8).reshape(4, 16)
    np.testing.assert_array_equal(rows[:, 0], [0, 0, 0, 5])


@pytest.mark.parametrize("dtype", list(MemDtype))
def test_load_acc_converts_to_32_bits(dtype: MemDtype) -> None:
    source = _random(dtype, (2, 3, 16))
    memory = dram()
    put(memory, 128, source)
    result = simulate(program([load(Buffer.ACC, dtype, 7, 128, 2, 3), finish()]), memory)
    if dtype in (MemDtype.I8, MemDtype.I32):
        got = result.state.acc_i32()[7:13]
        expected = source.reshape(6, 16).astype(np.int32)
    else:
        got = result.state.acc_f32()[7:13]
        bits = source.astype(np.uint32) << 16 if dtype == MemDtype.BF16 else source.view(np.uint32)
        expected = bits.reshape(6, 16).view(np.float32)
    np.testing.assert_array_equal(got, expected)


def test_load_uop_places_the_words() -> None:
    uops = [Uop(1, 2, 3), Uop(65535, 0, 7)]
    result = simulate(program([load_uops(2, sram=4), finish()], [Uop(0, 0, 0)] * 4 + uops), dram())
    words = result.state.uop.view(np.uint64)[4:6]
    assert words.tolist() == [1 | 2 << 16 | 3 << 32, 65535 | 7 << 32]


def _config(reg: ConfigReg, value: int | float) -> Instruction:
    if isinstance(value, float):
        bits = int(np.array(value, np.float32).view(np.uint32))
    else:
        bits = int(np.array(value, np.int64).astype(np.int32).view(np.uint32))
    return Instruction.make(Opcode.CONFIG, module=2, reg=reg, value=bits)


def _store_run(
    acc: NDArray[np.generic], acc_dtype: MemDtype, configs: list[Instruction], out: Instruction
) -> NDArray[np.uint8]:
    memory = dram()
    put(memory, 0, acc)
    rows = acc.size // 16
    insns = [load(Buffer.ACC, acc_dtype, 0, 0, 1, rows, push_next=True), *configs]
    insns += [out.with_flags(pop_prev=True, push_prev=True), finish(pop_next=True)]
    return simulate(program(insns), memory).state.dram


@pytest.mark.parametrize("dtype", [MemDtype.I32, MemDtype.F32])
def test_store_acc_is_raw(dtype: MemDtype) -> None:
    acc = _random(dtype, (4, 16))
    memory = _store_run(acc, dtype, [], store(Buffer.ACC, dtype, 0, 4096, 2, 2, stride=5))
    got = memory[4096 : 4096 + 7 * 64].view(NUMPY[dtype]).reshape(7, 16)
    np.testing.assert_array_equal(got[[0, 1, 5, 6]], acc)


def test_store_out_i8_rounds_ties_to_even_and_saturates() -> None:
    acc = np.array([[1, 3, 5, -1, -3, 7, 1000, -1000, 0, 2, 4, 6, -5, -7, 9, 11]], np.int32)
    configs = [_config(ConfigReg.OUT_SCALE, 0.5), _config(ConfigReg.OUT_ZP, 3)]
    memory = _store_run(acc, MemDtype.I32, configs, store(Buffer.OUT, MemDtype.I8, 0, 4096, 1, 1))
    got = memory[4096:4112].view(np.int8)
    # rne(x * 0.5) + 3: 0.5->0, 1.5->2, 2.5->2, -0.5->-0, -1.5->-2, 3.5->4; 500->127, -500->-128.
    expected = [3, 5, 5, 3, 1, 7, 127, -128, 3, 4, 5, 6, 1, -1, 7, 9]
    assert got.tolist() == expected


def test_store_out_i8_clamps_to_the_config_range() -> None:
    acc = np.arange(-8, 8, dtype=np.int32).reshape(1, 16)
    configs = [_config(ConfigReg.OUT_MIN_I, 0), _config(ConfigReg.OUT_MAX_I, 5)]
    memory = _store_run(acc, MemDtype.I32, configs, store(Buffer.OUT, MemDtype.I8, 0, 4096, 1, 1))
    assert memory[4096:4112].view(np.int8).tolist() == [0] * 8 + [0, 1, 2, 3, 4, 5, 5, 5]


def test_store_out_f32_scales_and_clamps() -> None:
    acc = np.linspace(-4, 8, 32, dtype=np.float32).reshape(2, 16)
    configs = [
        _config(ConfigReg.OUT_SCALE, 2.0),
        _config(ConfigReg.OUT_MIN_F, 0.0),
        _config(ConfigReg.OUT_MAX_F, 6.0),
    ]
    memory = _store_run(acc, MemDtype.F32, configs, store(Buffer.OUT, MemDtype.F32, 0, 4096, 1, 2))
    got = memory[4096 : 4096 + 128].view(np.float32).reshape(2, 16)
    np.testing.assert_array_equal(got, np.clip(acc * np.float32(2), 0, 6))


def test_store_out_bf16_rounds_to_nearest_even() -> None:
    # 1 + 2^-8 is halfway between two bf16 values: ties go to the even mantissa (1.0);
    # 1 + 3 * 2^-8 is halfway too and goes up to 1 + 2^-6.
    values = [1 + 2**-8, 1 + 3 * 2**-8, 1 + 2**-8 + 2**-20, -2.0] + [0.0] * 12
    acc = np.array([values], np.float32)
    memory = _store_run(acc, MemDtype.F32, [], store(Buffer.OUT, MemDtype.BF16, 0, 4096, 1, 1))
    got = (memory[4096:4104].view(np.uint16).astype(np.uint32) << 16).view(np.float32)
    assert got.tolist() == [1.0, 1 + 2**-6, 1 + 2**-7, -2.0]


def _gemm(
    dtype: int, bgn: int, end: int, loops: dict[str, int], reset: bool = False, **flags: bool
) -> Instruction:
    return Instruction.make(
        Opcode.GEMM, dtype=dtype, uop_bgn=bgn, uop_end=end, reset=int(reset), **loops, **flags
    )


def _gemm_oracle(
    acc: NDArray[np.generic],
    inp: NDArray[np.generic],
    wgt: NDArray[np.generic],
    uops: list[Uop],
    loops: dict[str, int],
) -> None:
    """The spec's GEMM loop, one (o, i, u) at a time."""
    for o, i, u in itertools.product(range(loops["iter_out"]), range(loops["iter_in"]), uops):
        d = u.dst + o * loops["dst_fo"] + i * loops["dst_fi"]
        s = u.src + o * loops["src_fo"] + i * loops["src_fi"]
        w = u.wgt + o * loops.get("wgt_fo", 0) + i * loops.get("wgt_fi", 0)
        acc[d] += wgt[w].astype(acc.dtype) @ inp[s].astype(acc.dtype)


GEMM_LOOPS = [
    {"iter_out": 3, "iter_in": 4, "dst_fo": 4, "dst_fi": 1, "src_fo": 5, "src_fi": 1},
    {
        "iter_out": 2,
        "iter_in": 3,
        "dst_fo": 3,
        "dst_fi": 1,
        "src_fo": 0,
        "src_fi": 2,
        "wgt_fo": 1,
        "wgt_fi": 2,
    },
]


@pytest.mark.parametrize("dtype", [MemDtype.I8, MemDtype.BF16, MemDtype.F32])
@pytest.mark.parametrize("loops", GEMM_LOOPS, ids=["shared-weight", "moving-weight"])
def test_gemm(dtype: MemDtype, loops: dict[str, int]) -> None:
    inp = _random(dtype, (40, 16))
    wgt = _random(dtype, (12, 16, 16))
    start = _random(MemDtype.I32 if dtype == MemDtype.I8 else MemDtype.F32, (16, 16))
    uops = [Uop(0, 0, 0), Uop(0, 3, 1), Uop(1, 7, 2)]
    memory = dram()
    put(memory, 0, inp)
    put(memory, 8192, wgt)
    put(memory, 262144, start)
    acc_dtype = MemDtype.I32 if dtype == MemDtype.I8 else MemDtype.F32
    insns = [
        load_uops(3),
        load(Buffer.INP, dtype, 0, 0, 1, 40),
        load(Buffer.WGT, dtype, 0, 8192, 1, 12, push_next=True),
        load(Buffer.ACC, acc_dtype, 0, 262144, 1, 16),
        _gemm(dtype, 0, 3, loops, pop_prev=True),
        finish(),
    ]
    result = simulate(program(insns, uops), memory)
    if dtype == MemDtype.I8:
        expected = start.astype(np.int64)
        _gemm_oracle(expected, inp, wgt, uops, loops)
        np.testing.assert_array_equal(result.state.acc_i32()[:16], expected.astype(np.int32))
        return
    as_float = (
        (lambda a: (a.astype(np.uint32) << 16).view(np.float32))
        if dtype == MemDtype.BF16
        else (lambda a: a)
    )
    expected = start.astype(np.float64)
    _gemm_oracle(expected, as_float(inp), as_float(wgt), uops, loops)
    np.testing.assert_allclose(result.state.acc_f32()[:16], expected, rtol=1e-5, atol=1e-5)


def test_gemm_i8_accumulator_wraps() -> None:
    memory = dram()
    put(memory, 0, np.full((1, 16), 127, np.int8))
    put(memory, 4096, np.full((1, 16, 16), 127, np.int8))
    put(memory, 8192, np.full((1, 16), 2**31 - 1, np.int32))
    loops = {"iter_out": 1, "iter_in": 1}
    insns = [
        load_uops(1),
        load(Buffer.INP, 0, 0, 0, 1, 1),
        load(Buffer.WGT, 0, 0, 4096, 1, 1, push_next=True),
        load(Buffer.ACC, MemDtype.I32, 0, 8192, 1, 1),
        _gemm(0, 0, 1, loops, pop_prev=True),
        finish(),
    ]
    result = simulate(program(insns, [Uop(0, 0, 0)]), memory)
    expected = (2**31 - 1 + 16 * 127 * 127) - 2**32
    assert result.state.acc_i32()[0].tolist() == [expected] * 16


def test_gemm_reset_zeroes_only_the_destination_rows() -> None:
    memory = dram()
    put(memory, 0, np.arange(8 * 16, dtype=np.int32))
    loops = {"iter_out": 2, "iter_in": 1, "dst_fo": 3}
    insns = [
        load_uops(1),
        load(Buffer.ACC, MemDtype.I32, 0, 0, 1, 8),
        _gemm(0, 0, 1, loops, reset=True),
        finish(),
    ]
    result = simulate(program(insns, [Uop(1, 0, 0)]), memory)
    zeroed = [r for r in range(8) if not result.state.acc_i32()[r].any()]
    assert zeroed == [1, 4]


def test_gemm_non_injective_destination_is_an_error() -> None:
    loops = {"iter_out": 2, "iter_in": 2, "dst_fo": 1, "dst_fi": 1}
    insns = [load_uops(1), _gemm(0, 0, 1, loops), finish()]
    with pytest.raises(
        NpuSimError, match=r"instruction 1 \(GEMM\): the \(o, i\) -> dst map is not injective"
    ):
        simulate(program(insns, [Uop(0, 0, 0)]), dram())


def test_gemm_rows_out_of_range_is_an_error() -> None:
    insns = [
        load_uops(1),
        _gemm(0, 0, 1, {"iter_out": 1, "iter_in": 2, "dst_fi": 1, "src_fi": 1}),
        finish(),
    ]
    with pytest.raises(NpuSimError, match="INP row 4096 out of range"):
        simulate(program(insns, [Uop(0, 4095, 0)]), dram())


def _alu(
    dtype: int, op: AluOp, bgn: int, end: int, loops: dict[str, int], imm: int | None = None
) -> Instruction:
    return Instruction.make(
        Opcode.ALU,
        dtype=dtype,
        alu_op=op,
        uop_bgn=bgn,
        uop_end=end,
        use_imm=int(imm is not None),
        imm=imm or 0,
        **loops,
    )


def _alu_reference(op: AluOp, lhs: int, rhs: int) -> int:
    if op == AluOp.SHR:
        rhs = max(-31, min(31, rhs))
        return lhs >> rhs if rhs >= 0 else lhs << -rhs
    if op == AluOp.SHR_RND:
        rhs = max(-31, min(31, rhs))
        return (lhs + (1 << (rhs - 1))) >> rhs if rhs > 0 else lhs << -rhs
    table = {
        AluOp.MIN: min(lhs, rhs),
        AluOp.MAX: max(lhs, rhs),
        AluOp.ADD: lhs + rhs,
        AluOp.SUB: lhs - rhs,
        AluOp.MUL: lhs * rhs,
        AluOp.MOV: rhs,
    }
    return table[op]


def _wrap(value: int) -> int:
    return (value + 2**31) % 2**32 - 2**31


ALU_LOOPS = {"iter_out": 2, "iter_in": 3, "dst_fo": 3, "dst_fi": 1, "src_fo": 0, "src_fi": 1}


@pytest.mark.parametrize("op", list(AluOp), ids=lambda o: o.name)
@pytest.mark.parametrize("use_imm", [False, True], ids=["tensor", "imm"])
def test_alu_int(op: AluOp, use_imm: bool) -> None:
    start = RNG.integers(-(2**31), 2**31, (32, 16)).astype(np.int32)
    if op in (AluOp.SHR, AluOp.SHR_RND):
        start[8:13] = RNG.integers(-40, 40, (5, 16))
    imm = 0xFFFD if use_imm else None  # -3 as int16
    memory = dram()
    put(memory, 0, start)
    uops = [Uop(0, 8, 0), Uop(24, 10, 0)]
    insns = [
        load_uops(2),
        load(Buffer.ACC, MemDtype.I32, 0, 0, 1, 32),
        _alu(0, op, 0, 2, ALU_LOOPS, imm),
        finish(),
    ]
    result = simulate(program(insns, uops), memory)
    expected = start.astype(object)
    for o, i, u in itertools.product(range(2), range(3), uops):
        d = u.dst + o * 3 + i
        s = u.src + i
        for j in range(16):
            rhs = -3 if use_imm else int(expected[s][j])
            expected[d][j] = _wrap(_alu_reference(op, int(expected[d][j]), rhs))
    np.testing.assert_array_equal(result.state.acc_i32()[:32], expected.astype(np.int64))


@pytest.mark.parametrize(
    "op", [AluOp.MIN, AluOp.MAX, AluOp.ADD, AluOp.SUB, AluOp.MUL, AluOp.MOV], ids=lambda o: o.name
)
@pytest.mark.parametrize("use_imm", [False, True], ids=["tensor", "imm"])
def test_alu_f32(op: AluOp, use_imm: bool) -> None:
    start = RNG.standard_normal((32, 16)).astype(np.float32)
    imm = 0x40C0 if use_imm else None  # bf16 6.0
    memory = dram()
    put(memory, 0, start)
    uops = [Uop(0, 8, 0), Uop(24, 10, 0)]
    insns = [
        load_uops(2),
        load(Buffer.ACC, MemDtype.F32, 0, 0, 1, 32),
        _alu(2, op, 0, 2, ALU_LOOPS, imm),
        finish(),
    ]
    result = simulate(program(insns, uops), memory)
    expected = start.copy()
    functions = {
        AluOp.MIN: np.minimum,
        AluOp.MAX: np.maximum,
        AluOp.ADD: np.add,
        AluOp.SUB: np.subtract,
        AluOp.MUL: np.multiply,
    }
    for o, i, u in itertools.product(range(2), range(3), uops):
        d = u.dst + o * 3 + i
        rhs = np.float32(6.0) if use_imm else expected[u.src + i].copy()
        expected[d] = rhs if op == AluOp.MOV else functions[op](expected[d], rhs)
    np.testing.assert_array_equal(result.state.acc_f32()[:32], expected)


def test_alu_read_after_write_within_a_uop_is_an_error() -> None:
    loops = {"iter_out": 1, "iter_in": 2, "dst_fi": 1, "src_fi": 1}
    insns = [load_uops(1), _alu(0, AluOp.ADD, 0, 1, loops), finish()]
    with pytest.raises(NpuSimError, match="reads an ACC row another iteration writes"):
        simulate(program(insns, [Uop(1, 0, 0)]), dram())


def test_alu_rows_written_twice_is_an_error() -> None:
    loops = {"iter_out": 1, "iter_in": 1}
    insns = [load_uops(2), _alu(0, AluOp.ADD, 0, 2, loops, imm=1), finish()]
    with pytest.raises(NpuSimError, match="write the same ACC row twice"):
        simulate(program(insns, [Uop(1, 0, 0), Uop(1, 5, 0)]), dram())


def test_alu_in_place_is_allowed() -> None:
    memory = dram()
    put(memory, 0, np.arange(32, dtype=np.int32))
    loops = {"iter_out": 1, "iter_in": 2, "dst_fi": 1, "src_fi": 1}
    insns = [
        load_uops(1),
        load(Buffer.ACC, MemDtype.I32, 0, 0, 1, 2),
        _alu(0, AluOp.ADD, 0, 1, loops),
        finish(),
    ]
    result = simulate(program(insns, [Uop(0, 0, 0)]), memory)
    np.testing.assert_array_equal(result.state.acc_i32()[:2].reshape(-1), np.arange(32) * 2)


def test_program_must_end_with_finish() -> None:
    with pytest.raises(NpuSimError, match="the last instruction must be FINISH"):
        simulate(program([load(Buffer.INP, 0, 0, 0, 1, 1)]), dram())


def test_dram_out_of_range_is_an_error() -> None:
    with pytest.raises(NpuSimError, match=r"instruction 0 \(LOAD\): DRAM bytes"):
        simulate(program([load(Buffer.INP, 0, 0, 2**20 + 32768 - 16, 1, 2), finish()]), dram())
