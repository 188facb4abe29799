"""The nn reference's shape kernels (`dialects/nn/reference/shape.py`: reshapes, slices, pads,
gathers, scatters, one-hot, resize) against onnxruntime, case by case and as properties
(nn_reference_cases.py)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from nn_reference_cases import (
    INT64_MAX,
    INT64_MIN,
    PROPERTY_SETTINGS,
    Case,
    Const,
    Inputs,
    assert_matches,
    check,
    ints,
    nn_module_text,
    onnxruntime_results,
    seeded,
    shape_and_axes,
)
from xdsl.parser import Parser

from terrace.dialects.context import parse_module, terrace_context
from terrace.dialects.nn.base import NnOperation
from terrace.dialects.nn.interpreter import run_function
from terrace.dialects.nn.reference import evaluate

_inputs = Inputs()
rand, positive, nonzero = _inputs.rand, _inputs.positive, _inputs.nonzero


# -- the cases, op by op ----------------------------------------------------------------------


def reshape_cases() -> Iterator[Case]:
    x = rand(2, 3, 4)
    for shape in [(6, 4), (0, -1), (-1,), (4, 0, 2, -1), (2, 3, 4), (24, 1)]:
        yield Case("Reshape", [x, ints(*shape)])
    yield Case("Reshape", [rand(2, 3, dtype=np.int64), ints(3, 2)])
    yield Case("Reshape", [rand(0, 3), ints(3, 0)], {"allowzero": 1})
    yield Case("Reshape", [rand(2, 3), ints(0, 3)], {"allowzero": 0})
    for axis in (0, 1, 2, 3, -1, -3):
        yield Case("Flatten", [rand(2, 3, 4)], {"axis": axis})
    yield Case("Flatten", [rand(2, 3, 4, dtype=np.int32)])


def transpose_cases() -> Iterator[Case]:
    yield Case("Transpose", [rand(2, 3, 4)])
    yield Case("Transpose", [rand(2, 3, 4)], {"perm": [1, 0, 2]})
    yield Case("Transpose", [rand(2, 3, 4, 5, dtype=np.int64)], {"perm": [0, 2, 3, 1]})
    yield Case("Transpose", [rand(3, 2, dtype=np.bool_)])


def squeeze_cases() -> Iterator[Case]:
    x = rand(1, 3, 1, 2, 1)
    yield Case("Squeeze", [x])
    yield Case("Squeeze", [x, ints(0)])
    yield Case("Squeeze", [x, ints(-1, 2)])
    yield Case("Squeeze", [rand(1, 1, dtype=np.int64)])
    yield Case("Unsqueeze", [rand(3, 4), ints(0)])
    yield Case("Unsqueeze", [rand(3, 4), ints(-1)])
    yield Case("Unsqueeze", [rand(3, 4), ints(0, 3)])
    yield Case("Unsqueeze", [rand(3, 4, dtype=np.int32), ints(-1, 1)])
    yield Case("Unsqueeze", [np.array(2.5, np.float32), ints(0)])


def broadcast_cases() -> Iterator[Case]:
    yield Case("Expand", [rand(3, 1), ints(2, 1, 4)])
    yield Case("Expand", [rand(3, 4), ints(4)])
    yield Case("Expand", [rand(1, 4), ints(3, 1)])  # a 1 in shape keeps the input's dimension
    yield Case("Expand", [rand(3, dtype=np.int64), ints(2, 3)])
    yield Case("Tile", [rand(2, 3), ints(2, 2)])
    yield Case("Tile", [rand(2, 3, 2), ints(1, 3, 1)])
    yield Case("Tile", [rand(2, 3, dtype=np.int32), ints(3, 1)])


def slice_cases() -> Iterator[Case]:
    x = rand(5, 6, 4)
    variants = [
        (ints(1), ints(3), None, None),
        (ints(1, 0), ints(4, 5), ints(0, 1), None),
        (ints(-3), ints(INT64_MAX), ints(1), None),
        (ints(0), ints(-1), ints(-1), None),
        (ints(-1), ints(INT64_MIN), ints(0), ints(-1)),
        (ints(4, 5), ints(0, -100), ints(0, 1), ints(-2, -3)),
        (ints(0, 1), ints(100, 6), ints(2, 1), ints(3, 2)),
        (ints(10), ints(20), ints(0), None),  # empty: both bounds clamped past the end
        (ints(2), ints(1), ints(1), None),
        # negative steps whose end is past the start, before and after clamping: empty
        (ints(0), ints(2), ints(1), ints(-1)),
        (ints(1), ints(100), ints(0), ints(-2)),
        (ints(-100), ints(3), ints(2), ints(-1)),
        (ints(-1), ints(-1), ints(1), ints(-3)),
    ]
    for starts, ends, axes, steps in variants:
        yield Case("Slice", [x, starts, ends, axes, steps])
    # a negative step beside an axis cut short from offset 0
    # (tests/lowering/nn_to_linalg/test_nn_to_linalg_shape.py)
    yield Case("Slice", [rand(1, 2), ints(0, 0), ints(-2, 1), ints(0, 1), ints(-3, 1)])
    yield Case("Slice", [rand(4, 3, dtype=np.int64), ints(1), ints(3)])


def pad_cases() -> Iterator[Case]:
    x = rand(3, 4)
    for mode in ["constant", "reflect", "edge", "wrap"]:
        yield Case("Pad", [x, ints(1, 2, 2, 1)], {"mode": mode})
        yield Case("Pad", [x, ints(1, -1, -1, 2)], {"mode": mode})  # negative pads crop
        yield Case("Pad", [x, ints(1, 2), None, ints(-1)], {"mode": mode})
    yield Case("Pad", [x, ints(1, 0, 0, 1), Const(np.array(2.5, np.float32))])
    yield Case("Pad", [rand(2, 3, dtype=np.int32), ints(1, 1, 1, 1), Const(np.array(7, np.int32))])
    yield Case("Pad", [rand(2, 3, dtype=np.int64), ints(0, 2, 1, 0)], {"mode": "reflect"})
    yield Case("Pad", [rand(2, 3, 4, dtype=np.float64), ints(1, 1, 0, 0, 1, 2)], {"mode": "edge"})


def concat_split_cases() -> Iterator[Case]:
    yield Case("Concat", [rand(2, 3), rand(2, 1), rand(2, 4)], {"axis": 1})
    yield Case("Concat", [rand(2, 3), rand(1, 3)], {"axis": -2})
    yield Case("Concat", [rand(2, dtype=np.int64), rand(3, dtype=np.int64)], {"axis": 0})
    yield Case("Concat", [rand(2, 2, dtype=np.bool_)], {"axis": 1})
    yield Case("Split", [rand(6, 4), ints(2, 4)], {"axis": 0}, outputs=2)
    yield Case("Split", [rand(3, 7), ints(1, 2, 4)], {"axis": -1}, outputs=3)
    yield Case("Split", [rand(7, 2)], {"num_outputs": 3}, outputs=3)  # uneven: 3, 3, 1
    yield Case("Split", [rand(2, 8)], {"axis": 1, "num_outputs": 3}, outputs=3)  # 3, 3, 2
    yield Case("Split", [rand(2, 6, dtype=np.int32)], {"axis": 1, "num_outputs": 2}, outputs=2)


def gather_cases() -> Iterator[Case]:
    data = rand(5, 4, 3)
    yield Case("Gather", [data, np.array([0, 4, -1, 2], np.int64)])
    yield Case("Gather", [data, np.array([[1, -2], [0, 3]], np.int32)], {"axis": 1})
    yield Case("Gather", [data, np.array(-1, np.int64)], {"axis": -1})
    yield Case("Gather", [rand(5, dtype=np.int64), np.array([[4, 0, -5]], np.int64)])
    yield Case("GatherElements", [data, np.array([[[0, -1, 4]], [[2, 3, -5]]], np.int64)])
    yield Case("GatherND", [data, np.array([[0, 1], [4, -1]], np.int64)])
    yield Case("GatherND", [data, np.array([[[2], [-1]]], np.int64)])
    yield Case("GatherND", [rand(2, 3, 4), np.array([[1, 0], [2, 3]], np.int64)], {"batch_dims": 1})
    indices = np.array([[[1], [-4]], [[3], [0]]], np.int32)
    yield Case("GatherElements", [data, indices], {"axis": 1})
    yield Case(
        "GatherElements",
        [rand(3, 3, dtype=np.int32), np.array([[2, 0], [1, -1], [0, 0]])],
        {"axis": -1},
    )


def scatter_cases() -> Iterator[Case]:
    data = rand(3, 4)
    indices = np.array([[1, -1, 0], [2, 0, 1]], np.int64)
    for reduction in ("none", "add", "mul", "max", "min"):
        yield Case("ScatterElements", [data, indices, rand(2, 3)], {"reduction": reduction})
        yield Case("ScatterND", [data, np.array([[1], [-1]]), rand(2, 4)], {"reduction": reduction})
    yield Case("ScatterElements", [data, indices.T.copy(), rand(3, 2)], {"axis": 1})
    updates = np.array([5, 6], np.int32)
    yield Case("ScatterND", [rand(2, 3, dtype=np.int32), np.array([[0, 2], [1, 0]]), updates])


def shape_cases() -> Iterator[Case]:
    x = rand(2, 3, 4, 5)
    for attributes in [{}, {"start": 1}, {"end": -1}, {"start": -3, "end": 3}, {"start": 9}]:
        yield Case("Shape", [x], attributes)
    yield Case("Shape", [np.array(1.0, np.float32)])


def resize_cases() -> Iterator[Case]:
    """Resize (onnx's kernel: the reference has none of its own)."""
    scales = Const(np.array([1, 1, 2, 2], np.float32))
    yield Case("Resize", [rand(1, 1, 2, 3), None, scales])
    yield Case("Resize", [rand(1, 1, 2, 3), None, scales], {"mode": "linear"})
    yield Case("Resize", [rand(1, 1, 2, 3), None, None, ints(1, 1, 3, 5)], {"mode": "linear"})


def one_hot_cases() -> Iterator[Case]:
    """OneHot, negative indices counting from the depth."""
    indices = np.array([[0, 3, -1], [-4, 7, 2]], np.int64)
    for axis in (-1, 0):
        values = np.array([-1.0, 2.0], np.float32)
        yield Case("OneHot", [indices, Const(np.array(4, np.int64)), values], {"axis": axis})


CASES: list[Case] = [
    case
    for cases in [
        reshape_cases,
        transpose_cases,
        squeeze_cases,
        broadcast_cases,
        slice_cases,
        pad_cases,
        concat_split_cases,
        gather_cases,
        scatter_cases,
        shape_cases,
        resize_cases,
        one_hot_cases,
    ]
    for case in cases()
]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name()) for c in CASES])
def test_op_matches_onnxruntime(case: Case) -> None:
    check(case)


# -- the default Split: no sizes, one equal part per result -----------------------------------


def _unverified_op(text: str) -> NnOperation:
    """The one nn op of a function, parsed but not verified."""
    module = Parser(terrace_context(), text).parse_module()
    return next(op for op in module.walk() if isinstance(op, NnOperation))


def test_split_without_sizes_makes_equal_parts() -> None:
    x = rand(6, 4)
    expected = onnxruntime_results(Case("Split", [x], {"num_outputs": 3}, outputs=3))
    text = nn_module_text(Case("Split", [x], outputs=3), expected)
    op = _unverified_op(text)
    for ours, theirs in zip(evaluate(op, [x]), expected, strict=True):
        assert_matches(ours, theirs)


def test_split_without_sizes_verifies() -> None:
    x = rand(6, 4)
    expected = onnxruntime_results(Case("Split", [x], {"num_outputs": 3}, outputs=3))
    module = parse_module(nn_module_text(Case("Split", [x], outputs=3), expected))
    for ours, theirs in zip(run_function(module, [x]), expected, strict=True):
        np.testing.assert_array_equal(ours, theirs)


# -- properties: shapes, broadcasting and axes drawn at random --------------------------------


_BOUNDS = st.one_of(st.integers(-7, 7), st.sampled_from([INT64_MAX, INT64_MIN]))
# onnxruntime reads an INT64_MAX end with a negative step as "through index 0"; ONNX (its spec,
# its shape inference and its reference) clamps it to the last index, which makes the slice empty.
_BOUNDS_BACKWARD = st.one_of(st.integers(-7, 7), st.just(INT64_MIN))


@st.composite
def slices(draw: st.DrawFn) -> tuple[tuple[int, ...], list[Const | None]]:
    shape, axes = draw(shape_and_axes().filter(lambda shape_axes: len(shape_axes[1]) > 0))
    count = len(axes)
    steps = draw(st.lists(st.sampled_from([-3, -2, -1, 1, 2, 3]), min_size=count, max_size=count))
    starts = draw(st.lists(_BOUNDS, min_size=count, max_size=count))
    ends = [draw(_BOUNDS if step > 0 else _BOUNDS_BACKWARD) for step in steps]
    return shape, [ints(*starts), ints(*ends), ints(*axes), ints(*steps)]


@PROPERTY_SETTINGS
@given(shape_bounds=slices(), seed=st.integers(0, 2**32 - 1))
def test_slice(shape_bounds, seed) -> None:
    shape, bounds = shape_bounds
    data = np.asarray(seeded(seed).standard_normal(shape), np.float32)
    check(Case("Slice", [data, *bounds]))


@st.composite
def pads_of(draw: st.DrawFn, shape: tuple[int, ...]) -> list[int]:
    """Pads that crop at most one element per side, leaving at least two (onnxruntime's reflect
    needs two), and pad by at most the cropped extent less one (reflection reads that many)."""
    begins: list[int] = []
    ends: list[int] = []
    for size in shape:
        crop_begin, crop_end = draw(st.integers(0, 1)), draw(st.integers(0, 1))
        room = size - crop_begin - crop_end - 1
        begins.append(-crop_begin if crop_begin else draw(st.integers(0, room)))
        ends.append(-crop_end if crop_end else draw(st.integers(0, room)))
    return begins + ends


@PROPERTY_SETTINGS
@given(
    shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=4, max_side=5),
    mode=st.sampled_from(["constant", "reflect", "edge", "wrap"]),
    data=st.data(),
)
def test_pad(shape, mode, data) -> None:
    pads = data.draw(pads_of(shape))
    x = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    check(Case("Pad", [x, ints(*pads)], {"mode": mode}))


@PROPERTY_SETTINGS
@given(shape=hnp.array_shapes(min_dims=1, max_dims=5, max_side=3), data=st.data())
def test_transpose_and_squeeze(shape, data) -> None:
    x = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    perm = data.draw(st.permutations(range(len(shape))))
    check(Case("Transpose", [x], {"perm": list(perm)}))
    ones = [axis for axis, size in enumerate(shape) if size == 1]
    squeezed = data.draw(st.lists(st.sampled_from(ones), unique=True) if ones else st.just([]))
    check(Case("Squeeze", [x, ints(*squeezed) if squeezed else None]))
    inserted = data.draw(st.lists(st.integers(-len(shape) - 1, len(shape)), min_size=1, max_size=1))
    check(Case("Unsqueeze", [x, ints(*inserted)]))
