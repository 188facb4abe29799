"""ReverseSequence, Upsample, MaxUnpool and TensorScatter, rewritten by the importer
(frontend/onnx/decompose/tensor.py, vision/upsample.py, nn/unpool.py), against onnx's reference
evaluator, or onnxruntime where the reference lacks a mode (Upsample's linear and fractional
scales)."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

import terrace


def _model(
    node: onnx.NodeProto,
    inputs: dict[str, np.ndarray],
    constants: dict[str, np.ndarray] | None = None,
    opset: int = 22,
) -> onnx.ModelProto:
    graph = helper.make_graph(
        [node],
        "g",
        [
            helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape)
            for n, a in inputs.items()
        ],
        [helper.make_tensor_value_info(node.output[0], TensorProto.FLOAT, None)],
        initializer=[numpy_helper.from_array(a, n) for n, a in (constants or {}).items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def _run(model: onnx.ModelProto, inputs: dict[str, np.ndarray]) -> np.ndarray:
    return terrace.compile(model, cache=False).run(inputs)[0]


@pytest.mark.parametrize(("time_axis", "batch_axis"), [(0, 1), (1, 0)])
def test_reverse_sequence(time_axis: int, batch_axis: int):
    dims = [5, 4, 2] if time_axis == 0 else [4, 5, 2]
    x = np.arange(np.prod(dims), dtype=np.float32).reshape(dims)
    lengths = np.array([1, 5, 3, 0], np.int64)  # none, all, some; 0 leaves the entry
    node = helper.make_node(
        "ReverseSequence", ["x", "lengths"], ["y"], time_axis=time_axis, batch_axis=batch_axis
    )
    inputs = {"x": x, "lengths": lengths}
    model = _model(node, inputs)
    (want,) = ReferenceEvaluator(model).run(None, inputs)
    np.testing.assert_array_equal(_run(model, inputs), want)


@pytest.mark.parametrize(
    ("mode", "scales"),
    [("nearest", [1, 1, 2, 3]), ("nearest", [1, 1, 1.5, 2.5]), ("linear", [1, 1, 2, 1.5])],
)
def test_upsample(mode: str, scales: list[float]):
    x = np.random.default_rng(0).standard_normal((1, 2, 3, 4)).astype(np.float32)
    node = helper.make_node("Upsample", ["x", "scales"], ["y"], mode=mode)
    model = _model(node, {"x": x}, {"scales": np.array(scales, np.float32)}, opset=9)
    session = onnxruntime.InferenceSession(
        model.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    (want,) = session.run(None, {"x": x})
    np.testing.assert_allclose(_run(model, {"x": x}), want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("output_shape", [None, [1, 2, 5, 6]])
def test_max_unpool_of_max_pool(output_shape: list[int] | None):
    x = np.random.default_rng(1).standard_normal((1, 2, 4, 4)).astype(np.float32)
    pool = helper.make_node("MaxPool", ["x"], ["p", "i"], kernel_shape=[2, 2], strides=[2, 2])
    pooled, indices = ReferenceEvaluator(
        helper.make_model(
            helper.make_graph(
                [pool],
                "g",
                [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape)],
                [
                    helper.make_tensor_value_info("p", TensorProto.FLOAT, None),
                    helper.make_tensor_value_info("i", TensorProto.INT64, None),
                ],
            ),
            opset_imports=[helper.make_opsetid("", 22)],
        )
    ).run(None, {"x": x})
    inputs = {"p": pooled, "i": indices}
    names = ["p", "i"]
    constants = {}
    if output_shape is not None:
        names.append("shape")
        constants["shape"] = np.array(output_shape, np.int64)
    node = helper.make_node("MaxUnpool", names, ["y"], kernel_shape=[2, 2], strides=[2, 2])
    model = _model(node, inputs, constants)
    (want,) = ReferenceEvaluator(model).run(None, inputs)
    got = _run(model, inputs)
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(
    ("mode", "axis", "writes"),
    [
        ("linear", -2, [0, 3]),
        ("circular", -2, [5, 4]),  # wraps past the cache's end
        ("linear", 2, None),  # no write_indices: every sample writes from 0
        ("circular", 1, [7, 2]),
    ],
)
def test_tensor_scatter(mode: str, axis: int, writes: list[int] | None):
    rng = np.random.default_rng(1)
    cache = rng.standard_normal((2, 6, 6, 3)).astype(np.float32)
    update_dims = [2, 6, 6, 3]
    update_dims[axis] = 3
    update = rng.standard_normal(update_dims).astype(np.float32)
    inputs = {"cache": cache, "update": update}
    names = ["cache", "update"]
    if writes is not None:
        inputs["writes"] = np.array(writes, np.int64)
        names.append("writes")
    node = helper.make_node("TensorScatter", names, ["y"], mode=mode, axis=axis)
    model = _model(node, inputs, opset=24)
    (want,) = ReferenceEvaluator(model).run(None, inputs)
    np.testing.assert_array_equal(_run(model, inputs), want)
