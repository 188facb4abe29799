"""Opset adapters: how the importer reads an op as an older opset defined it, one table
entry per op and opset range, so that the converter itself knows one opset.

Binary ops before opset 7   `broadcast` = 1 aligns B's dims with A's at `axis`
(Log)Softmax before 13      the input flattened to 2-d at `axis`, normalized along dim 1
Resize before 11            (X, scales), sampled with asymmetric coordinates
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import onnx

from .emitter import Emitter, NodeError
from .registry import Convert
from .values import node_attributes


@dataclass(frozen=True)
class Adapter:
    """Converts an op as the opsets before `until` defined it, where `applies` holds."""

    until: int
    convert: Convert
    applies: Callable[[onnx.NodeProto], bool] = lambda node: True


def legacy_broadcast(node: onnx.NodeProto, emitter: Emitter) -> None:
    """A binary op before opset 7, with `broadcast` = 1: B's dims align with A's at `axis`
    (at the end without one, as numpy's broadcasting)."""
    values = {a.name: a.i for a in node.attribute if a.name in ("broadcast", "axis")}
    a, b = node.input[0], node.input[1]
    if values.get("broadcast") and "axis" in values:
        rank, dims = len(emitter.shape(a)), emitter.shape(b)
        axis = values["axis"] + rank if values["axis"] < 0 else values["axis"]
        aligned = np.array([1] * axis + list(dims) + [1] * (rank - axis - len(dims)), np.int64)
        b = emitter.emit("Reshape", [b, emitter.constant(aligned)])
    emitter.emit(node.op_type, [a, b], output=node.output[0])


def legacy_softmax(node: onnx.NodeProto, emitter: Emitter) -> None:
    """Before opset 13, (Log)Softmax flattened the input to 2-d at `axis`."""
    shape = emitter.shape(node.input[0])
    axis = node_attributes(node, emitter.opset).get("axis", 1)
    assert isinstance(axis, int)
    if not -len(shape) <= axis < len(shape):
        # onnx's checker lets it pass; the flattening below would silently clamp it
        raise NodeError(f"axis {axis} is out of range for rank {len(shape)}")
    axis = axis + len(shape) if axis < 0 else axis
    output = node.output[0]
    if axis == len(shape) - 1:
        emitter.emit(node.op_type, [node.input[0]], {"axis": -1}, output=output)
        return
    rows = int(np.prod(shape[:axis], dtype=np.int64))
    flat, normalized = f"{output}.flat", f"{output}.2d"
    emitter.bind(f"{flat}.shape", np.array([rows, -1], dtype=np.int64))
    emitter.bind(f"{output}.shape", np.array(shape, dtype=np.int64))
    emitter.emit("Reshape", [node.input[0], f"{flat}.shape"], output=flat)
    emitter.emit(node.op_type, [flat], {"axis": 1}, output=normalized)
    emitter.emit("Reshape", [normalized, f"{output}.shape"], output=output)


def legacy_resize(node: onnx.NodeProto, emitter: Emitter) -> None:
    """Opset 10's Resize took (X, scales) and sampled with asymmetric coordinates."""
    attributes = node_attributes(node, emitter.opset)
    attributes["coordinate_transformation_mode"] = "asymmetric"
    attributes.setdefault("nearest_mode", "floor")
    inputs = [node.input[0], "", node.input[1]]
    emitter.emit("Resize", inputs, attributes, output=node.output[0])


def _has_broadcast(node: onnx.NodeProto) -> bool:
    return any(a.name == "broadcast" for a in node.attribute)


LEGACY_BROADCAST_OPS = frozenset(
    {"Add", "Sub", "Mul", "Div", "Pow", "And", "Or", "Xor", "Equal", "Greater", "Less"}
)
"""Binary ops that took `broadcast` and `axis` attributes before opset 7."""

ADAPTERS: dict[str, Adapter] = {
    **{op: Adapter(7, legacy_broadcast, _has_broadcast) for op in LEGACY_BROADCAST_OPS},
    "Softmax": Adapter(13, legacy_softmax),
    "LogSoftmax": Adapter(13, legacy_softmax),
    "Resize": Adapter(11, legacy_resize),
}
"""The default domain's ops that older opsets defined differently, by op type."""


def adapter(node: onnx.NodeProto, opset: int) -> Adapter | None:
    """The adapter that converts `node` of a default-domain graph at `opset`, if it needs one."""
    found = ADAPTERS.get(node.op_type)
    if found is None or opset >= found.until or not found.applies(node):
        return None
    return found
