"""Writes models/demo_cnn.onnx, the bundled default model of `terrace demo`.

A small residual CNN for 64x64 RGB images and 10 classes, with seeded random weights:
conv-batchnorm-relu stem, max pool, two residual blocks, global average pool, gemm, softmax.
Run `python models/make_demo_model.py` to regenerate it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


def build(seed: int = 0) -> onnx.ModelProto:
    rng = np.random.default_rng(seed)
    nodes: list[onnx.NodeProto] = []
    weights: list[onnx.TensorProto] = []

    def weight(name: str, shape: list[int], low: float, high: float) -> str:
        weights.append(
            numpy_helper.from_array(rng.uniform(low, high, shape).astype(np.float32), name)
        )
        return name

    def conv_bn(name: str, source: str, cin: int, cout: int, stride: int, relu: bool) -> str:
        bound = float(np.sqrt(6.0 / (cin * 9)))
        w = weight(f"{name}.weight", [cout, cin, 3, 3], -bound, bound)
        nodes.append(
            helper.make_node(
                "Conv",
                [source, w],
                [f"{name}.conv"],
                name=f"{name}.conv",
                kernel_shape=[3, 3],
                pads=[1, 1, 1, 1],
                strides=[stride, stride],
            )
        )
        params = [
            weight(f"{name}.bn.{p}", [cout], 0.5, 1.5) for p in ("scale", "bias", "mean", "var")
        ]
        nodes.append(
            helper.make_node(
                "BatchNormalization", [f"{name}.conv", *params], [f"{name}.bn"], name=f"{name}.bn"
            )
        )
        if not relu:
            return f"{name}.bn"
        nodes.append(
            helper.make_node("Relu", [f"{name}.bn"], [f"{name}.relu"], name=f"{name}.relu")
        )
        return f"{name}.relu"

    def residual(name: str, source: str, channels: int) -> str:
        inner = conv_bn(f"{name}.a", source, channels, channels, 1, relu=True)
        inner = conv_bn(f"{name}.b", inner, channels, channels, 1, relu=False)
        nodes.append(helper.make_node("Add", [inner, source], [f"{name}.add"], name=f"{name}.add"))
        nodes.append(helper.make_node("Relu", [f"{name}.add"], [f"{name}.out"], name=f"{name}.out"))
        return f"{name}.out"

    x = conv_bn("stem", "image", 3, 16, 2, relu=True)
    nodes.append(
        helper.make_node("MaxPool", [x], ["pool"], name="pool", kernel_shape=[2, 2], strides=[2, 2])
    )
    x = residual("block1", "pool", 16)
    x = residual("block2", x, 16)
    nodes.append(helper.make_node("GlobalAveragePool", [x], ["gap"], name="gap"))
    nodes.append(helper.make_node("Flatten", ["gap"], ["features"], name="flatten"))
    fc = weight("fc.weight", [10, 16], -0.5, 0.5)
    bias = weight("fc.bias", [10], -0.1, 0.1)
    nodes.append(helper.make_node("Gemm", ["features", fc, bias], ["logits"], name="fc", transB=1))
    nodes.append(helper.make_node("Softmax", ["logits"], ["probabilities"], name="softmax"))
    graph = helper.make_graph(
        nodes,
        "terrace_demo_cnn",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 64, 64])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [1, 10])],
        initializer=weights,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


if __name__ == "__main__":
    onnx.save(build(), str(Path(__file__).parent / "demo_cnn.onnx"))
