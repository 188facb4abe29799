"""convert-nn-to-linalg patterns for conversions between element types: cast and bit_cast, and
the f16/bf16 <-> f32 conversions that the elementwise bodies compute through.

Each cast becomes one parallel `linalg.generic` whose body is arith's conversion ops, with
numpy's `astype` semantics (`cast_scalar`); elementwise.py's patterns widen float16 and
bfloat16 operands to f32 and narrow the result once at the end (`widen`, `narrow`), as the nn
reference does.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.builder import Builder
from xdsl.dialects import arith, math
from xdsl.dialects.builtin import (
    AnyFloat,
    BFloat16Type,
    Float16Type,
    IntegerType,
    f32,
    f64,
)
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern

from ...dialects.nn import elementwise
from ...dialects.nn.base import NnOperation
from .common import (
    element_kind,
    element_type,
    elementwise_generic,
    is_unsigned,
    scalar_constant,
    unsupported,
)

# ---------------------------------------------------------------------------------------------
# Helpers.


def _is_narrow_float(element: Attribute) -> bool:
    return isinstance(element, Float16Type | BFloat16Type)


def widen(b: Builder, value: SSAValue) -> SSAValue:
    """f16/bf16 to f32 (the compute type); anything else unchanged."""
    if not _is_narrow_float(value.type):
        return value
    return b.insert(arith.ExtFOp(value, f32)).result


def narrow(b: Builder, value: SSAValue, element: Attribute) -> SSAValue:
    """A computed f32 back to the result's f16/bf16; anything else unchanged."""
    if value.type == element or not _is_narrow_float(element):
        return value
    assert isinstance(element, AnyFloat)
    return b.insert(arith.TruncFOp(value, element)).result


def _bit_width(element: Attribute) -> int:
    assert isinstance(element, IntegerType | AnyFloat)
    return element.bitwidth


def cast_scalar(
    b: Builder, op: NnOperation, x: SSAValue, target: IntegerType | AnyFloat
) -> SSAValue:
    """x converted to `target` as numpy's astype: floats to ints truncate toward zero, anything
    to bool is `!= 0`, bools extend to 0 or 1."""
    source = x.type
    if source == target:
        return x
    if target == IntegerType(1):
        zero = scalar_constant(b, 0, source)
        if isinstance(source, AnyFloat):
            return b.insert(arith.CmpfOp(x, zero, "une")).result  # NaN is true, as numpy
        return b.insert(arith.CmpiOp(x, zero, "ne")).result
    if isinstance(source, AnyFloat) and isinstance(target, AnyFloat):
        if source.bitwidth < target.bitwidth:
            return b.insert(arith.ExtFOp(x, target)).result
        if source == f64 and target == Float16Type():
            x = _truncate_to_f32_rounding_to_odd(b, x)
        return b.insert(arith.TruncFOp(x, target)).result
    if isinstance(source, AnyFloat) and isinstance(target, IntegerType):
        convert = arith.FPToUIOp if is_unsigned(target) else arith.FPToSIOp
        return b.insert(convert(x, target)).result
    if isinstance(target, AnyFloat):
        convert = arith.UIToFPOp if element_kind(source) == "unsigned" else arith.SIToFPOp
        return b.insert(convert(x, target)).result
    return _cast_integer(b, x, target)


def _truncate_to_f32_rounding_to_odd(b: Builder, x: SSAValue) -> SSAValue:
    """An f64 as f32, rounded to odd. LLVM emits f64 -> f16 as a call to `__truncdfhf2`, which
    the JIT cannot resolve (libgcc has none): the cast goes through f32 instead, and rounding
    to odd first makes the two roundings one correctly rounded f64 -> f16 (f32 keeps more than
    the 11 + 2 bits that needs)."""
    nearest = b.insert(arith.TruncFOp(x, f32)).result  # round to nearest even
    back = b.insert(arith.ExtFOp(nearest, f64)).result
    inexact = b.insert(arith.CmpfOp(x, back, "one")).result
    overshot = b.insert(
        arith.CmpfOp(b.insert(math.AbsFOp(back)).result, b.insert(math.AbsFOp(x)).result, "ogt")
    ).result
    i32 = IntegerType(32)
    bits = b.insert(arith.BitcastOp(nearest, i32)).result
    one = scalar_constant(b, 1, i32)
    toward_zero = b.insert(
        arith.SelectOp(overshot, b.insert(arith.SubiOp(bits, one)).result, bits)
    ).result  # one ulp less in magnitude: the sign is a separate bit
    odd = b.insert(arith.OrIOp(toward_zero, one)).result
    rounded = b.insert(arith.SelectOp(inexact, odd, bits)).result
    return b.insert(arith.BitcastOp(rounded, f32)).result


def _cast_integer(b: Builder, x: SSAValue, target: IntegerType) -> SSAValue:
    source = x.type
    source_width, target_width = _bit_width(source), _bit_width(target)
    if source_width < target_width:
        extend = arith.ExtUIOp if element_kind(source) == "unsigned" else arith.ExtSIOp
        return b.insert(extend(x, target)).result
    if source_width > target_width:
        return b.insert(arith.TruncIOp(x, target)).result
    return b.insert(arith.BitcastOp(x, target)).result  # same width, other signedness


# ---------------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------------
# Patterns.


class LowerCast(RewritePattern):
    """cast(x) to a generic converting each element with arith's conversion ops."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if not isinstance(op, elementwise.CastOp):
            return
        target = element_type(op.Y)
        if not isinstance(target, IntegerType | AnyFloat):
            raise unsupported(op, f"cast to {target}")

        def body(b: Builder, args: Sequence[SSAValue]) -> Sequence[SSAValue]:
            return [cast_scalar(b, op, args[0], target)]

        result = elementwise_generic(rewriter, [op.X], target, body)
        rewriter.replace(op, [], [result])


class LowerBitCast(RewritePattern):
    """bit_cast(x): arith.bitcast between types of one width; a bool is a byte (0 or 1), and a
    byte as a bool is true when nonzero (as numpy reads a viewed byte)."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if not isinstance(op, elementwise.BitCastOp):
            return
        source, target = element_type(op.X), element_type(op.Y)
        boolean = IntegerType(1)

        def body(b: Builder, args: Sequence[SSAValue]) -> Sequence[SSAValue]:
            value = args[0]
            if source == target:
                return [value]
            if target == boolean:
                zero = scalar_constant(b, 0, value.type)
                return [b.insert(arith.CmpiOp(value, zero, "ne")).result]
            if source == boolean:
                value = b.insert(arith.ExtUIOp(value, IntegerType(8))).result
                if value.type == target:
                    return [value]
            return [b.insert(arith.BitcastOp(value, target)).result]

        result = elementwise_generic(rewriter, [op.X], target, body)
        rewriter.replace(op, [], [result])


# ---------------------------------------------------------------------------------------------
# The pattern list.

PATTERNS: list[RewritePattern] = [LowerCast(), LowerBitCast()]
