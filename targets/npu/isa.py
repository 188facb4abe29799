"""The TNPU-1 instruction set (NPU.md section 5): one field table drives the encoder, the
decoder, the verifier and the ISA table in docs/npu.md.

An instruction is 128 bits, little-endian, bit 0 the least significant bit of the first byte. Its
low 7 bits are the common header (opcode and the four token flags); the opcode picks a format,
whose fields are listed in `FORMATS` as inclusive bit ranges. Every bit no field names is
reserved and must be 0: the decoder rejects anything else, so a stream from a newer or corrupt
producer fails loudly instead of running with a field silently dropped.

Field values are unsigned bit patterns. Interpreting them (the ALU immediate as int16 or bf16,
CONFIG values as fp32 bits) is the simulator's job; keeping the table unsigned makes
`decode(encode(x)) == x` hold bit for bit.

This module imports only the standard library and numpy-free code: the runtime and the
simulator read it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from enum import IntEnum
from functools import cached_property
from typing import TypeVar

from ...errors import TerraceError

INSTRUCTION_BYTES = 16
UOP_BYTES = 8


class NpuIsaError(TerraceError):
    """A malformed instruction or binary, or an instruction the verifier rejects."""


class Opcode(IntEnum):
    LOAD = 0
    STORE = 1
    GEMM = 2
    FINISH = 3
    ALU = 4
    CONFIG = 5


class Buffer(IntEnum):
    """The `buffer` field of LOAD and STORE."""

    UOP = 0
    WGT = 1
    INP = 2
    ACC = 3
    OUT = 4


class MemDtype(IntEnum):
    """The `dtype` field of LOAD and STORE: the type of the data in DRAM."""

    I8 = 0
    BF16 = 1
    F32 = 2
    I32 = 3


class GemmDtype(IntEnum):
    I8 = 0
    BF16 = 1
    F32 = 2


class AluDtype(IntEnum):
    I32 = 0
    F32 = 2


class AluOp(IntEnum):
    MIN = 0
    MAX = 1
    ADD = 2
    SUB = 3
    MUL = 4
    SHR = 5
    SHR_RND = 6
    MOV = 7


class Module(IntEnum):
    """The three in-order modules (and CONFIG's `module` field)."""

    LOAD = 0
    COMPUTE = 1
    STORE = 2


class ConfigReg(IntEnum):
    """The store module's state registers (CONFIG, v1)."""

    OUT_SCALE = 0
    OUT_ZP = 1
    OUT_MIN_I = 2
    OUT_MAX_I = 3
    OUT_MIN_F = 4
    OUT_MAX_F = 5


DTYPE_BYTES = {MemDtype.I8: 1, MemDtype.BF16: 2, MemDtype.F32: 4, MemDtype.I32: 4}


@dataclass(frozen=True)
class Field:
    """A field of an instruction: its name and inclusive bit range `[lo, hi]`."""

    name: str
    lo: int
    hi: int

    @property
    def width(self) -> int:
        return self.hi - self.lo + 1

    @property
    def max_value(self) -> int:
        return (1 << self.width) - 1


def _run(first_bit: int, *widths: tuple[str, int]) -> tuple[Field, ...]:
    """Fields laid end to end from `first_bit`, each `(name, width)`: the spec's tables."""
    fields: list[Field] = []
    for name, width in widths:
        fields.append(Field(name, first_bit, first_bit + width - 1))
        first_bit += width
    return tuple(fields)


HEADER = _run(
    0, ("opcode", 3), ("pop_prev", 1), ("pop_next", 1), ("push_prev", 1), ("push_next", 1)
)
TOKEN_FLAGS = ("pop_prev", "pop_next", "push_prev", "push_next")

_MEM = _run(
    8,
    ("buffer", 3),
    ("dtype", 2),
    ("sram_base", 12),
    ("dram_base", 32),
    ("y_size", 16),
    ("x_size", 16),
    ("x_stride", 16),
    ("y_pad0", 4),
    ("y_pad1", 4),
    ("x_pad0", 4),
    ("x_pad1", 4),
)
_LOOPS = _run(
    10,
    ("uop_bgn", 12),
    ("uop_end", 13),
    *((name, 12) for name in ("iter_out", "iter_in", "dst_fo", "dst_fi", "src_fo", "src_fi")),
)
_DTYPE = Field("dtype", 8, 9)
_GEMM = (Field("reset", 7, 7), _DTYPE, *_LOOPS, *_run(107, ("wgt_fo", 10), ("wgt_fi", 10)))
_ALU = (_DTYPE, *_LOOPS, *_run(107, ("alu_op", 4), ("use_imm", 1), ("imm", 16)))
_CFG = _run(8, ("module", 2), ("reg", 6), ("value", 32))

FORMATS: dict[Opcode, tuple[str, tuple[Field, ...]]] = {
    Opcode.LOAD: ("MEM", _MEM),
    Opcode.STORE: ("MEM", _MEM),
    Opcode.GEMM: ("GEMM", _GEMM),
    Opcode.FINISH: ("header only", ()),
    Opcode.ALU: ("ALU", _ALU),
    Opcode.CONFIG: ("CFG", _CFG),
}
"""Per opcode: the format's name and its fields after the header."""

UOP_FIELDS = _run(0, ("dst", 16), ("src", 16), ("wgt", 16))
"""A 64-bit micro-op; bits 48-63 are reserved."""


def _used_mask(fields: tuple[Field, ...]) -> int:
    mask = 0
    for f in fields:
        mask |= f.max_value << f.lo
    return mask


_RESERVED_MASKS = {
    op: ~_used_mask(HEADER + fs) & ((1 << 128) - 1) for op, (_, fs) in FORMATS.items()
}
_UOP_RESERVED = ~_used_mask(UOP_FIELDS) & ((1 << 64) - 1)


@dataclass(frozen=True)
class Instruction:
    """One decoded instruction: the opcode, the token flags and the format's fields (every
    field of the format is present; absent ones are 0)."""

    opcode: Opcode
    fields: tuple[tuple[str, int], ...] = ()
    pop_prev: bool = False
    pop_next: bool = False
    push_prev: bool = False
    push_next: bool = False

    @staticmethod
    def make(
        opcode: Opcode,
        *,
        pop_prev: bool = False,
        pop_next: bool = False,
        push_prev: bool = False,
        push_next: bool = False,
        **values: int,
    ) -> Instruction:
        """An instruction with the named fields set and the others 0; an unknown name raises."""
        names = [f.name for f in FORMATS[opcode][1]]
        unknown = sorted(set(values) - set(names))
        if unknown:
            raise NpuIsaError(f"{opcode.name} has no field {', '.join(unknown)}")
        fields = tuple((name, int(values.get(name, 0))) for name in names)
        return Instruction(opcode, fields, pop_prev, pop_next, push_prev, push_next)

    @staticmethod
    def of(opcode: Opcode, values: Mapping[str, int]) -> Instruction:
        """An instruction without token flags, from a mapping of field values."""
        names = [f.name for f in FORMATS[opcode][1]]
        unknown = sorted(set(values) - set(names))
        if unknown:
            raise NpuIsaError(f"{opcode.name} has no field {', '.join(unknown)}")
        return Instruction(opcode, tuple((name, int(values.get(name, 0))) for name in names))

    @cached_property
    def _values(self) -> dict[str, int]:
        return dict(self.fields)

    def __getitem__(self, name: str) -> int:
        value = self._values.get(name)
        if value is None:
            raise KeyError(f"{self.opcode.name} has no field '{name}'")
        return value

    def with_flags(self, **flags: bool) -> Instruction:
        current = {flag: getattr(self, flag) for flag in TOKEN_FLAGS}
        current.update(flags)
        return Instruction(self.opcode, self.fields, **current)

    def flags(self) -> tuple[str, ...]:
        return tuple(flag for flag in TOKEN_FLAGS if getattr(self, flag))

    @cached_property
    def module(self) -> Module:
        """The queue the instruction is dispatched to (NPU.md section 5, routing)."""
        if self.opcode == Opcode.LOAD:
            load_side = self["buffer"] in (Buffer.INP, Buffer.WGT)
            return Module.LOAD if load_side else Module.COMPUTE
        if self.opcode == Opcode.STORE:
            return Module.STORE
        if self.opcode == Opcode.CONFIG:
            return Module(self["module"]) if self["module"] <= 2 else Module.COMPUTE
        return Module.COMPUTE

    def is_nop(self) -> bool:
        """A zero-size LOAD/STORE or an empty GEMM/ALU: moves tokens, does nothing else."""
        if self.opcode in (Opcode.LOAD, Opcode.STORE):
            return self["y_size"] == 0 or self["x_size"] == 0
        if self.opcode in (Opcode.GEMM, Opcode.ALU):
            return self["uop_end"] == self["uop_bgn"]
        return False


def mem_instruction(  # noqa: PLR0913 - the MEM format's fields
    opcode: Opcode,
    buffer: Buffer,
    dtype: int,
    sram: int,
    dram: int,
    y: int,
    x: int,
    stride: int,
    pads: tuple[int, int, int, int] = (0, 0, 0, 0),
) -> Instruction:
    """A LOAD or STORE without token flags; `pads` are (y_pad0, y_pad1, x_pad0, x_pad1)."""
    return Instruction.make(
        opcode,
        buffer=buffer,
        dtype=dtype,
        sram_base=sram,
        dram_base=dram,
        y_size=y,
        x_size=x,
        x_stride=stride,
        y_pad0=pads[0],
        y_pad1=pads[1],
        x_pad0=pads[2],
        x_pad1=pads[3],
    )


def encode(insn: Instruction) -> bytes:
    """The 16 bytes of `insn`; a value too wide for its field raises."""
    word = int(insn.opcode)
    for flag, f in zip(TOKEN_FLAGS, HEADER[1:], strict=True):
        word |= int(getattr(insn, flag)) << f.lo
    table = {f.name: f for f in FORMATS[insn.opcode][1]}
    for name, value in insn.fields:
        f = table.get(name)
        if f is None:
            raise NpuIsaError(f"{insn.opcode.name} has no field '{name}'")
        if not 0 <= value <= f.max_value:
            raise NpuIsaError(
                f"{insn.opcode.name}.{name} = {value} does not fit {f.width} bits "
                f"(0..{f.max_value})"
            )
        word |= value << f.lo
    return word.to_bytes(INSTRUCTION_BYTES, "little")


def decode(data: bytes, index: int = 0) -> Instruction:
    """The instruction in `data` (16 bytes); `index` only names it in errors."""
    if len(data) != INSTRUCTION_BYTES:
        raise NpuIsaError(f"instruction {index}: {len(data)} bytes, expected {INSTRUCTION_BYTES}")
    word = int.from_bytes(data, "little")
    code = word & 0b111
    if code not in FORMATS:
        raise NpuIsaError(f"instruction {index}: unknown opcode {code}")
    opcode = Opcode(code)
    reserved = word & _RESERVED_MASKS[opcode]
    if reserved:
        bits = [b for b in range(128) if reserved >> b & 1]
        raise NpuIsaError(
            f"instruction {index} ({opcode.name}): reserved bit(s) {bits[:8]} set "
            f"(word 0x{word:032x})"
        )
    fields = tuple((f.name, word >> f.lo & f.max_value) for f in FORMATS[opcode][1])
    flags = {flag: bool(word >> f.lo & 1) for flag, f in zip(TOKEN_FLAGS, HEADER[1:], strict=True)}
    return Instruction(opcode, fields, **flags)


@dataclass(frozen=True)
class Uop:
    dst: int
    src: int
    wgt: int


def encode_uop(uop: Uop) -> bytes:
    word = 0
    for f in UOP_FIELDS:
        value = getattr(uop, f.name)
        if not 0 <= value <= f.max_value:
            raise NpuIsaError(f"uop.{f.name} = {value} does not fit {f.width} bits")
        word |= value << f.lo
    return word.to_bytes(UOP_BYTES, "little")


def decode_uop(data: bytes, index: int = 0) -> Uop:
    if len(data) != UOP_BYTES:
        raise NpuIsaError(f"uop {index}: {len(data)} bytes, expected {UOP_BYTES}")
    word = int.from_bytes(data, "little")
    if word & _UOP_RESERVED:
        raise NpuIsaError(f"uop {index}: reserved bits 48-63 set (0x{word:016x})")
    dst, src, wgt = (word >> f.lo & f.max_value for f in UOP_FIELDS)
    return Uop(dst, src, wgt)


@dataclass(frozen=True)
class NpuConfig:
    """Every buffer size and timing parameter of a TNPU-1 (NPU.md sections 3 and 7). Field
    widths do not change with the sizes: a smaller configuration only lowers the bounds."""

    inp_bytes: int = 64 * 1024
    wgt_bytes: int = 256 * 1024
    acc_bytes: int = 256 * 1024
    uop_bytes: int = 32 * 1024
    clock_hz: float = 1e9
    gemm_fixed: int = 32
    gemm_ii: tuple[int, int, int] = (1, 2, 4)
    """Cycles per uop for i8, bf16, f32."""
    alu_fixed: int = 16
    alu_ii_imm: int = 1
    alu_ii_tensor: int = 2
    dma_fixed: int = 100
    dma_per_row: int = 2
    dram_bytes_per_cycle: int = 16
    simple_cycles: int = 1
    """CONFIG, FINISH and NOPs."""
    queue_depth: int = 64
    launch_cycles: int = 2000
    peak_macs: tuple[int, int, int] = field(default=(256, 128, 64))

    def rows(self, buffer: Buffer, dtype: int = 0) -> int:
        """How many rows (blocks, for WGT) `buffer` holds for a GEMM/LOAD dtype."""
        scale = 4 if dtype in (MemDtype.F32, MemDtype.I32) else 2 if dtype == MemDtype.BF16 else 1
        if buffer == Buffer.INP:
            return self.inp_bytes // (16 * scale)
        if buffer == Buffer.WGT:
            return self.wgt_bytes // (256 * scale)
        if buffer in (Buffer.ACC, Buffer.OUT):
            return self.acc_bytes // 64
        return self.uop_bytes // UOP_BYTES

    def digest(self) -> bytes:
        """8 bytes identifying the configuration (the `.tnpu` header carries it)."""
        return hashlib.sha256(repr(sorted(asdict(self).items())).encode()).digest()[:8]

    @staticmethod
    def tiny() -> NpuConfig:
        """8 KiB buffers: the configuration that stresses tiling, halos and stride 2."""
        return NpuConfig(inp_bytes=8192, wgt_bytes=8192, acc_bytes=8192, uop_bytes=8192)


def element_bytes(buffer: Buffer, dtype: int) -> int:
    """DRAM bytes of one row (one block for WGT, one uop for UOP) of `dtype`."""
    if buffer == Buffer.UOP:
        return UOP_BYTES
    size = DTYPE_BYTES[MemDtype(dtype)]
    return 256 * size if buffer == Buffer.WGT else 16 * size


_E = TypeVar("_E", bound=IntEnum)

_FORBIDDEN_FLAGS = {
    Module.LOAD: ("pop_prev", "push_prev"),
    Module.STORE: ("pop_next", "push_next"),
    Module.COMPUTE: (),
}
"""The load module has no previous neighbour and the store module no next one."""


def verify(insn: Instruction, config: NpuConfig, index: int = 0) -> None:
    """Raise `NpuIsaError` naming instruction `index` where `insn` breaks a rule of NPU.md
    section 5 that one instruction alone can break (field values, buffer bounds, token
    directions). Rules across instructions (uop contents, token balance) are the program
    verifier's."""
    where = f"instruction {index} ({insn.opcode.name})"
    for flag in _FORBIDDEN_FLAGS[insn.module]:
        if getattr(insn, flag):
            raise NpuIsaError(f"{where}: {flag} on the {insn.module.name.lower()} module")
    checks = {
        Opcode.LOAD: _verify_load,
        Opcode.STORE: _verify_store,
        Opcode.GEMM: _verify_gemm,
        Opcode.ALU: _verify_alu,
        Opcode.CONFIG: _verify_config,
    }
    check = checks.get(insn.opcode)
    if check is not None:
        check(insn, config, where)


def _enum_value(kind: type[_E], value: int, what: str) -> _E:
    if value not in set(kind):
        names = ", ".join(f"{m.value} {m.name}" for m in kind)
        raise NpuIsaError(f"{what} = {value} is not one of {names}")
    return kind(value)


def _verify_load(insn: Instruction, config: NpuConfig, where: str) -> None:
    buffer = _enum_value(Buffer, insn["buffer"], f"{where}: buffer")
    dtype = insn["dtype"]
    if buffer == Buffer.OUT:
        raise NpuIsaError(f"{where}: LOAD cannot target OUT (OUT is the store pipeline)")
    if buffer in (Buffer.INP, Buffer.WGT) and dtype == MemDtype.I32:
        raise NpuIsaError(f"{where}: {buffer.name} holds i8, bf16 or f32, not i32")
    if buffer == Buffer.UOP and dtype != 0:
        raise NpuIsaError(f"{where}: LOAD UOP takes dtype 0 (uops are 64-bit words)")
    if insn.is_nop():
        return
    x_all = insn["x_pad0"] + insn["x_size"] + insn["x_pad1"]
    rows = (insn["y_pad0"] + insn["y_size"] + insn["y_pad1"]) * x_all
    _check_rows(insn["sram_base"], rows, config.rows(buffer, dtype), f"{where}: {buffer.name}")
    _check_dram(insn, element_bytes(buffer, dtype), where)


def _verify_store(insn: Instruction, config: NpuConfig, where: str) -> None:
    buffer = _enum_value(Buffer, insn["buffer"], f"{where}: buffer")
    dtype = MemDtype(insn["dtype"])
    if buffer not in (Buffer.ACC, Buffer.OUT):
        raise NpuIsaError(f"{where}: STORE reads ACC or OUT, not {buffer.name}")
    if buffer == Buffer.ACC and dtype not in (MemDtype.I32, MemDtype.F32):
        raise NpuIsaError(f"{where}: STORE ACC writes raw i32 or f32, not {dtype.name.lower()}")
    if buffer == Buffer.OUT and dtype == MemDtype.I32:
        raise NpuIsaError(f"{where}: STORE OUT narrows to i8, bf16 or f32; use ACC for i32")
    pads = [p for p in ("y_pad0", "y_pad1", "x_pad0", "x_pad1") if insn[p]]
    if pads:
        raise NpuIsaError(f"{where}: STORE takes no padding ({', '.join(pads)} set)")
    if insn.is_nop():
        return
    rows = insn["y_size"] * insn["x_size"]
    _check_rows(insn["sram_base"], rows, config.rows(Buffer.ACC), f"{where}: ACC")
    _check_dram(insn, element_bytes(buffer, dtype), where)


def _verify_loops(insn: Instruction, config: NpuConfig, where: str) -> None:
    if insn["uop_end"] < insn["uop_bgn"]:
        raise NpuIsaError(f"{where}: uop_end {insn['uop_end']} < uop_bgn {insn['uop_bgn']}")
    _check_rows(
        insn["uop_bgn"], insn["uop_end"] - insn["uop_bgn"], config.rows(Buffer.UOP), where + ": UOP"
    )
    if insn.is_nop():
        return
    if insn["iter_out"] == 0 or insn["iter_in"] == 0:
        raise NpuIsaError(f"{where}: iter_out and iter_in must be at least 1")


def _verify_gemm(insn: Instruction, config: NpuConfig, where: str) -> None:
    _enum_value(GemmDtype, insn["dtype"], f"{where}: dtype")
    _verify_loops(insn, config, where)


def _verify_alu(insn: Instruction, config: NpuConfig, where: str) -> None:
    dtype = _enum_value(AluDtype, insn["dtype"], f"{where}: dtype")
    op = _enum_value(AluOp, insn["alu_op"], f"{where}: alu_op")
    if dtype == AluDtype.F32 and op in (AluOp.SHR, AluOp.SHR_RND):
        raise NpuIsaError(f"{where}: {op.name} is an integer operation (dtype f32)")
    if not insn["use_imm"] and insn["imm"]:
        raise NpuIsaError(f"{where}: imm set without use_imm")
    _verify_loops(insn, config, where)


def _verify_config(insn: Instruction, config: NpuConfig, where: str) -> None:
    module = _enum_value(Module, insn["module"], f"{where}: module")
    if module != Module.STORE:
        raise NpuIsaError(f"{where}: v1 has CONFIG registers on the store module only")
    _enum_value(ConfigReg, insn["reg"], f"{where}: reg")


def _check_rows(base: int, count: int, limit: int, where: str) -> None:
    if base + count > limit:
        raise NpuIsaError(f"{where} rows {base}..{base + count - 1} exceed the {limit} rows")


def _check_dram(insn: Instruction, element: int, where: str) -> None:
    last = insn["dram_base"] + ((insn["y_size"] - 1) * insn["x_stride"] + insn["x_size"]) * element
    if last > 1 << 32:
        raise NpuIsaError(f"{where}: DRAM range ends at 0x{last:x}, past the 4 GiB space")


def isa_table_markdown() -> str:
    """The encodings table of docs/npu.md, generated from the field table (a test keeps the
    copy in the docs equal to it)."""
    lines = ["| opcode | format | fields (bit ranges) |", "|---|---|---|"]
    header = ", ".join(f"`{f.name}[{f.hi}:{f.lo}]`" for f in HEADER)
    lines.append(f"| all | header | {header} |")
    for opcode, (name, fields) in FORMATS.items():
        text = ", ".join(f"`{f.name}[{f.hi}:{f.lo}]`" for f in fields) or "none"
        lines.append(f"| {opcode.value} {opcode.name} | {name} | {text} |")
    uop = ", ".join(f"`{f.name}[{f.hi}:{f.lo}]`" for f in UOP_FIELDS)
    lines.append(f"| uop (64 b) | UOP | {uop} |")
    return "\n".join(lines)
