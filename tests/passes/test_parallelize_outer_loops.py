"""Differential tests of parallelize-outer-loops: linalg programs on memrefs lowered with and
without it, the parallel version run on two OpenMP threads, give the same numbers as numpy."""

from __future__ import annotations

import ctypes
import ctypes.util
import threading

import numpy as np
import pytest

from terrace.targets import host_target

from llvm_exec import compile_llvm, lower

RNG = np.random.default_rng(1)

# out[n, f, h, w] += sum over c, kh, kw of x[n, c, h + kh, w + kw] * k[f, c, kh, kw]
CONV = """
#x = affine_map<(n, f, h, w, c, kh, kw) -> (n, c, h + kh, w + kw)>
#k = affine_map<(n, f, h, w, c, kh, kw) -> (f, c, kh, kw)>
#o = affine_map<(n, f, h, w, c, kh, kw) -> (n, f, h, w)>
func.func @main(%x: memref<2x3x9x9xf32>, %k: memref<5x3x3x3xf32>, %out: memref<2x5x7x7xf32>) {
  linalg.generic {
    indexing_maps = [#x, #k, #o],
    iterator_types = ["parallel", "parallel", "parallel", "parallel",
                      "reduction", "reduction", "reduction"]
  } ins(%x, %k : memref<2x3x9x9xf32>, memref<5x3x3x3xf32>)
    outs(%out : memref<2x5x7x7xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %product = arith.mulf %a, %b : f32
    %sum = arith.addf %acc, %product : f32
    linalg.yield %sum : f32
  }
  func.return
}
"""

# out[i, j] = max over k of x[i, k, j]: the reduction dimension ends the parallel prefix
MIDDLE_REDUCTION = """
#x = affine_map<(i, k, j) -> (i, k, j)>
#o = affine_map<(i, k, j) -> (i, j)>
func.func @main(%x: memref<6x5x13xf32>, %out: memref<6x13xf32>) {
  linalg.generic {indexing_maps = [#x, #o], iterator_types = ["parallel", "reduction", "parallel"]}
    ins(%x : memref<6x5x13xf32>) outs(%out : memref<6x13xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %m = arith.maximumf %a, %acc : f32
    linalg.yield %m : f32
  }
  func.return
}
"""

# these programs are far below convert-scf-parallel-to-gomp's min-work: every loop it is
# given gets its parallel region, so that the two threads really share them
TAIL = (
    host_target()
    .pipeline()
    .after("memrefs")
    .spec()
    .replace("convert-scf-parallel-to-gomp", "convert-scf-parallel-to-gomp{min-work=0}")
)


def _run_on_two_threads(program: str, parallel: bool, buffers: list[np.ndarray]) -> None:
    prefix = (
        "parallelize-outer-loops{min_iterations=1 min_parallel_iterations=3}," if parallel else ""
    )
    module = lower(program, prefix + TAIL)
    assert ("GOMP_parallel" in str(module)) == parallel
    compiled = compile_llvm(module)
    library = ctypes.util.find_library("gomp")
    assert library is not None
    openmp = ctypes.CDLL(library)

    def body() -> None:
        openmp.omp_set_num_threads(ctypes.c_int(2))
        compiled.call("main", buffers)

    thread = threading.Thread(target=body)
    thread.start()
    thread.join()


@pytest.mark.parametrize("parallel", [False, True])
def test_conv_matches_numpy(parallel: bool):
    x = RNG.standard_normal((2, 3, 9, 9)).astype(np.float32)
    k = RNG.standard_normal((5, 3, 3, 3)).astype(np.float32)
    out = np.zeros((2, 5, 7, 7), np.float32)
    _run_on_two_threads(CONV, parallel, [x, k, out])
    windows = np.lib.stride_tricks.sliding_window_view(x, (3, 3), axis=(2, 3))
    expected = np.einsum("nchwij,fcij->nfhw", windows, k)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("parallel", [False, True])
def test_reduction_in_the_middle_stays_sequential(parallel: bool):
    x = RNG.standard_normal((6, 5, 13)).astype(np.float32)
    out = np.full((6, 13), -np.inf, np.float32)
    _run_on_two_threads(MIDDLE_REDUCTION, parallel, [x, out])
    np.testing.assert_array_equal(out, x.max(axis=1))
