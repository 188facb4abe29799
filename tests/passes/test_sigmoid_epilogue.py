"""A SiLU (x * sigmoid(x)) after a convolution runs in the convolution's fused epilogue, on
vectors (sigmoid as 1 / (1 + exp(-x)), exp expanded lane by lane): compiled to native code
over random geometries, depthwise (conv-depthwise-kernel) and 1x1 (contraction-microkernel),
against onnx's reference evaluator."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from node_checks import compiled_model
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator

import terrace


def _silu_model(channels: int, out_channels: int, kernel: int, stride: int, size: int):
    depthwise = out_channels == channels and kernel > 1
    group = channels if depthwise else 1
    rng = np.random.default_rng(size)
    weight = rng.standard_normal((out_channels, channels // group, kernel, kernel))
    bias = rng.standard_normal(out_channels)
    x = (rng.standard_normal((1, channels, size, size)) * 4).astype(np.float32)
    conv = helper.make_node(
        "Conv",
        ["x", "w", "b"],
        ["c"],
        group=group,
        kernel_shape=[kernel, kernel],
        strides=[stride, stride],
        pads=[kernel // 2] * 4,
    )
    model = compiled_model(
        conv, {"x": x}, initializers={"w": weight.astype(np.float32), "b": bias.astype(np.float32)}
    )
    graph = model.graph
    graph.node.extend(
        [helper.make_node("Sigmoid", ["c"], ["s"]), helper.make_node("Mul", ["c", "s"], ["y"])]
    )
    del graph.output[:]
    graph.output.append(helper.make_tensor_value_info("y", TensorProto.FLOAT, None))
    return model, x


@settings(max_examples=6, deadline=None, derandomize=True, database=None)
@given(
    channels=st.integers(1, 20),
    pointwise=st.booleans(),
    kernel=st.sampled_from([3, 5]),
    stride=st.integers(1, 2),
    size=st.integers(4, 20),
)
def test_conv_silu_matches_onnx_reference(
    channels: int, pointwise: bool, kernel: int, stride: int, size: int
):
    out_channels = 24 if pointwise else channels
    model, x = _silu_model(channels, out_channels, 1 if pointwise else kernel, stride, size)
    (expected,) = ReferenceEvaluator(model).run(None, {"x": x})
    (actual,) = terrace.compile(model, cache=False).run({"x": x})
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-5)
