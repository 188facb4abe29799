"""The vector level's oracle: xDSL's interpreter on memrefs and scf, plus numpy implementations
of the vector ops Terrace emits (xDSL 0.74's interpreter has none for vector).

A vector value is a 1-D numpy array (f32 lanes, or bool for an i1 mask). The memory ops read
and write the buffers lane by lane through the interpreter's `ShapedArray`s, along the
innermost dimension from the given indices; a lane out of the buffer's innermost extent that
the op would access (a lane on in its mask) is an error, so a generator that emits undefined
behaviour fails here instead of in native code. Float ops on vectors and on scalars compute in
the element type with numpy (IEEE, one rounding per op; `vector.fma` rounds once, through
float64 where a*b is exact). Nothing here goes through Terrace's vector lowering: this is
what the lowered code is compared with.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from xdsl.dialects import arith, vector
from xdsl.dialects.builtin import DenseIntOrFPElementsAttr, ModuleOp, VectorType
from xdsl.interpreter import (
    Interpreter,
    InterpreterFunctions,
    PythonValues,
    impl,
    register_impls,
)
from xdsl.interpreters.shaped_array import ShapedArray
from xdsl.ir import Attribute, SSAValue

from .buffer_interpreter import ExtraFunctions, run_buffers
from .shaped_arrays import numpy_dtype

# helpers


def _dtype(value: SSAValue) -> np.dtype[Any]:
    value_type = value.type
    if isinstance(value_type, VectorType):
        element: Attribute = value_type.element_type  # pyright: ignore[reportUnknownMemberType]
        return numpy_dtype(element)
    return numpy_dtype(value_type)


def _lanes(value: SSAValue) -> int:
    value_type = value.type
    assert isinstance(value_type, VectorType), f"not a vector: {value_type}"
    shape: tuple[int, ...] = value_type.get_shape()
    assert len(shape) == 1, f"only 1-D vectors: {value_type}"
    return shape[0]


def _lane_index(indices: Sequence[int], lane: int, buffer: ShapedArray[Any]) -> tuple[int, ...]:
    """The index of `lane` of a vector access at `indices`: along the innermost dimension."""
    *outer, last = indices
    innermost = buffer.shape[-1]
    assert 0 <= last + lane < innermost, (
        f"vector lane {lane} at {list(indices)} is out of the innermost extent {innermost}"
    )
    return (*outer, last + lane)


def _read(
    buffer: ShapedArray[Any], indices: Sequence[int], mask: np.ndarray, passthrough: np.ndarray
) -> np.ndarray:
    result = passthrough.copy()
    for lane in np.flatnonzero(mask):
        result[lane] = buffer.load(_lane_index(indices, int(lane), buffer))
    return result


def _write(
    buffer: ShapedArray[Any], indices: Sequence[int], mask: np.ndarray, values: np.ndarray
) -> None:
    for lane in np.flatnonzero(mask):
        buffer.store(_lane_index(indices, int(lane), buffer), values[lane].item())


_Ufunc = Callable[[Any, Any], Any]


def _binary(function: _Ufunc) -> Callable[..., PythonValues]:
    """An arith float op on vectors (numpy arrays) or scalars, in the result's element type."""

    def run(self: Any, interpreter: Interpreter, op: Any, args: PythonValues) -> PythonValues:
        dtype = _dtype(op.results[0])
        lhs, rhs = np.asarray(args[0], dtype), np.asarray(args[1], dtype)
        with np.errstate(all="ignore"):
            result = np.asarray(function(lhs, rhs), dtype)
        if isinstance(op.results[0].type, VectorType):
            return (result,)
        return (result.item(),)

    return run


_BINARY: dict[type[Any], _Ufunc] = {
    arith.AddfOp: np.add,
    arith.SubfOp: np.subtract,
    arith.MulfOp: np.multiply,
    arith.DivfOp: np.divide,
    arith.MaximumfOp: np.maximum,  # NaN-propagating, as arith.maximumf
    arith.MinimumfOp: np.minimum,
}


# the implementations


@register_impls
class VectorFunctions(InterpreterFunctions):
    """vector.load/store, maskedload/maskedstore, broadcast, fma; arith float ops and dense
    constants on vectors (scalars as before)."""

    @impl(vector.LoadOp)
    def run_load(self, interpreter: Interpreter, op: vector.LoadOp, args: PythonValues):
        buffer, *indices = args
        lanes = _lanes(op.result)
        empty = np.zeros(lanes, _dtype(op.result))
        return (_read(buffer, indices, np.ones(lanes, np.bool_), empty),)

    @impl(vector.StoreOp)
    def run_store(self, interpreter: Interpreter, op: vector.StoreOp, args: PythonValues):
        values, buffer, *indices = args
        _write(buffer, indices, np.ones(len(values), np.bool_), values)
        return ()

    @impl(vector.MaskedLoadOp)
    def run_masked_load(
        self, interpreter: Interpreter, op: vector.MaskedLoadOp, args: PythonValues
    ):
        buffer, *indices, mask, passthrough = args
        return (_read(buffer, indices, mask, passthrough),)

    @impl(vector.MaskedStoreOp)
    def run_masked_store(
        self, interpreter: Interpreter, op: vector.MaskedStoreOp, args: PythonValues
    ):
        buffer, *indices, mask, values = args
        _write(buffer, indices, mask, values)
        return ()

    @impl(vector.BroadcastOp)
    def run_broadcast(self, interpreter: Interpreter, op: vector.BroadcastOp, args: PythonValues):
        assert not isinstance(op.source.type, VectorType), "only broadcasts of a scalar"
        return (np.full(_lanes(op.vector), args[0], _dtype(op.vector)),)

    @impl(vector.FMAOp)
    def run_fma(self, interpreter: Interpreter, op: vector.FMAOp, args: PythonValues):
        lhs, rhs, acc = (np.asarray(a, np.float64) for a in args)
        # an f32 product is exact in float64, so the sum rounds (almost) once, as fma does
        with np.errstate(all="ignore"):
            return ((lhs * rhs + acc).astype(_dtype(op.res)),)

    @impl(arith.ConstantOp)
    def run_constant(self, interpreter: Interpreter, op: arith.ConstantOp, args: PythonValues):
        value = op.value
        if not isinstance(op.result.type, VectorType):
            return ExtraFunctions({}).run_constant(interpreter, op, args).values
        assert isinstance(value, DenseIntOrFPElementsAttr)
        dtype = np.dtype(np.bool_) if _dtype(op.result) == np.int8 else _dtype(op.result)
        values = np.array(value.get_values())
        lanes = _lanes(op.result)
        return (np.broadcast_to(values != 0 if dtype == np.bool_ else values, lanes).astype(dtype),)


for _op_type, _function in _BINARY.items():
    setattr(VectorFunctions, f"_run_{_op_type.__name__}", impl(_op_type)(_binary(_function)))
register_impls(VectorFunctions)


# the entry point


def run_vectors(module: ModuleOp, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Runs @main of a vector-level module (the stage-3 ABI) with the interpreter; returns its
    outputs. Raises AssertionError on an out-of-bounds lane or a written input."""
    return run_buffers(module, inputs, extra=[VectorFunctions()])
