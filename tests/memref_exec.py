"""Runs stage-2 (linalg on tensors) and stage-3 (linalg on memrefs) functions with xDSL's
interpreter, for differential tests of bufferize and memory-plan.

xDSL's interpreter runs linalg.generic on tensors and memrefs, memref.alloc/load/store and
tensor.empty/extract. What it lacks is implemented here, test-side: the reshape and slice ops
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
from xdsl.interpreters import tensor as tensor_impls
from xdsl.interpreters.builtin import BuiltinFunctions, xtype_for_el_type
from xdsl.interpreters.shaped_array import ShapedArray
from xdsl.interpreters.utils.ptr import TypedPtr
from xdsl.ir import Attribute
from xdsl.transforms.linalg_generalize_named_ops import LinalgGeneralizeNamedOpsPass

from terrace.dialects.context import terrace_context
from terrace.dialects.nn.base import (
    dense_to_numpy,
    element_type_from_numpy,
    element_type_to_numpy,
)
from terrace.dialects.nn.constants import WeightOp
from terrace.dialects.nn.weights import WeightStore

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
    view_rank = (
        op.source if isinstance(op, tensor.InsertSliceOp) else op.result
    ).type.get_num_dims()
    kept = list(range(len(sizes)))
    if len(sizes) != view_rank:  # rank-reduced: drop the unit dimensions
        kept = [d for d, size in enumerate(sizes) if size != 1]
    return StridedArray(array.data_ptr, [sizes[d] for d in kept], [strides[d] for d in kept], start)


# ---------------------------------------------------------------------------------------------
# Test-side implementations.


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


def _interpreter(module: ModuleOp) -> Interpreter:
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
    ):
        interpreter.register_implementations(functions)
    weights = WeightStore.of(module)
    interpreter.register_implementations(ExtraFunctions(weights), override=True)
    return interpreter


def _main(module: ModuleOp) -> func.FuncOp:
    return next(op for op in module.ops if isinstance(op, func.FuncOp))


# ---------------------------------------------------------------------------------------------
# Running a function.


def run_tensors(module: ModuleOp, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Runs the first function of a stage-2 module (tensors in, tensors out)."""
    function = _main(module)
    types = function.function_type
    arguments = [
        to_shaped(array, t.get_element_type())
        for array, t in zip(inputs, types.inputs.data, strict=True)
    ]
    results = _interpreter(module).call_op(function.sym_name.data, tuple(arguments))
    return [
        to_numpy(r, t.get_element_type()) for r, t in zip(results, types.outputs.data, strict=True)
    ]


def run_buffers(module: ModuleOp, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Runs the first function of a stage-3 module: allocates its outputs and workspace, binds
    its weights from the module's store, and returns the outputs."""
    function = _main(module)
    num_inputs = function.attributes["terrace.num_inputs"].value.data
    num_outputs = function.attributes["terrace.num_outputs"].value.data
    names = [name.data for name in function.attributes["terrace.weights"].data]
    arg_types = function.function_type.inputs.data
    assert not function.function_type.outputs.data
    assert len(arg_types) == num_inputs + num_outputs + len(names) + 1
    store = WeightStore.of(module)
    outputs = [_zeros(t) for t in arg_types[num_inputs : num_inputs + num_outputs]]
    weights = [
        to_shaped(store[name], t.get_element_type())
        for name, t in zip(names, arg_types[num_inputs + num_outputs : -1], strict=True)
    ]
    workspace = _zeros(arg_types[-1])
    input_arrays = [
        to_shaped(a, t.get_element_type())
        for a, t in zip(inputs, arg_types[:num_inputs], strict=True)
    ]
    _interpreter(module).call_op(
        function.sym_name.data, (*input_arrays, *outputs, *weights, workspace)
    )
    # inputs and weights belong to the caller: the function must never write them
    originals = [*inputs, *(store[name] for name in names)]
    for array, original in zip([*input_arrays, *weights], originals, strict=True):
        written = to_numpy(array, element_type_from_numpy(original.dtype))
        np.testing.assert_array_equal(written, original, err_msg="an input or weight was written")
    element_types = [t.get_element_type() for t in arg_types[num_inputs : num_inputs + num_outputs]]
    return [to_numpy(o, t) for o, t in zip(outputs, element_types, strict=True)]


# ---------------------------------------------------------------------------------------------
# Random stage-2 programs.

_BINARY = ("arith.addf", "arith.subf", "arith.mulf", "arith.maximumf")
_MAP = "affine_map<(d0, d1) -> (d0, d1)>"


@dataclass(frozen=True)
class ProgramStep:
    """One op of a random program: `kind` is "binary" (a fresh result from two values),
    "accumulate" (operands[1] is the init, updated in place with += operands[0]) or "reshape"
    (a collapse then expand round trip of operands[0])."""

    kind: str
    operands: tuple[int, ...]
    op_name: str = "arith.addf"


def elementwise_program(steps: Sequence[ProgramStep], results: Sequence[int], shape=(2, 3)) -> str:
    """Stage-2 IR for a chain or diamond of elementwise ops over `%v0` (the input) and the
    values the steps define (`%v1`, ...); `results` picks the returned values."""
    tensor_type = f"tensor<{shape[0]}x{shape[1]}xf32>"
    flat_type = f"tensor<{shape[0] * shape[1]}xf32>"
    lines = [
        f"func.func @main(%v0: {tensor_type}) -> ({', '.join([tensor_type] * len(results))}) {{"
    ]
    for number, step in enumerate(steps, start=1):
        a = step.operands[0]
        if step.kind == "reshape":
            lines.append(
                f"  %flat{number} = tensor.collapse_shape %v{a} [[0, 1]] : "
                f"{tensor_type} into {flat_type}"
            )
            lines.append(
                f"  %v{number} = tensor.expand_shape %flat{number} [[0, 1]] output_shape "
                f"[{shape[0]}, {shape[1]}] : {flat_type} into {tensor_type}"
            )
            continue
        if step.kind == "accumulate":
            init, inputs, body_op, lhs = f"%v{step.operands[1]}", f"%v{a}", "arith.addf", "%o"
            maps, ins_types = f"[{_MAP}, {_MAP}]", tensor_type
            args = "%x: f32, %o: f32"
            rhs = "%x"
        else:
            lines.append(f"  %e{number} = tensor.empty() : {tensor_type}")
            init, inputs, body_op = f"%e{number}", f"%v{a}, %v{step.operands[1]}", step.op_name
            maps, ins_types = f"[{_MAP}, {_MAP}, {_MAP}]", f"{tensor_type}, {tensor_type}"
            args, lhs, rhs = "%x: f32, %y: f32, %o: f32", "%x", "%y"
        lines += [
            f"  %v{number} = linalg.generic {{indexing_maps = {maps}, iterator_types = "
            f'["parallel", "parallel"]}} ins({inputs} : {ins_types}) '
            f"outs({init} : {tensor_type}) {{",
            f"  ^bb0({args}):",
            f"    %r = {body_op} {lhs}, {rhs} : f32",
            "    linalg.yield %r : f32",
            f"  }} -> {tensor_type}",
        ]
    returned = ", ".join(f"%v{r}" for r in results)
    lines.append(f"  func.return {returned} : {', '.join([tensor_type] * len(results))}")
    lines.append("}")
    return "\n".join(lines)
