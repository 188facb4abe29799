"""Reading and checking an ONNX model before conversion: loading, graph well-formedness (every
value defined once, no cycles), the list of unsupported nodes, and static input shapes.

Everything here fails with one `ModelImportError` line that names the problem.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from google.protobuf.message import DecodeError
from onnx import helper, numpy_helper

from ..dialects.nn.base import UnsupportedElementType, element_type_from_onnx
from ..errors import ModelImportError, UnsupportedModelError, first_line
from .onnx_lowprecision import LOW_PRECISION_TYPES, packed_count
from .onnx_training import TRAINING_DOMAIN

DEFAULT_DOMAINS = ("", "ai.onnx")

MAX_ELEMENTS = 2**31
"""The most elements any tensor (input, weight, constant, result) may have: a bound checked
before anything is allocated, so that a shape of 2**40 is an error and not a MemoryError."""

MAX_RANK = 32
"""The highest rank of any tensor (numpy stops at 64; no model needs more than a handful)."""

# Attributes of old opsets that carry no meaning for inference-time semantics.
LEGACY_ATTRIBUTES = {"consumed_inputs", "is_test"}


def node_label(node: onnx.NodeProto, index: int) -> str:
    """How errors name a node: its name, else its op type and position."""
    return node.name or f"{node.op_type}#{index}"


def load_model(source: str | Path | onnx.ModelProto) -> onnx.ModelProto:
    """Reads an ONNX file (external data included) or takes a ModelProto as it is."""
    if isinstance(source, onnx.ModelProto):
        return source
    path = Path(source)
    if not path.is_file():
        raise ModelImportError(f"{path}: no such model file")
    try:
        model = onnx.load(str(path), load_external_data=False)
        if any(_uses_external_data(t) for t in model.graph.initializer):
            onnx.load_external_data_for_model(model, str(path.parent))
    except (DecodeError, RuntimeError, ValueError, OSError, onnx.checker.ValidationError) as error:
        raise ModelImportError(f"{path}: not a readable ONNX model ({first_line(error)})") from None
    if not model.graph.node and not model.graph.output:
        raise ModelImportError(f"{path}: not a readable ONNX model (no graph)")
    return model


def _uses_external_data(tensor: onnx.TensorProto) -> bool:
    return tensor.data_location == onnx.TensorProto.EXTERNAL


def check_names(model: onnx.ModelProto) -> None:
    """Every name is text: protobuf hands a string field that is not valid UTF-8 back as bytes,
    which no dictionary of names (nor onnx's checker) can take. String attributes, which ONNX
    defines as UTF-8 too, must decode, in subgraphs as well: the importer decodes them."""
    graph = model.graph
    values = [*graph.input, *graph.output, *graph.value_info]
    names: list[object] = [v.name for v in values]
    names += [t.name for t in graph.initializer]
    for node in graph.node:
        names += [node.name, node.op_type, node.domain, *node.input, *node.output]
        names += [a.name for a in node.attribute]
    names += [entry.domain for entry in model.opset_import]
    for name in names:
        if not isinstance(name, str):
            raise ModelImportError(f"invalid ONNX model: name {name!r} is not UTF-8 text")
    _check_string_attributes(graph)


def _check_string_attributes(graph: onnx.GraphProto) -> None:
    for node in graph.node:
        for attribute in node.attribute:
            if not all(_is_utf8(text) for text in [attribute.s, *attribute.strings]):
                raise ModelImportError(
                    f"invalid ONNX model: node '{node.name or node.op_type}' ({node.op_type}): "
                    f"attribute '{attribute.name}' is not UTF-8 text"
                )
            for subgraph in [attribute.g, *attribute.graphs]:
                _check_string_attributes(subgraph)


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode()
    except UnicodeDecodeError:
        return False
    return True


def check_element_types(model: onnx.ModelProto) -> None:
    """Every declared tensor type is one ONNX knows (onnx's own inference fails on others with
    a bare ValueError)."""
    graph = model.graph
    for value in [*graph.input, *graph.output, *graph.value_info]:
        code = value.type.tensor_type.elem_type
        if value.type.HasField("tensor_type") and code not in onnx.TensorProto.DataType.values():
            raise ModelImportError(f"value '{value.name}' has an unknown element type {code}")


def check_shape(dims: Sequence[int], what: str) -> None:
    """A static shape Terrace can hold: no negative dimension, rank and size bounded."""
    if len(dims) > MAX_RANK:
        raise ModelImportError(f"{what} has rank {len(dims)}, more than {MAX_RANK}")
    if any(d < 0 for d in dims):
        raise ModelImportError(f"{what} has a negative dimension: {list(dims)}")
    elements = 1
    for dim in dims:
        elements *= dim  # exact in Python integers, so 2**40 x 2**40 cannot wrap
    if elements > MAX_ELEMENTS:
        raise ModelImportError(
            f"{what} has {elements} elements ({list(dims)}), more than {MAX_ELEMENTS}"
        )


def tensor_to_array(tensor: onnx.TensorProto, what: str) -> np.ndarray:
    """A TensorProto's value, after checking its dtype, shape and that its data holds exactly
    the elements its shape says (numpy would fail deep inside otherwise)."""
    if tensor.data_type not in onnx.TensorProto.DataType.values():
        raise ModelImportError(f"{what} has an unknown element type {tensor.data_type}")
    try:
        if tensor.data_type not in LOW_PRECISION_TYPES:  # held as bytes, converted by Cast
            element_type_from_onnx(tensor.data_type)
    except UnsupportedElementType as error:
        raise UnsupportedModelError(f"{what}: {error}") from None
    if tensor.data_location == onnx.TensorProto.EXTERNAL:
        raise ModelImportError(
            f"{what} keeps its data in an external file; import the model by its path"
        )
    if tensor.HasField("segment"):
        raise UnsupportedModelError(f"{what} is stored in segments, which are not supported")
    check_shape(list(tensor.dims), what)
    elements = int(np.prod(list(tensor.dims), dtype=np.int64))
    dtype = helper.tensor_dtype_to_np_dtype(tensor.data_type)
    if tensor.HasField("raw_data"):
        found, expected = len(tensor.raw_data), elements * dtype.itemsize
        unit = "bytes of raw_data"
    else:
        field = helper.tensor_dtype_to_field(tensor.data_type)
        found, expected = len(getattr(tensor, field)), elements
        unit = f"values in {field}"
    if tensor.data_type in LOW_PRECISION_TYPES:
        expected = packed_count(tensor.data_type, elements)
    if found != expected:
        raise ModelImportError(
            f"{what} has shape {list(tensor.dims)} but {found} {unit} (expected {expected})"
        )
    return onnx.numpy_helper.to_array(tensor)


def default_opset(model: onnx.ModelProto) -> int:
    """The default domain's opset, one that onnx defines: an opset from the future (999) has
    operator semantics nobody knows, so the model is refused rather than read as today's."""
    for entry in model.opset_import:
        if entry.domain not in DEFAULT_DOMAINS:
            continue
        newest = onnx.defs.onnx_opset_version()
        if not 1 <= entry.version <= newest:
            raise ModelImportError(
                f"the model imports opset {entry.version} of the default ONNX domain; "
                f"onnx defines opsets 1 to {newest}"
            )
        return entry.version
    if any(entry.domain == "ai.onnx.ml" for entry in model.opset_import):
        return onnx.defs.onnx_opset_version()  # ai.onnx.ml ops only: rewritten into today's ops
    if any(entry.domain == TRAINING_DOMAIN for entry in model.opset_import):
        return onnx.defs.onnx_opset_version()  # its optimizers' rewrites use today's ops
    raise ModelImportError("the model imports no version of the default ONNX domain")


def sorted_nodes(graph: onnx.GraphProto) -> list[onnx.NodeProto]:
    """The graph's nodes in a topological order, after checking that every value is defined
    exactly once and that there is no cycle."""
    defined: dict[str, str] = {}
    for tensor in graph.initializer:
        defined[tensor.name] = "an initializer"
    for value in graph.input:
        if value.name in defined and defined[value.name] == "a graph input":
            raise ModelImportError(f"graph input '{value.name}' is declared twice")
        defined.setdefault(value.name, "a graph input")
    producer: dict[str, int] = {}
    for index, node in enumerate(graph.node):
        for output in node.output:
            if not output:
                continue
            if output in defined or output in producer:
                raise ModelImportError(
                    f"node '{node_label(node, index)}' ({node.op_type}) defines '{output}', "
                    "which is already defined"
                )
            producer[output] = index
    for index, node in enumerate(graph.node):
        for name in node.input:
            if name and name not in defined and name not in producer:
                raise ModelImportError(
                    f"node '{node_label(node, index)}' ({node.op_type}) reads '{name}', "
                    "which no node, initializer or graph input defines"
                )
    for value in graph.output:
        if value.name not in defined and value.name not in producer:
            raise ModelImportError(f"graph output '{value.name}' is never defined")
    return _topological_order(graph, producer)


def node_inputs(node: onnx.NodeProto) -> set[str]:
    """The values a node reads: its inputs, and the enclosing graph's values that its
    subgraphs (Scan, Loop and If bodies) read."""
    names = {name for name in node.input if name}
    for attribute in node.attribute:
        if attribute.type == onnx.AttributeProto.GRAPH:
            names |= _outer_references(attribute.g)
        if node.op_type == "Gradient" and attribute.name == "y":
            names.add(attribute.s.decode())  # differentiates the nodes that compute y
        for subgraph in attribute.graphs:
            names |= _outer_references(subgraph)
    return names


def _outer_references(graph: onnx.GraphProto) -> set[str]:
    defined = {v.name for v in graph.input} | {t.name for t in graph.initializer}
    defined |= {name for node in graph.node for name in node.output}
    read = set[str]().union(*(node_inputs(node) for node in graph.node))
    return read - defined


def _topological_order(graph: onnx.GraphProto, producer: Mapping[str, int]) -> list[onnx.NodeProto]:
    nodes = list(graph.node)
    waiting_on = [
        {producer[name] for name in node_inputs(node) if name in producer} for node in nodes
    ]
    users: dict[int, list[int]] = {}
    for index, deps in enumerate(waiting_on):
        for dep in deps:
            users.setdefault(dep, []).append(index)
    ready = [i for i, deps in enumerate(waiting_on) if not deps]
    order: list[int] = []
    while ready:
        index = ready.pop(0)
        order.append(index)
        for user in users.get(index, []):
            waiting_on[user].discard(index)
            if not waiting_on[user]:
                ready.append(user)
    if len(order) < len(nodes):
        stuck = [node_label(nodes[i], i) for i in range(len(nodes)) if i not in set(order)]
        raise ModelImportError(f"the graph has a cycle through nodes {', '.join(stuck[:8])}")
    return [nodes[i] for i in order]


NONDETERMINISTIC_OPS = {
    "Bernoulli",
    "Multinomial",
    "RandomNormal",
    "RandomNormalLike",
    "RandomUniform",
    "RandomUniformLike",
}
"""Ops whose results differ from run to run: never evaluated at import time."""

SHAPE_OPS = {"Shape", "Size", "EyeLike"}
"""Ops whose result depends only on their input's (static) shape and type."""


def is_deterministic(node: onnx.NodeProto) -> bool:
    """Whether a node's results are a function of its inputs alone: no randomness, no
    subgraph (which could read values of the enclosing graph)."""
    if node.op_type in NONDETERMINISTIC_OPS:
        return False
    return all(
        a.type not in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS)
        for a in node.attribute
    )


def empty_inputs(graph: onnx.GraphProto) -> set[str]:
    """The graph inputs with a zero-size dimension (after `fix_input_shapes`): they hold no
    data, so their value is known at import time."""
    return {
        v.name
        for v in graph_inputs(graph)
        if any(d.HasField("dim_value") and d.dim_value == 0 for d in v.type.tensor_type.shape.dim)
    }


def initial_constants(graph: onnx.GraphProto) -> set[str]:
    """The graph's values known before any node runs: initializers and empty inputs."""
    return {t.name for t in graph.initializer} | empty_inputs(graph)


def constant_values(nodes: Sequence[onnx.NodeProto], known: set[str]) -> set[str]:
    """The values known at import time: `known` ones, and the results of Constant nodes, of
    Shape and Size (shapes are static) and of deterministic nodes whose inputs are all known.
    `nodes` are in topological order."""
    known = set(known)
    for node in nodes:
        computable = node.op_type in SHAPE_OPS or all(name in known for name in node.input if name)
        if is_deterministic(node) and computable:
            known.update(name for name in node.output if name)
    return known


def check_model(model: onnx.ModelProto, fixed_inputs: bool = False) -> None:
    """onnx's checker and strict type inference, as one line. Graph outputs may leave their
    shape out (onnxruntime takes such models; their shapes come from inference), so the checker
    sees a placeholder. `fixed_inputs`: the user set input shapes, so the shapes the model
    declares further down may be stale and are not checked."""
    unshaped = [
        v.type.tensor_type
        for v in model.graph.output
        if v.type.HasField("tensor_type") and not v.type.tensor_type.HasField("shape")
    ]
    for tensor in unshaped:
        tensor.shape.SetInParent()
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as error:
        raise ModelImportError(f"invalid ONNX model: {first_line(error)}") from None
    except UnicodeDecodeError:  # onnx's binding could not decode its own message
        raise ModelImportError("invalid ONNX model (the checker's message is not UTF-8)") from None
    finally:
        for tensor in unshaped:
            tensor.ClearField("shape")
    _check_types(model, fixed_inputs)


def _check_types(model: onnx.ModelProto, fixed_inputs: bool) -> None:
    """onnx's strict type and shape inference: inputs whose types an operator does not take
    (Pad on int8), declared output types or shapes that the graph does not compute. nn's
    verifiers are looser than ONNX's schemas, so without this Terrace would run models that
    onnxruntime and every other ONNX consumer refuse."""
    with _weights_set_aside(model):
        _infer_strictly(_without_declared_shapes(model) if fixed_inputs else model)


def _infer_strictly(model: onnx.ModelProto) -> None:
    try:
        onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    except (onnx.shape_inference.InferenceError, onnx.checker.ValidationError) as error:
        raise ModelImportError(f"invalid ONNX model: {first_line(error)}") from None
    except UnicodeDecodeError:  # a ValueError too: the binding could not decode its message
        raise ModelImportError("invalid ONNX model (inference's message is not UTF-8)") from None
    except ValueError as error:  # the binding's word for a malformed model (a bad type code)
        raise ModelImportError(f"invalid ONNX model: {first_line(error)}") from None


INFERENCE_DATA_LIMIT = 1 << 16
"""Initializers whose data passes this many bytes (weights) go into shape inference without it."""


@contextmanager
def _weights_set_aside(model: onnx.ModelProto) -> Generator[None]:
    """The graph's large initializers without their data for a while; their types and dims
    stay. onnx's shape inference serializes the whole model into C++, weights included, yet reads
    the values of small tensors only (shapes, axes, pads): on VGG-19's 548 MB that copy cost
    2.5 s of each import's 3.4 s of inference. (The checker before it sees the data.)"""
    aside: list[tuple[onnx.TensorProto, bytes]] = []
    for tensor in model.graph.initializer:
        if len(tensor.raw_data) > INFERENCE_DATA_LIMIT:
            aside.append((tensor, tensor.raw_data))
            tensor.ClearField("raw_data")
    try:
        yield
    finally:
        for tensor, data in aside:
            tensor.raw_data = data


def _without_declared_shapes(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy whose graph outputs and value_info keep their types but lose their shapes."""
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    for value in [*copy.graph.output, *copy.graph.value_info]:
        if value.type.HasField("tensor_type"):
            value.type.tensor_type.ClearField("shape")
    return copy


@dataclass(frozen=True)
class Problem:
    """One node that Terrace cannot import, and why."""

    node: str
    op_type: str
    opset: int
    reason: str
    value_inputs: frozenset[str] | None = None
    """The graph inputs whose run-time values would make this node static, if that would."""

    def __str__(self) -> str:
        return f"{self.node} ({self.op_type}, opset {self.opset}): {self.reason}"


def raise_problems(problems: Sequence[Problem]) -> None:
    if not problems:
        return
    listed = "; ".join(str(p) for p in problems)
    noun = "node" if len(problems) == 1 else "nodes"
    values: frozenset[str] = frozenset()
    if all(p.value_inputs for p in problems):
        values = frozenset().union(*(p.value_inputs or () for p in problems))
    raise UnsupportedModelError(f"unsupported: {len(problems)} {noun}: {listed}", values)


VALUE_INPUT_LIMIT = 4096
"""The most elements an input may have to be bound to its value when compiling: axes, shapes,
scales, pads, trip counts; never a data tensor."""


def bind_input_values(model: onnx.ModelProto, values: Mapping[str, np.ndarray]) -> None:
    """Gives each graph input named in `values` that value as its initializer, so the model is
    compiled for it; each is checked against the input's declared element type and shape."""
    inputs = {v.name: v for v in graph_inputs(model.graph)}
    for name, value in values.items():
        declared = inputs.get(name)
        if declared is None:
            raise ModelImportError(f"input_values names '{name}', which is not a graph input")
        array = np.asarray(value)
        tensor = declared.type.tensor_type
        expected = helper.tensor_dtype_to_np_dtype(tensor.elem_type)
        if array.dtype != expected:
            raise ModelImportError(
                f"input_values['{name}'] is {array.dtype}; the graph input is {expected}"
            )
        dims = [d.dim_value if d.HasField("dim_value") else None for d in tensor.shape.dim]
        if tensor.HasField("shape") and (
            len(dims) != array.ndim
            or any(d is not None and d != n for d, n in zip(dims, array.shape, strict=False))
        ):
            raise ModelImportError(
                f"input_values['{name}'] has shape {list(array.shape)}; the graph input "
                f"{[d if d is not None else '?' for d in dims]}"
            )
        if array.size > VALUE_INPUT_LIMIT:
            raise ModelImportError(
                f"input_values['{name}'] has {array.size} elements; at most "
                f"{VALUE_INPUT_LIMIT} (bind axes, shapes and counts, not data)"
            )
        model.graph.initializer.append(numpy_helper.from_array(array, name))


def graph_inputs(graph: onnx.GraphProto) -> list[onnx.ValueInfoProto]:
    """Inputs fed at run time: graph inputs that no initializer gives a default for."""
    initialized = {t.name for t in graph.initializer}
    return [v for v in graph.input if v.name not in initialized]


def fix_input_shapes(model: onnx.ModelProto, input_shapes: Mapping[str, Sequence[int]]) -> None:
    """Sets static shapes on the graph inputs; a dynamic dimension left over is an error."""
    inputs = graph_inputs(model.graph)
    known = {v.name for v in inputs}
    for name in input_shapes:
        if name not in known:
            raise ModelImportError(f"--input-shape names '{name}', which is not a graph input")
    for value in inputs:
        tensor = value.type.tensor_type
        if not value.type.HasField("tensor_type"):
            raise ModelImportError(f"graph input '{value.name}' is not a tensor")
        if value.name in input_shapes:
            # before protobuf sees them: a size past int64 would raise its own ValueError
            check_shape(input_shapes[value.name], f"the shape given for '{value.name}'")
            tensor.ClearField("shape")
            for size in input_shapes[value.name]:
                tensor.shape.dim.add().dim_value = int(size)
            continue
        if not tensor.HasField("shape"):
            raise ModelImportError(f"graph input '{value.name}' has no shape; give one")
        for axis, dim in enumerate(tensor.shape.dim):
            if dim.HasField("dim_value"):
                continue
            label = dim.dim_param or "?"
            raise ModelImportError(
                f"graph input '{value.name}' has a dynamic dimension '{label}' at axis {axis}; "
                "give static shapes (input_shapes= or --input-shape NAME=D0,D1,...)"
            )
    for value in inputs:
        dims = [d.dim_value for d in value.type.tensor_type.shape.dim]
        check_shape(dims, f"graph input '{value.name}'")
