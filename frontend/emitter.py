"""What the importer's node rewrites (onnx_rewrites.py, onnx_quantize.py) may ask of it, and the
error of a node that cannot be converted."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

import numpy as np
import onnx


class NodeError(Exception):
    """A node that cannot be converted; the importer lists it with the others it finds."""


class RunTimeValueError(NodeError):
    """A node that needs the value of `name` when compiling (an axis, a shape, a trip count),
    where the model gives it only at run time."""

    def __init__(self, name: str, message: str, value_inputs: frozenset[str] | None = None) -> None:
        super().__init__(message)
        self.name = name
        self.value_inputs = value_inputs
        """The graph inputs it needs, when already known (a subgraph's nodes' problems)."""


@dataclass(frozen=True)
class SequenceValue:
    """An ONNX sequence whose length is known at import: the names of its tensors."""

    items: tuple[str, ...]


@dataclass(frozen=True)
class OptionalValue:
    """An ONNX optional known at import to hold `element` (a tensor's or a sequence's name)
    or, with None, nothing."""

    element: str | None


Container = SequenceValue | OptionalValue
"""What the importer binds a sequence or an optional to (onnx_sequences.py)."""


class Emitter(Protocol):
    """Converts the ONNX nodes that one ONNX node is rewritten into, under its label."""

    @property
    def opset(self) -> int:
        """The opset the node is read at."""
        ...

    def emit(
        self,
        op_type: str,
        inputs: Sequence[str],
        attributes: Mapping[str, object] | None = None,
        output: str = "",
    ) -> str:
        """Converts one ONNX node of `op_type` (attributes as nn's Python values); returns
        its result's name, `output` or a fresh one."""
        ...

    def constant(self, array: np.ndarray) -> str:
        """A fresh name bound to a constant."""
        ...

    def check_range(
        self, name: str, op_type: str, operand: str, low: int, high: int | None = None
    ) -> str:
        """`name` checked to hold values in [low, high] only (no upper bound without `high`),
        as the node's ONNX op `op_type` requires of its input `operand`: a fresh name, known
        to be in range, from an `nn.range_check` (run-time values) or checked now (known
        values; NodeError when one is outside)."""
        ...

    def convert(self, nodes: Sequence[onnx.NodeProto]) -> None:
        """Converts made-up nodes (a subgraph's, renamed) as graph nodes; NodeError when one
        of them fails (it is listed too)."""
        ...

    def bind(self, name: str, array: np.ndarray) -> None:
        """Binds `name` to a constant."""
        ...

    def value(self, name: str) -> np.ndarray | None:
        """The value of `name` when it is known at import time."""
        ...

    def dtype(self, name: str) -> np.dtype[np.generic]:
        """The element type of `name`; for low-precision values, their ml_dtypes dtype."""
        ...

    def set_storage_dtype(self, name: str, dtype: np.dtype[np.generic]) -> None:
        """Records that `name`, a uint8 tensor, holds the bytes of low-precision `dtype`
        values (onnx_lowprecision.py)."""
        ...

    def shape(self, name: str) -> tuple[int, ...]: ...

    def container(self, name: str) -> Container | None:
        """What the sequence or optional `name` holds; None for a tensor."""
        ...

    def bind_container(self, name: str, value: Container) -> None:
        """Binds `name` to a sequence or an optional."""
        ...

    def producer(self, name: str) -> onnx.NodeProto | None:
        """The graph's node that computes `name` (None for inputs, initializers and values
        made up during import)."""
        ...


def known_value(emitter: Emitter, name: str, what: str) -> np.ndarray:
    """The value of input `name` (its role `what`), which the node needs when compiling;
    RunTimeValueError when the model gives it only at run time."""
    value = emitter.value(name)
    if value is None:
        raise RunTimeValueError(name, f"input '{name}' ({what}) must be constant")
    return value


Number = TypeVar("Number", int, float)


def checked_attributes(node: onnx.NodeProto, allowed: set[str]) -> dict[str, object]:
    """`node`'s attributes as Python values; NodeError names the first one not `allowed`."""
    values = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    unknown = set(values) - allowed
    if unknown:
        raise NodeError(f"attribute '{sorted(unknown)[0]}' not supported")
    return values


def numeric_attributes(node: onnx.NodeProto, defaults: dict[str, Number]) -> dict[str, Number]:
    """`defaults` updated with `node`'s attributes, each of which must be one of them and of
    the same kind (int or float)."""
    kind = (
        onnx.AttributeProto.INT
        if all(isinstance(v, int) for v in defaults.values())
        else (onnx.AttributeProto.FLOAT)
    )
    values = dict(defaults)
    for attribute in node.attribute:
        if attribute.name not in defaults or attribute.type != kind:
            raise NodeError(f"attribute '{attribute.name}' not supported")
        values[attribute.name] = onnx.helper.get_attribute_value(attribute)
    return values
