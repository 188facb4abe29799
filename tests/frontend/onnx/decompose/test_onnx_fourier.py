"""DFT, expanded by the importer (frontend/onnx/decompose/signal/dft.py) into a MatMul with a
twiddle matrix: compiled, run and compared with onnx's reference evaluator (numpy's fft) over real
and complex signals, axes, forward and inverse, one-sided spectra, and dft_length shorter and longer
than the signal, odd and even."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

import terrace
from terrace.conformance.cases import _fft_atol  # pyright: ignore[reportPrivateUsage]
from terrace.errors import UnsupportedModelError


def _model(
    node: onnx.NodeProto, x: np.ndarray, constants: dict[str, np.ndarray], opset: int
) -> onnx.ModelProto:
    element = helper.np_dtype_to_tensor_dtype(x.dtype)
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", element, x.shape)],
        [helper.make_tensor_value_info("y", TensorProto.UNDEFINED, None)],
        initializer=[numpy_helper.from_array(a, n) for n, a in constants.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def _check(x: np.ndarray, length: int | None, opset: int, axis: int, **attributes: int) -> None:
    constants = {} if length is None else {"n": np.array(length, np.int64)}
    inputs = ["x", "" if length is None else "n"]
    if opset >= 20:
        constants["axis"] = np.array(axis, np.int64)
        inputs.append("axis")
    else:
        attributes["axis"] = axis
    node = helper.make_node("DFT", inputs, ["y"], **attributes)
    model = _model(node, x, constants, opset)
    (want,) = ReferenceEvaluator(model).run(None, {"x": x})
    (got,) = terrace.compile(model, cache=False).run({"x": x})
    assert got.shape == want.shape and got.dtype == want.dtype
    tolerance = 1e-12 if x.dtype == np.float64 else 1e-5
    np.testing.assert_allclose(got, want, rtol=tolerance, atol=tolerance * np.abs(want).max())


@pytest.mark.parametrize(("parts", "onesided"), [(1, 0), (2, 0), (1, 1)])  # rfft: real
@pytest.mark.parametrize("length", [None, 5, 8])
def test_forward(parts: int, onesided: int, length: int | None):
    x = np.random.default_rng(parts).standard_normal((2, 6, 3, parts))
    _check(x, length, 20, -2, onesided=onesided)
    _check(x.astype(np.float32), length, 17, 1, onesided=onesided)


@pytest.mark.parametrize("length", [None, 4, 7, 9])
def test_inverse_and_inverse_one_sided(length: int | None):
    x = np.random.default_rng(1).standard_normal((3, 5, 2))
    _check(x, length, 20, 1, inverse=1)
    _check(x, length, 20, 1, inverse=1, onesided=1)
    _check(x.astype(np.float32), length, 19, 0, inverse=1, onesided=1)


def test_axis_known_only_at_run_time_is_unsupported():
    x = np.zeros((1, 4, 2), np.float32)
    node = helper.make_node("DFT", ["x", "", "axis"], ["y"])
    graph = helper.make_graph(
        [node],
        "g",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape),
            helper.make_tensor_value_info("axis", TensorProto.INT64, []),
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
    with pytest.raises(UnsupportedModelError, match=r"\(axis\) must be constant"):
        terrace.compile(model, cache=False)


def test_dft_cases_allow_one_float32_ulp_of_the_largest_output():
    # onnx's expected inverse DFT has 1.9e-7 where the exact value is 0 (numpy's float32 fft)
    outputs = [np.array([49.5, -3.0, 1.9073487e-07], np.float32)]
    atol = _fft_atol([([], outputs)], 1e-7)
    assert atol == float(np.spacing(np.float32(49.5))) and 1.9073487e-07 < atol < 1e-5
    assert _fft_atol([([], [np.zeros(3, np.float32)])], 1e-7) == 1e-7
