"""The `npu` dialect: TNPU-1's assembly language as MLIR custom syntax (NPU.md section 6).

An `npu.program @name { ... }` holds one launch: its DRAM segments, its uop table and its
instructions, whose order in the block is the program order. Each instruction op holds the
encoded 128-bit word (`word`), so an op is exactly one instruction; its custom syntax prints the
decoded fields:

    npu.load inp[0] <- dram[0x0] y(7) x(56) stride(56) pad(1, 0, 1, 1) : i8 {push_next}
    npu.store out[0] -> dram[0x40000] y(4) x(336) stride(3136) : i8 {pop_prev, push_prev}
    npu.gemm reset i8 uop[0:4] outer(6, dst=56) inner(56, dst=1)
    npu.alu max i32 uop[4:5] outer(1) inner(16, dst=1) imm(0x0)
    npu.config store OUT_MIN_I = 0
    npu.nop.compute {pop_prev, push_next}
    npu.finish {pop_next}

Assembling is parse, verify, encode (`program_of`); disassembling is decode, print
(`program_op`). The ops verify their word with `targets.npu.isa.verify` against the default
`NpuConfig` (a program for a smaller configuration is checked against its own by npu-verify).
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Callable
from typing import ClassVar

from xdsl.dialects.accfg import StateType
from xdsl.dialects.builtin import (
    DenseIntOrFPElementsAttr,
    IntegerAttr,
    IntegerType,
    StringAttr,
    SymbolRefAttr,
    TensorType,
    i32,
)
from xdsl.ir import Attribute, Block, Dialect, Region, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    irdl_op_definition,
    operand_def,
    prop_def,
    region_def,
    result_def,
    traits_def,
)
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.traits import NoTerminator
from xdsl.utils.exceptions import VerifyException

from ..targets.npu.binary import NpuProgram, Role, Segment
from ..targets.npu.isa import (
    TOKEN_FLAGS,
    AluOp,
    Buffer,
    ConfigReg,
    Instruction,
    MemDtype,
    Module,
    NpuConfig,
    NpuIsaError,
    Opcode,
    Uop,
    decode,
    encode,
    verify,
)

_WORD_TYPE = IntegerType(128)
_MASK = (1 << 128) - 1
_DTYPES = {0: "i8", 1: "bf16", 2: "f32", 3: "i32"}
_ALU_DTYPES = {0: "i32", 2: "f32"}
_FLOAT_REGS = (ConfigReg.OUT_SCALE, ConfigReg.OUT_MIN_F, ConfigReg.OUT_MAX_F)

NOPS = {
    "npu.nop.load": Instruction.make(Opcode.LOAD, buffer=Buffer.INP),
    "npu.nop.compute": Instruction.make(Opcode.GEMM),
    "npu.nop.store": Instruction.make(Opcode.STORE, buffer=Buffer.OUT),
}
"""The canonical NOP of each queue (any zero-size LOAD/STORE or empty GEMM is a NOP; these
encodings print as the NOP mnemonics)."""


@functools.lru_cache(maxsize=1 << 16)
def _word_attr(insn: Instruction) -> IntegerAttr[IntegerType]:
    # remembered (both are immutable): each program pass prints its programs back to IR, and
    # a model's programs repeat most of their instructions (ResNet-50: 27 programs)
    word = int.from_bytes(encode(insn), "little")
    signed = word - (1 << 128) if word >> 127 else word
    return IntegerAttr(signed, _WORD_TYPE)


@functools.lru_cache(maxsize=1 << 16)
def _decoded(word: int) -> Instruction:
    return decode(word.to_bytes(16, "little"))


class NpuInstructionOp(IRDLOperation):
    """An instruction: its encoded word, printed and parsed as assembly."""

    word = prop_def(IntegerAttr[IntegerType])
    OPCODES: ClassVar[tuple[Opcode, ...]] = ()

    def __init__(self, insn: Instruction) -> None:
        super().__init__(properties={"word": _word_attr(insn)})

    @property
    def instruction(self) -> Instruction:
        return _decoded(self.word.value.data & _MASK)

    def verify_(self) -> None:
        try:
            insn = self.instruction
            verify(insn, NpuConfig())
        except NpuIsaError as error:
            raise VerifyException(f"{self.name}: {error}") from error
        if insn.opcode not in self.OPCODES:
            raise VerifyException(f"{self.name} holds a {insn.opcode.name} instruction")

    def print(self, printer: Printer) -> None:
        text = _format(self.instruction)
        printer.print_string(text[len(self.name) :])

    @classmethod
    def parse(cls, parser: Parser) -> NpuInstructionOp:
        insn = NOPS[cls.name] if cls.name in NOPS else _PARSERS[cls.name](parser)
        flags = _parse_flags(parser)
        return cls(insn.with_flags(**flags))


@irdl_op_definition
class LoadOp(NpuInstructionOp):
    name = "npu.load"
    OPCODES: ClassVar[tuple[Opcode, ...]] = (Opcode.LOAD,)


@irdl_op_definition
class StoreOp(NpuInstructionOp):
    name = "npu.store"
    OPCODES: ClassVar[tuple[Opcode, ...]] = (Opcode.STORE,)


@irdl_op_definition
class GemmOp(NpuInstructionOp):
    name = "npu.gemm"
    OPCODES: ClassVar[tuple[Opcode, ...]] = (Opcode.GEMM,)


@irdl_op_definition
class AluInstrOp(NpuInstructionOp):
    name = "npu.alu"
    OPCODES: ClassVar[tuple[Opcode, ...]] = (Opcode.ALU,)


@irdl_op_definition
class ConfigOp(NpuInstructionOp):
    name = "npu.config"
    OPCODES: ClassVar[tuple[Opcode, ...]] = (Opcode.CONFIG,)


@irdl_op_definition
class FinishOp(NpuInstructionOp):
    name = "npu.finish"
    OPCODES: ClassVar[tuple[Opcode, ...]] = (Opcode.FINISH,)


@irdl_op_definition
class NopLoadOp(NpuInstructionOp):
    name = "npu.nop.load"
    OPCODES: ClassVar[tuple[Opcode, ...]] = (Opcode.LOAD,)


@irdl_op_definition
class NopComputeOp(NpuInstructionOp):
    name = "npu.nop.compute"
    OPCODES: ClassVar[tuple[Opcode, ...]] = (Opcode.GEMM,)


@irdl_op_definition
class NopStoreOp(NpuInstructionOp):
    name = "npu.nop.store"
    OPCODES: ClassVar[tuple[Opcode, ...]] = (Opcode.STORE,)


@irdl_op_definition
class SegmentOp(IRDLOperation):
    """A named DRAM range the host binds: `npu.segment "input" dram[0x0] size(4096) : i8
    layout "NCHW16c" input`."""

    name = "npu.segment"
    seg_name = prop_def(StringAttr)
    offset = prop_def(IntegerAttr[IntegerType])
    size = prop_def(IntegerAttr[IntegerType])
    dtype = prop_def(StringAttr)
    layout = prop_def(StringAttr)
    role = prop_def(StringAttr)

    def __init__(self, segment: Segment) -> None:
        super().__init__(
            properties={
                "seg_name": StringAttr(segment.name),
                "offset": IntegerAttr(segment.offset, 64),
                "size": IntegerAttr(segment.size, 64),
                "dtype": StringAttr(_DTYPES[segment.dtype]),
                "layout": StringAttr(segment.layout),
                "role": StringAttr(segment.role.name.lower()),
            }
        )

    @property
    def segment(self) -> Segment:
        dtype = {v: k for k, v in _DTYPES.items()}[self.dtype.data]
        return Segment(
            self.seg_name.data,
            self.offset.value.data,
            self.size.value.data,
            MemDtype(dtype),
            self.layout.data,
            Role[self.role.data.upper()],
        )

    def print(self, printer: Printer) -> None:
        s = self.segment
        printer.print_string(" ")
        printer.print_string_literal(s.name)
        printer.print_string(f" dram[0x{s.offset:x}] size({s.size}) : {_DTYPES[s.dtype]} layout ")
        printer.print_string_literal(s.layout)
        printer.print_string(f" {s.role.name.lower()}")

    @classmethod
    def parse(cls, parser: Parser) -> SegmentOp:
        name = parser.parse_str_literal()
        offset = _bracketed(parser, "dram")
        size = _call(parser, "size")[0]
        parser.parse_punctuation(":")
        dtype = _parse_dtype(parser)
        parser.parse_keyword("layout")
        layout = parser.parse_str_literal()
        role = parser.parse_keyword_in([r.name.lower() for r in Role])
        return cls(Segment(name, offset, size, MemDtype(dtype), layout, Role[role.upper()]))


@irdl_op_definition
class UopsOp(IRDLOperation):
    """The program's uop table: `npu.uops dense<[[dst, src, wgt], ...]> : tensor<Nx3xi32>`
    (uops are code, not weights; they are printed)."""

    name = "npu.uops"
    table = prop_def(DenseIntOrFPElementsAttr)

    def __init__(self, uops: tuple[Uop, ...]) -> None:
        values = [v for u in uops for v in (u.dst, u.src, u.wgt)]
        table = DenseIntOrFPElementsAttr.from_list(TensorType(i32, [len(uops), 3]), values)
        super().__init__(properties={"table": table})

    @property
    def uops(self) -> tuple[Uop, ...]:
        values = [int(v) for v in self.table.get_values() if isinstance(v, int)]
        return tuple(Uop(*values[k : k + 3]) for k in range(0, len(values), 3))

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_attribute(self.table)

    @classmethod
    def parse(cls, parser: Parser) -> UopsOp:
        table = parser.parse_attribute()
        if not isinstance(table, DenseIntOrFPElementsAttr):
            parser.raise_error("npu.uops takes a dense<...> : tensor<Nx3xi32> table")
        op = cls(())
        op.properties["table"] = table
        return op


@irdl_op_definition
class ProgramOp(IRDLOperation):
    """One launch; the block's op order is the program order."""

    name = "npu.program"
    sym_name = prop_def(StringAttr)
    body = region_def("single_block")
    traits = traits_def(NoTerminator())

    def __init__(self, sym_name: str, body: Region) -> None:
        super().__init__(properties={"sym_name": StringAttr(sym_name)}, regions=[body])

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_symbol_name(self.sym_name.data)
        printer.print_string(" ")
        printer.print_region(self.body, print_entry_block_args=False)

    @classmethod
    def parse(cls, parser: Parser) -> ProgramOp:
        name = parser.parse_symbol_name().data
        body = parser.parse_region()
        return cls(name, body)


# -- assembly text --------------------------------------------------------------------------


def _flags_text(insn: Instruction) -> str:
    flags = insn.flags()
    return f" {{{', '.join(flags)}}}" if flags else ""


def _loops_text(insn: Instruction, extra: tuple[str, ...]) -> str:
    parts: list[str] = []
    for level, suffix in (("outer", "fo"), ("inner", "fi")):
        count = insn["iter_out" if level == "outer" else "iter_in"]
        names = ("dst", "src", *extra)
        factors = [f"{n}={insn[f'{n}_{suffix}']}" for n in names if insn[f"{n}_{suffix}"]]
        parts.append(f"{level}({', '.join([str(count), *factors])})")
    return " ".join(parts)


def _format(insn: Instruction) -> str:
    """The assembly line of one instruction."""
    for mnemonic, nop in NOPS.items():
        if insn.with_flags(pop_prev=False, pop_next=False, push_prev=False, push_next=False) == nop:
            return mnemonic + _flags_text(insn)
    if insn.opcode in (Opcode.LOAD, Opcode.STORE):
        buffer = Buffer(insn["buffer"]).name.lower()
        arrow = "<-" if insn.opcode == Opcode.LOAD else "->"
        pads = [insn[p] for p in ("y_pad0", "y_pad1", "x_pad0", "x_pad1")]
        pad = f" pad({', '.join(map(str, pads))})" if any(pads) else ""
        mnemonic = "npu.load" if insn.opcode == Opcode.LOAD else "npu.store"
        return (
            f"{mnemonic} {buffer}[{insn['sram_base']}] {arrow} dram[0x{insn['dram_base']:x}] "
            f"y({insn['y_size']}) x({insn['x_size']}) stride({insn['x_stride']}){pad} : "
            f"{_DTYPES[insn['dtype']]}{_flags_text(insn)}"
        )
    if insn.opcode == Opcode.GEMM:
        reset = "reset " if insn["reset"] else ""
        return (
            f"npu.gemm {reset}{_DTYPES[insn['dtype']]} uop[{insn['uop_bgn']}:{insn['uop_end']}] "
            f"{_loops_text(insn, ('wgt',))}{_flags_text(insn)}"
        )
    if insn.opcode == Opcode.ALU:
        imm = f" imm(0x{insn['imm']:x})" if insn["use_imm"] else ""
        return (
            f"npu.alu {AluOp(insn['alu_op']).name.lower()} {_ALU_DTYPES[insn['dtype']]} "
            f"uop[{insn['uop_bgn']}:{insn['uop_end']}] {_loops_text(insn, ())}{imm}"
            f"{_flags_text(insn)}"
        )
    if insn.opcode == Opcode.CONFIG:
        reg = ConfigReg(insn["reg"])
        value = insn["value"]
        shown = (
            f"0x{value:08x}"
            if reg in _FLOAT_REGS
            else str(struct.unpack("<i", struct.pack("<I", value))[0])
        )
        module = Module(insn["module"]).name.lower()
        return f"npu.config {module} {reg.name} = {shown}{_flags_text(insn)}"
    return "npu.finish" + _flags_text(insn)


def _bracketed(parser: Parser, keyword: str) -> int:
    parser.parse_keyword(keyword)
    parser.parse_punctuation("[")
    value = parser.parse_integer(allow_boolean=False)
    parser.parse_punctuation("]")
    return value


def _call(parser: Parser, keyword: str) -> list[int]:
    parser.parse_keyword(keyword)
    values = parser.parse_comma_separated_list(
        parser.Delimiter.PAREN, lambda: parser.parse_integer(allow_boolean=False)
    )
    return values


def _parse_dtype(parser: Parser) -> int:
    names = {v: k for k, v in _DTYPES.items()}
    attr: Attribute = parser.parse_type()
    text = str(attr)
    if text not in names:
        parser.raise_error(f"expected a dtype ({', '.join(names)}), got {text}")
    return names[text]


def _parse_flags(parser: Parser) -> dict[str, bool]:
    if parser.parse_optional_punctuation("{") is None:
        return {}
    flags: dict[str, bool] = {}
    while True:
        flags[parser.parse_keyword_in(TOKEN_FLAGS)] = True
        if parser.parse_optional_punctuation(",") is None:
            break
    parser.parse_punctuation("}")
    return flags


def _parse_mem(parser: Parser, opcode: Opcode) -> Instruction:
    buffer = parser.parse_keyword_in([b.name.lower() for b in Buffer])
    parser.parse_punctuation("[")
    sram = parser.parse_integer(allow_boolean=False)
    parser.parse_punctuation("]")
    if opcode == Opcode.LOAD:
        parser.parse_punctuation("<")
        parser.parse_characters("-")
    else:
        parser.parse_punctuation("->")
    dram = _bracketed(parser, "dram")
    (y,) = _call(parser, "y")
    (x,) = _call(parser, "x")
    (stride,) = _call(parser, "stride")
    pads = [0, 0, 0, 0]
    if parser.parse_optional_keyword("pad"):
        parser.parse_punctuation("(")
        pads = [parser.parse_integer(allow_boolean=False)]
        for _ in range(3):
            parser.parse_punctuation(",")
            pads.append(parser.parse_integer(allow_boolean=False))
        parser.parse_punctuation(")")
    parser.parse_punctuation(":")
    dtype = _parse_dtype(parser)
    return Instruction.make(
        opcode,
        buffer=Buffer[buffer.upper()],
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


def _parse_loops(parser: Parser, names: tuple[str, ...]) -> dict[str, int]:
    parser.parse_keyword("uop")
    parser.parse_punctuation("[")
    fields = {"uop_bgn": parser.parse_integer(allow_boolean=False)}
    parser.parse_punctuation(":")
    fields["uop_end"] = parser.parse_integer(allow_boolean=False)
    parser.parse_punctuation("]")
    for level, count, suffix in (("outer", "iter_out", "fo"), ("inner", "iter_in", "fi")):
        parser.parse_keyword(level)
        parser.parse_punctuation("(")
        fields[count] = parser.parse_integer(allow_boolean=False)
        while parser.parse_optional_punctuation(","):
            name = parser.parse_keyword_in(names)
            parser.parse_punctuation("=")
            fields[f"{name}_{suffix}"] = parser.parse_integer(allow_boolean=False)
        parser.parse_punctuation(")")
    return fields


def _parse_gemm(parser: Parser) -> Instruction:
    reset = 1 if parser.parse_optional_keyword("reset") else 0
    dtype = _parse_dtype(parser)
    fields = _parse_loops(parser, ("dst", "src", "wgt"))
    return Instruction.of(Opcode.GEMM, {"reset": reset, "dtype": dtype, **fields})


def _parse_alu(parser: Parser) -> Instruction:
    op = parser.parse_keyword_in([o.name.lower() for o in AluOp])
    dtype = {"i32": 0, "f32": 2}.get(str(parser.parse_type()))
    if dtype is None:
        parser.raise_error("npu.alu computes in i32 or f32")
    fields = _parse_loops(parser, ("dst", "src"))
    if parser.parse_optional_keyword("imm"):
        parser.parse_punctuation("(")
        fields["imm"] = parser.parse_integer(allow_boolean=False)
        fields["use_imm"] = 1
        parser.parse_punctuation(")")
    return Instruction.of(Opcode.ALU, {"alu_op": AluOp[op.upper()], "dtype": dtype, **fields})


def _parse_config(parser: Parser) -> Instruction:
    module = parser.parse_keyword_in([m.name.lower() for m in Module])
    reg = parser.parse_keyword_in([r.name for r in ConfigReg])
    parser.parse_punctuation("=")
    value = parser.parse_integer(allow_boolean=False) & 0xFFFFFFFF
    return Instruction.of(
        Opcode.CONFIG, {"module": Module[module.upper()], "reg": ConfigReg[reg], "value": value}
    )


def _parse_load(parser: Parser) -> Instruction:
    return _parse_mem(parser, Opcode.LOAD)


def _parse_store(parser: Parser) -> Instruction:
    return _parse_mem(parser, Opcode.STORE)


def _parse_nothing(parser: Parser) -> Instruction:
    """FINISH and the NOPs: the mnemonic says it all (the caller maps it)."""
    del parser
    return Instruction.make(Opcode.FINISH)


_PARSERS: dict[str, Callable[[Parser], Instruction]] = {
    "npu.load": _parse_load,
    "npu.store": _parse_store,
    "npu.gemm": _parse_gemm,
    "npu.alu": _parse_alu,
    "npu.config": _parse_config,
    "npu.finish": _parse_nothing,
}


# -- programs ---------------------------------------------------------------------------------

_OP_OF_OPCODE: dict[Opcode, type[NpuInstructionOp]] = {
    Opcode.LOAD: LoadOp,
    Opcode.STORE: StoreOp,
    Opcode.GEMM: GemmOp,
    Opcode.ALU: AluInstrOp,
    Opcode.CONFIG: ConfigOp,
    Opcode.FINISH: FinishOp,
}
_NOP_OPS: dict[str, type[NpuInstructionOp]] = {
    "npu.nop.load": NopLoadOp,
    "npu.nop.compute": NopComputeOp,
    "npu.nop.store": NopStoreOp,
}


def instruction_op(insn: Instruction) -> NpuInstructionOp:
    """The op of one instruction (a NOP mnemonic for the canonical NOP encodings)."""
    bare = insn.with_flags(pop_prev=False, pop_next=False, push_prev=False, push_next=False)
    for mnemonic, nop in NOPS.items():
        if bare == nop:
            return _NOP_OPS[mnemonic](insn)
    return _OP_OF_OPCODE[insn.opcode](insn)


def program_op(name: str, program: NpuProgram) -> ProgramOp:
    """Disassembly: the program as an `npu.program` op."""
    ops: list[IRDLOperation] = [SegmentOp(s) for s in program.segments]
    if program.uops:
        ops.append(UopsOp(program.uops))
    ops += [instruction_op(i) for i in program.instructions]
    return ProgramOp(name, Region([Block(ops)]))


def program_of(op: ProgramOp) -> NpuProgram:
    """Assembly: the program an `npu.program` op holds (verify the op first)."""
    segments: list[Segment] = []
    uops: tuple[Uop, ...] = ()
    instructions: list[Instruction] = []
    for inner in op.body.ops:
        if isinstance(inner, SegmentOp):
            segments.append(inner.segment)
        elif isinstance(inner, UopsOp):
            uops = inner.uops
        elif isinstance(inner, NpuInstructionOp):
            instructions.append(inner.instruction)
    return NpuProgram(tuple(instructions), uops, tuple(segments))


@irdl_op_definition
class ResultOp(IRDLOperation):
    """The output segment of the program launched from an `accfg.setup` state, read after its
    `accfg.await` (npu-outline-launch): `%y = npu.result @prog from %state :
    !accfg.state<"tnpu"> -> tensor<...>`. The state operand orders it after that launch."""

    name = "npu.result"

    program = prop_def(SymbolRefAttr)
    state = operand_def(StateType)
    result = result_def(TensorType)

    assembly_format = "$program `from` $state attr-dict `:` type($state) `->` type($result)"

    def __init__(self, program: str, state: SSAValue, result_type: Attribute) -> None:
        super().__init__(
            operands=[state],
            properties={"program": SymbolRefAttr(program)},
            result_types=[result_type],
        )


Npu = Dialect(
    "npu",
    [
        ProgramOp,
        ResultOp,
        SegmentOp,
        UopsOp,
        LoadOp,
        StoreOp,
        GemmOp,
        AluInstrOp,
        ConfigOp,
        FinishOp,
        NopLoadOp,
        NopComputeOp,
        NopStoreOp,
    ],
)
