"""Older opsets import to the same nn semantics: each model runs through the nn reference and
must match onnxruntime at the model's own opset."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from terrace.dialects.nn.interpreter import run_function
from terrace.frontend.onnx import import_model

from onnx_models import run_onnxruntime


def _single(
    node: onnx.NodeProto,
    opset: int,
    inputs: dict[str, np.ndarray],
    output_shape: list[int],
    initializers: dict[str, np.ndarray] | None = None,
) -> onnx.ModelProto:
    graph = helper.make_graph(
        [node],
        "g",
        [
            helper.make_tensor_value_info(n, TensorProto.FLOAT, list(a.shape))
            for n, a in inputs.items()
        ],
        [helper.make_tensor_value_info(node.output[0], TensorProto.FLOAT, output_shape)],
        initializer=[numpy_helper.from_array(a, n) for n, a in (initializers or {}).items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 7
    return model


X = np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float32)

CASES = [
    ("softmax-11-axis-1", helper.make_node("Softmax", ["x"], ["y"], axis=1), 11, [2, 3, 4], None),
    ("softmax-11-axis-2", helper.make_node("Softmax", ["x"], ["y"], axis=2), 11, [2, 3, 4], None),
    ("logsoftmax-11-default", helper.make_node("LogSoftmax", ["x"], ["y"]), 11, [2, 3, 4], None),
    (
        "slice-9-attributes",
        helper.make_node("Slice", ["x"], ["y"], starts=[0, 1], ends=[2, 4], axes=[1, 2]),
        9,
        [2, 2, 3],
        None,
    ),
    (
        "pad-2-attributes",
        helper.make_node("Pad", ["x"], ["y"], pads=[0, 1, 0, 0, 1, 2], value=1.5),
        2,
        [2, 5, 6],
        None,
    ),
    (
        "clip-6-attributes",
        helper.make_node("Clip", ["x"], ["y"], min=-0.5, max=0.5),
        6,
        [2, 3, 4],
        None,
    ),
    (
        "clip-13-inputs",
        helper.make_node("Clip", ["x", "lo", "hi"], ["y"]),
        13,
        [2, 3, 4],
        {"lo": np.array(-0.5, np.float32), "hi": np.array(0.25, np.float32)},
    ),
    (
        "unsqueeze-11-attributes",
        helper.make_node("Unsqueeze", ["x"], ["y"], axes=[0, 3]),
        11,
        [1, 2, 3, 1, 4],
        None,
    ),
    (
        "unsqueeze-13-inputs",
        helper.make_node("Unsqueeze", ["x", "axes"], ["y"]),
        13,
        [2, 1, 3, 4],
        {"axes": np.array([1], np.int64)},
    ),
    (
        "reducesum-11-attributes",
        helper.make_node("ReduceSum", ["x"], ["y"], axes=[1], keepdims=0),
        11,
        [2, 4],
        None,
    ),
    (
        "reducemean-18-inputs",
        helper.make_node("ReduceMean", ["x", "axes"], ["y"], keepdims=1),
        18,
        [2, 1, 4],
        {"axes": np.array([-2], np.int64)},
    ),
    (
        "resize-10-nearest",
        helper.make_node("Resize", ["x", "scales"], ["y"], mode="nearest"),
        10,
        [2, 6, 6],
        {"scales": np.array([1.0, 2.0, 1.5], np.float32)},
    ),
    (
        "resize-10-linear",
        helper.make_node("Resize", ["x", "scales"], ["y"], mode="linear"),
        10,
        [2, 6, 6],
        {"scales": np.array([1.0, 2.0, 1.5], np.float32)},
    ),
    ("dropout-7-ratio", helper.make_node("Dropout", ["x"], ["y"], ratio=0.3), 7, [2, 3, 4], None),
]


@pytest.mark.parametrize(
    ("node", "opset", "shape", "initializers"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_old_opset_matches_onnxruntime(
    node: onnx.NodeProto, opset: int, shape: list[int], initializers: dict[str, np.ndarray] | None
):
    model = _single(node, opset, {"x": X}, shape, initializers)
    expected = run_onnxruntime(model, {"x": X})[0]
    imported = import_model(model)
    (actual,) = run_function(imported.module, [X])
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-6)


def test_split_11_attribute_and_18_num_outputs():
    for node, opset in (
        (
            helper.make_node("Split", ["x"], ["a", "b"], axis=2, split=[1, 3]),
            11,
        ),
        (helper.make_node("Split", ["x"], ["a", "b"], axis=2, num_outputs=2), 18),
    ):
        graph = helper.make_graph(
            [node],
            "g",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 4])],
            [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in ("a", "b")],
        )
        for output in graph.output:
            output.type.tensor_type.ClearField("shape")
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
        model.ir_version = 8
        expected = run_onnxruntime(model, {"x": X})
        imported = import_model(model)
        actual = run_function(imported.module, [X])
        assert [a.shape for a in actual] == [e.shape for e in expected]
        for ours, theirs in zip(actual, expected, strict=True):
            np.testing.assert_array_equal(ours, theirs)
