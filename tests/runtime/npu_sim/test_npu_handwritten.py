"""The hand-written assembly programs of tests/npu_asm/ (NPU.md section 9.2): assembled from
their text, run on the simulator with the race detector, against numpy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from terrace.dialects.context import parse_module
from terrace.dialects.npu import ProgramOp, program_of
from terrace.runtime.npu_sim import simulate
from terrace.targets.npu.binary import NpuProgram
from terrace.targets.npu.deps import insert_deps, verify_program
from terrace.targets.npu.isa import NpuConfig

ASM = Path(__file__).resolve().parents[2] / "npu_asm"
RNG = np.random.default_rng(16)


def _program(name: str) -> NpuProgram:
    op = parse_module((ASM / name).read_text()).ops.first
    assert isinstance(op, ProgramOp)
    program = program_of(op)
    verify_program(program, NpuConfig())
    # the tokens written by hand are the ones npu-insert-deps derives
    assert insert_deps(program).instructions == program.instructions
    return program


def _dram(program: NpuProgram, **segments: NDArray[np.generic]) -> NDArray[np.uint8]:
    dram = np.zeros(program.dram_bytes(), np.uint8)
    for name, values in segments.items():
        segment = program.segment(name)
        data = np.ascontiguousarray(values).view(np.uint8).reshape(-1)
        assert data.size == segment.size, name
        dram[segment.offset : segment.offset + data.size] = data
    return dram


def _read(program: NpuProgram, dram: NDArray[np.uint8], name: str, dtype: type) -> NDArray:
    segment = program.segment(name)
    return dram[segment.offset : segment.offset + segment.size].view(dtype)


def test_matmul_16x16x32_i8() -> None:
    program = _program("matmul_16x16x32.mlir")
    a = RNG.integers(-128, 128, (16, 32)).astype(np.int8)
    b = RNG.integers(-128, 128, (32, 16)).astype(np.int8)
    a_rows = a.reshape(16, 2, 16).transpose(1, 0, 2)  # [kb][m][16]
    b_blocks = b.reshape(2, 16, 16).transpose(0, 2, 1)  # [kb][n][k]
    dram = _dram(program, a=a_rows, b=b_blocks)
    result = simulate(program, dram, check_races_=True)
    c = _read(program, dram, "c", np.int32).reshape(16, 16)
    np.testing.assert_array_equal(c, a.astype(np.int64) @ b.astype(np.int64))
    assert result.stats()["executed_macs"] == 16 * 16 * 32


def test_conv3x3_tile_f32() -> None:
    program = _program("conv3x3_tile.mlir")
    x = RNG.standard_normal((16, 4, 4)).astype(np.float32)  # (c, h, w)
    w = RNG.standard_normal((16, 16, 3, 3)).astype(np.float32)  # (o, i, kh, kw)
    dram = _dram(program, x=x.transpose(1, 2, 0), w=w.transpose(2, 3, 0, 1))
    simulate(program, dram, check_races_=True)
    y = _read(program, dram, "y", np.float32).reshape(4, 4, 16)  # (oy, ox, o)
    padded = np.pad(x.astype(np.float64), ((0, 0), (1, 1), (1, 1)))
    expected = np.zeros((4, 4, 16))
    for oy in range(4):
        for ox in range(4):
            window = padded[:, oy : oy + 3, ox : ox + 3]  # (i, 3, 3)
            expected[oy, ox] = np.einsum("oiyx,iyx->o", w.astype(np.float64), window)
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)
