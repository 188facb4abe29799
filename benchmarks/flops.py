"""Floating-point operations of an ONNX model, counted from its graph after shape inference.

Only the contractions are counted, each multiply-add as two operations: Gemm and MatMul
(2*M*N*K per matrix product), Conv (2*N*Cout*Hout*Wout * Cin/group*kh*kw) and ConvTranspose
(2 * input elements * Cout/group*kh*kw). Elementwise ops, pooling, normalization and softmax are
left out, as is usual for GFLOP/s figures: they are a few percent of any model that has
contractions. Both formulas are 2 * (elements of one side) * (length of the reduction).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import onnx
from onnx import helper, shape_inference

COUNTED_OPS = ("Gemm", "MatMul", "Conv", "ConvTranspose")


def model_flops(model: onnx.ModelProto) -> int | None:
    """The FLOP count of the model's contractions; None when there are none, or when the
    shape of one of their operands is unknown after shape inference."""
    inferred = shape_inference.infer_shapes(model)
    shapes = _static_shapes(inferred.graph)
    total = 0
    counted = 0
    for node in inferred.graph.node:
        if not _counted(node):
            continue
        flops = node_flops(node, shapes)
        if flops is None:
            return None
        total += flops
        counted += 1
    return total if counted else None


def flops_per_node(model: onnx.ModelProto) -> list[int | None]:
    """The FLOP count of each node of the model's graph, in order: None for a node that is no
    counted contraction or whose operand shapes are unknown after shape inference."""
    inferred = shape_inference.infer_shapes(model)
    shapes = _static_shapes(inferred.graph)
    return [node_flops(node, shapes) if _counted(node) else None for node in inferred.graph.node]


def node_flops(node: onnx.NodeProto, shapes: dict[str, tuple[int, ...]]) -> int | None:
    """The FLOP count of one Gemm, MatMul, Conv or ConvTranspose node, given the static shapes
    of its operands and result by name; None for other ops or unknown shapes."""
    operand_names = [*node.input[:2], node.output[0]]
    if any(name not in shapes for name in operand_names):
        return None
    lhs, rhs, result = (shapes[name] for name in operand_names)
    match node.op_type:
        case "Gemm":
            trans_a = _int_attribute(node, "transA")
            return 2 * math.prod(result) * lhs[0 if trans_a else 1]
        case "MatMul":
            return 2 * math.prod(result) * lhs[-1]
        case "Conv":
            # weight [Cout, Cin/group, kh, kw]: each output element reduces over all but Cout
            return 2 * math.prod(result) * math.prod(rhs[1:])
        case "ConvTranspose":
            # weight [Cin, Cout/group, kh, kw]: each input element scatters into as many outputs
            return 2 * math.prod(lhs) * math.prod(rhs[1:])
        case _:
            return None


def _counted(node: onnx.NodeProto) -> bool:
    return node.op_type in COUNTED_OPS and node.domain in ("", "ai.onnx")


def _static_shapes(graph: onnx.GraphProto) -> dict[str, tuple[int, ...]]:
    """Fully static shapes of the graph's values: inputs, initializers, inferred values."""
    shapes = {tensor.name: tuple(tensor.dims) for tensor in graph.initializer}
    for info in [*graph.input, *graph.value_info, *graph.output]:
        shape = _static_shape(info)
        if shape is not None:
            shapes[info.name] = shape
    return shapes


def _static_shape(info: onnx.ValueInfoProto) -> tuple[int, ...] | None:
    if not info.type.HasField("tensor_type") or not info.type.tensor_type.HasField("shape"):
        return None
    dims: Sequence[onnx.TensorShapeProto.Dimension] = info.type.tensor_type.shape.dim
    if not all(d.HasField("dim_value") for d in dims):
        return None
    return tuple(d.dim_value for d in dims)


def _int_attribute(node: onnx.NodeProto, name: str) -> int:
    for attribute in node.attribute:
        if attribute.name == name:
            return int(helper.get_attribute_value(attribute))
    return 0
