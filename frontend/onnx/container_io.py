"""Graph inputs and outputs that are sequences or optionals, over a tensors-only ABI.

The compiled model takes and returns tensors only. A sequence or optional graph input is
known from the data it is given: `flatten_inputs` rewrites the model for that data, the
input becoming one tensor input per element, named `s[0]`, `s[1]`... (`o?` for what an
optional holds), rebuilt by SequenceConstruct, SequenceEmpty or Optional nodes in front of the
graph. A sequence or optional graph output returns its tensors under the same names
(`flat_outputs`, at import), and `regroup` rebuilds the lists and Nones from them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import onnx
from onnx import helper

from ...errors import InputError
from .emitter import Container, NodeError, OptionalValue, SequenceValue


def is_tensor(value_type: onnx.TypeProto) -> bool:
    return value_type.HasField("tensor_type")


def has_containers(model: onnx.ModelProto) -> bool:
    """Whether a graph input or output of `model` is a sequence or an optional."""
    values = [*model.graph.input, *model.graph.output]
    return any(not is_tensor(v.type) for v in values)


def has_dynamic_dims(model: onnx.ModelProto) -> bool:
    """Whether a tensor graph input that the caller feeds has a dimension without a size."""
    initialized = {t.name for t in model.graph.initializer}
    return any(
        not dim.HasField("dim_value")
        for value in model.graph.input
        if is_tensor(value.type) and value.name not in initialized
        for dim in value.type.tensor_type.shape.dim
    )


# -- at import ---------------------------------------------------------------------------------


def flat_outputs(name: str, containers: Mapping[str, Container]) -> list[tuple[str, str]]:
    """The (output name, tensor) pairs that graph output `name` returns."""
    return _flatten(name, name, containers)


def _flatten(
    target: str, source: str, containers: Mapping[str, Container]
) -> list[tuple[str, str]]:
    value = containers.get(source)
    if value is None:
        return [(target, source)]
    if isinstance(value, SequenceValue):
        pairs: list[tuple[str, str]] = []
        for index, item in enumerate(value.items):
            pairs += _flatten(f"{target}[{index}]", item, containers)
        return pairs
    if value.element is None:
        return []
    if isinstance(containers.get(value.element), SequenceValue) and not _items(value, containers):
        raise NodeError(f"output '{target}': an optional holding an empty sequence")
    return _flatten(f"{target}?", value.element, containers)


def _items(value: OptionalValue, containers: Mapping[str, Container]) -> tuple[str, ...]:
    held = containers.get(value.element or "")
    return held.items if isinstance(held, SequenceValue) else ()


def type_proto(
    containers: Mapping[str, Container], name: str, tensor: Callable[[str], onnx.TypeProto]
) -> onnx.TypeProto:
    """The ONNX type of sequence or optional `name` (a sequence's element type from its first
    tensor), for function bodies that depend on their input types."""
    value = containers[name]
    if isinstance(value, OptionalValue):
        if value.element is None:
            return helper.make_optional_type_proto(onnx.TypeProto())
        held = value.element
        inner = type_proto(containers, held, tensor) if held in containers else tensor(held)
        return helper.make_optional_type_proto(inner)
    if not value.items:
        return helper.make_sequence_type_proto(onnx.TypeProto())
    return helper.make_sequence_type_proto(tensor(value.items[0]))


# -- in the backend -----------------------------------------------------------------------------


def flatten_inputs(
    model: onnx.ModelProto, feeds: Mapping[str, Any]
) -> tuple[onnx.ModelProto, dict[str, np.ndarray]]:
    """`model` rewritten for the sequences and optionals in `feeds` (lists of arrays, or None
    for an absent optional), and the tensor feeds of the rewritten model."""
    flat = onnx.ModelProto()
    flat.CopyFrom(model)
    inputs: list[onnx.ValueInfoProto] = []
    nodes: list[onnx.NodeProto] = []
    tensors: dict[str, np.ndarray] = {}
    for value in model.graph.input:
        if is_tensor(value.type):
            tensor = onnx.ValueInfoProto()
            tensor.CopyFrom(value)
            inputs.append(tensor)
            if value.name in feeds:
                tensors[value.name] = np.asarray(feeds[value.name])
                _fill_dims(tensor, tensors[value.name].shape)
            continue
        if value.name not in feeds:
            raise InputError(f"missing input '{value.name}'")
        _build(value.name, value.type, feeds[value.name], inputs, nodes, tensors)
    del flat.graph.input[:]
    flat.graph.input.extend(inputs)
    graph_nodes = list(flat.graph.node)
    del flat.graph.node[:]
    flat.graph.node.extend([*nodes, *graph_nodes])
    return flat, tensors


def _fill_dims(value: onnx.ValueInfoProto, dims: tuple[int, ...]) -> None:
    """Gives a tensor input's dynamic dimensions those of its data: the model is compiled for
    what it is given anyway."""
    declared = value.type.tensor_type.shape.dim
    if len(declared) != len(dims):
        return  # the model refuses it with the usual message
    for dim, size in zip(declared, dims, strict=True):
        if not dim.HasField("dim_value"):
            dim.dim_value = size


def _build(
    target: str,
    value_type: onnx.TypeProto,
    data: Any,
    inputs: list[onnx.ValueInfoProto],
    nodes: list[onnx.NodeProto],
    tensors: dict[str, np.ndarray],
) -> None:
    """Adds the inputs and nodes that make `target` (of `value_type`) hold `data`."""
    kind = value_type.WhichOneof("value")
    if kind == "tensor_type":
        array = np.asarray(data)
        element = value_type.tensor_type.elem_type
        inputs.append(helper.make_tensor_value_info(target, element, list(array.shape)))
        tensors[target] = array
        return
    if kind == "sequence_type":
        if not isinstance(data, Sequence | np.ndarray):
            raise InputError(f"input '{target}' is a sequence: give a list of arrays")
        element = value_type.sequence_type.elem_type
        names = [f"{target}[{index}]" for index in range(len(data))]  # pyright: ignore[reportUnknownArgumentType]
        for name, item in zip(names, data, strict=True):  # pyright: ignore[reportUnknownArgumentType, reportUnknownVariableType]
            _build(name, element, item, inputs, nodes, tensors)
        if names:
            nodes.append(helper.make_node("SequenceConstruct", names, [target]))
            return
        dtype = element.tensor_type.elem_type or onnx.TensorProto.FLOAT
        nodes.append(helper.make_node("SequenceEmpty", [], [target], dtype=dtype))
        return
    if kind == "optional_type":
        element = value_type.optional_type.elem_type
        if data is None:
            nodes.append(helper.make_node("Optional", [], [target], type=element))
            return
        _build(f"{target}?", element, data, inputs, nodes, tensors)
        nodes.append(helper.make_node("Optional", [f"{target}?"], [target]))
        return
    raise InputError(f"input '{target}': {kind} inputs are not supported")


def regroup(
    model: onnx.ModelProto, names: Sequence[str], arrays: Sequence[np.ndarray]
) -> list[Any]:
    """The graph outputs of `model` from the compiled model's tensors `arrays` (named
    `names`, as `flat_outputs` named them)."""
    by_name = dict(zip(names, arrays, strict=True))
    return [_gather(v.name, v.type, by_name) for v in model.graph.output]


def _gather(name: str, value_type: onnx.TypeProto, by_name: Mapping[str, np.ndarray]) -> Any:
    kind = value_type.WhichOneof("value")
    if kind == "sequence_type":
        items: list[Any] = []
        while any(n.startswith(f"{name}[{len(items)}]") for n in by_name):
            element = value_type.sequence_type.elem_type
            items.append(_gather(f"{name}[{len(items)}]", element, by_name))
        return items
    if kind == "optional_type":
        held = f"{name}?"
        if not any(n.startswith(held) for n in by_name):
            return None
        return _gather(held, value_type.optional_type.elem_type, by_name)
    return by_name[name]
