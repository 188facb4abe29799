"""Values that the model gives only at run time but Terrace needs when compiling (axes, shapes,
scales, trip counts): which graph inputs they come from, so that they can be bound
(`terrace.compile(..., input_values=...)`, `terrace.backend.SpecializingRep`), and which
outputs the bound values alone would determine (refused: compiled code would compute nothing).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import onnx
from xdsl.ir import SSAValue

from ...dialects.nn.base import element_type_to_numpy, tensor_type_of
from .graph import (
    NONDETERMINISTIC_OPS,
    VALUE_INPUT_LIMIT,
    Problem,
    graph_inputs,
    node_inputs,
    node_label,
)


@dataclass(frozen=True)
class RunTimeValues:
    """The converter's view of its graph: `env` maps names to numpy arrays (known at import)
    or SSA values (computed by compiled code); `bound` names the inputs given values."""

    graph: onnx.GraphProto
    initializers: Mapping[str, np.ndarray]
    env: Mapping[str, object]
    bound: frozenset[str]

    def is_known(self, name: str) -> bool:
        return isinstance(self.env.get(name), np.ndarray)

    def sources(self, name: str, *, stop_at_known: bool) -> set[str] | None:
        """The graph inputs and initializers that `name` is computed from through the graph's
        nodes (values known at import time end the walk if `stop_at_known`); None when a
        node on the way is not deterministic or a name is not the graph's."""
        producers = {out: node for node in self.graph.node for out in node.output if out}
        leaves = {v.name for v in self.graph.input} | set(self.initializers)
        found: set[str] = set()
        pending, seen = [name], set[str]()
        while pending:
            current = pending.pop()
            if not current or current in seen:
                continue
            seen.add(current)
            if stop_at_known and self.is_known(current):
                continue
            if current in leaves:
                found.add(current)
                continue
            node = producers.get(current)
            if node is None or not _computes_from_inputs(node):
                return None
            pending.extend(node_inputs(node))  # with what its subgraphs read
        return found

    def value_inputs(self, name: str) -> frozenset[str] | None:
        """The run-time graph inputs whose values would make `name` known when compiling, when
        they are small enough to bind (VALUE_INPUT_LIMIT elements each)."""
        sources = self.sources(name, stop_at_known=True)
        runtime = {v.name for v in graph_inputs(self.graph)}
        if not sources or not sources <= runtime:
            return None
        if any(self._dtype_and_size(source)[1] > VALUE_INPUT_LIMIT for source in sources):
            return None
        return frozenset(sources)

    def integer_value_inputs(self, node: onnx.NodeProto) -> frozenset[str] | None:
        """For a value inside `node`'s expansion (a function body, an unrolled Loop): the
        integer run-time inputs `node` reads, which give the sizes, counts and axes there."""
        found = {
            source
            for name in node_inputs(node)
            for source in self.value_inputs(name) or ()
            if np.issubdtype(self._dtype_and_size(source)[0], np.integer)
        }
        return frozenset(found) or None

    def bound_output_problems(self, opset: int) -> list[Problem]:
        """The outputs that the bound values alone determine (with initializers): they would
        be folded at import (folding.py), not computed by compiled code. An output
        known because a fed input has no elements (its value is its shape) is fine."""
        if not self.bound:
            return []
        fed = {v.name for v in graph_inputs(self.graph)} - self.bound
        nodes = list(self.graph.node)
        producers = {out: i for i, node in enumerate(nodes) for out in node.output if out}
        problems: list[Problem] = []
        for value in self.graph.output:
            if not self.is_known(value.name):
                continue
            sources = self.sources(value.name, stop_at_known=False)
            used = sorted(self.bound & sources) if sources is not None else sorted(self.bound)
            if not used or (sources is not None and sources & fed):
                continue
            index = producers.get(value.name)
            node = nodes[index] if index is not None else None
            problems.append(
                Problem(
                    node_label(node, index) if node is not None and index is not None else "?",
                    node.op_type if node is not None else "Output",
                    opset,
                    f"output '{value.name}' is determined by the values bound to "
                    f"{', '.join(repr(n) for n in used)} alone (they must be fed at run time)",
                )
            )
        return problems

    def _dtype_and_size(self, name: str) -> tuple[np.dtype[np.generic], int]:
        value = self.env[name]
        if isinstance(value, np.ndarray):
            return value.dtype, value.size
        assert isinstance(value, SSAValue)
        tensor = tensor_type_of(value)
        size = int(np.prod(tensor.get_shape(), dtype=np.int64))
        return element_type_to_numpy(tensor.element_type), size


def _computes_from_inputs(node: onnx.NodeProto) -> bool:
    """Whether `node`'s results are a function of the values it reads (its inputs and what its
    subgraphs read of the enclosing graph): no random op, in its subgraphs either."""
    if node.op_type in NONDETERMINISTIC_OPS:
        return False
    return all(
        _computes_from_inputs(inner)
        for attribute in node.attribute
        if attribute.type == onnx.AttributeProto.GRAPH
        for inner in attribute.g.node
    )
