"""convert-nn-to-linalg patterns for elementwise ops: unary, binary with ONNX multidirectional
broadcasting, variadic and where (cast and bit_cast are in cast.py).

Each op becomes one parallel `linalg.generic` whose body is arith and math ops on scalars.
float16 and bfloat16 compute in f32 inside the body and round once at the end (as the nn
reference does, through cast.py's `widen` and `narrow`); identity and dropout forward their
operand.
"""

from __future__ import annotations

import math as pymath
from collections.abc import Callable, Sequence

from xdsl.builder import Builder
from xdsl.dialects import arith, llvm, math
from xdsl.dialects.builtin import (
    AnyFloat,
    IntegerType,
    f64,
)
from xdsl.ir import Operation, SSAValue
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern

from ...dialects.nn import elementwise
from ...dialects.nn.base import NnOperation
from .cast import cast_scalar, narrow, widen
from .common import (
    element_kind,
    element_type,
    elementwise_generic,
    scalar_constant,
    unsupported,
)

ScalarUnary = Callable[[Builder, NnOperation, SSAValue], SSAValue]
"""Builds f(x) for one element; the op gives attributes and errors their location."""

ScalarBinary = Callable[[Builder, SSAValue, SSAValue], SSAValue]


# ---------------------------------------------------------------------------------------------
# Helpers.


def _const(b: Builder, value: float | int | bool, like: SSAValue) -> SSAValue:
    """A scalar constant of `like`'s type."""
    return scalar_constant(b, value, like.type)


def _need_float(op: NnOperation, x: SSAValue) -> None:
    if not isinstance(x.type, AnyFloat):
        raise unsupported(op, f"needs a float element type, got {x.type}")


def _binary_ops(
    float_op: type[Operation] | None,
    signed_op: type[Operation] | None,
    unsigned_op: type[Operation] | None,
) -> dict[str, ScalarBinary | None]:
    """A table of scalar builders from arith/math op classes taking (lhs, rhs)."""

    def builder_of(op_type: type[Operation] | None) -> ScalarBinary | None:
        if op_type is None:
            return None

        def build(b: Builder, lhs: SSAValue, rhs: SSAValue) -> SSAValue:
            return b.insert(op_type(lhs, rhs)).results[0]  # pyright: ignore[reportCallIssue]

        return build

    return {
        "float": builder_of(float_op),
        "signed": builder_of(signed_op),
        "unsigned": builder_of(unsigned_op),
    }


def _compare(float_predicate: str, signed: str, unsigned: str) -> dict[str, ScalarBinary | None]:
    """Comparisons: ordered for floats (NaN compares false, as numpy), signedness for ints."""

    def cmpf(b: Builder, lhs: SSAValue, rhs: SSAValue) -> SSAValue:
        return b.insert(arith.CmpfOp(lhs, rhs, float_predicate)).result

    def cmpi_with(predicate: str) -> ScalarBinary:
        def cmpi(b: Builder, lhs: SSAValue, rhs: SSAValue) -> SSAValue:
            return b.insert(arith.CmpiOp(lhs, rhs, predicate)).result

        return cmpi

    return {"float": cmpf, "signed": cmpi_with(signed), "unsigned": cmpi_with(unsigned)}


# -- scalar bodies of unary ops ----------------------------------------------------------------


def _unary_math(math_op: type[Operation]) -> ScalarUnary:
    def build(b: Builder, op: NnOperation, x: SSAValue) -> SSAValue:
        _need_float(op, x)
        return b.insert(math_op(x)).results[0]  # pyright: ignore[reportCallIssue]

    return build


def _relu(b: Builder, op: NnOperation, x: SSAValue) -> SSAValue:
    zero = _const(b, 0, x)
    max_op = {"float": arith.MaximumfOp, "signed": arith.MaxSIOp, "unsigned": arith.MaxUIOp}
    return b.insert(max_op[element_kind(x.type)](x, zero)).result


def _sigmoid(b: Builder, op: NnOperation, x: SSAValue) -> SSAValue:
    # 1 / (1 + exp(-x)): where exp(-x) overflows (x below -88.7 in f32) the result is +0, off
    # the true value by less than the smallest normal float. No comparison or select: the
    # body is float arithmetic and exp only, which a contraction's or a depthwise
    # convolution's fused epilogue applies to whole vectors (contraction_match.py)
    _need_float(op, x)
    e = b.insert(math.ExpOp(b.insert(arith.NegfOp(x)).result)).result
    one = _const(b, 1.0, x)
    denominator = b.insert(arith.AddfOp(one, e)).result
    return b.insert(arith.DivfOp(one, denominator)).result


def _neg(b: Builder, op: NnOperation, x: SSAValue) -> SSAValue:
    if isinstance(x.type, AnyFloat):
        return b.insert(arith.NegfOp(x)).result
    return b.insert(arith.SubiOp(_const(b, 0, x), x)).result  # -x = 0 - x


def _abs(b: Builder, op: NnOperation, x: SSAValue) -> SSAValue:
    kind = element_kind(x.type)
    if kind == "float":
        return b.insert(math.AbsFOp(x)).result
    if kind == "signed":
        return b.insert(math.AbsIOp(x)).result
    return x


def _not(b: Builder, op: NnOperation, x: SSAValue) -> SSAValue:
    if x.type != IntegerType(1):
        raise unsupported(op, f"needs i1 elements, got {x.type}")
    return b.insert(arith.XOrIOp(x, _const(b, True, x))).result  # not x = x xor true


def _sign(b: Builder, op: NnOperation, x: SSAValue) -> SSAValue:
    # (x > 0) - (x < 0); a float NaN stays NaN, as numpy's sign
    kind = element_kind(x.type)
    zero, one = _const(b, 0, x), _const(b, 1, x)
    if kind == "float":
        positive = b.insert(arith.CmpfOp(x, zero, "ogt")).result
        negative = b.insert(arith.CmpfOp(x, zero, "olt")).result
        minus_one = _const(b, -1.0, x)
        signed = b.insert(arith.SelectOp(negative, minus_one, x)).result  # 0, -0, NaN stay
        return b.insert(arith.SelectOp(positive, one, signed)).result
    positive = b.insert(arith.CmpiOp(x, zero, "ugt" if kind == "unsigned" else "sgt")).result
    if kind == "unsigned":
        return b.insert(arith.SelectOp(positive, one, zero)).result
    negative = b.insert(arith.CmpiOp(x, zero, "slt")).result
    minus_one = _const(b, -1, x)
    signed = b.insert(arith.SelectOp(negative, minus_one, zero)).result
    return b.insert(arith.SelectOp(positive, one, signed)).result


def _is_nan(b: Builder, op: NnOperation, x: SSAValue) -> SSAValue:
    _need_float(op, x)
    return b.insert(arith.CmpfOp(x, x, "uno")).result  # only NaN is unordered with itself


def _is_inf(b: Builder, op: NnOperation, x: SSAValue) -> SSAValue:
    _need_float(op, x)
    result = scalar_constant(b, False, IntegerType(1))
    for attribute, infinity in (("detect_positive", pymath.inf), ("detect_negative", -pymath.inf)):
        if not op.int_attr(attribute):
            continue
        equal = b.insert(arith.CmpfOp(x, _const(b, infinity, x), "oeq")).result
        result = b.insert(arith.OrIOp(result, equal)).result
    return result


def _bitwise_not(b: Builder, op: NnOperation, x: SSAValue) -> SSAValue:
    if not isinstance(x.type, IntegerType) or x.type == IntegerType(1):
        raise unsupported(op, f"needs integer elements, got {x.type}")
    return b.insert(arith.XOrIOp(x, _const(b, -1, x))).result  # ~x = x xor all ones


def _reciprocal(b: Builder, op: NnOperation, x: SSAValue) -> SSAValue:
    _need_float(op, x)
    return b.insert(arith.DivfOp(_const(b, 1.0, x), x)).result


def _leaky_relu(b: Builder, op: NnOperation, x: SSAValue) -> SSAValue:
    _need_float(op, x)
    scaled = b.insert(arith.MulfOp(x, _const(b, op.float_attr("alpha"), x))).result
    is_negative = b.insert(arith.CmpfOp(x, _const(b, 0.0, x), "olt")).result
    return b.insert(arith.SelectOp(is_negative, scaled, x)).result


def _elu(b: Builder, op: NnOperation, x: SSAValue) -> SSAValue:
    _need_float(op, x)
    exp_minus_one = b.insert(math.ExpM1Op(x)).result
    scaled = b.insert(arith.MulfOp(exp_minus_one, _const(b, op.float_attr("alpha"), x))).result
    is_negative = b.insert(arith.CmpfOp(x, _const(b, 0.0, x), "olt")).result
    return b.insert(arith.SelectOp(is_negative, scaled, x)).result


def _clip(b: Builder, op: NnOperation, x: SSAValue) -> SSAValue:
    # max before min: when min > max every element becomes max, as ONNX specifies
    kind = element_kind(x.type)
    max_op = {"float": arith.MaximumfOp, "signed": arith.MaxSIOp, "unsigned": arith.MaxUIOp}
    min_op = {"float": arith.MinimumfOp, "signed": arith.MinSIOp, "unsigned": arith.MinUIOp}
    result = x
    for name, clamp in (("min", max_op[kind]), ("max", min_op[kind])):
        bound = op.attr(name)
        if not isinstance(bound, float):
            continue  # an absent bound does not clamp
        value = bound if kind == "float" else int(bound)
        result = b.insert(clamp(result, _const(b, value, x))).result
    return result


def _gelu(b: Builder, op: NnOperation, x: SSAValue) -> SSAValue:
    _need_float(op, x)
    approximate = op.str_attr("approximate")
    if approximate == "tanh":
        # tanh(sqrt(2/pi) * (x + 0.044715 x^3))
        cube = b.insert(arith.MulfOp(b.insert(arith.MulfOp(x, x)).result, x)).result
        inner = b.insert(arith.MulfOp(cube, _const(b, 0.044715, x))).result
        inner = b.insert(arith.AddfOp(x, inner)).result
        inner = b.insert(arith.MulfOp(inner, _const(b, pymath.sqrt(2 / pymath.pi), x))).result
        shape = b.insert(math.TanhOp(inner)).result
    elif approximate == "none":
        scaled = b.insert(arith.MulfOp(x, _const(b, 1 / pymath.sqrt(2), x))).result
        shape = b.insert(math.ErfOp(scaled)).result  # erf(x / sqrt 2)
    else:
        raise unsupported(op, f"approximate = '{approximate}'")
    one_plus = b.insert(arith.AddfOp(_const(b, 1.0, x), shape)).result
    half_x = b.insert(arith.MulfOp(x, _const(b, 0.5, x))).result
    return b.insert(arith.MulfOp(half_x, one_plus)).result  # x/2 (1 + shape)


class ForwardOperand(RewritePattern):
    """identity(x), dropout(x) -> x (inference-mode dropout is the identity)."""

    def __init__(self, op_type: type[elementwise.UnaryOp]):
        self.op_type = op_type

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if not isinstance(op, self.op_type):
            return
        rewriter.replace(op, [], [op.X])


class LowerUnaryElementwise(RewritePattern):
    """A unary nn op to a parallel linalg.generic whose body `scalar` builds."""

    def __init__(self, op_type: type[elementwise.UnaryOp], scalar: ScalarUnary):
        self.op_type = op_type
        self.scalar = scalar

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if not isinstance(op, self.op_type):
            return
        result_element = element_type(op.Y)

        def body(b: Builder, args: Sequence[SSAValue]) -> Sequence[SSAValue]:
            value = self.scalar(b, op, widen(b, args[0]))
            return [narrow(b, value, result_element)]

        result = elementwise_generic(rewriter, [op.X], result_element, body)
        rewriter.replace(op, [], [result])


class LowerBinaryElementwise(RewritePattern):
    """A binary nn op to a generic over the broadcast shape; `scalars` maps the operand kind
    ('float', 'signed', 'unsigned') to the body op (None: not supported for that kind)."""

    def __init__(
        self, op_type: type[elementwise.BinaryOp], scalars: dict[str, ScalarBinary | None]
    ):
        self.op_type = op_type
        self.scalars = scalars

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if not isinstance(op, self.op_type):
            return
        operand_element = element_type(op.A)
        scalar = self.scalars[element_kind(operand_element)]
        if scalar is None or element_type(op.B) != operand_element:
            raise unsupported(op, f"operands of {operand_element} and {element_type(op.B)}")
        result_element = element_type(op.C)

        def body(b: Builder, args: Sequence[SSAValue]) -> Sequence[SSAValue]:
            value = scalar(b, widen(b, args[0]), widen(b, args[1]))
            return [narrow(b, value, result_element)]

        result = elementwise_generic(rewriter, [op.A, op.B], result_element, body)
        rewriter.replace(op, [], [result])


def _float_mod(b: Builder, lhs: SSAValue, rhs: SSAValue, python_sign: bool) -> SSAValue:
    """fmod(a, b) is exact, so LLVM's frem (xDSL has no arith.remf) gives it in any wider
    format too; with `python_sign` (numpy's float mod, which onnx's reference uses for
    fmod = 0) b is added where a nonzero remainder's sign differs from b's, and a zero
    remainder takes b's sign."""
    remainder = b.insert(llvm.FRemOp(lhs, rhs)).res
    if not python_sign:
        return remainder
    zero = _const(b, 0.0, rhs)
    nonzero = b.insert(arith.CmpfOp(remainder, zero, "une")).result
    remainder_negative = b.insert(arith.CmpfOp(remainder, zero, "olt")).result
    divisor_negative = b.insert(arith.CmpfOp(rhs, zero, "olt")).result
    signs_differ = b.insert(arith.XOrIOp(remainder_negative, divisor_negative)).result
    adjust = b.insert(arith.AndIOp(nonzero, signs_differ)).result
    shifted = b.insert(arith.AddfOp(remainder, rhs)).result
    signed_zero = b.insert(math.CopySignOp(zero, rhs)).result
    is_zero = b.insert(arith.CmpfOp(remainder, zero, "oeq")).result
    nonzero_result = b.insert(arith.SelectOp(adjust, shifted, remainder)).result
    return b.insert(arith.SelectOp(is_zero, signed_zero, nonzero_result)).result


class LowerMod(RewritePattern):
    """mod(a, b) on integers: arith's remainder (the dividend's sign, fmod = 1), plus b where
    a nonzero remainder's sign differs from b's (fmod = 0). A divisor of 0 gives 0, as the
    reference (numpy) does, and -1 gives 0 without remsi's overflow on the minimum. Floats
    compute as numpy does (`_float_mod`), f16 and bf16 in f32."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if not isinstance(op, elementwise.ModOp):
            return
        element = element_type(op.A)
        kind = element_kind(element)
        if element_type(op.B) != element:
            raise unsupported(op, f"mod of {element} by {element_type(op.B)}")
        python_sign = not op.int_attr("fmod")
        if kind == "float":

            def float_body(b: Builder, args: Sequence[SSAValue]) -> Sequence[SSAValue]:
                lhs, rhs = widen(b, args[0]), widen(b, args[1])
                return [narrow(b, _float_mod(b, lhs, rhs, python_sign), element)]

            result = elementwise_generic(rewriter, [op.A, op.B], element, float_body)
            rewriter.replace(op, [], [result])
            return

        def body(b: Builder, args: Sequence[SSAValue]) -> Sequence[SSAValue]:
            lhs, rhs = args[0], args[1]
            zero, one = _const(b, 0, rhs), _const(b, 1, rhs)
            trivial = b.insert(arith.CmpiOp(rhs, zero, "eq")).result
            if kind == "signed":
                minus_one = b.insert(arith.CmpiOp(rhs, _const(b, -1, rhs), "eq")).result
                trivial = b.insert(arith.OrIOp(trivial, minus_one)).result
            divisor = b.insert(arith.SelectOp(trivial, one, rhs)).result  # x % 1 = 0
            if kind == "unsigned":
                return [b.insert(arith.RemUIOp(lhs, divisor)).result]
            remainder = b.insert(arith.RemSIOp(lhs, divisor)).result
            if not python_sign:
                return [remainder]
            nonzero = b.insert(arith.CmpiOp(remainder, zero, "ne")).result
            remainder_negative = b.insert(arith.CmpiOp(remainder, zero, "slt")).result
            divisor_negative = b.insert(arith.CmpiOp(divisor, zero, "slt")).result
            signs_differ = b.insert(arith.XOrIOp(remainder_negative, divisor_negative)).result
            adjust = b.insert(arith.AndIOp(nonzero, signs_differ)).result
            shifted = b.insert(arith.AddiOp(remainder, divisor)).result
            return [b.insert(arith.SelectOp(adjust, shifted, remainder)).result]

        result = elementwise_generic(rewriter, [op.A, op.B], element, body)
        rewriter.replace(op, [], [result])


class LowerBitShift(RewritePattern):
    """bit_shift(x, y): arith's shifts (shrsi for signed x), where y is in [0, width); out of
    range, where LLVM's shifts are poison, the sign extension alone: shrsi(x, width - 1) for
    a signed right shift, else 0."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if not isinstance(op, elementwise.BitShiftOp):
            return
        element = element_type(op.A)
        direction = op.str_attr("direction")
        if not isinstance(element, IntegerType) or element_type(op.B) != element:
            raise unsupported(op, f"shift of {element} by {element_type(op.B)}")
        if direction not in ("LEFT", "RIGHT"):
            raise unsupported(op, f"direction = '{direction}'")
        signed = element_kind(element) == "signed"
        width = element.width.data

        def body(b: Builder, args: Sequence[SSAValue]) -> Sequence[SSAValue]:
            x, amount = args[0], args[1]
            limit = _const(b, width, amount)
            in_range = b.insert(arith.CmpiOp(amount, limit, "ult")).result  # negative: huge
            safe = b.insert(arith.SelectOp(in_range, amount, _const(b, 0, amount))).result
            if direction == "LEFT":
                shifted = b.insert(arith.ShLIOp(x, safe)).result
                fill = _const(b, 0, x)
            elif signed:
                shifted = b.insert(arith.ShRSIOp(x, safe)).result
                fill = b.insert(arith.ShRSIOp(x, _const(b, width - 1, x))).result
            else:
                shifted = b.insert(arith.ShRUIOp(x, safe)).result
                fill = _const(b, 0, x)
            return [b.insert(arith.SelectOp(in_range, shifted, fill)).result]

        result = elementwise_generic(rewriter, [op.A, op.B], element, body)
        rewriter.replace(op, [], [result])


class LowerPow(RewritePattern):
    """pow(x, y): math.powf for float bases (an integer exponent converted first),
    math.ipowi for integers; an integer base with a float exponent computes in f64 and
    truncates, as onnxruntime does."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if not isinstance(op, elementwise.PowOp):
            return
        base_element, exponent_element = element_type(op.A), element_type(op.B)
        unsigned_exponent = element_kind(exponent_element) == "unsigned"
        if element_kind(base_element) == "unsigned" or (
            unsigned_exponent and not isinstance(base_element, AnyFloat)
        ):
            raise unsupported(op, f"pow of {base_element} by {exponent_element}")

        def body(b: Builder, args: Sequence[SSAValue]) -> Sequence[SSAValue]:
            base, exponent = widen(b, args[0]), widen(b, args[1])
            if base.type == exponent.type and isinstance(base.type, IntegerType):
                return [b.insert(math.IPowIOp(base, exponent)).result]
            compute = base.type if isinstance(base.type, AnyFloat) else f64
            base = cast_scalar(b, op, base, compute)
            exponent = cast_scalar(b, op, exponent, compute)
            value = b.insert(math.PowFOp(base, exponent)).result
            if isinstance(base_element, IntegerType):
                return [cast_scalar(b, op, value, base_element)]
            return [narrow(b, value, base_element)]

        result = elementwise_generic(rewriter, [op.A, op.B], base_element, body)
        rewriter.replace(op, [], [result])


class LowerVariadic(RewritePattern):
    """sum/mean/max/min of n inputs to one generic over their broadcast shape, folding the
    inputs left to right; mean divides the sum by n (integer means truncate toward zero)."""

    def __init__(self, op_type: type[elementwise.VariadicOp], scalars: dict[str, ScalarBinary]):
        self.op_type = op_type
        self.scalars = scalars

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if not isinstance(op, self.op_type):
            return
        result_element = element_type(op.result)
        kind = element_kind(result_element)
        if any(element_type(v) != result_element for v in op.inputs) or result_element == (
            IntegerType(1)
        ):
            raise unsupported(op, "inputs must share one numeric element type")
        combine = self.scalars[kind]
        count = len(op.inputs)
        is_mean = isinstance(op, elementwise.MeanOp)

        def body(b: Builder, args: Sequence[SSAValue]) -> Sequence[SSAValue]:
            values = [widen(b, v) for v in args[:count]]
            acc = values[0]
            for value in values[1:]:
                acc = combine(b, acc, value)
            if is_mean:
                divide = {"float": arith.DivfOp, "signed": arith.DivSIOp}.get(kind, arith.DivUIOp)
                acc = b.insert(divide(acc, _const(b, count, acc))).result
            return [narrow(b, acc, result_element)]

        result = elementwise_generic(rewriter, list(op.inputs), result_element, body)
        rewriter.replace(op, [], [result])


class LowerWhere(RewritePattern):
    """where(c, x, y) -> generic of arith.select over the broadcast of all three."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if not isinstance(op, elementwise.WhereOp):
            return
        if element_type(op.condition) != IntegerType(1):
            raise unsupported(op, "the condition must be i1")

        def body(b: Builder, args: Sequence[SSAValue]) -> Sequence[SSAValue]:
            return [b.insert(arith.SelectOp(args[0], args[1], args[2])).result]

        result_element = element_type(op.output)
        operands = [op.condition, op.X, op.Y]
        result = elementwise_generic(rewriter, operands, result_element, body)
        rewriter.replace(op, [], [result])


# ---------------------------------------------------------------------------------------------
# The pattern list.

_UNARY: dict[type[elementwise.UnaryOp], ScalarUnary] = {
    elementwise.ReluOp: _relu,
    elementwise.SigmoidOp: _sigmoid,
    elementwise.TanhOp: _unary_math(math.TanhOp),
    elementwise.ErfOp: _unary_math(math.ErfOp),
    elementwise.SqrtOp: _unary_math(math.SqrtOp),
    elementwise.ExpOp: _unary_math(math.ExpOp),
    elementwise.LogOp: _unary_math(math.LogOp),
    elementwise.FloorOp: _unary_math(math.FloorOp),
    elementwise.CeilOp: _unary_math(math.CeilOp),
    elementwise.NegOp: _neg,
    elementwise.AbsOp: _abs,
    elementwise.NotOp: _not,
    elementwise.ReciprocalOp: _reciprocal,
    elementwise.BitwiseNotOp: _bitwise_not,
    elementwise.SinOp: _unary_math(math.SinOp),
    elementwise.CosOp: _unary_math(math.CosOp),
    elementwise.TanOp: _unary_math(math.TanOp),
    elementwise.AsinOp: _unary_math(math.AsinOp),
    elementwise.AcosOp: _unary_math(math.AcosOp),
    elementwise.AtanOp: _unary_math(math.AtanOp),
    elementwise.SinhOp: _unary_math(math.SinhOp),
    elementwise.CoshOp: _unary_math(math.CoshOp),
    elementwise.AsinhOp: _unary_math(math.AsinhOp),
    elementwise.AcoshOp: _unary_math(math.AcoshOp),
    elementwise.AtanhOp: _unary_math(math.AtanhOp),
    elementwise.RoundOp: _unary_math(math.RoundEvenOp),
    elementwise.SignOp: _sign,
    elementwise.IsNaNOp: _is_nan,
    elementwise.IsInfOp: _is_inf,
    elementwise.LeakyReluOp: _leaky_relu,
    elementwise.EluOp: _elu,
    elementwise.ClipOp: _clip,
    elementwise.GeluOp: _gelu,
}

_BINARY: dict[type[elementwise.BinaryOp], dict[str, ScalarBinary | None]] = {
    elementwise.AddOp: _binary_ops(arith.AddfOp, arith.AddiOp, arith.AddiOp),
    elementwise.SubOp: _binary_ops(arith.SubfOp, arith.SubiOp, arith.SubiOp),
    elementwise.MulOp: _binary_ops(arith.MulfOp, arith.MuliOp, arith.MuliOp),
    # integer division truncates toward zero in ONNX, as divsi does
    elementwise.DivOp: _binary_ops(arith.DivfOp, arith.DivSIOp, arith.DivUIOp),
    elementwise.EqualOp: _compare("oeq", "eq", "eq"),
    elementwise.LessOp: _compare("olt", "slt", "ult"),
    elementwise.LessOrEqualOp: _compare("ole", "sle", "ule"),
    elementwise.GreaterOp: _compare("ogt", "sgt", "ugt"),
    elementwise.GreaterOrEqualOp: _compare("oge", "sge", "uge"),
    elementwise.AndOp: _binary_ops(None, None, arith.AndIOp),
    elementwise.OrOp: _binary_ops(None, None, arith.OrIOp),
    elementwise.XorOp: _binary_ops(None, None, arith.XOrIOp),
    elementwise.BitwiseAndOp: _binary_ops(None, arith.AndIOp, arith.AndIOp),
    elementwise.BitwiseOrOp: _binary_ops(None, arith.OrIOp, arith.OrIOp),
    elementwise.BitwiseXorOp: _binary_ops(None, arith.XOrIOp, arith.XOrIOp),
}


def _variadic(
    float_op: type[Operation], signed_op: type[Operation], unsigned_op: type[Operation]
) -> dict[str, ScalarBinary]:
    table = _binary_ops(float_op, signed_op, unsigned_op)
    return {kind: build for kind, build in table.items() if build is not None}


_VARIADIC: dict[type[elementwise.VariadicOp], dict[str, ScalarBinary]] = {
    elementwise.SumOp: _variadic(arith.AddfOp, arith.AddiOp, arith.AddiOp),
    elementwise.MeanOp: _variadic(arith.AddfOp, arith.AddiOp, arith.AddiOp),
    # maximumf/minimumf propagate NaN, as numpy's maximum/minimum
    elementwise.MaxOp: _variadic(arith.MaximumfOp, arith.MaxSIOp, arith.MaxUIOp),
    elementwise.MinOp: _variadic(arith.MinimumfOp, arith.MinSIOp, arith.MinUIOp),
}

PATTERNS: list[RewritePattern] = [
    ForwardOperand(elementwise.IdentityOp),
    ForwardOperand(elementwise.DropoutOp),
    *(LowerUnaryElementwise(op_type, scalar) for op_type, scalar in _UNARY.items()),
    *(LowerBinaryElementwise(op_type, scalars) for op_type, scalars in _BINARY.items()),
    LowerMod(),
    LowerBitShift(),
    LowerPow(),
    *(LowerVariadic(op_type, scalars) for op_type, scalars in _VARIADIC.items()),
    LowerWhere(),
]
