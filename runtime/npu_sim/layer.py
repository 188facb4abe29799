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
    dram = np.zeros(program.dram_bytes(), np.uint8)
    _put(program, dram, "input", pack_activation(x))
    _put(program, dram, "weight", pack_weight(weight))
    if bias is not None:
        _put(program, dram, "bias", pack_vector(bias))
    if residual is not None:
        kind = (
            np.int8 if layer.dtype == "i8" else np.float32
        )  # the i8 residual is rescaled on the ALU
        _put(program, dram, "residual", pack_activation(residual.astype(kind)))
    result = simulate(program, dram, config, check_races_=check_races)
    segment = program.segment("output")
    dtype = np.int8 if layer.dtype == "i8" else np.float32
    if layer.accumulators:
        dtype = np.int32 if layer.dtype == "i8" else np.float32
    raw = dram[segment.offset : segment.offset + segment.size].view(dtype)
    out = unpack_activation(raw.reshape(layer.ocb, layer.oh, layer.ow, 16), layer.cout)
    return out, result


def _put(
    program: NpuProgram, dram: NDArray[np.uint8], name: str, values: NDArray[np.generic]
) -> None:
    segment = program.segment(name)
    data = np.ascontiguousarray(values).view(np.uint8).reshape(-1)
    if data.size != segment.size:
        raise ValueError(f"segment '{name}' holds {segment.size} bytes, got {data.size}")
    dram[segment.offset : segment.offset + data.size] = data
