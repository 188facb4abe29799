"""arith to the llvm dialect (as MLIR's ArithToLLVM)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import ml_dtypes
import numpy as np
from xdsl.context import Context
from xdsl.dialects import arith, llvm
from xdsl.dialects.arith import CMPF_COMPARISON_OPERATIONS, CMPI_COMPARISON_OPERATIONS
from xdsl.dialects.builtin import (
    AnyFloat,
    ArrayAttr,
    BFloat16Type,
    DenseIntOrFPElementsAttr,
    DictionaryAttr,
    FloatAttr,
    IndexType,
    IntegerAttr,
    IntegerType,
    ModuleOp,
    Signedness,
    VectorType,
    f32,
    f64,
    i16,
    i32,
)
from xdsl.dialects.utils.fast_math import FastMathFlag
from xdsl.ir import Attribute, Operation, ParametrizedAttribute, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    PatternRewriter,
    RewritePattern,
    op_type_rewrite_pattern,
)

from .llvm_common import (
    TYPE_MEMOS,
    TypeMemo,
    convert_index_types,
    intrinsic_name,
    op_error,
    rewrite_types,
)
from .op_dispatch import OpClasses, dispatch_walker

# helpers


def _element_type(type_: Attribute) -> Attribute:
    return type_.get_element_type() if isinstance(type_, VectorType) else type_


def _int_width(type_: Attribute, index_bitwidth: int) -> int:
    element = _element_type(type_)
    if isinstance(element, IndexType):
        return index_bitwidth
    assert isinstance(element, IntegerType)
    return element.width.data


def _constant(value: int | float, type_: Attribute, rewriter: PatternRewriter) -> SSAValue:
    """A scalar or splat constant of `type_` (int or float element)."""
    element = _element_type(type_)
    scalar: Attribute
    if isinstance(element, AnyFloat):
        scalar = FloatAttr(float(value), element)
    else:
        assert isinstance(element, IntegerType | IndexType)
        scalar = IntegerAttr(int(value), element)
    if isinstance(type_, VectorType):
        splat = DenseIntOrFPElementsAttr.from_list(type_, [value] * type_.element_count())
        return rewriter.insert(llvm.ConstantOp(splat, type_)).result
    return rewriter.insert(llvm.ConstantOp(scalar, type_)).result


def _signless_integer(attribute: Attribute) -> Attribute | None:
    if isinstance(attribute, IntegerType) and attribute.signedness.data != Signedness.SIGNLESS:
        return IntegerType(attribute.width.data)
    return None


def _bfloat16_bits(attribute: Attribute) -> Attribute | None:
    return i16 if isinstance(attribute, BFloat16Type) else None


def _map_types(attribute: Attribute, convert: Callable[[Attribute], Attribute | None]) -> Attribute:
    """`attribute` with every nested type that `convert` maps (to not None) replaced."""
    converted = convert(attribute)
    if converted is not None:
        return converted
    if isinstance(attribute, ArrayAttr):
        elements = cast(ArrayAttr[Attribute], attribute).data
        return ArrayAttr([_map_types(element, convert) for element in elements])
    if isinstance(attribute, DictionaryAttr):
        return DictionaryAttr(
            {key: _map_types(value, convert) for key, value in attribute.data.items()}
        )
    if not isinstance(attribute, ParametrizedAttribute):
        return attribute
    parameters = [_map_types(parameter, convert) for parameter in attribute.parameters]
    if parameters == list(attribute.parameters):
        return attribute
    return type(attribute).new(parameters)


def _convert_types(module: ModuleOp, convert: Callable[[Attribute], Attribute | None]) -> None:
    """Rewrites the types `convert` maps in place everywhere: results, block arguments,
    properties and attributes."""
    memo = TYPE_MEMOS.setdefault(("map", convert), TypeMemo())
    rewrite_types(module, lambda attribute: _map_types(attribute, convert), memo)


def convert_to_signless(module: ModuleOp) -> None:
    """Rewrites signed and unsigned integer types to signless ones in place everywhere:
    LLVM integers have no signedness (each arith op carries its own)."""
    _convert_types(module, _signless_integer)


def bfloat16_as_bits(module: ModuleOp) -> None:
    """Rewrites bf16 to i16 everywhere (llvmlite, and so the translation to LLVM IR, has no
    bfloat type); the bitcasts between the two become no-ops and go. Run it once no op
    computes on bf16 (`BFLOAT16_PATTERNS`): loads, stores, selects and copies are the same on
    the bits."""
    _convert_types(module, _bfloat16_bits)
    for op in list(module.walk()):
        if isinstance(op, llvm.BitcastOp) and op.arg.type == op.result.type:
            op.result.replace_all_uses_with(op.arg)
            op.detach()
            op.erase()


def _icmp(predicate: str, lhs: SSAValue, rhs: SSAValue, rewriter: PatternRewriter) -> SSAValue:
    flag = llvm.ICmpPredicateFlag(predicate)
    attribute = IntegerAttr(flag.to_int(), 64)
    return rewriter.insert(llvm.ICmpOp(lhs, rhs, attribute)).res


# patterns


@dataclass
class LowerBinaryOp(RewritePattern):
    """One-to-one binary rewrites: `arith.addi` -> `llvm.add`, `arith.addf` -> `llvm.fadd`."""

    arith_op: type[Operation]
    llvm_op: Callable[[SSAValue, SSAValue], Operation]

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if not isinstance(op, self.arith_op):
            return
        lhs, rhs = op.operands
        new = self.llvm_op(lhs, rhs)
        # `reassoc` (set on the accumulation of a sum: reduction.py, pooling.py) lets LLVM
        # keep partial sums in vector lanes; the other fast-math flags never reach LLVM
        flags = op.properties.get("fastmath")
        reassoc = isinstance(flags, arith.FastMathFlagsAttr) and (
            FastMathFlag.REASSOC in flags.data
        )
        if isinstance(new, llvm.FAddOp) and reassoc:
            new.fastmathFlags = llvm.FastMathAttr([FastMathFlag.REASSOC])
        rewriter.replace(op, new)


@dataclass
class LowerIntrinsicBinaryOp(RewritePattern):
    """Binary ops LLVM has an overloaded intrinsic for: maximumf -> llvm.maximum (propagates NaN
    and orders -0 < +0, as numpy's maximum), maxnumf -> llvm.maxnum."""

    arith_op: type[Operation]
    intrinsic: str

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if not isinstance(op, self.arith_op):
            return
        result_type = op.results[0].type
        name = intrinsic_name(self.intrinsic, result_type)
        rewriter.replace(op, llvm.CallIntrinsicOp(name, op.operands, [result_type]))


@dataclass
class LowerIntegerMinMax(RewritePattern):
    """maxsi(a, b) -> select(a > b, a, b), and the same for minsi, maxui, minui."""

    arith_op: type[Operation]
    predicate: str

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if not isinstance(op, self.arith_op):
            return
        lhs, rhs = op.operands
        condition = _icmp(self.predicate, lhs, rhs, rewriter)
        rewriter.replace(op, llvm.SelectOp(condition, lhs, rhs))


class LowerFloorDivSI(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: arith.FloorDivSIOp, rewriter: PatternRewriter, /) -> None:
        # q - 1 when the remainder is non-zero and its sign differs from the divisor's
        quotient = rewriter.insert(llvm.SDivOp(op.lhs, op.rhs)).res
        remainder = rewriter.insert(llvm.SRemOp(op.lhs, op.rhs)).res
        zero = _constant(0, op.lhs.type, rewriter)
        one = _constant(1, op.lhs.type, rewriter)
        inexact = _icmp("ne", remainder, zero, rewriter)
        remainder_negative = _icmp("slt", remainder, zero, rewriter)
        divisor_negative = _icmp("slt", op.rhs, zero, rewriter)
        signs_differ = rewriter.insert(llvm.XOrOp(remainder_negative, divisor_negative)).res
        adjust = rewriter.insert(llvm.AndOp(inexact, signs_differ)).res
        lowered = rewriter.insert(llvm.SubOp(quotient, one)).res
        rewriter.replace(op, llvm.SelectOp(adjust, lowered, quotient))


@dataclass
class LowerCeilDiv(RewritePattern):
    """ceildivsi / ceildivui: q + 1 when the division is inexact and (signed) the remainder has
    the divisor's sign."""

    arith_op: type[arith.CeilDivSIOp] | type[arith.CeilDivUIOp]

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if not isinstance(op, self.arith_op):
            return
        lhs, rhs = op.operands
        signed = isinstance(op, arith.CeilDivSIOp)
        quotient = rewriter.insert(llvm.SDivOp(lhs, rhs) if signed else llvm.UDivOp(lhs, rhs))
        remainder = rewriter.insert(llvm.SRemOp(lhs, rhs) if signed else llvm.URemOp(lhs, rhs))
        zero = _constant(0, lhs.type, rewriter)
        one = _constant(1, lhs.type, rewriter)
        adjust = _icmp("ne", remainder.results[0], zero, rewriter)
        if signed:
            remainder_negative = _icmp("slt", remainder.results[0], zero, rewriter)
            divisor_negative = _icmp("slt", rhs, zero, rewriter)
            same_sign = _icmp("eq", remainder_negative, divisor_negative, rewriter)
            adjust = rewriter.insert(llvm.AndOp(adjust, same_sign)).res
        raised = rewriter.insert(llvm.AddOp(quotient.results[0], one)).res
        rewriter.replace(op, llvm.SelectOp(adjust, raised, quotient.results[0]))


class LowerConstant(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: arith.ConstantOp, rewriter: PatternRewriter, /) -> None:
        value = op.value
        if not isinstance(value, IntegerAttr | FloatAttr | DenseIntOrFPElementsAttr):
            raise op_error(op, f"constant {value} has no llvm.mlir.constant form")
        rewriter.replace(op, llvm.ConstantOp(value, op.result.type))


class LowerCmpi(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: arith.CmpiOp, rewriter: PatternRewriter, /) -> None:
        predicate = CMPI_COMPARISON_OPERATIONS[op.predicate.value.data]
        rewriter.replace(op, [], [_icmp(predicate, op.lhs, op.rhs, rewriter)])


class LowerCmpf(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: arith.CmpfOp, rewriter: PatternRewriter, /) -> None:
        predicate = CMPF_COMPARISON_OPERATIONS[op.predicate.value.data]
        if predicate in ("false", "true"):
            # the translation to LLVM IR has no constant predicates
            constant = _constant(int(predicate == "true"), op.result.type, rewriter)
            rewriter.replace(op, [], [constant])
            return
        rewriter.replace(op, llvm.FCmpOp(op.lhs, op.rhs, predicate))


class LowerSelect(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: arith.SelectOp, rewriter: PatternRewriter, /) -> None:
        rewriter.replace(op, llvm.SelectOp(op.cond, op.lhs, op.rhs))


class LowerNegf(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: arith.NegfOp, rewriter: PatternRewriter, /) -> None:
        rewriter.replace(op, llvm.FNegOp(op.operand))


@dataclass
class LowerIntegerCast(RewritePattern):
    """extsi, extui, trunci and index_cast: sext, zext or trunc by the widths, nothing when the
    widths agree (index_cast of i64 on a 64-bit target)."""

    arith_op: type[Operation]
    index_bitwidth: int
    signed: bool

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if not isinstance(op, self.arith_op):
            return
        source = op.operands[0]
        result_type = op.results[0].type
        source_width = _int_width(source.type, self.index_bitwidth)
        result_width = _int_width(result_type, self.index_bitwidth)
        if source_width == result_width:
            rewriter.replace(op, [], [source])
            return
        if source_width > result_width:
            rewriter.replace(op, llvm.TruncOp(source, result_type))
            return
        extend = llvm.SExtOp if self.signed else llvm.ZExtOp
        rewriter.replace(op, extend(source, result_type))


@dataclass
class LowerCastOp(RewritePattern):
    """One-to-one casts: extf -> fpext, truncf -> fptrunc, sitofp, bitcast."""

    arith_op: type[Operation]
    llvm_op: type[llvm.GenericCastOp]

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if not isinstance(op, self.arith_op):
            return
        rewriter.replace(op, self.llvm_op(op.operands[0], op.results[0].type))


@dataclass
class LowerFloatToInteger(RewritePattern):
    """fptosi / fptoui -> llvm.fpto[su]i.sat: out-of-range values (undefined in ONNX Cast)
    saturate instead of becoming poison."""

    arith_op: type[arith.FPToSIOp] | type[arith.FPToUIOp]
    intrinsic: str

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if not isinstance(op, self.arith_op):
            return
        source = op.operands[0]
        result_type = op.results[0].type
        name = intrinsic_name(self.intrinsic, result_type, source.type)
        rewriter.replace(op, llvm.CallIntrinsicOp(name, [source], [result_type]))


@dataclass
class LowerUIToFP(RewritePattern):
    """uitofp: zero-extend narrow integers and convert signed; 64-bit values with the top bit
    set are halved (keeping the low bit for rounding), converted and doubled."""

    index_bitwidth: int

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: arith.UIToFPOp, rewriter: PatternRewriter, /) -> None:
        source = op.input
        result_type = op.result.type
        width = _int_width(source.type, self.index_bitwidth)
        if width < 64:
            wide_type = IntegerType(64) if width >= 32 else IntegerType(32)
            if isinstance(source.type, VectorType):
                wide_type = VectorType(wide_type, source.type.get_shape())
            wide = rewriter.insert(llvm.ZExtOp(source, wide_type)).res
            rewriter.replace(op, llvm.SIToFPOp(wide, result_type))
            return
        zero = _constant(0, source.type, rewriter)
        one = _constant(1, source.type, rewriter)
        negative = _icmp("slt", source, zero, rewriter)
        halved = rewriter.insert(llvm.LShrOp(source, one)).res
        low_bit = rewriter.insert(llvm.AndOp(source, one)).res
        rounded = rewriter.insert(llvm.OrOp(halved, low_bit)).res
        half_value = rewriter.insert(llvm.SIToFPOp(rounded, result_type)).result
        doubled = rewriter.insert(llvm.FAddOp(half_value, half_value)).res
        direct = rewriter.insert(llvm.SIToFPOp(source, result_type)).result
        rewriter.replace(op, llvm.SelectOp(negative, doubled, direct))


class RejectExtendedArithmetic(RewritePattern):
    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if not isinstance(op, arith.AddUIExtendedOp | arith.MulExtendedBase):
            return
        raise op_error(op, "extended arithmetic has no lowering to the llvm dialect")


# bfloat16: LLVM IR through llvmlite has no bfloat type, so bf16 values live as their i16 bits.
# Extension and truncation are integer arithmetic on those bits, other float ops compute in
# f32 (exact for one op: f32 holds a bf16 sum or product rounded once to bf16 correctly).


def _is_bfloat16(type_: Attribute) -> bool:
    return isinstance(_element_type(type_), BFloat16Type)


def _check_scalar(op: Operation) -> None:
    if any(isinstance(v.type, VectorType) for v in (*op.operands, *op.results)):
        raise op_error(op, "vectors of bf16 have no lowering")


def _int(value: int, type_: IntegerType, rewriter: PatternRewriter) -> SSAValue:
    return rewriter.insert(arith.ConstantOp(IntegerAttr(value, type_))).result


def _bfloat16_to_f32(value: SSAValue, rewriter: PatternRewriter) -> SSAValue:
    """bf16 is the high half of an f32: its bits shifted up by 16."""
    bits = rewriter.insert(arith.BitcastOp(value, i16)).result
    wide = rewriter.insert(arith.ExtUIOp(bits, i32)).result
    shifted = rewriter.insert(arith.ShLIOp(wide, _int(16, i32, rewriter))).result
    return rewriter.insert(arith.BitcastOp(shifted, f32)).result


def _f32_to_bfloat16(value: SSAValue, rewriter: PatternRewriter) -> SSAValue:
    """Rounds to nearest, ties to even, on the bits: add 0x7fff plus the lowest kept bit, keep
    the high half (a carry rounds up into the exponent, up to infinity). NaN keeps its sign and
    high payload, made quiet."""
    bits = rewriter.insert(arith.BitcastOp(value, i32)).result
    sixteen = _int(16, i32, rewriter)
    high = rewriter.insert(arith.ShRUIOp(bits, sixteen)).result
    lowest_kept = rewriter.insert(arith.AndIOp(high, _int(1, i32, rewriter))).result
    bias = rewriter.insert(arith.AddiOp(lowest_kept, _int(0x7FFF, i32, rewriter))).result
    rounded = rewriter.insert(arith.AddiOp(bits, bias)).result
    rounded_high = rewriter.insert(arith.ShRUIOp(rounded, sixteen)).result
    quiet = rewriter.insert(arith.OrIOp(high, _int(0x40, i32, rewriter))).result
    is_nan = rewriter.insert(arith.CmpfOp(value, value, "uno")).result
    chosen = rewriter.insert(arith.SelectOp(is_nan, quiet, rounded_high)).result
    narrow = rewriter.insert(arith.TruncIOp(chosen, i16)).result
    return rewriter.insert(arith.BitcastOp(narrow, BFloat16Type())).result


def _to_float(value: SSAValue, type_: Attribute, rewriter: PatternRewriter) -> SSAValue:
    """An f32 `value` as the float `type_`: extended, truncated or as it is."""
    element = _element_type(type_)
    assert isinstance(element, AnyFloat)
    if element == f32:
        return value
    if element.bitwidth > 32:
        return rewriter.insert(arith.ExtFOp(value, type_)).result
    return rewriter.insert(arith.TruncFOp(value, type_)).result


class ExpandBFloat16Conversion(RewritePattern):
    """extf or truncf from or to bf16, through f32. From f64, rounding twice can differ from
    rounding once only for an f64 within 2**-29 ulp of a bf16 halfway point."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if not isinstance(op, arith.ExtFOp | arith.TruncFOp):
            return
        source, result_type = op.operands[0], op.results[0].type
        if _is_bfloat16(source.type) or _is_bfloat16(result_type):
            _check_scalar(op)
        if _is_bfloat16(source.type):
            wide = _bfloat16_to_f32(source, rewriter)
            rewriter.replace(op, [], [_to_float(wide, result_type, rewriter)])
            return
        if not _is_bfloat16(result_type):
            return
        if _element_type(source.type) != f32:
            # f64 truncates, f16 extends to f32
            cast = arith.TruncFOp if _element_type(source.type) == f64 else arith.ExtFOp
            source = rewriter.insert(cast(source, f32)).result
        rewriter.replace(op, [], [_f32_to_bfloat16(source, rewriter)])


class ExpandBFloat16Constant(RewritePattern):
    """A bf16 constant: its bits, reinterpreted."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: arith.ConstantOp, rewriter: PatternRewriter, /) -> None:
        if not _is_bfloat16(op.result.type):
            return
        _check_scalar(op)
        value = op.value
        if not isinstance(value, FloatAttr):
            raise op_error(op, f"bf16 constant {value}")
        bits = int(np.array(value.value.data, ml_dtypes.bfloat16).view(np.int16))  # i16 is signed
        constant = _int(bits, i16, rewriter)
        rewriter.replace(op, arith.BitcastOp(constant, op.result.type))


_BITS_ONLY = (arith.ExtFOp, arith.TruncFOp, arith.ConstantOp, arith.SelectOp, arith.BitcastOp)
"""The arith ops on bf16 that need no f32: expanded above, or the same on the bits."""


class PromoteBFloat16Op(RewritePattern):
    """Any other arith op on bf16 (addf, maximumf, cmpf, fptosi, sitofp, ...): the same op on
    f32, the operands extended and a bf16 result truncated."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if op.dialect_name() != "arith" or isinstance(op, _BITS_ONLY):
            return
        types = [v.type for v in (*op.operands, *op.results)]
        if not any(_is_bfloat16(t) for t in types):
            return
        _check_scalar(op)
        operands = [
            _bfloat16_to_f32(v, rewriter) if _is_bfloat16(v.type) else v for v in op.operands
        ]
        result_types = [f32 if _is_bfloat16(r.type) else r.type for r in op.results]
        promoted = rewriter.insert(
            type(op).create(
                operands=operands,
                result_types=result_types,
                properties=dict(op.properties),
                attributes=dict(op.attributes),
            )
        )
        results = [
            _f32_to_bfloat16(new, rewriter) if _is_bfloat16(old.type) else new
            for old, new in zip(op.results, promoted.results, strict=True)
        ]
        rewriter.replace(op, [], results)


def bfloat16_patterns() -> list[tuple[OpClasses, RewritePattern]]:
    """Run before the arith lowering: afterwards no arith op computes on bf16."""
    return [
        ((arith.ExtFOp, arith.TruncFOp), ExpandBFloat16Conversion()),
        (arith.ConstantOp, ExpandBFloat16Constant()),
        (Operation, PromoteBFloat16Op()),
    ]


# the pattern list, each pattern under the op classes it rewrites


def arith_to_llvm_patterns(index_bitwidth: int) -> list[tuple[OpClasses, RewritePattern]]:
    binary: list[tuple[type[Operation], Callable[[SSAValue, SSAValue], Operation]]] = [
        (arith.AddiOp, llvm.AddOp),
        (arith.SubiOp, llvm.SubOp),
        (arith.MuliOp, llvm.MulOp),
        (arith.DivSIOp, llvm.SDivOp),
        (arith.DivUIOp, llvm.UDivOp),
        (arith.RemSIOp, llvm.SRemOp),
        (arith.RemUIOp, llvm.URemOp),
        (arith.AndIOp, llvm.AndOp),
        (arith.OrIOp, llvm.OrOp),
        (arith.XOrIOp, llvm.XOrOp),
        (arith.ShLIOp, llvm.ShlOp),
        (arith.ShRUIOp, llvm.LShrOp),
        (arith.ShRSIOp, llvm.AShrOp),
        (arith.AddfOp, llvm.FAddOp),
        (arith.SubfOp, llvm.FSubOp),
        (arith.MulfOp, llvm.FMulOp),
        (arith.DivfOp, llvm.FDivOp),
    ]
    return [
        *((arith_op, LowerBinaryOp(arith_op, llvm_op)) for arith_op, llvm_op in binary),
        (arith.MaximumfOp, LowerIntrinsicBinaryOp(arith.MaximumfOp, "llvm.maximum")),
        (arith.MinimumfOp, LowerIntrinsicBinaryOp(arith.MinimumfOp, "llvm.minimum")),
        (arith.MaxnumfOp, LowerIntrinsicBinaryOp(arith.MaxnumfOp, "llvm.maxnum")),
        (arith.MinnumfOp, LowerIntrinsicBinaryOp(arith.MinnumfOp, "llvm.minnum")),
        (arith.MaxSIOp, LowerIntegerMinMax(arith.MaxSIOp, "sgt")),
        (arith.MinSIOp, LowerIntegerMinMax(arith.MinSIOp, "slt")),
        (arith.MaxUIOp, LowerIntegerMinMax(arith.MaxUIOp, "ugt")),
        (arith.MinUIOp, LowerIntegerMinMax(arith.MinUIOp, "ult")),
        (arith.FloorDivSIOp, LowerFloorDivSI()),
        (arith.CeilDivSIOp, LowerCeilDiv(arith.CeilDivSIOp)),
        (arith.CeilDivUIOp, LowerCeilDiv(arith.CeilDivUIOp)),
        (arith.ConstantOp, LowerConstant()),
        (arith.CmpiOp, LowerCmpi()),
        (arith.CmpfOp, LowerCmpf()),
        (arith.SelectOp, LowerSelect()),
        (arith.NegfOp, LowerNegf()),
        (arith.ExtSIOp, LowerIntegerCast(arith.ExtSIOp, index_bitwidth, signed=True)),
        (arith.ExtUIOp, LowerIntegerCast(arith.ExtUIOp, index_bitwidth, signed=False)),
        (arith.TruncIOp, LowerIntegerCast(arith.TruncIOp, index_bitwidth, signed=True)),
        (arith.IndexCastOp, LowerIntegerCast(arith.IndexCastOp, index_bitwidth, signed=True)),
        (arith.ExtFOp, LowerCastOp(arith.ExtFOp, llvm.FPExtOp)),
        (arith.TruncFOp, LowerCastOp(arith.TruncFOp, llvm.FPTruncOp)),
        (arith.SIToFPOp, LowerCastOp(arith.SIToFPOp, llvm.SIToFPOp)),
        (arith.BitcastOp, LowerCastOp(arith.BitcastOp, llvm.BitcastOp)),
        (arith.FPToSIOp, LowerFloatToInteger(arith.FPToSIOp, "llvm.fptosi.sat")),
        (arith.FPToUIOp, LowerFloatToInteger(arith.FPToUIOp, "llvm.fptoui.sat")),
        (arith.UIToFPOp, LowerUIToFP(index_bitwidth)),
        (
            (arith.AddUIExtendedOp, arith.MulExtendedBase),
            RejectExtendedArithmetic(),
        ),
    ]


# the pass


@dataclass(frozen=True)
class ConvertArithToLlvmPass(ModulePass):
    """Lower arith ops to the llvm dialect; `index` becomes a plain integer.

    Input: any IR with arith ops on scalars (or 1-d vectors). Run it after the memref and scf
    lowerings: it rewrites the `index` type to `i{index_bitwidth}` and signed or unsigned
    integers (`ui8`) to signless ones (`i8`) everywhere in the module (results, block
    arguments, function types), which ops still expecting `index` reject.
    Output: llvm dialect ops; maximumf/minimumf become `llvm.maximum`/`llvm.minimum` (NaN
    propagating), fptosi/fptoui the saturating intrinsics, no fast-math flags. arith ops
    without a lowering (addui_extended, mul[su]i_extended) are errors naming the op.
    Options: index_bitwidth (default 64).
    """

    name = "convert-arith-to-llvm"

    index_bitwidth: int = 64

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        convert_to_signless(op)
        dispatch_walker(bfloat16_patterns()).rewrite_module(op)
        patterns = arith_to_llvm_patterns(self.index_bitwidth)
        dispatch_walker(patterns).rewrite_module(op)
        convert_index_types(op, self.index_bitwidth)
        bfloat16_as_bits(op)
