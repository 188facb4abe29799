"""Run one compiled layer program on the simulator: pack the operands into the program's DRAM
segments (NCHW16c, OIHW16o16i), simulate, unpack the output."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ...targets.npu.binary import NpuProgram
from ...targets.npu.isa import NpuConfig
from ...targets.npu.layers import (
    ConvLayer,
    pack_activation,
    pack_vector,
    pack_weight,
    unpack_activation,
)
from .simulator import SimResult, simulate


def run_conv(
    program: NpuProgram,
    layer: ConvLayer,
    config: NpuConfig,
    x: NDArray[np.generic],
    weight: NDArray[np.generic],
    bias: NDArray[np.generic] | None = None,
    residual: NDArray[np.generic] | None = None,
    *,
    check_races: bool = False,
) -> tuple[NDArray[np.generic], SimResult]:
    """The layer's output (1, O, OH, OW) computed by `program`, and the simulation."""
    kind = np.int8 if layer.dtype == "i8" else np.float32  # the i8 residual is rescaled on the ALU
    packed_residual = None if residual is None else pack_activation(residual.astype(kind))
    packed, result = run_packed(
        program,
        layer,
        config,
        pack_activation(x),
        weight,
        bias,
        packed_residual,
        check_races=check_races,
    )
    return unpack_activation(packed, layer.cout), result


def run_packed(  # noqa: PLR0913 - the program's segments
    program: NpuProgram,
    layer: ConvLayer,
    config: NpuConfig,
    x: NDArray[np.generic],
    weight: NDArray[np.generic],
    bias: NDArray[np.generic] | None = None,
    residual: NDArray[np.generic] | None = None,
    *,
    check_races: bool = False,
) -> tuple[NDArray[np.generic], SimResult]:
    """`run_conv` with the activations in TNPU-1's layout (NCHW16c: `(C/16, H, W, 16)`, as
    `layers.pack_activation` gives): the input and residual as they go into DRAM, the output
    as it comes out, which the next NPU layer takes as it is (NPU.md section 8.10)."""
    dram = np.zeros(program.dram_bytes(), np.uint8)
    _put(program, dram, "input", x)
    _put(program, dram, "weight", pack_weight(weight))
    if bias is not None:
        _put(program, dram, "bias", pack_vector(bias))
    if residual is not None:
        _put(program, dram, "residual", residual)
    result = simulate(program, dram, config, check_races_=check_races)
    segment = program.segment("output")
    dtype = np.int8 if layer.dtype == "i8" else np.float32
    if layer.accumulators:
        dtype = np.int32 if layer.dtype == "i8" else np.float32
    raw = dram[segment.offset : segment.offset + segment.size].view(dtype)
    return raw.reshape(layer.ocb, layer.oh, layer.ow, 16).copy(), result


def _put(
    program: NpuProgram, dram: NDArray[np.uint8], name: str, values: NDArray[np.generic]
) -> None:
    segment = program.segment(name)
    data = np.ascontiguousarray(values).view(np.uint8).reshape(-1)
    if data.size != segment.size:
        raise ValueError(f"segment '{name}' holds {segment.size} bytes, got {data.size}")
    dram[segment.offset : segment.offset + data.size] = data
