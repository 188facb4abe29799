"""`terrace npu-objdump` and `terrace npu-report`: the TNPU-1 tools (docs/npu.md)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:  # pyright: ignore[reportPrivateUsage]
    objdump = commands.add_parser(
        "npu-objdump",
        help="disassemble a .tnpu file",
        description="Decode a TNPU-1 .tnpu file and print it as npu dialect assembly "
        "(terrace-opt reads it back). A malformed file is one error line.",
    )
    objdump.add_argument("file", help="a .tnpu file")
    objdump.add_argument(
        "--tiny", action="store_true", help="the file is for the 8 KiB configuration"
    )
    objdump.set_defaults(run=_run_objdump)
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
    report.set_defaults(run=_run_report)


def _run_objdump(args: argparse.Namespace) -> int:
    from xdsl.dialects.builtin import ModuleOp

    from ..dialects.npu import program_op
    from ..errors import TerraceError
    from ..targets.npu.binary import read_tnpu
    from ..targets.npu.isa import NpuConfig

    path = Path(args.file)
    if not path.is_file():
        raise TerraceError(f"{path}: no such file")
    config = NpuConfig.tiny() if args.tiny else NpuConfig()
    program = read_tnpu(path.read_bytes(), config)
    print(ModuleOp([program_op(path.stem, program)]))
    return 0


def _run_report(args: argparse.Namespace) -> int:
    from .npu_report import model_report

    print(model_report(args.model, args.dtype, args.bandwidth, not args.single_buffer, args.json))
    return 0
