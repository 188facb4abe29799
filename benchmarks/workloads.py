"""The bundled benchmark workloads: ONNX models built with onnx.helper, weights as initializers
drawn with a fixed seed, so every run of every machine times the same model.

`WORKLOADS` is the default set, in the order the runner measures them; `workload(name)` also
knows `gemm<N>` for any N (the tests time `gemm64`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from ..errors import TerraceError
from .light_models import light_model, randomize_weights

OPSET = 21
SEED = 0


@dataclass(frozen=True)
class Workload:
    name: str
    summary: str
    build: Callable[[], onnx.ModelProto]
    gemm_shape: tuple[int, int, int] | None = None
    """(M, N, K) when the workload is one matrix product, timed against numpy's as well."""


class UnknownWorkloadError(TerraceError):
    """A name that is neither a bundled workload nor an .onnx file."""


# -- graph building helpers ----------------------------------------------------------------


class _Graph:
    """Nodes and initializers of one graph under construction; weights come from one seeded
    generator, so the model is the same on every build."""

    def __init__(self, seed: int = SEED) -> None:
        self.rng = np.random.default_rng(seed)
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._count = 0

    def fresh(self, stem: str) -> str:
        self._count += 1
        return f"{stem}_{self._count}"

    def weight(self, stem: str, shape: tuple[int, ...], fan_in: int) -> str:
        bound = math.sqrt(3.0 / fan_in)  # variance 1/fan_in: activations keep their scale
        return self.constant(stem, self.rng.uniform(-bound, bound, shape))

    def parameter(self, stem: str, shape: tuple[int, ...], low: float, high: float) -> str:
        return self.constant(stem, self.rng.uniform(low, high, shape))

    def constant(self, stem: str, value: np.ndarray) -> str:
        name = self.fresh(stem)
        array = value.astype(np.int64 if value.dtype.kind == "i" else np.float32)
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def node(self, op_type: str, inputs: list[str], **attributes: Any) -> str:
        output = self.fresh(op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [output], name=output, **attributes))
        return output

    def model(
        self,
        name: str,
        inputs: dict[str, list[int]],
        output: str,
        output_shape: list[int],
        int64_inputs: frozenset[str] = frozenset(),
    ) -> onnx.ModelProto:
        def element(input_name: str) -> int:
            return TensorProto.INT64 if input_name in int64_inputs else TensorProto.FLOAT

        graph = helper.make_graph(
            self.nodes,
            name,
            [helper.make_tensor_value_info(n, element(n), s) for n, s in inputs.items()],
            [helper.make_tensor_value_info(output, TensorProto.FLOAT, output_shape)],
            self.initializers,
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
        onnx.checker.check_model(model, full_check=True)
        return model

    def dense(self, x: str, fan_in: int, fan_out: int, relu: bool) -> str:
        w = self.weight("w", (fan_in, fan_out), fan_in)
        b = self.parameter("b", (fan_out,), -0.1, 0.1)
        y = self.node("Gemm", [x, w, b])
        return self.node("Relu", [y]) if relu else y

    def linear(self, x: str, fan_in: int, fan_out: int) -> str:
        """MatMul + Add, for inputs of rank 3 (Gemm takes matrices only)."""
        w = self.weight("w", (fan_in, fan_out), fan_in)
        b = self.parameter("b", (fan_out,), -0.1, 0.1)
        return self.node("Add", [self.node("MatMul", [x, w]), b])

    def batch_norm(self, x: str, channels: int) -> str:
        scale = self.parameter("bn_scale", (channels,), 0.5, 1.5)
        bias = self.parameter("bn_bias", (channels,), -0.1, 0.1)
        mean = self.parameter("bn_mean", (channels,), -0.1, 0.1)
        variance = self.parameter("bn_var", (channels,), 0.5, 1.5)
        return self.node("BatchNormalization", [x, scale, bias, mean, variance])

    def layer_norm(self, x: str, width: int) -> str:
        scale = self.parameter("ln_scale", (width,), 0.5, 1.5)
        bias = self.parameter("ln_bias", (width,), -0.1, 0.1)
        return self.node("LayerNormalization", [x, scale, bias], axis=-1, epsilon=1e-5)


# -- the workloads -------------------------------------------------------------------------


def gemm(size: int) -> onnx.ModelProto:
    """relu(A @ B + bias), A a [size, size] input, B and the bias initializers."""
    g = _Graph()
    y = g.node("Relu", [g.dense("a", size, size, relu=False)])
    return g.model(f"gemm{size}", {"a": [size, size]}, y, [size, size])


def gemm_large_k(m: int = 256, k: int = 4096, n: int = 256) -> onnx.ModelProto:
    """relu(A @ B + bias), A an [m, k] input: a reduction far longer than L1 holds of A's
    or B's panels (the case cache blocking in K is for)."""
    g = _Graph()
    y = g.node("Relu", [g.dense("a", k, n, relu=False)])
    return g.model(f"gemm_k{k}", {"a": [m, k]}, y, [m, n])


def mlp() -> onnx.ModelProto:
    """Batch 64, 784 -> 1024 -> 1024 -> 10: Gemm + Relu twice, then a Gemm."""
    g = _Graph()
    h = g.dense("x", 784, 1024, relu=True)
    h = g.dense(h, 1024, 1024, relu=True)
    y = g.dense(h, 1024, 10, relu=False)
    return g.model("mlp", {"x": [64, 784]}, y, [64, 10])


def transformer_block(
    sequence: int = 128, hidden: int = 256, heads: int = 4, ffn: int = 1024
) -> onnx.ModelProto:
    """A post-LN (BERT-style) encoder block on [1, sequence, hidden]: multi-head
    self-attention (MatMul projections, Softmax), residual, LayerNormalization, then the
    feed-forward network (hidden -> ffn -> hidden, ONNX's Gelu op), residual, LayerNorm."""
    g = _Graph()
    y = _encoder_block(g, "x", sequence, hidden, heads, ffn)
    shape = [1, sequence, hidden]
    return g.model("transformer_block", {"x": shape}, y, shape)


def embedding_transformer(
    vocabulary: int = 30522, sequence: int = 128, hidden: int = 256
) -> onnx.ModelProto:
    """BERT's input end: a Gather of token ids [1, sequence] (an int64 input, so its indices
    are checked at run time) from a [vocabulary, hidden] embedding table, then the
    transformer block."""
    g = _Graph()
    table = g.weight("embedding", (vocabulary, hidden), hidden)
    embedded = g.node("Gather", [table, "ids"], axis=0)
    y = _encoder_block(g, embedded, sequence, hidden, heads=4, ffn=1024)
    return g.model(
        "embedding_transformer",
        {"ids": [1, sequence]},
        y,
        [1, sequence, hidden],
        int64_inputs=frozenset({"ids"}),
    )


def _encoder_block(g: _Graph, x: str, sequence: int, hidden: int, heads: int, ffn: int) -> str:
    head_width = hidden // heads
    split = g.constant("split_shape", np.array([1, sequence, heads, head_width]))
    merged = g.constant("merged_shape", np.array([1, sequence, hidden]))

    def heads_of(projection: str, perm: list[int]) -> str:
        return g.node("Transpose", [g.node("Reshape", [projection, split])], perm=perm)

    query = heads_of(g.linear(x, hidden, hidden), [0, 2, 1, 3])  # [1, heads, seq, width]
    key_t = heads_of(g.linear(x, hidden, hidden), [0, 2, 3, 1])  # [1, heads, width, seq]
    value = heads_of(g.linear(x, hidden, hidden), [0, 2, 1, 3])
    scale = g.constant("scale", np.array(1.0 / math.sqrt(head_width)))
    scores = g.node("Mul", [g.node("MatMul", [query, key_t]), scale])
    context = g.node("MatMul", [g.node("Softmax", [scores], axis=-1), value])
    context = g.node("Transpose", [context], perm=[0, 2, 1, 3])
    attention = g.linear(g.node("Reshape", [context, merged]), hidden, hidden)
    h = g.layer_norm(g.node("Add", [x, attention]), hidden)
    inner = g.node("Gelu", [g.linear(h, hidden, ffn)])
    return g.layer_norm(g.node("Add", [h, g.linear(inner, ffn, hidden)]), hidden)


def mobilenet_block(channels: int = 64, size: int = 56, out_channels: int = 128) -> onnx.ModelProto:
    """A MobileNet v1 depthwise-separable block on [1, channels, size, size]: depthwise 3x3
    conv (group = channels) + BatchNormalization + Relu, pointwise 1x1 conv + BN + Relu."""
    g = _Graph()
    depthwise = g.weight("dw", (channels, 1, 3, 3), 9)
    h = g.node("Conv", ["x", depthwise], group=channels, pads=[1, 1, 1, 1])
    h = g.node("Relu", [g.batch_norm(h, channels)])
    pointwise = g.weight("pw", (out_channels, channels, 1, 1), channels)
    h = g.node("Conv", [h, pointwise])
    y = g.node("Relu", [g.batch_norm(h, out_channels)])
    return g.model(
        "mobilenet_block", {"x": [1, channels, size, size]}, y, [1, out_channels, size, size]
    )


# -- today's vision and language models (their shapes, seeded random weights) --------------
# Convolutions carry their biases, as exporters write them after folding BatchNormalization.


def _conv(
    g: _Graph, x: str, cin: int, cout: int, kernel: int, stride: int = 1, group: int = 1
) -> str:
    w = g.weight("w", (cout, cin // group, kernel, kernel), cin // group * kernel * kernel)
    b = g.parameter("b", (cout,), -0.1, 0.1)
    pad = kernel // 2
    return g.node("Conv", [x, w, b], strides=[stride, stride], pads=[pad] * 4, group=group)


def _relu6(g: _Graph, x: str) -> str:
    low = g.constant("zero", np.array(0.0))
    high = g.constant("six", np.array(6.0))
    return g.node("Clip", [x, low, high])


def _silu(g: _Graph, x: str) -> str:
    """x * sigmoid(x), as torch.onnx exports SiLU."""
    return g.node("Mul", [x, g.node("Sigmoid", [x])])


def _classifier(g: _Graph, x: str, channels: int, classes: int) -> str:
    pooled = g.node("Flatten", [g.node("GlobalAveragePool", [x])])
    return g.dense(pooled, channels, classes, relu=False)


MOBILENET_V2_BLOCKS = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)
"""(expansion, output channels, repeats, first stride) per stage, as in the paper."""


def mobilenet_v2(size: int = 224, classes: int = 1000) -> onnx.ModelProto:
    """MobileNetV2 on [1, 3, size, size]: a 3x3 stride-2 stem, 17 inverted residual blocks
    (1x1 expansion + ReLU6, 3x3 depthwise + ReLU6, linear 1x1 projection, a residual add where
    the shape allows), a 1x1 conv to 1280 + ReLU6, global average pool, a 1000-way Gemm."""
    g = _Graph()
    h = _relu6(g, _conv(g, "x", 3, 32, 3, stride=2))
    channels = 32
    for expansion, out, repeats, first_stride in MOBILENET_V2_BLOCKS:
        for index in range(repeats):
            stride = first_stride if index == 0 else 1
            inner = channels * expansion
            y = h if expansion == 1 else _relu6(g, _conv(g, h, channels, inner, 1))
            y = _relu6(g, _conv(g, y, inner, inner, 3, stride=stride, group=inner))
            y = _conv(g, y, inner, out, 1)
            h = g.node("Add", [h, y]) if stride == 1 and channels == out else y
            channels = out
    h = _relu6(g, _conv(g, h, channels, 1280, 1))
    y = _classifier(g, h, 1280, classes)
    return g.model("mobilenet_v2", {"x": [1, 3, size, size]}, y, [1, classes])


EFFICIENTNET_B0_BLOCKS = (
    (1, 3, 1, 16, 1),
    (6, 3, 2, 24, 2),
    (6, 5, 2, 40, 2),
    (6, 3, 2, 80, 3),
    (6, 5, 1, 112, 3),
    (6, 5, 2, 192, 4),
    (6, 3, 1, 320, 1),
)
"""(expansion, kernel, first stride, output channels, repeats) per stage."""


def efficientnet_b0(size: int = 224, classes: int = 1000) -> onnx.ModelProto:
    """EfficientNet-B0 on [1, 3, size, size]: a 3x3 stride-2 stem + SiLU, 16 MBConv blocks
    (1x1 expansion + SiLU, 3x3 or 5x5 depthwise + SiLU, squeeze-and-excitation: global pool,
    1x1 reduce to a quarter of the block's input + SiLU, 1x1 expand + Sigmoid, scale; linear
    1x1 projection; a residual add where the shape allows), a 1x1 conv to 1280 + SiLU, global
    average pool, a 1000-way Gemm."""
    g = _Graph()
    h = _silu(g, _conv(g, "x", 3, 32, 3, stride=2))
    channels = 32
    for expansion, kernel, first_stride, out, repeats in EFFICIENTNET_B0_BLOCKS:
        for index in range(repeats):
            stride = first_stride if index == 0 else 1
            inner = channels * expansion
            y = h if expansion == 1 else _silu(g, _conv(g, h, channels, inner, 1))
            y = _silu(g, _conv(g, y, inner, inner, kernel, stride=stride, group=inner))
            squeezed = max(1, channels // 4)
            gate = g.node("GlobalAveragePool", [y])
            gate = _silu(g, _conv(g, gate, inner, squeezed, 1))
            gate = g.node("Sigmoid", [_conv(g, gate, squeezed, inner, 1)])
            y = _conv(g, g.node("Mul", [y, gate]), inner, out, 1)
            h = g.node("Add", [h, y]) if stride == 1 and channels == out else y
            channels = out
    h = _silu(g, _conv(g, h, channels, 1280, 1))
    y = _classifier(g, h, 1280, classes)
    return g.model("efficientnet_b0", {"x": [1, 3, size, size]}, y, [1, classes])


def convnext_stage(channels: int = 96, size: int = 56, depth: int = 3) -> onnx.ModelProto:
    """A ConvNeXt-T first stage on [1, channels, size, size]: `depth` blocks of a 7x7
    depthwise conv, LayerNormalization over channels (channels-last, as exported), a 1x1
    expansion to 4x channels as a MatMul, Gelu, the projection back, a layer scale and the
    residual add."""
    g = _Graph()
    h = "x"
    for _ in range(depth):
        y = _conv(g, h, channels, channels, 7, group=channels)
        y = g.layer_norm(g.node("Transpose", [y], perm=[0, 2, 3, 1]), channels)
        y = g.node("Gelu", [g.linear(y, channels, 4 * channels)])
        y = g.linear(y, 4 * channels, channels)
        y = g.node("Mul", [y, g.parameter("layer_scale", (channels,), 0.05, 0.15)])
        h = g.node("Add", [h, g.node("Transpose", [y], perm=[0, 3, 1, 2])])
    shape = [1, channels, size, size]
    return g.model("convnext_stage", {"x": shape}, h, shape)


def gpt2_block(sequence: int = 128, hidden: int = 256, heads: int = 4) -> onnx.ModelProto:
    """A GPT-2 decoder block on [1, sequence, hidden]: pre-LayerNorm, one fused QKV
    projection split three ways, causal attention (scores past the current position replaced
    by float32's lowest value with Where, as exporters write it), the output projection and
    residual; LayerNorm, the 4x MLP with tanh-approximated Gelu, residual."""
    g = _Graph()
    width = hidden // heads
    split = g.constant("split_shape", np.array([1, sequence, heads, width]))
    merged = g.constant("merged_shape", np.array([1, sequence, hidden]))
    qkv = g.linear(g.layer_norm("x", hidden), hidden, 3 * hidden)
    thirds = g.constant("qkv_split", np.array([hidden] * 3))
    parts = [g.fresh("qkv") for _ in range(3)]
    g.nodes.append(helper.make_node("Split", [qkv, thirds], parts, name=parts[0], axis=-1))

    def heads_of(projection: str, perm: list[int]) -> str:
        return g.node("Transpose", [g.node("Reshape", [projection, split])], perm=perm)

    query = heads_of(parts[0], [0, 2, 1, 3])
    key_t = heads_of(parts[1], [0, 2, 3, 1])
    value = heads_of(parts[2], [0, 2, 1, 3])
    scale = g.constant("scale", np.array(1.0 / math.sqrt(width)))
    scores = g.node("Mul", [g.node("MatMul", [query, key_t]), scale])
    causal = np.tril(np.ones((sequence, sequence), dtype=bool))
    mask = g.fresh("causal")
    g.initializers.append(numpy_helper.from_array(causal, mask))
    lowest = g.constant("lowest", np.array(np.finfo(np.float32).min))
    scores = g.node("Where", [mask, scores, lowest])
    context = g.node("MatMul", [g.node("Softmax", [scores], axis=-1), value])
    context = g.node("Transpose", [context], perm=[0, 2, 1, 3])
    attention = g.linear(g.node("Reshape", [context, merged]), hidden, hidden)
    h = g.node("Add", ["x", attention])
    inner = g.node(
        "Gelu", [g.linear(g.layer_norm(h, hidden), hidden, 4 * hidden)], approximate="tanh"
    )
    y = g.node("Add", [h, g.linear(inner, 4 * hidden, hidden)])
    shape = [1, sequence, hidden]
    return g.model("gpt2_block", {"x": shape}, y, shape)


def _light(name: str) -> Callable[[], onnx.ModelProto]:
    return lambda: randomize_weights(light_model(name), seed=SEED)


def _gemm_workload(size: int) -> Workload:
    return Workload(
        f"gemm{size}",
        f"Gemm + Relu, {size}x{size}x{size}, B and bias initializers",
        lambda: gemm(size),
        gemm_shape=(size, size, size),
    )


WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in (
        _gemm_workload(512),
        _gemm_workload(1024),
        Workload(
            "gemm_k4096",
            "Gemm + Relu, 256x4096 @ 4096x256 (large K), B and bias initializers",
            gemm_large_k,
            gemm_shape=(256, 256, 4096),
        ),
        Workload("mlp", "batch 64, 784-1024-1024-10, Gemm + Relu", mlp),
        Workload(
            "transformer",
            "encoder block: seq 128, hidden 256, 4 heads, FFN 1024, LayerNorm, Gelu",
            transformer_block,
        ),
        Workload(
            "embedding_transformer",
            "Gather of 1x128 ids from a 30522x256 table, then the transformer block",
            embedding_transformer,
        ),
        Workload(
            "mobilenet_block",
            "1x64x56x56: depthwise 3x3 + BN + Relu, pointwise 1x1 to 128 + BN + Relu",
            mobilenet_block,
        ),
        Workload(
            "mobilenet_v2",
            "MobileNetV2 224x224: inverted residuals, depthwise 3x3, ReLU6",
            mobilenet_v2,
        ),
        Workload(
            "efficientnet_b0",
            "EfficientNet-B0 224x224: depthwise 3x3 and 5x5, SiLU, squeeze-and-excitation",
            efficientnet_b0,
        ),
        Workload(
            "convnext_stage",
            "ConvNeXt-T stage 1, 1x96x56x56: 3 blocks of depthwise 7x7, LayerNorm, Gelu, 1x1s",
            convnext_stage,
        ),
        Workload(
            "gpt2_block",
            "GPT-2 decoder block: seq 128, hidden 256, 4 heads, causal Where mask, tanh Gelu",
            gpt2_block,
        ),
        Workload(
            "squeezenet", "onnx's light_squeezenet, random weights", _light("light_squeezenet")
        ),
        Workload("resnet50", "onnx's light_resnet50, random weights", _light("light_resnet50")),
        Workload(
            "shufflenet", "onnx's light_shufflenet, random weights", _light("light_shufflenet")
        ),
        Workload(
            "inception_v1",
            "onnx's light_inception_v1, random weights",
            _light("light_inception_v1"),
        ),
    )
}

_GEMM_NAME = re.compile(r"gemm([1-9][0-9]{0,4})")


def workload(name: str) -> Workload:
    """The bundled workload of that name, or `gemm<N>` for any N up to 99999."""
    if name in WORKLOADS:
        return WORKLOADS[name]
    match = _GEMM_NAME.fullmatch(name)
    if match is not None:
        return _gemm_workload(int(match.group(1)))
    known = ", ".join(WORKLOADS)
    raise UnknownWorkloadError(
        f"unknown workload '{name}': expected an .onnx file or one of {known}, gemm<N>"
    )
