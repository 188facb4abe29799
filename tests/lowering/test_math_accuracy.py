"""Accuracy of convert-math-to-llvm's erf, tanh and exp, compiled and run, against Python's math
in f64: f32 results (expanded in f32, lowering/math_expansions.py) within F32_FLOATS of the
correctly rounded value, counted in representable floats, the bound measured over every f32
input by `python -m terrace.benchmarks.math_accuracy`; f64 (libm) within 2."""

from __future__ import annotations

import math

import numpy as np
import pytest

from llvm_exec import LLVM_LOWERING_PIPELINE, compile_loops

KERNEL = """
func.func @main(%x: memref<NxT>, %y: memref<NxT>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = arith.constant N : index
  scf.for %i = %c0 to %n step %c1 {
    %a = memref.load %x[%i] : memref<NxT>
    %b = math.FUNCTION %a : T
    memref.store %b, %y[%i] : memref<NxT>
  }
  func.return
}
"""


def _inputs(dtype: type[np.floating]) -> np.ndarray:
    rng = np.random.default_rng(1)
    specials = [
        0.0,
        -0.0,
        np.inf,
        -np.inf,
        np.nan,
        1e-30,
        -1e-30,
        1e-45,
        1e-8,
        0.5,
        1.0,
        3.9,
        4.0,
        9.0,
        20.0,
        1e30,
        -1e30,
        0.999,
        1.001,
        2.5,
    ]
    wide = rng.uniform(-6, 6, 3000)
    logarithmic = np.exp(rng.uniform(-40, 5, 1000)) * rng.choice([-1, 1], 1000)
    return np.concatenate([specials, wide, logarithmic]).astype(dtype)


# the sweep over every f32 input: erf at most 2 floats from the correctly rounded value (1.63
# ulp, below erf's split at 0.92), tanh and exp at most 1
F32_FLOATS = {"erf": 2, "tanh": 1, "exp": 1}


def _ulp_distance(actual: np.ndarray, expected: np.ndarray) -> np.ndarray:
    int_type = np.int32 if actual.dtype == np.float32 else np.int64

    def ordered(values: np.ndarray) -> np.ndarray:
        bits = values.view(int_type).astype(np.int64)
        return np.where(bits < 0, np.iinfo(int_type).min - bits, bits)

    return np.abs(ordered(actual) - ordered(expected))


@pytest.mark.parametrize("function", ["erf", "tanh"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_erf_and_tanh_accuracy(function: str, dtype: type[np.floating]):
    x = _inputs(dtype)
    type_name = "f32" if dtype == np.float32 else "f64"
    text = KERNEL.replace("FUNCTION", function).replace("N", str(len(x))).replace("T", type_name)
    y = np.zeros_like(x)
    compile_loops(text).call("main", [x, y])
    oracle = getattr(math, function)
    expected = np.array([oracle(float(v)) for v in x]).astype(dtype)
    nan = np.isnan(x)
    assert np.isnan(y[nan]).all()
    bound = F32_FLOATS[function] if dtype == np.float32 else 2
    assert _ulp_distance(y[~nan], expected[~nan]).max() <= bound
    # odd functions keep the sign of zero
    np.testing.assert_array_equal(np.signbit(y[x == 0]), np.signbit(x[x == 0]))


def test_exp_f32_accuracy():
    # around the edges of f32's range (overflow above 88.72, subnormals below -87.34)
    rng = np.random.default_rng(2)
    x = np.concatenate(
        [
            [0.0, -0.0, np.inf, -np.inf, np.nan, 88.72, 88.73, -87.3, -103.9, -104.0, -1e30, 1e30],
            rng.uniform(-110, 90, 4000),
            rng.uniform(-1, 1, 1000),
            np.exp(rng.uniform(-40, 0, 500)),
        ]
    ).astype(np.float32)
    text = KERNEL.replace("FUNCTION", "exp").replace("N", str(len(x))).replace("T", "f32")
    y = np.zeros_like(x)
    compile_loops(text).call("main", [x, y])
    with np.errstate(over="ignore"):
        expected = np.exp(x.astype(np.float64)).astype(np.float32)
    nan = np.isnan(x)
    assert np.isnan(y[nan]).all()
    assert _ulp_distance(y[~nan], expected[~nan]).max() <= 1


VECTOR_KERNEL = """
func.func @main(%x: memref<NxT>, %y: memref<NxT>) {
  %c0 = arith.constant 0 : index
  %c16 = arith.constant 16 : index
  %n = arith.constant N : index
  scf.for %i = %c0 to %n step %c16 {
    %a = vector.load %x[%i] : memref<NxT>, vector<16xT>
    %b = math.FUNCTION %a : vector<16xT>
    vector.store %b, %y[%i] : memref<NxT>, vector<16xT>
  }
  func.return
}
"""


def test_exp_f32_vector_accuracy():
    # a fused epilogue's exp (of a vector): the same expansion lane by lane, NaN kept without
    # the scalar path's select
    rng = np.random.default_rng(3)
    x = np.concatenate(
        [
            [0.0, -0.0, np.inf, -np.inf, np.nan, 88.72, 88.73, -87.3, -103.9, -104.0, -1e30, 1e30],
            [np.nan, -np.nan, 1.0, -1.0],
            rng.uniform(-110, 90, 2000),
            np.exp(rng.uniform(-40, 0, 480)),
        ]
    ).astype(np.float32)
    assert len(x) % 16 == 0
    text = VECTOR_KERNEL.replace("FUNCTION", "exp").replace("N", str(len(x))).replace("T", "f32")
    y = np.zeros_like(x)
    compile_loops(text).call("main", [x, y])
    with np.errstate(over="ignore"):
        expected = np.exp(x.astype(np.float64)).astype(np.float32)
    nan = np.isnan(x)
    assert np.isnan(y[nan]).all()
    assert _ulp_distance(y[~nan], expected[~nan]).max() <= 1


# a target without fused multiply-add (wasm32): the polynomials multiply, then add
WITHOUT_FMA = LLVM_LOWERING_PIPELINE.replace(
    "convert-math-to-llvm", "convert-math-to-llvm{fma=false}"
)


@pytest.mark.parametrize("pipeline", [LLVM_LOWERING_PIPELINE, WITHOUT_FMA], ids=["fma", "no_fma"])
@pytest.mark.parametrize("function", ["erf", "tanh"])
def test_erf_and_tanh_f32_vector_edges(function: str, pipeline: str):
    """A fused GELU epilogue's erf and tanh (of vectors): the same f32 expansion lane by lane.
    Chosen behaviour: NaN stays NaN, +-inf and large |x| give exactly +-1, -0 gives -0,
    subnormals give the correctly rounded result (erf(x) = 2x/sqrt(pi), tanh(x) = x), and
    both pieces meet at their split points (0.921875 for erf, 0.55 for tanh) within the bound."""
    split = {"erf": 0.921875, "tanh": 0.55}[function]
    near_split = np.nextafter(np.float32(split), np.float32(0)) + np.arange(-6, 6) * np.spacing(
        np.float32(split)
    )
    rng = np.random.default_rng(4)
    x = np.concatenate(
        [
            [0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, 1e30, -1e30, 3.4e38, -3.4e38],
            [1e-45, -1e-45, 3e-39, -1e-40, 1.1754944e-38, 1e-20, -1e-7, 3.92, 9.02, 9.1],
            near_split,
            -near_split,
            rng.uniform(-10, 10, 1000),
            np.exp(rng.uniform(-100, 2, 1000)) * rng.choice([-1, 1], 1000),
        ]
    ).astype(np.float32)
    x = np.concatenate([x, np.zeros(-len(x) % 16, np.float32)])
    text = VECTOR_KERNEL.replace("FUNCTION", function).replace("N", str(len(x)))
    y = np.zeros_like(x)
    compile_loops(text.replace("T", "f32"), pipeline).call("main", [x, y])
    oracle = getattr(math, function)
    nan = np.isnan(x)
    assert np.isnan(y[nan]).all()
    expected = np.array([oracle(float(v)) for v in x[~nan]]).astype(np.float32)
    # without fma the same bound holds on these samples (the full sweep measured fma only)
    assert _ulp_distance(y[~nan], expected).max() <= F32_FLOATS[function]
    saturated = np.abs(x) > 9.1
    np.testing.assert_array_equal(y[saturated], np.sign(x[saturated]))
    np.testing.assert_array_equal(np.signbit(y[x == 0]), np.signbit(x[x == 0]))
