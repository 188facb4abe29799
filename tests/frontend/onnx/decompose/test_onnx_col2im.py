"""Col2Im, expanded by the importer (frontend/onnx/decompose/nn/col2im.py) into one ScatterElements:
onnx's own Col2Im cases with image_shape and block_shape made initializers (Terrace needs them known
at import time), and random cases with strides, dilations and pads, against onnx's reference
evaluator."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

import terrace
from terrace.conformance.cases import ConformanceCase, collect
from terrace.errors import UnsupportedModelError


def _onnx_cases() -> list[ConformanceCase]:
    return [c for c in collect(["node"]) if c.op == "Col2Im"]


def _with_constant_shapes(model: onnx.ModelProto, inputs: list[np.ndarray]) -> onnx.ModelProto:
    constant = onnx.ModelProto()
    constant.CopyFrom(model)
    graph = constant.graph
    for value, array in list(zip(graph.input, inputs, strict=True))[1:]:
        graph.initializer.append(numpy_helper.from_array(array, value.name))
    del graph.input[1:]
    return constant


def test_onnx_cases_with_constant_shapes():
    cases = _onnx_cases()
    assert len(cases) == 5
    for case in cases:
        loaded = case.load()
        for inputs, outputs in loaded.data_sets:
            model = _with_constant_shapes(loaded.model, inputs)
            (got,) = terrace.compile(model, cache=False).run({model.graph.input[0].name: inputs[0]})
            np.testing.assert_allclose(got, outputs[0], rtol=1e-6, err_msg=case.name)


@pytest.mark.parametrize(
    ("image", "block", "attributes"),
    [
        ([5, 6], [2, 3], {"strides": [2, 1], "dilations": [1, 2], "pads": [1, 0, 2, 1]}),
        ([4, 3, 5], [2, 1, 3], {"strides": [1, 2, 2], "pads": [0, 1, 1, 1, 0, 2]}),
    ],
)
def test_strides_dilations_and_pads(
    image: list[int], block: list[int], attributes: dict[str, list[int]]
):
    rank = len(image)
    strides = attributes.get("strides", [1] * rank)
    dilations = attributes.get("dilations", [1] * rank)
    pads = attributes.get("pads", [0] * 2 * rank)
    blocks = [
        (image[i] + pads[i] + pads[i + rank] - dilations[i] * (block[i] - 1) - 1) // strides[i] + 1
        for i in range(rank)
    ]
    x = np.random.default_rng(rank).standard_normal(
        (2, 3 * int(np.prod(block)), int(np.prod(blocks)))
    )
    x = x.astype(np.float32)
    node = helper.make_node("Col2Im", ["x", "image", "block"], ["y"], **attributes)
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=[
            numpy_helper.from_array(np.array(image, np.int64), "image"),
            numpy_helper.from_array(np.array(block, np.int64), "block"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    (want,) = ReferenceEvaluator(model).run(None, {"x": x})
    (got,) = terrace.compile(model, cache=False).run({"x": x})
    assert got.shape == want.shape == (2, 3, *image)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_shapes_known_only_at_run_time_are_unsupported():
    case = _onnx_cases()[0]
    with pytest.raises(UnsupportedModelError, match=r"\(image_shape\) must be constant"):
        terrace.compile(case.load().model, cache=False)
