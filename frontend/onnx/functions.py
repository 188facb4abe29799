"""ONNX ops that nn has no op for, expressed by the function body their schema defines.

Many ONNX operators (Attention, RMSNormalization, the losses, Celu, ReduceL1, ...) come with a
function: a small graph of simpler ONNX ops with the same meaning, the definition onnx's own
"_expanded" backend tests check. The importer converts such a node by converting that graph in
its place, so an op costs nothing in nn once the ops of its body are supported.
"""

from __future__ import annotations

from collections.abc import Sequence

import onnx
from onnx.backend.test.case.node import function_expand_helper

from .graph import DEFAULT_DOMAINS

FUNCTION_DOMAINS = ("ai.onnx.preview",)
"""Domains besides the default whose ops are converted only through their function bodies
(FlexAttention's, which inlines its score_mod and prob_mod graphs)."""


def has_function(node: onnx.NodeProto, opset: int) -> bool:
    """Whether the op's schema at `opset` defines a function (the node may still need types
    that only conversion knows to build it)."""
    schema = _schema(node, opset)
    if schema is None:
        return False
    versions: list[int] = [
        *getattr(schema, "function_opset_versions"),  # noqa: B009
        *getattr(schema, "context_dependent_function_opset_versions"),  # noqa: B009
    ]
    return any(v <= opset for v in versions)


def _schema(node: onnx.NodeProto, opset: int) -> onnx.defs.OpSchema | None:
    if node.domain not in (*DEFAULT_DOMAINS, *FUNCTION_DOMAINS):
        return None
    try:
        if node.domain in FUNCTION_DOMAINS:  # versioned apart from the default domain
            return onnx.defs.get_schema(node.op_type, node.domain)
        return onnx.defs.get_schema(node.op_type, opset, "")
    except onnx.defs.SchemaError:
        return None


def function_body(
    node: onnx.NodeProto, opset: int, input_types: Sequence[onnx.TypeProto], prefix: str
) -> tuple[list[onnx.NodeProto], int] | None:
    """The nodes of `node`'s function at `opset` (internal names under `prefix`, the node's
    attributes and ONNX's defaults substituted) and the opset its nodes are written in; None
    when the op's schema defines no function at that opset."""
    schema = _schema(node, opset)
    if schema is None:
        return None
    function = _function(schema, node, opset, input_types)
    if function is None:
        return None
    expanded = onnx.NodeProto()
    expanded.CopyFrom(node)
    given = {a.name for a in node.attribute}
    for name, attribute in schema.attributes.items():
        if name not in given and attribute.default_value.name:
            expanded.attribute.append(attribute.default_value)
    nodes = function_expand_helper(expanded, function, prefix)
    body_opset = next(
        (entry.version for entry in function.opset_import if entry.domain in DEFAULT_DOMAINS),
        opset,
    )
    return list(nodes), body_opset


def _function(
    schema: onnx.defs.OpSchema,
    node: onnx.NodeProto,
    opset: int,
    input_types: Sequence[onnx.TypeProto],
) -> onnx.FunctionProto | None:
    """The schema's function for `opset`: the one of the latest version not past it."""
    # onnx's stubs lack the versioned accessors, which its own test generator uses
    all_versions: list[int] = getattr(schema, "function_opset_versions")  # noqa: B009
    all_dependent: list[int] = getattr(schema, "context_dependent_function_opset_versions")  # noqa: B009
    versions = [v for v in all_versions if v <= opset]
    dependent = [v for v in all_dependent if v <= opset]
    if not versions and not dependent:
        return None
    function = onnx.FunctionProto()
    if dependent and (not versions or max(dependent) >= max(versions)):
        build = getattr(schema, "get_context_dependent_function_with_opset_version")  # noqa: B009
        types = [t.SerializeToString() for t in input_types]
        body: bytes = build(max(dependent), node.SerializeToString(), types)
    else:
        body = getattr(schema, "get_function_with_opset_version")(max(versions))  # noqa: B009
    function.ParseFromString(body)
    return function if function.node else None
