"""Squeeze-and-excitation compiled to native code: the 1x1 convolutions of 1x1 images run as
products over the channels on contraction-microkernel (a vector of output channels per FMA,
not the single output pixel), and the (N, C, H, W) * (N, C, 1, 1) scale keeps its pixels an
inner loop under the threads. Against onnxruntime and the nn dialect's numpy reference, on 1
and 2 threads, with and without bias, batch 1 and 2, f32 and f16 (the generic path)."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import terrace
from terrace.compiler import StageTimer, lower
from terrace.dialects.nn.interpreter import run_function
from terrace.frontend.onnx import import_model
from terrace.targets import host_target

from onnx_models import run_onnxruntime

RNG = np.random.default_rng(17)


def _squeeze_excitation(
    batch: int, channels: int, squeezed: int, size: int, bias: bool, element: int
) -> onnx.ModelProto:
    """y -> GlobalAveragePool -> Conv (reduce) -> Relu -> Conv (expand) -> Sigmoid, y * gate."""
    dtype = np.float16 if element == TensorProto.FLOAT16 else np.float32
    weights: list[onnx.TensorProto] = []
    nodes = [helper.make_node("GlobalAveragePool", ["y"], ["pooled"])]
    for name, (into, out, source) in {
        "reduce": (channels, squeezed, "pooled"),
        "expand": (squeezed, channels, "squeezed"),
    }.items():
        w = (RNG.standard_normal((out, into, 1, 1)) / np.sqrt(into)).astype(dtype)
        weights.append(numpy_helper.from_array(w, f"{name}_w"))
        inputs = [source, f"{name}_w"]
        if bias:
            weights.append(numpy_helper.from_array(RNG.standard_normal(out).astype(dtype), name))
            inputs.append(name)
        nodes.append(helper.make_node("Conv", inputs, [f"{name}_out"], name=name))
    nodes.append(helper.make_node("Relu", ["reduce_out"], ["squeezed"]))
    nodes.append(helper.make_node("Sigmoid", ["expand_out"], ["gate"]))
    nodes.append(helper.make_node("Mul", ["y", "gate"], ["scaled"], name="scale"))
    graph = helper.make_graph(
        nodes,
        "se",
        [helper.make_tensor_value_info("y", element, [batch, channels, size, size])],
        [helper.make_tensor_value_info("scaled", element, None)],
        weights,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    return onnx.shape_inference.infer_shapes(model)


def _vector_fmas(model: onnx.ModelProto) -> int:
    module = lower(model, host_target(), "loops", StageTimer()).module
    return sum(op.name == "vector.fma" for op in module.walk())


@pytest.mark.parametrize(
    ("batch", "bias", "threads"),
    [(1, True, 1), (2, False, 1), (1, True, 2)],
    ids=["bias", "batch-2-no-bias", "two-threads"],
)
def test_matches_onnxruntime_on_the_microkernel(batch: int, bias: bool, threads: int) -> None:
    # 144 x 48 x 48 pixels: enough work for the scale to run under threads; 144 x 36
    # multiply-adds per pixel: enough for the micro-kernel
    model = _squeeze_excitation(batch, 144, 36, 48, bias, TensorProto.FLOAT)
    y = RNG.standard_normal((batch, 144, 48, 48)).astype(np.float32)
    (expected,) = run_onnxruntime(model, {"y": y})
    (actual,) = terrace.compile(model, num_threads=threads, cache=False).run({"y": y})
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-6)
    assert _vector_fmas(model) > 0  # nothing else in the model multiplies-adds in vectors


def test_matches_nn_reference() -> None:
    model = _squeeze_excitation(1, 40, 10, 5, True, TensorProto.FLOAT)
    y = RNG.standard_normal((1, 40, 5, 5)).astype(np.float32)
    (expected,) = run_function(import_model(model).module, [y])
    (actual,) = terrace.compile(model, cache=False).run({"y": y})
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-6)


def test_float16_matches_onnxruntime() -> None:
    model = _squeeze_excitation(1, 32, 8, 6, True, TensorProto.FLOAT16)
    y = RNG.standard_normal((1, 32, 6, 6)).astype(np.float16)
    (expected,) = run_onnxruntime(model, {"y": y})
    (actual,) = terrace.compile(model, cache=False).run({"y": y})
    np.testing.assert_allclose(actual.astype(np.float32), expected, rtol=0, atol=2e-3)
