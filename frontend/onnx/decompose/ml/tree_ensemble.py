"""ai.onnx.ml TreeEnsemble (opset 5), rewritten into comparisons and Wheres.

Each tree is walked at import, as onnx's reference builds it (true branch first; set-membership
nodes take their members from `membership_values` in that order). A node's condition is a
comparison of one feature column with its split (or an Or of Equals with its members; Or
IsNaN when missing values track true); the mask of samples that reach a node is its parent's
mask And the condition (or its Not). A tree reaches exactly one leaf per sample, so the
Wheres of its leaves' weights, by target, add up to that leaf's weight, which is added to the
target's sum tree by tree (SUM; AVERAGE adds weight / trees).

Unsupported: the MIN and MAX aggregates, post transforms, a 0.0 set member (onnx's reference
ends the member list there), more than MAX_TREE_NODES nodes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import helper

from ...emitter import Emitter, NodeError
from ...registry import ML_DOMAIN, decomposition

MAX_TREE_NODES = 4096
"""The most nodes a TreeEnsemble is rewritten for."""

_COMPARISONS = {0: "LessOrEqual", 1: "Less", 2: "GreaterOrEqual", 3: "Greater", 4: "Equal"}
_NOT_EQUAL, _MEMBER = 5, 6
_SUM, _AVERAGE = 1, 0


@dataclass
class _Walk:
    emitter: Emitter
    x: str
    attributes: dict[str, object]
    members: list[float]
    columns: dict[int, str] = field(default_factory=lambda: {})
    leaves: list[tuple[str | None, int]] = field(default_factory=lambda: [])
    """(the mask of the samples that reach it, or None for all; the leaf's index)."""

    def ints(self, name: str) -> list[int]:
        value = self.attributes.get(name)
        if isinstance(value, onnx.TensorProto):
            return [int(v) for v in onnx.numpy_helper.to_array(value).reshape(-1)]
        return [int(v) for v in value] if isinstance(value, list) else []  # pyright: ignore[reportUnknownArgumentType, reportUnknownVariableType]

    def column(self, feature: int) -> str:
        if feature not in self.columns:
            index = self.emitter.constant(np.array([feature], np.int64))
            self.columns[feature] = self.emitter.emit("Gather", [self.x, index], {"axis": 1})
        return self.columns[feature]

    def condition(self, index: int) -> str:
        mode = self.ints("nodes_modes")[index]
        column = self.column(self.ints("nodes_featureids")[index])
        dtype = self.emitter.dtype(self.x)
        if mode == _MEMBER:
            members: list[float] = []
            while self.members and not np.isnan(self.members[0]):
                members.append(self.members.pop(0))
            if not self.members:
                raise NodeError("membership_values run out")
            self.members.pop(0)
            if not members:
                raise NodeError("a set-membership node with no members")
            equals = [
                self.emitter.emit("Equal", [column, self.emitter.constant(np.array(m, dtype))])
                for m in members
            ]
            condition = equals[0]
            for equal in equals[1:]:
                condition = self.emitter.emit("Or", [condition, equal])
        else:
            split = onnx.numpy_helper.to_array(_tensor(self.attributes, "nodes_splits"))
            bound = self.emitter.constant(np.array(split.reshape(-1)[index], dtype))
            compare = _COMPARISONS.get(mode, "Equal")
            condition = self.emitter.emit(compare, [column, bound])
            if mode == _NOT_EQUAL:
                condition = self.emitter.emit("Not", [condition])
            elif mode not in _COMPARISONS:
                raise NodeError(f"node mode {mode}")
        tracks = self.ints("nodes_missing_value_tracks_true")
        if tracks and tracks[index]:
            condition = self.emitter.emit("Or", [condition, self.emitter.emit("IsNaN", [column])])
        return condition

    def walk(self, index: int, is_leaf: bool, reach: str | None) -> None:
        if is_leaf:
            self.leaves.append((reach, index))
            return
        condition = self.condition(index)
        negation = self.emitter.emit("Not", [condition])
        for branch, mask in (("true", condition), ("false", negation)):
            child = self.ints(f"nodes_{branch}nodeids")[index]
            child_is_leaf = bool(self.ints(f"nodes_{branch}leafs")[index])
            reached = mask if reach is None else self.emitter.emit("And", [reach, mask])
            self.walk(child, child_is_leaf, reached)


def _tensor(attributes: dict[str, object], name: str) -> onnx.TensorProto:
    value = attributes.get(name)
    if not isinstance(value, onnx.TensorProto):
        raise NodeError(f"attribute '{name}' is missing")
    return value


@decomposition("TreeEnsemble", since=5, domain=ML_DOMAIN)
def tree_ensemble(node: onnx.NodeProto, emitter: Emitter) -> None:
    attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    aggregate = attributes.get("aggregate_function", _SUM)
    if aggregate not in (_SUM, _AVERAGE):
        raise NodeError(f"aggregate_function {aggregate} (MIN or MAX) is not supported")
    if attributes.get("post_transform", 0) != 0:
        raise NodeError(f"post_transform {attributes['post_transform']} is not supported")
    x = node.input[0]
    dims = emitter.shape(x)
    if len(dims) != 2:
        raise NodeError(f"an input of rank {len(dims)}; TreeEnsemble takes [N, F]")
    members: list[float] = []
    if "membership_values" in attributes:
        values = onnx.numpy_helper.to_array(_tensor(attributes, "membership_values"))
        members = [float(v) for v in values.reshape(-1)]
        if 0.0 in members:
            raise NodeError("a set member 0.0 is not supported")
    walk = _Walk(emitter, x, attributes, members)
    if len(walk.ints("nodes_modes")) > MAX_TREE_NODES:
        raise NodeError(f"more than {MAX_TREE_NODES} nodes")
    roots = walk.ints("tree_roots")
    dtype = emitter.dtype(x)
    weights = onnx.numpy_helper.to_array(_tensor(attributes, "leaf_weights")).reshape(-1)
    if aggregate == _AVERAGE:
        weights = weights.astype(np.float64) / len(roots)
    targets = walk.ints("leaf_targetids")
    target_count = int(attributes.get("n_targets", max(targets, default=-1) + 1))  # pyright: ignore[reportArgumentType]
    zero = emitter.constant(np.zeros((), dtype))
    sums: list[str | None] = [None] * target_count
    for root in roots:
        true_ids, false_ids = walk.ints("nodes_truenodeids"), walk.ints("nodes_falsenodeids")
        true_leaf, false_leaf = walk.ints("nodes_trueleafs"), walk.ints("nodes_falseleafs")
        is_leaf = bool(true_leaf[root] and false_leaf[root] and true_ids[root] == false_ids[root])
        walk.leaves = []
        walk.walk(root, is_leaf, None)
        tree: dict[int, str] = {}
        for reach, leaf in walk.leaves:
            weight = np.array(weights[leaf], dtype)
            if reach is None:
                value = emitter.constant(np.full((dims[0], 1), weight))
            else:
                value = emitter.emit("Where", [reach, emitter.constant(weight), zero])
            target = targets[leaf]
            if not 0 <= target < target_count:
                raise NodeError(f"leaf target {target} of {target_count}")
            tree[target] = emitter.emit("Add", [tree[target], value]) if target in tree else value
        for target, value in tree.items():
            previous = sums[target]
            sums[target] = value if previous is None else emitter.emit("Add", [previous, value])
    empty = emitter.constant(np.zeros((dims[0], 1), dtype))
    columns = [name if name is not None else empty for name in sums]
    emitter.emit("Concat", columns, {"axis": 1}, output=node.output[0])
