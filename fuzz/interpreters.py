"""Runs stage-2 IR (linalg on tensors, docs/pipeline.md) through xDSL's interpreter.

Values are xDSL's `ShapedArray`s, as its tensor and linalg interpreters use. xDSL lacks some of
what stage 2 allows (`linalg.index`, the reshaping and slicing tensor ops, dense constants, many
arith and math ops), and its `linalg.generic` stores every result into the first output and its
`linalg.fill` writes into its operand; the implementations here fill those gaps. Named linalg ops
are generalized first (xDSL's `linalg-generalize-named-ops`), so that only `linalg.generic` runs:
xDSL's own named conv and pooling kernels handle a single channel only.

Float arithmetic is rounded to the result's element type after every op, so an f32 body computes
what f32 hardware (and numpy) computes, not a double-precision approximation of it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from itertools import product
from typing import Any

import numpy as np
from xdsl.context import Context
from xdsl.dialects import arith, builtin, tensor
from xdsl.dialects import math as xmath
from xdsl.dialects.builtin import (
    DenseIntOrFPElementsAttr,
    Float16Type,
    Float32Type,
    Float64Type,
    IndexType,
    IntegerType,
    ModuleOp,
    PackableType,
    Signedness,
    TensorType,
)
from xdsl.dialects.func import FuncOp
from xdsl.dialects.linalg import ops as linalg
from xdsl.interpreter import (
    Interpreter,
    InterpreterFunctions,
    PythonValues,
    ReturnedValues,
    impl,
    impl_terminator,
    register_impls,
)
from xdsl.interpreters.arith import ArithFunctions
from xdsl.interpreters.func import FuncFunctions
from xdsl.interpreters.linalg import LinalgFunctions
from xdsl.interpreters.math import MathFunctions
from xdsl.interpreters.shaped_array import ShapedArray
from xdsl.interpreters.tensor import TensorFunctions
from xdsl.interpreters.utils.ptr import RawPtr, TypedPtr
from xdsl.ir import Attribute, SSAValue
from xdsl.transforms.linalg_generalize_named_ops import LinalgGeneralizeNamedOpsPass

from ..dialects.nn import WeightOp
from ..dialects.nn.interpreter import NnFunctions
from ..dialects.nn.weights import WeightStore
from .python_scalars import PythonScalarFunctions

# -- numpy <-> ShapedArray ---------------------------------------------------------------------


def numpy_dtype(element_type: Attribute) -> np.dtype[Any]:
    """The numpy dtype holding one element of `element_type` in an xDSL buffer (i1 is a byte)."""
    if isinstance(element_type, Float32Type):
        return np.dtype(np.float32)
    if isinstance(element_type, Float64Type):
        return np.dtype(np.float64)
    if isinstance(element_type, Float16Type):
        return np.dtype(np.float16)
    if isinstance(element_type, IndexType):
        return np.dtype(np.int64)
    if isinstance(element_type, IntegerType):
        width = max(8, element_type.width.data)
        unsigned = element_type.signedness.data == Signedness.UNSIGNED
        return np.dtype(f"{'u' if unsigned else 'i'}{width // 8}")
    raise NotImplementedError(f"no numpy dtype for {element_type}")


def to_shaped(array: np.ndarray, element_type: Attribute) -> ShapedArray[Any]:
    """A new ShapedArray holding a copy of `array`, with xDSL's buffer layout."""
    assert isinstance(element_type, PackableType)
    data = np.ascontiguousarray(array, dtype=numpy_dtype(element_type))
    pointer = TypedPtr[Any](RawPtr(bytearray(data.tobytes())), xtype=element_type)
    return ShapedArray(pointer, list(array.shape))


def view(shaped: ShapedArray[Any]) -> np.ndarray:
    """A writable numpy view of a ShapedArray's buffer."""
    pointer = shaped.data_ptr
    dtype = numpy_dtype(pointer.xtype)
    flat = np.frombuffer(pointer.raw.memory, dtype, shaped.size, pointer.raw.offset)
    return flat.reshape(shaped.shape)


def from_shaped(shaped: ShapedArray[Any], result_type: Attribute) -> np.ndarray:
    """A numpy copy of a ShapedArray; i1 becomes bool."""
    array = view(shaped).copy()
    assert isinstance(result_type, TensorType)
    element_type: Attribute = result_type.element_type
    if isinstance(element_type, IntegerType) and element_type.width.data == 1:
        return array != 0
    return array


def _element_type(value: SSAValue) -> Attribute:
    value_type = value.type
    assert isinstance(value_type, TensorType)
    return value_type.element_type  # pyright: ignore[reportUnknownMemberType]


def _new_like(array: np.ndarray, value: SSAValue) -> ShapedArray[Any]:
    return to_shaped(array, _element_type(value))


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


# -- linalg --------------------------------------------------------------------------------------


@register_impls
class GenericFunctions(InterpreterFunctions):
    """`linalg.generic` with several results and `linalg.index`, and a value-semantic fill."""

    def __init__(self) -> None:
        self._loop_indices: list[tuple[int, ...]] = []

    @impl(linalg.GenericOp)
    def run_generic(
        self, interpreter: Interpreter, op: linalg.GenericOp, args: tuple[Any, ...]
    ) -> PythonValues:
        input_count = len(op.inputs)
        inputs = [view(a) if isinstance(a, ShapedArray) else a for a in args[:input_count]]
        outputs = [view(a).copy() for a in args[input_count:]]
        maps = [m.data for m in op.get_indexing_maps()]
        shapes = [dim for a in (*inputs, *outputs) if isinstance(a, np.ndarray) for dim in a.shape]
        loop_ranges = op.get_shapes_to_loops_map().eval(shapes, [])
        for indices in product(*(range(r) for r in loop_ranges)):
            scalars = [
                array[affine_map.eval(indices, ())] if isinstance(array, np.ndarray) else array
                for array, affine_map in zip((*inputs, *outputs), maps, strict=True)
            ]
            self._loop_indices.append(indices)
            try:
                yielded = interpreter.run_ssacfg_region(
                    op.body, tuple(_python_scalar(s) for s in scalars), "linalg.generic"
                )
            finally:
                self._loop_indices.pop()
            for output, affine_map, value in zip(outputs, maps[input_count:], yielded, strict=True):
                output[affine_map.eval(indices, ())] = value
        return tuple(_new_like(o, r) for o, r in zip(outputs, op.results, strict=True))

    @impl(linalg.IndexOp)
    def run_index(
        self, interpreter: Interpreter, op: linalg.IndexOp, args: tuple[Any, ...]
    ) -> PythonValues:
        return (self._loop_indices[-1][op.dim.value.data],)

    @impl_terminator(linalg.YieldOp)
    def run_yield(self, interpreter: Interpreter, op: linalg.YieldOp, args: tuple[Any, ...]):
        return ReturnedValues(args), ()

    @impl(linalg.FillOp)
    def run_fill(
        self, interpreter: Interpreter, op: linalg.FillOp, args: tuple[Any, ...]
    ) -> PythonValues:
        value, destination = args
        filled = np.full(destination.shape, value, dtype=numpy_dtype(_element_type(op.res[0])))
        return (_new_like(filled, op.res[0]),)


def _python_scalar(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


# -- tensor --------------------------------------------------------------------------------------


def _static(values: builtin.DenseArrayBase[Any]) -> list[int]:
    return [int(v) for v in values.get_values()]


@register_impls
class TensorShapeFunctions(InterpreterFunctions):
    """Static reshapes and slices, which xDSL's tensor interpreter lacks."""

    @impl(tensor.CollapseShapeOp)
    def run_collapse_shape(
        self, interpreter: Interpreter, op: tensor.CollapseShapeOp, args: tuple[Any, ...]
    ) -> PythonValues:
        return (_new_like(view(args[0]).reshape(_shape(op.result)), op.result),)

    @impl(tensor.ExpandShapeOp)
    def run_expand_shape(
        self, interpreter: Interpreter, op: tensor.ExpandShapeOp, args: tuple[Any, ...]
    ) -> PythonValues:
        return (_new_like(view(args[0]).reshape(_shape(op.result)), op.result),)

    @impl(tensor.ExtractSliceOp)
    def run_extract_slice(
        self, interpreter: Interpreter, op: tensor.ExtractSliceOp, args: tuple[Any, ...]
    ) -> PythonValues:
        assert len(args) == 1, "only static offsets, sizes and strides"
        source = view(args[0])
        window = _window(
            _static(op.static_offsets), _static(op.static_sizes), _static(op.static_strides)
        )
        # sizes of the source rank; the result may drop unit dimensions (rank reduction)
        return (_new_like(source[window].reshape(_shape(op.result)), op.result),)

    @impl(tensor.InsertSliceOp)
    def run_insert_slice(
        self, interpreter: Interpreter, op: tensor.InsertSliceOp, args: tuple[Any, ...]
    ) -> PythonValues:
        assert len(args) == 2, "only static offsets, sizes and strides"
        source, destination = view(args[0]), view(args[1]).copy()
        sizes = _static(op.static_sizes)
        window = _window(_static(op.static_offsets), sizes, _static(op.static_strides))
        destination[window] = source.reshape(sizes)
        return (_new_like(destination, op.result),)


def _shape(value: SSAValue) -> list[int]:
    value_type = value.type
    assert isinstance(value_type, TensorType)
    return list(value_type.get_shape())


def _window(offsets: list[int], sizes: list[int], strides: list[int]) -> tuple[slice, ...]:
    return tuple(
        slice(offset, offset + max(size - 1, 0) * stride + min(size, 1), stride)
        for offset, size, stride in zip(offsets, sizes, strides, strict=True)
    )


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
        element_type = _element_type(op.result)
        values = np.array(value.get_values(), dtype=numpy_dtype(element_type))
        shape = _shape(op.result)
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


# -- nn.weight -----------------------------------------------------------------------------------


@register_impls
class WeightFunctions(InterpreterFunctions):
    """`nn.weight` from the module's store (through the nn interpreter), as a ShapedArray."""

    @impl(WeightOp)
    def run_weight(
        self, interpreter: Interpreter, op: WeightOp, args: tuple[Any, ...]
    ) -> PythonValues:
        (array,) = NnFunctions().run_weight(interpreter, op, args)
        return (_new_like(np.asarray(array), op.output),)


# -- the entry point -----------------------------------------------------------------------------


def make_interpreter(module: ModuleOp) -> Interpreter:
    """An interpreter for stage-2 IR: xDSL's implementations, completed and corrected here."""
    interpreter = Interpreter(module)
    for functions in (
        FuncFunctions(),
        ArithFunctions(),
        MathFunctions(),
        LinalgFunctions(),
        TensorFunctions(),
    ):
        interpreter.register_implementations(functions)
    for functions in (
        PythonScalarFunctions(),
        GenericFunctions(),
        TensorShapeFunctions(),
        ScalarFunctions(),
        WeightFunctions(),
    ):
        interpreter.register_implementations(functions, override=True)
    return interpreter


def run_linalg(
    module: ModuleOp,
    inputs: Sequence[np.ndarray],
    weights: Mapping[str, np.ndarray] | None = None,
    function: str = "main",
) -> list[np.ndarray]:
    """Runs `function` of a stage-2 module on numpy inputs; returns its results as numpy.

    The module is left unchanged: a copy is generalized and run. `weights` (or else the store
    attached to `module`) provides the arrays of `nn.weight` ops.
    """
    store = WeightStore(weights) if weights is not None else WeightStore.of(module)
    generalized = module.clone()
    store.attach(generalized)
    LinalgGeneralizeNamedOpsPass().apply(Context(), generalized)
    callee = _find_function(generalized, function)
    argument_types = callee.function_type.inputs.data
    result_types = callee.function_type.outputs.data
    arguments = tuple(
        to_shaped(np.asarray(array), _tensor_element(argument_type))
        for array, argument_type in zip(inputs, argument_types, strict=True)
    )
    results = make_interpreter(generalized).call_op(function, arguments)
    return [
        from_shaped(result, result_type)
        for result, result_type in zip(results, result_types, strict=True)
    ]


def _tensor_element(value_type: Attribute) -> Attribute:
    assert isinstance(value_type, TensorType), f"expected a tensor argument, got {value_type}"
    return value_type.element_type  # pyright: ignore[reportUnknownMemberType]


def _find_function(module: ModuleOp, name: str) -> FuncOp:
    for op in module.walk():
        if isinstance(op, FuncOp) and op.sym_name.data == name:
            return op
    raise KeyError(f"no function @{name} in the module")
