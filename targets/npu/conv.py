"""`convert-linalg-to-npu`'s mapping (NPU.md section 8.4, extended; docs/npu.md, "Conv layers"):
one convolution layer, with a tiling `npu-tile` chose, as one single-buffered TNPU-1 program.

A tile is `oc_t` output-channel blocks x `oh_t` output rows x `ow_t` output columns; its
reduction runs in chunks of `ic_c` input-channel blocks x `kh_c` kernel rows. Per chunk, one
LOAD INP per input block brings the halo window (pads from the LOAD's pad fields), one LOAD WGT
the chunk's weight blocks, and one GEMM runs the uop kernel

    uop (ob, ib, dy, dx) = (dst = acc + ob * oh_t * ow_t,
                            src = inp + (ib * Ht + dy) * Wt + dx,
                            wgt = wgt + ((ob * ic_c + ib) * kh_c + dy) * kw + dx)
    outer(oh_t, dst=ow_t, src=stride * Wt), inner(ow_t, dst=1, src=stride)

with `Ht = (oh_t - 1) * stride + kh_c`, `Wt = (ow_t - 1) * stride + kw`. The accumulator
starts from the residual (LOAD ACC), the bias (ALU MOV/ADD from bias rows, source factors 0),
or zero (GEMM reset); ReLU, clip and requantization happen on STORE OUT through CONFIG.

The spec keeps W_out whole and the kernel rows together; on the 8 KiB configuration an f32 3x3
conv's nine weight blocks per (ob, ib) do not fit half of WGT (4 blocks), and a 58-column f32
halo does not fit half of INP (64 rows), so the tile may also split the width and the kernel
rows. Everything sits in the lower halves of INP, WGT and ACC: `npu-double-buffer` moves
alternate chunks and tiles to the upper halves, `npu-dedup-uops` lays out the uop table and
`npu-insert-deps` adds the tokens (`pipeline.py` runs them in that order).
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

from .binary import NpuProgram, Role, Segment
from .isa import (
    AluOp,
    Buffer,
    ConfigReg,
    Instruction,
    MemDtype,
    NpuConfig,
    NpuIsaError,
    Opcode,
    Uop,
    element_bytes,
    mem_instruction,
)
from .layers import ConvLayer
from .tiling import (
    Tiling,
    acc_dtype,
    fits,
    gemm_mode,
    mem_dtype,
    out_dtype,
    out_element,
)
from .uops import UOP_SEGMENT, KernelTable


@dataclass
class _Layout:
    """DRAM offsets of the layer's segments."""

    input: int
    weight: int
    bias: int
    residual: int
    output: int
    uops: int
    end: int


def _layout(layer: ConvLayer, uop_words: int) -> tuple[_Layout, list[Segment]]:
    dtype = mem_dtype(layer)
    e_in = element_bytes(Buffer.INP, dtype)
    sizes = [
        ("input", layer.icb * layer.h * layer.w * e_in, dtype, "NCHW16c", Role.INPUT),
        (
            "weight",
            layer.ocb * layer.icb * layer.kh * layer.kw * element_bytes(Buffer.WGT, dtype),
            dtype,
            "OIHW16o16i",
            Role.WEIGHT,
        ),
        ("bias", layer.ocb * 64 if layer.bias else 0, acc_dtype(layer), "C16", Role.WEIGHT),
        (
            "residual",
            layer.ocb * layer.oh * layer.ow * _residual_row(layer) if layer.residual else 0,
            _residual_dtype(layer),
            "NCHW16c",
            Role.INPUT,
        ),
        (
            "output",
            layer.ocb * layer.oh * layer.ow * out_element(layer),
            out_dtype(layer),
            "NCHW16c",
            Role.OUTPUT,
        ),
        (UOP_SEGMENT, uop_words * 8, MemDtype.I8, "uop", Role.SCRATCH),
    ]
    offsets: list[int] = []
    segments: list[Segment] = []
    offset = 0
    for name, size, seg_dtype, layout, role in sizes:
        offsets.append(offset)
        if size:
            segments.append(Segment(name, offset, size, seg_dtype, layout, role))
        offset += -(-size // 64) * 64
    layout = _Layout(offsets[0], offsets[1], offsets[2], offsets[3], offsets[4], offsets[5], offset)
    return layout, segments


def _residual_dtype(layer: ConvLayer) -> MemDtype:
    """An i8 layer's residual is int8 (rescaled on the ALU), an f32 layer's fp32."""
    return MemDtype.I8 if layer.dtype == "i8" else MemDtype.F32


def _residual_row(layer: ConvLayer) -> int:
    return element_bytes(Buffer.ACC, _residual_dtype(layer))


def _config_insn(reg: ConfigReg, bits: int) -> Instruction:
    return Instruction.make(Opcode.CONFIG, module=2, reg=reg, value=bits & 0xFFFFFFFF)


def _f32_bits(value: float) -> int:
    return struct.unpack("<I", struct.pack("<f", value))[0]


def _store_configs(layer: ConvLayer) -> list[Instruction]:
    if layer.dtype == "i8":
        configs = [_config_insn(ConfigReg.OUT_SCALE, _f32_bits(layer.out_scale))]
        if layer.out_zero_point:
            configs.append(_config_insn(ConfigReg.OUT_ZP, layer.out_zero_point))
        if layer.relu:
            configs.append(_config_insn(ConfigReg.OUT_MIN_I, max(layer.out_zero_point, -128)))
        return configs
    low, high = -math.inf, math.inf
    if layer.relu:
        low = 0.0
    if layer.clip is not None:
        low, high = max(low, layer.clip[0]), min(high, layer.clip[1])
    configs: list[Instruction] = []
    if low != -math.inf:
        configs.append(_config_insn(ConfigReg.OUT_MIN_F, _f32_bits(low)))
    if high != math.inf:
        configs.append(_config_insn(ConfigReg.OUT_MAX_F, _f32_bits(high)))
    return configs


def _loops(
    op: Opcode,
    bounds: tuple[int, int],
    outer: tuple[int, int, int],
    inner: tuple[int, int, int],
    **extra: int,
) -> Instruction:
    fields = {
        "uop_bgn": bounds[0],
        "uop_end": bounds[1],
        "iter_out": outer[0],
        "dst_fo": outer[1],
        "src_fo": outer[2],
        "iter_in": inner[0],
        "dst_fi": inner[1],
        "src_fi": inner[2],
    }
    return Instruction.of(op, {**fields, **extra})


@dataclass(frozen=True)
class _Tile:
    ob0: int
    oc: int
    oh0: int
    oh: int
    ow0: int
    ow: int


def build_conv(layer: ConvLayer, tiling: Tiling, config: NpuConfig) -> NpuProgram:
    """The layer's single-buffered program without tokens."""
    if not fits(layer, tiling, config):
        raise NpuIsaError(f"{layer.describe()}: tiling {tiling.describe()} does not fit")
    return _ConvBuilder(layer, tiling, config).build()


class _ConvBuilder:
    def __init__(self, layer: ConvLayer, tiling: Tiling, config: NpuConfig) -> None:
        self.layer, self.tiling, self.config = layer, tiling, config
        self.kernels = KernelTable()
        self.body: list[Instruction] = []
        self.dtype = mem_dtype(layer)
        self.e_in = element_bytes(Buffer.INP, self.dtype)
        self.e_w = element_bytes(Buffer.WGT, self.dtype)
        # The uop segment is last: the other offsets do not depend on the uop count.
        self.layout, _ = _layout(layer, 0)

    def build(self) -> NpuProgram:
        layer, tiling = self.layer, self.tiling
        for ob0 in range(0, layer.ocb, tiling.oc_t):
            for oh0 in range(0, layer.oh, tiling.oh_t):
                for ow0 in range(0, layer.ow, tiling.ow_t):
                    oc = min(tiling.oc_t, layer.ocb - ob0)
                    oh = min(tiling.oh_t, layer.oh - oh0)
                    ow = min(tiling.ow_t, layer.ow - ow0)
                    self._tile(_Tile(ob0, oc, oh0, oh, ow0, ow))
        if len(self.kernels.uops) > self.config.rows(Buffer.UOP):
            raise NpuIsaError(
                f"{layer.describe()}: {len(self.kernels.uops)} uops do not fit the "
                f"{self.config.rows(Buffer.UOP)}-row UOP buffer with tiling {tiling.describe()}"
            )
        layout, segments = _layout(layer, len(self.kernels.uops))
        self.layout = layout
        head = [
            mem_instruction(
                Opcode.LOAD,
                Buffer.UOP,
                0,
                0,
                layout.uops,
                1,
                len(self.kernels.uops),
                len(self.kernels.uops),
            )
        ]
        instructions = head + _store_configs(layer) + self.body
        instructions.append(Instruction.make(Opcode.FINISH))
        return NpuProgram(tuple(instructions), tuple(self.kernels.uops), tuple(segments))

    def _tile(self, tile: _Tile) -> None:
        layer, layout = self.layer, self.layout
        acc = 0
        rows_per_ob = tile.oh * tile.ow
        outer, inner = (tile.oh, tile.ow, 0), (tile.ow, 1, 0)
        acc_type = acc_dtype(layer)
        if layer.residual:
            self._residual(tile, acc)
        if layer.bias:
            bias_rows = acc + tile.oc * rows_per_ob
            self.body.append(
                mem_instruction(
                    Opcode.LOAD,
                    Buffer.ACC,
                    acc_type,
                    bias_rows,
                    layout.bias + tile.ob0 * 64,
                    1,
                    tile.oc,
                    tile.oc,
                )
            )
            kernel = tuple(Uop(acc + ob * rows_per_ob, bias_rows + ob, 0) for ob in range(tile.oc))
            op = AluOp.ADD if layer.residual else AluOp.MOV
            alu_dtype = 0 if layer.dtype == "i8" else 2
            self.body.append(
                _loops(
                    Opcode.ALU, self.kernels.add(kernel), outer, inner, dtype=alu_dtype, alu_op=op
                )
            )
        elif not layer.residual:
            kernel = (Uop(acc, 0, 0),)
            bounds = self.kernels.add(kernel)
            self.body.append(
                _loops(
                    Opcode.GEMM,
                    bounds,
                    (1, 0, 0),
                    (tile.oc * rows_per_ob, 1, 0),
                    dtype=gemm_mode(layer),
                    reset=1,
                )
            )
        for ib0 in range(0, layer.icb, self.tiling.ic_c):
            for dy0 in range(0, layer.kh, self.tiling.kh_c):
                self._chunk(tile, acc, ib0, dy0)
        self._store(tile, acc)

    def _residual(self, tile: _Tile, acc: int) -> None:
        layer = self.layer
        base, dtype, row = self.layout.residual, _residual_dtype(layer), _residual_row(layer)
        if tile.ow == layer.ow:
            dram = base + (tile.ob0 * layer.oh + tile.oh0) * layer.ow * row
            rows = (tile.oc, tile.oh * layer.ow, layer.oh * layer.ow)
            self.body.append(mem_instruction(Opcode.LOAD, Buffer.ACC, dtype, acc, dram, *rows))
        else:
            for ob in range(tile.oc):
                dram = base + (((tile.ob0 + ob) * layer.oh + tile.oh0) * layer.ow + tile.ow0) * row
                sram = acc + ob * tile.oh * tile.ow
                rows = (tile.oh, tile.ow, layer.ow)
                self.body.append(mem_instruction(Opcode.LOAD, Buffer.ACC, dtype, sram, dram, *rows))
        if layer.dtype != "i8":
            return
        # the int8 residual to the accumulator's scale: r * multiplier, then a rounding shift
        rows_per_ob = tile.oh * tile.ow
        kernel = tuple(Uop(acc + ob * rows_per_ob, 0, 0) for ob in range(tile.oc))
        bounds = self.kernels.add(kernel)
        outer, inner = (tile.oh, tile.ow, 0), (tile.ow, 1, 0)
        for op, value in (
            (AluOp.MUL, layer.residual_multiplier),
            (AluOp.SHR_RND, layer.residual_shift),
        ):
            imm = {"use_imm": 1, "imm": value & 0xFFFF}
            self.body.append(_loops(Opcode.ALU, bounds, outer, inner, dtype=0, alu_op=op, **imm))

    def _store(self, tile: _Tile, acc: int) -> None:
        layer = self.layer
        e_out = out_element(layer)
        base = self.layout.output
        buffer = Buffer.ACC if layer.accumulators else Buffer.OUT
        dtype = out_dtype(layer)
        if tile.ow == layer.ow:
            dram = base + (tile.ob0 * layer.oh + tile.oh0) * layer.ow * e_out
            self.body.append(
                mem_instruction(
                    Opcode.STORE,
                    buffer,
                    dtype,
                    acc,
                    dram,
                    tile.oc,
                    tile.oh * layer.ow,
                    layer.oh * layer.ow,
                )
            )
            return
        for ob in range(tile.oc):
            dram = base + (((tile.ob0 + ob) * layer.oh + tile.oh0) * layer.ow + tile.ow0) * e_out
            self.body.append(
                mem_instruction(
                    Opcode.STORE,
                    buffer,
                    dtype,
                    acc + ob * tile.oh * tile.ow,
                    dram,
                    tile.oh,
                    tile.ow,
                    layer.ow,
                )
            )

    def _chunk(self, tile: _Tile, acc: int, ib0: int, dy0: int) -> None:
        layer, tiling = self.layer, self.tiling
        s = layer.stride
        ic = min(tiling.ic_c, layer.icb - ib0)
        kh = min(tiling.kh_c, layer.kh - dy0)
        ht = (tile.oh - 1) * s + kh
        wt = (tile.ow - 1) * s + layer.kw
        y0 = tile.oh0 * s - layer.pads[0] + dy0
        x0 = tile.ow0 * s - layer.pads[1]
        y_lo, y_hi = max(y0, 0), min(y0 + ht, layer.h)
        x_lo, x_hi = max(x0, 0), min(x0 + wt, layer.w)
        if y_hi <= y_lo or x_hi <= x_lo:
            return  # the window is all padding: this chunk adds zeros
        inp = wgt = 0
        pads = (y_lo - y0, y0 + ht - y_hi, x_lo - x0, x0 + wt - x_hi)
        self._load_inputs(ib0, ic, inp, ht, wt, (y_lo, y_hi, x_lo, x_hi), pads)
        kernel_blocks = ic * kh * layer.kw
        w_dram = (
            self.layout.weight
            + (((tile.ob0 * layer.icb + ib0) * layer.kh + dy0) * layer.kw) * self.e_w
        )
        w_stride = layer.icb * layer.kh * layer.kw
        self.body.append(
            mem_instruction(
                Opcode.LOAD, Buffer.WGT, self.dtype, wgt, w_dram, tile.oc, kernel_blocks, w_stride
            )
        )
        kernel = tuple(
            Uop(
                acc + ob * tile.oh * tile.ow,
                inp + (ib * ht + dy) * wt + dx,
                wgt + ((ob * ic + ib) * kh + dy) * layer.kw + dx,
            )
            for ob in range(tile.oc)
            for ib in range(ic)
            for dy in range(kh)
            for dx in range(layer.kw)
        )
        bounds = self.kernels.add(kernel)
        outer, inner = (tile.oh, tile.ow, s * wt), (tile.ow, 1, s)
        self.body.append(_loops(Opcode.GEMM, bounds, outer, inner, dtype=gemm_mode(layer)))

    def _load_inputs(
        self,
        ib0: int,
        ic: int,
        inp: int,
        ht: int,
        wt: int,
        window: tuple[int, int, int, int],
        pads: tuple[int, int, int, int],
    ) -> None:
        layer = self.layer
        y_lo, y_hi, x_lo, x_hi = window
        plane = layer.h * layer.w
        if not any(pads) and x_hi - x_lo == layer.w:
            # Whole rows of every input block are contiguous: one LOAD for all `ic` blocks.
            dram = self.layout.input + ((ib0 * layer.h + y_lo) * layer.w) * self.e_in
            self.body.append(
                mem_instruction(Opcode.LOAD, Buffer.INP, self.dtype, inp, dram, ic, ht * wt, plane)
            )
            return
        for ib in range(ic):
            dram = self.layout.input + (((ib0 + ib) * layer.h + y_lo) * layer.w + x_lo) * self.e_in
            self.body.append(
                mem_instruction(
                    Opcode.LOAD,
                    Buffer.INP,
                    self.dtype,
                    inp + ib * ht * wt,
                    dram,
                    y_hi - y_lo,
                    x_hi - x_lo,
                    layer.w,
                    pads,
                )
            )
