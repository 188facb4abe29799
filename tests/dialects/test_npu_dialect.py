"""The npu dialect: assembly round trips (print/parse/print, assemble/disassemble), the
`.tnpu` disassembler, and the verifier's errors on assembly text."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from npu_strategies import EXAMPLES, instructions
from xdsl.dialects.builtin import ModuleOp
from xdsl.utils.exceptions import VerifyException

from terrace.dialects.context import parse_module
from terrace.dialects.npu import ProgramOp, instruction_op, program_of, program_op
from terrace.targets.npu.binary import NpuProgram, read_tnpu, write_tnpu
from terrace.targets.npu.isa import Instruction, NpuConfig, Opcode
from terrace.targets.npu.layers import ConvLayer
from terrace.targets.npu.pipeline import compile_conv

programs = st.lists(
    st.one_of([instructions(op) for op in Opcode if op != Opcode.FINISH]), max_size=12
)


def _text(program: NpuProgram) -> str:
    return str(ModuleOp([program_op("p", program)]))


@settings(max_examples=EXAMPLES, deadline=None, database=None)
@given(programs)
def test_print_parse_print_is_stable(body: list[Instruction]) -> None:
    program = NpuProgram((*body, Instruction.make(Opcode.FINISH)))
    text = _text(program)
    module = parse_module(text)
    assert str(module) == text
    op = module.ops.first
    assert isinstance(op, ProgramOp)
    assert program_of(op) == program  # assembling the text gives the instructions back


@pytest.mark.parametrize("opcode", list(Opcode), ids=lambda o: o.name)
def test_every_opcode_round_trips_through_text(opcode: Opcode) -> None:
    @settings(max_examples=EXAMPLES, deadline=None, database=None)
    @given(instructions(opcode))
    def check(insn: Instruction) -> None:
        text = str(ModuleOp([instruction_op(insn)]))
        parsed = parse_module(text).ops.first
        assert parsed is not None
        assert program_of(ProgramOp("p", _region(parsed))).instructions == (insn,)

    check()


def _region(op: object):  # noqa: ANN202 - an xDSL Region
    from xdsl.ir import Block, Operation, Region

    assert isinstance(op, Operation)
    op.detach()
    return Region([Block([op])])


def _conv_program() -> NpuProgram:
    layer = ConvLayer(
        32, 32, 6, 6, 3, 3, 1, (1, 1, 1, 1), "i8", bias=True, relu=True, out_scale=0.01
    )
    program, _ = compile_conv(layer, NpuConfig())
    return program


def test_disassembling_the_binary_reproduces_the_assembly(tmp_path: Path) -> None:
    program = _conv_program()
    assembly = _text(program)
    binary = write_tnpu(program_of(_only_program(parse_module(assembly))), NpuConfig())
    assert _text(read_tnpu(binary, NpuConfig())) == assembly


def _only_program(module: ModuleOp) -> ProgramOp:
    op = module.ops.first
    assert isinstance(op, ProgramOp)
    return op


def test_the_spec_example_lines_parse() -> None:
    text = """
    npu.program @l1_0_c2 {
      npu.load wgt[0] <- dram[0x10000] y(4) x(36) stride(36) : i8
      npu.load inp[0] <- dram[0x0] y(7) x(56) stride(56) pad(1, 0, 1, 1) : i8 {push_next}
      npu.gemm reset i8 uop[0:4] outer(6, dst=56) inner(56, dst=1)
      npu.gemm i8 uop[4:148] outer(6, dst=56, src=58) inner(56, dst=1, src=1) {pop_prev, push_next}
      npu.config store OUT_MIN_I = 0
      npu.store out[0] -> dram[0x40000] y(4) x(336) stride(3136) : i8 {pop_prev, push_prev}
      npu.finish {pop_next}
    }
    """
    program = program_of(_only_program(parse_module(text)))
    assert [i.opcode for i in program.instructions] == [
        Opcode.LOAD,
        Opcode.LOAD,
        Opcode.GEMM,
        Opcode.GEMM,
        Opcode.CONFIG,
        Opcode.STORE,
        Opcode.FINISH,
    ]
    assert program.instructions[1]["x_pad0"] == 1 and program.instructions[1].push_next
    assert program.instructions[3]["src_fo"] == 58


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("npu.load out[0] <- dram[0x0] y(1) x(1) stride(1) : i8", "LOAD cannot target OUT"),
        (
            "npu.load inp[0] <- dram[0x0] y(1) x(1) stride(1) : i8 {pop_prev}",
            "pop_prev on the load module",
        ),
        (
            "npu.store acc[0] -> dram[0x0] y(1) x(1) stride(1) : i8",
            "STORE ACC writes raw i32 or f32",
        ),
        ("npu.gemm i8 uop[5:4] outer(1) inner(1)", "uop_end 4 < uop_bgn 5"),
        ("npu.alu shr f32 uop[0:1] outer(1) inner(1)", "SHR is an integer operation"),
        ("npu.config compute OUT_ZP = 1", "CONFIG registers on the store module only"),
    ],
)
def test_invalid_assembly_is_a_verifier_error(line: str, message: str) -> None:
    with pytest.raises(VerifyException, match=message):
        parse_module(f"npu.program @p {{\n {line}\n npu.finish\n}}")


def test_objdump_command(tmp_path: Path) -> None:
    program = _conv_program()
    path = tmp_path / "conv.tnpu"
    path.write_bytes(write_tnpu(program, NpuConfig()))
    result = subprocess.run(
        [sys.executable, "-m", "terrace.tools.cli", "npu-objdump", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == _text(program).replace("@p", "@conv").strip()


def test_objdump_of_a_malformed_file_is_one_error_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.tnpu"
    path.write_bytes(b"TNPX" + bytes(28))
    result = subprocess.run(
        [sys.executable, "-m", "terrace.tools.cli", "npu-objdump", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "not a .tnpu file: magic b'TNPX'" in result.stderr


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "terrace.tools.cli", *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_npu_as_writes_the_binary_of_the_assembly(tmp_path: Path) -> None:
    program = _conv_program()
    source = tmp_path / "conv.mlir"
    source.write_text(_text(program))
    result = _cli("npu-as", str(source), "-o", str(tmp_path / "conv.tnpu"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "conv.tnpu").read_bytes() == write_tnpu(program, NpuConfig())


def test_npu_as_refuses_a_program_npu_verify_rejects(tmp_path: Path) -> None:
    source = tmp_path / "bad.mlir"
    source.write_text(
        "npu.program @p {\n"
        "  npu.load inp[0] <- dram[0x0] y(1) x(1) stride(1) : i8 {push_next}\n"
        "  npu.finish\n}\n"
    )
    result = _cli("npu-as", str(source), "-o", str(tmp_path / "bad.tnpu"))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "token imbalance (pushes minus pops per FIFO): {'L->C': 1}" in result.stderr
    assert not (tmp_path / "bad.tnpu").exists()


def test_npu_as_with_several_programs_needs_a_name(tmp_path: Path) -> None:
    program = _conv_program()
    source = tmp_path / "two.mlir"
    source.write_text(str(ModuleOp([program_op("a", program), program_op("b", program)])))
    result = _cli("npu-as", str(source), "-o", str(tmp_path / "x.tnpu"))
    assert result.returncode == 1
    assert "2 npu.program ops (['a', 'b']); name one with --program" in result.stderr
    result = _cli("npu-as", str(source), "--program", "c", "-o", str(tmp_path / "x.tnpu"))
    assert "no npu.program @c; it has ['a', 'b']" in result.stderr
    result = _cli("npu-as", str(source), "--program", "b", "-o", str(tmp_path / "b.tnpu"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "b.tnpu").read_bytes() == write_tnpu(program, NpuConfig())


def test_the_isa_the_dialect_imports_is_a_leaf() -> None:
    """tests/test_layers.py lets dialects/npu.py import targets/ because isa.py and binary.py
    import no compiler layer; if they ever did, the dialect would import upward through them."""
    from test_layers import ROOT, _imported_layers  # pyright: ignore[reportPrivateUsage]

    for name in ("isa.py", "binary.py"):
        path = ROOT / "targets" / "npu" / name
        assert _imported_layers(path) <= {"errors", "targets"}, name
    tree = ast.parse((ROOT / "dialects" / "npu.py").read_text())
    from_targets = {
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("targets")
    }
    assert from_targets == {"targets.npu.isa", "targets.npu.binary"}


def test_npu_result_round_trips_and_needs_an_accfg_state() -> None:
    text = (
        "func.func @f(%x : i32) -> tensor<1x16x2x2xf32> {\n"
        '  %s = accfg.setup "tnpu" to ("insn_count" = %x : i32) : !accfg.state<"tnpu">\n'
        '  %y = npu.result @p_tnpu from %s : !accfg.state<"tnpu"> -> tensor<1x16x2x2xf32>\n'
        "  func.return %y : tensor<1x16x2x2xf32>\n"
        "}"
    )
    printed = str(parse_module(text))
    assert 'npu.result @p_tnpu from %s : !accfg.state<"tnpu"> -> tensor<1x16x2x2xf32>' in printed
    assert str(parse_module(printed)) == printed
    with pytest.raises(VerifyException, match="should be of base attribute accfg.state"):
        parse_module(text.replace('from %s : !accfg.state<"tnpu">', "from %x : i32"))
