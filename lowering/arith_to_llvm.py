"""arith to the llvm dialect (as MLIR's ArithToLLVM)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from xdsl.context import Context
from xdsl.dialects import arith, llvm
from xdsl.dialects.arith import CMPF_COMPARISON_OPERATIONS, CMPI_COMPARISON_OPERATIONS
from xdsl.dialects.builtin import (
    AnyFloat,
    ArrayAttr,
    DenseIntOrFPElementsAttr,
    DictionaryAttr,
    FloatAttr,
    IndexType,
    IntegerAttr,
    IntegerType,
    ModuleOp,
    Signedness,
    VectorType,
)
from xdsl.ir import Attribute, Operation, ParametrizedAttribute, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    PatternRewriter,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.rewriter import Rewriter

from .llvm_common import convert_index_types, intrinsic_name, op_error
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


def _signless(attribute: Attribute) -> Attribute:
    """`attribute` with every nested `uiN` or `siN` replaced by `iN`: LLVM integers have no
    signedness (each arith op carries its own)."""
    if isinstance(attribute, IntegerType):
        if attribute.signedness.data == Signedness.SIGNLESS:
            return attribute
        return IntegerType(attribute.width.data)
    if isinstance(attribute, ArrayAttr):
        elements = cast(ArrayAttr[Attribute], attribute).data
        return ArrayAttr([_signless(element) for element in elements])
    if isinstance(attribute, DictionaryAttr):
        return DictionaryAttr({key: _signless(value) for key, value in attribute.data.items()})
    if not isinstance(attribute, ParametrizedAttribute):
        return attribute
    parameters = [_signless(parameter) for parameter in attribute.parameters]
    if parameters == list(attribute.parameters):
        return attribute
    return type(attribute).new(parameters)


def convert_to_signless(module: ModuleOp) -> None:
    """Rewrites signed and unsigned integer types to signless ones in place everywhere:
    results, block arguments, properties and attributes."""
    for op in list(module.walk()):
        for values in (op.results, *(block.args for r in op.regions for block in r.blocks)):
            for value in list(values):
                converted = _signless(value.type)
                if converted != value.type:
                    Rewriter.replace_value_with_new_type(value, converted)
        for table in (op.properties, op.attributes):
            for name, attribute in table.items():
                table[name] = _signless(attribute)


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
        rewriter.replace(op, self.llvm_op(lhs, rhs))


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
        patterns = arith_to_llvm_patterns(self.index_bitwidth)
        dispatch_walker(patterns).rewrite_module(op)
        convert_index_types(op, self.index_bitwidth)
