"""Pooling compiled to native code over random 2-d geometries.

AveragePool against onnx's reference evaluator: the f32 window sums run as a depthwise
convolution with weights of 1 (the vector kernel of conv-depthwise-kernel, reading the padding
in place), and unequal windows divide by counts computed from the output index (undilated) or
by a pooled mask (dilated).

MaxPool against onnxruntime (pads, ceil_mode, strides, dilations: onnx's reference shifts
ceil_mode windows that overhang by 2 or more) and the nn dialect's numpy reference: f32 pools
run on the same kernel, a vector max per tap, with padding and ceil_mode overhang never
winning."""

from __future__ import annotations

import numpy as np
import onnx
from hypothesis import given, settings
from hypothesis import strategies as st
from node_checks import check_compiled
from onnx import TensorProto, helper

import terrace
from terrace.compiler import StageTimer, lower
from terrace.dialects.nn.interpreter import run_function
from terrace.frontend.onnx import import_model
from terrace.targets import host_target

from onnx_models import run_onnxruntime


@st.composite
def _geometries(draw: st.DrawFn) -> dict[str, object]:
    kernel = [draw(st.integers(1, 3)), draw(st.integers(1, 3))]
    pads = [draw(st.integers(0, size - 1)) for size in kernel * 2]
    return {
        "kernel_shape": kernel,
        "strides": [draw(st.integers(1, 2)), draw(st.integers(1, 2))],
        "pads": pads,
        "count_include_pad": draw(st.integers(0, 1)),
        "dilations": [draw(st.integers(1, 2)), 1],
    }


@settings(max_examples=8, deadline=None, derandomize=True, database=None)
@given(
    attributes=_geometries(),
    channels=st.integers(1, 3),
    height=st.integers(5, 9),
    width=st.integers(5, 21),
)
def test_average_pool_matches_onnx_reference(
    attributes: dict[str, object], channels: int, height: int, width: int
):
    x = np.random.default_rng(width).standard_normal((1, channels, height, width))
    node = helper.make_node("AveragePool", ["x"], ["y"], **attributes)
    check_compiled(node, {"x": x.astype(np.float32)}, opset=19, rtol=1e-5, atol=1e-6)


@st.composite
def _max_geometries(draw: st.DrawFn) -> dict[str, object]:
    kernel = [draw(st.integers(1, 3)), draw(st.integers(1, 3))]
    return {
        "kernel_shape": kernel,
        "strides": [draw(st.integers(1, 3)), draw(st.integers(1, 2))],
        # onnxruntime wants each pad smaller than its kernel dim
        "pads": [draw(st.integers(0, size - 1)) for size in kernel * 2],
        "ceil_mode": draw(st.integers(0, 1)),
        "dilations": [draw(st.integers(1, 2)), draw(st.integers(1, 2))],
    }


def _max_pool_model(
    shape: tuple[int, ...], relu: bool, attributes: dict[str, object]
) -> onnx.ModelProto:
    nodes = [helper.make_node("MaxPool", ["x"], ["pooled"], **attributes)]
    nodes.append(helper.make_node("Relu" if relu else "Identity", ["pooled"], ["y"]))
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])
    return onnx.shape_inference.infer_shapes(model)


def _on_vector_kernel(model: onnx.ModelProto) -> bool:
    """Whether the pool ran as conv-depthwise-kernel's vector max, the padding read in place
    (no padded copy)."""
    module = lower(model, host_target(), "loops", StageTimer()).module
    ops = list(module.walk())
    vector_max = any(
        op.name == "arith.maximumf" and "vector" in str(op.results[0].type) for op in ops
    )
    return vector_max and not any(op.name == "memref.copy" for op in ops)


@settings(max_examples=10, deadline=None, derandomize=True, database=None)
@given(
    attributes=_max_geometries(),
    channels=st.integers(1, 3),
    height=st.integers(5, 9),
    width=st.integers(5, 21),
)
def test_max_pool_matches_onnxruntime(
    attributes: dict[str, object], channels: int, height: int, width: int
):
    model = _max_pool_model((1, channels, height, width), False, attributes)
    x = np.random.default_rng(width).standard_normal((1, channels, height, width))
    feeds = {"x": x.astype(np.float32)}
    (expected,) = run_onnxruntime(model, feeds)
    (actual,) = terrace.compile(model, cache=False).run(feeds)
    assert actual.shape == expected.shape
    np.testing.assert_array_equal(actual, expected)  # a max is exact


def test_max_pool_relu_matches_nn_reference_on_the_vector_kernel():
    """squeezenet's 3x3/2 ceil_mode pool with a Relu after it (fused into the kernel's
    stores), inputs all negative so the padding would win if it could: the nn reference."""
    attributes: dict[str, object] = {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1}
    model = _max_pool_model((2, 3, 14, 14), True, attributes)
    x = -np.random.default_rng(3).random((2, 3, 14, 14)).astype(np.float32) - 1
    without_relu = _max_pool_model((2, 3, 14, 14), False, attributes)
    (pooled,) = run_function(import_model(without_relu).module, [x])
    assert float(np.max(pooled)) < 0  # the padding never won
    (expected,) = run_function(import_model(model).module, [x])
    (actual,) = terrace.compile(model, cache=False).run({"x": x})
    np.testing.assert_array_equal(actual, expected)
    assert _on_vector_kernel(model)


def test_max_pool_with_padding_on_the_vector_kernel():
    """resnet50's 3x3/2 pool, padding 1: the padding's -inf copy is not built."""
    attributes: dict[str, object] = {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1] * 4}
    model = _max_pool_model((1, 4, 20, 20), False, attributes)
    x = -np.random.default_rng(4).random((1, 4, 20, 20)).astype(np.float32)
    (expected,) = run_onnxruntime(model, {"x": x})
    (actual,) = terrace.compile(model, cache=False).run({"x": x})
    np.testing.assert_array_equal(actual, expected)
    assert _on_vector_kernel(model)
