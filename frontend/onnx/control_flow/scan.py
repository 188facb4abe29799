"""Scan, unrolled: shapes are static, so the number of iterations is known at import time.

Step t binds the body's state inputs to the states so far and its scan inputs to slice t
(T - 1 - t for a reversed input) of each scan input, converts the body's nodes under names of
its own, and takes the body's outputs as the next states and the step's scan outputs. The final
states are the node's first outputs; each scan output stacks its steps along its axis (in
reverse for a reversed output). Scan before opset 9 (with a batch axis and sequence lengths)
is not supported.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import onnx
from onnx import helper

from ..emitter import Emitter, NodeError
from ..registry import decomposition

_SCAN_ATTRIBUTES = {
    "body",
    "num_scan_inputs",
    "scan_input_axes",
    "scan_input_directions",
    "scan_output_axes",
    "scan_output_directions",
}


@decomposition("Scan", since=8)
def scan(node: onnx.NodeProto, emitter: Emitter) -> None:
    if emitter.opset < 9:
        raise NodeError("Scan before opset 9 (batched, with sequence_lens) is not supported")
    attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    unknown = set(attributes) - _SCAN_ATTRIBUTES
    if unknown:
        raise NodeError(f"attribute '{sorted(unknown)[0]}' not supported")
    body = attributes["body"]
    assert isinstance(body, onnx.GraphProto)
    scan_count = _int(attributes["num_scan_inputs"])
    state_count = len(node.input) - scan_count
    scan_inputs = list(node.input[state_count:])
    input_axes = _ints(attributes.get("scan_input_axes"), scan_count, 0)
    input_reversed = _ints(attributes.get("scan_input_directions"), scan_count, 0)
    output_count = len(body.output) - state_count
    output_axes = _ints(attributes.get("scan_output_axes"), output_count, 0)
    output_reversed = _ints(attributes.get("scan_output_directions"), output_count, 0)
    input_axes = [
        axis + len(emitter.shape(name)) if axis < 0 else axis
        for axis, name in zip(input_axes, scan_inputs, strict=True)
    ]
    lengths = {
        emitter.shape(name)[axis] for name, axis in zip(scan_inputs, input_axes, strict=True)
    }
    if len(lengths) != 1:
        raise NodeError(f"scan inputs of different lengths {sorted(lengths)}")
    steps = lengths.pop()
    states = list(node.input[:state_count])
    outputs: list[list[str]] = [[] for _ in range(output_count)]
    for step in range(steps):
        bound = dict(zip([v.name for v in body.input[:state_count]], states, strict=True))
        for value, name, axis, backward in zip(
            body.input[state_count:], scan_inputs, input_axes, input_reversed, strict=True
        ):
            index = emitter.constant(np.array(steps - 1 - step if backward else step))
            bound[value.name] = emitter.emit("Gather", [name, index], {"axis": axis})
        results = run_body(body, bound, f"{node.name or 'Scan'}/step{step}/", emitter)
        states = results[:state_count]
        for collected, result in zip(outputs, results[state_count:], strict=True):
            collected.append(result)
    for state, name in zip(states, node.output[:state_count], strict=True):
        if name:
            emitter.emit("Identity", [state], output=name)
    for collected, name, axis, backward in zip(
        outputs, node.output[state_count:], output_axes, output_reversed, strict=True
    ):
        if name:
            stack(collected[::-1] if backward else collected, axis, name, emitter)


def run_body(
    body: onnx.GraphProto, bound: dict[str, str], prefix: str, emitter: Emitter
) -> list[str]:
    """Converts one copy of the body; returns the names of its outputs."""
    names = dict(bound)
    for initializer in body.initializer:
        names[initializer.name] = emitter.constant(onnx.numpy_helper.to_array(initializer))
    for node in body.node:
        for output in node.output:
            if output:
                names[output] = prefix + output
    nodes: list[onnx.NodeProto] = []
    for index, node in enumerate(body.node):
        copy = onnx.NodeProto()
        copy.CopyFrom(node)
        copy.name = f"{prefix}{node.name or f'{node.op_type}#{index}'}"
        copy.ClearField("input")
        copy.input.extend(names.get(name, name) if name else "" for name in node.input)
        copy.ClearField("output")
        copy.output.extend(names.get(name, name) if name else "" for name in node.output)
        for attribute in copy.attribute:
            if attribute.type == onnx.AttributeProto.GRAPH:
                rename_captures(attribute.g, names)
        nodes.append(copy)
    emitter.convert(nodes)
    return [names.get(value.name, value.name) for value in body.output]


def rename_captures(graph: onnx.GraphProto, names: Mapping[str, str]) -> None:
    """Renames, in place, the enclosing scope's values that `graph` (a nested If's branch, a
    Loop's body) reads, as `names` renamed them; the graph's own values shadow them."""
    local = {v.name for v in graph.input} | {t.name for t in graph.initializer}
    local |= {name for node in graph.node for name in node.output}
    visible = {k: v for k, v in names.items() if k not in local}
    for node in graph.node:
        renamed = [visible.get(name, name) if name else "" for name in node.input]
        node.ClearField("input")
        node.input.extend(renamed)
        for attribute in node.attribute:
            if attribute.type == onnx.AttributeProto.GRAPH:
                rename_captures(attribute.g, visible)
    for value in graph.output:
        value.name = visible.get(value.name, value.name)


def stack(parts: list[str], axis: int, output: str, emitter: Emitter) -> None:
    rank = len(emitter.shape(parts[0])) + 1
    axis = axis + rank if axis < 0 else axis
    axes = emitter.constant(np.array([axis], np.int64))
    expanded = [emitter.emit("Unsqueeze", [part, axes]) for part in parts]
    emitter.emit("Concat", expanded, {"axis": axis}, output=output)


def _int(value: object) -> int:
    assert isinstance(value, int)
    return value


def _ints(value: object, count: int, default: int) -> list[int]:
    if value is None:
        return [default] * count
    assert isinstance(value, list)
    values = [int(v) for v in value]  # pyright: ignore[reportUnknownArgumentType, reportUnknownVariableType]
    if len(values) != count:
        raise NodeError(f"{len(values)} axes or directions for {count} values")
    return values
