"""Accurate f32 expansions of math functions LLVM has no intrinsic for (erf) or whose intrinsic
becomes a scalar libm call (tanh, exp), as arith and math ops evaluated in f32, with no
comparison or select, so that loops vectorize 16 lanes wide and a fused epilogue
(passes/contraction_match.py) applies them to whole vectors.

Measured over every f32 input (`python -m terrace.benchmarks.math_accuracy`, against libm in
f64; docs/pipeline.md has the table): erf within 1.63 ulp on [0, 3.93] (2 floats from the
correctly rounded value at worst), tanh within 1.46 ulp on [0, 9.11] (1 float), exp within
0.98 ulp on [-104, 88.8] (1 float); negative erf and tanh inputs mirror the positive ones
exactly, and beyond those ranges the results are +-1, 0 or inf. Coefficients: weighted
least-squares fits (numpy) against math.erf, math.erfc and math.tanh, evaluated by Horner with
fma; exp's are Cephes'.

erf and tanh are piecewise (a polynomial near 0, a form built on exp beyond); both pieces are
computed and the one wanted is kept by multiplying with a 0/1 step built from max and min
(exact: x * 1 = x, x * 0 = 0), as arith.cmpf and arith.select have scalar results only in
xDSL. NaN propagates through max and min; +-inf saturate to +-1; -0 keeps its sign.
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
    FloatAttr,
    IntegerAttr,
    IntegerType,
    VectorType,
    f32,
    i32,
)
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.pattern_rewriter import PatternRewriter

# erf(a) = a + a * P(a^2) for a <= ERF_SPLIT (P = erf(a)/a - 1, relative error 4e-10)
ERF_SPLIT = 0.921875
ERF_SMALL = (
    0.12837923,
    -0.37612635,
    0.11283696,
    -0.026859405,
    0.0052010445,
    -0.0008142818,
    8.370509e-05,
)
# erfc(a) = exp(-Q(a)) for ERF_SPLIT <= a <= ERF_SATURATION (absolute error of Q 8e-9)
ERFC_LOG = (
    -0.00030722513,
    1.1301857,
    0.6318996,
    0.11001835,
    -0.026390295,
    0.0047502182,
    -0.0005951159,
    4.589411e-05,
    -1.6306766e-06,
)
# erf rounds to 1 in f32 from 3.92 on (erfc(3.925) = 1.5e-8, under half an ulp below 1)
ERF_SATURATION = 3.925
# tanh(a) = a + a * a^2 P(a^2) for a <= TANH_SPLIT (tanh = 1/2 there, relative error 1e-9);
# beyond, 1 - 2 / (exp(2a) + 1), where 2 / (exp(2a) + 1) <= 1/2 loses nothing to cancellation
TANH_SPLIT = 0.55
TANH_SMALL = (-0.33333316, 0.13332586, -0.053852312, 0.021071691, -0.0062742536)
# tanh rounds to 1 in f32 from 9.01 on
TANH_SATURATION = 9.1
# a step from 0 to 1 between a split point and the next float: (a - split) * 2^100 is >= 1
# for every f32 a above the split (the gap is at least 2^-24 there)
STEP_SCALE = 2.0**100
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


class _FloatBuilder:
    """Emits float arithmetic of one type (a scalar or a vector) at the rewriter's insertion
    point."""

    def __init__(self, rewriter: PatternRewriter, type_: Attribute, fused: bool):
        self.rewriter = rewriter
        self.type = type_
        self.fused = fused  # whether the target has a fused multiply-add

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

    def fma(self, lhs: SSAValue, rhs: SSAValue, addend: SSAValue) -> SSAValue:
        """lhs * rhs + addend, rounded once where the target fuses it; else multiply, then add
        (LLVM would call libm's fmaf per lane)."""
        if not self.fused:
            return self.add(self.mul(lhs, rhs), addend)
        return self.rewriter.insert(math.FmaOp(lhs, rhs, addend)).result

    def minimum(self, lhs: SSAValue, rhs: SSAValue) -> SSAValue:
        return self.rewriter.insert(arith.MinimumfOp(lhs, rhs)).result

    def maximum(self, lhs: SSAValue, rhs: SSAValue) -> SSAValue:
        return self.rewriter.insert(arith.MaximumfOp(lhs, rhs)).result

    def polynomial(self, x: SSAValue, coefficients: Sequence[float]) -> SSAValue:
        """Horner with fma: c0 + x * (c1 + x * (...))."""
        acc = self.constant(coefficients[-1])
        for coefficient in reversed(coefficients[:-1]):
            acc = self.fma(acc, x, self.constant(coefficient))
        return acc

    def abs(self, x: SSAValue) -> SSAValue:
        return self.rewriter.insert(math.AbsFOp(x)).result

    def copysign(self, magnitude: SSAValue, sign: SSAValue) -> SSAValue:
        return self.rewriter.insert(math.CopySignOp(magnitude, sign)).result

    def step(self, x: SSAValue, split: float) -> SSAValue:
        """0 where x <= split, 1 where x > split, NaN where x is NaN."""
        scaled = self.mul(self.sub(x, self.constant(split)), self.constant(STEP_SCALE))
        return self.minimum(self.maximum(scaled, self.constant(0.0)), self.constant(1.0))

    def piecewise(self, step: SSAValue, below: SSAValue, above: SSAValue) -> SSAValue:
        """`below` where step is 0, `above` where it is 1 (both finite): each product is exact
        and one of them is zero."""
        kept_above = self.mul(step, above)
        return self.fma(self.sub(self.constant(1.0), step), below, kept_above)


def _f32_operand(
    x: SSAValue, rewriter: PatternRewriter, fused: bool
) -> tuple[_FloatBuilder, SSAValue]:
    """A builder for x's f32 type (a vector of f32 stays one) and x in f32 (a narrower
    scalar is extended; _narrowed rounds the result back)."""
    type_ = x.type
    if isinstance(type_, VectorType):
        return _FloatBuilder(rewriter, type_, fused), x
    if isinstance(type_, Float32Type):
        return _FloatBuilder(rewriter, f32, fused), x
    return _FloatBuilder(rewriter, f32, fused), rewriter.insert(arith.ExtFOp(x, f32)).result


def _narrowed(value: SSAValue, type_: Attribute, rewriter: PatternRewriter) -> SSAValue:
    if value.type == type_:
        return value
    return rewriter.insert(arith.TruncFOp(value, type_)).result


def expand_erf(x: SSAValue, rewriter: PatternRewriter, fused: bool = True) -> SSAValue:
    """erf of f32 (or narrower) scalars or of vectors of f32, in f32 (`fused`: with fma)."""
    b, value = _f32_operand(x, rewriter, fused)
    magnitude = b.minimum(b.abs(value), b.constant(ERF_SATURATION))
    small = b.fma(magnitude, b.polynomial(b.mul(magnitude, magnitude), ERF_SMALL), magnitude)
    log_tail = b.polynomial(magnitude, ERFC_LOG)
    tail = expand_exp(b.sub(b.constant(0.0), log_tail), rewriter, fused)
    large = b.sub(b.constant(1.0), tail)
    result = b.piecewise(b.step(magnitude, ERF_SPLIT), small, large)
    return _narrowed(b.copysign(result, value), x.type, rewriter)


def expand_tanh(x: SSAValue, rewriter: PatternRewriter, fused: bool = True) -> SSAValue:
    """tanh of f32 (or narrower) scalars or of vectors of f32, in f32 (`fused`: with fma)."""
    b, value = _f32_operand(x, rewriter, fused)
    magnitude = b.minimum(b.abs(value), b.constant(TANH_SATURATION))
    square = b.mul(magnitude, magnitude)
    odd_terms = b.mul(square, b.polynomial(square, TANH_SMALL))
    small = b.fma(magnitude, odd_terms, magnitude)
    growth = expand_exp(b.add(magnitude, magnitude), rewriter, fused)
    large = b.sub(b.constant(1.0), b.div(b.constant(2.0), b.add(growth, b.constant(1.0))))
    result = b.piecewise(b.step(magnitude, TANH_SPLIT), small, large)
    return _narrowed(b.copysign(result, value), x.type, rewriter)


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


_F32_EXP = _ExpFormat(
    f32, i32, EXP_F32_LIMITS, EXP_F32_LN2, EXP_F32_MAGIC, EXP_F32_MAGIC_BITS, 127, 23
)


def _exp(
    x: SSAValue,
    rewriter: PatternRewriter,
    form: _ExpFormat,
    polynomial: Callable[[_FloatBuilder, SSAValue], SSAValue],
    fused: bool,
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
    b = _FloatBuilder(rewriter, float_type, fused)

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
    # n = round(x / ln2) in one step: adding the magic number rounds to an integer in the
    # mantissa (ties to even: r stays within ln2 / 2 either way)
    shifted = b.fma(clamped, b.constant(1 / math_module.log(2)), b.constant(form.magic))
    n = b.sub(shifted, b.constant(form.magic))
    hi, lo = form.ln2
    if b.fused:  # x - n hi is exact (hi has 9 bits); the fma rounds n lo only once
        reduced = b.fma(n, b.constant(-lo), b.fma(n, b.constant(-hi), clamped))
    else:
        reduced = b.sub(b.sub(clamped, b.mul(n, b.constant(hi))), b.mul(n, b.constant(lo)))
    power = polynomial(b, reduced)
    magic = insert(arith.BitcastOp(shifted, int_type))
    exponent = insert(arith.SubiOp(magic, integer(form.magic_bits)))
    half = insert(arith.ShRSIOp(exponent, integer(1)))
    for part in (half, insert(arith.SubiOp(exponent, half))):
        biased = insert(arith.AddiOp(part, integer(form.bias)))
        bits = insert(arith.ShLIOp(biased, integer(form.mantissa_bits)))
        power = b.mul(power, insert(arith.BitcastOp(bits, float_type)))
    # no select for NaN (arith.cmpf has scalar results only in xDSL): the clamps (llvm.maximum
    # and llvm.minimum) keep a NaN, and so does every product with it
    return power


def expand_exp(x: SSAValue, rewriter: PatternRewriter, fused: bool = True) -> SSAValue:
    """exp for scalar f32 (or narrower) values, or vectors of f32 (a fused epilogue's), evaluated
    in f32 so that loops vectorize 16 lanes wide: exp(r) = 1 + r + r^2 P(r) with Cephes'
    coefficients (within 1 ulp, tested; `fused`: the polynomial with fma)."""
    type_ = x.type
    is_f32 = isinstance(type_, Float32Type) or (
        isinstance(type_, VectorType) and isinstance(type_.get_element_type(), Float32Type)
    )
    wide = x if is_f32 else rewriter.insert(arith.ExtFOp(x, f32)).result

    def polynomial(b: _FloatBuilder, r: SSAValue) -> SSAValue:
        square = b.mul(r, r)
        return b.add(b.add(b.mul(square, b.polynomial(r, EXP_F32)), r), b.constant(1.0))

    return _narrowed(_exp(wide, rewriter, _F32_EXP, polynomial, fused), type_, rewriter)
