"""Runs stage-2 IR (linalg on tensors, docs/pipeline.md) through xDSL's interpreter.

Values are xDSL's `ShapedArray`s, as its tensor and linalg interpreters use (shaped_arrays.py
converts them from and to numpy). xDSL lacks some of what stage 2 allows (`linalg.index`, the
reshaping and slicing tensor ops, dense constants, many arith and math ops), and its
`linalg.generic` stores every result into the first output and its `linalg.fill` writes into its
operand; the implementations here (linalg, tensor, `nn.weight`) and in arith_interpreter.py
(arith, math, dense constants) fill those gaps. Named linalg ops are generalized first (xDSL's
`linalg-generalize-named-ops`), so that only `linalg.generic` runs: xDSL's own named conv and
pooling kernels handle a single channel only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import product
from typing import Any

import numpy as np
from xdsl.context import Context
from xdsl.dialects import builtin, tensor
from xdsl.dialects.builtin import ModuleOp, TensorType
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
from xdsl.ir import Attribute
from xdsl.transforms.linalg_generalize_named_ops import LinalgGeneralizeNamedOpsPass

from ..dialects.nn import WeightOp
from ..dialects.nn.interpreter import NnFunctions
from ..dialects.nn.weights import WeightStore
from .arith_interpreter import ScalarFunctions
from .python_scalars import PythonScalarFunctions
from .shaped_arrays import (
    element_type_of,
    from_shaped,
    new_like,
    numpy_dtype,
    static_shape,
    to_shaped,
    view,
)

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
        return tuple(new_like(o, r) for o, r in zip(outputs, op.results, strict=True))

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
        filled = np.full(destination.shape, value, dtype=numpy_dtype(element_type_of(op.res[0])))
        return (new_like(filled, op.res[0]),)


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
        return (new_like(view(args[0]).reshape(static_shape(op.result)), op.result),)

    @impl(tensor.ExpandShapeOp)
    def run_expand_shape(
        self, interpreter: Interpreter, op: tensor.ExpandShapeOp, args: tuple[Any, ...]
    ) -> PythonValues:
        return (new_like(view(args[0]).reshape(static_shape(op.result)), op.result),)

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
        return (new_like(source[window].reshape(static_shape(op.result)), op.result),)

    @impl(tensor.InsertSliceOp)
    def run_insert_slice(
        self, interpreter: Interpreter, op: tensor.InsertSliceOp, args: tuple[Any, ...]
    ) -> PythonValues:
        assert len(args) == 2, "only static offsets, sizes and strides"
        source, destination = view(args[0]), view(args[1]).copy()
        sizes = _static(op.static_sizes)
        window = _window(_static(op.static_offsets), sizes, _static(op.static_strides))
        destination[window] = source.reshape(sizes)
        return (new_like(destination, op.result),)


def _window(offsets: list[int], sizes: list[int], strides: list[int]) -> tuple[slice, ...]:
    return tuple(
        slice(offset, offset + max(size - 1, 0) * stride + min(size, 1), stride)
        for offset, size, stride in zip(offsets, sizes, strides, strict=True)
    )


# -- nn.weight -----------------------------------------------------------------------------------


@register_impls
class WeightFunctions(InterpreterFunctions):
    """`nn.weight` from the module's store (through the nn interpreter), as a ShapedArray."""

    @impl(WeightOp)
    def run_weight(
        self, interpreter: Interpreter, op: WeightOp, args: tuple[Any, ...]
    ) -> PythonValues:
        (array,) = NnFunctions().run_weight(interpreter, op, args)
        return (new_like(np.asarray(array), op.output),)


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
