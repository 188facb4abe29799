"""Low-precision ONNX element types: storage bytes in the IR, and conversions to and from them.

onnx (and its numpy side, ml_dtypes) holds one element of each of these types per byte:

    FLOAT8E4M3FN     sign, 4 exponent bits (bias 7), 3 mantissa bits; no infinity, NaN is
                     S.1111.111; largest finite 448
    FLOAT8E4M3FNUZ   as E4M3FN but bias 8, no negative zero: 0x80 is the one NaN; largest 240
    FLOAT8E5M2       sign, 5 exponent bits (bias 15), 2 mantissa bits: IEEE-like, with
                     infinities and NaNs; largest finite 57344
    FLOAT8E5M2FNUZ   as E5M2 but bias 16, no infinity, no negative zero, 0x80 the one NaN
    FLOAT8E8M0       8 exponent bits, no sign, no mantissa: 2**(e - 127), 0xFF is NaN
    FLOAT4E2M1       sign, 2 exponent bits, 1 mantissa bit (0, 0.5, 1, 1.5, 2, 3, 4, 6), no
                     infinity nor NaN, in the low nibble of its byte
    INT4, UINT4      two's complement / unsigned 4 bits in the low nibble (-1 is 0x0F)
    INT2, UINT2      the same in 2 bits

Terrace has no arithmetic on them: in the IR such a tensor is a ui8 tensor of those bytes,
and the importer keeps each value's real type beside it (the runtime passes the arrays' bytes
as they are). Only conversions compute with them, each expanded into existing nn ops, with
Terrace's own semantics (lowprecision_formats.py: ONNX's rules written in numpy, never onnx's
reference or ml_dtypes, whose answers changed between releases):

- decoding (from a low-precision type to any type) is a lookup: the values of the 256 possible
  bytes, gathered by byte;
- encoding a float (float32, float16, float64; integers up to 32 bits go through float64) to a
  low-precision float rounds to a step function of the magnitude, one per sign: the steps'
  bounds are found at import by bisecting the source format's bit patterns against Terrace's
  numpy rule (so rounding, ties, saturation, overflow to inf or NaN and the e8m0 rounding modes
  are those of lowprecision_formats.py by construction), and at run time a binary search over
  those bounds (Gather and compare, log2 of the number of steps) picks the byte; NaN maps to
  the format's NaN byte;
- encoding to INT4, UINT4, INT2, UINT2 rounds to the nearest integer (ties to even) and keeps
  the low bits (NaN, infinities and magnitudes past 2**62, whose low bits are zero in any float
  format, give 0).

One known difference from the numpy rule: nn ops cannot see a NaN's sign, so every NaN
encodes as a positive NaN does (the same NaN byte for float8 up to its sign; FLOAT4E2M1, which
has no NaN, gets -0 for a negative NaN where the numpy rule gives +0).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np
from onnx import TensorProto, helper

from . import lowprecision_formats as formats
from .emitter import Emitter, NodeError

LOW_PRECISION_TYPES = (
    TensorProto.FLOAT8E4M3FN,
    TensorProto.FLOAT8E4M3FNUZ,
    TensorProto.FLOAT8E5M2,
    TensorProto.FLOAT8E5M2FNUZ,
    TensorProto.FLOAT8E8M0,
    TensorProto.FLOAT4E2M1,
    TensorProto.INT4,
    TensorProto.UINT4,
    TensorProto.INT2,
    TensorProto.UINT2,
)
"""The ONNX element types Terrace stores as bytes and converts."""

_INTEGER_BITS = {code: bits for code, (bits, _) in formats.INTEGER_BITS.items()}
_INTEGER_TYPES = set(_INTEGER_BITS)
_BIT_PATTERNS = {2: np.dtype(np.uint16), 4: np.dtype(np.uint32), 8: np.dtype(np.uint64)}
_SAFE_MAGNITUDE = 2.0**62
"""Below this a float converts to int64 exactly; above it, its low 4 bits are zero."""


def packed_count(code: int, elements: int) -> int:
    """How many bytes of raw_data (or values in int32_data) a TensorProto of `elements`
    elements of the low-precision type `code` holds: 4- and 2-bit types are packed."""
    bits = 4 if code == TensorProto.FLOAT4E2M1 else _INTEGER_BITS.get(code, 8)
    return -(-elements * bits // 8)


def onnx_type(dtype: np.dtype[np.generic]) -> int | None:
    """The ONNX code of a low-precision numpy (ml_dtypes) dtype, else None."""
    for code in LOW_PRECISION_TYPES:
        if helper.tensor_dtype_to_np_dtype(code) == dtype:
            return code
    return None


def type_name(dtype: np.dtype[np.generic]) -> str:
    """The ONNX name of a low-precision dtype (FLOAT8E4M3FN), as other errors spell types."""
    code = onnx_type(dtype)
    return str(dtype) if code is None else _name(code)


def is_low_precision(dtype: np.dtype[np.generic]) -> bool:
    return onnx_type(dtype) is not None


def storage_dtype(dtype: np.dtype[np.generic]) -> np.dtype[np.generic]:
    """The dtype an array of `dtype` is held as in the IR and at the runtime boundary."""
    return np.dtype(np.uint8) if is_low_precision(dtype) else dtype


def convert(
    emitter: Emitter,
    source: str,
    to: int,
    attributes: dict[str, object],
    output: str = "",
) -> str:
    """ONNX's Cast of `source` to the type `to` (one side low-precision), with Cast's
    `saturate` and `round_mode` attributes, as `output` (or a fresh name)."""
    source_dtype = emitter.dtype(source)
    known = emitter.value(source)
    if known is not None:
        result = cast(known, to, _settings(attributes))
        if not output:
            return emitter.constant(result)
        emitter.bind(output, result)
        return output
    if is_low_precision(source_dtype):
        output = decode(emitter, source, to, output)
    elif to in _INTEGER_TYPES:
        output = _encode_integer(emitter, source, to, output)
    else:
        output = encode_float(emitter, source, to, _settings(attributes), output)
    target = helper.tensor_dtype_to_np_dtype(to)
    if is_low_precision(target):
        emitter.set_storage_dtype(output, target)
    return output


def decode(emitter: Emitter, source: str, to: int, output: str = "") -> str:
    """Converts the bytes `source` holds to the type `to`: a lookup in the conversion of every
    byte (a byte, when `to` is low-precision too)."""
    every_byte = np.arange(256, dtype=np.uint8).view(emitter.dtype(source))
    table = cast(every_byte, to, (1, "up"))
    if is_low_precision(table.dtype):
        table = table.view(np.uint8)
    index = emitter.emit("Cast", [source], {"to": TensorProto.INT64})
    return emitter.emit("Gather", [emitter.constant(table), index], {"axis": 0}, output=output)


def encode_float(
    emitter: Emitter, source: str, to: int, settings: tuple[int, str], output: str = ""
) -> str:
    """The byte of the low-precision float `to` that ONNX's Cast gives each element of
    `source`, by binary search over the bounds of that Cast's steps (see the module doc)."""
    dtype = emitter.dtype(source)
    if not np.issubdtype(dtype, np.floating):
        if not np.issubdtype(dtype, np.integer) or dtype.itemsize > 4:
            raise NodeError(f"converting {dtype} to {_name(to)} is not supported")
        source = emitter.emit("Cast", [source], {"to": TensorProto.DOUBLE})
        dtype = np.dtype(np.float64)
    bounds, codes, nan_code = _steps(dtype, to, settings)
    half = bounds.shape[0] // 2
    zero, one = (emitter.constant(np.array(v, dtype)) for v in (0, 1))
    below_zero = emitter.emit("Less", [source, zero])
    reciprocal_below_zero = emitter.emit("Less", [emitter.emit("Div", [one, source]), zero])
    negative = emitter.emit("Or", [below_zero, reciprocal_below_zero])  # -0 included
    sign = emitter.emit("Cast", [negative], {"to": TensorProto.INT64})
    index = emitter.emit("Mul", [sign, emitter.constant(np.array(half, np.int64))])
    magnitude = emitter.emit("Abs", [source])
    table = emitter.constant(bounds)
    step = half // 2
    while step:
        candidate = emitter.emit("Add", [index, emitter.constant(np.array(step, np.int64))])
        bound = emitter.emit("Gather", [table, candidate], {"axis": 0})
        reached = emitter.emit("LessOrEqual", [bound, magnitude])
        index = emitter.emit("Where", [reached, candidate, index])
        step //= 2
    code = emitter.emit("Gather", [emitter.constant(codes), index], {"axis": 0})
    is_nan = emitter.emit("IsNaN", [source])
    nan = emitter.constant(np.array(nan_code, np.uint8))
    return emitter.emit("Where", [is_nan, nan, code], output=output)


def _encode_integer(emitter: Emitter, source: str, to: int, output: str) -> str:
    dtype = emitter.dtype(source)
    if np.issubdtype(dtype, np.floating):
        limit = min(_SAFE_MAGNITUDE, float(np.finfo(np.dtype(dtype.str)).max))
        bound = emitter.constant(np.array(limit, dtype))
        safe = emitter.emit("LessOrEqual", [emitter.emit("Abs", [source]), bound])
        zero = emitter.constant(np.array(0, dtype))
        source = emitter.emit("Round", [emitter.emit("Where", [safe, source, zero])])
    wide = emitter.emit("Cast", [source], {"to": TensorProto.INT64})
    mask = emitter.constant(np.array((1 << _INTEGER_BITS[to]) - 1, np.int64))
    low_bits = emitter.emit("BitwiseAnd", [wide, mask])
    return emitter.emit("Cast", [low_bits], {"to": TensorProto.UINT8}, output=output)


def encode_integer(emitter: Emitter, source: str, to: int, output: str) -> None:
    """The bytes of `source`'s integers (in range) as the narrow integer type `to`."""
    _encode_integer(emitter, source, to, output)
    emitter.set_storage_dtype(output, helper.tensor_dtype_to_np_dtype(to))


# -- Terrace's conversion and the steps it rounds to ------------------------------------------


def _settings(attributes: dict[str, object]) -> tuple[int, str]:
    saturate = attributes.get("saturate", 1)
    round_mode = attributes.get("round_mode", "up")
    assert isinstance(saturate, int) and isinstance(round_mode, str)
    if round_mode not in ("up", "down", "nearest"):
        raise NodeError(f"round_mode must be 'up', 'down' or 'nearest', not '{round_mode}'")
    return saturate, round_mode


def _name(to: int) -> str:
    return TensorProto.DataType.Name(to)


def cast(array: np.ndarray, to: int, settings: tuple[int, str]) -> np.ndarray:
    """ONNX's Cast of `array` to the type `to` (one side low-precision), by Terrace's rules
    (lowprecision_formats.py); a low-precision result has its numpy (ml_dtypes) dtype."""
    saturate, round_mode = settings
    source = onnx_type(array.dtype)
    target = helper.tensor_dtype_to_np_dtype(to)
    if source is not None:
        values = formats.decode(np.ascontiguousarray(array).view(np.uint8), source)
    elif array.dtype == np.bool_:
        values = array.astype(np.float64)
    else:
        values = array
    if to in formats.INTEGER_BITS:
        return formats.encode_integer(values, to).view(target)
    if to in LOW_PRECISION_TYPES:
        if not np.issubdtype(values.dtype, np.floating):
            values = values.astype(np.float64)
        return formats.encode_float(values, to, bool(saturate), round_mode).view(target)
    if np.issubdtype(target, np.integer):  # truncated, low bits kept: NaN, infinity and
        with np.errstate(invalid="ignore"):  # magnitudes past 2**63 (low bits 0) give 0
            exact = np.abs(values) < 2.0**63
        values = np.where(exact, np.trunc(np.where(exact, values, 0)), 0).astype(np.int64)
    with np.errstate(over="ignore"):  # past a float type's range: infinity, as ONNX says
        return values.astype(target)


@lru_cache(maxsize=64)
def _steps(
    dtype: np.dtype[np.generic], to: int, settings: tuple[int, str]
) -> tuple[np.ndarray, np.ndarray, int]:
    """Bounds and bytes of the Cast from the float `dtype` to `to`: for each sign, the
    magnitudes (as `dtype`) at which the byte changes, each half of the two tables padded
    to a power of two (NaN bounds are never reached); and NaN's byte."""

    def cast_patterns(patterns: np.ndarray) -> np.ndarray:
        return cast(patterns.view(dtype), to, settings).view(np.uint8)

    sides = [_side_steps(cast_patterns, dtype, negative) for negative in (False, True)]
    half = 1 << max(len(bounds) for bounds, _ in sides).bit_length()
    bounds = np.full(2 * half, np.nan, dtype)
    codes = np.zeros(2 * half, np.uint8)
    for side, (side_bounds, side_codes) in enumerate(sides):
        start = side * half
        bounds[start] = 0
        bounds[start + 1 : start + 1 + len(side_bounds)] = side_bounds
        codes[start : start + len(side_codes)] = side_codes
    nan_code = int(cast(np.full(1, np.nan, dtype), to, settings).view(np.uint8)[0])
    return bounds, codes, nan_code


def _side_steps(
    cast: Callable[[np.ndarray], np.ndarray], dtype: np.dtype[np.generic], negative: bool
) -> tuple[np.ndarray, np.ndarray]:
    """The bit patterns of one sign, from zero to infinity, are ordered by magnitude: bisect
    every interval whose two ends convert to different bytes down to adjacent patterns. (An
    interval whose ends agree is taken as one step: within each of the 4,096 starting
    intervals the conversions are monotonic.)"""
    bits = _BIT_PATTERNS[dtype.itemsize]
    sign = np.array(1 << (8 * dtype.itemsize - 1) if negative else 0, bits)
    infinity = np.array(np.inf, dtype).view(bits)
    # Start from 4,096 intervals rather than one: a conversion that is not monotonic (E8M0
    # without saturation is NaN below 2**-127 and above 2**127) agrees at both ends.
    starts = np.unique(np.linspace(0, int(infinity), 4097).astype(bits))
    low, high = starts[:-1].copy(), starts[1:].copy()
    changes: list[np.ndarray] = []
    while low.size:
        differ = cast(low | sign) != cast(high | sign)
        low, high = low[differ], high[differ]
        adjacent = high - low == 1
        changes.append(high[adjacent])
        low, high = low[~adjacent], high[~adjacent]
        middle = low + (high - low) // 2
        low, high = np.concatenate([low, middle]), np.concatenate([middle, high])
    patterns = np.sort(np.concatenate(changes))
    codes = cast(np.concatenate([np.zeros(1, bits), patterns]) | sign)
    return patterns.view(dtype), codes
