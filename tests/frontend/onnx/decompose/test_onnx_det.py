"""Det, unrolled Gaussian elimination with partial pivoting (frontend/onnx/decompose/linalg.py),
against onnx's reference evaluator (numpy's LAPACK det): sizes 1 to 6, batches, matrices that need
row swaps, singular ones and a zero column."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import helper
from onnx.reference import ReferenceEvaluator

import terrace


def _model(shape: tuple[int, ...], dtype: type) -> onnx.ModelProto:
    element = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    graph = helper.make_graph(
        [helper.make_node("Det", ["x"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", element, shape)],
        [helper.make_tensor_value_info("y", element, None)],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 22)])


def _check(x: np.ndarray, rtol: float, atol: float) -> None:
    model = _model(x.shape, x.dtype.type)
    (want,) = ReferenceEvaluator(model).run(None, {"x": x})
    (got,) = terrace.compile(model, cache=False).run({"x": x})
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


@pytest.mark.parametrize("size", [1, 2, 3, 4, 6])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_random_batches(size: int, dtype: type):
    x = np.random.default_rng(size).standard_normal((2, 3, size, size)).astype(dtype)
    rtol = 1e-4 if dtype == np.float32 else 1e-10
    _check(x, rtol, 0.0)


def test_pivoting_singular_and_zero_column():
    x = np.array(
        [
            [[0, 2, 1], [3, 1, 4], [1e-8, 5, 9]],  # a zero first pivot: needs a swap
            [[1, 2, 3], [2, 4, 6], [1, 0, 1]],  # singular (two rows proportional)
            [[0, 1, 2], [0, 3, 4], [0, 5, 6]],  # a zero column
            [[1e-3, 1, 0], [1, 1e-3, 0], [0, 0, -1]],  # small pivots: swaps matter
        ],
        np.float32,
    )
    _check(x, 1e-5, 1e-6)


def test_two_dimensional():
    x = np.array([[4.0, 3.0], [6.0, 3.0]], np.float32)
    _check(x, 1e-6, 0.0)
