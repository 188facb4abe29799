"""Terrace's own interpreter implementations of the ops of xDSL's interpreter that take or give
scalars: arith, `tensor.extract/insert/dim/empty`, `memref.load/store`, `scf.for`.

Terrace's interpreters (interpreters.py, arith_interpreter.py, buffer_interpreter.py) hold
scalars as Python ints and floats, as xDSL's did up to 0.74. From 0.75 on, xDSL's
implementations take and give `IntegerAttr`/`FloatAttr` scalars instead, so Terrace registers
these over them (`override=True`), and its results do not depend on which xDSL release is
installed. The semantics are MLIR's: integers wrap to their width, comparisons read operands as
signed or unsigned as the predicate says, `divsi` and `remsi` round towards zero.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Any

from xdsl.dialects import arith, memref, scf, tensor
from xdsl.dialects.builtin import FloatAttr, IndexType, IntegerAttr, IntegerType, TensorType
from xdsl.interpreter import Interpreter, InterpreterFunctions, PythonValues, impl, register_impls
from xdsl.interpreters.builtin import xtype_for_el_type
from xdsl.interpreters.shaped_array import ShapedArray
from xdsl.interpreters.utils.ptr import TypedPtr
from xdsl.ir import Attribute


def bitwidth(interpreter: Interpreter, value_type: Attribute) -> int:
    """The width of an integer or index type (index as wide as the interpreter's)."""
    if isinstance(value_type, IndexType):
        return interpreter.index_bitwidth
    assert isinstance(value_type, IntegerType), f"{value_type} is not an integer type"
    return value_type.width.data


def signed(value: int, bits: int) -> int:
    """`value`'s low `bits` bits as a two's complement number."""
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def unsigned(value: int, bits: int) -> int:
    return value & ((1 << bits) - 1)


_SIGNED_PREDICATES: dict[int, Callable[[int, int], bool]] = {
    0: operator.eq,
    1: operator.ne,
    2: operator.lt,  # slt, and ult on unsigned operands
    3: operator.le,
    4: operator.gt,
    5: operator.ge,
}
"""arith.cmpi's predicates 0-5; 6-9 are 2-5 on unsigned operands."""

_ORDERED_PREDICATES: dict[int, Callable[[float, float], bool]] = {
    1: operator.eq,
    2: operator.gt,
    3: operator.ge,
    4: operator.lt,
    5: operator.le,
    6: operator.ne,
}
"""arith.cmpf's ordered predicates 1-6; 9-13 are the same, or unordered; 8 is ueq."""


def _cmpf(predicate: int, x: float, y: float) -> bool:
    unordered = math.isnan(x) or math.isnan(y)
    if predicate in (0, 15):  # false, true
        return predicate == 15
    if predicate in (7, 14):  # ord, uno
        return unordered == (predicate == 14)
    if predicate < 7:
        return not unordered and _ORDERED_PREDICATES[predicate](x, y)
    return unordered or _ORDERED_PREDICATES[predicate - 7](x, y)


def _truncated_quotient(lhs: int, rhs: int) -> int:
    quotient = abs(lhs) // abs(rhs)
    return -quotient if (lhs < 0) != (rhs < 0) else quotient


@register_impls
class PythonScalarFunctions(InterpreterFunctions):
    """Ops on Python scalars, whatever xDSL's own take."""

    @impl(arith.ConstantOp)
    def run_constant(self, interpreter: Interpreter, op: arith.ConstantOp, args: PythonValues):
        value = op.value
        if isinstance(value, FloatAttr):
            return (float(value.value.data),)
        assert isinstance(value, IntegerAttr), f"arith.constant of {value} (a scalar expected)"
        if isinstance(value.type, IndexType):
            return (signed(value.value.data, interpreter.index_bitwidth),)
        return (value.value.data,)

    @impl(arith.AndIOp)
    def run_andi(self, interpreter: Interpreter, op: arith.AndIOp, args: PythonValues):
        return (self._wrapped(interpreter, op, args[0] & args[1]),)

    @impl(arith.OrIOp)
    def run_ori(self, interpreter: Interpreter, op: arith.OrIOp, args: PythonValues):
        return (self._wrapped(interpreter, op, args[0] | args[1]),)

    @impl(arith.XOrIOp)
    def run_xori(self, interpreter: Interpreter, op: arith.XOrIOp, args: PythonValues):
        return (self._wrapped(interpreter, op, args[0] ^ args[1]),)

    @impl(arith.ShLIOp)
    def run_shli(self, interpreter: Interpreter, op: arith.ShLIOp, args: PythonValues):
        return (self._wrapped(interpreter, op, args[0] << args[1]),)

    @impl(arith.ShRSIOp)
    def run_shrsi(self, interpreter: Interpreter, op: arith.ShRSIOp, args: PythonValues):
        bits = bitwidth(interpreter, op.result.type)
        return (signed(args[0], bits) >> args[1],)

    @impl(arith.DivSIOp)
    def run_divsi(self, interpreter: Interpreter, op: arith.DivSIOp, args: PythonValues):
        bits = bitwidth(interpreter, op.result.type)
        quotient = _truncated_quotient(signed(args[0], bits), signed(args[1], bits))
        return (signed(quotient, bits),)

    @impl(arith.RemSIOp)
    def run_remsi(self, interpreter: Interpreter, op: arith.RemSIOp, args: PythonValues):
        bits = bitwidth(interpreter, op.result.type)
        lhs, rhs = signed(args[0], bits), signed(args[1], bits)
        return (lhs - _truncated_quotient(lhs, rhs) * rhs,)

    @impl(arith.FloorDivSIOp)
    def run_floordivsi(self, interpreter: Interpreter, op: arith.FloorDivSIOp, args: PythonValues):
        bits = bitwidth(interpreter, op.result.type)
        return (signed(signed(args[0], bits) // signed(args[1], bits), bits),)

    @impl(arith.CmpiOp)
    def run_cmpi(self, interpreter: Interpreter, op: arith.CmpiOp, args: PythonValues):
        bits = bitwidth(interpreter, op.lhs.type)
        predicate = op.predicate.value.data
        read = unsigned if predicate >= 6 else signed
        compare = _SIGNED_PREDICATES[predicate - 4 if predicate >= 6 else predicate]
        return (compare(read(args[0], bits), read(args[1], bits)),)

    @impl(arith.CmpfOp)
    def run_cmpf(self, interpreter: Interpreter, op: arith.CmpfOp, args: PythonValues):
        return (_cmpf(op.predicate.value.data, args[0], args[1]),)

    @impl(arith.SelectOp)
    def run_select(self, interpreter: Interpreter, op: arith.SelectOp, args: PythonValues):
        condition, lhs, rhs = args
        if not isinstance(condition, ShapedArray):
            return (lhs if condition else rhs,)
        # a shaped condition selects element by element
        chosen: list[Any] = [
            a if c else b
            for c, a, b in zip(condition.data, lhs.data, rhs.data, strict=True)  # pyright: ignore
        ]
        data = TypedPtr[Any].new(chosen, xtype=lhs.element_type)  # pyright: ignore
        return (ShapedArray(data, list(lhs.shape)),)  # pyright: ignore

    @impl(arith.IndexCastOp)
    def run_index_cast(self, interpreter: Interpreter, op: arith.IndexCastOp, args: PythonValues):
        source = bitwidth(interpreter, op.input.type)
        target = bitwidth(interpreter, op.result.type)
        return (signed(signed(args[0], source), target),)

    @impl(tensor.EmptyOp)
    def run_empty(self, interpreter: Interpreter, op: tensor.EmptyOp, args: PythonValues):
        result_type = op.tensor.type
        assert isinstance(result_type, TensorType) and not args, "tensor.empty of static shape"
        dims = list(result_type.get_shape())
        xtype = xtype_for_el_type(result_type.element_type, interpreter.index_bitwidth)
        data = TypedPtr[Any].new((0,) * math.prod(dims), xtype=xtype)
        return (ShapedArray(data, dims),)

    @impl(tensor.ExtractOp)
    def run_extract(self, interpreter: Interpreter, op: tensor.ExtractOp, args: PythonValues):
        source, *indices = args
        return (source.load(tuple(indices)),)

    @impl(tensor.InsertOp)
    def run_insert(self, interpreter: Interpreter, op: tensor.InsertOp, args: PythonValues):
        value, dest, *indices = args
        result = dest.copy()
        result.store(tuple(indices), value)
        return (result,)

    @impl(tensor.DimOp)
    def run_dim(self, interpreter: Interpreter, op: tensor.DimOp, args: PythonValues):
        return (args[0].shape[args[1]],)

    @impl(memref.LoadOp)
    def run_load(self, interpreter: Interpreter, op: memref.LoadOp, args: PythonValues):
        source, *indices = args
        return (source.load(tuple(indices)),)

    @impl(memref.StoreOp)
    def run_store(self, interpreter: Interpreter, op: memref.StoreOp, args: PythonValues):
        value, dest, *indices = args
        dest.store(tuple(indices), value)
        return ()

    @impl(scf.ForOp)
    def run_for(self, interpreter: Interpreter, op: scf.ForOp, args: PythonValues):
        lower, upper, step, *carried = args
        values = tuple(carried)
        for iv in range(lower, upper, step):
            values = interpreter.run_ssacfg_region(op.body, (iv, *values), "for_loop")
        return values

    @staticmethod
    def _wrapped(interpreter: Interpreter, op: Any, value: int) -> int:
        return signed(value, bitwidth(interpreter, op.result.type))
