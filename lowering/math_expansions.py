"""Accurate f32 expansions of math functions LLVM has no intrinsic for (erf) or whose intrinsic
becomes a scalar libm call (tanh, exp), as arith and math ops, so they vectorize.

All evaluate in f64 and round once to f32: the approximation errors below (relative, in f64)
are far under half an f32 ulp (3e-8), so results are the correctly rounded value or its
neighbour. Coefficients: Chebyshev least-squares fits (numpy.polynomial) against math.erf and
math.erfc, converted to the power basis.
"""

from __future__ import annotations

import math as math_module
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import cast

from xdsl.dialects import arith, math
from xdsl.dialects.builtin import (
    AnyFloat,
    DenseIntOrFPElementsAttr,
    Float32Type,
    Float64Type,
    FloatAttr,
    IntegerAttr,
    IntegerType,
    VectorType,
    f32,
    f64,
    i32,
    i64,
)
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.pattern_rewriter import PatternRewriter

# erf(x) = x * P(x^2) for |x| < 1, relative error < 1e-12
ERF_SMALL = (
    1.128379167094697,
    -0.37612638889876393,
    0.11283791313585245,
    -0.02686613363003087,
    0.005223785019404382,
    -0.0008542670748366303,
    0.00011956948217131655,
    -1.3911705999912538e-05,
    1.0595280011810338e-06,
)
# erfc(a) * exp(a^2) = Q((a - 2.5) / 1.5) for 1 <= a <= 4, relative error < 1e-11
ERFC_SCALED = (
    0.21080636406132752,
    -0.11152102016597457,
    0.056110493415372026,
    -0.027005297556345183,
    0.012489374663000041,
    -0.00557069381273683,
    0.0024036397193090597,
    -0.0010059082067562701,
    0.0004091252883746321,
    -0.00016176029556354217,
    6.246460925578436e-05,
    -2.4072829941234717e-05,
    8.900901104146466e-06,
    -2.6693842590875446e-06,
    9.346389099232898e-07,
    -6.370126349150578e-07,
    2.1959358804726858e-07,
)
# exp(r) for |r| <= ln(2)/2: Taylor to r^11, truncation error < 7e-15 (relative)
EXP_TAYLOR = tuple(1 / math_module.factorial(k) for k in range(12))
# ln(2) split so that n * LN2_HI is exact for |n| < 2^11 (fdlibm's constants)
LN2_HI = 6.93147180369123816490e-01
LN2_LO = 1.90821492927058770002e-10
# exp overflows above 709.79 and underflows to 0 below -745.14: clamp just outside
EXP_LIMITS = (-746.0, 710.0)
EXP_F64_MAGIC = 6755399441055744.0  # 1.5 * 2^52
EXP_F64_MAGIC_BITS = 0x4338000000000000
# f32 exp: Cephes' expf coefficients of exp(r) = 1 + r + r^2 P(r), ln(2) = hi + lo with hi
# exact in 9 bits, and limits just outside overflow (88.72) and the last subnormal (-103.97)
EXP_F32 = (
    5.0000001201e-1,
    1.6666665459e-1,
    4.1665795894e-2,
    8.3334519073e-3,
    1.3981999507e-3,
    1.9875691500e-4,
)
EXP_F32_LN2 = (0.693359375, -2.12194440e-4)
EXP_F32_LIMITS = (-104.0, 88.8)
EXP_F32_MAGIC = 12582912.0  # 1.5 * 2^23
EXP_F32_MAGIC_BITS = 0x4B400000
# erf rounds to 1 in f32 from 3.92 on
ERF_SATURATION = 4.0
# below this, tanh(x) = x - x^3/3 + 2x^5/15 to f64 precision; above, 1 - 2/(exp(2|x|) + 1)
TANH_SERIES_LIMIT = 1e-3


class _F64Builder:
    """Emits f64 (or vector of f64; or, given the type, f32) arithmetic at the rewriter's
    insertion point."""

    def __init__(self, rewriter: PatternRewriter, type_: Attribute):
        self.rewriter = rewriter
        self.type = type_

    def constant(self, value: float) -> SSAValue:
        attribute: Attribute
        if isinstance(self.type, VectorType):
            attribute = DenseIntOrFPElementsAttr.from_list(
                self.type, [value] * self.type.element_count()
            )
        else:
            attribute = FloatAttr(value, cast(AnyFloat, self.type))
        return self.rewriter.insert(arith.ConstantOp(attribute, self.type)).result

    def add(self, lhs: SSAValue, rhs: SSAValue) -> SSAValue:
        return self.rewriter.insert(arith.AddfOp(lhs, rhs)).result

    def sub(self, lhs: SSAValue, rhs: SSAValue) -> SSAValue:
        return self.rewriter.insert(arith.SubfOp(lhs, rhs)).result

    def mul(self, lhs: SSAValue, rhs: SSAValue) -> SSAValue:
        return self.rewriter.insert(arith.MulfOp(lhs, rhs)).result

    def div(self, lhs: SSAValue, rhs: SSAValue) -> SSAValue:
        return self.rewriter.insert(arith.DivfOp(lhs, rhs)).result

    def polynomial(self, x: SSAValue, coefficients: Sequence[float]) -> SSAValue:
        """Horner: c0 + x * (c1 + x * (...))."""
        acc = self.constant(coefficients[-1])
        for coefficient in reversed(coefficients[:-1]):
            acc = self.add(self.mul(acc, x), self.constant(coefficient))
        return acc

    def less_than(self, lhs: SSAValue, rhs: SSAValue) -> SSAValue:
        return self.rewriter.insert(arith.CmpfOp(lhs, rhs, "olt")).result

    def select(self, condition: SSAValue, lhs: SSAValue, rhs: SSAValue) -> SSAValue:
        return self.rewriter.insert(arith.SelectOp(condition, lhs, rhs)).result

    def abs(self, x: SSAValue) -> SSAValue:
        return self.rewriter.insert(math.AbsFOp(x)).result

    def exp(self, x: SSAValue) -> SSAValue:
        return expand_exp_f64(x, self.rewriter)

    def copysign(self, magnitude: SSAValue, sign: SSAValue) -> SSAValue:
        return self.rewriter.insert(math.CopySignOp(magnitude, sign)).result


def _widened(x: SSAValue, rewriter: PatternRewriter) -> tuple[_F64Builder, SSAValue]:
    type_ = x.type
    wide_type: Attribute = f64
    if isinstance(type_, VectorType):
        wide_type = VectorType(f64, type_.get_shape())
    builder = _F64Builder(rewriter, wide_type)
    if isinstance(type_, Float64Type):
        return builder, x
    return builder, rewriter.insert(arith.ExtFOp(x, wide_type)).result


def _narrowed(value: SSAValue, type_: Attribute, rewriter: PatternRewriter) -> SSAValue:
    if value.type == type_:
        return value
    return rewriter.insert(arith.TruncFOp(value, type_)).result


def expand_erf(x: SSAValue, rewriter: PatternRewriter) -> SSAValue:
    """erf for f32 (or narrower) values; NaN propagates, erf(+-inf) = +-1, erf(-0) = -0."""
    b, wide = _widened(x, rewriter)
    magnitude = b.abs(wide)
    small = b.mul(wide, b.polynomial(b.mul(wide, wide), ERF_SMALL))
    clamped = rewriter.insert(arith.MinimumfOp(magnitude, b.constant(ERF_SATURATION))).result
    scaled = b.mul(b.sub(clamped, b.constant(2.5)), b.constant(1 / 1.5))
    gaussian = b.exp(b.sub(b.constant(0.0), b.mul(clamped, clamped)))
    tail = b.mul(gaussian, b.polynomial(scaled, ERFC_SCALED))
    large = b.copysign(b.sub(b.constant(1.0), tail), wide)
    result = b.select(b.less_than(magnitude, b.constant(1.0)), small, large)
    return _narrowed(result, x.type, rewriter)


def expand_tanh(x: SSAValue, rewriter: PatternRewriter) -> SSAValue:
    """tanh for f32 (or narrower) values, saturating to +-1 without overflow."""
    b, wide = _widened(x, rewriter)
    magnitude = b.abs(wide)
    square = b.mul(wide, wide)
    series = b.mul(wide, b.polynomial(square, (1.0, -1 / 3, 2 / 15)))
    # exp overflows to inf for large |x|: 2 / inf = 0 gives exactly 1
    growth = b.exp(b.add(magnitude, magnitude))
    two = b.constant(2.0)
    ratio = b.sub(b.constant(1.0), b.div(two, b.add(growth, b.constant(1.0))))
    large = b.copysign(ratio, wide)
    result = b.select(b.less_than(magnitude, b.constant(TANH_SERIES_LIMIT)), series, large)
    return _narrowed(result, x.type, rewriter)


@dataclass(frozen=True)
class _ExpFormat:
    """What exp's expansion needs to know of a float format."""

    float_type: AnyFloat
    int_type: IntegerType
    limits: tuple[float, float]
    ln2: tuple[float, float]  # hi (exact in a few bits) + lo
    magic: float  # 1.5 * 2^mantissa_bits: n + magic holds n in its low mantissa bits
    magic_bits: int
    bias: int
    mantissa_bits: int


_F64_EXP = _ExpFormat(
    f64, i64, EXP_LIMITS, (LN2_HI, LN2_LO), EXP_F64_MAGIC, EXP_F64_MAGIC_BITS, 1023, 52
)
_F32_EXP = _ExpFormat(
    f32, i32, EXP_F32_LIMITS, EXP_F32_LN2, EXP_F32_MAGIC, EXP_F32_MAGIC_BITS, 127, 23
)


def _exp(
    x: SSAValue,
    rewriter: PatternRewriter,
    form: _ExpFormat,
    polynomial: Callable[[_F64Builder, SSAValue], SSAValue],
) -> SSAValue:
    """exp(x) = 2^n exp(r), x = n ln2 + r (Cody-Waite), exp(r) by `polynomial`, 2^n built in
    the exponent bits in two halves (results near overflow and in the subnormal range scale
    exactly); n becomes an integer through the mantissa of n + 1.5 * 2^mantissa_bits, as
    fptosi lowers to the saturating conversion, which LLVM scalarizes. NaN propagates, +-inf
    give inf and 0."""
    float_type: Attribute = form.float_type
    int_type: Attribute = form.int_type
    if isinstance(x.type, VectorType):  # lane by lane, the same operations
        float_type = VectorType(form.float_type, x.type.get_shape())
        int_type = VectorType(form.int_type, x.type.get_shape())
    b = _F64Builder(rewriter, float_type)

    def insert(op: Operation) -> SSAValue:
        return rewriter.insert(op).results[0]

    def integer(value: int) -> SSAValue:
        if isinstance(int_type, VectorType):
            splat = DenseIntOrFPElementsAttr.from_list(int_type, [value] * int_type.element_count())
            return insert(arith.ConstantOp(splat, int_type))
        return insert(arith.ConstantOp(IntegerAttr(value, form.int_type)))

    low, high = form.limits
    clamped = insert(arith.MaximumfOp(x, b.constant(low)))
    clamped = insert(arith.MinimumfOp(clamped, b.constant(high)))
    scaled = b.add(b.mul(clamped, b.constant(1 / math_module.log(2))), b.constant(0.5))
    n = insert(math.FloorOp(scaled))
    hi, lo = form.ln2
    reduced = b.sub(b.sub(clamped, b.mul(n, b.constant(hi))), b.mul(n, b.constant(lo)))
    power = polynomial(b, reduced)
    magic = insert(arith.BitcastOp(b.add(n, b.constant(form.magic)), int_type))
    exponent = insert(arith.SubiOp(magic, integer(form.magic_bits)))
    half = insert(arith.ShRSIOp(exponent, integer(1)))
    for part in (half, insert(arith.SubiOp(exponent, half))):
        biased = insert(arith.AddiOp(part, integer(form.bias)))
        bits = insert(arith.ShLIOp(biased, integer(form.mantissa_bits)))
        power = b.mul(power, insert(arith.BitcastOp(bits, float_type)))
    if isinstance(x.type, VectorType):
        # arith.cmpf has scalar results only in xDSL; a NaN already propagates: the clamps
        # (llvm.maximum / minimum) keep it, and so does every product with it
        return power
    return b.select(insert(arith.CmpfOp(x, x, "uno")), x, power)


def expand_exp_f64(x: SSAValue, rewriter: PatternRewriter) -> SSAValue:
    """exp of a scalar f64 to about 1e-14 (relative), exp(r) by its Taylor polynomial. For
    the f32 functions only (f64 exp stays on libm's correctly rounded one)."""
    return _exp(x, rewriter, _F64_EXP, lambda b, r: b.polynomial(r, EXP_TAYLOR))


def expand_exp(x: SSAValue, rewriter: PatternRewriter) -> SSAValue:
    """exp for scalar f32 (or narrower) values, or vectors of f32 (a fused epilogue's), evaluated
    in f32 so that loops vectorize 16 lanes wide: exp(r) = 1 + r + r^2 P(r) with Cephes'
    coefficients (within 1 ulp, tested)."""
    type_ = x.type
    is_f32 = isinstance(type_, Float32Type) or (
        isinstance(type_, VectorType) and isinstance(type_.get_element_type(), Float32Type)
    )
    wide = x if is_f32 else rewriter.insert(arith.ExtFOp(x, f32)).result

    def polynomial(b: _F64Builder, r: SSAValue) -> SSAValue:
        square = b.mul(r, r)
        return b.add(b.add(b.mul(square, b.polynomial(r, EXP_F32)), r), b.constant(1.0))

    return _narrowed(_exp(wide, rewriter, _F32_EXP, polynomial), type_, rewriter)
