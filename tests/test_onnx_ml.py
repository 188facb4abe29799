"""ai.onnx.ml ops rewritten into default-domain ops (frontend/onnx_ml.py), against onnx's
reference evaluator."""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper
from onnx.reference import ReferenceEvaluator

from terrace import backend
from terrace.errors import UnsupportedModelError


def _model(node: onnx.NodeProto, inputs: list[np.ndarray]) -> onnx.ModelProto:
    """A model of `node`, its output typed as onnx's evaluator computes it."""
    names = list(node.input)
    values = [
        helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype), list(a.shape))
        for n, a in zip(names, inputs, strict=True)
    ]
    opsets = [helper.make_opsetid("", 21), helper.make_opsetid("ai.onnx.ml", 4)]
    untyped = helper.make_graph([node], "g", values, [helper.make_empty_tensor_value_info("y")])
    evaluator = ReferenceEvaluator(helper.make_model(untyped, opset_imports=opsets))
    expected = evaluator.run(None, dict(zip(names, inputs, strict=True)))[0]
    output = helper.make_tensor_value_info(
        "y", helper.np_dtype_to_tensor_dtype(expected.dtype), None
    )
    graph = helper.make_graph([node], "g", values, [output])
    return helper.make_model(graph, opset_imports=opsets)


def _check(node: onnx.NodeProto, inputs: list[np.ndarray]) -> None:
    model = _model(node, inputs)
    names = list(node.input)
    (expected,) = ReferenceEvaluator(model).run(None, dict(zip(names, inputs, strict=True)))
    (got,) = backend.prepare(model, cache=False).run(inputs)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)


def _ml(op: str, inputs: list[str], **attributes: Any) -> onnx.NodeProto:
    return helper.make_node(op, inputs, ["y"], domain="ai.onnx.ml", **attributes)


@pytest.mark.parametrize(
    ("x", "threshold"),
    [
        (np.array([[-1.0, 0.5, np.nan], [1.0, 2.0, 0.49]], np.float32), 0.5),
        (np.array([-2.0, 0.0, 3.0], np.float64), -0.1),
        (np.array([-2, -1, 0, 1, 2], np.int64), -0.5),
        (np.array([-2, -1, 0, 1, 2], np.int64), 1.5),
    ],
)
def test_binarizer(x: np.ndarray, threshold: float):
    _check(_ml("Binarizer", ["x"], threshold=threshold), [x])


@pytest.mark.parametrize(
    ("x", "indices"),
    [
        (np.arange(12, dtype=np.float32).reshape(3, 4), np.array([0, 3, 1], np.int64)),
        (np.arange(5, dtype=np.int64), np.array([[4, 0]], np.int64)),
        (np.arange(24, dtype=np.float32).reshape(2, 3, 4), np.array([[2], [-1]], np.int64)),
    ],
)
def test_array_feature_extractor(x: np.ndarray, indices: np.ndarray):
    _check(_ml("ArrayFeatureExtractor", ["x", "i"]), [x, indices])


def test_label_encoder_int_to_float_with_repeated_key():
    node = _ml(
        "LabelEncoder",
        ["x"],
        keys_int64s=[1, 5, 1],
        values_floats=[0.5, -2.0, 7.0],
        default_float=3.25,
    )
    _check(node, [np.array([[1, 2], [5, 1]], np.int64)])


def test_label_encoder_float_to_int_default():
    node = _ml("LabelEncoder", ["x"], keys_floats=[0.5, -1.0], values_int64s=[10, 20])
    _check(node, [np.array([0.5, -1.0, 2.0, np.nan], np.float32)])


def test_label_encoder_tensor_mapping():
    node = _ml(
        "LabelEncoder",
        ["x"],
        keys_tensor=numpy_helper.from_array(np.array([3, 4], np.int32), "keys"),
        values_tensor=numpy_helper.from_array(np.array([1.5, 2.5], np.float64), "values"),
        default_tensor=numpy_helper.from_array(np.array([9.0], np.float64), "default"),
    )
    _check(node, [np.array([4, 3, 0], np.int32)])


def test_label_encoder_nan_key_is_unsupported():
    node = _ml("LabelEncoder", ["x"], keys_floats=[float("nan")], values_int64s=[1])
    model = _model(node, [np.array([1.0], np.float32)])
    with pytest.raises(UnsupportedModelError, match="NaN key"):
        backend.prepare(model, cache=False)
