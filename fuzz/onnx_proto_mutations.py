"""The protobuf-aware mutation operators of `onnx_mutations.py`: each edits a ModelProto in
place (wrong attribute types and values, dangling names, cycles, absurd shapes, short
initializers, dtype, opset and domain changes, op swaps, empty graphs) and says what it did.
`STRUCTURAL` names them; a mutant applies them by name and seed, so any one is reproduced.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import numpy as np
import onnx
from onnx import TensorProto, helper

from ..dialects.nn import ONNX_OPS

ABSURD_DIMS = (-1, -7, 0, 2**31, 2**40, 2**62, 2**63 - 1)
ABSURD_INTS = (-(2**63), -(2**40), -3, -1, 0, 1, 7, 99, 2**31, 2**40, 2**63 - 1)
PLAUSIBLE_INTS = (-2, -1, 0, 1, 2, 3, 4)
ODD_DTYPES = (
    TensorProto.UNDEFINED,
    TensorProto.STRING,
    TensorProto.BOOL,
    TensorProto.INT8,
    TensorProto.UINT64,
    TensorProto.FLOAT16,
    TensorProto.BFLOAT16,
    TensorProto.DOUBLE,
    TensorProto.COMPLEX64,
    TensorProto.INT64,
    TensorProto.FLOAT8E4M3FN,
    TensorProto.INT4,
    999,
)
ATTRIBUTE_TYPES = (
    onnx.AttributeProto.INT,
    onnx.AttributeProto.FLOAT,
    onnx.AttributeProto.STRING,
    onnx.AttributeProto.INTS,
    onnx.AttributeProto.FLOATS,
    onnx.AttributeProto.STRINGS,
    onnx.AttributeProto.TENSOR,
    onnx.AttributeProto.GRAPH,
)


Structural = Callable[[random.Random, onnx.ModelProto], str]


def _pick_node(rng: random.Random, model: onnx.ModelProto) -> tuple[int, onnx.NodeProto] | None:
    if not model.graph.node:
        return None
    index = rng.randrange(len(model.graph.node))
    return index, model.graph.node[index]


def _label(index: int, node: onnx.NodeProto) -> str:
    return f"node {index} '{node.name}' ({node.op_type})"


def _short(attribute: onnx.AttributeProto) -> str:
    return str(helper.get_attribute_value(attribute))[:60]


def _random_attribute(rng: random.Random, name: str, kind: int) -> onnx.AttributeProto:
    """An attribute `name` of type `kind` with a small random or absurd value."""
    values: dict[int, object] = {
        onnx.AttributeProto.INT: rng.choice(ABSURD_INTS),
        onnx.AttributeProto.FLOAT: rng.choice([0.0, -1.5, 1e30, float("nan"), float("inf")]),
        onnx.AttributeProto.STRING: rng.choice([b"", b"NOTSET", b"\xff\xfe", b"SAME_UPPER", b"x"]),
        onnx.AttributeProto.INTS: [rng.choice(ABSURD_INTS) for _ in range(rng.randrange(5))],
        onnx.AttributeProto.FLOATS: [rng.uniform(-2, 2) for _ in range(rng.randrange(4))],
        onnx.AttributeProto.STRINGS: [b"a", b"b"],
        onnx.AttributeProto.TENSOR: _random_tensor(rng, "t"),
        onnx.AttributeProto.GRAPH: helper.make_graph([], "empty", [], []),
    }
    return helper.make_attribute(name, values[kind], attr_type=kind)


def _random_tensor(rng: random.Random, name: str) -> onnx.TensorProto:
    dtype = rng.choice(
        [np.float32, np.float64, np.int8, np.int32, np.int64, np.bool_, np.uint8, np.float16]
    )
    shape = rng.choice([(), (1,), (3,), (2, 2), (0,)])
    array = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape).astype(dtype)
    return onnx.numpy_helper.from_array(array, name)


def attribute_wrong_type(rng: random.Random, model: onnx.ModelProto) -> str:
    picked = _pick_node(rng, model)
    if picked is None or not picked[1].attribute:
        return "no-op: no attribute"
    index, node = picked
    position = rng.randrange(len(node.attribute))
    old = node.attribute[position]
    kind = rng.choice([k for k in ATTRIBUTE_TYPES if k != old.type])
    node.attribute[position].CopyFrom(_random_attribute(rng, old.name, kind))
    return f"{_label(index, node)}: attribute '{old.name}' becomes type {kind}"


def attribute_wrong_value(rng: random.Random, model: onnx.ModelProto) -> str:
    """Right type, absurd value: zero strides, huge kernels, axis 99, negative pads."""
    picked = _pick_node(rng, model)
    if picked is None or not picked[1].attribute:
        return "no-op: no attribute"
    index, node = picked
    attribute = node.attribute[rng.randrange(len(node.attribute))]
    if attribute.type == onnx.AttributeProto.INT:
        attribute.i = rng.choice(ABSURD_INTS)
    elif attribute.type == onnx.AttributeProto.INTS and attribute.ints:
        attribute.ints[rng.randrange(len(attribute.ints))] = rng.choice(ABSURD_INTS)
    elif attribute.type == onnx.AttributeProto.INTS or rng.random() < 0.3:
        attribute.ints.append(rng.choice(ABSURD_INTS))
    elif attribute.type == onnx.AttributeProto.FLOAT:
        attribute.f = rng.choice([float("nan"), -1.0, 0.0, 1e38])
    elif attribute.type == onnx.AttributeProto.STRING:
        attribute.s = rng.choice([b"", b"bogus", b"\xff"])
    elif attribute.type == onnx.AttributeProto.TENSOR:
        attribute.t.CopyFrom(_random_tensor(rng, attribute.t.name))
    return f"{_label(index, node)}: attribute '{attribute.name}' = {_short(attribute)}"


def attribute_plausible_value(rng: random.Random, model: onnx.ModelProto) -> str:
    """Right type, a value a model could have (a stride of 2, a pad of 1, axis -1): such
    mutants pass onnx's checker more often, so the importer's own shape rules see them."""
    picked = _pick_node(rng, model)
    if picked is None or not picked[1].attribute:
        return "no-op: no attribute"
    index, node = picked
    attribute = node.attribute[rng.randrange(len(node.attribute))]
    if attribute.type == onnx.AttributeProto.INT:
        attribute.i = rng.choice([v for v in PLAUSIBLE_INTS if v != attribute.i])
    elif attribute.type == onnx.AttributeProto.INTS and attribute.ints:
        position = rng.randrange(len(attribute.ints))
        attribute.ints[position] = rng.choice(PLAUSIBLE_INTS)
    elif attribute.type == onnx.AttributeProto.FLOAT:
        attribute.f = rng.choice([0.0, 0.5, 1.0, 2.0, 1e-5])
    else:
        return f"no-op: attribute '{attribute.name}' holds no number"
    return f"{_label(index, node)}: attribute '{attribute.name}' = {_short(attribute)}"


def _int64_initializer(
    rng: random.Random, model: onnx.ModelProto
) -> tuple[onnx.TensorProto, np.ndarray] | str:
    """A random non-empty int64 initializer and a copy of its values, or why there is none."""
    candidates = [t for t in model.graph.initializer if t.data_type == TensorProto.INT64]
    if not candidates:
        return "no-op: no int64 initializer"
    tensor = rng.choice(candidates)
    array = onnx.numpy_helper.to_array(tensor).copy()
    if array.size == 0:
        return "no-op: empty int64 initializer"
    return tensor, array


def constant_shape_tweak(rng: random.Random, model: onnx.ModelProto) -> str:
    """One entry of an int64 initializer (a weight's shape, a Reshape target) moves by a little
    (another small size, -1 or 0): the graph stays well formed, its shapes stop agreeing."""
    picked = _int64_initializer(rng, model)
    if isinstance(picked, str):
        return picked
    tensor, array = picked
    flat = array.reshape(-1)
    position = rng.randrange(flat.size)
    flat[position] = rng.choice([int(flat[position]) + 1, int(flat[position]) - 1, *PLAUSIBLE_INTS])
    tensor.CopyFrom(onnx.numpy_helper.from_array(flat.reshape(array.shape), tensor.name))
    return f"initializer '{tensor.name}' = {flat.tolist()[:8]}"


def attribute_tensor_dtype(rng: random.Random, model: onnx.ModelProto) -> str:
    """A TENSOR attribute (Constant, ConstantOfShape) with the wrong dtype, or an odd one."""
    for index, node in enumerate(model.graph.node):
        for attribute in node.attribute:
            if attribute.type != onnx.AttributeProto.TENSOR or rng.random() < 0.3:
                continue
            attribute.t.data_type = rng.choice(ODD_DTYPES)
            return f"{_label(index, node)}: tensor '{attribute.name}' dtype {attribute.t.data_type}"
    return "no-op: no tensor attribute"


def attribute_delete(rng: random.Random, model: onnx.ModelProto) -> str:
    picked = _pick_node(rng, model)
    if picked is None or not picked[1].attribute:
        return "no-op: no attribute"
    index, node = picked
    name = node.attribute[rng.randrange(len(node.attribute))].name
    kept = [a for a in node.attribute if a.name != name]
    del node.attribute[:]
    node.attribute.extend(kept)
    return f"{_label(index, node)}: attribute '{name}' deleted"


def attribute_duplicate(rng: random.Random, model: onnx.ModelProto) -> str:
    picked = _pick_node(rng, model)
    if picked is None or not picked[1].attribute:
        return "no-op: no attribute"
    index, node = picked
    copy = node.attribute.add()
    copy.CopyFrom(node.attribute[rng.randrange(len(node.attribute) - 1)])
    return f"{_label(index, node)}: attribute '{copy.name}' twice"


def attribute_unknown(rng: random.Random, model: onnx.ModelProto) -> str:
    picked = _pick_node(rng, model)
    if picked is None:
        return "no-op: no node"
    index, node = picked
    name = rng.choice(["fuzz_unknown", "axis", "kernel_shape", "value", "to", "perm", "mode"])
    if any(a.name == name for a in node.attribute):
        return f"no-op: '{name}' already there"
    node.attribute.append(_random_attribute(rng, name, rng.choice(ATTRIBUTE_TYPES)))
    return f"{_label(index, node)}: attribute '{name}' added"


def _all_value_names(model: onnx.ModelProto) -> list[str]:
    graph = model.graph
    names = [v.name for v in graph.input] + [t.name for t in graph.initializer]
    return names + [o for n in graph.node for o in n.output if o]


def dangling_input(rng: random.Random, model: onnx.ModelProto) -> str:
    picked = _pick_node(rng, model)
    if picked is None or not picked[1].input:
        return "no-op: no node input"
    index, node = picked
    position = rng.randrange(len(node.input))
    node.input[position] = rng.choice(["nowhere", "", node.input[position] + "_x"])
    return f"{_label(index, node)}: input {position} renamed to '{node.input[position]}'"


def rename_output(rng: random.Random, model: onnx.ModelProto) -> str:
    if model.graph.output and rng.random() < 0.3:
        value = model.graph.output[rng.randrange(len(model.graph.output))]
        value.name = rng.choice(["", "nowhere", *_all_value_names(model)])
        return f"graph output renamed to '{value.name}'"
    picked = _pick_node(rng, model)
    if picked is None or not picked[1].output:
        return "no-op: no node output"
    index, node = picked
    position = rng.randrange(len(node.output))
    node.output[position] = rng.choice(["renamed", "", *_all_value_names(model)])
    return f"{_label(index, node)}: output {position} renamed to '{node.output[position]}'"


def duplicate_output(rng: random.Random, model: onnx.ModelProto) -> str:
    picked = _pick_node(rng, model)
    names = _all_value_names(model)
    if picked is None or not names:
        return "no-op: no node"
    index, node = picked
    node.output.append(rng.choice(names))
    return f"{_label(index, node)}: extra output '{node.output[-1]}'"


def cycle(rng: random.Random, model: onnx.ModelProto) -> str:
    nodes = model.graph.node
    if not nodes or not nodes[0].input:
        return "no-op: no node input"
    first = rng.randrange(len(nodes))
    later = rng.randrange(first, len(nodes))
    if not nodes[first].input or not nodes[later].output:
        return "no-op: nothing to connect"
    nodes[first].input[0] = nodes[later].output[0]
    return f"node {first} reads the output of node {later}"


def _pick_value_info(rng: random.Random, model: onnx.ModelProto) -> onnx.ValueInfoProto | None:
    values = [*model.graph.input, *model.graph.output]
    return rng.choice(values) if values else None


def absurd_shape(rng: random.Random, model: onnx.ModelProto) -> str:
    """Negative, zero, 2**40 dimensions or rank 20, on a graph input/output or an initializer."""
    initializers = model.graph.initializer
    if initializers and rng.random() < 0.4:
        tensor = initializers[rng.randrange(len(initializers))]
        if tensor.dims:
            tensor.dims[rng.randrange(len(tensor.dims))] = rng.choice(ABSURD_DIMS)
        else:
            tensor.dims.extend([1] * 20)
        return f"initializer '{tensor.name}' dims {list(tensor.dims)}"
    value = _pick_value_info(rng, model)
    if value is None:
        return "no-op: no graph input"
    shape = value.type.tensor_type.shape
    if shape.dim and rng.random() < 0.7:
        shape.dim[rng.randrange(len(shape.dim))].dim_value = rng.choice(ABSURD_DIMS)
    else:
        del shape.dim[:]
        for _ in range(20):
            shape.dim.add().dim_value = rng.choice([1, 2])
    dims = [d.dim_value for d in shape.dim]
    return f"value '{value.name}' shape {dims}"


def absurd_constant_shape(rng: random.Random, model: onnx.ModelProto) -> str:
    """An int64 initializer (a shape for Reshape, ConstantOfShape, Expand, Tile...) gets a huge,
    negative or zero entry: 2**40 elements must be refused before anything is allocated."""
    picked = _int64_initializer(rng, model)
    if isinstance(picked, str):
        return picked
    tensor, array = picked
    flat = array.reshape(-1)
    flat[rng.randrange(flat.size)] = rng.choice(ABSURD_DIMS)
    tensor.CopyFrom(onnx.numpy_helper.from_array(flat.reshape(array.shape), tensor.name))
    return f"initializer '{tensor.name}' = {flat.tolist()[:8]}"


def initializer_short_data(rng: random.Random, model: onnx.ModelProto) -> str:
    """raw_data (or typed data) shorter or longer than the shape says."""
    initializers = model.graph.initializer
    if not initializers:
        return "no-op: no initializer"
    tensor = initializers[rng.randrange(len(initializers))]
    if tensor.HasField("raw_data"):
        cut = rng.randrange(len(tensor.raw_data) + 1) if tensor.raw_data else 0
        tensor.raw_data = tensor.raw_data[:cut] if rng.random() < 0.8 else tensor.raw_data * 2
        return f"initializer '{tensor.name}' raw_data {len(tensor.raw_data)} bytes"
    for field in ("float_data", "int64_data", "int32_data", "double_data"):
        data = getattr(tensor, field)
        if len(data):
            del data[rng.randrange(len(data)) :]
            return f"initializer '{tensor.name}' {field} cut to {len(data)}"
    tensor.dims.append(3)
    return f"initializer '{tensor.name}' gains a dimension"


def initializer_dtype(rng: random.Random, model: onnx.ModelProto) -> str:
    initializers = model.graph.initializer
    if not initializers:
        return "no-op: no initializer"
    tensor = initializers[rng.randrange(len(initializers))]
    tensor.data_type = rng.choice(ODD_DTYPES)
    return f"initializer '{tensor.name}' dtype {tensor.data_type}"


def value_dtype(rng: random.Random, model: onnx.ModelProto) -> str:
    value = _pick_value_info(rng, model)
    if value is None:
        return "no-op: no graph input"
    value.type.tensor_type.elem_type = rng.choice(ODD_DTYPES)
    return f"value '{value.name}' dtype {value.type.tensor_type.elem_type}"


def value_not_a_tensor(rng: random.Random, model: onnx.ModelProto) -> str:
    value = _pick_value_info(rng, model)
    if value is None:
        return "no-op: no graph input"
    if rng.random() < 0.5:
        value.type.sequence_type.elem_type.tensor_type.elem_type = TensorProto.FLOAT
    else:
        value.type.ClearField("tensor_type")
    return f"value '{value.name}' is no longer a tensor"


def opset_change(rng: random.Random, model: onnx.ModelProto) -> str:
    version = rng.choice([0, 1, 5, 7, 9, 11, 13, 17, 21, 22, 999, -1])
    if rng.random() < 0.15:
        del model.opset_import[:]
        return "opset_import removed"
    for entry in model.opset_import:
        if entry.domain in ("", "ai.onnx"):
            entry.version = version
    if rng.random() < 0.2:
        model.ir_version = rng.choice([0, 1, 3, 99])
    return f"default opset {version}, ir_version {model.ir_version}"


def domain_change(rng: random.Random, model: onnx.ModelProto) -> str:
    picked = _pick_node(rng, model)
    if picked is None:
        return "no-op: no node"
    index, node = picked
    node.domain = rng.choice(["com.microsoft", "ai.onnx.ml", "ai.onnx", "bogus", "ai.onnx.preview"])
    return f"{_label(index, node)}: domain '{node.domain}'"


def remove_initializer(rng: random.Random, model: onnx.ModelProto) -> str:
    initializers = model.graph.initializer
    if not initializers:
        return "no-op: no initializer"
    position = rng.randrange(len(initializers))
    name = initializers[position].name
    del initializers[position]
    return f"initializer '{name}' removed"


def op_swap(rng: random.Random, model: onnx.ModelProto) -> str:
    """Another supported op in a node's place: shapes and arities stop matching."""
    picked = _pick_node(rng, model)
    if picked is None:
        return "no-op: no node"
    index, node = picked
    old = node.op_type
    node.op_type = rng.choice(sorted(ONNX_OPS))
    return f"{_label(index, node)}: was {old}"


def arity_change(rng: random.Random, model: onnx.ModelProto) -> str:
    picked = _pick_node(rng, model)
    if picked is None:
        return "no-op: no node"
    index, node = picked
    if node.input and rng.random() < 0.5:
        del node.input[-1]
        return f"{_label(index, node)}: last input dropped"
    names = _all_value_names(model)
    node.input.append(rng.choice(names) if names else "")
    return f"{_label(index, node)}: extra input '{node.input[-1]}'"


def remove_node(rng: random.Random, model: onnx.ModelProto) -> str:
    picked = _pick_node(rng, model)
    if picked is None:
        return "no-op: no node"
    index, node = picked
    label = _label(index, node)
    del model.graph.node[index]
    return f"{label} removed"


def empty_graph(rng: random.Random, model: onnx.ModelProto) -> str:
    graph = model.graph
    del graph.node[:]
    if rng.random() < 0.5:
        del graph.output[:]
    if rng.random() < 0.3:
        del graph.input[:]
        del graph.initializer[:]
    return "graph emptied"


def external_data(rng: random.Random, model: onnx.ModelProto) -> str:
    """An initializer that claims to live in a file that does not exist (or outside the model's
    folder)."""
    initializers = model.graph.initializer
    if not initializers:
        return "no-op: no initializer"
    tensor = initializers[rng.randrange(len(initializers))]
    tensor.ClearField("raw_data")
    tensor.data_location = TensorProto.EXTERNAL
    entry = tensor.external_data.add()
    entry.key = "location"
    entry.value = rng.choice(["missing.bin", "../../etc/hostname", "/dev/zero"])
    return f"initializer '{tensor.name}' in external file '{entry.value}'"


STRUCTURAL: dict[str, Structural] = {
    "attribute_wrong_type": attribute_wrong_type,
    "attribute_wrong_value": attribute_wrong_value,
    "attribute_plausible_value": attribute_plausible_value,
    "attribute_tensor_dtype": attribute_tensor_dtype,
    "attribute_delete": attribute_delete,
    "attribute_duplicate": attribute_duplicate,
    "attribute_unknown": attribute_unknown,
    "dangling_input": dangling_input,
    "rename_output": rename_output,
    "duplicate_output": duplicate_output,
    "cycle": cycle,
    "absurd_shape": absurd_shape,
    "absurd_constant_shape": absurd_constant_shape,
    "constant_shape_tweak": constant_shape_tweak,
    "initializer_short_data": initializer_short_data,
    "initializer_dtype": initializer_dtype,
    "value_dtype": value_dtype,
    "value_not_a_tensor": value_not_a_tensor,
    "opset_change": opset_change,
    "domain_change": domain_change,
    "remove_initializer": remove_initializer,
    "op_swap": op_swap,
    "arity_change": arity_change,
    "remove_node": remove_node,
    "empty_graph": empty_graph,
    "external_data": external_data,
}
