"""numpy reference semantics of every nn op: the oracle for differential testing.

A kernel takes the op (for its attributes and result types) and numpy inputs and returns the
results. Ops whose ONNX definition is mostly windowing arithmetic (convolutions, pooling, LRN,
resizing) run onnx's own numpy reference kernel on the op's equivalent ONNX node.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import onnx
from onnx import helper
from onnx.reference import ReferenceEvaluator
from xdsl.dialects.builtin import TensorType
from xdsl.ir import Operation

from . import elementwise as ew
from .base import CANONICAL_OPSET, NnOperation, element_type_to_numpy, element_type_to_onnx

Kernel = Callable[[NnOperation, Sequence[np.ndarray]], Sequence[np.ndarray]]

KERNELS: dict[type[Operation], Kernel] = {}


def kernel(*op_types: type[Operation]) -> Callable[[Kernel], Kernel]:
    def register(function: Kernel) -> Kernel:
        for op_type in op_types:
            KERNELS[op_type] = function
        return function

    return register


def evaluate(op: Operation, inputs: Sequence[np.ndarray]) -> tuple[np.ndarray, ...]:
    """Runs one op; results are cast to the op's declared result element types."""
    assert isinstance(op, NnOperation), f"{op.name} has no reference semantics"
    run = KERNELS.get(type(op), onnx_kernel)
    outputs = run(op, inputs)
    return tuple(
        np.asarray(value, dtype=_result_dtype(result.type))
        for value, result in zip(outputs, op.results, strict=True)
    )


def _result_dtype(result_type: object) -> np.dtype[np.generic]:
    assert isinstance(result_type, TensorType)
    return element_type_to_numpy(result_type.element_type)


def onnx_kernel(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """onnx's numpy reference kernel, run on the op's equivalent ONNX node."""
    input_names = [f"in{i}" for i in range(len(inputs))]
    output_names = [f"out{i}" for i in range(len(op.results))]
    node, initializers = op.onnx_node(input_names, output_names)
    graph = helper.make_graph(
        [node],
        "reference",
        [
            helper.make_tensor_value_info(name, element_type_to_onnx(_element(v)), list(a.shape))
            for name, v, a in zip(input_names, op.operands, inputs, strict=True)
        ],
        [helper.make_tensor_value_info(name, onnx.TensorProto.UNDEFINED, None) for name in output_names],
        initializer=initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", CANONICAL_OPSET)])
    evaluator = ReferenceEvaluator(model)
    return list(evaluator.run(None, dict(zip(input_names, inputs, strict=True))))  # pyright: ignore


def _element(value: object) -> object:
    value_type = getattr(value, "type")
    assert isinstance(value_type, TensorType)
    return value_type.element_type


# -- elementwise ----------------------------------------------------------------------------


@kernel(ew.IdentityOp, ew.DropoutOp)
def _identity(op: NnOperation, inputs: Sequence[np.ndarray]):
    return [inputs[0].copy()]


@kernel(ew.ReluOp)
def _relu(op: NnOperation, inputs: Sequence[np.ndarray]):
    (x,) = inputs
    return [np.maximum(x, np.zeros((), x.dtype))]


@kernel(ew.AddOp)
def _add(op: NnOperation, inputs: Sequence[np.ndarray]):
    return [inputs[0] + inputs[1]]
