"""ai.onnx.preview.training's Gradient: reverse-mode differentiation of the graph's nodes
between the inputs `xs` and the output `y`, as ops of their own.

The gradient of every element of `y` is seeded with 1 (the gradient of the sum of `y`, as
the operator defines it), then carried back through the nodes that compute `y` from `xs`, last
first, each contributing its local derivative; contributions to one value add up. Supported
nodes: Add, Sub, Mul, Div, Neg and Identity on operands of one shape (broadcasting would need
the gradient summed back to the operand's shape: refused). An input `y` does not depend on gets
zeros.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper

from ...emitter import Emitter, NodeError
from ...registry import TRAINING_DOMAIN, decomposition

LINEAR = {"Add": (1, 1), "Sub": (1, -1), "Identity": (1,), "Neg": (-1,)}
"""Ops whose operands' gradients are +-1 times the result's."""


@decomposition("Gradient", since=1, domain=TRAINING_DOMAIN)
def gradient(node: onnx.NodeProto, emitter: Emitter) -> None:
    attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    if set(attributes) - {"xs", "y", "zs"} or attributes.get("zs"):
        raise NodeError("only the attributes xs and y are supported")
    xs = [x.decode() for x in attributes["xs"]]  # pyright: ignore[reportUnknownVariableType, reportUnknownMemberType, reportAttributeAccessIssue]
    y = attributes["y"].decode()  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType]
    assert isinstance(y, str)
    order = _nodes_between(emitter, xs, y)
    dtype = emitter.dtype(y)
    grads: dict[str, str] = {y: emitter.constant(np.ones(emitter.shape(y), dtype))}
    for step in reversed(order):
        result = step.output[0]
        if result not in grads:
            continue
        for operand, contribution in _local_gradients(step, grads[result], emitter):
            previous = grads.get(operand)
            grads[operand] = (
                contribution if previous is None else emitter.emit("Add", [previous, contribution])
            )
    for x, output in zip(xs, node.output, strict=True):
        if not output:
            continue
        value = grads.get(x) or emitter.constant(np.zeros(emitter.shape(x), emitter.dtype(x)))
        emitter.emit("Identity", [value], output=output)


def _nodes_between(emitter: Emitter, xs: list[str], y: str) -> list[onnx.NodeProto]:
    """The nodes that compute `y`, in an order where each comes after those it reads."""
    order: list[onnx.NodeProto] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen or name in xs:
            return
        seen.add(name)
        producer = emitter.producer(name)
        if producer is None:
            return  # an input or a constant that is not differentiated
        for operand in producer.input:
            if operand:
                visit(operand)
        order.append(producer)

    visit(y)
    return order


def _local_gradients(
    node: onnx.NodeProto, upstream: str, emitter: Emitter
) -> list[tuple[str, str]]:
    """(operand, its gradient's contribution) for one node given its result's gradient."""
    operands = list(node.input)
    shape = emitter.shape(node.output[0])
    if any(emitter.shape(operand) != shape for operand in operands):
        raise NodeError(f"Gradient through {node.op_type} with broadcasting is not supported")
    if node.op_type in LINEAR:
        signs = LINEAR[node.op_type]
        return [
            (operand, upstream if sign > 0 else emitter.emit("Neg", [upstream]))
            for operand, sign in zip(operands, signs, strict=True)
        ]
    if node.op_type == "Mul":
        a, b = operands
        return [(a, emitter.emit("Mul", [upstream, b])), (b, emitter.emit("Mul", [upstream, a]))]
    if node.op_type == "Div":
        a, b = operands
        quotient = emitter.emit("Div", [upstream, b])  # d(a/b)/da = 1/b
        ratio = emitter.emit("Div", [node.output[0], b])  # d(a/b)/db = -a/b^2 = -(a/b)/b
        return [(a, quotient), (b, emitter.emit("Neg", [emitter.emit("Mul", [upstream, ratio])]))]
    raise NodeError(f"Gradient through {node.op_type} is not supported")
