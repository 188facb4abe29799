"""The npu target's pipeline as a list of passes (NPU.md section 8), printable as the
`terrace-opt -p` string that runs it:

    npu-annotate, npu-partition, npu-tile, convert-linalg-to-npu,
    npu-double-buffer, npu-dedup-uops, npu-insert-deps, npu-verify

On nn IR (`terrace-opt model.mlir -p "$(python -c ...npu_pipeline_spec())"`) the first four
outline the NPU regions, choose their tilings and make one `npu.program` per region. The npu
target partitions the ONNX graph itself (partition.py) and hands each layer to `compile_conv`,
which runs the same search (npu-tile's) and the same program passes, by their `transform`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from .binary import NpuProgram
from .conv import build_conv
from .isa import NpuConfig, NpuIsaError
from .layers import ConvLayer
from .tiling import Tiling, can_map, ranked_tilings

if TYPE_CHECKING:
    from xdsl.passes import ModulePass

    from .npu_dedup_uops import NpuDedupUopsPass
    from .npu_double_buffer import NpuDoubleBufferPass
    from .npu_insert_deps import NpuInsertDepsPass
    from .npu_verify import NpuVerifyPass

    ProgramPass = NpuDoubleBufferPass | NpuDedupUopsPass | NpuInsertDepsPass | NpuVerifyPass


def program_passes(*, double_buffer: bool = True, tiny: bool = False) -> tuple[ProgramPass, ...]:
    """The passes over `npu.program` after convert-linalg-to-npu, in order."""
    from .npu_dedup_uops import NpuDedupUopsPass
    from .npu_double_buffer import NpuDoubleBufferPass
    from .npu_insert_deps import NpuInsertDepsPass
    from .npu_verify import NpuVerifyPass

    buffering = (NpuDoubleBufferPass(tiny=tiny),) if double_buffer else ()
    return (*buffering, NpuDedupUopsPass(), NpuInsertDepsPass(), NpuVerifyPass(tiny=tiny))


def npu_pipeline(*, double_buffer: bool = True, tiny: bool = False) -> tuple[ModulePass, ...]:
    """The whole pipeline from nn IR to verified `npu.program`s."""
    from .linalg_to_npu import ConvertLinalgToNpuPass
    from .npu_annotate import NpuAnnotatePass
    from .npu_partition import NpuPartitionPass
    from .npu_tile import NpuTilePass

    regions = (
        NpuAnnotatePass(tiny=tiny),
        NpuPartitionPass(),
        NpuTilePass(tiny=tiny, double_buffer=double_buffer),
        ConvertLinalgToNpuPass(tiny=tiny),
    )
    return (*regions, *program_passes(double_buffer=double_buffer, tiny=tiny))


def pipeline_spec(passes: Sequence[ModulePass]) -> str:
    """The `terrace-opt -p` text of `passes` (options that differ from the defaults)."""
    return ",".join(str(p.pipeline_pass_spec()) for p in passes)


def lower_layer(
    layer: ConvLayer, tiling: Tiling, config: NpuConfig, *, double_buffer: bool = True
) -> NpuProgram:
    """convert-linalg-to-npu's program for `layer` with `tiling`, through the program passes
    (each pass's `transform`, against `config`)."""
    program = build_conv(layer, tiling, config)
    for step in program_passes(double_buffer=double_buffer):
        program = step.transform(program, config)
    return program


def compile_conv(
    layer: ConvLayer, config: NpuConfig, *, double_buffer: bool = True, tiling: Tiling | None = None
) -> tuple[NpuProgram, Tiling]:
    """The layer's verified program with tokens, and the tiling used: npu-tile's choice (the
    best-ranked tiling whose program fits the UOP buffer), or `tiling`."""
    reason = can_map(layer, config)
    if reason is not None:
        raise NpuIsaError(f"{layer.describe()} does not map to TNPU-1: {reason}")
    options = [tiling] if tiling is not None else ranked_tilings(layer, config)
    last_error: NpuIsaError | None = None
    for option in options:
        try:
            return lower_layer(layer, option, config, double_buffer=double_buffer), option
        except NpuIsaError as error:  # the uop table does not fit: the next tiling
            last_error = error
    assert last_error is not None
    raise last_error
