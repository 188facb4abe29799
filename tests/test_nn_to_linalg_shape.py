"""convert-nn-to-linalg, data-movement ops: differential tests against the nn reference.

Also the self-test of the stage-2 executor (tests/linalg_exec.py) against numpy.
"""

from __future__ import annotations

import math

import numpy as np
from linalg_exec import run_linalg

from terrace.dialects.context import parse_module

RNG = np.random.default_rng(0)


# -- the executor against numpy ------------------------------------------------------------------

RESHAPES_AND_SLICES = """
func.func @main(%a: tensor<2x3x4xf32>, %b: tensor<2x2xf32>)
    -> (tensor<6x4xf32>, tensor<2x3x2x2xf32>, tensor<2x2xf32>, tensor<2x3x4xf32>) {
  %c = tensor.collapse_shape %a [[0, 1], [2]] : tensor<2x3x4xf32> into tensor<6x4xf32>
  %e = tensor.expand_shape %a [[0], [1], [2, 3]] output_shape [2, 3, 2, 2]
      : tensor<2x3x4xf32> into tensor<2x3x2x2xf32>
  %s = tensor.extract_slice %a[1, 0, 1] [1, 2, 2] [1, 2, 2] : tensor<2x3x4xf32> to tensor<2x2xf32>
  %i = tensor.insert_slice %b into %a[0, 1, 0] [1, 2, 2] [1, 1, 3]
      : tensor<2x2xf32> into tensor<2x3x4xf32>
  func.return %c, %e, %s, %i : tensor<6x4xf32>, tensor<2x3x2x2xf32>, tensor<2x2xf32>,
      tensor<2x3x4xf32>
}
"""


def test_executor_reshapes_and_slices() -> None:
    a = RNG.standard_normal((2, 3, 4)).astype(np.float32)
    b = RNG.standard_normal((2, 2)).astype(np.float32)
    collapsed, expanded, extracted, inserted = run_linalg(parse_module(RESHAPES_AND_SLICES), [a, b])
    np.testing.assert_array_equal(collapsed, a.reshape(6, 4))
    np.testing.assert_array_equal(expanded, a.reshape(2, 3, 2, 2))
    np.testing.assert_array_equal(extracted, a[1, 0:3:2, 1:4:2])
    expected = a.copy()
    expected[0, 1:3, 0:4:3] = b
    np.testing.assert_array_equal(inserted, expected)


GATHER_BODY = """
func.func @main(%data: tensor<5xf32>, %idx: tensor<2x3xi64>) -> (tensor<2x3xf32>, tensor<2x3xi64>) {
  %e = tensor.empty() : tensor<2x3xf32>
  %k = arith.constant dense<[[1, 2, 3], [4, 5, 6]]> : tensor<2x3xi64>
  %r:2 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>,
      affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>,
      affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%idx, %k : tensor<2x3xi64>, tensor<2x3xi64>)
      outs(%e, %idx : tensor<2x3xf32>, tensor<2x3xi64>) {
  ^bb0(%i: i64, %kk: i64, %o: f32, %o2: i64):
    %j = arith.index_cast %i : i64 to index
    %x = tensor.extract %data[%j] : tensor<5xf32>
    %t = math.tanh %x : f32
    %er = math.erf %t : f32
    %d1 = linalg.index 1 : index
    %d1i = arith.index_cast %d1 : index to i64
    %s = arith.addi %kk, %d1i : i64
    linalg.yield %er, %s : f32, i64
  } -> tensor<2x3xf32>, tensor<2x3xi64>
  func.return %r#0, %r#1 : tensor<2x3xf32>, tensor<2x3xi64>
}
"""


def test_executor_data_dependent_reads_constants_and_two_results() -> None:
    data = RNG.standard_normal(5).astype(np.float32)
    indices = RNG.integers(0, 5, (2, 3))
    values, sums = run_linalg(parse_module(GATHER_BODY), [data, indices])
    erf = np.vectorize(math.erf)
    tanh = np.tanh(data[indices]).astype(np.float32)
    np.testing.assert_allclose(values, erf(tanh.astype(np.float64)), rtol=1e-6)
    np.testing.assert_array_equal(sums, np.array([[1, 3, 5], [4, 6, 8]]))


NAMED_CONV = """
func.func @main(%x: tensor<1x2x4x4xf32>, %w: tensor<3x2x3x3xf32>) -> tensor<1x3x2x2xf32> {
  %e = tensor.empty() : tensor<1x3x2x2xf32>
  %z = arith.constant 0.0 : f32
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<1x3x2x2xf32>) -> tensor<1x3x2x2xf32>
  %c = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>,
      strides = dense<1> : tensor<2xi64>}
      ins(%x, %w : tensor<1x2x4x4xf32>, tensor<3x2x3x3xf32>) outs(%f : tensor<1x3x2x2xf32>)
      -> tensor<1x3x2x2xf32>
  func.return %c : tensor<1x3x2x2xf32>
}
"""


def test_executor_generalizes_multichannel_conv() -> None:
    x = RNG.standard_normal((1, 2, 4, 4)).astype(np.float32)
    w = RNG.standard_normal((3, 2, 3, 3)).astype(np.float32)
    (result,) = run_linalg(parse_module(NAMED_CONV), [x, w])
    windows = np.lib.stride_tricks.sliding_window_view(x, (3, 3), axis=(2, 3))
    expected = np.einsum("nchwij,fcij->nfhw", windows, w)
    np.testing.assert_allclose(result, expected, rtol=1e-5, atol=1e-5)


WEIGHT = """
func.func @main(%x: tensor<2x3xi1>) -> (tensor<2x3xf32>, tensor<2x3xi1>) {
  %w = nn.weight "w" : tensor<2x3xf32>
  func.return %w, %x : tensor<2x3xf32>, tensor<2x3xi1>
}
"""


def test_executor_weights_and_booleans() -> None:
    weight = RNG.standard_normal((2, 3)).astype(np.float32)
    mask = RNG.integers(0, 2, (2, 3)).astype(np.bool_)
    read, same = run_linalg(parse_module(WEIGHT), [mask], weights={"w": weight})
    np.testing.assert_array_equal(read, weight)
    assert same.dtype == np.bool_
    np.testing.assert_array_equal(same, mask)
