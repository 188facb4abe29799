"""Accurate f32 expansions of math functions LLVM has no intrinsic for (erf) or whose intrinsic
becomes a scalar libm call (tanh), as arith and math ops, so they vectorize.

Both evaluate in f64 and round once to f32: the approximation errors below (relative, in f64)
are far under half an f32 ulp (3e-8), so results are the correctly rounded value or its
neighbour. Coefficients: Chebyshev least-squares fits (numpy.polynomial) against math.erf and
math.erfc, converted to the power basis.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects import arith, math
from xdsl.dialects.builtin import (
    DenseIntOrFPElementsAttr,
    Float64Type,
    FloatAttr,
    VectorType,
    f64,
)
from xdsl.ir import Attribute, SSAValue
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
# erf rounds to 1 in f32 from 3.92 on
ERF_SATURATION = 4.0
# below this, tanh(x) = x - x^3/3 + 2x^5/15 to f64 precision; above, 1 - 2/(exp(2|x|) + 1)
TANH_SERIES_LIMIT = 1e-3


class _F64Builder:
    """Emits f64 (or vector of f64) arithmetic at the rewriter's insertion point."""

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
            attribute = FloatAttr(value, f64)
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
        return self.rewriter.insert(math.ExpOp(x)).result

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
