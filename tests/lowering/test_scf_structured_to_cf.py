"""Differential tests of convert-scf-structured-to-cf: memref programs with scf.while and
scf.parallel, compiled with the CPU pipeline's tail (which runs the pass), against numpy."""

from __future__ import annotations

import numpy as np
import pytest

from llvm_exec import compile_loops, lower

RNG = np.random.default_rng(0)

# for each x: how many doublings (x, 2x, 4x, ...) until the value reaches the limit, and the
# value reached; the while sits inside an scf.for
DOUBLINGS = """
func.func @main(%x: memref<16xi32>, %limit: memref<1xi32>, %out: memref<2x16xi32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = arith.constant 16 : index
  %zero = arith.constant 0 : i32
  %one = arith.constant 1 : i32
  %bound = memref.load %limit[%c0] : memref<1xi32>
  scf.for %i = %c0 to %n step %c1 {
    %start = memref.load %x[%i] : memref<16xi32>
    %r:2 = scf.while (%v = %start, %count = %zero) : (i32, i32) -> (i32, i32) {
      %below = arith.cmpi slt, %v, %bound : i32
      scf.condition(%below) %v, %count : i32, i32
    } do {
    ^bb0(%v2: i32, %count2: i32):
      %doubled = arith.addi %v2, %v2 : i32
      %next = arith.addi %count2, %one : i32
      scf.yield %doubled, %next : i32, i32
    }
    memref.store %r#0, %out[%c0, %i] : memref<2x16xi32>
    memref.store %r#1, %out[%c1, %i] : memref<2x16xi32>
  }
  func.return
}
"""

# out[i, j] = x[i, j] * 2 + y[j] over a 2-d parallel loop with steps 1 and 1
PARALLEL_2D = """
func.func @main(%x: memref<5x7xf32>, %y: memref<7xf32>, %out: memref<5x7xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c5 = arith.constant 5 : index
  %c7 = arith.constant 7 : index
  %two = arith.constant 2.0 : f32
  "scf.parallel"(%c0, %c0, %c5, %c7, %c1, %c1) <{operandSegmentSizes = array<i32: 2, 2, 2, 0>}> ({
  ^bb0(%i: index, %j: index):
    %a = memref.load %x[%i, %j] : memref<5x7xf32>
    %b = memref.load %y[%j] : memref<7xf32>
    %scaled = arith.mulf %a, %two : f32
    %sum = arith.addf %scaled, %b : f32
    memref.store %sum, %out[%i, %j] : memref<5x7xf32>
    scf.reduce
  }) : (index, index, index, index, index, index) -> ()
  func.return
}
"""

# a parallel loop with a step of 2 in its second dimension writes every other column
PARALLEL_STRIDED = """
func.func @main(%out: memref<3x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c8 = arith.constant 8 : index
  %one = arith.constant 1.0 : f32
  "scf.parallel"(%c0, %c1, %c3, %c8, %c1, %c2) <{operandSegmentSizes = array<i32: 2, 2, 2, 0>}> ({
  ^bb0(%i: index, %j: index):
    memref.store %one, %out[%i, %j] : memref<3x8xf32>
    scf.reduce
  }) : (index, index, index, index, index, index) -> ()
  func.return
}
"""


def _doublings(start: int, limit: int) -> tuple[int, int]:
    value, count = start, 0
    while value < limit:
        value, count = value * 2, count + 1
    return value, count


@pytest.mark.parametrize("limit", [1, 100, 5000])
def test_while_counts_doublings_like_python(limit: int):
    x = RNG.integers(1, 200, 16).astype(np.int32)
    out = np.zeros((2, 16), np.int32)
    compile_loops(DOUBLINGS).call("main", [x, np.array([limit], np.int32), out])
    expected = np.array([_doublings(int(v), limit) for v in x], np.int32).T
    np.testing.assert_array_equal(out, expected)


def test_parallel_2d_elementwise_matches_numpy():
    x = RNG.standard_normal((5, 7)).astype(np.float32)
    y = RNG.standard_normal(7).astype(np.float32)
    out = np.zeros((5, 7), np.float32)
    compile_loops(PARALLEL_2D).call("main", [x, y, out])
    np.testing.assert_array_equal(out, x * np.float32(2) + y)


def test_parallel_steps_and_lower_bounds_are_kept():
    out = np.zeros((3, 8), np.float32)
    compile_loops(PARALLEL_STRIDED).call("main", [out])
    expected = np.zeros((3, 8), np.float32)
    expected[:, 1::2] = 1
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("program", [DOUBLINGS, PARALLEL_2D])
def test_no_scf_left_after_the_llvm_lowering(program: str):
    printed = str(lower(program))
    assert "scf." not in printed
    assert " cf." not in printed
