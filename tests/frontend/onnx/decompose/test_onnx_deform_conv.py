"""DeformConv, rewritten by the importer into bilinear gathers and a grouped MatMul
(frontend/onnx/decompose/nn/deform_conv.py), against onnx's reference evaluator: strides, dilations,
pads, groups, offset groups, a mask and a bias, offsets that move taps off the image; zero offsets
give Conv's result."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator

import terrace


def _model(inputs: dict[str, np.ndarray], **attributes: object) -> onnx.ModelProto:
    names = [*inputs, *[""] * (5 - len(inputs))]
    while names[-1] == "":
        names.pop()
    node = helper.make_node("DeformConv", names, ["y"], **attributes)
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, a.shape) for n, a in inputs.items()],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 22)])


def _check(inputs: dict[str, np.ndarray], **attributes: object) -> np.ndarray:
    model = _model(inputs, **attributes)
    (want,) = ReferenceEvaluator(model).run(None, inputs)
    (got,) = terrace.compile(model, cache=False).run(inputs)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    return got


@pytest.mark.parametrize("with_mask", [False, True])
def test_groups_strides_dilations_pads(with_mask: bool):
    rng = np.random.default_rng(int(with_mask))
    x = rng.standard_normal((2, 4, 5, 6)).astype(np.float32)
    w = rng.standard_normal((6, 2, 2, 3)).astype(np.float32)
    # out: (5 + 1 + 0 - 3) // 2 + 1 = 2, (6 + 2 + 1 - 5) // 1 + 1 = 5
    offset = (rng.standard_normal((2, 2 * 6 * 2, 2, 5)) * 2.5).astype(np.float32)
    inputs = {"x": x, "w": w, "offset": offset, "b": rng.standard_normal(6).astype(np.float32)}
    if with_mask:
        inputs["mask"] = rng.random((2, 2 * 6, 2, 5)).astype(np.float32)
    _check(
        inputs,
        group=2,
        offset_group=2,
        strides=[2, 1],
        dilations=[2, 2],
        pads=[1, 2, 0, 1],
        kernel_shape=[2, 3],
    )


def test_zero_offsets_are_conv():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 3, 4, 4)).astype(np.float32)
    w = rng.standard_normal((2, 3, 3, 3)).astype(np.float32)
    offset = np.zeros((1, 18, 4, 4), np.float32)
    got = _check({"x": x, "w": w, "offset": offset}, pads=[1, 1, 1, 1])
    conv = helper.make_model(
        helper.make_graph(
            [helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1])],
            "g",
            [
                helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape),
                helper.make_tensor_value_info("w", TensorProto.FLOAT, w.shape),
            ],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        ),
        opset_imports=[helper.make_opsetid("", 22)],
    )
    (want,) = ReferenceEvaluator(conv).run(None, {"x": x, "w": w})
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
