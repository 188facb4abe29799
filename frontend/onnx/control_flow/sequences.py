"""ONNX sequences and optionals whose length and presence are known at import time.

A sequence is bound to the names of its tensors (`SequenceValue`), an optional to the name of
what it holds or to nothing (`OptionalValue`), as constants are bound to numpy arrays: the
sequence ops are bookkeeping at import, and the tensors stay compiled code. A position that a
sequence op needs when compiling must be known then (`known_value`; the backend binds a graph
input that gives it). Graph inputs and outputs that are sequences or optionals are flattened
to tensors (onnx_container_io.py).

SequenceEmpty, SequenceConstruct, SequenceInsert, SequenceErase, SequenceLength   bookkeeping
SequenceAt            an Identity of the tensor at the position
SplitToSequence       one Slice (and Squeeze without keepdims) per part
ConcatFromSequence    a Concat (of Unsqueezes with new_axis)
Optional, OptionalHasElement, OptionalGetElement   bookkeeping
Identity              a sequence or an optional passes through as it is
ReverseSequence       (of a tensor) a GatherElements along the time axis
"""

from __future__ import annotations

import numpy as np
import onnx

from ..emitter import (
    Emitter,
    NodeError,
    OptionalValue,
    SequenceValue,
    checked_attributes,
    known_value,
)
from ..registry import decomposition

CONTAINER_OPS = frozenset(
    {
        "SequenceEmpty",
        "SequenceConstruct",
        "SequenceInsert",
        "SequenceErase",
        "SequenceAt",
        "SequenceLength",
        "SplitToSequence",
        "ConcatFromSequence",
        "Optional",
        "OptionalHasElement",
        "OptionalGetElement",
    }
)
"""Ops that make or read sequences and optionals: never folded at import (onnx's reference
kernels would return lists)."""


def forward(emitter: Emitter, source: str, target: str) -> None:
    """Makes `target` what `source` is: the same sequence or optional, or an Identity (which
    keeps a value known at import known)."""
    value = emitter.container(source)
    if value is not None:
        emitter.bind_container(target, value)
        return
    emitter.emit("Identity", [source], output=target)


def sequence(emitter: Emitter, name: str) -> tuple[str, ...]:
    value = emitter.container(name)
    if not isinstance(value, SequenceValue):
        raise NodeError(f"input '{name}' is not a sequence")
    return value.items


def _position(emitter: Emitter, node: onnx.NodeProto, length: int, default: int, top: int) -> int:
    """The node's position input (input 1 of SequenceAt, 2 of SequenceInsert...), made
    non-negative and checked against [-length, top]."""
    index = 1 if node.op_type in ("SequenceAt", "SequenceErase") else 2
    name = node.input[index] if len(node.input) > index else ""
    if not name:
        return default
    position = int(known_value(emitter, name, "position").reshape(-1)[0])
    if not -length <= position <= top:
        raise NodeError(f"position {position} is out of range for a sequence of {length}")
    return position + length if position < 0 else position


@decomposition("SequenceEmpty", since=11)
def sequence_empty(node: onnx.NodeProto, emitter: Emitter) -> None:
    checked_attributes(node, {"dtype"})
    emitter.bind_container(node.output[0], SequenceValue(()))


@decomposition("SequenceConstruct", since=11)
def sequence_construct(node: onnx.NodeProto, emitter: Emitter) -> None:
    checked_attributes(node, set())
    emitter.bind_container(node.output[0], SequenceValue(tuple(node.input)))


@decomposition("SequenceInsert", since=11)
def sequence_insert(node: onnx.NodeProto, emitter: Emitter) -> None:
    checked_attributes(node, set())
    items = sequence(emitter, node.input[0])
    position = _position(emitter, node, len(items), len(items), len(items))
    inserted = (*items[:position], node.input[1], *items[position:])
    emitter.bind_container(node.output[0], SequenceValue(inserted))


@decomposition("SequenceErase", since=11)
def sequence_erase(node: onnx.NodeProto, emitter: Emitter) -> None:
    checked_attributes(node, set())
    items = sequence(emitter, node.input[0])
    if not items:
        raise NodeError("SequenceErase of an empty sequence")
    position = _position(emitter, node, len(items), len(items) - 1, len(items) - 1)
    emitter.bind_container(node.output[0], SequenceValue(items[:position] + items[position + 1 :]))


@decomposition("SequenceAt", since=11)
def sequence_at(node: onnx.NodeProto, emitter: Emitter) -> None:
    checked_attributes(node, set())
    items = sequence(emitter, node.input[0])
    if not items:
        raise NodeError("SequenceAt of an empty sequence")
    position = _position(emitter, node, len(items), 0, len(items) - 1)
    forward(emitter, items[position], node.output[0])


@decomposition("SequenceLength", since=11)
def sequence_length(node: onnx.NodeProto, emitter: Emitter) -> None:
    checked_attributes(node, set())
    emitter.bind(node.output[0], np.array(len(sequence(emitter, node.input[0])), np.int64))


@decomposition("SplitToSequence", since=11)
def split_to_sequence(node: onnx.NodeProto, emitter: Emitter) -> None:
    attributes = checked_attributes(node, {"axis", "keepdims"})
    x = node.input[0]
    dims = emitter.shape(x)
    axis = int(attributes.get("axis", 0))  # pyright: ignore[reportArgumentType]
    axis = axis + len(dims) if axis < 0 else axis
    if not 0 <= axis < len(dims):
        raise NodeError(f"axis {axis} is out of range for rank {len(dims)}")
    length = dims[axis]
    split_name = node.input[1] if len(node.input) > 1 else ""
    keepdims = bool(attributes.get("keepdims", 1)) or bool(split_name)
    if not split_name:
        sizes = [1] * length
    else:
        split = known_value(emitter, split_name, "split").astype(np.int64)
        if split.ndim == 0:
            chunk = int(split)
            if chunk <= 0:
                raise NodeError(f"split {chunk} is not positive")
            sizes = [min(chunk, length - start) for start in range(0, length, chunk)]
        else:
            sizes = [int(s) for s in split]
        if any(s < 0 for s in sizes) or sum(sizes) != length:
            raise NodeError(f"split {sizes} does not add up to the length {length}")
    axes = emitter.constant(np.array([axis], np.int64))
    items: list[str] = []
    start = 0
    for size in sizes:
        starts = emitter.constant(np.array([start], np.int64))
        ends = emitter.constant(np.array([start + size], np.int64))
        part = emitter.emit("Slice", [x, starts, ends, axes])
        items.append(part if keepdims else emitter.emit("Squeeze", [part, axes]))
        start += size
    emitter.bind_container(node.output[0], SequenceValue(tuple(items)))


@decomposition("ConcatFromSequence", since=11)
def concat_from_sequence(node: onnx.NodeProto, emitter: Emitter) -> None:
    attributes = checked_attributes(node, {"axis", "new_axis"})
    items = list(sequence(emitter, node.input[0]))
    if not items:
        raise NodeError("ConcatFromSequence of an empty sequence")
    axis = int(attributes["axis"])  # pyright: ignore[reportArgumentType]
    if attributes.get("new_axis", 0):
        rank = len(emitter.shape(items[0])) + 1
        axis = axis + rank if axis < 0 else axis
        axes = emitter.constant(np.array([axis], np.int64))
        items = [emitter.emit("Unsqueeze", [item, axes]) for item in items]
    emitter.emit("Concat", items, {"axis": axis}, output=node.output[0])


@decomposition("Optional", since=15)
def optional(node: onnx.NodeProto, emitter: Emitter) -> None:
    checked_attributes(node, {"type"})
    element = node.input[0] if node.input and node.input[0] else None
    emitter.bind_container(node.output[0], OptionalValue(element))


@decomposition("OptionalHasElement", since=15)
def optional_has_element(node: onnx.NodeProto, emitter: Emitter) -> None:
    checked_attributes(node, set())
    name = node.input[0] if node.input else ""
    value = emitter.container(name) if name else OptionalValue(None)
    present = not isinstance(value, OptionalValue) or value.element is not None
    emitter.bind(node.output[0], np.array(present))


@decomposition("OptionalGetElement", since=15)
def optional_get_element(node: onnx.NodeProto, emitter: Emitter) -> None:
    checked_attributes(node, set())
    value = emitter.container(node.input[0])
    if not isinstance(value, OptionalValue):
        forward(emitter, node.input[0], node.output[0])  # a tensor or a sequence: itself
        return
    if value.element is None:
        raise NodeError("OptionalGetElement of an optional that holds nothing")
    forward(emitter, value.element, node.output[0])


@decomposition("Identity", since=1)
def identity(node: onnx.NodeProto, emitter: Emitter) -> None:
    checked_attributes(node, set())
    forward(emitter, node.input[0], node.output[0])
