"""`npu-tile`'s search (NPU.md section 8.3, extended; docs/npu.md, "Conv layers"): which tiles
of a layer fit half of INP, WGT and ACC and every instruction field, their analytic cycle
estimate from `NpuConfig`'s costs, and `can_map`, the one answer to "does this layer map".

A tile is `oc_t` output-channel blocks x `oh_t` output rows x `ow_t` output columns; its
reduction runs in chunks of `ic_c` input-channel blocks x `kh_c` kernel rows (the spec keeps
W_out whole and the kernel rows together; the 8 KiB configuration needs both split).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from dataclasses import dataclass

from .isa import DTYPE_BYTES, Buffer, MemDtype, NpuConfig, element_bytes
from .layers import ConvLayer


@dataclass(frozen=True)
class Tiling:
    oc_t: int
    oh_t: int
    ow_t: int
    ic_c: int
    kh_c: int

    def describe(self) -> str:
        return (
            f"oc_t={self.oc_t} oh_t={self.oh_t} ow_t={self.ow_t} ic_c={self.ic_c} kh_c={self.kh_c}"
        )


def mem_dtype(layer: ConvLayer) -> MemDtype:
    return MemDtype.I8 if layer.dtype == "i8" else MemDtype.F32


def acc_dtype(layer: ConvLayer) -> MemDtype:
    return MemDtype.I32 if layer.dtype == "i8" else MemDtype.F32


def gemm_mode(layer: ConvLayer) -> int:
    return 0 if layer.dtype == "i8" else 2


def out_dtype(layer: ConvLayer) -> MemDtype:
    return acc_dtype(layer) if layer.accumulators else mem_dtype(layer)


def out_element(layer: ConvLayer) -> int:
    return 16 * DTYPE_BYTES[out_dtype(layer)]


def halves(config: NpuConfig, layer: ConvLayer) -> tuple[int, int, int]:
    """Rows in half of INP, WGT and ACC for the layer's dtype."""
    dtype = mem_dtype(layer)
    return (
        config.rows(Buffer.INP, dtype) // 2,
        config.rows(Buffer.WGT, dtype) // 2,
        config.rows(Buffer.ACC) // 2,
    )


def fits(layer: ConvLayer, tiling: Tiling, config: NpuConfig) -> bool:
    """Whether a full tile fits half of each buffer and every field (the uop segment is
    checked when the program is built)."""
    inp_half, wgt_half, acc_half = halves(config, layer)
    s = layer.stride
    ht = (tiling.oh_t - 1) * s + tiling.kh_c
    wt = (tiling.ow_t - 1) * s + layer.kw
    acc_rows = tiling.oc_t * tiling.oh_t * tiling.ow_t + (tiling.oc_t if layer.bias else 0)
    kernel = tiling.oc_t * tiling.ic_c * tiling.kh_c * layer.kw
    return (
        tiling.ic_c * ht * wt <= inp_half
        and tiling.oc_t * tiling.ic_c * tiling.kh_c * layer.kw <= wgt_half
        and acc_rows <= acc_half
        and kernel <= min(4095, config.rows(Buffer.UOP) // 4)
        and s * wt <= 4095
        and (tiling.kh_c == layer.kh or tiling.ic_c == 1)
    )


def estimate(layer: ConvLayer, tiling: Tiling, config: NpuConfig) -> float:
    """Analytic cycles of the double-buffered program: the busiest of the load module, the
    compute module, the store module and the DRAM channel, plus one chunk's fill and one
    tile's drain. The tiler ranks tilings by it (the simulator's costs, not its run)."""
    dtype = mem_dtype(layer)
    s, bw = layer.stride, config.dram_bytes_per_cycle
    e_in = element_bytes(Buffer.INP, dtype)
    e_w = element_bytes(Buffer.WGT, dtype)
    e_out = 16 * DTYPE_BYTES[dtype]
    n_oc = math.ceil(layer.ocb / tiling.oc_t)
    n_tiles = n_oc * math.ceil(layer.oh / tiling.oh_t) * math.ceil(layer.ow / tiling.ow_t)
    n_chunks = math.ceil(layer.icb / tiling.ic_c) * math.ceil(layer.kh / tiling.kh_c)
    ht = (tiling.oh_t - 1) * s + tiling.kh_c
    wt = (tiling.ow_t - 1) * s + layer.kw
    inp_bytes = tiling.ic_c * ht * wt * e_in
    wgt_bytes = tiling.oc_t * tiling.ic_c * tiling.kh_c * layer.kw * e_w
    load_fixed = (tiling.ic_c + 1) * config.dma_fixed + config.dma_per_row * (
        tiling.ic_c * ht + tiling.oc_t
    )
    load = n_tiles * n_chunks * (load_fixed + (inp_bytes + wgt_bytes) / bw)
    uops = tiling.oc_t * tiling.ic_c * tiling.kh_c * layer.kw * tiling.oh_t * tiling.ow_t
    compute = n_tiles * n_chunks * (config.gemm_fixed + uops * config.gemm_ii[gemm_mode(layer)])
    out_bytes = tiling.oc_t * tiling.oh_t * tiling.ow_t * e_out
    store = n_tiles * (config.dma_fixed + config.dma_per_row * tiling.oc_t + out_bytes / bw)
    channel = n_tiles * (n_chunks * (inp_bytes + wgt_bytes) + out_bytes) / bw
    fill = load_fixed + (inp_bytes + wgt_bytes) / bw
    return max(load, compute, store, channel) + fill + config.dma_fixed + out_bytes / bw


def _sizes(limit: int) -> list[int]:
    powers = [1 << k for k in range(13) if 1 << k <= limit]
    return sorted(set(powers) | {limit} | {math.ceil(limit / k) for k in (2, 3, 4, 5, 6, 7)})


def candidates(layer: ConvLayer, config: NpuConfig) -> Iterator[Tiling]:
    """Tilings that fit, for each (oc_t, ic_c, kh_c, ow_t) the tallest oh_t and two shorter."""
    for oc_t in _sizes(layer.ocb):
        for ic_c in _sizes(layer.icb):
            for kh_c in [layer.kh] if ic_c > 1 else _sizes(layer.kh):
                for ow_t in _sizes(layer.ow):
                    tallest = [
                        oh
                        for oh in range(1, layer.oh + 1)
                        if fits(layer, Tiling(oc_t, oh, ow_t, ic_c, kh_c), config)
                    ]
                    if not tallest:
                        continue
                    best = max(tallest)
                    for oh_t in {
                        best,
                        max(1, best // 2),
                        math.ceil(layer.oh / math.ceil(layer.oh / best)),
                    }:
                        yield Tiling(oc_t, oh_t, ow_t, ic_c, kh_c)


def ranked_tilings(layer: ConvLayer, config: NpuConfig) -> list[Tiling]:
    """Every candidate tiling, best analytic estimate first."""
    return list(_ranked(layer, config))


@functools.lru_cache(maxsize=256)
def _ranked(layer: ConvLayer, config: NpuConfig) -> tuple[Tiling, ...]:
    # remembered: npu-annotate, npu-tile and the report ask it for each of a model's layers,
    # and ResNet-50's 53 layers are 23 distinct ones (the search is most of their compile)
    return tuple(
        sorted(set(candidates(layer, config)), key=lambda t: (estimate(layer, t, config), -t.oc_t))
    )


def can_map(layer: ConvLayer, config: NpuConfig) -> str | None:
    """None if the layer maps to TNPU-1, else why not."""
    if max(layer.pads) > 15:
        return f"padding {max(layer.pads)} > 15 (the LOAD pad fields are 4 bits)"
    if (
        layer.residual
        and layer.dtype == "i8"
        and not (-32768 <= layer.residual_multiplier <= 32767 and 0 <= layer.residual_shift <= 31)
    ):
        return "the i8 residual's rescale does not fit a 16-bit multiplier and a 5-bit shift"
    if layer.clip is not None and layer.dtype == "i8":
        return "clip bounds on an i8 output (only ReLU is fused in i8)"
    if not ranked_tilings(layer, config):
        return "no tiling fits the buffers"
    return None
