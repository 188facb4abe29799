"""The ONNX importer: a model to a module with `func.func @main` and one nn op per ONNX node.

Order of work: read the file, check the graph (every value defined once, no cycle), list every
unsupported node, run onnx's checker and shape inference, then convert node by node. Values that
are constant at import time (initializers, Constant nodes, the Shape/Gather/Concat chains that
exporters emit for reshapes) are folded to numpy arrays and become static attributes where an nn
op takes them so, inline `nn.constant`s when small, or named `nn.weight`s in the weight store.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
from onnx import helper
from xdsl.builder import Builder
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, NameLoc, NoneAttr, StringAttr, TensorType
from xdsl.ir import Attribute, Block, Region, SSAValue
from xdsl.rewriter import InsertPoint

from ..dialects.nn import (
    ONNX_OPS,
    ConstantOfShapeOp,
    ConstantOp,
    NnOperation,
    RangeCheckOp,
    WeightOp,
)
from ..dialects.nn.base import (
    Kind,
    TypeInferenceError,
    UnsupportedElementType,
    attribute_from_python,
    dense_from_numpy,
    element_type_from_numpy,
    element_type_from_onnx,
    element_type_to_numpy,
    element_type_to_onnx,
    tensor_type_of,
)
from ..dialects.nn.checks import first_outside
from ..dialects.nn.weights import WeightStore
from ..errors import ModelImportError, ValueOutOfRangeError
from . import onnx_fold as fold
from . import onnx_lowprecision as lowprecision
from .emitter import Container, NodeError, RunTimeValueError
from .onnx_bound_values import RunTimeValues
from .onnx_container_io import flat_outputs, type_proto
from .onnx_functions import function_body, has_function
from .onnx_graph import (
    DEFAULT_DOMAINS,
    LEGACY_ATTRIBUTES,
    Problem,
    bind_input_values,
    check_element_types,
    check_model,
    check_names,
    check_shape,
    constant_values,
    default_opset,
    empty_inputs,
    fix_input_shapes,
    graph_inputs,
    initial_constants,
    is_deterministic,
    load_model,
    node_label,
    raise_problems,
    sorted_nodes,
    tensor_to_array,
)
from .onnx_rewrites import REWRITES, is_ml_rewrite, legacy_broadcast
from .onnx_sequences import CONTAINER_OPS
from .onnx_stft import make_onesided_explicit
from .onnx_training import is_training_op
from .onnx_values import (
    canonical_attribute_name,
    constant_of_shape,
    constant_value,
    fold_shape,
    is_inline,
    is_splat,
    node_attributes,
    static_value,
)

LEGACY_BROADCAST_OPS = {
    "Add",
    "Sub",
    "Mul",
    "Div",
    "Pow",
    "And",
    "Or",
    "Xor",
    "Equal",
    "Greater",
    "Less",
}
"""Binary ops that took `broadcast` and `axis` attributes before opset 7."""

LOW_PRECISION_PASS_THROUGH = {"Identity", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose"}
"""Ops that move low-precision elements without reading them (onnx_lowprecision.py)."""

FOLD_LIMIT = 1 << 22
"""Constant subgraphs are evaluated at import time up to this many result elements."""


@dataclass(frozen=True)
class TensorSpec:
    name: str
    dtype: np.dtype[np.generic]
    shape: tuple[int, ...]


@dataclass
class ImportedModel:
    """An nn module, its weights, and the signature of `@main` in ONNX terms."""

    module: ModuleOp
    weights: WeightStore
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    opset: int = 0
    node_count: int = 0
    folded_outputs: tuple[str, ...] = ()
    """The outputs known at import time: constants in `@main`, which no compiled code
    computes."""
    onnx_folded_ops: tuple[str, ...] = ()
    """The ops whose constant results onnx's reference kernels computed, not Terrace's."""


def import_model(
    source: str | Path | onnx.ModelProto,
    input_shapes: Mapping[str, Sequence[int]] | None = None,
    input_values: Mapping[str, np.ndarray] | None = None,
) -> ImportedModel:
    """Imports an ONNX model (path or ModelProto) as nn IR; raises ModelImportError.

    `input_values` binds graph inputs to values (they leave `@main`'s signature): the inputs
    that give axes, shapes, scales or trip counts, which Terrace needs when compiling. An
    output that those values alone determine is refused: it would be folded here, at import,
    not computed by compiled code."""
    model = onnx.ModelProto()
    model.CopyFrom(load_model(source))
    check_names(model)
    check_element_types(model)
    bind_input_values(model, input_values or {})
    initializers = {
        t.name: tensor_to_array(t, f"initializer '{t.name}'") for t in model.graph.initializer
    }
    nodes = sorted_nodes(model.graph)
    opset = default_opset(model)
    constant = constant_values(nodes, initial_constants(model.graph))
    raise_problems(
        [p for i, n in enumerate(nodes) if (p := _static_problem(n, i, opset, constant))]
    )
    fix_input_shapes(model, input_shapes or {})
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    make_onesided_explicit(model.graph)
    check_model(model, fixed_inputs=bool(input_shapes))
    return _Converter(model, opset, initializers, frozenset(input_values or {})).run()


# -- the per-node checks that need no types ----------------------------------------------


def _static_problem(
    node: onnx.NodeProto, index: int, opset: int, constant: set[str]
) -> Problem | None:
    def problem(reason: str) -> Problem:
        return Problem(node_label(node, index), node.op_type, opset, reason)

    if node.domain not in DEFAULT_DOMAINS and not _is_rewritten_domain_op(node):
        if has_function(node, opset):  # converted as its function body
            return None
        return problem(f"operator domain '{node.domain}' is not supported")
    if node.op_type == "Constant":
        return None  # its one value attribute is checked when it is read
    if node.output and all(name in constant for name in node.output if name):
        return None  # evaluated at import time, whatever the op
    if node.op_type in REWRITES:
        return None  # rewritten into other nn ops, which check its attributes
    op_class = ONNX_OPS.get(node.op_type)
    if op_class is None and has_function(node, opset):
        return None  # converted as its function body, whose nodes are checked then
    if op_class is None:
        return problem("operator not supported")
    for attribute in node.attribute:
        name = canonical_attribute_name(node.op_type, attribute.name, opset)
        if name in op_class.ATTRIBUTES or _is_ignorable(node, attribute, opset):
            continue
        return problem(f"attribute '{attribute.name}' not supported")
    return None


def _is_ignorable(node: onnx.NodeProto, attribute: onnx.AttributeProto, opset: int) -> bool:
    """Attributes of old opsets that do not change inference-time results."""
    if attribute.name in LEGACY_ATTRIBUTES:
        return True
    if node.op_type == "Dropout" and attribute.name == "ratio":
        return True
    if node.op_type == "Cast" and attribute.name == "round_mode":
        return True  # only FLOAT8E8M0 rounds by it, read in _convert_low_precision
    if node.op_type == "BatchNormalization" and attribute.name == "spatial":
        return helper.get_attribute_value(attribute) == 1
    if node.op_type in LEGACY_BROADCAST_OPS and attribute.name in ("broadcast", "axis"):
        return opset < 7  # converted by legacy_broadcast
    return node.op_type == "Gemm" and attribute.name == "broadcast"


# -- conversion ------------------------------------------------------------------------------


Value = SSAValue | np.ndarray


@dataclass
class _Converter:
    model: onnx.ModelProto
    opset: int
    initializers: dict[str, np.ndarray]
    bound: frozenset[str] = frozenset()
    store: WeightStore = field(default_factory=WeightStore)
    env: dict[str, Value] = field(default_factory=lambda: {})
    materialized: dict[str, SSAValue] = field(default_factory=lambda: {})
    problems: list[Problem] = field(default_factory=lambda: [])
    failed: set[str] = field(default_factory=lambda: set())
    used: set[str] = field(default_factory=lambda: set())
    top_node: onnx.NodeProto = field(default_factory=onnx.NodeProto)
    """The graph's node being converted (its expansion's nodes are converted inside it)."""
    storage: dict[str, np.dtype[np.generic]] = field(default_factory=lambda: {})
    """The real dtype of each run-time value held as low-precision bytes."""
    containers: dict[str, Container] = field(default_factory=lambda: {})
    """The sequences and optionals, by name (onnx_sequences.py)."""
    onnx_folded_ops: set[str] = field(default_factory=lambda: set())
    """The ops folded by onnx's reference kernels, not Terrace's (onnx_fold.py)."""

    def run(self) -> ImportedModel:
        graph = self.model.graph
        self.used = {name for node in graph.node for name in node.input}
        self.used |= {v.name for v in graph.output}
        inputs = [_tensor_spec(v) for v in graph_inputs(graph)]
        block = Block(arg_types=[_tensor_type(s) for s in inputs])
        empty = empty_inputs(graph)
        for arg, spec in zip(block.args, inputs, strict=True):
            arg.name_hint = _name_hint(spec.name)
            # an input without elements is known: its value is its shape and type
            self.env[spec.name] = np.zeros(spec.shape, spec.dtype) if spec.name in empty else arg
            if lowprecision.is_low_precision(spec.dtype):
                self.set_storage_dtype(spec.name, spec.dtype)
        for name, array in self.initializers.items():
            self.env.setdefault(name, array)
        self.builder = Builder(InsertPoint.at_end(block))
        for index, node in enumerate(graph.node):
            self.top_node = node
            self._convert(node, index)
        raise_problems(self.problems)
        tracer = RunTimeValues(self.model.graph, self.initializers, self.env, self.bound)
        raise_problems(tracer.bound_output_problems(self.opset))
        # a sequence or optional output returns its tensors (onnx_container_io.py)
        flat = [pair for v in graph.output for pair in flat_outputs(v.name, self.containers)]
        folded = tuple(name for name, source in flat if self.is_constant(source))
        results = [self.operand(source) for _, source in flat]
        self.builder.insert(func.ReturnOp(*results))
        outputs = [
            TensorSpec(name, self.storage.get(source, _numpy_dtype(r)), tuple(_shape(r)))
            for (name, source), r in zip(flat, results, strict=True)
        ]
        main = func.FuncOp(
            "main",
            ([a.type for a in block.args], [r.type for r in results]),
            Region(block),
        )
        module = ModuleOp([main])
        self.store.attach(module)
        return ImportedModel(
            module,
            self.store,
            inputs,
            outputs,
            self.opset,
            len(graph.node),
            folded,
            tuple(sorted(self.onnx_folded_ops)),
        )

    def _convert(self, node: onnx.NodeProto, index: int) -> None:
        label = node_label(node, index)
        if any(name in self.failed for name in node.input):
            self.failed.update(node.output)  # its producer's problem is already listed
            return
        try:
            self._convert_node(node, label)
        except (NodeError, TypeInferenceError, UnsupportedElementType) as error:
            values = None
            if isinstance(error, RunTimeValueError):
                tracer = RunTimeValues(self.model.graph, self.initializers, self.env, self.bound)
                values = (
                    error.value_inputs
                    or tracer.value_inputs(error.name)
                    or tracer.integer_value_inputs(self.top_node)
                )
            self.problems.append(Problem(label, node.op_type, self.opset, str(error), values))
            self.failed.update(node.output)

    def _convert_node(self, node: onnx.NodeProto, label: str) -> None:
        if node.op_type == "Shape" and not self.is_constant(node.input[0]):
            self.env[node.output[0]] = fold_shape(node, _shape(self.env_value(node.input[0])))
            return
        if node.op_type == "Size" and not self.is_constant(node.input[0]):
            size = int(np.prod(_shape(self.env_value(node.input[0])), dtype=np.int64))
            self.env[node.output[0]] = np.array(size, dtype=np.int64)
            return
        if self._is_low_precision(node):
            self._convert_low_precision(node, label)
            return
        value = self.env.get(node.input[0]) if node.input and node.input[0] else None
        if node.op_type == "EyeLike" and isinstance(value, SSAValue):
            # only the input's shape and type matter: evaluate it on zeros of those
            self.env[node.input[0]] = np.zeros(_shape(value), _numpy_dtype(value))
            try:
                self.env[node.output[0]] = self._fold(node)[0]
            finally:
                self.env[node.input[0]] = value
            return
        if node.op_type == "Constant":
            self.env[node.output[0]] = constant_value(node)
            return
        if self._foldable(node):
            for name, array in zip(node.output, self._fold(node), strict=False):
                self.env[name] = array
            return
        if node.op_type in LEGACY_BROADCAST_OPS and any(
            a.name == "broadcast" for a in node.attribute
        ):
            legacy_broadcast(node, _NodeEmitter(self, label))
            return
        if node.domain not in DEFAULT_DOMAINS and not _is_rewritten_domain_op(node):
            if not self._expand(node, label):
                raise NodeError(f"operator domain '{node.domain}' is not supported")
            return
        if node.op_type in REWRITES:
            REWRITES[node.op_type](node, _NodeEmitter(self, label))
            return
        known = node.op_type in ONNX_OPS
        if (not known or self._uses_extra_outputs(node)) and self._expand(node, label):
            return
        if not known:
            raise NodeError("operator not supported")
        if node.op_type in ("Softmax", "LogSoftmax") and self.opset < 13:
            self._convert_legacy_softmax(node, label)
            return
        attributes = node_attributes(node, self.opset)
        inputs = list(node.input)
        if node.op_type == "Resize" and self.opset < 11:
            # opset 10 took (X, scales) and sampled with asymmetric coordinates
            inputs = [inputs[0], "", inputs[1]]
            attributes["coordinate_transformation_mode"] = "asymmetric"
            attributes.setdefault("nearest_mode", "floor")
        op = self.build_op(node, label, node.op_type, attributes, inputs)
        self.bind_results(op, node.output)

    def _is_low_precision(self, node: onnx.NodeProto) -> bool:
        """Whether `node` reads low-precision values at run time, or casts to them."""
        if self._foldable(node):
            return False
        if node.op_type == "Cast":
            to = node_attributes(node, self.opset).get("to")
            if to in lowprecision.LOW_PRECISION_TYPES:
                return True
        return any(
            name in self.storage or self._low_precision_constant(name) for name in node.input
        )

    def _low_precision_constant(self, name: str) -> bool:
        value = self.env.get(name)
        return isinstance(value, np.ndarray) and lowprecision.is_low_precision(value.dtype)

    def _convert_low_precision(self, node: onnx.NodeProto, label: str) -> None:
        """Conversions from and to low-precision types, and ops that only move their bytes;
        any other op on them is unsupported."""
        emitter = _NodeEmitter(self, label)
        if node.op_type == "Cast":
            attributes = node_attributes(node, self.opset)
            to = attributes.pop("to")
            assert isinstance(to, int)
            for attribute in node.attribute:
                if attribute.name == "round_mode":
                    attributes["round_mode"] = helper.get_attribute_value(attribute).decode()
            lowprecision.convert(emitter, node.input[0], to, attributes, node.output[0])
            return
        if node.op_type in ("CastLike", "QuantizeLinear", "DequantizeLinear"):
            REWRITES[node.op_type](node, emitter)
            return
        low = [name for name in node.input if name and emitter.is_storage(name)]
        if node.op_type not in LOW_PRECISION_PASS_THROUGH or low != [node.input[0]]:
            name = lowprecision.type_name(emitter.dtype(low[0]))
            raise UnsupportedElementType(f"unsupported element type {name}")
        op = self.build_op(node, label, node.op_type, node_attributes(node, self.opset))
        self.bind_results(op, node.output)
        self.set_storage_dtype(node.output[0], emitter.dtype(node.input[0]))

    def set_storage_dtype(self, name: str, dtype: np.dtype[np.generic]) -> None:
        value = self.env[name]
        if isinstance(value, np.ndarray):  # known (an empty result): a constant of dtype
            self.env[name] = value.view(dtype) if value.dtype == np.uint8 else value
            return
        self.storage[name] = dtype

    def bind_results(self, op: NnOperation, names: Sequence[str]) -> None:
        """Names the op's results; an op whose results all have no elements is replaced by
        their (known, empty) values, since empty tensors have nothing to compute."""
        if op.results and all(0 in _shape(result) for result in op.results):
            for name, result in zip(names, op.results, strict=False):
                self.env[name] = np.zeros(_shape(result), _numpy_dtype(result))
            op.detach()
            op.erase()
            return
        for name, result in zip(names, op.results, strict=False):
            if name:
                self.env[name] = result

    # -- constants ---------------------------------------------------------------------------

    def env_value(self, name: str) -> Value:
        return self.env[name]

    def is_constant(self, name: str) -> bool:
        return isinstance(self.env.get(name), np.ndarray)

    def _foldable(self, node: onnx.NodeProto) -> bool:
        if not is_deterministic(node) or node.op_type in CONTAINER_OPS:
            return False
        if node.domain not in DEFAULT_DOMAINS:
            return False
        if not all(self.is_constant(name) for name in node.input if name):
            return False
        if node.op_type == "ConstantOfShape":
            return True
        return all(self._array(name).size <= FOLD_LIMIT for name in node.input if name)

    def _array(self, name: str) -> np.ndarray:
        value = self.env[name]
        assert isinstance(value, np.ndarray)
        return value

    def _fold(self, node: onnx.NodeProto) -> list[np.ndarray]:
        """Evaluates a node whose inputs are all constant with Terrace's own semantics
        (onnx_fold.py): the nn op it converts to, run by the nn reference; its function body,
        node by node; EyeLike and Range by their numpy code here. Anything else is evaluated
        by onnx's reference kernels and its op listed in `onnx_folded_ops`."""
        if node.op_type == "ConstantOfShape":
            shape = self._array(node.input[0]) if node.input and node.input[0] else None
            return [constant_of_shape(node, shape, self.opset)]
        if node.op_type in ONNX_OPS:
            node_attributes(node, self.opset)  # types and tensors checked before evaluating
        inputs = [self._array(name) if name else None for name in node.input]
        if node.op_type == "EyeLike" and inputs and inputs[0] is not None:
            return [fold.eye_like(node, inputs[0])]
        if node.op_type == "Range" and len(inputs) == 3 and all(a is not None for a in inputs):
            return [fold.range_values(*(a for a in inputs if a is not None))]
        if node.op_type == "Identity" and inputs and inputs[0] is not None:
            return [inputs[0]]
        folded = self._fold_as_nn_op(node) if self._folds_as_nn_op(node) else None
        if folded is None:
            folded = self._fold_function_body(node)
        if folded is not None:
            return folded
        self.onnx_folded_ops.add(node.op_type)
        known = {name: self._array(name) for name in node.input if name}
        return fold.evaluate_with_onnx(node, known, self.opset)

    def _folds_as_nn_op(self, node: onnx.NodeProto) -> bool:
        """Whether `node` converts to its nn op as it stands (no rewrite, no legacy form, every
        attribute one the op takes), so that the nn op's reference is its meaning."""
        op_class = ONNX_OPS.get(node.op_type)
        if op_class is None or node.op_type in REWRITES or node.domain not in DEFAULT_DOMAINS:
            return False
        if node.op_type in LEGACY_BROADCAST_OPS and self.opset < 7:
            return False
        if node.op_type in ("Softmax", "LogSoftmax") and self.opset < 13:
            return False  # flattened to 2-d first (_convert_legacy_softmax)
        if node.op_type == "Resize" and self.opset < 11:
            return False
        several = len(op_class.get_irdl_definition().results) > 1 or node.op_type == "Split"
        if self._uses_extra_outputs(node) and not several:
            return False
        return all(
            canonical_attribute_name(node.op_type, a.name, self.opset) in op_class.ATTRIBUTES
            or _is_ignorable(node, a, self.opset)
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
            return fold.placeholder(arrays[-1], block)

        try:
            op = self.make_op(node, node.op_type, node_attributes(node, self.opset), None, operand)
        except (UnsupportedElementType, TypeInferenceError, NodeError):
            return None
        if not fold.has_own_kernel(op):  # the nn reference would call onnx's kernel
            self.onnx_folded_ops.add(node.op_type)
        try:
            return fold.evaluate_nn(op, arrays)
        finally:
            op.erase(safe_erase=False)

    def _fold_function_body(self, node: onnx.NodeProto) -> list[np.ndarray] | None:
        """`node`'s results from its function body, each node of it folded; None when the op
        has no function or its body holds a node that cannot fold (a subgraph, randomness)."""
        if node.domain not in DEFAULT_DOMAINS:
            return None
        input_types = [self._type_proto(name) for name in node.input]
        body = function_body(node, self.opset, input_types, f"{node.output[0]}/fold/")
        if body is None:
            return None
        nodes, opset = body
        if not all(is_deterministic(n) and n.op_type not in CONTAINER_OPS for n in nodes):
            return None
        outer_opset, self.opset = self.opset, opset
        try:
            for inner in nodes:
                if inner.op_type == "Constant":
                    self.env[inner.output[0]] = constant_value(inner)
                    continue
                for name, array in zip(inner.output, self._fold(inner), strict=False):
                    self.env[name] = array
        finally:
            self.opset = outer_opset
        return [self._array(name) for name in node.output if name]

    def operand(self, name: str) -> SSAValue:
        """The SSA value of `name`, materializing a constant the first time it is used."""
        value = self.env[name]
        if isinstance(value, SSAValue):
            return value
        if name in self.materialized:
            return self.materialized[name]
        result = self._materialize(name, value)
        self.materialized[name] = result
        return result

    def _materialize(self, name: str, array: np.ndarray) -> SSAValue:
        if lowprecision.is_low_precision(array.dtype):
            self.storage[name] = array.dtype
            array = np.ascontiguousarray(array).view(np.uint8)
        try:
            result_type = _tensor_type(TensorSpec(name, array.dtype, array.shape))
        except UnsupportedElementType as error:
            raise NodeError(f"constant '{name}': {error}") from None
        if is_inline(array):
            op = ConstantOp.build(
                attributes={"value": dense_from_numpy(array)}, result_types=[result_type]
            )
        elif is_splat(array):
            op = ConstantOfShapeOp.build(
                attributes={
                    "shape": attribute_from_python(Kind.INTS, array.shape),
                    "value": dense_from_numpy(array.reshape(-1)[:1].copy()),
                },
                result_types=[result_type],
            )
        else:
            op = WeightOp(self.store.add(name, array), result_type)
        op.location = NameLoc(StringAttr(name), NoneAttr())
        self.builder.insert(op)
        op.results[0].name_hint = _name_hint(name)
        return op.results[0]

    # -- ops ---------------------------------------------------------------------------------

    def build_op(
        self,
        node: onnx.NodeProto,
        label: str,
        op_type: str,
        attributes: dict[str, object],
        inputs: Sequence[str] | None = None,
    ) -> NnOperation:
        op = self.make_op(node, op_type, attributes, inputs, self.operand)
        op.location = NameLoc(StringAttr(label), NoneAttr())
        self.builder.insert(op)
        for result, name in zip(op.results, node.output, strict=False):
            result.name_hint = _name_hint(name) if name else None
        return op

    def make_op(
        self,
        node: onnx.NodeProto,
        op_type: str,
        attributes: dict[str, object],
        inputs: Sequence[str] | None,
        operand: Callable[[str], SSAValue],
    ) -> NnOperation:
        """The nn op of `node`, not inserted anywhere: constant inputs that the op takes as
        attributes become attributes, the others its operands (`operand` gives their values),
        and its result types are inferred."""
        op_class = ONNX_OPS[op_type]
        names = list(node.input if inputs is None else inputs)
        dynamic: list[str] = []
        for position, name in enumerate(names):
            static_name = op_class.STATIC_INPUTS.get(position)
            if static_name is None:
                dynamic.append(name)
                continue
            if not name:
                continue
            if not self.is_constant(name):
                raise RunTimeValueError(name, f"input '{name}' ({static_name}) must be constant")
            attributes[static_name] = static_value(
                op_class.ATTRIBUTES[static_name].kind, self._array(name)
            )
        attrs: dict[str, Attribute] = {
            key: attribute_from_python(op_class.ATTRIBUTES[key].kind, value)
            for key, value in attributes.items()
        }
        operands = self._group_operands(op_class, dynamic, operand)
        result_count = len([n for n in node.output if n]) if op_type == "Split" else 1
        self._check_unused_extra_outputs(node, op_type)
        probe = op_class.build(
            operands=operands,
            attributes=attrs,
            result_types=_placeholder_results(op_class, result_count),
        )
        inferred = probe.infer_result_types()
        if any(t is None for t in inferred):
            raise NodeError("cannot infer a static result shape")
        for result_type in inferred:
            _check_result_shape(result_type)
        result_types = _group_results(op_class, [t for t in inferred if t is not None])
        op = op_class.build(operands=operands, attributes=attrs, result_types=result_types)
        probe.erase(safe_erase=False)
        return op

    def _group_operands(
        self, op_class: type[NnOperation], names: list[str], operand: Callable[[str], SSAValue]
    ) -> list[SSAValue | None | list[SSAValue]]:
        from xdsl.irdl import OptOperandDef, VarOperandDef

        while names and not names[-1]:
            names.pop()
        remaining = list(names)
        grouped: list[SSAValue | None | list[SSAValue]] = []
        for _, definition in op_class.get_irdl_definition().operands:
            if isinstance(definition, OptOperandDef):
                name = remaining.pop(0) if remaining else ""
                grouped.append([operand(name)] if name else [])
            elif isinstance(definition, VarOperandDef):
                grouped.append([operand(n) for n in remaining if n])
                remaining = []
            else:
                if not remaining or not remaining[0]:
                    raise NodeError("a required input is missing")
                grouped.append(operand(remaining.pop(0)))
        if remaining:
            raise NodeError(f"too many inputs ({len(names)})")
        return grouped

    def _check_unused_extra_outputs(self, node: onnx.NodeProto, op_type: str) -> None:
        several = len(ONNX_OPS[op_type].get_irdl_definition().results) > 1  # TopK
        if op_type != "Split" and not several and self._uses_extra_outputs(node):
            used = next(n for n in node.output[1:] if n in self.used)
            raise NodeError(f"output '{used}' (an optional output) is not supported")

    def _uses_extra_outputs(self, node: onnx.NodeProto) -> bool:
        return any(name in self.used for name in node.output[1:] if name)

    def _expand(self, node: onnx.NodeProto, label: str) -> bool:
        """Converts `node` as the function body its schema defines, if it has one."""
        input_types = [self._type_proto(name) for name in node.input]
        body = function_body(node, self.opset, input_types, f"{label}/")
        if body is None:
            return False
        nodes, opset = body
        for index, inner in enumerate(nodes):
            inner.name = inner.name or f"{label}/{inner.op_type}#{index}"
        outer_opset, self.opset = self.opset, opset
        try:
            self.convert_nodes(nodes)
        finally:
            self.opset = outer_opset
        return True

    def convert_nodes(self, nodes: Sequence[onnx.NodeProto]) -> None:
        """Converts nodes made up during import (a function body, a Scan step), in order;
        their problems are listed with the graph's."""
        self.used.update(name for node in nodes for name in node.input)
        known = {name for name, value in self.env.items() if isinstance(value, np.ndarray)}
        constant = constant_values(nodes, known)
        for index, node in enumerate(nodes):
            problem = _static_problem(node, index, self.opset, constant)
            if problem is not None:
                self.problems.append(problem)
                self.failed.update(node.output)
                continue
            self._convert(node, index)

    def _type_proto(self, name: str) -> onnx.TypeProto:
        if not name:
            return onnx.TypeProto()
        if name in self.containers:
            return type_proto(self.containers, name, self._type_proto)
        value = self.env_value(name)
        if isinstance(value, np.ndarray):
            return helper.make_tensor_type_proto(_onnx_type(value), list(value.shape))
        element = element_type_to_onnx(tensor_type_of(value).element_type)
        return helper.make_tensor_type_proto(element, _shape(value))

    def _convert_legacy_softmax(self, node: onnx.NodeProto, label: str) -> None:
        """Before opset 13, (Log)Softmax flattened the input to 2-d at `axis`."""
        source = self.operand(node.input[0])
        shape = _shape(source)
        axis = node_attributes(node, self.opset).get("axis", 1)
        assert isinstance(axis, int)
        if not -len(shape) <= axis < len(shape):
            # onnx's checker lets it pass; the flattening below would silently clamp it
            raise NodeError(f"axis {axis} is out of range for rank {len(shape)}")
        axis = axis + len(shape) if axis < 0 else axis
        if axis == len(shape) - 1:
            self.env[node.output[0]] = self.build_op(
                node, label, node.op_type, {"axis": -1}
            ).results[0]
            return
        rows = int(np.prod(shape[:axis], dtype=np.int64))
        flat = f"{node.output[0]}.flat"
        normalized = f"{node.output[0]}.2d"
        self.env[f"{flat}.shape"] = np.array([rows, -1], dtype=np.int64)
        self.env[f"{node.output[0]}.shape"] = np.array(shape, dtype=np.int64)
        reshape_in = helper.make_node("Reshape", [node.input[0], f"{flat}.shape"], [flat])
        softmax = helper.make_node(node.op_type, [flat], [normalized])
        reshape_out = helper.make_node(
            "Reshape", [normalized, f"{node.output[0]}.shape"], [node.output[0]]
        )
        for part, attributes in ((reshape_in, {}), (softmax, {"axis": 1}), (reshape_out, {})):
            op = self.build_op(part, label, part.op_type, dict(attributes))
            self.env[part.output[0]] = op.results[0]


@dataclass
class _NodeEmitter:
    """Converts the nodes that one ONNX node stands for, under that node's label."""

    converter: _Converter
    label: str
    count: int = 0

    def emit(
        self,
        op_type: str,
        inputs: Sequence[str],
        attributes: Mapping[str, object] | None = None,
        output: str = "",
    ) -> str:
        name = output or self._fresh()
        if op_type == "Identity" and self.converter.is_constant(inputs[0]):
            # a branch's or loop's result known at import stays known (shapes, counts)
            self.converter.env[name] = self.converter.env[inputs[0]]
            return name
        node = helper.make_node(op_type, list(inputs), [name])
        op = self.converter.build_op(node, self.label, op_type, dict(attributes or {}))
        self.converter.bind_results(op, [name])
        return name

    def constant(self, array: np.ndarray) -> str:
        name = self._fresh()
        self.converter.env[name] = array
        return name

    def check_range(
        self, name: str, op_type: str, operand: str, low: int, high: int | None = None
    ) -> str:
        known = self.value(name)
        if known is not None:
            bad = first_outside(known, low, high)
            if bad is None:
                return name
            error = ValueOutOfRangeError("", op_type, operand, *bad, low, high)
            raise NodeError(str(error).split(": ", 1)[-1])
        op = RangeCheckOp(self.converter.operand(name), operand, op_type, low, high)
        op.location = NameLoc(StringAttr(self.label), NoneAttr())
        self.converter.builder.insert(op)
        checked = self._fresh()
        self.converter.env[checked] = op.output
        return checked

    @property
    def opset(self) -> int:
        return self.converter.opset

    def bind(self, name: str, array: np.ndarray) -> None:
        self.converter.env[name] = array

    def convert(self, nodes: Sequence[onnx.NodeProto]) -> None:
        listed = len(self.converter.problems)
        self.converter.convert_nodes(nodes)
        failed = [
            n.op_type for n in nodes if any(name in self.converter.failed for name in n.output)
        ]
        if not failed:
            return
        message = f"its body's {failed[0]} node is not supported"
        needs = [p.value_inputs for p in self.converter.problems[listed:]]
        if all(needs):
            # only values known at run time stop the body (or failures listed before it, of
            # the nodes its inputs come from): knowing them would convert it
            value_inputs = frozenset[str]().union(*(n or () for n in needs))
            raise RunTimeValueError("", message, value_inputs or None)
        raise NodeError(message)

    def value(self, name: str) -> np.ndarray | None:
        value = self.converter.env_value(name)
        return value if isinstance(value, np.ndarray) else None

    def dtype(self, name: str) -> np.dtype[np.generic]:
        value = self.converter.env_value(name)
        if isinstance(value, np.ndarray):
            return value.dtype
        return self.converter.storage.get(name) or _numpy_dtype(value)

    def is_storage(self, name: str) -> bool:
        return lowprecision.is_low_precision(self.dtype(name))

    def set_storage_dtype(self, name: str, dtype: np.dtype[np.generic]) -> None:
        self.converter.set_storage_dtype(name, dtype)

    def shape(self, name: str) -> tuple[int, ...]:
        return tuple(_shape(self.converter.env_value(name)))

    def container(self, name: str) -> Container | None:
        return self.converter.containers.get(name)

    def producer(self, name: str) -> onnx.NodeProto | None:
        return next((n for n in self.converter.model.graph.node if name in n.output), None)

    def bind_container(self, name: str, value: Container) -> None:
        self.converter.containers[name] = value

    def _fresh(self) -> str:
        self.count += 1
        return f"{self.label}/{self.count}"


# -- helpers ---------------------------------------------------------------------------------


def _placeholder_results(
    op_class: type[NnOperation], count: int
) -> list[Attribute | list[Attribute]]:
    from xdsl.irdl import VarResultDef

    placeholder: Attribute = TensorType(element_type_from_numpy(np.dtype(np.float32)), [1])
    results: list[Attribute | list[Attribute]] = []
    for _, definition in op_class.get_irdl_definition().results:
        if isinstance(definition, VarResultDef):
            results.append([placeholder for _ in range(count)])
        else:
            results.append(placeholder)
    return results


def _group_results(
    op_class: type[NnOperation], types: list[TensorType[Attribute]]
) -> list[Attribute | list[Attribute]]:
    """Result types in the op's result groups (nn ops have either one result or one variadic
    group of results)."""
    from xdsl.irdl import VarResultDef

    definitions = [d for _, d in op_class.get_irdl_definition().results]
    if len(definitions) == 1 and isinstance(definitions[0], VarResultDef):
        return [list[Attribute](types)]
    return list[Attribute | list[Attribute]](types)


def _check_result_shape(result_type: TensorType[Attribute] | None) -> None:
    """Results past MAX_ELEMENTS (an Expand or Tile to 2**40) are refused at import, before
    any later stage allocates them."""
    if result_type is None:
        return
    try:
        check_shape(result_type.get_shape(), "the result")
    except ModelImportError as error:
        raise NodeError(str(error)) from None


def _tensor_spec(value: onnx.ValueInfoProto) -> TensorSpec:
    tensor = value.type.tensor_type
    try:
        if tensor.elem_type in lowprecision.LOW_PRECISION_TYPES:
            dtype = helper.tensor_dtype_to_np_dtype(tensor.elem_type)
        else:
            dtype = element_type_to_numpy(element_type_from_onnx(tensor.elem_type))
    except UnsupportedElementType as error:
        raise ModelImportError(f"graph input '{value.name}': {error}") from None
    return TensorSpec(value.name, dtype, tuple(d.dim_value for d in tensor.shape.dim))


def _tensor_type(spec: TensorSpec) -> TensorType[Attribute]:
    return TensorType(
        element_type_from_numpy(lowprecision.storage_dtype(spec.dtype)), list(spec.shape)
    )


def _shape(value: Value) -> list[int]:
    if isinstance(value, np.ndarray):
        return list(value.shape)
    value_type = value.type
    assert isinstance(value_type, TensorType)
    return list(value_type.get_shape())


def _is_rewritten_domain_op(node: onnx.NodeProto) -> bool:
    """An op of ai.onnx.ml or ai.onnx.preview.training that REWRITES converts."""
    return is_ml_rewrite(node) or is_training_op(node)


def _numpy_dtype(value: SSAValue) -> np.dtype[np.generic]:
    value_type = value.type
    assert isinstance(value_type, TensorType)
    return element_type_to_numpy(value_type.element_type)


def _onnx_type(array: np.ndarray) -> int:
    return helper.np_dtype_to_tensor_dtype(array.dtype)


def _name_hint(name: str) -> str | None:
    """An MLIR-legal SSA name from an ONNX value name, or None."""
    cleaned = "".join(c if c.isalnum() or c in "_$." else "_" for c in name)
    if not cleaned or cleaned[0].isdigit():
        cleaned = f"v{cleaned}"
    return cleaned
