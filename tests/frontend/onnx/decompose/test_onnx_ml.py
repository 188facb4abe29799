"""ai.onnx.ml ops rewritten into default-domain ops (frontend/onnx/decompose/ml/encoders.py),
against onnx's reference evaluator."""

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
    opsets = [helper.make_opsetid("", 21), helper.make_opsetid("ai.onnx.ml", 5)]
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


def _tree_ensemble(dtype: type, **overrides: Any) -> onnx.NodeProto:
    """Two trees over two features: LEQ, GT (missing values go true), NEQ and LT nodes."""

    def tensor(name: str, values: list[float], kind: type = dtype) -> onnx.TensorProto:
        return numpy_helper.from_array(np.array(values, kind), name)

    attributes: dict[str, Any] = {
        "nodes_modes": tensor("modes", [0, 3, 5, 1], np.uint8),
        "nodes_featureids": [0, 1, 1, 0],
        "nodes_splits": tensor("splits", [0.5, -0.2, 1.0, 0.0]),
        "nodes_truenodeids": [1, 1, 3, 4],
        "nodes_trueleafs": [0, 1, 1, 1],
        "nodes_falsenodeids": [0, 2, 3, 5],
        "nodes_falseleafs": [1, 1, 0, 1],
        "nodes_missing_value_tracks_true": [0, 1, 0, 0],
        "leaf_targetids": [0, 1, 0, 2, 1, 2],
        "leaf_weights": tensor("weights", [1.5, -2.25, 3.0, 0.125, 10.0, -7.5]),
        "tree_roots": [0, 2],
        "n_targets": 3,
        "aggregate_function": 1,
        **overrides,
    }
    return _ml("TreeEnsemble", ["x"], **attributes)


_TREE_INPUT = [
    [0.5, -0.2],
    [0.6, 1.0],
    [-1.0, np.nan],
    [0.0, 2.0],
    [-0.1, 1.0],
    [np.nan, -3.0],
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("aggregate", [0, 1])
def test_tree_ensemble(dtype: type, aggregate: int):
    x = np.array(_TREE_INPUT, dtype)
    model = _model(_tree_ensemble(dtype, aggregate_function=aggregate), [x])
    (expected,) = ReferenceEvaluator(model).run(None, {"x": x})
    (got,) = backend.prepare(model, cache=False).run([x])
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_tree_ensemble_max_is_unsupported():
    x = np.array(_TREE_INPUT, np.float32)
    model = _model(_tree_ensemble(np.float32, aggregate_function=3), [x])
    with pytest.raises(UnsupportedModelError, match="MIN or MAX"):
        backend.prepare(model, cache=False)
