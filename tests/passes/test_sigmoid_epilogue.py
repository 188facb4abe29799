"""A SiLU (x * sigmoid(x)) after a convolution runs in the convolution's fused epilogue, on
vectors (sigmoid as 1 / (1 + exp(-x)), exp expanded lane by lane): compiled to native code
over random geometries, depthwise (conv-depthwise-kernel) and 1x1 (contraction-microkernel),
against onnx's reference evaluator."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from node_checks import compiled_model
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

import terrace
from terrace.compiler import StageTimer, lower
from terrace.targets import host_target
from terrace.tuning.apply import with_config
from terrace.tuning.config import KernelConfig


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


def _gemm_silu(m: int, k: int, n: int) -> tuple[onnx.ModelProto, np.ndarray]:
    rng = np.random.default_rng(m * 100 + n)
    weight = (rng.standard_normal((k, n)) / np.sqrt(k)).astype(np.float32)
    bias = rng.standard_normal(n).astype(np.float32)
    nodes = [
        helper.make_node("Gemm", ["x", "w", "b"], ["y"]),
        helper.make_node("Sigmoid", ["y"], ["s"]),
        helper.make_node("Mul", ["y", "s"], ["out"]),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [m, k])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [m, n])],
        [numpy_helper.from_array(weight, "w"), numpy_helper.from_array(bias, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    return model, (rng.standard_normal((m, k)) * 4).astype(np.float32)


@pytest.mark.parametrize("nr_vectors", [1, 2, 3])
def test_gemm_silu_epilogue_on_pairs_of_vectors(nr_vectors: int):
    """Whole tiles of 4 rows by `nr_vectors` vectors of 8: the epilogue runs on two of a
    row's vectors at once (one vector.shuffle joins them), the last one alone when a row
    has an odd count; the results match onnx's reference."""
    target = with_config(host_target(), "", KernelConfig(4, nr_vectors, 8))
    model, x = _gemm_silu(16, 32, 2 * nr_vectors * 8)
    (expected,) = ReferenceEvaluator(model).run(None, {"x": x})
    (actual,) = terrace.compile(model, target, cache=False).run({"x": x})
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-5)
    loops = lower(model, target, "loops", StageTimer()).module
    widths = {
        op.results[0].type.get_shape()[0]  # pyright: ignore[reportAttributeAccessIssue]
        for op in loops.walk()
        if op.name == "math.exp"
    }
    assert widths == ({8} if nr_vectors == 1 else {16} if nr_vectors == 2 else {8, 16})


@pytest.mark.parametrize(("stride", "size"), [(1, 40), (2, 72)])
def test_depthwise_silu_epilogue_on_pairs_of_vectors(stride: int, size: int):
    """Rows of three or more vectors (two whole ones and a partial one): the epilogue runs on
    the two whole ones joined, the partial one alone under its mask; the results match onnx's
    reference."""
    model, x = _silu_model(3, 3, 3, stride, size)
    (expected,) = ReferenceEvaluator(model).run(None, {"x": x})
    (actual,) = terrace.compile(model, cache=False).run({"x": x})
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-5)
    loops = lower(model, host_target(), "loops", StageTimer()).module
    widths = sorted(
        {
            op.results[0].type.get_shape()[0]  # pyright: ignore[reportAttributeAccessIssue]
            for op in loops.walk()
            if op.name == "math.exp"
        }
    )
    assert len(widths) == 2 and widths[1] == 2 * widths[0]
