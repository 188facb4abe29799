"""Split an ONNX model between the CPU and TNPU-1 (docs/npu.md, "The npu target").

A Conv with constant weights, 2-D, group 1, dilation 1, pads <= 15 and Cin >= 16, together with
the single-consumer chain after it (BatchNormalization, a residual Add/Sum in f32, Relu), is one
NPU layer when the tiler can map it; every other node stays on the CPU, and the partition says
why. Consecutive CPU nodes form one CPU segment (a sub-model compiled for the host); an NPU
layer runs where the last node of its chain stood, so that a residual's other operand exists.

This works on the ONNX graph, before import; NPU.md's npu-annotate/npu-partition passes do the
same on the nn dialect and are not written yet (docs/npu.md, "Status"). Batch norm folds into
the conv's weights and bias with the algebra of passes/nn_fold_batchnorm.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import onnx
from numpy.typing import NDArray
from onnx import numpy_helper

from .isa import NpuConfig
from .layers import ConvLayer
from .qdq import QdqFold, fold_qdq, relu_after
from .tiling import can_map

_FUSABLE = {
    "BatchNormalization": "folded into",
    "Relu": "fused into",
    "Sum": "residual add fused into",
    "Add": "residual add fused into",
}


@dataclass
class Placement:
    node: str
    op_type: str
    device: str
    reason: str
    layer: ConvLayer | None = None


@dataclass
class NpuLayer:
    """One offloaded conv and what fuses into it."""

    name: str
    layer: ConvLayer
    input: str
    output: str
    weight: NDArray[np.generic]
    """float32 (f32 layers) or int8 (QLinearConv)."""
    bias: NDArray[np.generic] | None
    residual: str | None
    nodes: list[str] = field(default_factory=lambda: list[str]())
    declined: tuple[str, str] | None = None
    """The node after the chain that could have fused and did not, and why."""
    matmul: bool = False
    """A MatMul/Gemm: `input` is (M, K) and `output` (M, N) (matmul.py's layout)."""
    reasons: dict[str, str] = field(default_factory=lambda: dict[str, str]())
    """Why each fused node is on the NPU, where it is not `_FUSABLE`'s reason."""


@dataclass
class CpuSegment:
    nodes: list[onnx.NodeProto]
    inputs: list[str] = field(default_factory=lambda: list[str]())
    outputs: list[str] = field(default_factory=lambda: list[str]())


@dataclass
class Partition:
    placements: list[Placement]
    steps: list[CpuSegment | NpuLayer]
    model: onnx.ModelProto
    """The shape-inferred model the steps refer to."""


def node_label(node: onnx.NodeProto, index: int) -> str:
    return node.name or f"{node.op_type}_{index}"


def cpu_reason(op_type: str) -> str:
    if op_type in ("QuantizeLinear", "DequantizeLinear"):
        return "converts between int8 and float for the CPU ops beside it"
    if op_type in ("MaxPool", "AveragePool", "GlobalAveragePool", "Softmax"):
        return "pooling and softmax are out of scope for TNPU-1 v1"
    if op_type in _FUSABLE:
        return "not fused into an NPU conv: runs with the CPU code around it"
    return "no TNPU-1 pattern for this op (v1 maps conv and matmul layers)"


def partition(model: onnx.ModelProto, dtype: str, config: NpuConfig) -> Partition:
    """Every node with where it runs and why, and the execution steps."""
    from .matmul import MATMUL_OPS, plan_matmul  # it builds on this module's NpuLayer

    fold = fold_qdq(model)
    inferred = onnx.shape_inference.infer_shapes(fold.model)
    graph = inferred.graph
    dims = {
        v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
        for v in [*graph.value_info, *graph.input, *graph.output]
    }
    initializers = _constants(graph)
    dims.update({name: list(value.shape) for name, value in initializers.items()})
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    for output in graph.output:  # the caller reads it: a chain fused past it would lose it
        consumers.setdefault(output.name, []).append(onnx.NodeProto(op_type="graph output"))
    labels = {id(node): node_label(node, i) for i, node in enumerate(graph.node)}
    producers = {out: node.op_type for node in graph.node for out in node.output}
    placements: dict[str, Placement] = {}
    layers_at: dict[str, NpuLayer] = {}
    declined: dict[str, str] = {}  # a node after an NPU conv that did not fuse, and why
    for node in graph.node:
        label = labels[id(node)]
        if label in placements:
            continue
        if node.op_type == "ConstantOfShape" and node.output[0] in initializers:
            placements[label] = Placement(label, node.op_type, "cpu", CONSTANT_REASON)
            continue
        if node.op_type in ("QLinearConv", "QLinearMatMul"):
            planned, reason = _plan_qlinear(node, label, dims, initializers, config)
            if planned is not None and node.op_type == "QLinearConv":
                _fuse_qdq_relu(planned, consumers, initializers, labels)
            device = "npu" if planned is not None else "cpu"
            layer = planned.layer if planned is not None else None
            kind = "conv" if node.op_type == "QLinearConv" else "matmul"
            reason = f"i8 {kind} layer mapped" if planned is not None else reason
            if label in fold.folded:
                reason += " (QDQ: DequantizeLinear -> Conv -> QuantizeLinear, as a QLinearConv)"
            placements[label] = Placement(label, node.op_type, device, reason, layer)
            if planned is None:
                continue
            for name in planned.nodes[1:]:
                op_type = next(n.op_type for n in graph.node if labels[id(n)] == name)
                placements[name] = Placement(name, op_type, "npu", planned.reasons[name])
            layers_at[planned.nodes[-1]] = planned
            continue
        if node.op_type not in ("Conv", *MATMUL_OPS):
            reason = declined.get(label, cpu_reason(node.op_type))
            if node.op_type in ("Sum", "Add") and any(
                producers.get(name) == "DequantizeLinear" for name in node.input
            ):
                reason = QDQ_ADD_REASON
            placements[label] = Placement(label, node.op_type, "cpu", reason)
            continue
        if node.op_type == "Conv":
            planned, reason = _plan(
                node, label, dims, consumers, initializers, dtype, labels, config, placements
            )
        else:
            planned, reason = plan_matmul(
                node, label, dims, consumers, initializers, dtype, labels, config
            )
        if planned is not None and planned.declined is not None:
            declined.setdefault(*planned.declined)
        if planned is None:
            placements[label] = Placement(label, node.op_type, "cpu", reason)
            continue
        mapped = "matmul layer mapped" if planned.matmul else "conv layer mapped"
        placements[label] = Placement(label, node.op_type, "npu", mapped, planned.layer)
        for name in planned.nodes[1:]:
            op_type = next(n.op_type for n in graph.node if labels[id(n)] == name)
            why = planned.reasons.get(name, f"{_FUSABLE.get(op_type, 'fused into')} {label}")
            placements[name] = Placement(name, op_type, "npu", why)
        layers_at[planned.nodes[-1]] = planned
    steps = _steps(graph, labels, placements, layers_at)
    return Partition(_in_model_order(model, fold, placements), steps, inferred)


QDQ_ADD_REASON = (
    "a QDQ residual add (int8 operands with scales of their own, requantized after): "
    "no TNPU-1 mapping yet, runs in float on the CPU as onnxruntime does"
)


def _fuse_qdq_relu(
    planned: NpuLayer,
    consumers: dict[str, list[onnx.NodeProto]],
    constants: dict[str, NDArray[np.generic]],
    labels: dict[int, str],
) -> None:
    """A QDQ ReLU after an i8 conv (qdq.relu_after) is STORE OUT's lower clamp."""
    chain = relu_after(planned.output, consumers, constants)
    if chain is None:
        return
    planned.layer = replace(planned.layer, relu=True)
    for node in chain:
        label = labels[id(node)]
        planned.nodes.append(label)
        planned.reasons[label] = (
            f"QDQ ReLU (max(q, zero point), same scale) fused into {planned.name}"
        )
    planned.output = chain[-1].output[0]


def _in_model_order(
    model: onnx.ModelProto, fold: QdqFold, placements: dict[str, Placement]
) -> list[Placement]:
    """The placements in the order of `model`'s nodes, with each DequantizeLinear and
    QuantizeLinear a QDQ fold consumed where its conv runs."""
    ordered: list[Placement] = []
    for index, node in enumerate(model.graph.node):
        label = node_label(node, index)
        if label in placements:
            placement = placements[label]
            if label in fold.folded:
                placement = replace(placement, op_type=fold.folded[label])
            ordered.append(placement)
            continue
        op_type, conv = fold.absorbed[label]
        device = placements[conv].device
        where = "its i8 layer" if device == "npu" else "a QLinearConv on the CPU"
        reason = f"QDQ of {conv}, folded into {where}"
        ordered.append(Placement(label, op_type, device, reason))
    return ordered


def _plan(
    node: onnx.NodeProto,
    label: str,
    dims: dict[str, list[int]],
    consumers: dict[str, list[onnx.NodeProto]],
    initializers: dict[str, NDArray[np.generic]],
    dtype: str,
    labels: dict[int, str],
    config: NpuConfig,
    claimed: dict[str, Placement],
) -> tuple[NpuLayer | None, str]:
    layer = conv_geometry(node, node.input[0], node.input[1], dims, dtype)
    if isinstance(layer, str):
        return None, layer
    if node.input[1] not in initializers or (
        len(node.input) > 2 and node.input[2] not in initializers
    ):
        return None, "weights are not constant initializers"
    weight = initializers[node.input[1]].astype(np.float64)
    bias = initializers[node.input[2]].astype(np.float64) if len(node.input) > 2 else None
    planned = NpuLayer(
        label, layer, node.input[0], node.output[0], weight.astype(np.float32), None, None, [label]
    )
    for op_type in ("BatchNormalization", "Sum|Add", "Relu"):
        users = consumers.get(planned.output, [])
        if len(users) != 1 or users[0].op_type not in op_type.split("|"):
            continue
        user = users[0]
        if labels[id(user)] in claimed:  # a residual add both branches reach: the first takes it
            break
        if user.op_type == "BatchNormalization":
            params = [initializers.get(name) for name in user.input[1:5]]
            if any(p is None for p in params):
                planned.declined = (
                    labels[id(user)],
                    f"non-constant statistics: {label} cannot fold it",
                )
                break
            scale, shift, mean, var = (np.asarray(p, np.float64) for p in params)
            epsilon = next((a.f for a in user.attribute if a.name == "epsilon"), 1e-5)
            factor = scale / np.sqrt(var + epsilon)  # BN(y) = factor * y + shift'
            weight = weight * factor[:, None, None, None]
            bias = (bias if bias is not None else 0.0) * factor + shift - mean * factor
        elif user.op_type in ("Sum", "Add"):
            others = [name for name in user.input if name != planned.output]
            why = _residual_refusal(user, others, dims)
            if why is not None:
                planned.declined = (labels[id(user)], f"{why}: not fused into {label}")
                break
            planned.residual = others[0]
            layer = replace(layer, residual=True)
        else:
            layer = replace(layer, relu=True)
        planned.nodes.append(labels[id(user)])
        planned.output = user.output[0]
    layer = replace(layer, bias=bias is not None)
    reason = can_map(layer, config)
    if reason is not None:
        return None, reason
    planned.layer = layer
    planned.weight = weight.astype(np.float32)
    planned.bias = None if bias is None else np.asarray(bias, np.float32)
    return planned, ""


CONSTANT_REASON = "a constant: NPU layers that read it take its value when compiled"


def _constants(graph: onnx.GraphProto) -> dict[str, NDArray[np.generic]]:
    """The initializers, and what a ConstantOfShape of a constant shape fills (the light
    models' weights are such fills)."""
    values: dict[str, NDArray[np.generic]] = {
        t.name: numpy_helper.to_array(t) for t in graph.initializer
    }
    for node in graph.node:
        if node.op_type != "ConstantOfShape" or node.input[0] not in values:
            continue
        fill = next(
            (numpy_helper.to_array(a.t) for a in node.attribute if a.name == "value"),
            np.zeros(1, np.float32),
        )
        shape = tuple(int(d) for d in values[node.input[0]])
        values[node.output[0]] = np.full(shape, fill.reshape(-1)[0], fill.dtype)
    return values


def _plan_qlinear(
    node: onnx.NodeProto,
    label: str,
    dims: dict[str, list[int]],
    constants: dict[str, NDArray[np.generic]],
    config: NpuConfig,
) -> tuple[NpuLayer | None, str]:
    from .matmul import plan_qlinear_matmul
    from .quantized import plan_qlinear  # they build on this module's NpuLayer

    if node.op_type == "QLinearMatMul":
        return plan_qlinear_matmul(node, label, dims, constants, config)
    layer = conv_geometry(node, node.input[0], node.input[3], dims, "i8")
    if isinstance(layer, str):
        return None, layer
    return plan_qlinear(node, label, layer, constants, config)


def conv_geometry(
    node: onnx.NodeProto, data: str, weight: str, dims: dict[str, list[int]], dtype: str
) -> ConvLayer | str:
    """The layer a Conv-like ONNX node (`data` and `weight` its input tensors) computes,
    before any epilogue, or why TNPU-1 cannot run it."""
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    auto_pad = attrs.get("auto_pad", "NOTSET")
    kernel = attrs.get("kernel_shape", dims.get(weight, [])[2:])  # ONNX: W's shape if absent
    return layer_geometry(
        ConvAttributes(
            list(kernel),
            list(attrs.get("strides", [1, 1])),
            list(attrs.get("pads", [0, 0, 0, 0])),
            list(attrs.get("dilations", [1, 1])),
            int(attrs.get("group", 1)),
            auto_pad.decode() if isinstance(auto_pad, bytes) else str(auto_pad),
        ),
        dims.get(data, []),
        dims.get(node.output[0], []),
        dtype,
    )


@dataclass
class ConvAttributes:
    """A convolution's ONNX attributes, defaults filled in (the nn dialect has the same)."""

    kernel: list[int]
    strides: list[int]
    pads: list[int]
    dilations: list[int]
    group: int
    auto_pad: str


def layer_geometry(
    attrs: ConvAttributes, x_shape: list[int], y_shape: list[int], dtype: str
) -> ConvLayer | str:
    """The layer TNPU-1 would run for a convolution of these attributes and shapes (0: a
    dynamic dimension), or why it cannot: the one rule of the partition and npu-annotate."""
    if len(attrs.kernel) != 2 or attrs.group != 1 or any(d != 1 for d in attrs.dilations):
        return "not a 2-D conv with group 1 and dilation 1"
    if attrs.strides[0] != attrs.strides[1] or attrs.auto_pad != "NOTSET":
        return "unequal strides or auto_pad"
    if any(len(shape) != 4 or 0 in shape for shape in (x_shape, y_shape)):
        return "its input or output shape is not static and 4-D (fix the model's input shapes)"
    if x_shape[0] != 1:
        return "batch > 1 (out of scope for TNPU-1 v1)"
    _, cin, h, w = x_shape
    if cin < 16:
        return f"Cin {cin} < 16: the 16-lane GEMM would run {cin}/16 full"
    top, left, bottom, right = attrs.pads
    kh, kw = attrs.kernel
    return ConvLayer(
        cin, y_shape[1], h, w, kh, kw, attrs.strides[0], (top, left, bottom, right), dtype
    )


def _residual_refusal(
    add: onnx.NodeProto, others: list[str], dims: dict[str, list[int]]
) -> str | None:
    if len(add.input) != 2 or len(others) != 1:
        return "not a two-operand add of the conv's result and another tensor"
    if dims.get(others[0]) != dims[add.output[0]]:
        return "the other operand broadcasts (the residual epilogue adds equal shapes)"
    return None


def _steps(
    graph: onnx.GraphProto,
    labels: dict[int, str],
    placements: dict[str, Placement],
    layers_at: dict[str, NpuLayer],
) -> list[CpuSegment | NpuLayer]:
    steps: list[CpuSegment | NpuLayer] = []
    current: CpuSegment | None = None
    for node in graph.node:
        label = labels[id(node)]
        if placements[label].device == "cpu":
            if current is None:
                current = CpuSegment([])
                steps.append(current)
            current.nodes.append(node)
            continue
        current = None
        if label in layers_at:
            steps.append(layers_at[label])
    _connect(graph, steps)
    return steps


def _connect(graph: onnx.GraphProto, steps: list[CpuSegment | NpuLayer]) -> None:
    """The values each CPU segment takes from before it and hands to what follows."""
    initializers = {t.name for t in graph.initializer}
    later_use: list[set[str]] = []
    needed = {o.name for o in graph.output}
    for step in reversed(steps):
        later_use.append(set(needed))
        if isinstance(step, NpuLayer):
            needed |= {step.input} | ({step.residual} if step.residual else set())
        else:
            needed |= {name for node in step.nodes for name in node.input if name}
    later_use.reverse()
    for step, after in zip(steps, later_use, strict=True):
        if isinstance(step, NpuLayer):
            continue
        produced = {name for node in step.nodes for name in node.output}
        consumed = [name for node in step.nodes for name in node.input if name]
        step.inputs = list(
            dict.fromkeys(n for n in consumed if n not in produced and n not in initializers)
        )
        step.outputs = [n for node in step.nodes for n in node.output if n in after]
