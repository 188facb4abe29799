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
            "squeezenet", "onnx's light_squeezenet, random weights", _light("light_squeezenet")
        ),
        Workload("resnet50", "onnx's light_resnet50, random weights", _light("light_resnet50")),
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
