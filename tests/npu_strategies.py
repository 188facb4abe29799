"""Hypothesis strategies for valid TNPU-1 instructions (the verifier accepts every one)."""

from __future__ import annotations

import os

from hypothesis import strategies as st

from terrace.targets.npu.isa import (
    AluDtype,
    AluOp,
    Buffer,
    ConfigReg,
    GemmDtype,
    Instruction,
    MemDtype,
    Module,
    NpuConfig,
    Opcode,
    element_bytes,
)

EXAMPLES = int(os.environ.get("TERRACE_NPU_EXAMPLES", "60"))
"""Examples per property: small in CI; the nightly setting is TERRACE_NPU_EXAMPLES=10000."""

CONFIG = NpuConfig()


def _flags(draw: st.DrawFn, module: Module) -> dict[str, bool]:
    flags = {
        name: draw(st.booleans()) for name in ("pop_prev", "pop_next", "push_prev", "push_next")
    }
    if module == Module.LOAD:
        flags["pop_prev"] = flags["push_prev"] = False
    if module == Module.STORE:
        flags["pop_next"] = flags["push_next"] = False
    return flags


@st.composite
def mem_instructions(draw: st.DrawFn, opcode: Opcode) -> Instruction:
    if opcode == Opcode.LOAD:
        buffer = draw(st.sampled_from([Buffer.UOP, Buffer.WGT, Buffer.INP, Buffer.ACC]))
        dtypes = {
            Buffer.UOP: [MemDtype.I8],
            Buffer.ACC: list(MemDtype),
        }.get(buffer, [MemDtype.I8, MemDtype.BF16, MemDtype.F32])
        pads = [draw(st.integers(0, 15)) for _ in range(4)]
    else:
        buffer = draw(st.sampled_from([Buffer.ACC, Buffer.OUT]))
        dtypes = (
            [MemDtype.I32, MemDtype.F32]
            if buffer == Buffer.ACC
            else [MemDtype.I8, MemDtype.BF16, MemDtype.F32]
        )
        pads = [0, 0, 0, 0]
    dtype = draw(st.sampled_from(dtypes))
    limit = CONFIG.rows(buffer, dtype)
    y_size = draw(st.integers(0, 40))
    x_size = draw(st.integers(0, 40))
    rows = (pads[0] + y_size + pads[1]) * (pads[2] + x_size + pads[3])
    if rows > limit:
        y_size = x_size = 0
        rows = 0
    x_stride = draw(st.integers(0, 0xFFFF))
    span = (max(y_size - 1, 0) * x_stride + x_size) * element_bytes(buffer, dtype)
    module = Module.LOAD if buffer in (Buffer.INP, Buffer.WGT) else Module.COMPUTE
    module = Module.STORE if opcode == Opcode.STORE else module
    return Instruction.make(
        opcode,
        buffer=buffer,
        dtype=dtype,
        sram_base=draw(st.integers(0, limit - rows if rows else min(limit, 4095))),
        dram_base=draw(st.integers(0, min((1 << 32) - span, (1 << 32) - 1))),
        y_size=y_size,
        x_size=x_size,
        x_stride=x_stride,
        y_pad0=pads[0],
        y_pad1=pads[1],
        x_pad0=pads[2],
        x_pad1=pads[3],
        **_flags(draw, module),
    )


def _loops(draw: st.DrawFn) -> dict[str, int]:
    uop_bgn = draw(st.integers(0, 4095))
    return {
        "uop_bgn": uop_bgn,
        "uop_end": draw(st.integers(uop_bgn, 4096)),
        "iter_out": draw(st.integers(1, 4095)),
        "iter_in": draw(st.integers(1, 4095)),
        **{name: draw(st.integers(0, 4095)) for name in ("dst_fo", "dst_fi", "src_fo", "src_fi")},
    }


@st.composite
def gemm_instructions(draw: st.DrawFn) -> Instruction:
    return Instruction.make(
        Opcode.GEMM,
        reset=draw(st.integers(0, 1)),
        dtype=draw(st.sampled_from(list(GemmDtype))),
        wgt_fo=draw(st.integers(0, 1023)),
        wgt_fi=draw(st.integers(0, 1023)),
        **_loops(draw),
        **_flags(draw, Module.COMPUTE),
    )


@st.composite
def alu_instructions(draw: st.DrawFn) -> Instruction:
    dtype = draw(st.sampled_from(list(AluDtype)))
    ops = (
        list(AluOp)
        if dtype == AluDtype.I32
        else [o for o in AluOp if o < AluOp.SHR or o == AluOp.MOV]
    )
    use_imm = draw(st.integers(0, 1))
    return Instruction.make(
        Opcode.ALU,
        dtype=dtype,
        alu_op=draw(st.sampled_from(ops)),
        use_imm=use_imm,
        imm=draw(st.integers(0, 0xFFFF)) if use_imm else 0,
        **_loops(draw),
        **_flags(draw, Module.COMPUTE),
    )


@st.composite
def config_instructions(draw: st.DrawFn) -> Instruction:
    return Instruction.make(
        Opcode.CONFIG,
        module=Module.STORE,
        reg=draw(st.sampled_from(list(ConfigReg))),
        value=draw(st.integers(0, 0xFFFFFFFF)),
        **_flags(draw, Module.STORE),
    )


@st.composite
def finish_instructions(draw: st.DrawFn) -> Instruction:
    return Instruction.make(Opcode.FINISH, **_flags(draw, Module.COMPUTE))


def instructions(opcode: Opcode) -> st.SearchStrategy[Instruction]:
    """Valid instructions of `opcode`."""
    if opcode in (Opcode.LOAD, Opcode.STORE):
        return mem_instructions(opcode)
    return {
        Opcode.GEMM: gemm_instructions(),
        Opcode.ALU: alu_instructions(),
        Opcode.CONFIG: config_instructions(),
        Opcode.FINISH: finish_instructions(),
    }[opcode]
