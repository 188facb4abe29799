"""The Emitter (emitter.py) that the importer hands to decompositions and adapters: it
converts the nodes one ONNX node stands for, under that node's label, through the
converter (importer.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import onnx
from onnx import helper
from xdsl.dialects.builtin import NameLoc, NoneAttr, StringAttr, TensorType
from xdsl.ir import SSAValue

from ...dialects.nn import RangeCheckOp
from ...dialects.nn.base import element_type_to_numpy
from ...dialects.nn.checks import first_outside
from ...errors import ValueOutOfRangeError
from . import lowprecision
from .emitter import Container, NodeError, RunTimeValueError

if TYPE_CHECKING:
    from .importer import Converter


@dataclass
class NodeEmitter:
    """Converts the nodes that one ONNX node stands for, under that node's label."""

    converter: Converter
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
        return self.converter.storage.get(name) or numpy_dtype(value)

    def is_storage(self, name: str) -> bool:
        return lowprecision.is_low_precision(self.dtype(name))

    def set_storage_dtype(self, name: str, dtype: np.dtype[np.generic]) -> None:
        self.converter.set_storage_dtype(name, dtype)

    def shape(self, name: str) -> tuple[int, ...]:
        return tuple(shape_of(self.converter.env_value(name)))

    def container(self, name: str) -> Container | None:
        return self.converter.containers.get(name)

    def producer(self, name: str) -> onnx.NodeProto | None:
        return next((n for n in self.converter.model.graph.node if name in n.output), None)

    def bind_container(self, name: str, value: Container) -> None:
        self.converter.containers[name] = value

    def _fresh(self) -> str:
        self.count += 1
        return f"{self.label}/{self.count}"


def shape_of(value: SSAValue | np.ndarray) -> list[int]:
    if isinstance(value, np.ndarray):
        return list(value.shape)
    value_type = value.type
    assert isinstance(value_type, TensorType)
    return list(value_type.get_shape())


def numpy_dtype(value: SSAValue) -> np.dtype[np.generic]:
    value_type = value.type
    assert isinstance(value_type, TensorType)
    return element_type_to_numpy(value_type.element_type)
