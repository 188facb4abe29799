"""TNPU-1 instruction encoding: round trips, the verifier's rules, malformed binaries."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from npu_strategies import CONFIG, EXAMPLES, instructions

from terrace.targets.npu.binary import MAGIC, NpuProgram, Role, Segment, read_tnpu, write_tnpu
from terrace.targets.npu.isa import (
    FORMATS,
    HEADER,
    Buffer,
    Instruction,
    MemDtype,
    NpuIsaError,
    Opcode,
    Uop,
    decode,
    decode_uop,
    encode,
    encode_uop,
    verify,
)


@pytest.mark.parametrize("opcode", list(Opcode), ids=lambda o: o.name)
def test_decode_inverts_encode(opcode: Opcode) -> None:
    @settings(max_examples=EXAMPLES, deadline=None, database=None)
    @given(instructions(opcode))
    def check(insn: Instruction) -> None:
        verify(insn, CONFIG)
        word = encode(insn)
        assert len(word) == 16
        assert decode(word) == insn

    check()


def test_formats_fit_128_bits_without_overlap() -> None:
    for opcode, (_, fields) in FORMATS.items():
        bits = [b for f in HEADER + fields for b in range(f.lo, f.hi + 1)]
        assert len(bits) == len(set(bits)), opcode
        assert max(bits) < 128


def test_field_positions_follow_the_spec() -> None:
    # LOAD INP, sram_base 1, dram_base 2: bits 8-10 = 2, bit 13 and bit 26 set.
    insn = Instruction.make(
        Opcode.LOAD, buffer=Buffer.INP, sram_base=1, dram_base=2, push_next=True
    )
    word = int.from_bytes(encode(insn), "little")
    assert word == (2 << 8) | (1 << 13) | (2 << 25) | (1 << 6)
    gemm = Instruction.make(Opcode.GEMM, wgt_fi=1023)
    assert int.from_bytes(encode(gemm), "little") == 2 | (1023 << 117)


def test_encoder_rejects_a_value_wider_than_its_field() -> None:
    with pytest.raises(NpuIsaError, match=r"LOAD.sram_base = 4096 does not fit 12 bits"):
        encode(Instruction.make(Opcode.LOAD, sram_base=4096))
    with pytest.raises(NpuIsaError, match="GEMM has no field alu_op"):
        Instruction.make(Opcode.GEMM, alu_op=1)


@pytest.mark.parametrize(
    ("opcode", "bit"),
    [
        (Opcode.LOAD, 7),
        (Opcode.LOAD, 121),
        (Opcode.GEMM, 127),
        (Opcode.FINISH, 7),
        (Opcode.CONFIG, 48),
    ],
)
def test_decoder_rejects_reserved_bits(opcode: Opcode, bit: int) -> None:
    word = int.from_bytes(encode(Instruction.make(opcode)), "little") | (1 << bit)
    with pytest.raises(
        NpuIsaError, match=rf"instruction 0 \({opcode.name}\): reserved bit\(s\) \[{bit}\]"
    ):
        decode(word.to_bytes(16, "little"))


@pytest.mark.parametrize("code", [6, 7])
def test_decoder_rejects_unknown_opcodes(code: int) -> None:
    with pytest.raises(NpuIsaError, match=f"unknown opcode {code}"):
        decode(code.to_bytes(16, "little"), 0)


def test_uop_round_trip_and_reserved_bits() -> None:
    uop = Uop(dst=4095, src=17, wgt=65535)
    assert decode_uop(encode_uop(uop)) == uop
    with pytest.raises(NpuIsaError, match="uop 3: reserved bits 48-63"):
        decode_uop((1 << 50).to_bytes(8, "little"), 3)


VERIFIER_ERRORS = [
    (
        Instruction.make(Opcode.LOAD, pop_prev=True, buffer=Buffer.INP),
        "pop_prev on the load module",
    ),
    (
        Instruction.make(Opcode.LOAD, push_prev=True, buffer=Buffer.WGT),
        "push_prev on the load module",
    ),
    (
        Instruction.make(Opcode.STORE, push_next=True, buffer=Buffer.ACC, dtype=3),
        "push_next on the store",
    ),
    (
        Instruction.make(Opcode.STORE, pop_next=True, buffer=Buffer.ACC, dtype=3),
        "pop_next on the store",
    ),
    (Instruction.make(Opcode.LOAD, buffer=5), "buffer = 5 is not one of"),
    (Instruction.make(Opcode.LOAD, buffer=Buffer.OUT), "LOAD cannot target OUT"),
    (
        Instruction.make(Opcode.LOAD, buffer=Buffer.INP, dtype=MemDtype.I32),
        "INP holds i8, bf16 or f32",
    ),
    (Instruction.make(Opcode.LOAD, buffer=Buffer.UOP, dtype=1), "LOAD UOP takes dtype 0"),
    (
        Instruction.make(Opcode.LOAD, buffer=Buffer.INP, sram_base=4000, y_size=1, x_size=97),
        r"INP rows 4000..4096 exceed the 4096 rows",
    ),
    (
        Instruction.make(Opcode.LOAD, buffer=Buffer.INP, dtype=2, y_size=1, x_size=1024, x_pad0=1),
        "exceed the 1024 rows",
    ),
    (
        Instruction.make(Opcode.LOAD, buffer=Buffer.INP, dram_base=0xFFFFFFF0, y_size=1, x_size=2),
        "past the 4 GiB space",
    ),
    (Instruction.make(Opcode.STORE, buffer=Buffer.INP), "STORE reads ACC or OUT"),
    (Instruction.make(Opcode.STORE, buffer=Buffer.ACC, dtype=0), "STORE ACC writes raw i32 or f32"),
    (Instruction.make(Opcode.STORE, buffer=Buffer.OUT, dtype=3), "use ACC for i32"),
    (Instruction.make(Opcode.STORE, buffer=Buffer.OUT, x_pad1=1), r"no padding \(x_pad1 set\)"),
    (
        Instruction.make(Opcode.STORE, buffer=Buffer.OUT, sram_base=4095, y_size=1, x_size=2),
        "ACC rows 4095..4096",
    ),
    (Instruction.make(Opcode.GEMM, dtype=3), "dtype = 3 is not one of"),
    (Instruction.make(Opcode.GEMM, uop_bgn=5, uop_end=4), "uop_end 4 < uop_bgn 5"),
    (Instruction.make(Opcode.GEMM, uop_bgn=4095, uop_end=4097), "UOP rows 4095..4096"),
    (Instruction.make(Opcode.GEMM, uop_end=1, iter_out=0, iter_in=1), "iter_out and iter_in"),
    (Instruction.make(Opcode.ALU, dtype=1), "dtype = 1 is not one of"),
    (Instruction.make(Opcode.ALU, alu_op=8), "alu_op = 8 is not one of"),
    (Instruction.make(Opcode.ALU, dtype=2, alu_op=5), "SHR is an integer operation"),
    (Instruction.make(Opcode.ALU, imm=3), "imm set without use_imm"),
    (Instruction.make(Opcode.CONFIG, module=3), "module = 3 is not one of"),
    (Instruction.make(Opcode.CONFIG, module=1), "CONFIG registers on the store module only"),
    (Instruction.make(Opcode.CONFIG, module=2, reg=6), "reg = 6 is not one of"),
]


@pytest.mark.parametrize(("insn", "message"), VERIFIER_ERRORS, ids=[m for _, m in VERIFIER_ERRORS])
def test_verifier_errors(insn: Instruction, message: str) -> None:
    with pytest.raises(NpuIsaError, match=message):
        verify(insn, CONFIG, 7)


def test_nops_skip_bounds() -> None:
    verify(
        Instruction.make(Opcode.LOAD, buffer=Buffer.INP, sram_base=4095, y_size=0, x_size=9), CONFIG
    )
    verify(Instruction.make(Opcode.GEMM, uop_bgn=3, uop_end=3), CONFIG)


def _program() -> NpuProgram:
    return NpuProgram(
        (
            Instruction.make(
                Opcode.LOAD, buffer=Buffer.INP, y_size=1, x_size=2, x_stride=2, push_next=True
            ),
            Instruction.make(Opcode.FINISH, pop_prev=True),
        ),
        (Uop(1, 2, 3),),
        (Segment("x", 0, 32, MemDtype.I8, "NCHW16c", Role.INPUT),),
    )


def test_tnpu_round_trip() -> None:
    data = write_tnpu(_program(), CONFIG)
    assert data[:4] == MAGIC
    assert len(data) == 32 + 2 * 16 + 8 + (2 + 1 + 12 + 7)
    assert read_tnpu(data, CONFIG) == _program()


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: b"TNPX" + d[4:], "magic b'TNPX'"),
        (lambda d: d[:4] + (2).to_bytes(2, "little") + d[6:], "version 2"),
        (lambda d: d[:20], "the header alone is 32"),
        (lambda d: d[:50], "truncated: 2 instructions"),
        (lambda d: d[:-3], "truncated: segment 0"),
        (lambda d: d + b"\0", "1 bytes after the segment table"),
        (lambda d: d[:32] + d[32:47] + b"\x80" + d[48:], r"instruction 0 \(LOAD\): reserved bit"),
        (lambda d: d[:32] + b"\x07" + d[33:], "unknown opcode 7"),
        (lambda d: d[:-11] + b"\x09" + d[-10:], "unknown dtype 9"),
    ],
)
def test_malformed_tnpu_is_an_error(mutate: object, message: str) -> None:
    data = write_tnpu(_program(), CONFIG)
    assert callable(mutate)
    with pytest.raises(NpuIsaError, match=message):
        read_tnpu(mutate(data), CONFIG)


def test_tnpu_for_another_config_is_rejected() -> None:
    from terrace.targets.npu.isa import NpuConfig

    data = write_tnpu(_program(), CONFIG)
    with pytest.raises(NpuIsaError, match="different NpuConfig"):
        read_tnpu(data, NpuConfig.tiny())


def test_docs_isa_table_is_the_field_table() -> None:
    from pathlib import Path

    from terrace.targets.npu.isa import isa_table_markdown

    text = (Path(__file__).resolve().parents[3] / "docs" / "npu.md").read_text()
    start = text.index("<!-- isa-table -->\n") + len("<!-- isa-table -->\n")
    end = text.index("\n<!-- /isa-table -->")
    assert text[start:end] == isa_table_markdown()
