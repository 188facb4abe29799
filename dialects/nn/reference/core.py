"""The reference's core: the kernel table, `evaluate`, onnx's kernel for ops that have none
of their own, and the helpers the family modules share."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import onnx
from onnx import helper
from onnx.reference import ReferenceEvaluator
from xdsl.dialects.builtin import TensorType
from xdsl.ir import Attribute, Operation, SSAValue

from ..base import (
    CANONICAL_OPSET,
    NnOperation,
    element_type_to_numpy,
    element_type_to_onnx,
)

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
    # inf and nan results (log(0), 0/0, casts of nan) are ONNX's IEEE semantics, not errors.
    with np.errstate(all="ignore"):
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
        [
            helper.make_tensor_value_info(name, onnx.TensorProto.UNDEFINED, None)
            for name in output_names
        ],
        initializer=initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", CANONICAL_OPSET)])
    evaluator = ReferenceEvaluator(model)
    return list(evaluator.run(None, dict(zip(input_names, inputs, strict=True))))  # pyright: ignore


def _element(value: SSAValue) -> Attribute:
    value_type = value.type
    assert isinstance(value_type, TensorType)
    return value_type.element_type


# -- helpers shared by the families -------------------------------------------------------


def axis_index(axis: int, rank: int) -> int:
    """ONNX axes count from the end when negative."""
    return axis + rank if axis < 0 else axis


def widen(array: np.ndarray) -> np.ndarray:
    """float16 computes in float32 (each numpy float16 step would round to float16)."""
    return array.astype(np.float32) if array.dtype == np.float16 else array


def is_integer(array: np.ndarray) -> bool:
    return bool(np.issubdtype(array.dtype, np.integer))


def compute_dtype(dtype: np.dtype[np.generic]) -> np.dtype[np.generic]:
    """float16 and bfloat16 compute in float32 (and round once, as the lowerings do)."""
    if dtype == np.float16 or dtype.name == "bfloat16":
        return np.dtype(np.float32)
    return dtype
