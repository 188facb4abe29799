"""The layers TNPU-1 runs (a 2-D convolution; a MatMul is a 1x1 one) and their DRAM layouts
(NPU.md section 4): activations NCHW16c, weights OIHW16o16i, channels padded to 16 with zeros.

`ConvLayer` describes one layer as the compiler maps it: shapes, the GEMM mode, the fused
epilogue (bias, residual add, ReLU or clip, requantization). `reference` is its numpy oracle:
float64 for f32, and for i8 the exact integer accumulator and the requantization of the STORE
OUT path (the same rule as ONNX QLinearConv with the scale computed in fp32).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray


def blocks(channels: int) -> int:
    """How many 16-channel blocks hold `channels`."""
    return -(-channels // 16)


@dataclass(frozen=True)
class ConvLayer:
    """A convolution as TNPU-1 computes it (batch 1, group 1, dilation 1, square stride)."""

    cin: int
    cout: int
    h: int
    w: int
    kh: int
    kw: int
    stride: int = 1
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)
    """top, left, bottom, right (ONNX order is top, left, bottom, right too)."""
    dtype: str = "f32"
    """`f32` or `i8`."""
    bias: bool = False
    residual: bool = False
    relu: bool = False
    clip: tuple[float, float] | None = None
    """f32 only: clamp bounds (ReLU6 is (0, 6))."""
    out_scale: float = 1.0
    """i8 only: x_scale * w_scale / y_scale, in fp32."""
    out_zero_point: int = 0
    residual_multiplier: int = 1
    residual_shift: int = 0
    """i8 only: the int8 residual enters the int32 accumulator as
    `(r * residual_multiplier + 2^(shift-1)) >> residual_shift` (ALU MUL and SHR_RND with
    immediates): the fixed-point rescale from its scale to the accumulator's, x_scale * w_scale
    (`residual_rescale`)."""
    accumulators: bool = False
    """Store the raw accumulators (int32 or fp32, STORE ACC) instead of the STORE OUT result:
    the i8 tests compare them bit for bit."""

    @property
    def oh(self) -> int:
        return (self.h + self.pads[0] + self.pads[2] - self.kh) // self.stride + 1

    @property
    def ow(self) -> int:
        return (self.w + self.pads[1] + self.pads[3] - self.kw) // self.stride + 1

    @property
    def icb(self) -> int:
        return blocks(self.cin)

    @property
    def ocb(self) -> int:
        return blocks(self.cout)

    @property
    def macs(self) -> int:
        """Useful multiply-accumulates (real channels, no padding)."""
        return self.oh * self.ow * self.cout * self.cin * self.kh * self.kw

    def describe(self) -> str:
        return (
            f"conv {self.kh}x{self.kw}/{self.stride} {self.cin}->{self.cout} "
            f"@{self.h}x{self.w} {self.dtype}"
        )


def pack_activation(x: NDArray[np.generic]) -> NDArray[np.generic]:
    """(1, C, H, W) -> (C/16, H, W, 16), zero-padded channels."""
    _, c, h, w = x.shape
    padded = np.zeros((blocks(c) * 16, h, w), x.dtype)
    padded[:c] = x[0]
    return np.ascontiguousarray(padded.reshape(blocks(c), 16, h, w).transpose(0, 2, 3, 1))


def unpack_activation(packed: NDArray[np.generic], channels: int) -> NDArray[np.generic]:
    """(C/16, H, W, 16) -> (1, C, H, W)."""
    cb, h, w, _ = packed.shape
    return packed.transpose(0, 3, 1, 2).reshape(1, cb * 16, h, w)[:, :channels]


def pack_weight(weight: NDArray[np.generic]) -> NDArray[np.generic]:
    """(O, I, KH, KW) -> (O/16, I/16, KH, KW, 16o, 16i), zero-padded channels."""
    o, i, kh, kw = weight.shape
    padded = np.zeros((blocks(o) * 16, blocks(i) * 16, kh, kw), weight.dtype)
    padded[:o, :i] = weight
    shaped = padded.reshape(blocks(o), 16, blocks(i), 16, kh, kw)
    return np.ascontiguousarray(shaped.transpose(0, 2, 4, 5, 1, 3))


def pack_vector(values: NDArray[np.generic]) -> NDArray[np.generic]:
    """(C,) -> (C/16, 16): a bias as ACC rows."""
    padded = np.zeros(blocks(values.size) * 16, values.dtype)
    padded[: values.size] = values
    return padded.reshape(-1, 16)


def accumulate(
    layer: ConvLayer, x: NDArray[np.generic], weight: NDArray[np.generic]
) -> NDArray[np.generic]:
    """The convolution's sums (1, O, OH, OW): exact int64 for i8, float64 for f32."""
    compute = np.int64 if layer.dtype == "i8" else np.float64
    top, left, bottom, right = layer.pads
    padded = np.pad(x[0].astype(compute), ((0, 0), (top, bottom), (left, right)))
    out = np.zeros((layer.cout, layer.oh, layer.ow), compute)
    s = layer.stride
    for dy in range(layer.kh):
        for dx in range(layer.kw):
            window = padded[
                :, dy : dy + s * (layer.oh - 1) + 1 : s, dx : dx + s * (layer.ow - 1) + 1 : s
            ]
            out += np.einsum("oc,chw->ohw", weight[:, :, dy, dx].astype(compute), window)
    return out[None]


def reference(
    layer: ConvLayer,
    x: NDArray[np.generic],
    weight: NDArray[np.generic],
    bias: NDArray[np.generic] | None = None,
    residual: NDArray[np.generic] | None = None,
) -> NDArray[Any]:
    """What the layer computes: float64 for f32; int8 (requantized) for i8."""
    acc: NDArray[Any] = accumulate(layer, x, weight)
    if bias is not None:
        acc = acc + bias.astype(acc.dtype)[None, :, None, None]
    if residual is not None and layer.dtype == "i8":
        acc = acc + rescale_residual(layer, residual)
    elif residual is not None:
        acc = acc + residual.astype(acc.dtype)
    if layer.dtype == "i8":
        return requantize(layer, acc)
    if layer.relu:
        acc = np.maximum(acc, 0)
    if layer.clip is not None:
        acc = np.clip(acc, *layer.clip)
    return acc


def requantize(layer: ConvLayer, acc: NDArray[np.generic]) -> NDArray[np.int8]:
    """STORE OUT's rule: clamp(rne(f32(wrap32(acc)) * scale) + zp, low, 127) as int8."""
    wrapped = acc.astype(np.int64).astype(np.int32)
    scaled = wrapped.astype(np.float32) * np.float32(layer.out_scale)
    low = layer.out_zero_point if layer.relu else -128
    rounded = np.rint(scaled.astype(np.float64)) + layer.out_zero_point
    return np.clip(rounded, max(low, -128), 127).astype(np.int8)


def residual_rescale(ratio: float) -> tuple[int, int]:
    """`(multiplier, shift)` with `multiplier / 2^shift` closest to `ratio` (the residual's scale
    over the accumulator's) and the multiplier an int16 immediate, the shift at most 31."""
    if not 0 < ratio < 32767.5:
        raise ValueError(f"a residual rescale of {ratio} does not fit a 16-bit multiplier")
    shift = 0
    while shift < 31 and round(ratio * 2 ** (shift + 1)) <= 32767:
        shift += 1
    return round(ratio * 2**shift), shift


def rescale_residual(layer: ConvLayer, residual: NDArray[np.generic]) -> NDArray[np.int64]:
    """The ALU's rescale of an int8 residual, in int32 arithmetic as the NPU does it."""
    wide = residual.astype(np.int64) * layer.residual_multiplier
    wide = wide.astype(np.int32).astype(np.int64)  # MUL wraps to int32
    shift = layer.residual_shift
    rounding = (1 << (shift - 1)) if shift > 0 else 0
    return ((wide + rounding) >> shift).astype(np.int32).astype(np.int64)
