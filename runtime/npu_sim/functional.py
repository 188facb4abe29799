"""The functional core of the TNPU-1 simulator: what each instruction does to SRAM and DRAM.

Instructions run in program order (the timed model checks separately that the overlapped
schedule is equivalent to it). Every instruction is vectorized: a LOAD or STORE is one strided
numpy copy; a GEMM is one matmul per group of uops that share a destination (their products are
summed over a concatenated reduction axis, which is im2col done by the uop kernel); an ALU is
one vector operation per uop. `i8` GEMMs run in float64: each partial product is at most 2^14
and a group sums at most 65,536 of them, so the sum is exact before it wraps into int32.

Each instruction returns an `Effect`: the SRAM and DRAM ranges it touched (for the race
detector), its DRAM bytes and executed uops (for the cycle model).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ...targets.npu.isa import (
    AluDtype,
    AluOp,
    Buffer,
    ConfigReg,
    GemmDtype,
    Instruction,
    MemDtype,
    NpuConfig,
    Opcode,
    element_bytes,
)
from .errors import NpuSimError

UOP_GROUP = 64
"""Uops whose products are summed in one matmul (bounds the im2col scratch to n x 1,024)."""

_RESET_REGS = np.array(
    [
        np.float32(1.0).view(np.uint32),
        0,
        np.int32(-128).view(np.uint32),
        127,
        np.float32(-np.inf).view(np.uint32),
        np.float32(np.inf).view(np.uint32),
    ],
    dtype=np.uint32,
)


@dataclass
class Access:
    """One range an instruction touched: `resource` is inp, wgt, acc, uop or dram; rows (bytes
    for dram) `[lo, hi)`."""

    resource: str
    lo: int
    hi: int
    write: bool


@dataclass
class Effect:
    accesses: list[Access] = field(default_factory=lambda: list[Access]())
    dram_bytes: int = 0
    uops: int = 0
    """Executed uop iterations (uops x iter_out x iter_in) of a GEMM or ALU."""
    buffer: str = ""
    """LOAD/STORE: the SRAM buffer, for the per-buffer DRAM byte counts."""


class NpuState:
    """SRAM, the store module's registers and the (host-shared) DRAM of one TNPU-1."""

    def __init__(self, config: NpuConfig, dram: NDArray[np.uint8]) -> None:
        self.config = config
        self.dram = dram
        self.inp = np.zeros(config.inp_bytes, np.uint8)
        self.wgt = np.zeros(config.wgt_bytes, np.uint8)
        self.acc = np.zeros(config.acc_bytes, np.uint8)
        self.uop = np.zeros(config.uop_bytes, np.uint8)
        self.regs = _RESET_REGS.copy()

    def rows(self, buffer: Buffer, dtype: int) -> NDArray[np.uint8]:
        """`buffer` as rows of `element_bytes` raw bytes (ACC rows are always 64 bytes)."""
        raw = {
            Buffer.INP: self.inp,
            Buffer.WGT: self.wgt,
            Buffer.ACC: self.acc,
            Buffer.UOP: self.uop,
        }[buffer]
        width = 64 if buffer == Buffer.ACC else element_bytes(buffer, dtype)
        return raw.reshape(-1, width)

    def acc_i32(self) -> NDArray[np.int32]:
        return self.acc.view(np.int32).reshape(-1, 16)

    def acc_f32(self) -> NDArray[np.float32]:
        return self.acc.view(np.float32).reshape(-1, 16)


def execute(state: NpuState, insn: Instruction, index: int) -> Effect:
    """Run `insn` (instruction `index` of its program) on `state`."""
    if insn.is_nop() or insn.opcode in (Opcode.FINISH,):
        return Effect()
    if insn.opcode == Opcode.LOAD:
        return _load(state, insn, index)
    if insn.opcode == Opcode.STORE:
        return _store(state, insn, index)
    if insn.opcode == Opcode.GEMM:
        return _gemm(state, insn, index)
    if insn.opcode == Opcode.ALU:
        return _alu(state, insn, index)
    state.regs[insn["reg"]] = insn["value"]
    return Effect()


def _dram_view(state: NpuState, insn: Instruction, element: int, index: int) -> NDArray[np.uint8]:
    """The DRAM elements of a LOAD/STORE as a (y, x * element) strided view."""
    y, x, stride, base = insn["y_size"], insn["x_size"], insn["x_stride"], insn["dram_base"]
    end = base + ((y - 1) * stride + x) * element
    if end > state.dram.size:
        raise NpuSimError(
            index, insn, f"DRAM bytes 0x{base:x}..0x{end:x} past the {state.dram.size} bytes bound"
        )
    return np.lib.stride_tricks.as_strided(
        state.dram[base:], shape=(y, x * element), strides=(stride * element, 1), writeable=True
    )


def _load(state: NpuState, insn: Instruction, index: int) -> Effect:
    buffer, dtype = Buffer(insn["buffer"]), MemDtype(insn["dtype"])
    element = element_bytes(buffer, dtype)
    y, x = insn["y_size"], insn["x_size"]
    y_all = insn["y_pad0"] + y + insn["y_pad1"]
    x_all = insn["x_pad0"] + x + insn["x_pad1"]
    base = insn["sram_base"]
    data = _dram_view(state, insn, element, index).reshape(y, x, element)
    rows = state.rows(buffer, dtype)
    tile = rows[base : base + y_all * x_all].reshape(y_all, x_all, rows.shape[1])
    tile[...] = 0
    window = tile[insn["y_pad0"] : insn["y_pad0"] + y, insn["x_pad0"] : insn["x_pad0"] + x]
    window[...] = _to_acc_bits(data, dtype) if buffer == Buffer.ACC else data
    resource = buffer.name.lower()
    first = base
    accesses = [
        Access(resource, first, first + y_all * x_all, True),
        Access(
            "dram",
            insn["dram_base"],
            insn["dram_base"] + ((y - 1) * insn["x_stride"] + x) * element,
            False,
        ),
    ]
    return Effect(accesses, dram_bytes=y * x * element, buffer=resource)


def _to_acc_bits(data: NDArray[np.uint8], dtype: MemDtype) -> NDArray[np.uint8]:
    """DRAM rows of `dtype` as ACC rows: int32 for i8/i32, fp32 for bf16/f32 (64 bytes each)."""
    shape = data.shape[:-1]
    flat = np.ascontiguousarray(data).reshape(-1)
    if dtype == MemDtype.I8:
        wide = flat.view(np.int8).astype(np.int32)
    elif dtype == MemDtype.BF16:
        wide = flat.view(np.uint16).astype(np.uint32) << 16
    else:
        wide = flat.view(np.uint32)
    return wide.view(np.uint8).reshape(*shape, 64)


def _store(state: NpuState, insn: Instruction, index: int) -> Effect:
    buffer, dtype = Buffer(insn["buffer"]), MemDtype(insn["dtype"])
    element = element_bytes(buffer, dtype)
    y, x, base = insn["y_size"], insn["x_size"], insn["sram_base"]
    if y > 1 and insn["x_stride"] < x:
        raise NpuSimError(
            index, insn, f"STORE rows overlap in DRAM (x_stride {insn['x_stride']} < x_size {x})"
        )
    rows = state.acc[base * 64 : (base + y * x) * 64]
    if buffer == Buffer.ACC:
        out = rows
    elif dtype == MemDtype.I8:
        out = _requantize(rows.view(np.int32), state.regs).view(np.uint8)
    else:
        out = _scale_float(rows.view(np.float32), state.regs, dtype)
    _dram_view(state, insn, element, index)[...] = out.reshape(y, x * element)
    accesses = [
        Access("acc", base, base + y * x, False),
        Access(
            "dram",
            insn["dram_base"],
            insn["dram_base"] + ((y - 1) * insn["x_stride"] + x) * element,
            True,
        ),
    ]
    return Effect(accesses, dram_bytes=y * x * element, buffer=buffer.name.lower())


def _requantize(acc: NDArray[np.int32], regs: NDArray[np.uint32]) -> NDArray[np.int8]:
    """clamp(rne(f32(acc) * OUT_SCALE) + OUT_ZP, OUT_MIN_I, OUT_MAX_I), saturated to int8."""
    scale = regs[ConfigReg.OUT_SCALE : ConfigReg.OUT_SCALE + 1].view(np.float32)[0]
    zero_point = int(regs[ConfigReg.OUT_ZP : ConfigReg.OUT_ZP + 1].view(np.int32)[0])
    low = int(regs[ConfigReg.OUT_MIN_I : ConfigReg.OUT_MIN_I + 1].view(np.int32)[0])
    high = int(regs[ConfigReg.OUT_MAX_I : ConfigReg.OUT_MAX_I + 1].view(np.int32)[0])
    scaled = acc.astype(np.float32) * scale  # fp32 multiply, round to nearest even
    rounded = np.rint(scaled.astype(np.float64)) + zero_point
    clamped = np.clip(rounded, max(low, -128), min(high, 127))
    return clamped.astype(np.int8)


def _scale_float(
    acc: NDArray[np.float32], regs: NDArray[np.uint32], dtype: MemDtype
) -> NDArray[np.uint8]:
    floats = regs.view(np.float32)
    scaled = np.clip(
        acc * floats[ConfigReg.OUT_SCALE], floats[ConfigReg.OUT_MIN_F], floats[ConfigReg.OUT_MAX_F]
    )
    scaled = scaled.astype(np.float32)
    if dtype == MemDtype.F32:
        return scaled.view(np.uint8)
    return f32_to_bf16_bits(scaled).view(np.uint8)


def f32_to_bf16_bits(values: NDArray[np.float32]) -> NDArray[np.uint16]:
    """Round fp32 to bf16, nearest even; NaNs stay (quiet) NaNs."""
    bits = values.view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    nan = np.isnan(values)
    rounded = np.where(nan, (bits >> 16) | 0x40, rounded)
    return rounded.astype(np.uint16)


def _loop_offsets(insn: Instruction, prefix: str) -> NDArray[np.int64]:
    """`o * {prefix}_fo + i * {prefix}_fi` over the (iter_out, iter_in) grid, flattened."""
    outer = np.arange(insn["iter_out"], dtype=np.int64)[:, None] * insn[f"{prefix}_fo"]
    inner = np.arange(insn["iter_in"], dtype=np.int64)[None, :] * insn[f"{prefix}_fi"]
    return (outer + inner).reshape(-1)


def _uops(state: NpuState, insn: Instruction) -> NDArray[np.int64]:
    words = state.uop.view(np.uint64)[insn["uop_bgn"] : insn["uop_end"]].astype(np.int64)
    return np.stack([words & 0xFFFF, (words >> 16) & 0xFFFF, (words >> 32) & 0xFFFF], axis=1)


def _check_range(index: int, insn: Instruction, what: str, low: int, high: int, limit: int) -> None:
    if high >= limit:
        raise NpuSimError(
            index, insn, f"{what} row {high} out of range (the buffer has {limit} rows)"
        )
    del low


def _gemm(state: NpuState, insn: Instruction, index: int) -> Effect:
    dtype = GemmDtype(insn["dtype"])
    uops = _uops(state, insn)
    dst_off, src_off, wgt_off = (_loop_offsets(insn, p) for p in ("dst", "src", "wgt"))
    if np.unique(dst_off).size != dst_off.size:
        raise NpuSimError(index, insn, "the (o, i) -> dst map is not injective")
    acc_rows, inp_rows, wgt_rows = (
        state.config.rows(Buffer.ACC),
        state.config.rows(Buffer.INP, dtype),
        state.config.rows(Buffer.WGT, dtype),
    )
    d_hi = int(uops[:, 0].max() + dst_off.max())
    s_hi = int(uops[:, 1].max() + src_off.max())
    w_hi = int(uops[:, 2].max() + wgt_off.max())
    _check_range(index, insn, "ACC", 0, d_hi, acc_rows)
    n_iter = dst_off.size
    effect = Effect(uops=len(uops) * n_iter)
    effect.accesses.append(Access("uop", insn["uop_bgn"], insn["uop_end"], False))
    d_lo = int(uops[:, 0].min() + dst_off.min())
    effect.accesses.append(Access("acc", d_lo, d_hi + 1, True))
    if insn["reset"]:
        for dst in np.unique(uops[:, 0]):
            state.acc_i32()[dst + dst_off] = 0
        return effect
    _check_range(index, insn, "INP", 0, s_hi, inp_rows)
    _check_range(index, insn, "WGT", 0, w_hi, wgt_rows)
    effect.accesses.append(Access("inp", int(uops[:, 1].min() + src_off.min()), s_hi + 1, False))
    effect.accesses.append(Access("wgt", int(uops[:, 2].min() + wgt_off.min()), w_hi + 1, False))
    inp, wgt = _gemm_operands(state, dtype)
    for dst in np.unique(uops[:, 0]):
        group = uops[uops[:, 0] == dst]
        for start in range(0, len(group), UOP_GROUP):
            _gemm_group(
                state,
                dtype,
                inp,
                wgt,
                group[start : start + UOP_GROUP],
                (dst_off, src_off, wgt_off),
            )
    return effect


def _gemm_operands(state: NpuState, dtype: GemmDtype) -> tuple[NDArray[Any], NDArray[Any]]:
    """INP rows (n, 16) and WGT blocks (n, 16, 16) holding the mode's values."""
    if dtype == GemmDtype.I8:
        return state.inp.view(np.int8).reshape(-1, 16), state.wgt.view(np.int8).reshape(-1, 16, 16)
    if dtype == GemmDtype.F32:
        inp32 = state.inp.view(np.float32).reshape(-1, 16)
        return inp32, state.wgt.view(np.float32).reshape(-1, 16, 16)
    inp = (state.inp.view(np.uint16).astype(np.uint32) << 16).view(np.float32)
    wgt = (state.wgt.view(np.uint16).astype(np.uint32) << 16).view(np.float32)
    return inp.reshape(-1, 16), wgt.reshape(-1, 16, 16)


def _gemm_group(
    state: NpuState,
    dtype: GemmDtype,
    inp: NDArray[Any],
    wgt: NDArray[Any],
    group: NDArray[np.int64],
    offsets: tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]],
) -> None:
    """Add the products of uops `group` (one shared dst) into ACC: sum_u inp[s_u] . wgt[w_u]^T."""
    dst_off, src_off, wgt_off = offsets
    compute = np.float64 if dtype == GemmDtype.I8 else np.float32
    rows = inp[group[:, 1][:, None] + src_off[None, :]].astype(compute)  # (g, n, 16)
    if not wgt_off.any():
        blocks = wgt[group[:, 2]].astype(compute)  # (g, 16 j, 16 k)
        lhs = rows.transpose(1, 0, 2).reshape(rows.shape[1], -1)  # (n, g*16)
        partial = lhs @ blocks.transpose(0, 2, 1).reshape(-1, 16)  # (n, 16)
    else:
        blocks = wgt[group[:, 2][:, None] + wgt_off[None, :]].astype(compute)  # (g, n, 16, 16)
        partial = np.einsum("gnk,gnjk->nj", rows, blocks)
    dst = group[0, 0] + dst_off
    if dtype == GemmDtype.I8:
        acc = state.acc_i32()
        acc[dst] = (acc[dst].astype(np.int64) + partial.astype(np.int64)).astype(np.int32)
    else:
        state.acc_f32()[dst] += partial.astype(np.float32)


def _alu(state: NpuState, insn: Instruction, index: int) -> Effect:
    dtype, op = AluDtype(insn["dtype"]), AluOp(insn["alu_op"])
    uops = _uops(state, insn)
    dst_off, src_off = _loop_offsets(insn, "dst"), _loop_offsets(insn, "src")
    if np.unique(dst_off).size != dst_off.size:
        raise NpuSimError(index, insn, "the (o, i) -> dst map is not injective")
    limit = state.config.rows(Buffer.ACC)
    d_hi = int(uops[:, 0].max() + dst_off.max())
    _check_range(index, insn, "ACC", 0, d_hi, limit)
    effect = Effect(uops=len(uops) * dst_off.size)
    effect.accesses.append(Access("uop", insn["uop_bgn"], insn["uop_end"], False))
    effect.accesses.append(Access("acc", int(uops[:, 0].min() + dst_off.min()), d_hi + 1, True))
    use_imm = bool(insn["use_imm"])
    if not use_imm:
        s_hi = int(uops[:, 1].max() + src_off.max())
        _check_range(index, insn, "ACC", 0, s_hi, limit)
        effect.accesses.append(
            Access("acc", int(uops[:, 1].min() + src_off.min()), s_hi + 1, False)
        )
    _check_alu_rule(index, insn, uops, dst_off, None if use_imm else src_off)
    acc = state.acc_i32() if dtype == AluDtype.I32 else state.acc_f32()
    imm = _immediate(insn["imm"], dtype)
    for dst, src, _ in uops:
        d = dst + dst_off
        rhs = imm if use_imm else acc[src + src_off]
        acc[d] = _alu_op(op, dtype, acc[d], rhs)
    return effect


def _immediate(bits: int, dtype: AluDtype) -> NDArray[Any]:
    """The ALU immediate: int16 sign-extended, or a bf16 bit pattern (value = bits << 16)."""
    if dtype == AluDtype.I32:
        return np.array(bits, np.uint16).view(np.int16).astype(np.int32)
    return np.array(bits << 16, np.uint32).view(np.float32)


def _check_alu_rule(
    index: int,
    insn: Instruction,
    uops: NDArray[np.int64],
    dst_off: NDArray[np.int64],
    src_off: NDArray[np.int64] | None,
) -> None:
    """The ALU rule (docs/npu.md): each ACC row is written by at most one (o, i, u) iteration,
    and no iteration reads a row another iteration writes (in place, s == d, is allowed). It
    makes one vector operation per uop equal to the spec's sequential loop."""
    dst = (uops[:, 0][:, None] + dst_off[None, :]).reshape(-1)
    if np.unique(dst).size != dst.size:
        raise NpuSimError(index, insn, "ALU iterations write the same ACC row twice")
    if src_off is None:
        return
    src = (uops[:, 1][:, None] + src_off[None, :]).reshape(-1)
    order = np.argsort(dst)
    position = np.minimum(np.searchsorted(dst[order], src), dst.size - 1)
    writer = order[position]
    hit = dst[writer] == src
    if np.any(hit & (writer != np.arange(src.size))):
        raise NpuSimError(index, insn, "an ALU iteration reads an ACC row another iteration writes")


def _alu_op(op: AluOp, dtype: AluDtype, lhs: NDArray[Any], rhs: NDArray[Any]) -> NDArray[Any]:
    if dtype == AluDtype.F32:
        return _float_op(op, lhs, rhs)
    wide, amount = lhs.astype(np.int64), np.asarray(rhs).astype(np.int64)
    if op in (AluOp.SHR, AluOp.SHR_RND):
        amount = np.clip(amount, -31, 31)
        left = np.left_shift(wide, np.maximum(-amount, 0))
        bias = (
            np.where(amount > 0, np.left_shift(1, np.maximum(amount - 1, 0)), 0)
            if op == AluOp.SHR_RND
            else 0
        )
        result = np.right_shift(left + bias, np.maximum(amount, 0))
    else:
        result = {
            AluOp.MIN: np.minimum,
            AluOp.MAX: np.maximum,
            AluOp.ADD: np.add,
            AluOp.SUB: np.subtract,
            AluOp.MUL: np.multiply,
        }.get(op, _move)(wide, amount)
    return np.asarray(result).astype(np.int32)  # int32 wraparound


def _move(lhs: NDArray[Any], rhs: NDArray[Any]) -> NDArray[Any]:
    return np.broadcast_to(rhs, lhs.shape)


def _float_op(op: AluOp, lhs: NDArray[Any], rhs: NDArray[Any]) -> NDArray[Any]:
    functions = {
        AluOp.MIN: np.minimum,
        AluOp.MAX: np.maximum,
        AluOp.ADD: np.add,
        AluOp.SUB: np.subtract,
        AluOp.MUL: np.multiply,
    }
    if op == AluOp.MOV:
        return np.broadcast_to(rhs, lhs.shape).astype(np.float32)
    return np.asarray(functions[op](lhs, rhs)).astype(np.float32)
