"""Runs stage-2 (linalg on tensors), stage-3 (linalg on memrefs) and stage-4 (scf loops on
memrefs) functions with xDSL's interpreter: the oracle for bufferize, memory-plan and the
loop-level fuzzing of the llvm lowering.

xDSL's interpreter runs linalg.generic on tensors and memrefs, memref.alloc/load/store,
tensor.empty/extract and scf. What it lacks is implemented here: the reshape and slice ops
of both levels, memref.view of a byte workspace, memref.copy, nn.weight, dense tensor
arith.constants and a linalg.fill that does not insist on a zeroed destination. Named linalg
ops are generalized with xDSL's own pass before running (its conv and pooling kernels handle
one channel only).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import product
from math import prod
from typing import Any

import numpy as np
from xdsl.dialects import arith, func, linalg, memref, tensor
from xdsl.dialects.builtin import (
    DenseIntOrFPElementsAttr,
    FloatAttr,
    IntegerAttr,
    MemRefType,
    ModuleOp,
    ShapedType,
    TensorType,
)
from xdsl.interpreter import Interpreter, InterpreterFunctions, impl, register_impls
from xdsl.interpreters import arith as arith_impls
from xdsl.interpreters import func as func_impls
from xdsl.interpreters import linalg as linalg_impls
from xdsl.interpreters import math as math_impls
from xdsl.interpreters import memref as memref_impls
from xdsl.interpreters import scf as scf_impls
from xdsl.interpreters import tensor as tensor_impls
from xdsl.interpreters.builtin import BuiltinFunctions, xtype_for_el_type
from xdsl.interpreters.shaped_array import ShapedArray
from xdsl.interpreters.utils.ptr import TypedPtr
from xdsl.ir import Attribute
from xdsl.transforms.linalg_generalize_named_ops import LinalgGeneralizeNamedOpsPass

from ..dialects.context import terrace_context
from ..dialects.nn.base import (
    dense_to_numpy,
    element_type_from_numpy,
    element_type_to_numpy,
)
from ..dialects.nn.constants import WeightOp
from ..dialects.nn.weights import WeightStore
from ..runtime.abi import read_abi_attributes
from .arith_interpreter import ScalarFunctions
from .python_scalars import PythonScalarFunctions

# ---------------------------------------------------------------------------------------------
# Arrays.


@dataclass
class StridedArray(ShapedArray[Any]):
    """A strided view (memref.subview) of another array's memory."""

    strides: list[int] | None = None
    start: int = 0

    def offset(self, index: Sequence[int]) -> int:
        assert self.strides is not None and len(index) == len(self.shape)
        return self.start + sum(i * s for i, s in zip(index, self.strides, strict=True))


def _strides_of(array: ShapedArray[Any]) -> tuple[list[int], int]:
    if isinstance(array, StridedArray) and array.strides is not None:
        return array.strides, array.start
    strides = ShapedType.strides_for_shape(array.shape)
    return [int(s) for s in strides if s is not None], 0


def to_shaped(array: np.ndarray, element_type: Attribute) -> ShapedArray[Any]:
    xtype = xtype_for_el_type(element_type, 64)
    return ShapedArray(TypedPtr.new(array.ravel().tolist(), xtype=xtype), list(array.shape))


def to_numpy(array: ShapedArray[Any], element_type: Attribute) -> np.ndarray:
    values = [array.load(index) for index in array.indices()]
    return np.array(values, dtype=element_type_to_numpy(element_type)).reshape(array.shape)


def _zeros(shaped_type: Attribute) -> ShapedArray[Any]:
    assert isinstance(shaped_type, MemRefType | TensorType)
    shape = list(shaped_type.get_shape())
    xtype = xtype_for_el_type(shaped_type.get_element_type(), 64)
    return ShapedArray(TypedPtr.zeros(prod(shape), xtype=xtype), shape)


def _copy_elements(source: ShapedArray[Any], target: ShapedArray[Any]) -> None:
    assert list(source.shape) == list(target.shape), (source.shape, target.shape)
    for index in source.indices():
        target.store(index, source.load(index))


def _reshaped(array: ShapedArray[Any], shape: Sequence[int]) -> ShapedArray[Any]:
    """The same memory with another shape (the array is contiguous)."""
    assert not isinstance(array, StridedArray), "reshape of a strided view"
    return ShapedArray(array.data_ptr, list(shape))


def _slice_view(
    array: ShapedArray[Any], op: tensor.ExtractSliceOp | tensor.InsertSliceOp | memref.SubviewOp
) -> StridedArray:
    """The strided view of `array` at `op`'s static offsets, sizes and strides."""
    offsets = op.static_offsets.get_values()
    sizes = op.static_sizes.get_values()
    steps = op.static_strides.get_values()
    base_strides, base_start = _strides_of(array)
    start = base_start + sum(o * s for o, s in zip(offsets, base_strides, strict=True))
    strides = [s * step for s, step in zip(base_strides, steps, strict=True)]
    view_type = (op.source if isinstance(op, tensor.InsertSliceOp) else op.result).type
    assert isinstance(view_type, MemRefType | TensorType)
    view_rank = view_type.get_num_dims()
    kept = list(range(len(sizes)))
    if len(sizes) != view_rank:  # rank-reduced: drop the unit dimensions
        kept = [d for d, size in enumerate(sizes) if size != 1]
    return StridedArray(array.data_ptr, [sizes[d] for d in kept], [strides[d] for d in kept], start)


# ---------------------------------------------------------------------------------------------
# What xDSL lacks.


@register_impls
class ExtraFunctions(InterpreterFunctions):
    """What xDSL's interpreter lacks for stage 2 and stage 3 IR."""

    def __init__(self, weights: Mapping[str, np.ndarray]):
        self.weights = weights
        self.iteration: list[tuple[int, ...]] = []  # loop indices of the generics being run

    @impl(linalg.ops.GenericOp)
    def run_generic(
        self, interpreter: Interpreter, op: linalg.ops.GenericOp, args: tuple[Any, ...]
    ):
        """xDSL's loop, plus linalg.index and every output (xDSL's stores the first only)."""
        inputs, inits = args[: len(op.inputs)], args[len(op.inputs) :]
        outputs = [init.copy() for init in inits] if op.results else list(inits)
        maps = [m.data for m in op.indexing_maps.data]
        shapes = [d for a in (*inputs, *outputs) if isinstance(a, ShapedArray) for d in a.shape]
        loop_ranges = op.get_shapes_to_loops_map().eval(shapes, [])
        for indices in product(*(range(r) for r in loop_ranges)):
            operands = [
                a.load(m.eval(indices, ())) if isinstance(a, ShapedArray) else a
                for a, m in zip((*inputs, *outputs), maps, strict=True)
            ]
            self.iteration.append(indices)
            values = interpreter.run_ssacfg_region(op.body, tuple(operands), "generic")
            self.iteration.pop()
            for output, value, m in zip(outputs, values, maps[len(inputs) :], strict=True):
                output.store(m.eval(indices, ()), value)
        return tuple(outputs) if op.results else ()

    @impl(linalg.ops.IndexOp)
    def run_index(self, interpreter: Interpreter, op: linalg.ops.IndexOp, args: tuple[Any, ...]):
        return (self.iteration[-1][op.dim.value.data],)

    @impl(WeightOp)
    def run_weight(self, interpreter: Interpreter, op: WeightOp, args: tuple[Any, ...]):
        assert isinstance(op.output.type, TensorType)
        return (to_shaped(self.weights[op.ref.data], op.output.type.element_type),)

    @impl(arith.ConstantOp)
    def run_constant(self, interpreter: Interpreter, op: arith.ConstantOp, args: tuple[Any, ...]):
        if isinstance(op.value, DenseIntOrFPElementsAttr):
            return (to_shaped(dense_to_numpy(op.value), op.value.get_element_type()),)
        assert isinstance(op.value, IntegerAttr | FloatAttr)
        return (op.value.value.data,)

    @impl(linalg.ops.FillOp)
    def run_fill(self, interpreter: Interpreter, op: linalg.ops.FillOp, args: tuple[Any, ...]):
        value, destination = args
        target = destination.copy() if op.results else destination
        for index in target.indices():
            target.store(index, value)
        return (target,) if op.results else ()

    @impl(tensor.CollapseShapeOp)
    def run_tensor_collapse(
        self, interpreter: Interpreter, op: tensor.CollapseShapeOp, args: tuple[Any, ...]
    ):
        return (_reshaped(args[0].copy(), op.result.type.get_shape()),)

    @impl(tensor.ExpandShapeOp)
    def run_tensor_expand(
        self, interpreter: Interpreter, op: tensor.ExpandShapeOp, args: tuple[Any, ...]
    ):
        return (_reshaped(args[0].copy(), op.result.type.get_shape()),)

    @impl(tensor.ExtractSliceOp)
    def run_extract_slice(
        self, interpreter: Interpreter, op: tensor.ExtractSliceOp, args: tuple[Any, ...]
    ):
        result = _zeros(op.result.type)
        _copy_elements(_slice_view(args[0], op), result)
        return (result,)

    @impl(tensor.InsertSliceOp)
    def run_insert_slice(
        self, interpreter: Interpreter, op: tensor.InsertSliceOp, args: tuple[Any, ...]
    ):
        source, destination = args[0], args[1].copy()
        view = _slice_view(destination, op)
        _copy_elements(_reshaped(source, view.shape), view)
        return (destination,)

    @impl(memref.CollapseShapeOp)
    def run_memref_collapse(
        self, interpreter: Interpreter, op: memref.CollapseShapeOp, args: tuple[Any, ...]
    ):
        return (_reshaped(args[0], op.result.type.get_shape()),)

    @impl(memref.ExpandShapeOp)
    def run_memref_expand(
        self, interpreter: Interpreter, op: memref.ExpandShapeOp, args: tuple[Any, ...]
    ):
        return (_reshaped(args[0], op.result.type.get_shape()),)

    @impl(memref.SubviewOp)
    def run_subview(self, interpreter: Interpreter, op: memref.SubviewOp, args: tuple[Any, ...]):
        return (_slice_view(args[0], op),)

    @impl(memref.CopyOp)
    def run_copy(self, interpreter: Interpreter, op: memref.CopyOp, args: tuple[Any, ...]):
        _copy_elements(args[0], args[1])
        return ()

    @impl(memref.ViewOp)
    def run_view(self, interpreter: Interpreter, op: memref.ViewOp, args: tuple[Any, ...]):
        workspace, byte_shift = args[0], args[1]
        result_type = op.result.type
        xtype = xtype_for_el_type(result_type.get_element_type(), 64)
        size = prod(result_type.get_shape()) * xtype.compile_time_size
        assert byte_shift + size <= len(workspace.data_ptr.raw.memory), "view out of the arena"
        data = TypedPtr(workspace.data_ptr.raw + byte_shift, xtype=xtype)
        return (ShapedArray(data, list(result_type.get_shape())),)


def _interpreter(module: ModuleOp, extra: Sequence[InterpreterFunctions] = ()) -> Interpreter:
    generalized = module.clone()
    LinalgGeneralizeNamedOpsPass().apply(terrace_context(), generalized)
    interpreter = Interpreter(generalized)
    for functions in (
        BuiltinFunctions(),
        func_impls.FuncFunctions(),
        arith_impls.ArithFunctions(),
        math_impls.MathFunctions(),
        linalg_impls.LinalgFunctions(),
        memref_impls.MemRefFunctions(),
        tensor_impls.TensorFunctions(),
        scf_impls.ScfFunctions(),
    ):
        interpreter.register_implementations(functions)
    # scalars stay Python numbers on every xDSL release (python_scalars.py)
    interpreter.register_implementations(PythonScalarFunctions(), override=True)
    # float ops rounded to f32 as hardware rounds them, so that compiled code can be compared
    interpreter.register_implementations(ScalarFunctions(), override=True)
    weights = WeightStore.of(module)
    interpreter.register_implementations(ExtraFunctions(weights), override=True)
    for functions in extra:  # a lower level's ops (vector), overriding what they extend
        interpreter.register_implementations(functions, override=True)
    return interpreter


def _main(module: ModuleOp) -> func.FuncOp:
    return next(op for op in module.ops if isinstance(op, func.FuncOp))


def _element_type(shaped_type: Attribute) -> Attribute:
    assert isinstance(shaped_type, MemRefType | TensorType), f"not shaped: {shaped_type}"
    return shaped_type.get_element_type()


# ---------------------------------------------------------------------------------------------
# Running a function.


def run_tensors(module: ModuleOp, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Runs the first function of a stage-2 module (tensors in, tensors out)."""
    function = _main(module)
    types = function.function_type
    arguments = [
        to_shaped(array, _element_type(t))
        for array, t in zip(inputs, types.inputs.data, strict=True)
    ]
    results = _interpreter(module).call_op(function.sym_name.data, tuple(arguments))
    return [to_numpy(r, _element_type(t)) for r, t in zip(results, types.outputs.data, strict=True)]


def run_buffers(
    module: ModuleOp,
    inputs: Sequence[np.ndarray],
    extra: Sequence[InterpreterFunctions] = (),
) -> list[np.ndarray]:
    """Runs the first function of a stage-3 or stage-4 module (the @main ABI of
    docs/pipeline.md): allocates its outputs and workspace, binds its weights from the
    module's store, and returns the outputs. Raises AssertionError if it wrote an input or a
    weight. `extra` implementations are registered last, overriding the others for their ops
    (the vector level's, `vector_interpreter.py`)."""
    function = _main(module)
    abi = read_abi_attributes(module, function.sym_name.data)
    assert abi is not None, "@main lacks the terrace.* ABI attributes of stage 3"
    num_inputs, num_outputs, names = abi.num_inputs, abi.num_outputs, abi.weights
    arg_types = function.function_type.inputs.data
    assert not function.function_type.outputs.data
    assert len(arg_types) == num_inputs + num_outputs + len(names) + 1
    store = WeightStore.of(module)
    outputs = [_zeros(t) for t in arg_types[num_inputs : num_inputs + num_outputs]]
    weights = [
        to_shaped(store[name], _element_type(t))
        for name, t in zip(names, arg_types[num_inputs + num_outputs : -1], strict=True)
    ]
    workspace = _zeros(arg_types[-1])
    input_arrays = [
        to_shaped(a, _element_type(t)) for a, t in zip(inputs, arg_types[:num_inputs], strict=True)
    ]
    _interpreter(module, extra).call_op(
        function.sym_name.data, (*input_arrays, *outputs, *weights, workspace)
    )
    # inputs and weights belong to the caller: the function must never write them
    originals = [*inputs, *(store[name] for name in names)]
    for array, original in zip([*input_arrays, *weights], originals, strict=True):
        written = to_numpy(array, element_type_from_numpy(original.dtype))
        np.testing.assert_array_equal(written, original, err_msg="an input or weight was written")
    element_types = [_element_type(t) for t in arg_types[num_inputs : num_inputs + num_outputs]]
    return [to_numpy(o, t) for o, t in zip(outputs, element_types, strict=True)]
