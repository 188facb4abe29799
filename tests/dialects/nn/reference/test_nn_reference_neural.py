"""The nn reference's neural kernels (`dialects/nn/reference/neural.py`: contractions,
normalizations, softmax, convolutions and pools) against onnxruntime, case by case and as
properties (nn_reference_cases.py)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from nn_reference_cases import (
    INTS,
    PROPERTY_SETTINGS,
    Case,
    Inputs,
    check,
    seeded,
)

_inputs = Inputs()
rand, positive, nonzero = _inputs.rand, _inputs.positive, _inputs.nonzero


# -- the cases, op by op ----------------------------------------------------------------------


def gemm_cases() -> Iterator[Case]:
    for trans_a, trans_b in itertools.product((0, 1), repeat=2):
        a = rand(4, 3) if trans_a else rand(3, 4)
        b = rand(5, 4) if trans_b else rand(4, 5)
        yield Case("Gemm", [a, b, rand(3, 5)], {"transA": trans_a, "transB": trans_b})
    for c_shape in [(5,), (1, 5), (3, 1), ()]:
        yield Case("Gemm", [rand(3, 4), rand(4, 5), rand(*c_shape)], {"alpha": 0.5, "beta": 2.0})
    yield Case("Gemm", [rand(3, 4), rand(4, 5)], {"alpha": 1.5})
    yield Case("Gemm", [rand(3, 4, dtype=np.float64), rand(5, 4, dtype=np.float64)], {"transB": 1})
    yield Case("Gemm", [rand(3, 4, dtype=np.float16), rand(4, 5, dtype=np.float16)])


def matmul_cases() -> Iterator[Case]:
    shapes = [
        ((4,), (4,)),
        ((4,), (4, 3)),
        ((3, 4), (4,)),
        ((3, 4), (4, 5)),
        ((2, 3, 4), (4, 5)),
        ((2, 1, 3, 4), (5, 4, 2)),
        ((4,), (2, 4, 3)),
    ]
    for shape_a, shape_b in shapes:
        yield Case("MatMul", [rand(*shape_a), rand(*shape_b)])
    for dtype in (np.float64, np.float16, *INTS):
        yield Case("MatMul", [rand(2, 3, 4, dtype=dtype), rand(4, 2, dtype=dtype)])


def normalization_cases() -> Iterator[Case]:
    for shape, dtype in [((2, 3, 4, 5), np.float32), ((4, 3), np.float32), ((2, 3, 4), np.float64)]:
        channels = shape[1]
        statistics = [rand(channels, dtype=dtype), rand(channels, dtype=dtype)]
        statistics += [rand(channels, dtype=dtype), positive(channels, dtype=dtype)]
        yield Case("BatchNormalization", [rand(*shape, dtype=dtype), *statistics])
    bn_inputs = [rand(2, 3, 4), rand(3), rand(3), rand(3), positive(3)]
    yield Case("BatchNormalization", bn_inputs, {"epsilon": 0.1})
    for axis, dtype in itertools.product((-1, 1, -2), (np.float32, np.float64)):
        x = rand(2, 3, 4, dtype=dtype)
        normalized = x.shape[axis:]
        yield Case("LayerNormalization", [x, rand(*normalized, dtype=dtype)], {"axis": axis})
        bias = rand(*normalized, dtype=dtype)
        yield Case("LayerNormalization", [x, rand(*normalized, dtype=dtype), bias], {"axis": axis})
    yield Case("LayerNormalization", [rand(2, 8), rand(8), rand(8)], {"epsilon": 0.01})
    f16 = [rand(2, 16, dtype=np.float16), rand(16, dtype=np.float16), rand(16, dtype=np.float16)]
    yield Case("LayerNormalization", f16, {"stash_type": 1})


def softmax_cases() -> Iterator[Case]:
    for op_type, axis, dtype in itertools.product(
        ["Softmax", "LogSoftmax"], (0, 1, -1), (np.float32, np.float64, np.float16)
    ):
        yield Case(op_type, [rand(3, 4, 5, dtype=dtype)], {"axis": axis})
    for op_type in ["Softmax", "LogSoftmax"]:
        yield Case(op_type, [rand(3, 4)])
        yield Case(op_type, [rand(2, 6, low=500, high=1000)])  # exp would overflow unshifted


def windowed_cases() -> Iterator[Case]:
    """Convolutions and pools (our kernels: onnx's own get grouped ConvTranspose, output_shape,
    ceil_mode overhangs and dilated SAME pads wrong)."""
    yield Case("Conv", [rand(1, 2, 5, 5), rand(3, 2, 3, 3), rand(3)], {"pads": [1, 1, 1, 1]})
    yield Case("Conv", [rand(2, 3, 7), rand(4, 3, 2)], {"dilations": [2], "strides": [2]})
    yield Case("Conv", [rand(1, 2, 4, 5, 3), rand(2, 2, 2, 2, 2)], {"pads": [1, 0, 1, 0, 1, 1]})
    yield Case("Conv", [rand(1, 3, 7, 6), rand(3, 1, 3, 3)], {"group": 3, "auto_pad": "SAME_LOWER"})
    yield Case(
        "Conv", [rand(1, 2, 7, 6), rand(2, 2, 3, 2)], {"auto_pad": "SAME_UPPER", "strides": [2, 2]}
    )
    yield Case("ConvTranspose", [rand(1, 4, 3, 3), rand(4, 1, 3, 3), rand(2)], {"group": 2})
    transposed = {"strides": [2, 2], "output_shape": [7, 8], "dilations": [1, 2]}
    yield Case("ConvTranspose", [rand(1, 2, 3, 3), rand(2, 3, 3, 2)], transposed)
    yield Case(
        "ConvTranspose",
        [rand(1, 2, 4, 3), rand(2, 2, 3, 3)],
        {"strides": [2, 3], "pads": [1, 0, 2, 1], "output_padding": [1, 2]},
    )
    yield Case(
        "ConvTranspose", [rand(1, 1, 4), rand(1, 2, 3)], {"strides": [2], "auto_pad": "SAME_UPPER"}
    )
    ceil = {"kernel_shape": [2, 2], "strides": [3, 3], "ceil_mode": 1}
    yield Case("MaxPool", [rand(1, 2, 8, 7)], ceil)
    yield Case("AveragePool", [rand(1, 2, 8, 7)], ceil)
    yield Case(
        "AveragePool", [rand(1, 1, 6, 6)], {**ceil, "pads": [1, 1, 1, 1], "count_include_pad": 1}
    )
    yield Case(
        "MaxPool",
        [rand(1, 1, 7, 7)],
        {"kernel_shape": [3, 3], "dilations": [2, 2], "pads": [2, 1, 1, 2]},
    )
    yield Case("Conv", [rand(1, 4, 6, 6), rand(4, 2, 3, 3)], {"group": 2, "strides": [2, 2]})
    yield Case("ConvTranspose", [rand(1, 2, 3, 3), rand(2, 3, 3, 3)], {"strides": [2, 2]})
    yield Case("MaxPool", [rand(1, 2, 6, 6)], {"kernel_shape": [2, 2], "strides": [2, 2]})
    yield Case("MaxPool", [rand(1, 1, 5, 5)], {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]})
    yield Case("AveragePool", [rand(1, 2, 5, 5)], {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]})
    counting = {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "count_include_pad": 1}
    yield Case("AveragePool", [rand(1, 2, 5, 5)], counting)
    yield Case("LRN", [rand(1, 5, 3, 3)], {"size": 3})
    # onnxruntime takes only 4-d inputs and odd sizes; a batch of 2 would catch onnx's LRN.
    lrn_attributes = {"size": 5, "alpha": 0.01, "beta": 0.5, "bias": 2.0}
    yield Case("LRN", [rand(2, 6, 3, 2, low=-9, high=9)], lrn_attributes)


def pooling_cases() -> Iterator[Case]:
    for op_type, shape in itertools.product(
        ["GlobalAveragePool", "GlobalMaxPool"], [(2, 3, 4), (1, 2, 3, 4), (1, 2, 2, 3, 2)]
    ):
        yield Case(op_type, [rand(*shape)])
    yield Case("GlobalAveragePool", [rand(1, 2, 3, 4, dtype=np.float16)])
    yield Case("GlobalMaxPool", [rand(1, 2, 3, 4, dtype=np.float16)])


def lp_pool_cases() -> Iterator[Case]:
    """LpPool for p = 1, 2, 3."""
    window = {"kernel_shape": [3, 2], "pads": [1, 0, 2, 1], "strides": [2, 1]}
    for p in (1, 2, 3):
        yield Case("LpPool", [rand(1, 2, 6, 5)], {**window, "p": p})


def einsum_cases() -> Iterator[Case]:
    yield Case("Einsum", [rand(2, 3), rand(3, 4)], {"equation": "ij,jk->ik"})
    yield Case("Einsum", [rand(2, 3, 3)], {"equation": "...ii->...i"})
    yield Case("Einsum", [rand(4), rand(4)], {"equation": "i,i"})
    yield Case("Einsum", [rand(2, 3, dtype=np.float64)], {"equation": "ij->ji"})


CASES: list[Case] = [
    case
    for cases in [
        gemm_cases,
        matmul_cases,
        normalization_cases,
        softmax_cases,
        windowed_cases,
        pooling_cases,
        lp_pool_cases,
        einsum_cases,
    ]
    for case in cases()
]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name()) for c in CASES])
def test_op_matches_onnxruntime(case: Case) -> None:
    check(case)


# -- properties: shapes, broadcasting and axes drawn at random --------------------------------


@PROPERTY_SETTINGS
@given(
    m=st.integers(1, 5),
    k=st.integers(1, 5),
    n=st.integers(1, 5),
    trans_a=st.integers(0, 1),
    trans_b=st.integers(0, 1),
    c_shape=st.sampled_from(["none", "mn", "n", "m1", "scalar"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_gemm(m, k, n, trans_a, trans_b, c_shape, seed) -> None:
    rng = seeded(seed)
    a = np.asarray(rng.standard_normal((k, m) if trans_a else (m, k)), np.float32)
    b = np.asarray(rng.standard_normal((n, k) if trans_b else (k, n)), np.float32)
    c_shapes = {"mn": (m, n), "n": (n,), "m1": (m, 1), "scalar": ()}
    c = (
        [np.asarray(rng.standard_normal(c_shapes[c_shape]), np.float32)]
        if c_shape != "none"
        else []
    )
    attributes = {"transA": trans_a, "transB": trans_b, "alpha": 0.75, "beta": 1.25}
    check(Case("Gemm", [a, b, *c], attributes), atol_scale=k)


@PROPERTY_SETTINGS
@given(
    shapes=hnp.mutually_broadcastable_shapes(
        signature=np.matmul.signature,
        max_dims=3,
        max_side=4,  # pyright: ignore
    ),
    seed=st.integers(0, 2**32 - 1),
)
def test_matmul(shapes, seed) -> None:
    rng = seeded(seed)
    a, b = (np.asarray(rng.standard_normal(s), np.float32) for s in shapes.input_shapes)
    check(Case("MatMul", [a, b]), atol_scale=4)
