"""Differential tests of convert-scf-parallel-to-gomp: parallel loops compiled with the CPU
pipeline's tail (which runs the pass) and run on libgomp teams of 1, 2 and 3 threads, against
numpy; and a light model compiled for two threads, against onnxruntime, called from one and
from several Python threads; and the runtime setting the thread count on every call."""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import terrace
from terrace.runtime.abi import EntryAbi, TensorSpec
from terrace.runtime.jit import NativeCode
from terrace.runtime.model import CompiledModel
from terrace.targets import host_target

from llvm_exec import LLVM_LOWERING_PIPELINE, compile_loops, lower
from onnx_models import assert_close_to_reference, light_model, randomize_weights, run_onnxruntime

RNG = np.random.default_rng(0)

# the loops below are far too small to earn a parallel region by default (min-work): these
# tests check how a region splits its iterations, so every loop gets one
EVERY_LOOP_ON_THREADS = LLVM_LOWERING_PIPELINE.replace(
    "convert-scf-parallel-to-gomp", "convert-scf-parallel-to-gomp{min-work=0}"
)

# out[i] = the OpenMP thread that ran iteration i
THREAD_OF_ITERATION = """
llvm.func @omp_get_thread_num() -> i32
func.func @main(%out: memref<9xi32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c9 = arith.constant 9 : index
  "scf.parallel"(%c0, %c9, %c1) <{operandSegmentSizes = array<i32: 1, 1, 1, 0>}> ({
  ^bb0(%i: index):
    %thread = llvm.call @omp_get_thread_num() : () -> i32
    memref.store %thread, %out[%i] : memref<9xi32>
    scf.reduce
  }) : (index, index, index) -> ()
  func.return
}
"""

# out[i, j] = x[i, j] * scale + i - j over rows 1..6 and every other column from 2, the
# scale a captured f32 and the row bound a captured index
STRIDED_2D = """
func.func @main(%x: memref<7x11xf32>, %scale: memref<1xf32>, %rows: memref<1xi64>,
                %out: memref<7x11xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c11 = arith.constant 11 : index
  %factor = memref.load %scale[%c0] : memref<1xf32>
  %rows_i64 = memref.load %rows[%c0] : memref<1xi64>
  %row_bound = arith.index_cast %rows_i64 : i64 to index
  "scf.parallel"(%c1, %c2, %row_bound, %c11, %c1, %c2)
      <{operandSegmentSizes = array<i32: 2, 2, 2, 0>}> ({
  ^bb0(%i: index, %j: index):
    %a = memref.load %x[%i, %j] : memref<7x11xf32>
    %scaled = arith.mulf %a, %factor : f32
    %difference = arith.subi %i, %j : index
    %difference_i64 = arith.index_cast %difference : index to i64
    %difference_f32 = arith.sitofp %difference_i64 : i64 to f32
    %sum = arith.addf %scaled, %difference_f32 : f32
    memref.store %sum, %out[%i, %j] : memref<7x11xf32>
    scf.reduce
  }) : (index, index, index, index, index, index) -> ()
  func.return
}
"""

# out[t, i, j] = t + 10 i + 100 j: a parallel loop inside a sequential one, with a parallel
# loop nested in it (which runs sequentially inside each thread's share)
NESTED = """
func.func @main(%out: memref<3x5x4xi64>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c5 = arith.constant 5 : index
  %c10 = arith.constant 10 : index
  %c100 = arith.constant 100 : index
  scf.for %t = %c0 to %c3 step %c1 {
    "scf.parallel"(%c0, %c5, %c1) <{operandSegmentSizes = array<i32: 1, 1, 1, 0>}> ({
    ^bb0(%i: index):
      "scf.parallel"(%c0, %c4, %c1) <{operandSegmentSizes = array<i32: 1, 1, 1, 0>}> ({
      ^bb1(%j: index):
        %tens = arith.muli %i, %c10 : index
        %hundreds = arith.muli %j, %c100 : index
        %partial = arith.addi %tens, %hundreds : index
        %value = arith.addi %partial, %t : index
        %value_i64 = arith.index_cast %value : index to i64
        memref.store %value_i64, %out[%t, %i, %j] : memref<3x5x4xi64>
        scf.reduce
      }) : (index, index, index) -> ()
      scf.reduce
    }) : (index, index, index) -> ()
  }
  func.return
}
"""

# a parallel loop whose upper bound is below its lower bound runs no iteration
EMPTY = """
func.func @main(%out: memref<4xf32>, %upper: memref<1xi64>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %one = arith.constant 1.0 : f32
  %upper_i64 = memref.load %upper[%c0] : memref<1xi64>
  %bound = arith.index_cast %upper_i64 : i64 to index
  "scf.parallel"(%c3, %bound, %c1) <{operandSegmentSizes = array<i32: 1, 1, 1, 0>}> ({
  ^bb0(%i: index):
    memref.store %one, %out[%i] : memref<4xf32>
    scf.reduce
  }) : (index, index, index) -> ()
  func.return
}
"""


def _on_threads(count: int, run: Callable[[], None]) -> None:
    """Runs `run` on a fresh Python thread whose OpenMP thread count is `count` (the count is
    per calling thread, so the test's own thread keeps its default)."""
    library = ctypes.util.find_library("gomp")
    assert library is not None
    openmp = ctypes.CDLL(library)
    finished: list[bool] = []

    def body() -> None:
        openmp.omp_set_num_threads(ctypes.c_int(count))
        run()
        finished.append(True)

    thread = threading.Thread(target=body)
    thread.start()
    thread.join()
    assert finished, "the call raised on its thread"


@pytest.mark.parametrize(("threads", "expected"), [(1, [0] * 9), (2, [0] * 5 + [1] * 4)])
def test_each_thread_takes_a_contiguous_share(threads: int, expected: list[int]):
    compiled = compile_loops(THREAD_OF_ITERATION, EVERY_LOOP_ON_THREADS)
    out = np.full(9, -1, np.int32)
    _on_threads(threads, lambda: compiled.call("main", [out]))
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_strided_2d_loop_matches_numpy(threads: int):
    compiled = compile_loops(STRIDED_2D, EVERY_LOOP_ON_THREADS)
    x = RNG.standard_normal((7, 11)).astype(np.float32)
    scale = np.array([1.5], np.float32)
    out = np.zeros((7, 11), np.float32)
    rows = np.array([6], np.int64)
    _on_threads(threads, lambda: compiled.call("main", [x, scale, rows, out]))
    expected = np.zeros((7, 11), np.float32)
    i, j = np.meshgrid(np.arange(1, 6), np.arange(2, 11, 2), indexing="ij")
    expected[i, j] = x[i, j] * scale[0] + (i - j).astype(np.float32)
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("threads", [1, 2])
def test_nested_parallel_loops_in_a_sequential_loop(threads: int):
    compiled = compile_loops(NESTED, EVERY_LOOP_ON_THREADS)
    out = np.zeros((3, 5, 4), np.int64)
    _on_threads(threads, lambda: compiled.call("main", [out]))
    t, i, j = np.meshgrid(np.arange(3), np.arange(5), np.arange(4), indexing="ij")
    np.testing.assert_array_equal(out, t + 10 * i + 100 * j)


@pytest.mark.parametrize("upper", [1, 3])
def test_empty_iteration_space_runs_nothing(upper: int):
    compiled = compile_loops(EMPTY, EVERY_LOOP_ON_THREADS)
    out = np.zeros(4, np.float32)
    _on_threads(2, lambda: compiled.call("main", [out, np.array([upper], np.int64)]))
    np.testing.assert_array_equal(out, np.zeros(4, np.float32))


def test_only_the_outermost_loop_becomes_a_parallel_region():
    printed = str(lower(NESTED, EVERY_LOOP_ON_THREADS))
    assert printed.count("llvm.call @GOMP_parallel") == 1
    assert "scf." not in printed


# out[i] = the thread that ran row i of a 16 x `columns` loop nest: 16 rows of `columns`
# iterations of a few ops each, so the work grows with `columns`
THREAD_OF_ROW = """
llvm.func @omp_get_thread_num() -> i32
func.func @main(%out: memref<16xi32>, %scratch: memref<16x2048xf32>) {{
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %columns = arith.constant {columns} : index
  %one = arith.constant 1.0 : f32
  "scf.parallel"(%c0, %c16, %c1) <{{operandSegmentSizes = array<i32: 1, 1, 1, 0>}}> ({{
  ^bb0(%i: index):
    %thread = llvm.call @omp_get_thread_num() : () -> i32
    memref.store %thread, %out[%i] : memref<16xi32>
    scf.for %j = %c0 to %columns step %c1 {{
      memref.store %one, %scratch[%i, %j] : memref<16x2048xf32>
    }}
    scf.reduce
  }}) : (index, index, index) -> ()
  func.return
}}
"""


@pytest.mark.parametrize(("columns", "threads_used"), [(4, {0}), (2048, {0, 1})])
def test_a_loop_below_min_work_runs_on_the_calling_thread(columns: int, threads_used: set[int]):
    """16 x 4 stores are far below the default min-work (the whole nest runs on thread 0 of
    a 2-thread team); 16 x 2048 are above it (both threads take rows)."""
    compiled = compile_loops(THREAD_OF_ROW.format(columns=columns))
    out = np.full(16, -1, np.int32)
    scratch = np.zeros((16, 2048), np.float32)
    _on_threads(2, lambda: compiled.call("main", [out, scratch]))
    assert set(out.tolist()) == threads_used
    np.testing.assert_array_equal(scratch[:, :columns], 1.0)


def test_a_dynamic_trip_count_counts_as_enough_work():
    printed = str(lower(EMPTY))
    assert printed.count("llvm.call @GOMP_parallel") == 1


# a light model compiled for two threads


@pytest.fixture(scope="module")
def squeezenet() -> tuple[CompiledModel, list[np.ndarray], list[list[np.ndarray]]]:
    model = randomize_weights(light_model("light_squeezenet"), seed=5)
    compiled = terrace.compile(model, num_threads=2, cache=False)
    (spec,) = compiled.inputs
    rng = np.random.default_rng(6)
    inputs = [rng.uniform(-1, 1, spec.shape).astype(spec.dtype) for _ in range(3)]
    expected = [run_onnxruntime(model, {spec.name: x}) for x in inputs]
    return compiled, inputs, expected


def test_light_model_on_two_threads_matches_onnxruntime(
    squeezenet: tuple[CompiledModel, list[np.ndarray], list[list[np.ndarray]]],
):
    compiled, inputs, expected = squeezenet
    for actual, reference in zip(compiled(inputs[0]), expected[0], strict=True):
        assert_close_to_reference(actual, reference)


def test_python_threads_share_a_two_thread_model(
    squeezenet: tuple[CompiledModel, list[np.ndarray], list[list[np.ndarray]]],
):
    compiled, inputs, expected = squeezenet
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda x: compiled(x)[0], inputs * 4))
    for index, result in enumerate(results):
        assert_close_to_reference(result, expected[index % len(inputs)][0])


# the runtime: the OpenMP thread count a model was compiled for holds on every call

# writes the calling thread's OpenMP thread count (the ICV a parallel region would use) to
# its int32 output
THREAD_COUNT_IR = """
define void @terrace_main(ptr %packed) {
  %slot = getelementptr ptr, ptr %packed, i64 1
  %out = load ptr, ptr %slot
  %threads = call i32 @omp_get_max_threads()
  store i32 %threads, ptr %out
  ret void
}
declare i32 @omp_get_max_threads()
"""

THREAD_COUNT_ABI = EntryAbi(
    inputs=(TensorSpec("x", np.dtype(np.float32), (1,)),),
    outputs=(TensorSpec("threads", np.dtype(np.int32), (1,)),),
    weights=(),
    workspace_bytes=0,
)


def test_models_with_different_thread_counts_share_a_python_thread():
    target = host_target()
    native = NativeCode.load(target.object_code(THREAD_COUNT_IR), target.jit_machine())
    one = CompiledModel(native, THREAD_COUNT_ABI, {}, num_threads=1)
    three = CompiledModel(native, THREAD_COUNT_ABI, {}, num_threads=3)
    x = np.zeros(1, np.float32)
    counts = [int(model(x)[0][0]) for model in (one, three, one, three)]
    assert counts == [1, 3, 1, 3]
