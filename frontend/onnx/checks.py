"""The per-node checks that need no types, run on every node before any is converted, so
that a model's unsupported nodes are listed together."""

from __future__ import annotations

import onnx
from onnx import helper

from ...dialects.nn import ONNX_OPS
from .adapters import LEGACY_BROADCAST_OPS
from .functions import has_function
from .graph import DEFAULT_DOMAINS, LEGACY_ATTRIBUTES, Problem, node_label
from .registry import find
from .values import canonical_attribute_name


def static_problem(
    node: onnx.NodeProto, index: int, opset: int, constant: set[str]
) -> Problem | None:
    def problem(reason: str) -> Problem:
        return Problem(node_label(node, index), node.op_type, opset, reason)

    if node.domain not in DEFAULT_DOMAINS and find(node) is None:
        if has_function(node, opset):  # converted as its function body
            return None
        return problem(f"operator domain '{node.domain}' is not supported")
    if node.op_type == "Constant":
        return None  # its one value attribute is checked when it is read
    if node.output and all(name in constant for name in node.output if name):
        return None  # evaluated at import time, whatever the op
    if find(node) is not None:
        return None  # decomposed into other nn ops, which check its attributes
    op_class = ONNX_OPS.get(node.op_type)
    if op_class is None and has_function(node, opset):
        return None  # converted as its function body, whose nodes are checked then
    if op_class is None:
        return problem("operator not supported")
    for attribute in node.attribute:
        name = canonical_attribute_name(node.op_type, attribute.name, opset)
        if name in op_class.ATTRIBUTES or is_ignorable(node, attribute, opset):
            continue
        return problem(f"attribute '{attribute.name}' not supported")
    return None


def is_ignorable(node: onnx.NodeProto, attribute: onnx.AttributeProto, opset: int) -> bool:
    """Attributes of old opsets that do not change inference-time results."""
    if attribute.name in LEGACY_ATTRIBUTES:
        return True
    if node.op_type == "Dropout" and attribute.name == "ratio":
        return True
    if node.op_type == "Cast" and attribute.name == "round_mode":
        return True  # only FLOAT8E8M0 rounds by it, read in _convert_low_precision
    if node.op_type == "BatchNormalization" and attribute.name == "spatial":
        return helper.get_attribute_value(attribute) == 1
    if node.op_type in LEGACY_BROADCAST_OPS and attribute.name in ("broadcast", "axis"):
        return opset < 7  # converted by legacy_broadcast
    return node.op_type == "Gemm" and attribute.name == "broadcast"
