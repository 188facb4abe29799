"""`terrace npu-as`, `npu-objdump` and `npu-report`: the TNPU-1 tools (docs/npu.md)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..targets.npu.isa import NpuConfig


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:  # pyright: ignore[reportPrivateUsage]
    objdump = commands.add_parser(
        "npu-objdump",
        help="disassemble a .tnpu file",
        description="Decode a TNPU-1 .tnpu file and print it as npu dialect assembly "
        "(terrace-opt reads it back). A malformed file is one error line.",
    )
    objdump.add_argument("file", help="a .tnpu file")
    _tiny_option(objdump, "the file is for the 8 KiB configuration")
    objdump.set_defaults(run=_run_objdump)
    assemble = commands.add_parser(
        "npu-as",
        help="assemble npu dialect text into a .tnpu file",
        description="Parse and verify an npu.program (npu dialect assembly, as npu-objdump "
        "prints it), check it as npu-verify does, and encode it into a .tnpu file.",
    )
    assemble.add_argument("file", help="a .mlir file holding npu.program ops")
    assemble.add_argument("-o", "--output", required=True, help="the .tnpu file to write")
    assemble.add_argument("--program", help="which npu.program (by name) if the file has several")
    _tiny_option(assemble, "assemble for the 8 KiB configuration")
    assemble.set_defaults(run=_run_assemble)
    report = commands.add_parser(
        "npu-report",
        help="per-layer TNPU-1 cycles, utilization and roofline of a model's convolutions",
        description="Map every convolution of an ONNX model to TNPU-1 (the partition report "
        "says which op runs where and why) and time each layer's program with the cycle "
        "model: MACs, cycles, MAC utilization, DRAM bytes, arithmetic intensity, roofline "
        "bound and efficiency, and the aggregate.",
    )
    report.add_argument("model", help="an .onnx file, or resnet50 for onnx's light_resnet50")
    report.add_argument(
        "--dtype", choices=["i8", "f32"], default="i8", help="GEMM mode (default i8)"
    )
    report.add_argument(
        "--bandwidth", type=int, default=16, help="DRAM bytes per cycle (default 16)"
    )
    report.add_argument("--single-buffer", action="store_true", help="no double buffering")
    report.add_argument("--json", help="write the per-layer rows here as JSON")
    report.add_argument("--plot", help="write the roofline plot here (SVG)")
    report.set_defaults(run=_run_report)


def _tiny_option(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument("--tiny", action="store_true", help=help_text)


def _input_file(args: argparse.Namespace) -> Path:
    from ..errors import TerraceError

    path = Path(args.file)
    if not path.is_file():
        raise TerraceError(f"{path}: no such file")
    return path


def _config(args: argparse.Namespace) -> NpuConfig:
    from ..targets.npu.isa import NpuConfig

    return NpuConfig.tiny() if args.tiny else NpuConfig()


def _run_objdump(args: argparse.Namespace) -> int:
    from xdsl.dialects.builtin import ModuleOp

    from ..dialects.npu import program_op
    from ..targets.npu.binary import read_tnpu

    path = _input_file(args)
    program = read_tnpu(path.read_bytes(), _config(args))
    print(ModuleOp([program_op(path.stem, program)]))
    return 0


def _run_assemble(args: argparse.Namespace) -> int:
    from ..dialects.context import parse_module
    from ..dialects.npu import ProgramOp, program_of
    from ..errors import TerraceError
    from ..targets.npu.binary import write_tnpu
    from ..targets.npu.deps import verify_program

    path = _input_file(args)
    module = parse_module(path.read_text())
    programs = {op.sym_name.data: op for op in module.walk() if isinstance(op, ProgramOp)}
    if args.program is not None and args.program not in programs:
        raise TerraceError(f"{path}: no npu.program @{args.program}; it has {sorted(programs)}")
    if args.program is None and len(programs) != 1:
        raise TerraceError(
            f"{path}: {len(programs)} npu.program ops ({sorted(programs)}); name one with --program"
        )
    name = args.program if args.program is not None else next(iter(programs))
    config = _config(args)
    program = program_of(programs[name])
    verify_program(program, config)
    Path(args.output).write_bytes(write_tnpu(program, config))
    return 0


def _run_report(args: argparse.Namespace) -> int:
    from .npu_report import model_report

    double = not args.single_buffer
    print(model_report(args.model, args.dtype, args.bandwidth, double, args.json, args.plot))
    return 0
