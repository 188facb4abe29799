"""Standalone kernels (TUNING.md section 2, "measure each task in isolation"): a task's
contraction and its fused ops cut out of the model as a one-kernel ONNX model, so a trial
compiles one kernel instead of the whole model.

The cut keeps the task's own ONNX nodes (the contraction, its prologue and epilogue: bias,
batchnorm, activation, residual add), every initializer and constant-only node they read (the
weights stay constants, so they are packed at compile time as in the model), and makes every
other tensor they read a graph input of the shape the model gives it. The cut is accepted only
when the kernel model's own task extraction yields the task's key: same shapes, maps, weight
operands and epilogue, hence the same code as inside the model. A task whose cut does not
reproduce its key (an operand the model's fusion folded from another node, a layout that only
the whole graph fixes) is measured inside the whole model, as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import onnx
import onnx.shape_inference
import onnx.utils

from ..targets.target import Target
from .target_info import TargetInfo
from .tasks import Task, extract_tasks, random_inputs, reference_outputs


@dataclass(frozen=True)
class Kernel:
    """What measuring a task alone needs: its one-kernel model, inputs and reference."""

    model: bytes
    inputs: Sequence[np.ndarray]
    reference: Sequence[np.ndarray]


def _constant_tensors(graph: onnx.GraphProto) -> set[str]:
    """Initializers and the outputs of nodes that read only constants (in graph order)."""
    constant = {t.name for t in graph.initializer}
    for node in graph.node:
        if all(not name or name in constant for name in node.input):
            constant.update(node.output)
    return constant


def cut(model: onnx.ModelProto, nodes: Sequence[str]) -> onnx.ModelProto | None:
    """The model's `nodes` as a model of their own (module docstring), or None when they do
    not form one kernel with one output. `model` holds its inferred shapes (the extractor
    needs the type of every tensor it makes an input or output)."""
    graph = model.graph
    names = set(nodes)
    chosen = [n for n in graph.node if n.name in names]
    if not chosen or len(chosen) != len(names):
        return None
    produced = {o for n in chosen for o in n.output}
    constant = _constant_tensors(graph)
    inputs = list(
        dict.fromkeys(
            i for n in chosen for i in n.input if i and i not in produced and i not in constant
        )
    )
    read_outside = {i for n in graph.node if n.name not in names for i in n.input}
    read_outside |= {o.name for o in graph.output}
    outputs = [o for n in chosen for o in n.output if o in read_outside]
    if len(outputs) != 1 or not inputs:
        return None
    try:
        return onnx.utils.Extractor(model).extract_model(inputs, outputs)
    except Exception:  # noqa: BLE001 - an uninferable shape: the task stays in the model
        return None


CHAIN = 6
"""Most nodes after the contraction a cut may take (conv, batchnorm, add, relu: 4)."""


EPILOGUE_OPS = frozenset(
    [
        "Add",
        "Sum",
        "Sub",
        "Mul",
        "Div",
        "Relu",
        "LeakyRelu",
        "Clip",
        "Sigmoid",
        "HardSigmoid",
        "HardSwish",
        "Tanh",
        "Max",
        "Min",
        "Neg",
        "BatchNormalization",
        "Erf",
        "Gelu",
        "Identity",
        "Sqrt",
        "Exp",
        "Abs",
    ]
)
"""The node kinds the fusion can fold after a contraction (a chain stops at any other)."""


def chains(model: onnx.ModelProto, first: str) -> list[list[str]]:
    """The cuts to try for a task whose contraction is the node `first`, longest first: the
    node and each prefix of the chain of nodes that alone read the previous one's output
    (the fusion folds an epilogue only into a contraction whose result nothing else reads)."""
    graph = model.graph
    readers: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            readers.setdefault(name, []).append(node)
    outputs = {o.name for o in graph.output}
    node = next((n for n in graph.node if n.name == first), None)
    if node is None:
        return []
    chain = [node.name]
    while len(chain) <= CHAIN and len(node.output) == 1 and node.output[0] not in outputs:
        after = readers.get(node.output[0], [])
        if len(after) != 1 or not after[0].name or after[0].op_type not in EPILOGUE_OPS:
            break
        node = after[0]
        chain.append(node.name)
    return [chain[:end] for end in range(len(chain), 0, -1)]


CONTRACTIONS = frozenset({"Conv", "MatMul", "Gemm"})


def standalone_kernels(
    model: onnx.ModelProto, target: Target, info: TargetInfo, tasks: Sequence[Task], seed: int
) -> dict[str, Kernel]:
    """The tasks that have a standalone kernel reproducing their key, by task key.

    Every contraction node of the graph is cut with each prefix of its epilogue chain, and a
    cut whose one task is a wanted key becomes that task's kernel (the key is the kernel: two
    cuts with one key compile to the same code). Nodes whose kind, attributes, operand shapes
    and chain repeat an earlier node's (ResNet's repeated blocks) are not cut again."""
    wanted = {task.key for task in tasks}
    kernels: dict[str, Kernel] = {}
    inferred = onnx.shape_inference.infer_shapes(model)
    shapes = _shapes(inferred)
    seen: set[str] = set()
    for node in inferred.graph.node:
        if wanted <= kernels.keys():
            break
        if node.op_type not in CONTRACTIONS or not node.name:
            continue
        for nodes in chains(inferred, node.name):
            signature = _signature(inferred, nodes, shapes)
            if signature in seen:
                continue
            seen.add(signature)
            piece = cut(inferred, nodes)
            key = _key_of(piece, target, info) if piece is not None else None
            if piece is None or key not in wanted or key in kernels:
                continue
            inputs = random_inputs(piece, seed)
            kernels[key] = Kernel(
                piece.SerializeToString(), inputs, reference_outputs(piece, inputs)
            )
    return kernels


def _shapes(model: onnx.ModelProto) -> dict[str, str]:
    graph = model.graph
    found = {v.name: str(v.type) for v in [*graph.input, *graph.value_info, *graph.output]}
    found.update({t.name: f"{t.data_type}:{list(t.dims)}" for t in graph.initializer})
    return found


def _signature(model: onnx.ModelProto, nodes: Sequence[str], shapes: dict[str, str]) -> str:
    """What makes two cuts the same kernel: per node its kind, attributes, operand shapes."""
    by_name = {n.name: n for n in model.graph.node}
    parts: list[str] = []
    for name in nodes:
        node = by_name[name]
        attributes = sorted(str(a) for a in node.attribute)
        operands = [shapes.get(i, "?") for i in node.input]
        parts.append(f"{node.op_type}|{attributes}|{operands}")
    return "\n".join(parts)


def _key_of(piece: onnx.ModelProto, target: Target, info: TargetInfo) -> str | None:
    """The key of the kernel model's one task (None unless it has exactly one)."""
    try:
        found = extract_tasks(piece, target, info)
    except Exception:  # noqa: BLE001 - a cut the compiler rejects: measured in the model
        return None
    return found[0].key if len(found) == 1 else None
