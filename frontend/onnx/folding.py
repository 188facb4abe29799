"""Constant folding at import: `ImportFolder` evaluates the nodes whose inputs are all known,
with the numpy code here for ONNX ops that fold but have no nn op (EyeLike, Range), the nn
reference run on a detached nn op, and onnx's reference evaluator as the last resort.

The importer (importer.py's `Converter`, through `ImportFolder.fold`) evaluates a node whose
inputs are all known with Terrace's own semantics first: the nn op the node converts to, run by
the nn dialect's numpy reference (`dialects/nn/reference/`), so a folded value is what compiled
code would compute. An op with a function body folds node by node through it. Only what has
neither (an op Terrace has no op for, a dtype nn lacks, an attribute its op does not take) goes
to onnx's ReferenceEvaluator, and the imported model lists those ops
(`ImportedModel.onnx_folded_ops`): onnx's kernels have bugs of their own (its GatherElements
reads one index per row once the gathered axis has more than 32 entries), and a value computed
by them is onnx's, not Terrace's.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import onnx
from onnx import helper
from onnx.reference import ReferenceEvaluator
from xdsl.dialects.builtin import TensorType
from xdsl.ir import Attribute, Block, SSAValue

from ...dialects.nn import ONNX_OPS
from ...dialects.nn.base import (
    NnOperation,
    TypeInferenceError,
    UnsupportedElementType,
    element_type_from_numpy,
)
from ...dialects.nn.reference import KERNELS, evaluate
from .adapters import ADAPTERS
from .checks import is_ignorable
from .control_flow.sequences import CONTAINER_OPS
from .emitter import NodeError
from .functions import function_body
from .graph import DEFAULT_DOMAINS, is_deterministic
from .nn_ops import uses_extra_outputs
from .registry import find
from .values import canonical_attribute_name, constant_of_shape, constant_value, node_attributes

if TYPE_CHECKING:
    from .importer import Converter

FOLD_LIMIT = 1 << 22
"""Constant subgraphs are evaluated at import time up to this many result elements."""


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
    if node.op_type in ("QuantizeLinear", "DequantizeLinear"):
        # onnx's reference kernels start at opset 19; versions 10 and 13 (the ones
        # onnxruntime's quantizer writes) compute a subset of it, identically
        opset = max(opset, 19)
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


@dataclass
class ImportFolder:
    """Evaluates the nodes of `converter` whose inputs are all known at import."""

    converter: Converter

    def foldable(self, node: onnx.NodeProto) -> bool:
        if not is_deterministic(node) or node.op_type in CONTAINER_OPS:
            return False
        if node.domain not in DEFAULT_DOMAINS:
            return False
        if not all(self.converter.is_constant(name) for name in node.input if name):
            return False
        if node.op_type == "ConstantOfShape":
            return True
        return all(self._array(name).size <= FOLD_LIMIT for name in node.input if name)

    def _array(self, name: str) -> np.ndarray:
        value = self.converter.env[name]
        assert isinstance(value, np.ndarray)
        return value

    def fold(self, node: onnx.NodeProto) -> list[np.ndarray]:
        """Evaluates a node whose inputs are all constant with Terrace's own semantics
        (module doc): the nn op it converts to, run by the nn reference; its function body,
        node by node; EyeLike and Range by their numpy code here. Anything else is evaluated
        by onnx's reference kernels and its op listed in `onnx_folded_ops`."""
        opset = self.converter.opset
        if node.op_type == "ConstantOfShape":
            shape = self._array(node.input[0]) if node.input and node.input[0] else None
            return [constant_of_shape(node, shape, opset)]
        if node.op_type in ONNX_OPS:
            node_attributes(node, opset)  # types and tensors checked before evaluating
        inputs = [self._array(name) if name else None for name in node.input]
        if node.op_type == "EyeLike" and inputs and inputs[0] is not None:
            return [eye_like(node, inputs[0])]
        if node.op_type == "Range" and len(inputs) == 3 and all(a is not None for a in inputs):
            return [range_values(*(a for a in inputs if a is not None))]
        if node.op_type == "Identity" and inputs and inputs[0] is not None:
            return [inputs[0]]
        folded = self._fold_as_nn_op(node) if self._folds_as_nn_op(node) else None
        if folded is None:
            folded = self._fold_function_body(node)
        if folded is not None:
            return folded
        self.converter.onnx_folded_ops.add(node.op_type)
        known = {name: self._array(name) for name in node.input if name}
        return evaluate_with_onnx(node, known, opset)

    def _folds_as_nn_op(self, node: onnx.NodeProto) -> bool:
        """Whether `node` converts to its nn op as it stands (no rewrite, no legacy form, every
        attribute one the op takes), so that the nn op's reference is its meaning."""
        op_class = ONNX_OPS.get(node.op_type)
        if op_class is None or find(node) is not None or node.domain not in DEFAULT_DOMAINS:
            return False
        legacy = ADAPTERS.get(node.op_type)
        if legacy is not None and self.converter.opset < legacy.until:
            return False  # an older opset's form (adapters.py), converted by its adapter
        several = len(op_class.get_irdl_definition().results) > 1 or node.op_type == "Split"
        if uses_extra_outputs(node, self.converter.used) and not several:
            return False
        return all(
            canonical_attribute_name(node.op_type, a.name, self.converter.opset)
            in op_class.ATTRIBUTES
            or is_ignorable(node, a, self.converter.opset)
            for a in node.attribute
        )

    def _fold_as_nn_op(self, node: onnx.NodeProto) -> list[np.ndarray] | None:
        """`node`'s nn op on placeholders of its inputs, evaluated by the nn reference; None
        when nn cannot build it (an element type it lacks, types or shapes its verifier does
        not take), which leaves the node to onnx's kernels as before."""
        block = Block()
        arrays: list[np.ndarray] = []

        def operand(name: str) -> SSAValue:
            arrays.append(self._array(name))
            return placeholder(arrays[-1], block)

        try:
            op = self.converter.make_op(
                node, node.op_type, node_attributes(node, self.converter.opset), None, operand
            )
        except (UnsupportedElementType, TypeInferenceError, NodeError):
            return None
        if not has_own_kernel(op):  # the nn reference would call onnx's kernel
            self.converter.onnx_folded_ops.add(node.op_type)
        try:
            return evaluate_nn(op, arrays)
        finally:
            op.erase(safe_erase=False)

    def _fold_function_body(self, node: onnx.NodeProto) -> list[np.ndarray] | None:
        """`node`'s results from its function body, each node of it folded; None when the op
        has no function or its body holds a node that cannot fold (a subgraph, randomness)."""
        if node.domain not in DEFAULT_DOMAINS:
            return None
        input_types = [self.converter.type_proto_of(name) for name in node.input]
        body = function_body(node, self.converter.opset, input_types, f"{node.output[0]}/fold/")
        if body is None:
            return None
        nodes, opset = body
        if not all(is_deterministic(n) and n.op_type not in CONTAINER_OPS for n in nodes):
            return None
        outer_opset, self.converter.opset = self.converter.opset, opset
        try:
            for inner in nodes:
                if inner.op_type == "Constant":
                    self.converter.env[inner.output[0]] = constant_value(inner)
                    continue
                for name, array in zip(inner.output, self.fold(inner), strict=False):
                    self.converter.env[name] = array
        finally:
            self.converter.opset = outer_opset
        return [self._array(name) for name in node.output if name]
