"""math to the llvm dialect: LLVM intrinsics where LLVM has them, accurate f32 expansions for
erf and tanh, integer power as arith ops, libm calls for the rest."""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import arith, llvm, math
from xdsl.dialects.builtin import (
    DenseIntOrFPElementsAttr,
    Float32Type,
    Float64Type,
    FloatAttr,
    IntegerAttr,
    IntegerType,
    ModuleOp,
    VectorType,
    i1,
)
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    PatternRewriter,
    RewritePattern,
    op_type_rewrite_pattern,
)

from .llvm_common import declare_external_function, intrinsic_name, op_error
from .math_expansions import expand_erf, expand_exp, expand_tanh
from .op_dispatch import OpClasses, dispatch_walker

# helpers


def _element_type(type_: Attribute) -> Attribute:
    return type_.get_element_type() if isinstance(type_, VectorType) else type_


def _is_f32_or_narrower(type_: Attribute) -> bool:
    element = _element_type(type_)
    return not isinstance(element, Float64Type) and element.name in ("f16", "bf16", "f32")


def _call_intrinsic(
    base: str, operands: list[SSAValue], result_type: Attribute, rewriter: PatternRewriter
) -> llvm.CallIntrinsicOp:
    name = intrinsic_name(base, result_type)
    return llvm.CallIntrinsicOp(name, operands, [result_type])


def _one(type_: Attribute) -> Attribute:
    if isinstance(type_, VectorType):
        return DenseIntOrFPElementsAttr.from_list(type_, [1.0] * type_.element_count())
    assert isinstance(type_, Float32Type | Float64Type)
    return FloatAttr(1.0, type_)


# patterns


@dataclass
class LowerToIntrinsic(RewritePattern):
    """math.exp -> llvm.exp.f32 and every op with an overloaded LLVM intrinsic of the same
    operands."""

    math_op: type[Operation]
    intrinsic: str

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if not isinstance(op, self.math_op):
            return
        result_type = op.results[0].type
        rewriter.replace(
            op, _call_intrinsic(self.intrinsic, list(op.operands), result_type, rewriter)
        )


@dataclass
class LowerToBitIntrinsic(RewritePattern):
    """ctlz, cttz, absi: the intrinsic takes a trailing `i1 false` (zero / INT_MIN defined)."""

    math_op: type[Operation]
    intrinsic: str

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if not isinstance(op, self.math_op):
            return
        result_type = op.results[0].type
        poison_flag = rewriter.insert(llvm.ConstantOp(IntegerAttr(0, i1), i1)).result
        operands = [op.operands[0], poison_flag]
        rewriter.replace(op, _call_intrinsic(self.intrinsic, operands, result_type, rewriter))


class LowerFPowI(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: math.FPowIOp, rewriter: PatternRewriter, /) -> None:
        lhs, rhs = op.operands
        name = intrinsic_name("llvm.powi", lhs.type, rhs.type)
        rewriter.replace(op, llvm.CallIntrinsicOp(name, [lhs, rhs], [lhs.type]))


class ExpandIPowI(RewritePattern):
    """ipowi(b, e) on scalars: square and multiply over e's bits, unrolled and branch-free in
    arith ops (convert-arith-to-llvm runs next); for e < 0, 1 / b^-e in integers: 1 for
    b = 1, -1 or 1 for b = -1 (e odd or even), else 0 (also for b = 0, which has no value)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: math.IPowIOp, rewriter: PatternRewriter, /) -> None:
        base, exponent = op.lhs, op.rhs
        integer = base.type
        if not isinstance(integer, IntegerType):
            raise op_error(op, f"ipowi of {integer} has no lowering")

        def constant(value: int) -> SSAValue:
            attr = IntegerAttr(value, integer, truncate_bits=True)
            return rewriter.insert(arith.ConstantOp(attr)).result

        def insert(new: Operation) -> SSAValue:
            return rewriter.insert(new).results[0]

        zero, one = constant(0), constant(1)
        result, power = one, base
        for bit in range(integer.width.data - 1):  # the sign bit is the negative case
            shifted = insert(arith.ShRUIOp(exponent, constant(bit)))
            bit_set = insert(arith.CmpiOp(insert(arith.AndIOp(shifted, one)), zero, "ne"))
            result = insert(arith.SelectOp(bit_set, insert(arith.MuliOp(result, power)), result))
            power = insert(arith.MuliOp(power, power))
        odd = insert(arith.CmpiOp(insert(arith.AndIOp(exponent, one)), zero, "ne"))
        minus_one = constant(-1)
        alternating = insert(arith.SelectOp(odd, minus_one, one))
        is_minus_one = insert(arith.CmpiOp(base, minus_one, "eq"))
        is_one = insert(arith.CmpiOp(base, one, "eq"))
        reciprocal = insert(arith.SelectOp(is_minus_one, alternating, zero))
        reciprocal = insert(arith.SelectOp(is_one, one, reciprocal))
        negative = insert(arith.CmpiOp(exponent, zero, "slt"))
        rewriter.replace(op, arith.SelectOp(negative, reciprocal, result))


class LowerRsqrt(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: math.RsqrtOp, rewriter: PatternRewriter, /) -> None:
        # rsqrt(x) -> 1 / sqrt(x), correctly rounded twice rather than approximated
        type_ = op.result.type
        root = rewriter.insert(_call_intrinsic("llvm.sqrt", [op.operand], type_, rewriter))
        one = rewriter.insert(llvm.ConstantOp(_one(type_), type_)).result
        rewriter.replace(op, llvm.FDivOp(one, root.results[0]))


def _expands_in_f32(type_: Attribute) -> bool:
    """A scalar of f32 or narrower, or a vector of f32 (a fused epilogue's)."""
    if isinstance(type_, VectorType):
        return isinstance(type_.get_element_type(), Float32Type)
    return _is_f32_or_narrower(type_)


@dataclass
class ExpandErf(RewritePattern):
    """f32 erf as arith in f32 (lowering/math_expansions.py), scalars and vectors alike:
    vectorizable, where libm's erff is a scalar call per element."""

    fused: bool  # the target has a fused multiply-add

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: math.ErfOp, rewriter: PatternRewriter, /) -> None:
        if not _expands_in_f32(op.result.type):
            return
        rewriter.replace(op, [], [expand_erf(op.operand, rewriter, self.fused)])


@dataclass
class ExpandExp(RewritePattern):
    """f32 exp as arith (vectorizable) instead of a scalar libm call per element; of a vector
    of f32 (a fused epilogue's sigmoid) lane by lane, instead of LLVM's scalarized expf."""

    fused: bool

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: math.ExpOp, rewriter: PatternRewriter, /) -> None:
        if not _expands_in_f32(op.result.type):
            return
        rewriter.replace(op, [], [expand_exp(op.operand, rewriter, self.fused)])


@dataclass
class ExpandTanh(RewritePattern):
    """f32 tanh as arith in f32, scalars and vectors alike (llvm.tanh of f32 becomes a scalar
    libm call per element)."""

    fused: bool

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: math.TanhOp, rewriter: PatternRewriter, /) -> None:
        if not _expands_in_f32(op.result.type):
            return
        rewriter.replace(op, [], [expand_tanh(op.operand, rewriter, self.fused)])


@dataclass
class LowerToLibmCall(RewritePattern):
    """Functions without an LLVM intrinsic (f64 erf, expm1, log1p, cbrt, ...) call libm:
    `erf` for f64, `erff` for f32."""

    module: ModuleOp
    math_op: type[Operation]
    function: str

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if not isinstance(op, self.math_op):
            return
        type_ = op.results[0].type
        if not isinstance(type_, Float32Type | Float64Type):
            raise op_error(op, f"libm has no {self.function} for {type_}")
        name = self.function + ("f" if isinstance(type_, Float32Type) else "")
        declare_external_function(self.module, name, [type_] * len(op.operands), type_)
        call = llvm.CallOp(name, *op.operands, return_type=type_)
        rewriter.replace(op, call, [call.returned] if call.returned else [])


class RejectRemainingMathOp(RewritePattern):
    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if op.dialect_name() != "math":
            return
        raise op_error(op, "no lowering to the llvm dialect")


# the pattern list, each pattern under the op classes it rewrites

INTRINSICS: list[tuple[type[Operation], str]] = [
    (math.AbsFOp, "llvm.fabs"),
    (math.CeilOp, "llvm.ceil"),
    (math.FloorOp, "llvm.floor"),
    (math.TruncOp, "llvm.trunc"),
    (math.RoundOp, "llvm.round"),
    (math.RoundEvenOp, "llvm.roundeven"),
    (math.SqrtOp, "llvm.sqrt"),
    (math.ExpOp, "llvm.exp"),
    (math.Exp2Op, "llvm.exp2"),
    (math.LogOp, "llvm.log"),
    (math.Log2Op, "llvm.log2"),
    (math.Log10Op, "llvm.log10"),
    (math.PowFOp, "llvm.pow"),
    (math.CopySignOp, "llvm.copysign"),
    (math.FmaOp, "llvm.fma"),
    (math.SinOp, "llvm.sin"),
    (math.CosOp, "llvm.cos"),
    (math.TanOp, "llvm.tan"),
    (math.AsinOp, "llvm.asin"),
    (math.AcosOp, "llvm.acos"),
    (math.AtanOp, "llvm.atan"),
    (math.Atan2Op, "llvm.atan2"),
    (math.SinhOp, "llvm.sinh"),
    (math.CoshOp, "llvm.cosh"),
    (math.TanhOp, "llvm.tanh"),
    (math.CtPopOp, "llvm.ctpop"),
]

LIBM_FUNCTIONS: list[tuple[type[Operation], str]] = [
    (math.ErfOp, "erf"),
    (math.ExpM1Op, "expm1"),
    (math.Log1pOp, "log1p"),
    (math.CbrtOp, "cbrt"),
    (math.AsinhOp, "asinh"),
    (math.AcoshOp, "acosh"),
    (math.AtanhOp, "atanh"),
]


def math_to_llvm_patterns(
    module: ModuleOp, fma: bool = True
) -> list[tuple[OpClasses, RewritePattern]]:
    return [
        (math.ErfOp, ExpandErf(fma)),
        (math.TanhOp, ExpandTanh(fma)),
        (math.ExpOp, ExpandExp(fma)),
        *((math_op, LowerToIntrinsic(math_op, intrinsic)) for math_op, intrinsic in INTRINSICS),
        (math.CountLeadingZerosOp, LowerToBitIntrinsic(math.CountLeadingZerosOp, "llvm.ctlz")),
        (math.CountTrailingZerosOp, LowerToBitIntrinsic(math.CountTrailingZerosOp, "llvm.cttz")),
        (math.AbsIOp, LowerToBitIntrinsic(math.AbsIOp, "llvm.abs")),
        (math.FPowIOp, LowerFPowI()),
        (math.IPowIOp, ExpandIPowI()),
        (math.RsqrtOp, LowerRsqrt()),
        *(
            (math_op, LowerToLibmCall(module, math_op, function))
            for math_op, function in LIBM_FUNCTIONS
        ),
        (Operation, RejectRemainingMathOp()),
    ]


# the pass


@dataclass(frozen=True)
class ConvertMathToLlvmPass(ModulePass):
    """Lower math ops to LLVM intrinsics, accurate expansions and libm calls.

    Input: math ops on scalars or 1-d vectors. Output: `llvm.call_intrinsic` of the overloaded
    intrinsic (exp, log, sqrt, fabs, floor, ceil, pow, copysign, fma, sin, tanh for f64, ...);
    erf, tanh and exp of f32 (scalars and vectors of f32) expand to arith and math ops
    evaluated in f32 (vectorizable, max errors in lowering/math_expansions.py; run
    convert-arith-to-llvm afterwards); erf of f64, expm1, log1p, cbrt and the inverse
    hyperbolic functions call libm (`erf`, `erff`, ...), declared in the module. math.ipowi of
    scalars expands to arith ops (square and multiply, unrolled); of vectors it is an error
    naming the op. No fast-math flags.

    Options: fma (true): the expansions' polynomials use fused multiply-adds; false on
    targets without one (wasm32), where LLVM would call libm's fmaf per lane.
    """

    name = "convert-math-to-llvm"

    fma: bool = True

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        patterns = math_to_llvm_patterns(op, self.fma)
        dispatch_walker(patterns).rewrite_module(op)
