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

from ...dialects.nn import (
    ONNX_OPS,
    ConstantOfShapeOp,
    ConstantOp,
    NnOperation,
    WeightOp,
)
from ...dialects.nn.base import (
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
from ...dialects.nn.weights import WeightStore
from ...errors import ModelImportError
from . import lowprecision
from .adapters import adapter
from .bound_values import RunTimeValues
from .checks import static_problem
from .container_io import flat_outputs, type_proto
from .decompose.signal.stft import make_onesided_explicit
from .emitter import Container, NodeError, RunTimeValueError
from .folding import ImportFolder
from .functions import function_body
from .graph import (
    DEFAULT_DOMAINS,
    Problem,
    bind_input_values,
    check_element_types,
    check_model,
    check_names,
    constant_values,
    default_opset,
    empty_inputs,
    fix_input_shapes,
    graph_inputs,
    initial_constants,
    load_model,
    node_label,
    raise_problems,
    sorted_nodes,
    tensor_to_array,
)
from .nn_ops import make_op, name_hint, onnx_type, uses_extra_outputs
from .node_emitter import NodeEmitter, numpy_dtype, shape_of
from .registry import find
from .values import (
    constant_value,
    fold_shape,
    is_inline,
    is_splat,
    node_attributes,
)

LOW_PRECISION_PASS_THROUGH = {"Identity", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose"}
"""Ops that move low-precision elements without reading them (lowprecision.py)."""


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
    raise_problems([p for i, n in enumerate(nodes) if (p := static_problem(n, i, opset, constant))])
    fix_input_shapes(model, input_shapes or {})
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    make_onesided_explicit(model.graph)
    check_model(model, fixed_inputs=bool(input_shapes))
    return Converter(model, opset, initializers, frozenset(input_values or {})).run()


# -- conversion ------------------------------------------------------------------------------


Value = SSAValue | np.ndarray


@dataclass
class Converter:
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
    """The sequences and optionals, by name (control_flow/sequences.py)."""
    onnx_folded_ops: set[str] = field(default_factory=lambda: set())
    """The ops folded by onnx's reference kernels, not Terrace's (folding.py)."""
    folder: ImportFolder = field(init=False)
    """Evaluates the nodes whose inputs are all known (folding.py)."""

    def __post_init__(self) -> None:
        self.folder = ImportFolder(self)

    def run(self) -> ImportedModel:
        graph = self.model.graph
        self.used = {name for node in graph.node for name in node.input}
        self.used |= {v.name for v in graph.output}
        inputs = [_tensor_spec(v) for v in graph_inputs(graph)]
        block = Block(arg_types=[_tensor_type(s) for s in inputs])
        empty = empty_inputs(graph)
        for arg, spec in zip(block.args, inputs, strict=True):
            arg.name_hint = name_hint(spec.name)
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
        # a sequence or optional output returns its tensors (container_io.py)
        flat = [pair for v in graph.output for pair in flat_outputs(v.name, self.containers)]
        folded = tuple(name for name, source in flat if self.is_constant(source))
        results = [self.operand(source) for _, source in flat]
        self.builder.insert(func.ReturnOp(*results))
        outputs = [
            TensorSpec(name, self.storage.get(source, numpy_dtype(r)), tuple(shape_of(r)))
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
        """One node, by the first way that applies: known at import, low-precision bytes, an
        older opset's form (adapters.py), a registered decomposition (registry.py), its
        function body, or the nn op of its name."""
        if self._known_shape(node):
            return
        if self._is_low_precision(node):
            self._convert_low_precision(node, label)
            return
        if self._evaluated_at_import(node):
            return
        legacy = adapter(node, self.opset) if node.domain in DEFAULT_DOMAINS else None
        if legacy is not None:
            legacy.convert(node, NodeEmitter(self, label))
            return
        found = find(node)
        if node.domain not in DEFAULT_DOMAINS and found is None:
            if not self._expand(node, label):
                raise NodeError(f"operator domain '{node.domain}' is not supported")
            return
        if found is not None:
            found.convert(node, NodeEmitter(self, label))
            return
        known = node.op_type in ONNX_OPS
        if (not known or self._uses_extra_outputs(node)) and self._expand(node, label):
            return
        if not known:
            raise NodeError("operator not supported")
        op = self.build_op(node, label, node.op_type, node_attributes(node, self.opset))
        self.bind_results(op, node.output)

    def _known_shape(self, node: onnx.NodeProto) -> bool:
        """Shape and Size of a run-time value: its static shape gives them."""
        if node.op_type == "Shape" and not self.is_constant(node.input[0]):
            self.env[node.output[0]] = fold_shape(node, shape_of(self.env_value(node.input[0])))
            return True
        if node.op_type == "Size" and not self.is_constant(node.input[0]):
            size = int(np.prod(shape_of(self.env_value(node.input[0])), dtype=np.int64))
            self.env[node.output[0]] = np.array(size, dtype=np.int64)
            return True
        return False

    def _evaluated_at_import(self, node: onnx.NodeProto) -> bool:
        """EyeLike (of any input), Constant, and nodes whose inputs are all known: their
        values, bound now."""
        value = self.env.get(node.input[0]) if node.input and node.input[0] else None
        if node.op_type == "EyeLike" and isinstance(value, SSAValue):
            # only the input's shape and type matter: evaluate it on zeros of those
            self.env[node.input[0]] = np.zeros(shape_of(value), numpy_dtype(value))
            try:
                self.env[node.output[0]] = self.folder.fold(node)[0]
            finally:
                self.env[node.input[0]] = value
            return True
        if node.op_type == "Constant":
            self.env[node.output[0]] = constant_value(node)
            return True
        if self.folder.foldable(node):
            for name, array in zip(node.output, self.folder.fold(node), strict=False):
                self.env[name] = array
            return True
        return False

    def _is_low_precision(self, node: onnx.NodeProto) -> bool:
        """Whether `node` reads low-precision values at run time, or casts to them."""
        if self.folder.foldable(node):
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
        emitter = NodeEmitter(self, label)
        if node.op_type == "Cast":
            attributes = node_attributes(node, self.opset)
            to = attributes.pop("to")
            assert isinstance(to, int)
            for attribute in node.attribute:
                if attribute.name == "round_mode":
                    attributes["round_mode"] = helper.get_attribute_value(attribute).decode()
            lowprecision.convert(emitter, node.input[0], to, attributes, node.output[0])
            return
        found = find(node)
        if node.op_type in ("CastLike", "QuantizeLinear", "DequantizeLinear") and found:
            found.convert(node, emitter)
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
        if op.results and all(0 in shape_of(result) for result in op.results):
            for name, result in zip(names, op.results, strict=False):
                self.env[name] = np.zeros(shape_of(result), numpy_dtype(result))
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
        op.results[0].name_hint = name_hint(name)
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
            result.name_hint = name_hint(name) if name else None
        return op

    def make_op(
        self,
        node: onnx.NodeProto,
        op_type: str,
        attributes: dict[str, object],
        inputs: Sequence[str] | None,
        operand: Callable[[str], SSAValue],
    ) -> NnOperation:
        """The nn op of `node`, not inserted anywhere (nn_ops.py)."""
        return make_op(node, op_type, attributes, inputs, operand, self._known, self.used)

    def _known(self, name: str) -> np.ndarray | None:
        value = self.env.get(name)
        return value if isinstance(value, np.ndarray) else None

    def _uses_extra_outputs(self, node: onnx.NodeProto) -> bool:
        return uses_extra_outputs(node, self.used)

    def _expand(self, node: onnx.NodeProto, label: str) -> bool:
        """Converts `node` as the function body its schema defines, if it has one."""
        input_types = [self.type_proto_of(name) for name in node.input]
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
            problem = static_problem(node, index, self.opset, constant)
            if problem is not None:
                self.problems.append(problem)
                self.failed.update(node.output)
                continue
            self._convert(node, index)

    def type_proto_of(self, name: str) -> onnx.TypeProto:
        if not name:
            return onnx.TypeProto()
        if name in self.containers:
            return type_proto(self.containers, name, self.type_proto_of)
        value = self.env_value(name)
        if isinstance(value, np.ndarray):
            return helper.make_tensor_type_proto(onnx_type(value), list(value.shape))
        element = element_type_to_onnx(tensor_type_of(value).element_type)
        return helper.make_tensor_type_proto(element, shape_of(value))


# -- helpers ---------------------------------------------------------------------------------


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
