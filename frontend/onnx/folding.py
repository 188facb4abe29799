"""Constant folding at import: the numpy code for ONNX ops that fold but have no nn op (EyeLike,
Range), the nn reference run on a detached nn op, and onnx's reference evaluator as the last
resort.

The importer (`_Converter._fold` in onnx.py) evaluates a node whose inputs are all known with
Terrace's own semantics first: the nn op the node converts to, run by the nn dialect's numpy
reference (`dialects/nn/reference/`), so a folded value is what compiled code would compute.
An op with a function body folds node by node through it. Only what has neither (an op Terrace
has no op for, a dtype nn lacks, an attribute its op does not take) goes to onnx's
ReferenceEvaluator, and the imported model lists those ops (`ImportedModel.onnx_folded_ops`):
onnx's kernels have bugs of their own (its GatherElements reads one index per row once the
gathered axis has more than 32 entries), and a value computed by them is onnx's, not Terrace's.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
import onnx
from onnx import helper
from onnx.reference import ReferenceEvaluator
from xdsl.dialects.builtin import TensorType
from xdsl.ir import Attribute, Block, SSAValue

from ...dialects.nn.base import NnOperation, element_type_from_numpy
from ...dialects.nn.reference import KERNELS, evaluate
from .emitter import NodeError


def eye_like(node: onnx.NodeProto, like: np.ndarray) -> np.ndarray:
    """EyeLike: ones on the k-th diagonal of a matrix of `like`'s shape, in the `dtype`
    attribute's type (else `like`'s)."""
    if like.ndim != 2:
        raise NodeError(f"EyeLike takes a 2-d input, not {like.ndim}-d")
    dtype, k = like.dtype, 0
    for attribute in node.attribute:
        if attribute.name == "dtype":
            dtype = helper.tensor_dtype_to_np_dtype(attribute.i)
        if attribute.name == "k":
            k = attribute.i
    rows, columns = like.shape
    return np.eye(rows, columns, k, dtype=dtype)


def range_values(start: np.ndarray, limit: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """Range: max(ceil((limit - start) / delta), 0) elements, start + i * delta, in start's
    type (each element rounded once, where onnxruntime adds delta up in the input type)."""
    for name, value in (("start", start), ("limit", limit), ("delta", delta)):
        if value.size != 1:
            raise NodeError(f"Range input '{name}' has {value.size} elements, expected one")
    dtype = start.dtype
    first, step = start.reshape(()).item(), delta.reshape(()).item()
    if step == 0:
        raise NodeError("Range's delta is 0")
    span = np.asarray(limit.reshape(()) - start.reshape(()), dtype=dtype).item()
    count = max(math.ceil(span / step), 0)
    if np.issubdtype(dtype, np.integer):
        return (first + step * np.arange(count, dtype=np.int64)).astype(dtype)
    return (first + step * np.arange(count, dtype=np.float64)).astype(dtype)


def has_own_kernel(op: NnOperation) -> bool:
    """Whether the nn reference computes `op` with Terrace's numpy code (not onnx's kernel)."""
    return type(op) in KERNELS


def placeholder(array: np.ndarray, block: Block) -> SSAValue:
    """A value standing for `array` as an operand of a detached op (an argument of `block`)."""
    element: Attribute = element_type_from_numpy(array.dtype)
    return block.insert_arg(TensorType(element, list(array.shape)), len(block.args))


def evaluate_nn(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """The nn reference's results of `op` on `inputs` (numpy's warnings about empty slices are
    ONNX's semantics here: the mean of nothing is NaN)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            return list(evaluate(op, inputs))
        except Exception as error:  # numpy's errors on values the op cannot take (bad indices)
            raise NodeError(f"cannot evaluate this constant node: {error}") from None


def evaluate_with_onnx(
    node: onnx.NodeProto, inputs: dict[str, np.ndarray], opset: int
) -> list[np.ndarray]:
    """`node`'s results from onnx's reference kernels."""
    graph = helper.make_graph(
        [node],
        "fold",
        [
            helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape)
            for n, a in inputs.items()
        ],
        [
            helper.make_tensor_value_info(n, onnx.TensorProto.UNDEFINED, None)
            for n in node.output
            if n
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    try:
        results = ReferenceEvaluator(model).run(None, inputs)
    except Exception as error:  # onnx's kernels raise whatever numpy raises
        raise NodeError(f"cannot evaluate this constant node: {error}") from None
    arrays: list[np.ndarray] = []
    for result in results:
        if not isinstance(result, np.ndarray | np.generic):
            raise NodeError(f"a constant {type(result).__name__} is not a tensor")
        arrays.append(np.asarray(result))
    return arrays
