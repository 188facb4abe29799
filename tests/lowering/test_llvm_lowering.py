"""Differential tests of the LLVM lowering: loop-level programs compiled with the CPU
pipeline's tail, JIT-compiled by llvmlite and called with numpy buffers, against numpy."""

from __future__ import annotations

import ctypes
import math

import numpy as np
import pytest

from terrace.targets import host_target
from terrace.targets.llvm import LlvmTarget
from terrace.targets.llvm.codegen import assembly, llvm_ir, object_code, optimized_llvm_ir

from llvm_exec import LLVM_LOWERING_PIPELINE, compile_llvm, compile_loops, lower

RNG = np.random.default_rng(0)

ELEMENTWISE_F32 = """
func.func @main(%x: memref<64xf32>, %y: memref<64xf32>, %out: memref<3x64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %n = arith.constant 64 : index
  %zero = arith.constant 0.0 : f32
  scf.for %i = %c0 to %n step %c1 {
    %a = memref.load %x[%i] : memref<64xf32>
    %b = memref.load %y[%i] : memref<64xf32>
    %positive = arith.cmpf ogt, %a, %zero : f32
    %e = math.exp %a : f32
    %t = math.tanh %a : f32
    %s = arith.select %positive, %e, %t : f32
    %m = arith.maximumf %a, %b : f32
    %d = arith.divf %a, %b : f32
    %q = math.sqrt %m : f32
    %f = math.floor %d : f32
    %r = arith.addf %q, %f : f32
    memref.store %s, %out[%c0, %i] : memref<3x64xf32>
    memref.store %m, %out[%c1, %i] : memref<3x64xf32>
    memref.store %r, %out[%c2, %i] : memref<3x64xf32>
  }
  func.return
}
"""


def test_elementwise_f32_matches_numpy():
    x = RNG.uniform(-3, 3, 64).astype(np.float32)
    y = RNG.uniform(0.5, 3, 64).astype(np.float32)
    x[:3] = [np.nan, 0.0, -0.0]
    out = np.zeros((3, 64), np.float32)
    compile_loops(ELEMENTWISE_F32).call("main", [x, y, out])
    with np.errstate(invalid="ignore"):
        np.testing.assert_allclose(out[0], np.where(x > 0, np.exp(x), np.tanh(x)), rtol=2e-6)
        maximum = np.maximum(x, y)
        np.testing.assert_array_equal(out[1], maximum)
        expected = np.sqrt(maximum) + np.floor(x / y)
    np.testing.assert_allclose(out[2], expected, rtol=1e-6)


INTEGER = """
func.func @main(%x: memref<32xi32>, %y: memref<32xi32>, %w: memref<32xi64>,
    %out: memref<6x32xi32>, %wide: memref<2x32xi64>, %flags: memref<32xi1>,
    %floats: memref<2x32xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c5 = arith.constant 5 : index
  %n = arith.constant 32 : index
  %shift = arith.constant 3 : i32
  scf.for %i = %c0 to %n step %c1 {
    %a = memref.load %x[%i] : memref<32xi32>
    %b = memref.load %y[%i] : memref<32xi32>
    %l = memref.load %w[%i] : memref<32xi64>
    %div = arith.divsi %a, %b : i32
    %rem = arith.remsi %a, %b : i32
    %floor = arith.floordivsi %a, %b : i32
    %ceil = arith.ceildivsi %a, %b : i32
    %shr = arith.shrsi %a, %shift : i32
    %max = arith.maxsi %a, %b : i32
    memref.store %div, %out[%c0, %i] : memref<6x32xi32>
    memref.store %rem, %out[%c1, %i] : memref<6x32xi32>
    memref.store %floor, %out[%c2, %i] : memref<6x32xi32>
    memref.store %ceil, %out[%c3, %i] : memref<6x32xi32>
    memref.store %shr, %out[%c4, %i] : memref<6x32xi32>
    memref.store %max, %out[%c5, %i] : memref<6x32xi32>
    %ext = arith.extsi %a : i32 to i64
    %prod = arith.muli %ext, %l : i64
    %idx = arith.index_cast %i : index to i64
    %plus = arith.addi %prod, %idx : i64
    %u = arith.extui %b : i32 to i64
    memref.store %plus, %wide[%c0, %i] : memref<2x32xi64>
    memref.store %u, %wide[%c1, %i] : memref<2x32xi64>
    %lt = arith.cmpi slt, %a, %b : i32
    memref.store %lt, %flags[%i] : memref<32xi1>
    %fa = arith.sitofp %a : i32 to f32
    %fl = arith.uitofp %l : i64 to f32
    memref.store %fa, %floats[%c0, %i] : memref<2x32xf32>
    memref.store %fl, %floats[%c1, %i] : memref<2x32xf32>
  }
  func.return
}
"""


def test_integer_arithmetic_matches_numpy():
    x = RNG.integers(-1000, 1000, 32).astype(np.int32)
    y = RNG.integers(1, 50, 32).astype(np.int32) * RNG.choice([-1, 1], 32).astype(np.int32)
    w = RNG.integers(-(2**40), 2**40, 32).astype(np.int64)
    w[0] = -1  # 2**64 - 1 as unsigned
    out = np.zeros((6, 32), np.int32)
    wide = np.zeros((2, 32), np.int64)
    flags = np.zeros(32, np.bool_)
    floats = np.zeros((2, 32), np.float32)
    compile_loops(INTEGER).call("main", [x, y, w, out, wide, flags, floats])
    truncated = np.trunc(x / y).astype(np.int32)
    np.testing.assert_array_equal(out[0], truncated)
    np.testing.assert_array_equal(out[1], x - truncated * y)
    np.testing.assert_array_equal(out[2], np.floor_divide(x, y))
    np.testing.assert_array_equal(out[3], -np.floor_divide(-x, y))
    np.testing.assert_array_equal(out[4], x >> 3)
    np.testing.assert_array_equal(out[5], np.maximum(x, y))
    np.testing.assert_array_equal(wide[0], x.astype(np.int64) * w + np.arange(32))
    np.testing.assert_array_equal(wide[1], y.astype(np.uint32).astype(np.int64))
    np.testing.assert_array_equal(flags, x < y)
    np.testing.assert_array_equal(floats[0], x.astype(np.float32))
    np.testing.assert_array_equal(floats[1], w.view(np.uint64).astype(np.float32))


STAGE_3 = """
func.func @main(%a: memref<4x8xf64>, %o: memref<4x8xf64>, %o2: memref<32xf64>,
    %ws: memref<512xi8>) attributes {terrace.num_inputs = 1 : i64,
    terrace.num_outputs = 2 : i64, terrace.weights = [], terrace.workspace_bytes = 512 : i64} {
  %offset = arith.constant 256 : index
  %t = memref.view %ws[%offset][] : memref<512xi8> to memref<4x8xf64>
  %one = arith.constant 1.0 : f64
  linalg.fill ins(%one : f64) outs(%t : memref<4x8xf64>)
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>,
      affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>],
      iterator_types = ["parallel", "parallel"]}
      ins(%a : memref<4x8xf64>) outs(%t, %o : memref<4x8xf64>, memref<4x8xf64>) {
  ^bb0(%x: f64, %y: f64, %z: f64):
    %s = arith.addf %x, %y : f64
    %e = math.erf %s : f64
    linalg.yield %s, %e : f64, f64
  }
  %flat = memref.collapse_shape %t [[0, 1]] : memref<4x8xf64> into memref<32xf64>
  "memref.copy"(%flat, %o2) : (memref<32xf64>, memref<32xf64>) -> ()
  func.return
}
"""
STAGE_4 = "linalg-generalize-named-ops,convert-linalg-to-loops,lower-affine"


def test_workspace_view_collapse_copy_through_packed_entry():
    module = lower(STAGE_3, f"{STAGE_4},{LLVM_LOWERING_PIPELINE}")
    compiled = compile_llvm(module)
    a = RNG.standard_normal((4, 8))
    o = np.zeros((4, 8))
    o2 = np.zeros(32)
    workspace = np.zeros(512, np.uint8)
    buffers = [a, o, o2, workspace]
    packed = (ctypes.c_void_p * 4)(*[buffer.ctypes.data for buffer in buffers])
    compiled.function("terrace_main", 1)(ctypes.addressof(packed))
    erf = np.vectorize(math.erf)
    np.testing.assert_allclose(o, erf(a + 1), rtol=1e-15)
    np.testing.assert_array_equal(o2, (a + 1).ravel())
    np.testing.assert_array_equal(workspace[:256], 0)  # only the view's bytes are written


def test_strided_copy_of_a_subview():
    text = """
    func.func @main(%a: memref<4x8xi32>, %b: memref<2x3xi32>) {
      %s = memref.subview %a[1, 2][2, 3][1, 1]
          : memref<4x8xi32> to memref<2x3xi32, strided<[8, 1], offset: 10>>
      "memref.copy"(%s, %b)
          : (memref<2x3xi32, strided<[8, 1], offset: 10>>, memref<2x3xi32>) -> ()
      func.return
    }
    """
    a = np.arange(32, dtype=np.int32).reshape(4, 8)
    b = np.zeros((2, 3), np.int32)
    compile_loops(text).call("main", [a, b])
    np.testing.assert_array_equal(b, a[1:3, 2:5])


def test_packed_entry_rejects_a_wrong_argument_count():
    text = """
    func.func @main(%a: memref<4xf32>) attributes {terrace.num_inputs = 1 : i64,
        terrace.num_outputs = 1 : i64, terrace.weights = [], terrace.workspace_bytes = 0 : i64} {
      func.return
    }
    """
    with pytest.raises(Exception, match="promise 3"):
        lower(text)


def test_cpu_target_emits_ir_object_and_assembly():
    module = lower(STAGE_3, f"{STAGE_4},{LLVM_LOWERING_PIPELINE}")
    target = host_target()
    assert isinstance(target, LlvmTarget)
    text = llvm_ir(module, target)
    assert 'define void @"terrace_main"' in text or "define void @terrace_main" in text
    assert "fast" not in text  # no fast-math flags by default
    assert object_code(text, target)[:4] == b"\x7fELF" or target.triple.find("linux") < 0
    assert "terrace_main" in assembly(text, target)
    optimized = optimized_llvm_ir(text, target)
    assert "terrace_main" in optimized and f'target triple = "{target.triple}"' in optimized


IPOWI = """
func.func @main(%b: memref<16xi64>, %e: memref<16xi64>, %out: memref<16xi64>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = arith.constant 16 : index
  scf.for %i = %c0 to %n step %c1 {
    %x = memref.load %b[%i] : memref<16xi64>
    %y = memref.load %e[%i] : memref<16xi64>
    %p = math.ipowi %x, %y : i64
    memref.store %p, %out[%i] : memref<16xi64>
  }
  func.return
}
"""


def test_integer_power_wraps_and_truncates_negative_exponents():
    base = np.array([2, -3, 7, 0, 5, 1, -1, -1, 2, -2, 3, 10, 0, 1, 4, -5], np.int64)
    exponent = np.array([10, 5, 0, 0, 27, -4, -3, -2, -1, -1, 40, 19, 3, 63, 31, 1], np.int64)
    out = np.zeros(16, np.int64)
    compile_loops(IPOWI).call("main", [base, exponent, out])
    with np.errstate(over="ignore"):
        expected = [
            int(np.power(b, e)) if e >= 0 else int(1 / float(b) ** -e)
            for b, e in zip(base, exponent, strict=True)
        ]
    np.testing.assert_array_equal(out, expected)  # wrapping as numpy's integer power
