"""Reference kernels of the elementwise family (`dialects/nn/elementwise.py`): numpy's ufuncs
where they are ONNX's semantics, and a kernel of its own for each op where they are not."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence

import numpy as np
from xdsl.dialects.builtin import TensorType
from xdsl.ir import Operation

from .. import elementwise
from ..base import NnOperation, element_type_from_onnx, element_type_to_numpy
from .core import KERNELS, Kernel, is_integer, kernel, widen


def _elementwise(function: Callable[..., np.ndarray]) -> Kernel:
    """A kernel that applies a numpy function (a ufunc) to the inputs, broadcasting them."""

    def run(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        return [np.asarray(function(*inputs))]

    return run


_UFUNCS: dict[type[Operation], Callable[..., np.ndarray]] = {
    elementwise.TanhOp: np.tanh,
    elementwise.SqrtOp: np.sqrt,
    elementwise.ExpOp: np.exp,
    elementwise.LogOp: np.log,
    elementwise.NegOp: np.negative,
    elementwise.AbsOp: np.abs,
    elementwise.NotOp: np.logical_not,
    elementwise.FloorOp: np.floor,
    elementwise.CeilOp: np.ceil,
    elementwise.ReciprocalOp: np.reciprocal,
    elementwise.AddOp: np.add,
    elementwise.SubOp: np.subtract,
    elementwise.MulOp: np.multiply,
    elementwise.EqualOp: np.equal,
    elementwise.LessOp: np.less,
    elementwise.LessOrEqualOp: np.less_equal,
    elementwise.GreaterOp: np.greater,
    elementwise.GreaterOrEqualOp: np.greater_equal,
    elementwise.AndOp: np.logical_and,
    elementwise.OrOp: np.logical_or,
    elementwise.XorOp: np.logical_xor,
    elementwise.BitwiseAndOp: np.bitwise_and,
    elementwise.BitwiseOrOp: np.bitwise_or,
    elementwise.BitwiseXorOp: np.bitwise_xor,
    elementwise.BitwiseNotOp: np.invert,
    elementwise.SinOp: np.sin,
    elementwise.CosOp: np.cos,
    elementwise.TanOp: np.tan,
    elementwise.AsinOp: np.arcsin,
    elementwise.AcosOp: np.arccos,
    elementwise.AtanOp: np.arctan,
    elementwise.SinhOp: np.sinh,
    elementwise.CoshOp: np.cosh,
    elementwise.AsinhOp: np.arcsinh,
    elementwise.AcoshOp: np.arccosh,
    elementwise.AtanhOp: np.arctanh,
    elementwise.RoundOp: np.round,  # ties to even
    elementwise.SignOp: np.sign,
    elementwise.IsNaNOp: np.isnan,
}
for _op_type, _function in _UFUNCS.items():
    KERNELS[_op_type] = _elementwise(_function)


@kernel(elementwise.IdentityOp, elementwise.DropoutOp)
def _identity(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    return [inputs[0].copy()]  # inference-mode dropout is the identity


@kernel(elementwise.ReluOp)
def _relu(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    return [np.maximum(inputs[0], 0)]


@kernel(elementwise.SigmoidOp)
def _sigmoid(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    x = widen(inputs[0])
    exp_minus_abs = np.exp(-np.abs(x))  # never overflows, unlike exp(-x) for very negative x
    return [np.where(x >= 0, 1 / (1 + exp_minus_abs), exp_minus_abs / (1 + exp_minus_abs))]


@kernel(elementwise.LeakyReluOp)
def _leaky_relu(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    x = inputs[0]
    return [np.where(x < 0, x * op.float_attr("alpha"), x)]


@kernel(elementwise.EluOp)
def _elu(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    x = widen(inputs[0])
    return [np.where(x < 0, op.float_attr("alpha") * np.expm1(x), x)]


def _erf(x: np.ndarray) -> np.ndarray:
    """Correctly rounded erf: math.erf per element, in float64 (numpy has no erf)."""
    values = np.frompyfunc(math.erf, 1, 1)(x.astype(np.float64))
    return np.asarray(values, dtype=np.float64)


@kernel(elementwise.ErfOp)
def _erf_kernel(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    return [_erf(inputs[0])]


@kernel(elementwise.GeluOp)
def _gelu(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    x = inputs[0].astype(np.float64)
    if op.str_attr("approximate") == "tanh":
        inner = math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)
        return [0.5 * x * (1 + np.tanh(inner))]
    return [0.5 * x * (1 + _erf(x / math.sqrt(2)))]


@kernel(elementwise.ClipOp)
def _clip(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    result = inputs[0]
    low, high = op.attr("min"), op.attr("max")
    # max after min: when min > max, every element becomes max, as ONNX specifies.
    if isinstance(low, float):
        result = np.maximum(result, np.asarray(low).astype(result.dtype))
    if isinstance(high, float):
        result = np.minimum(result, np.asarray(high).astype(result.dtype))
    return [result]


@kernel(elementwise.CastOp)
def _cast(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    target = element_type_to_numpy(element_type_from_onnx(op.int_attr("to")))
    return [inputs[0].astype(target)]  # floats to ints truncate toward zero, as in C


@kernel(elementwise.DivOp)
def _div(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    lhs, rhs = inputs
    if not is_integer(lhs):
        return [lhs / rhs]
    # numpy's // floors; ONNX integer division truncates toward zero, as C does.
    floored = lhs // rhs
    inexact_negative = (lhs % rhs != 0) & ((lhs < 0) != (rhs < 0))
    return [floored + inexact_negative]


@kernel(elementwise.ModOp)
def _mod(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    lhs, rhs = inputs
    if op.int_attr("fmod"):
        return [np.fmod(lhs, rhs)]  # the dividend's sign
    return [np.mod(lhs, rhs)]  # the divisor's sign; an integer mod 0 is 0, as in numpy


@kernel(elementwise.IsInfOp)
def _is_inf(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    x = inputs[0]
    positive = (x == np.inf) & bool(op.int_attr("detect_positive"))
    return [positive | ((x == -np.inf) & bool(op.int_attr("detect_negative")))]


@kernel(elementwise.BitShiftOp)
def _bit_shift(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    x, amount = inputs
    in_range = (amount >= 0) & (amount < x.dtype.itemsize * 8)
    safe = np.where(in_range, amount, 0).astype(x.dtype)
    if op.str_attr("direction") == "LEFT":
        return [np.where(in_range, np.left_shift(x, safe), 0)]
    # numpy's right shift of a signed integer is arithmetic; out of range leaves the sign
    sign_fill = np.where(x < 0, -1, 0) if np.issubdtype(x.dtype, np.signedinteger) else 0
    return [np.where(in_range, np.right_shift(x, safe), sign_fill)]


@kernel(elementwise.PowOp)
def _pow(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    base, exponent = inputs
    if is_integer(base) and is_integer(exponent) and bool(np.all(exponent >= 0)):
        return [np.power(base, exponent)]  # exact, wrapping on overflow
    # The result has the base's type: onnxruntime computes in double and truncates to ints.
    return [np.power(base.astype(np.float64), exponent.astype(np.float64))]


@kernel(elementwise.SumOp)
def _sum(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    return [functools.reduce(np.add, inputs[1:], inputs[0].copy())]


@kernel(elementwise.MeanOp)
def _mean(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    total = functools.reduce(np.add, [widen(x) for x in inputs])
    return [total / len(inputs)]


@kernel(elementwise.MaxOp)
def _max(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    return [functools.reduce(np.maximum, inputs[1:], inputs[0].copy())]


@kernel(elementwise.MinOp)
def _min(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    return [functools.reduce(np.minimum, inputs[1:], inputs[0].copy())]


@kernel(elementwise.WhereOp)
def _where(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    condition, x, y = inputs
    return [np.where(condition, x, y)]


@kernel(elementwise.BitCastOp)
def _bit_cast(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """numpy's view (little endian, as ONNX asks); `evaluate` casts to the result's dtype."""
    result_type = op.results[0].type
    assert isinstance(result_type, TensorType)
    return [np.ascontiguousarray(inputs[0]).view(element_type_to_numpy(result_type.element_type))]
