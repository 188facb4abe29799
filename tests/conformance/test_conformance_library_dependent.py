"""The conformance judge for cases whose onnx expectation depends on the installed ml_dtypes:
a Cast to INT4 of out-of-range values is judged by the spec's rule (round, keep the low bits)
and onnxruntime, whichever of ml_dtypes 0.5's or 0.7's answer onnx's data holds."""

import numpy as np
from onnx import TensorProto, helper

from terrace.conformance.library_dependent import onnxruntime_disagrees, rejudge

INT4 = helper.tensor_dtype_to_np_dtype(TensorProto.INT4)
X = np.arange(-9, 16, dtype=np.float32)
WRAPPED = [7, *range(-8, 8), *range(-8, 0)]
"""-9..15 in 4-bit two's complement, written out: what the spec's "truncating" gives."""
ZEROED = [0, -8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7] + [0] * 8
"""What onnx's reference gives with ml_dtypes 0.7 (out-of-range values become 0)."""


def _cast_model(to: int = TensorProto.INT4):
    node = helper.make_node("Cast", ["x"], ["y"], to=to)
    graph = helper.make_graph(
        [node],
        "cast",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [25])],
        [helper.make_tensor_value_info("y", to, [25])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    model.ir_version = 10
    return model


def test_an_ml_dtypes_dependent_expectation_is_rejudged_by_the_spec():
    rejudged = rejudge(_cast_model(), [X], [np.array(ZEROED, np.int8).astype(INT4)])
    assert rejudged is not None
    assert "ml_dtypes" in rejudged.note
    (expected,) = rejudged.expected
    assert expected.dtype == INT4
    assert expected.astype(np.int8).tolist() == WRAPPED


def test_an_expectation_that_agrees_with_the_spec_is_judged_as_usual():
    assert rejudge(_cast_model(), [X], [np.array(WRAPPED, np.int8).astype(INT4)]) is None


def test_other_cases_are_not_rejudged():
    assert rejudge(_cast_model(TensorProto.INT8), [X], [np.zeros(25, np.int8)]) is None


def test_onnxruntime_is_the_second_judge():
    model = _cast_model()
    assert onnxruntime_disagrees(model, [X], [np.array(WRAPPED, np.int8).astype(INT4)]) == ""
    disagreement = onnxruntime_disagrees(model, [X], [np.array(ZEROED, np.int8).astype(INT4)])
    assert disagreement.startswith("output 0: onnxruntime gives")
