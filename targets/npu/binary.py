"""The `.tnpu` container: one TNPU-1 program (one launch) as bytes (docs/npu.md, "Binary").

Layout, all little-endian:

    header (32 bytes)  magic b"TNPU", u16 version (1), u16 flags (0), 8-byte NpuConfig digest,
                       u32 instruction count, u32 uop count, u32 segment count, u32 reserved (0)
    instructions       16 bytes each (isa.encode)
    uops               8 bytes each (isa.encode_uop)
    segments           per segment: u16 name length, name (UTF-8), u32 DRAM offset, u32 bytes,
                       u8 dtype (isa.MemDtype), u8 role, u16 layout length, layout (ASCII)

A segment names a DRAM range the host binds before the launch: inputs and weights are written,
outputs read back, scratch left alone. Weights are bound by name from the weight store, never
stored in the file. Every malformed file gets an `NpuIsaError` that says what is wrong and where.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

from .isa import (
    INSTRUCTION_BYTES,
    UOP_BYTES,
    Instruction,
    MemDtype,
    NpuConfig,
    NpuIsaError,
    Uop,
    decode,
    decode_uop,
    encode,
    encode_uop,
    verify,
)

MAGIC = b"TNPU"
VERSION = 1
_HEADER = struct.Struct("<4sHH8sIIII")


class Role(IntEnum):
    INPUT = 0
    OUTPUT = 1
    WEIGHT = 2
    SCRATCH = 3


@dataclass(frozen=True)
class Segment:
    """A named DRAM range of a program."""

    name: str
    offset: int
    size: int
    dtype: MemDtype
    layout: str
    role: Role


@dataclass(frozen=True)
class NpuProgram:
    """One launch: instructions in program order, the UOP segment and the DRAM segments."""

    instructions: tuple[Instruction, ...]
    uops: tuple[Uop, ...] = ()
    segments: tuple[Segment, ...] = ()

    def segment(self, name: str) -> Segment:
        for seg in self.segments:
            if seg.name == name:
                return seg
        raise KeyError(f"the program has no DRAM segment '{name}'")

    def dram_bytes(self) -> int:
        """The DRAM size the program's segments need."""
        return max((s.offset + s.size for s in self.segments), default=0)


def write_tnpu(program: NpuProgram, config: NpuConfig) -> bytes:
    """`program` as a `.tnpu` file for `config` (every instruction verified first)."""
    for index, insn in enumerate(program.instructions):
        verify(insn, config, index)
    parts = [
        _HEADER.pack(
            MAGIC,
            VERSION,
            0,
            config.digest(),
            len(program.instructions),
            len(program.uops),
            len(program.segments),
            0,
        )
    ]
    parts += [encode(insn) for insn in program.instructions]
    parts += [encode_uop(uop) for uop in program.uops]
    for seg in program.segments:
        name = seg.name.encode()
        layout = seg.layout.encode("ascii")
        parts.append(struct.pack("<H", len(name)) + name)
        parts.append(struct.pack("<IIBBH", seg.offset, seg.size, seg.dtype, seg.role, len(layout)))
        parts.append(layout)
    return b"".join(parts)


def read_tnpu(data: bytes, config: NpuConfig | None = None) -> NpuProgram:
    """The program in a `.tnpu` file; with `config`, the file must have been built for it."""
    if len(data) < _HEADER.size:
        raise NpuIsaError(f"not a .tnpu file: {len(data)} bytes, the header alone is 32")
    magic, version, flags, digest, n_insn, n_uop, n_seg, reserved = _HEADER.unpack_from(data)
    if magic != MAGIC:
        raise NpuIsaError(f"not a .tnpu file: magic {magic!r}, expected {MAGIC!r}")
    if version != VERSION:
        raise NpuIsaError(f".tnpu version {version}; this Terrace reads version {VERSION}")
    if flags or reserved:
        raise NpuIsaError(".tnpu header: reserved flags are set")
    if config is not None and digest != config.digest():
        raise NpuIsaError(".tnpu file was built for a different NpuConfig (digest mismatch)")
    reader = _Reader(data, _HEADER.size)
    words = reader.take(n_insn * INSTRUCTION_BYTES, f"{n_insn} instructions")
    instructions = tuple(
        decode(words[i * INSTRUCTION_BYTES : (i + 1) * INSTRUCTION_BYTES], i) for i in range(n_insn)
    )
    uop_bytes = reader.take(n_uop * UOP_BYTES, f"{n_uop} uops")
    uops = tuple(
        decode_uop(uop_bytes[i * UOP_BYTES : (i + 1) * UOP_BYTES], i) for i in range(n_uop)
    )
    segments = tuple(_read_segment(reader, i) for i in range(n_seg))
    if reader.offset != len(data):
        raise NpuIsaError(f".tnpu file: {len(data) - reader.offset} bytes after the segment table")
    if config is not None:
        for index, insn in enumerate(instructions):
            verify(insn, config, index)
    return NpuProgram(instructions, uops, segments)


class _Reader:
    def __init__(self, data: bytes, offset: int) -> None:
        self.data = data
        self.offset = offset

    def take(self, size: int, what: str) -> bytes:
        end = self.offset + size
        if end > len(self.data):
            raise NpuIsaError(
                f".tnpu file truncated: {what} need bytes up to {end}, file has {len(self.data)}"
            )
        chunk = self.data[self.offset : end]
        self.offset = end
        return chunk


def _read_segment(reader: _Reader, index: int) -> Segment:
    what = f"segment {index}"
    (name_len,) = struct.unpack("<H", reader.take(2, what))
    name = reader.take(name_len, what).decode("utf-8", errors="replace")
    offset, size, dtype, role, layout_len = struct.unpack("<IIBBH", reader.take(12, what))
    layout = reader.take(layout_len, what).decode("ascii", errors="replace")
    if dtype not in set(MemDtype):
        raise NpuIsaError(f".tnpu {what} ('{name}'): unknown dtype {dtype}")
    if role not in set(Role):
        raise NpuIsaError(f".tnpu {what} ('{name}'): unknown role {role}")
    if offset + size > 1 << 32:
        raise NpuIsaError(f".tnpu {what} ('{name}'): ends past the 4 GiB DRAM space")
    return Segment(name, offset, size, MemDtype(dtype), layout, Role(role))
