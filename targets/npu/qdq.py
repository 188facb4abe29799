"""Quantized models in QDQ form (onnxruntime's `quantize_static(..., QuantFormat.QDQ)`): the
DequantizeLinear -> Conv -> QuantizeLinear pattern becomes the QLinearConv it means, before the
partition (docs/npu.md, "Quantized models").

A Conv folds when its data, weights and bias are each a DequantizeLinear's output (the weights
of a constant int8 tensor, the bias of a constant int32 one with zero zero points and the scale
`fp32(x_scale * w_scale)`, the scale QLinearConv gives its int32 bias) and its result's only
user is a QuantizeLinear; every zero point is given (an absent one would mean uint8). The
QLinearConv computes the same int8 tensor: onnxruntime's own graph optimizer does this fusion.
The partition then maps it (quantized.py) or keeps it on the CPU with its reason, and a ReLU in
QDQ form after it (DequantizeLinear -> Relu -> QuantizeLinear with the same scale and zero
point: `max(q, zero_point)`) fuses as STORE OUT's lower clamp.

The DequantizeLinear and QuantizeLinear nodes a fold consumes are recorded with the conv they
went into, so the partition report still names every node of the model as given.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import onnx
from numpy.typing import NDArray
from onnx import numpy_helper


@dataclass
class QdqFold:
    model: onnx.ModelProto
    folded: dict[str, str] = field(default_factory=lambda: dict[str, str]())
    """Each Conv that became a QLinearConv, by its node label: the original op type."""
    absorbed: dict[str, tuple[str, str]] = field(
        default_factory=lambda: dict[str, tuple[str, str]]()
    )
    """Each DequantizeLinear/QuantizeLinear folded away: (its op type, the conv's label)."""


def fold_qdq(model: onnx.ModelProto) -> QdqFold:
    """`model` with every foldable QDQ conv as a QLinearConv; nodes keep their labels (an
    unnamed node is named after its label in `model`, `OpType_index`)."""
    result = onnx.ModelProto()
    result.CopyFrom(model)
    graph = result.graph
    for index, node in enumerate(graph.node):
        if not node.name:
            node.name = f"{node.op_type}_{index}"
    fold = QdqFold(result)
    constants = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    producers = {out: node for node in graph.node for out in node.output}
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    outputs = {o.name for o in graph.output}
    removed: set[str] = set()
    replaced: dict[str, onnx.NodeProto] = {}
    for node in graph.node:
        if node.op_type != "Conv":
            continue
        pattern = _conv_pattern(node, producers, consumers, constants, outputs)
        if pattern is None:
            continue
        qlinear, used = pattern
        replaced[node.name] = qlinear
        fold.folded[node.name] = node.op_type
        removed.add(used[-1].name)  # the QuantizeLinear
        fold.absorbed[used[-1].name] = (used[-1].op_type, node.name)
        for dequantize in used[:-1]:
            fold.absorbed.setdefault(dequantize.name, (dequantize.op_type, node.name))
    still_read = (
        {
            name
            for node in graph.node
            if node.name not in replaced and node.name not in removed
            for name in node.input
        }
        | {name for q in replaced.values() for name in q.input}
        | outputs
    )
    for node in graph.node:  # a DequantizeLinear that something else still reads stays
        if node.name in fold.absorbed and node.op_type == "DequantizeLinear":
            if node.output[0] in still_read:
                del fold.absorbed[node.name]
            else:
                removed.add(node.name)
    kept = [replaced.get(n.name, n) for n in graph.node if n.name not in removed]
    del graph.node[:]
    graph.node.extend(kept)
    return fold


def _conv_pattern(
    conv: onnx.NodeProto,
    producers: dict[str, onnx.NodeProto],
    consumers: dict[str, list[onnx.NodeProto]],
    constants: dict[str, NDArray[np.generic]],
    outputs: set[str],
) -> tuple[onnx.NodeProto, list[onnx.NodeProto]] | None:
    """The QLinearConv for `conv` and the DequantizeLinear/QuantizeLinear nodes it replaces
    (the QuantizeLinear last), or None where the pattern does not hold."""
    dequantized = [_dequantize(producers.get(name)) for name in conv.input]
    if len(dequantized) < 2 or any(d is None for d in dequantized):
        return None
    x, w, *bias = [d for d in dequantized if d is not None]
    users = consumers.get(conv.output[0], [])
    if conv.output[0] in outputs or len(users) != 1:
        return None
    quantize = users[0]
    if quantize.op_type != "QuantizeLinear" or len(quantize.input) != 3:
        return None
    if not _int_constant(constants, w.input[0], np.int8) or x.input[0] in constants:
        return None
    if bias and not _bias_folds(bias[0], x, w, constants):
        return None
    inputs = [*x.input, *w.input, *quantize.input[1:], *(b.input[0] for b in bias)]
    qlinear = onnx.helper.make_node(
        "QLinearConv", inputs, list(quantize.output), name=conv.name, domain=conv.domain
    )
    qlinear.attribute.extend(conv.attribute)
    return qlinear, [x, w, *bias, quantize]


def _dequantize(node: onnx.NodeProto | None) -> onnx.NodeProto | None:
    """A DequantizeLinear with its zero point given, per tensor or per axis."""
    if node is None or node.op_type != "DequantizeLinear" or len(node.input) != 3:
        return None
    return node


def _int_constant(constants: dict[str, NDArray[np.generic]], name: str, dtype: type) -> bool:
    return name in constants and constants[name].dtype == dtype


def _bias_folds(
    bias: onnx.NodeProto,
    x: onnx.NodeProto,
    w: onnx.NodeProto,
    constants: dict[str, NDArray[np.generic]],
) -> bool:
    """QLinearConv's int32 bias has the scale `x_scale * w_scale` and zero point 0."""
    names = (bias.input[0], bias.input[1], bias.input[2], x.input[1], w.input[1])
    if any(name not in constants for name in names) or constants[names[0]].dtype != np.int32:
        return False
    if np.any(constants[bias.input[2]] != 0):
        return False
    x_scale = np.asarray(constants[x.input[1]], np.float32)
    w_scale = np.asarray(constants[w.input[1]], np.float32).reshape(-1)
    expected = (x_scale.reshape(()) * w_scale) if x_scale.size == 1 else None
    got = np.asarray(constants[bias.input[1]], np.float32).reshape(-1)
    return expected is not None and got.size in (1, expected.size) and bool(np.all(got == expected))


def relu_after(
    output: str,
    consumers: dict[str, list[onnx.NodeProto]],
    constants: dict[str, NDArray[np.generic]],
) -> list[onnx.NodeProto] | None:
    """DequantizeLinear -> Relu -> QuantizeLinear after the int8 tensor `output`, each the only
    user of the one before, the quantize with the dequantize's scale and zero point: the three
    compute `max(q, zero_point)`. None where that is not the pattern."""
    chain: list[onnx.NodeProto] = []
    current = output
    for op_type in ("DequantizeLinear", "Relu", "QuantizeLinear"):
        users = consumers.get(current, [])
        if len(users) != 1 or users[0].op_type != op_type:
            return None
        chain.append(users[0])
        current = users[0].output[0]
    dequantize, _, quantize = chain
    if len(dequantize.input) != 3 or len(quantize.input) != 3:
        return None
    if any(name not in constants for name in (*dequantize.input[1:], *quantize.input[1:])):
        return None
    same = all(
        constants[a].dtype == constants[b].dtype and np.array_equal(constants[a], constants[b])
        for a, b in zip(dequantize.input[1:], quantize.input[1:], strict=True)
    )
    return chain if same else None
