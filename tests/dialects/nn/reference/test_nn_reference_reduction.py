"""The nn reference's reduction kernels (`dialects/nn/reference/reduction.py`: reductions, arg
max and min, cumulative sums, top k) against onnxruntime, case by case and as properties over
shapes and axes (nn_reference_cases.py)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from nn_reference_cases import (
    PROPERTY_SETTINGS,
    Case,
    Const,
    Input,
    Inputs,
    check,
    ints,
    seeded,
    shape_and_axes,
)

_inputs = Inputs()
rand, positive, nonzero = _inputs.rand, _inputs.positive, _inputs.nonzero


# -- the cases, op by op ----------------------------------------------------------------------


REDUCTIONS = ["ReduceSum", "ReduceMean", "ReduceProd", "ReduceMax", "ReduceMin"]


def reduction_cases() -> Iterator[Case]:
    x = rand(2, 3, 4)
    for op_type in REDUCTIONS:
        yield Case(op_type, [x])
        yield Case(op_type, [x, ints(1)])
        yield Case(op_type, [x, ints(-1, 0)], {"keepdims": 0})
        yield Case(op_type, [x], {"keepdims": 0})
        yield Case(op_type, [x], {"noop_with_empty_axes": 1})
        yield Case(op_type, [rand(2, 3, 4, dtype=np.float64), ints(2)])
        yield Case(op_type, [rand(3, 4, dtype=np.int32, low=-9, high=9), ints(1)])
        yield Case(op_type, [rand(3, 4, dtype=np.int64, low=-9, high=9)], {"keepdims": 0})
    for op_type in ["ReduceMax", "ReduceMin"]:
        yield Case(op_type, [rand(3, 4, dtype=np.bool_), ints(1)])
        yield Case(op_type, [rand(2, 0), ints(1)])  # over nothing: -inf and +inf
    for op_type, keepdims, last in itertools.product(["ArgMax", "ArgMin"], (0, 1), (0, 1)):
        ties = rand(3, 4, 5, dtype=np.int32, low=0, high=2)
        attributes = {"axis": 1, "keepdims": keepdims, "select_last_index": last}
        yield Case(op_type, [ties], attributes)
        yield Case(op_type, [rand(3, 4)], {"axis": -1, "keepdims": keepdims})
    yield Case("ArgMax", [rand(4, 3, dtype=np.float64)])


def cumulative_cases() -> Iterator[Case]:
    """CumSum (CumProd is newer than opset 21: NEWER_THAN_OPSET)."""
    for exclusive, reverse in itertools.product((0, 1), (0, 1)):
        attributes = {"exclusive": exclusive, "reverse": reverse}
        yield Case("CumSum", [rand(3, 4), Const(np.array(1, np.int64))], attributes)
    yield Case("CumSum", [rand(5, dtype=np.int32), Const(np.array(0, np.int32))])
    yield Case("CumSum", [rand(2, 3, dtype=np.float64), Const(np.array(-2, np.int64))])


def top_k_cases() -> Iterator[Case]:
    """TopK, ties broken towards the lower index."""
    for largest in (0, 1):
        ties = rand(3, 6, dtype=np.int32, low=0, high=3)
        yield Case("TopK", [ties, ints(4)], {"axis": 1, "largest": largest}, outputs=2)
        yield Case("TopK", [rand(5, 4), ints(2)], {"axis": 0, "largest": largest}, outputs=2)


CASES: list[Case] = [
    case for cases in [reduction_cases, cumulative_cases, top_k_cases] for case in cases()
]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name()) for c in CASES])
def test_op_matches_onnxruntime(case: Case) -> None:
    check(case)


# -- properties: shapes, broadcasting and axes drawn at random --------------------------------


@PROPERTY_SETTINGS
@given(
    op_type=st.sampled_from(REDUCTIONS),
    shape_axes=shape_and_axes(),
    keepdims=st.integers(0, 1),
    noop=st.integers(0, 1),
    dtype=st.sampled_from([np.float32, np.int64]),
    seed=st.integers(0, 2**32 - 1),
)
def test_reductions(op_type, shape_axes, keepdims, noop, dtype, seed) -> None:
    shape, axes = shape_axes
    # integer products of up to 256 factors: -1, 0 and 1 only, as int64 overflow is left
    # undefined by ONNX (onnxruntime saturates, the reference wraps)
    high = 2 if op_type == "ReduceProd" and dtype == np.int64 else 10
    data = np.asarray(seeded(seed).integers(1 - high, high, size=shape), dtype)
    inputs: list[Input] = [data, ints(*axes) if axes else None]
    attributes = {"keepdims": keepdims, "noop_with_empty_axes": noop}
    check(Case(op_type, inputs, attributes), atol_scale=10)


@PROPERTY_SETTINGS
@given(
    op_type=st.sampled_from(["Softmax", "LogSoftmax", "ArgMax", "ArgMin", "Flatten"]),
    shape_axes=shape_and_axes().filter(lambda shape_axes: len(shape_axes[1]) > 0),
    seed=st.integers(0, 2**32 - 1),
)
def test_one_axis(op_type, shape_axes, seed) -> None:
    shape, axes = shape_axes
    data = np.asarray(seeded(seed).standard_normal(shape), np.float32)
    check(Case(op_type, [data], {"axis": axes[0]}))
