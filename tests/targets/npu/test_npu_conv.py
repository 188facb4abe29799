"""Every unique ResNet-50 convolution (conv1 excluded) compiled for TNPU-1 and run on the
simulator: i8 accumulators and requantized outputs bit-exact against the integer reference, f32
within rtol 1e-4 / atol 1e-5 of float64; the same on the 8 KiB configuration."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import onnx
import pytest
from numpy.typing import NDArray

from terrace.runtime.npu_sim.layer import run_conv
from terrace.targets.npu.isa import NpuConfig
from terrace.targets.npu.layers import (
    ConvLayer,
    accumulate,
    reference,
    rescale_residual,
    residual_rescale,
)
from terrace.targets.npu.pipeline import compile_conv
from terrace.targets.npu.tiling import Tiling, can_map, estimate

RESNET50_CONVS = [
    # (cin, cout, h, w, k, stride)
    (64, 64, 56, 56, 1, 1),
    (64, 64, 56, 56, 3, 1),
    (64, 256, 56, 56, 1, 1),
    (256, 64, 56, 56, 1, 1),
    (256, 128, 56, 56, 1, 1),
    (128, 128, 56, 56, 3, 2),
    (128, 512, 28, 28, 1, 1),
    (256, 512, 56, 56, 1, 2),
    (512, 128, 28, 28, 1, 1),
    (128, 128, 28, 28, 3, 1),
    (512, 256, 28, 28, 1, 1),
    (256, 256, 28, 28, 3, 2),
    (256, 1024, 14, 14, 1, 1),
    (512, 1024, 28, 28, 1, 2),
    (1024, 256, 14, 14, 1, 1),
    (256, 256, 14, 14, 3, 1),
    (1024, 512, 14, 14, 1, 1),
    (512, 512, 14, 14, 3, 2),
    (512, 2048, 7, 7, 1, 1),
    (1024, 2048, 14, 14, 1, 2),
    (2048, 512, 7, 7, 1, 1),
    (512, 512, 7, 7, 3, 1),
]
"""ResNet-50's conv shapes without conv1 (`test_the_list_is_the_models` derives them from
onnx's light_resnet50). The model has 23 unique (shape, pads attribute) pairs: 64->256 1x1
appears once with explicit zero pads and once without; as layers they are these 22."""

TINY = NpuConfig.tiny()
DEFAULT = NpuConfig()
RNG = np.random.default_rng(2026)


def _layer(shape: tuple[int, int, int, int, int, int], dtype: str, **epilogue: object) -> ConvLayer:
    cin, cout, h, w, k, stride = shape
    pad = k // 2
    layer = ConvLayer(cin, cout, h, w, k, k, stride, (pad, pad, pad, pad), dtype)
    return replace(layer, **epilogue)  # type: ignore[arg-type]


def _operands(
    layer: ConvLayer,
) -> tuple[NDArray[np.generic], NDArray[np.generic], NDArray[np.generic]]:
    shape_x = (1, layer.cin, layer.h, layer.w)
    shape_w = (layer.cout, layer.cin, layer.kh, layer.kw)
    if layer.dtype == "i8":
        x = RNG.integers(-128, 128, shape_x).astype(np.int8)
        w = RNG.integers(-128, 128, shape_w).astype(np.int8)
        return x, w, RNG.integers(-(2**20), 2**20, layer.cout).astype(np.int32)
    x = RNG.standard_normal(shape_x).astype(np.float32)
    w = (RNG.standard_normal(shape_w) / np.sqrt(layer.cin * layer.kh * layer.kw)).astype(np.float32)
    return x, w, RNG.standard_normal(layer.cout).astype(np.float32)


def _check_i8(layer: ConvLayer, config: NpuConfig, races: bool) -> None:
    x, w, b = _operands(layer)
    # The raw int32 accumulators, bit for bit (wraparound included).
    raw = replace(layer, accumulators=True)
    program, _ = compile_conv(raw, config)
    acc, _ = run_conv(program, raw, config, x, w, b, check_races=races)
    expected_acc = (accumulate(layer, x, w) + b.astype(np.int64)[None, :, None, None]).astype(
        np.int32
    )
    np.testing.assert_array_equal(acc, expected_acc)
    # The requantized int8 outputs: scale so that about half saturate nowhere.
    scale = float(np.float32(100.0 / max(1, np.abs(expected_acc).max())))
    quantized = replace(layer, out_scale=scale, relu=True)
    program, _ = compile_conv(quantized, config)
    out, _ = run_conv(program, quantized, config, x, w, b, check_races=races)
    np.testing.assert_array_equal(out, reference(quantized, x, w, b))


def _check_f32(layer: ConvLayer, config: NpuConfig, races: bool) -> None:
    x, w, b = _operands(layer)
    residual = RNG.standard_normal((1, layer.cout, layer.oh, layer.ow)).astype(np.float32)
    fused = replace(layer, bias=True, residual=True, relu=True)
    program, _ = compile_conv(fused, config)
    out, _ = run_conv(program, fused, config, x, w, b, residual, check_races=races)
    np.testing.assert_allclose(out, reference(fused, x, w, b, residual), rtol=1e-4, atol=1e-5)


def _ids(shape: tuple[int, ...]) -> str:
    cin, cout, h, _, k, s = shape
    return f"{k}x{k}s{s}-{cin}-{cout}-{h}"


@pytest.mark.parametrize("shape", RESNET50_CONVS, ids=_ids)
def test_resnet50_conv_i8(shape: tuple[int, int, int, int, int, int]) -> None:
    _check_i8(_layer(shape, "i8", bias=True), DEFAULT, races=True)


I8_RESIDUAL = [RESNET50_CONVS[2], RESNET50_CONVS[6], RESNET50_CONVS[12], RESNET50_CONVS[18]]
"""The 1x1 expansions ResNet-50 adds its residuals to, one per stage."""


@pytest.mark.parametrize("shape", I8_RESIDUAL, ids=_ids)
@pytest.mark.parametrize("config", [DEFAULT, TINY], ids=["default", "tiny"])
def test_resnet50_i8_residual_add_on_the_alu(
    shape: tuple[int, int, int, int, int, int], config: NpuConfig
) -> None:
    """An int8 residual rescaled to the accumulator's scale on the ALU (MUL, SHR_RND with
    immediates), added before the bias and the GEMMs, then requantized with a fused ReLU:
    bit-exact against the integer reference."""
    x_scale, w_scale, r_scale = 0.05, 0.004, 0.07
    multiplier, shift = residual_rescale(r_scale / (x_scale * w_scale))
    layer = _layer(
        shape, "i8", bias=True, residual=True, relu=True,
        residual_multiplier=multiplier, residual_shift=shift,
    )  # fmt: skip
    x, w, b = _operands(layer)
    residual = RNG.integers(-128, 128, (1, layer.cout, layer.oh, layer.ow)).astype(np.int8)
    expected_acc = accumulate(layer, x, w) + b.astype(np.int64)[None, :, None, None]
    expected_acc += rescale_residual(layer, residual)
    scale = float(np.float32(100.0 / max(1, np.abs(expected_acc).max())))
    layer = replace(layer, out_scale=scale)
    program, _ = compile_conv(layer, config)
    out, _ = run_conv(program, layer, config, x, w, b, residual, check_races=config is DEFAULT)
    np.testing.assert_array_equal(out, reference(layer, x, w, b, residual))
    assert 0 < np.count_nonzero(out) < out.size  # the ReLU clamps some, not all


def test_residual_rescale_is_the_closest_16_bit_fixed_point() -> None:
    assert residual_rescale(1.0) == (16384, 14)  # 2^14 / 2^14: the largest exact power
    multiplier, shift = residual_rescale(350.0)
    assert multiplier <= 32767 and abs(multiplier / 2**shift - 350.0) <= 2 ** -(shift + 1)
    assert round(350.0 * 2 ** (shift + 1)) > 32767  # one more bit would not fit
    with pytest.raises(ValueError, match="16-bit multiplier"):
        residual_rescale(40000.0)


@pytest.mark.parametrize("shape", RESNET50_CONVS, ids=_ids)
def test_resnet50_conv_f32(shape: tuple[int, int, int, int, int, int]) -> None:
    _check_f32(_layer(shape, "f32"), DEFAULT, races=True)


TINY_SMOKE = [RESNET50_CONVS[1], RESNET50_CONVS[5], RESNET50_CONVS[20]]
"""3x3 stride 1 at 56x56, 3x3 stride 2, and the 2048-channel 1x1: halos, width and kernel-row
splits, stride 2 and long reductions on the 8 KiB configuration."""


@pytest.mark.parametrize("shape", TINY_SMOKE, ids=_ids)
def test_tiny_config_smoke(shape: tuple[int, int, int, int, int, int]) -> None:
    _check_i8(_layer(shape, "i8", bias=True), TINY, races=False)
    _check_f32(_layer(shape, "f32"), TINY, races=False)


@pytest.mark.slow
@pytest.mark.parametrize("shape", RESNET50_CONVS, ids=_ids)
def test_tiny_config_all_shapes(shape: tuple[int, int, int, int, int, int]) -> None:
    _check_i8(_layer(shape, "i8", bias=True), TINY, races=False)
    _check_f32(_layer(shape, "f32"), TINY, races=False)


def test_the_list_is_the_models() -> None:
    from terrace.benchmarks.light_models import light_model

    model = onnx.shape_inference.infer_shapes(light_model("light_resnet50"))
    dims = {
        v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
        for v in [*model.graph.value_info, *model.graph.input]
    }
    found: set[tuple[int, int, int, int, int, int]] = set()
    for node in model.graph.node:
        if node.op_type != "Conv":
            continue
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        _, cin, h, w = dims[node.input[0]]
        cout = dims[node.output[0]][1]
        found.add((cin, cout, h, w, attrs["kernel_shape"][0], attrs["strides"][0]))
    found.discard((3, 64, 224, 224, 7, 2))  # conv1
    assert found == set(RESNET50_CONVS)


def test_tiny_tiles_split_kernel_rows() -> None:
    # f32 3x3 on 8 KiB: 4 weight blocks per half cannot hold one (ob, ib)'s 9 blocks.
    layer = _layer((64, 64, 56, 56, 3, 1), "f32")
    _, tiling = compile_conv(layer, TINY)
    assert tiling.kh_c < 3


def test_the_tiler_prefers_the_cheaper_estimate() -> None:
    layer = _layer((256, 64, 56, 56, 1, 1), "i8")
    _, chosen = compile_conv(layer, DEFAULT)
    tiny_tile = Tiling(1, 1, 56, 1, 1)
    assert estimate(layer, chosen, DEFAULT) < estimate(layer, tiny_tile, DEFAULT)


def test_unmappable_layers_say_why() -> None:
    assert can_map(ConvLayer(16, 16, 40, 40, 33, 33, 1, (16, 16, 16, 16)), DEFAULT) == (
        "padding 16 > 15 (the LOAD pad fields are 4 bits)"
    )
    assert can_map(ConvLayer(16, 16, 8, 8, 1, 1, dtype="i8", residual=True), DEFAULT) is None
    assert "16-bit multiplier" in (
        can_map(
            ConvLayer(16, 16, 8, 8, 1, 1, dtype="i8", residual=True, residual_multiplier=40000),
            DEFAULT,
        )
        or ""
    )


def test_insert_deps_rejects_a_store_and_load_of_one_dram_range() -> None:
    from terrace.targets.npu.binary import NpuProgram
    from terrace.targets.npu.deps import insert_deps
    from terrace.targets.npu.isa import Buffer, Instruction, MemDtype, NpuIsaError, Opcode

    def mem(opcode: Opcode, buffer: Buffer, dtype: MemDtype, dram: int) -> Instruction:
        fields = {
            "buffer": buffer,
            "dtype": dtype,
            "dram_base": dram,
            "y_size": 1,
            "x_size": 4,
            "x_stride": 4,
        }
        return Instruction.of(opcode, fields)

    program = NpuProgram(
        (
            mem(Opcode.STORE, Buffer.ACC, MemDtype.I32, 0),
            mem(Opcode.LOAD, Buffer.INP, MemDtype.I8, 200),
            Instruction.make(Opcode.FINISH),
        )
    )
    with pytest.raises(
        NpuIsaError, match="instruction 0 and instruction 1 touch the same DRAM range"
    ):
        insert_deps(program)
