"""Run-time index checks of convert-nn-to-linalg (DESIGN.md, "Run-time errors from native code").

An indexing op whose indices are known only at run time (Gather, GatherElements, GatherND,
ScatterElements, ScatterND) gets, beside its own generic, a status generic: a reduction over
the indices into a `tensor<3xi64>`, [1, axis, value] for the first index (row-major) outside
[-size, size) of its axis, else [0, 0, 0]. It reads the indices back to front (with
`tensor.extract`) and the last bad one it meets wins, so that the first one in row-major order
is reported, as the numpy reference does. Value semantics keep the lowering of the op itself
unchanged but for a clamp (`in_bounds_indices` once per index for Gather and GatherND,
`clamped_position` per element for GatherElements; the scatters compare positions and write
nothing for a bad one): no read or write leaves a buffer even on bad data, whatever the status
says.

After the patterns, `combine_index_checks` joins the statuses of a function into one
`tensor<3xi64>` result appended to it: [check number from 1, axis, value] of the first failing
check in program order, or zeros. The function records its checks, in that order, as
`terrace.index_checks = [{node, op, dims}]` (the ONNX node name, the ONNX op type and the
indexed data's shape); the runtime reads the status after each call and raises
`IndexOutOfRangeError`. A function without run-time indices gets neither. Indices that are
constants are checked here instead, at compile time.

`nn.range_check` (ReverseSequence's `sequence_lens`, TensorScatter's `write_indices`) gets a
status generic of the same form, [1, flat position, value] for the first element outside
[low, high]; its record adds `operand`, `low` and `high` (absent when unbounded), and the
runtime raises `ValueOutOfRangeError`, an `IndexOutOfRangeError` naming the operand.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from xdsl.builder import Builder
from xdsl.dialects import arith, func, tensor
from xdsl.dialects.builtin import (
    AffineMapAttr,
    ArrayAttr,
    DenseIntOrFPElementsAttr,
    DictionaryAttr,
    FunctionType,
    IntegerAttr,
    IntegerType,
    ModuleOp,
    StringAttr,
    i64,
)
from xdsl.dialects.linalg import ops as linalg
from xdsl.ir import SSAValue
from xdsl.ir.affine import AffineExpr, AffineMap
from xdsl.rewriter import InsertPoint

from ...dialects.nn import NnOperation
from ...dialects.nn.base import node_name
from ...dialects.nn.checks import RangeCheckOp, out_of_range_error
from ...dialects.nn.constants import ConstantOp
from ...dialects.nn.reference import first_out_of_range
from .common import (
    PARALLEL,
    REDUCTION,
    build_generic,
    element_type,
    elementwise_generic,
    empty_tensor,
    filled_tensor,
    shape,
)
from .common import unsupported as unsupported_error
from .shape import index_constant

CHECK_ATTRIBUTE = "terrace.index_check"
"""Marks a status generic until `combine_index_checks` collects it."""

CHECKS_ATTRIBUTE = "terrace.index_checks"
"""The checks of a function, in the order of its status result's check numbers."""

STATUS_SIZE = 3

# ---------------------------------------------------------------------------------------------
# Helpers.


def clamped_position(builder: Builder, position: SSAValue, size: int) -> SSAValue:
    """An `index` position clamped into [0, size): bad data reads inside the buffer (the
    status reports it)."""
    low = builder.insert(arith.MaxSIOp(position, index_constant(builder, 0))).result
    return builder.insert(arith.MinSIOp(low, index_constant(builder, size - 1))).result


def in_bounds_indices(
    builder: Builder, indices: SSAValue, dims: Sequence[int], axes: Sequence[int]
) -> SSAValue:
    """The indices as i64 positions in [0, size) of their axis (as `check_indices` pairs
    indices and axes): negative ones wrapped, bad ones clamped. Computed once per index, not
    once per element read: a gather's inner loop then only loads its position."""
    index_dims = shape(indices)
    sizes = [dims[a] for a in axes]

    def body(b: Builder, args: Sequence[SSAValue]) -> list[SSAValue]:
        index = _as_i64(b, args[0])
        if len(sizes) == 1:
            size = _i64(b, sizes[0])
        else:
            size = _select_constant(b, b.insert(linalg.IndexOp(len(index_dims) - 1)).result, sizes)
        negative = b.insert(arith.CmpiOp(index, _i64(b, 0), "slt")).result
        wrapped = b.insert(arith.AddiOp(index, size)).result
        position = b.insert(arith.SelectOp(negative, wrapped, index)).result
        low = b.insert(arith.MaxSIOp(position, _i64(b, 0))).result
        last = b.insert(arith.SubiOp(size, _i64(b, 1))).result
        return [b.insert(arith.MinSIOp(low, last)).result]

    return elementwise_generic(builder, [indices], i64, body)


def _constant_indices(indices: SSAValue) -> np.ndarray | None:
    """The indices' values when a constant (nn.constant or arith.constant) defines them."""
    owner = indices.owner
    if isinstance(owner, ConstantOp | arith.ConstantOp):
        value = owner.attributes.get("value") or owner.properties.get("value")
        if isinstance(value, DenseIntOrFPElementsAttr):
            values = np.asarray(value.get_values(), np.int64)
            dims = shape(indices)
            if values.size == 1:  # a splat, or a scalar
                return np.full(dims, values[0], np.int64)
            return values.reshape(dims)
    return None


def _check_constant(
    op: NnOperation, values: np.ndarray, dims: Sequence[int], axes: Sequence[int]
) -> None:
    """Constant indices are checked when compiling: a bad one fails the compile."""
    bad = first_out_of_range(values, dims, axes)
    if bad is None:
        return
    value, axis = bad
    raise unsupported_error(
        op, f"index {value} is out of range [{-dims[axis]}, {dims[axis]}) on axis {axis}"
    )


def _select_constant(b: Builder, which: SSAValue, values: Sequence[int]) -> SSAValue:
    """values[which] as an i64, `which` an index below len(values)."""
    result = b.insert(arith.ConstantOp(IntegerAttr(values[-1], i64))).result
    for position in range(len(values) - 2, -1, -1):
        is_position = b.insert(arith.CmpiOp(which, index_constant(b, position), "eq")).result
        value = b.insert(arith.ConstantOp(IntegerAttr(values[position], i64))).result
        result = b.insert(arith.SelectOp(is_position, value, result)).result
    return result


def _as_i64(b: Builder, value: SSAValue) -> SSAValue:
    assert isinstance(value.type, IntegerType)
    if value.type.width.data < 64:
        return b.insert(arith.ExtSIOp(value, i64)).result
    return value


def _reversed_loop(b: Builder, dim: int, size: int) -> SSAValue:
    """size - 1 - the loop index of `dim`: the indices are read back to front."""
    loop = b.insert(linalg.IndexOp(dim)).result
    return b.insert(arith.SubiOp(index_constant(b, size - 1), loop)).result


def _i64(b: Builder, value: int) -> SSAValue:
    return b.insert(arith.ConstantOp(IntegerAttr(value, i64))).result


def _record(op: NnOperation, dims: Sequence[int]) -> DictionaryAttr:
    return DictionaryAttr(
        {
            "node": StringAttr(node_name(op)),
            "op": StringAttr(op.ONNX_TYPE),
            "dims": ArrayAttr([IntegerAttr(d, i64) for d in dims]),
        }
    )


def check_indices(
    builder: Builder, op: NnOperation, indices: SSAValue, dims: Sequence[int], axes: Sequence[int]
) -> None:
    """Adds the status generic of `op`'s `indices` into data of shape `dims`: one axis checks
    every index against it; several check indices[..., k] against axes[k]."""
    values = _constant_indices(indices)
    if values is not None:
        _check_constant(op, values, dims, axes)
        return
    index_dims = shape(indices)
    rank = len(index_dims)
    sizes = [dims[a] for a in axes]
    if 0 in sizes and 0 not in index_dims:
        # no position is inside an empty axis, and a clamped read would leave the buffer
        raise unsupported_error(op, "indices into an axis of size 0")
    # the body reads the indices back to front with tensor.extract, as linalg's maps must be
    # invertible (n - 1 - d is not); the indices' own operand gives the loops their sizes
    maps = _status_maps(rank)

    def body(b: Builder, args: Sequence[SSAValue]) -> list[SSAValue]:
        status = args[1]
        position = [_reversed_loop(b, d, size) for d, size in enumerate(index_dims)]
        element = element_type(indices)
        index = _as_i64(b, b.insert(tensor.ExtractOp(indices, position, element)).result)
        if len(axes) == 1:
            axis, size = _i64(b, axes[0]), _i64(b, sizes[0])
        else:
            axis = _select_constant(b, position[-1], axes)
            size = _select_constant(b, position[-1], sizes)
        low = b.insert(arith.SubiOp(_i64(b, 0), size)).result
        below = b.insert(arith.CmpiOp(index, low, "slt")).result
        above = b.insert(arith.CmpiOp(index, size, "sge")).result
        bad = b.insert(arith.OrIOp(below, above)).result
        slot = b.insert(linalg.IndexOp(rank)).result
        is_flag = b.insert(arith.CmpiOp(slot, index_constant(b, 0), "eq")).result
        is_axis = b.insert(arith.CmpiOp(slot, index_constant(b, 1), "eq")).result
        reported = b.insert(arith.SelectOp(is_axis, axis, index)).result
        reported = b.insert(arith.SelectOp(is_flag, _i64(b, 1), reported)).result
        return [b.insert(arith.SelectOp(bad, reported, status)).result]

    init = filled_tensor(builder, [STATUS_SIZE], i64, 0)
    iterators = [REDUCTION] * rank + [PARALLEL]
    generic = build_generic(builder, [indices], [init], maps, iterators, body)
    generic.attributes[CHECK_ATTRIBUTE] = _record(op, dims)


def _status_maps(rank: int) -> list[AffineMapAttr]:
    """A status generic's maps: the checked tensor over the first `rank` loops (all
    reductions), the status over the last one."""
    loops = tuple(AffineExpr.dimension(d) for d in range(rank + 1))
    return [
        AffineMapAttr(AffineMap(rank + 1, 0, loops[:rank])),
        AffineMapAttr(AffineMap(rank + 1, 0, loops[rank:])),
    ]


def check_range(builder: Builder, op: RangeCheckOp) -> None:
    """Adds the status generic of an `nn.range_check`: [1, flat position, value] for the first
    element (row-major) outside [low, high], else zeros. Constant values are checked here."""
    values = op.input
    constant = _constant_indices(values)
    if constant is not None:
        error = out_of_range_error(op, constant)
        if error is not None:
            raise unsupported_error(op, str(error).split(": ", 1)[-1])
        return
    dims = shape(values)
    rank = len(dims)
    low, high = op.bounds
    maps = _status_maps(rank)

    def body(b: Builder, args: Sequence[SSAValue]) -> list[SSAValue]:
        status = args[1]
        position = [_reversed_loop(b, d, size) for d, size in enumerate(dims)]
        element = element_type(values)
        value = _as_i64(b, b.insert(tensor.ExtractOp(values, position, element)).result)
        bad = b.insert(arith.CmpiOp(value, _i64(b, low), "slt")).result
        if high is not None:
            above = b.insert(arith.CmpiOp(value, _i64(b, high), "sgt")).result
            bad = b.insert(arith.OrIOp(bad, above)).result
        flat = _i64(b, 0)
        for d, size in enumerate(dims):  # row-major: flat = flat * size + position
            scaled = b.insert(arith.MuliOp(flat, _i64(b, size))).result
            index = b.insert(arith.IndexCastOp(position[d], i64)).result
            flat = b.insert(arith.AddiOp(scaled, index)).result
        slot = b.insert(linalg.IndexOp(rank)).result
        is_flag = b.insert(arith.CmpiOp(slot, index_constant(b, 0), "eq")).result
        is_position = b.insert(arith.CmpiOp(slot, index_constant(b, 1), "eq")).result
        reported = b.insert(arith.SelectOp(is_position, flat, value)).result
        reported = b.insert(arith.SelectOp(is_flag, _i64(b, 1), reported)).result
        return [b.insert(arith.SelectOp(bad, reported, status)).result]

    init = filled_tensor(builder, [STATUS_SIZE], i64, 0)
    iterators = [REDUCTION] * rank + [PARALLEL]
    generic = build_generic(builder, [values], [init], maps, iterators, body)
    record = {
        "node": StringAttr(node_name(op)),
        "op": StringAttr(op.op_type.data),
        "dims": ArrayAttr([IntegerAttr(d, i64) for d in dims]),
        "operand": StringAttr(op.operand.data),
        "low": IntegerAttr(low, i64),
    }
    if high is not None:
        record["high"] = IntegerAttr(high, i64)
    generic.attributes[CHECK_ATTRIBUTE] = DictionaryAttr(record)


# ---------------------------------------------------------------------------------------------
# Combining the checks of a function.


def _combined_status(builder: Builder, statuses: Sequence[SSAValue]) -> SSAValue:
    """[k, axis, value] of the first status k (from 1) whose flag is set, else zeros."""
    element = AffineMapAttr(AffineMap(1, 0, (AffineExpr.dimension(0),)))
    flag = AffineMapAttr(AffineMap(1, 0, (AffineExpr.constant(0),)))
    inputs = [v for status in statuses for v in (status, status)]
    maps = [flag if n % 2 else element for n in range(len(inputs))] + [element]

    def body(b: Builder, args: Sequence[SSAValue]) -> list[SSAValue]:
        slot = b.insert(linalg.IndexOp(0)).result
        is_flag = b.insert(arith.CmpiOp(slot, index_constant(b, 0), "eq")).result
        result = _i64(b, 0)
        for number in range(len(statuses), 0, -1):
            value, status_flag = args[2 * number - 2], args[2 * number - 1]
            failed = b.insert(arith.CmpiOp(status_flag, _i64(b, 0), "ne")).result
            reported = b.insert(arith.SelectOp(is_flag, _i64(b, number), value)).result
            result = b.insert(arith.SelectOp(failed, reported, result)).result
        return [result]

    init = empty_tensor(builder, [STATUS_SIZE], i64)
    return build_generic(builder, inputs, [init], maps, [PARALLEL], body).results[0]


def _combine_in(function: func.FuncOp) -> None:
    checks = [
        op
        for op in function.walk()
        if isinstance(op, linalg.GenericOp) and CHECK_ATTRIBUTE in op.attributes
    ]
    if not checks:
        return
    records = [check.attributes.pop(CHECK_ATTRIBUTE) for check in checks]
    returned = function.body.block.last_op
    if not isinstance(returned, func.ReturnOp):
        raise unsupported_error(function, "index checks need a function that ends in return")
    builder = Builder(InsertPoint.before(returned))
    status = _combined_status(builder, [check.results[0] for check in checks])
    returned.operands = [*returned.operands, status]
    inputs = function.function_type.inputs.data
    outputs = [*function.function_type.outputs.data, status.type]
    function.function_type = FunctionType.from_lists(list(inputs), outputs)
    function.attributes[CHECKS_ATTRIBUTE] = ArrayAttr(records)


def combine_index_checks(module: ModuleOp) -> None:
    """Appends each function's combined status to its results (see the module docstring)."""
    for op in module.ops:
        if isinstance(op, func.FuncOp) and not op.is_declaration:
            _combine_in(op)
