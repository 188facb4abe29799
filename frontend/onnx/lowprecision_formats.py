"""Terrace's own semantics of ONNX's low-precision element types, in numpy, from the ONNX spec.

Nothing here asks onnx's reference or ml_dtypes how to convert: both changed their answers
between releases (ml_dtypes 0.7 turned out-of-range int4 casts into 0), and Terrace's results
must not change with whichever release pip picked. Values are held as bytes (`np.uint8`), one
element per byte, as the IR and the runtime hold them; numbers as float64, which holds every
float16, float32 and low-precision value exactly, so each conversion rounds once.

The rules (ONNX's Cast, opsets 19-25, and docs/technical/int4.md):

- Decoding a byte is exact. A float format with E exponent bits, M mantissa bits and bias B
  reads `(-1)**s * 2**(1 - B) * m / 2**M` for exponent field 0 and
  `(-1)**s * 2**(e - B) * (1 + m / 2**M)` otherwise, except its special codes: E4M3FN's
  S.1111.111 is NaN; E5M2's S.11111.00 is +-infinity and S.11111.xx NaN; the FNUZ formats'
  0x80 is their one NaN (they have no -0). FLOAT8E8M0 is `2**(e - 127)`, 0xFF NaN. Integers
  read the low 2 or 4 bits, two's complement for INT4/INT2. A decoded value converted to a
  wider integer type truncates toward zero and keeps the low bits; NaN and infinities give 0
  (the spec leaves them undefined).
- Encoding a number into a float format rounds to the nearest representable magnitude, ties to
  the even code (IEEE's round-to-nearest-even). A magnitude that rounds past the largest finite
  value, and an infinity, give that largest value when `saturate` is set (the default) or when
  the format has neither infinity nor NaN (FLOAT4E2M1); otherwise +-infinity for E5M2 and NaN
  for the others. Negative numbers that round to zero keep their sign where the format has -0.
  NaN encodes as the format's NaN with the input's sign (0x7F/0xFF for E4M3FN and E5M2, 0x80
  for the FNUZ formats) and as -0 / +0 for FLOAT4E2M1, which has no NaN (onnx's own choice).
  onnxruntime 1.32 agrees on every edge value tested except E5M2 without saturation, where it
  gives NaN instead of the spec's infinity from 64512 up.
- FLOAT8E8M0 (2**k for k in -127..127) rounds the magnitude (the sign is ignored: negative
  inputs are unspecified) to a power of two: `up` to the next one unless it is one, `down` to
  the one below, `nearest` up from 1.5 * 2**k (ties up). With `saturate`, results past 2**127
  and infinities give 2**127 and those below 2**-127, 0 included, give 2**-127; without it
  inputs outside [2**-127, 2**127], 0 and infinities give NaN (0xFF), as the spec's table
  says (onnx's reference differs there: it keeps infinity as NaN and reads float32 subnormals
  by their bits; onnxruntime follows the table).
- Encoding into INT4, UINT4, INT2, UINT2 rounds to the nearest integer, ties to even, and keeps
  the low bits (two's complement), as the spec's "rounding ... and truncating" and integer
  casts' "discard higher bits" say. NaN, infinities and magnitudes past 2**62 (whose low bits
  are zero in any float format) give 0. onnxruntime 1.32 rounds exact halves away from zero
  (2.5 -> 3); Terrace follows the spec (2.5 -> 2).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
from onnx import TensorProto

_SAFE_MAGNITUDE = 2.0**62
"""Below this a float converts to int64 exactly; above it, its low 4 bits are zero."""


@dataclass(frozen=True)
class FloatFormat:
    """A sign-exponent-mantissa format of at most 8 bits with its special codes."""

    exponent_bits: int
    mantissa_bits: int
    bias: int
    infinities: bool = False
    """IEEE-like: the all-ones exponent field holds infinity (mantissa 0) and NaNs."""
    all_ones_nan: bool = False
    """The all-ones code of each sign (S.1111.111) is NaN and nothing else is special."""
    unsigned_zero: bool = False
    """FNUZ: no -0; the code of -0 (0x80) is the one NaN."""

    @property
    def sign_bit(self) -> int:
        return 1 << (self.exponent_bits + self.mantissa_bits)

    @property
    def has_nan(self) -> bool:
        return self.infinities or self.all_ones_nan or self.unsigned_zero


FLOAT_FORMATS: dict[int, FloatFormat] = {
    TensorProto.FLOAT8E4M3FN: FloatFormat(4, 3, 7, all_ones_nan=True),
    TensorProto.FLOAT8E4M3FNUZ: FloatFormat(4, 3, 8, unsigned_zero=True),
    TensorProto.FLOAT8E5M2: FloatFormat(5, 2, 15, infinities=True),
    TensorProto.FLOAT8E5M2FNUZ: FloatFormat(5, 2, 16, unsigned_zero=True),
    TensorProto.FLOAT4E2M1: FloatFormat(2, 1, 1),
}
"""The float formats encoded by rounding; FLOAT8E8M0 has rules of its own."""

INTEGER_BITS: dict[int, tuple[int, bool]] = {
    TensorProto.INT4: (4, True),
    TensorProto.UINT4: (4, False),
    TensorProto.INT2: (2, True),
    TensorProto.UINT2: (2, False),
}
"""Bits and signedness of the narrow integer types."""


# -- decoding ---------------------------------------------------------------------------------


@cache
def decode_table(code: int) -> np.ndarray:
    """The value (float64) of each of the 256 bytes of the low-precision type `code`."""
    codes = np.arange(256, dtype=np.int64)
    if code in INTEGER_BITS:
        bits, signed = INTEGER_BITS[code]
        low = codes & ((1 << bits) - 1)
        if signed:
            low = np.where(low >= 1 << (bits - 1), low - (1 << bits), low)
        return low.astype(np.float64)
    if code == TensorProto.FLOAT8E8M0:
        values = np.ldexp(1.0, (codes - 127).astype(np.int32))
        return np.where(codes == 0xFF, np.nan, values)
    return _decode_float(FLOAT_FORMATS[code])


def _decode_float(fmt: FloatFormat) -> np.ndarray:
    width = fmt.exponent_bits + fmt.mantissa_bits + 1
    codes = np.arange(256, dtype=np.int64) & ((1 << width) - 1)
    exponent_mask = (1 << fmt.exponent_bits) - 1
    exponent = (codes >> fmt.mantissa_bits) & exponent_mask
    mantissa = codes & ((1 << fmt.mantissa_bits) - 1)
    fraction = mantissa / float(1 << fmt.mantissa_bits)
    magnitude = np.where(
        exponent == 0,
        np.ldexp(fraction, 1 - fmt.bias),
        np.ldexp(1.0 + fraction, (exponent - fmt.bias).astype(np.int32)),
    )
    negative = (codes & fmt.sign_bit) != 0
    values = np.where(negative, -magnitude, magnitude)
    if fmt.infinities:
        top = exponent == exponent_mask
        values = np.where(top & (mantissa == 0), np.where(negative, -np.inf, np.inf), values)
        values = np.where(top & (mantissa != 0), np.nan, values)
    if fmt.all_ones_nan:
        values = np.where((codes & (fmt.sign_bit - 1)) == fmt.sign_bit - 1, np.nan, values)
    if fmt.unsigned_zero:
        values = np.where(codes == fmt.sign_bit, np.nan, values)
    return values


def decode(data: np.ndarray, code: int) -> np.ndarray:
    """The values (float64) of the bytes `data` of the low-precision type `code`."""
    return decode_table(code)[np.asarray(data, np.uint8)]


# -- encoding ---------------------------------------------------------------------------------


@cache
def _grid(fmt: FloatFormat) -> tuple[np.ndarray, int]:
    """The finite non-negative magnitudes of `fmt` in code order (the codes 0, 1, 2, ... are
    ascending), followed by the first magnitude past the largest, which stands for overflow;
    and the largest finite code."""
    positives = _decode_float(fmt)[: fmt.sign_bit]
    largest = int(np.flatnonzero(np.isfinite(positives))[-1])
    step = positives[largest] - positives[largest - 1]
    grid = np.append(positives[: largest + 1], positives[largest] + step)
    return grid, largest


def encode_float(
    values: np.ndarray, code: int, saturate: bool = True, round_mode: str = "up"
) -> np.ndarray:
    """The bytes of the low-precision float type `code` that ONNX's Cast gives `values`."""
    if code == TensorProto.FLOAT8E8M0:
        return _encode_e8m0(values, saturate, round_mode)
    fmt = FLOAT_FORMATS[code]
    saturate = saturate or not fmt.has_nan
    numbers = np.asarray(values, np.float64)
    grid, largest = _grid(fmt)
    magnitude = np.abs(numbers)
    finite = np.isfinite(magnitude)
    safe = np.where(finite, magnitude, 0.0)
    below = np.clip(np.searchsorted(grid, safe, side="right") - 1, 0, len(grid) - 2)
    low, high = grid[below], grid[below + 1]
    nearer_high = (safe - low > high - safe) | ((safe - low == high - safe) & (below % 2 == 1))
    index = np.where(nearer_high, below + 1, below)
    index = np.where(safe > grid[-1], len(grid) - 1, index)
    overflow = (index > largest) | ~finite
    negative = np.signbit(numbers)
    if saturate:
        overflow_code = largest
    elif fmt.infinities:
        overflow_code = largest + 1  # S.11111.00
    else:
        overflow_code = fmt.sign_bit - 1 if fmt.all_ones_nan else fmt.sign_bit
    result = np.where(overflow, overflow_code, index).astype(np.int64)
    signed = negative & ((result != 0) | (not fmt.unsigned_zero))
    if fmt.unsigned_zero:
        signed &= result != fmt.sign_bit
    result = np.where(signed, result | fmt.sign_bit, result)
    result = np.where(np.isnan(numbers), _nan_code(fmt, negative), result)
    return result.astype(np.uint8)


def _nan_code(fmt: FloatFormat, negative: np.ndarray) -> np.ndarray:
    if fmt.unsigned_zero:
        return np.full(negative.shape, fmt.sign_bit)
    if not fmt.has_nan:  # FLOAT4E2M1: onnx gives -0 for NaN and +0 for -NaN
        return np.where(negative, 0, fmt.sign_bit)
    positive_nan = fmt.sign_bit - 1 if fmt.all_ones_nan else fmt.sign_bit - 2  # E5M2: S.11111.10
    return np.where(negative, positive_nan | fmt.sign_bit, positive_nan)


def _encode_e8m0(values: np.ndarray, saturate: bool, round_mode: str) -> np.ndarray:
    magnitude = np.abs(np.asarray(values, np.float64))
    finite = np.isfinite(magnitude) & (magnitude > 0)
    mantissa, exponent = np.frexp(np.where(finite, magnitude, 1.0))  # magnitude = m * 2**e
    code = exponent.astype(np.int64) - 1 + 127  # 2**(code - 127) <= magnitude
    fraction = 2 * mantissa  # in [1, 2)
    if round_mode == "up":
        code += fraction > 1
    elif round_mode == "nearest":
        code += fraction >= 1.5
    elif round_mode != "down":
        raise ValueError(f"round_mode must be 'up', 'down' or 'nearest', not '{round_mode}'")
    below = ~finite | (code < 0)
    above = np.isinf(magnitude) | (code > 0xFE)
    if saturate:
        code = np.where(above, 0xFE, np.where(below, 0, code))
    else:
        outside = (magnitude < 2.0**-127) | (magnitude > 2.0**127)
        code = np.where(above | below | outside, 0xFF, code)
    return np.where(np.isnan(magnitude), 0xFF, code).astype(np.uint8)


def encode_integer(values: np.ndarray, code: int) -> np.ndarray:
    """The bytes of the narrow integer type `code` that ONNX's Cast gives `values`: floats
    rounded to the nearest integer (ties to even), then the low bits kept."""
    bits, _ = INTEGER_BITS[code]
    array = np.asarray(values)
    if np.issubdtype(array.dtype, np.floating):
        numbers = array.astype(np.float64)
        numbers = np.where(np.abs(numbers) <= _SAFE_MAGNITUDE, numbers, 0.0)
        integers = np.rint(numbers).astype(np.int64)
    else:
        integers = array.astype(np.int64)
    return (integers & ((1 << bits) - 1)).astype(np.uint8)
