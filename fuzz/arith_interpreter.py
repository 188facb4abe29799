"""The arith and math ops of stage-2 IR that xDSL's interpreters lack or compute otherwise, and
dense tensor constants (`ScalarFunctions`), for the fuzz interpreters (interpreters.py,
buffer_interpreter.py).

Float arithmetic is rounded to the result's element type after every op, so an f32 body computes
what f32 hardware (and numpy) computes, not a double-precision approximation of it; integers wrap
to their width, and float-to-int conversions out of range (undefined in LLVM) saturate.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from xdsl.dialects import arith
from xdsl.dialects import math as xmath
from xdsl.dialects.builtin import (
    DenseIntOrFPElementsAttr,
    Float16Type,
    Float32Type,
    IntegerType,
)
from xdsl.interpreter import Interpreter, InterpreterFunctions, PythonValues, impl, register_impls
from xdsl.ir import Attribute

from .python_scalars import PythonScalarFunctions
from .shaped_arrays import element_type_of, numpy_dtype, static_shape, to_shaped

# -- float and integer rounding ------------------------------------------------------------------


def _round(value: float, result_type: Attribute) -> float:
    """`value` rounded to the float type `result_type`, as hardware computes it."""
    with np.errstate(over="ignore"):  # overflow to inf is IEEE rounding, not an error
        if isinstance(result_type, Float32Type):
            return float(np.float32(value))
        if isinstance(result_type, Float16Type):
            return float(np.float16(value))
    return float(value)


def _bits(result_type: Attribute) -> int:
    if isinstance(result_type, IntegerType):
        return result_type.width.data
    return 64


def _wrap_signed(value: int, bits: int) -> int:
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def _unsigned(value: int, bits: int) -> int:
    return value & ((1 << bits) - 1)


def _float_to_int(value: float, bits: int, signed: bool) -> int:
    """fptosi/fptoui: truncation; out of range (undefined in LLVM) saturates here."""
    if math.isnan(value):
        return 0
    low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    if math.isinf(value):
        return high if value > 0 else low
    return min(max(int(value), low), high)


# -- arith and math --------------------------------------------------------------------------------

_FloatFunction = Callable[..., float]


def _float_op(function: _FloatFunction) -> Callable[..., PythonValues]:
    def run(self: Any, interpreter: Interpreter, op: Any, args: PythonValues) -> PythonValues:
        with np.errstate(all="ignore"):
            return (_round(function(*args), op.results[0].type),)

    return run


def _safe_div(lhs: float, rhs: float) -> float:
    with np.errstate(all="ignore"):
        return float(np.float64(lhs) / np.float64(rhs))


def _erf(x: float) -> float:
    return math.erf(x)


def _safe(function: Callable[[float], float]) -> _FloatFunction:
    """A math function with IEEE results (inf, nan) where Python's math raises."""

    def run(x: float) -> float:
        try:
            return function(x)
        except (ValueError, OverflowError):
            with np.errstate(all="ignore"):
                return float(_NUMPY_EQUIVALENTS[function](np.float64(x)))

    return run


_NUMPY_EQUIVALENTS: dict[Callable[[float], float], Callable[[Any], Any]] = {
    math.exp: np.exp,
    math.log: np.log,
    math.sqrt: np.sqrt,
    math.log2: np.log2,
    math.log10: np.log10,
    math.log1p: np.log1p,
    math.expm1: np.expm1,
    math.cosh: np.cosh,
    math.sinh: np.sinh,
    math.acos: np.arccos,
    math.asin: np.arcsin,
    math.atanh: np.arctanh,
    math.acosh: np.arccosh,
    math.sin: np.sin,
    math.cos: np.cos,
    math.tan: np.tan,
}


def _rsqrt(x: float) -> float:
    return _safe_div(1.0, _safe(math.sqrt)(x))


def _powf(x: float, y: float) -> float:
    with np.errstate(all="ignore"):
        return float(np.power(np.float64(x), np.float64(y)))


def _maxnum(x: float, y: float) -> float:
    return float(np.fmax(x, y))


def _minnum(x: float, y: float) -> float:
    return float(np.fmin(x, y))


def _maximum(x: float, y: float) -> float:
    """arith.maximumf: NaN if either is, and +0 above -0 (Python's max keeps the first)."""
    if math.isnan(x) or math.isnan(y):
        return math.nan
    if x == 0 and y == 0:
        return x if math.copysign(1.0, x) > 0 else y
    return max(x, y)


def _minimum(x: float, y: float) -> float:
    """arith.minimumf: NaN if either is, and -0 below +0."""
    if math.isnan(x) or math.isnan(y):
        return math.nan
    if x == 0 and y == 0:
        return x if math.copysign(1.0, x) < 0 else y
    return min(x, y)


def _add(x: float, y: float) -> float:
    return x + y


def _sub(x: float, y: float) -> float:
    return x - y


def _mul(x: float, y: float) -> float:
    return x * y


def _neg(x: float) -> float:
    return -x


def _exp2(x: float) -> float:
    return _powf(2.0, x)


def _fma(x: float, y: float, z: float) -> float:
    return x * y + z


def _round_half_away(x: float) -> float:
    return float(np.copysign(np.floor(abs(x) + 0.5), x))


def _via_numpy(function: Callable[[Any], Any]) -> _FloatFunction:
    def run(x: float) -> float:
        return float(function(x))

    return run


_FLOAT_OPS: dict[type[Any], _FloatFunction] = {
    arith.AddfOp: _add,
    arith.SubfOp: _sub,
    arith.MulfOp: _mul,
    arith.DivfOp: _safe_div,
    arith.NegfOp: _neg,
    arith.MaxnumfOp: _maxnum,
    arith.MinnumfOp: _minnum,
    # xDSL's own take FloatAttr operands from 0.75 on, where these interpreters pass floats
    arith.MaximumfOp: _maximum,
    arith.MinimumfOp: _minimum,
    arith.ExtFOp: float,
    arith.TruncFOp: float,
    xmath.ExpOp: _safe(math.exp),
    xmath.LogOp: _safe(math.log),
    xmath.SqrtOp: _safe(math.sqrt),
    xmath.RsqrtOp: _rsqrt,
    xmath.Log2Op: _safe(math.log2),
    xmath.Log10Op: _safe(math.log10),
    xmath.Log1pOp: _safe(math.log1p),
    xmath.ExpM1Op: _safe(math.expm1),
    xmath.Exp2Op: _exp2,
    xmath.TanhOp: math.tanh,
    xmath.ErfOp: _erf,
    xmath.AbsFOp: math.fabs,
    xmath.FloorOp: _via_numpy(np.floor),
    xmath.CeilOp: _via_numpy(np.ceil),
    xmath.TruncOp: _via_numpy(np.trunc),
    xmath.RoundEvenOp: _via_numpy(np.round),
    xmath.RoundOp: _round_half_away,
    xmath.SinOp: _safe(math.sin),
    xmath.CosOp: _safe(math.cos),
    xmath.TanOp: _safe(math.tan),
    xmath.SinhOp: _safe(math.sinh),
    xmath.CoshOp: _safe(math.cosh),
    xmath.AsinOp: _safe(math.asin),
    xmath.AcosOp: _safe(math.acos),
    xmath.AtanOp: math.atan,
    xmath.AsinhOp: math.asinh,
    xmath.AcoshOp: _safe(math.acosh),
    xmath.AtanhOp: _safe(math.atanh),
    xmath.Atan2Op: math.atan2,
    xmath.PowFOp: _powf,
    xmath.CopySignOp: math.copysign,
    xmath.FmaOp: _fma,
    xmath.CbrtOp: _via_numpy(np.cbrt),
}
"""Float ops computed in double precision, then rounded to the result type."""


@register_impls
class ScalarFunctions(InterpreterFunctions):
    """arith and math ops missing from xDSL's interpreters, and dense tensor constants."""

    @impl(arith.ConstantOp)
    def run_constant(
        self, interpreter: Interpreter, op: arith.ConstantOp, args: PythonValues
    ) -> PythonValues:
        value = op.value
        if not isinstance(value, DenseIntOrFPElementsAttr):
            return PythonScalarFunctions().run_constant(interpreter, op, args).values
        element_type = element_type_of(op.result)
        values = np.array(value.get_values(), dtype=numpy_dtype(element_type))
        shape = static_shape(op.result)
        # a splat holds one value for the whole tensor
        full = np.broadcast_to(values.reshape(-1), math.prod(shape)).reshape(shape)
        return (to_shaped(full, element_type),)

    @impl(arith.AddiOp)
    def run_addi(self, interpreter: Interpreter, op: arith.AddiOp, args: PythonValues):
        # xDSL's arith interpreter does not wrap, and an i32 buffer refuses the overflowed int
        return (_wrap_signed(args[0] + args[1], _bits(op.result.type)),)

    @impl(arith.SubiOp)
    def run_subi(self, interpreter: Interpreter, op: arith.SubiOp, args: PythonValues):
        return (_wrap_signed(args[0] - args[1], _bits(op.result.type)),)

    @impl(arith.MuliOp)
    def run_muli(self, interpreter: Interpreter, op: arith.MuliOp, args: PythonValues):
        return (_wrap_signed(args[0] * args[1], _bits(op.result.type)),)

    @impl(arith.MaxSIOp)
    def run_maxsi(self, interpreter: Interpreter, op: arith.MaxSIOp, args: PythonValues):
        bits = _bits(op.result.type)
        return (max(_wrap_signed(args[0], bits), _wrap_signed(args[1], bits)),)

    @impl(arith.MinSIOp)
    def run_minsi(self, interpreter: Interpreter, op: arith.MinSIOp, args: PythonValues):
        bits = _bits(op.result.type)
        return (min(_wrap_signed(args[0], bits), _wrap_signed(args[1], bits)),)

    @impl(arith.MaxUIOp)
    def run_maxui(self, interpreter: Interpreter, op: arith.MaxUIOp, args: PythonValues):
        bits = _bits(op.result.type)
        return (_wrap_signed(max(_unsigned(args[0], bits), _unsigned(args[1], bits)), bits),)

    @impl(arith.MinUIOp)
    def run_minui(self, interpreter: Interpreter, op: arith.MinUIOp, args: PythonValues):
        bits = _bits(op.result.type)
        return (_wrap_signed(min(_unsigned(args[0], bits), _unsigned(args[1], bits)), bits),)

    @impl(arith.DivUIOp)
    def run_divui(self, interpreter: Interpreter, op: arith.DivUIOp, args: PythonValues):
        bits = _bits(op.result.type)
        return (_wrap_signed(_unsigned(args[0], bits) // _unsigned(args[1], bits), bits),)

    @impl(arith.RemUIOp)
    def run_remui(self, interpreter: Interpreter, op: arith.RemUIOp, args: PythonValues):
        bits = _bits(op.result.type)
        return (_wrap_signed(_unsigned(args[0], bits) % _unsigned(args[1], bits), bits),)

    @impl(arith.CeilDivSIOp)
    def run_ceildivsi(self, interpreter: Interpreter, op: arith.CeilDivSIOp, args: PythonValues):
        bits = _bits(op.result.type)
        lhs, rhs = _wrap_signed(args[0], bits), _wrap_signed(args[1], bits)
        return (_wrap_signed(-(-lhs // rhs), bits),)

    @impl(arith.ShRUIOp)
    def run_shrui(self, interpreter: Interpreter, op: arith.ShRUIOp, args: PythonValues):
        bits = _bits(op.result.type)
        return (_wrap_signed(_unsigned(args[0], bits) >> args[1], bits),)

    @impl(arith.ExtSIOp)
    def run_extsi(self, interpreter: Interpreter, op: arith.ExtSIOp, args: PythonValues):
        return (_wrap_signed(args[0], _bits(op.input.type)),)

    @impl(arith.ExtUIOp)
    def run_extui(self, interpreter: Interpreter, op: arith.ExtUIOp, args: PythonValues):
        return (_unsigned(args[0], _bits(op.input.type)),)

    @impl(arith.TruncIOp)
    def run_trunci(self, interpreter: Interpreter, op: arith.TruncIOp, args: PythonValues):
        return (_wrap_signed(args[0], _bits(op.result.type)),)

    @impl(arith.SIToFPOp)
    def run_sitofp(self, interpreter: Interpreter, op: arith.SIToFPOp, args: PythonValues):
        value = _wrap_signed(args[0], _bits(op.input.type))
        return (_round(float(value), op.result.type),)

    @impl(arith.UIToFPOp)
    def run_uitofp(self, interpreter: Interpreter, op: arith.UIToFPOp, args: PythonValues):
        value = _unsigned(args[0], _bits(op.input.type))
        return (_round(float(value), op.result.type),)

    @impl(arith.FPToSIOp)
    def run_fptosi(self, interpreter: Interpreter, op: arith.FPToSIOp, args: PythonValues):
        return (_float_to_int(args[0], _bits(op.result.type), signed=True),)

    @impl(arith.FPToUIOp)
    def run_fptoui(self, interpreter: Interpreter, op: arith.FPToUIOp, args: PythonValues):
        bits = _bits(op.result.type)
        return (_wrap_signed(_float_to_int(args[0], bits, signed=False), bits),)

    @impl(arith.BitcastOp)
    def run_bitcast(self, interpreter: Interpreter, op: arith.BitcastOp, args: PythonValues):
        source, target = op.input.type, op.result.type
        if isinstance(target, IntegerType) and isinstance(source, IntegerType):
            return (_wrap_signed(int(args[0]), target.width.data),)
        packed = np.array([args[0]], dtype=numpy_dtype(source))
        return (packed.view(numpy_dtype(target))[0].item(),)

    @impl(xmath.IPowIOp)
    def run_ipowi(self, interpreter: Interpreter, op: xmath.IPowIOp, args: PythonValues):
        bits = _bits(op.result.type)
        base, exponent = _wrap_signed(args[0], bits), _wrap_signed(args[1], bits)
        if exponent < 0:  # MLIR: 1 and -1 to negative powers alternate, all else is 0
            return (0 if abs(base) != 1 else base ** (exponent % 2),)
        return (_wrap_signed(base**exponent, bits),)

    @impl(xmath.AbsIOp)
    def run_absi(self, interpreter: Interpreter, op: xmath.AbsIOp, args: PythonValues):
        bits = _bits(op.result.type)
        return (_wrap_signed(abs(_wrap_signed(args[0], bits)), bits),)


for _op_type, _function in _FLOAT_OPS.items():
    setattr(ScalarFunctions, f"_run_{_op_type.__name__}", impl(_op_type)(_float_op(_function)))
register_impls(ScalarFunctions)
