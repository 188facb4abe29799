"""The thread count and libgomp, seen by the runtime: `num_threads=None` means every usable
core (never the count a previous model left on the calling thread, where OpenMP keeps it), and
code with parallel loops is refused, with the fix named, on a machine without libgomp.

The thread count a call ran with is read back with libgomp's `omp_get_max_threads` on the same
thread, after the call: the OpenMP ICV the call set.
"""

from __future__ import annotations

import ctypes

import numpy as np
import pytest

from terrace.errors import TerraceRuntimeError
from terrace.runtime import jit, model
from terrace.runtime.abi import EntryAbi
from terrace.runtime.jit import NativeCode, uses_libgomp
from terrace.runtime.model import CompiledModel, usable_cores
from terrace.targets import host_target

HOST = host_target()
NO_BUFFERS = EntryAbi(inputs=(), outputs=(), weights=(), workspace_bytes=0)

EMPTY_IR = """
define void @terrace_main(ptr %packed) {
  ret void
}
"""

# The shape of what convert-scf-parallel-to-gomp emits: one call of GOMP_parallel on a body
# that asks libgomp for its thread number.
PARALLEL_IR = """
declare void @GOMP_parallel(ptr, ptr, i32, i32)
declare i32 @omp_get_thread_num()
define internal void @body(ptr %data) {
  %n = call i32 @omp_get_thread_num()
  ret void
}
define void @terrace_main(ptr %packed) {
  call void @GOMP_parallel(ptr @body, ptr null, i32 0, i32 0)
  ret void
}
"""


def _libgomp() -> ctypes.CDLL:
    library = jit.find_libgomp()
    assert library is not None, "these tests need libgomp (libgomp1), which Terrace runs on"
    return ctypes.CDLL(library)


def _model(llvm_ir: str, num_threads: int | None) -> CompiledModel:
    native = NativeCode.load(HOST.object_code(llvm_ir), HOST.jit_machine())
    return CompiledModel(native, NO_BUFFERS, {}, num_threads=num_threads)


def test_none_means_every_usable_core_not_the_previous_models_count(
    monkeypatch: pytest.MonkeyPatch,
):
    # Three usable cores whatever this machine has, so that 1 (the first model's count) and
    # "all cores" differ even on a one-core machine.
    monkeypatch.setattr(model.os, "sched_getaffinity", lambda pid: {0, 1, 2})
    openmp = _libgomp()
    one_thread = _model(EMPTY_IR, num_threads=1)
    all_cores = _model(EMPTY_IR, num_threads=None)
    one_thread()
    assert openmp.omp_get_max_threads() == 1
    all_cores()
    assert openmp.omp_get_max_threads() == 3
    one_thread()
    assert openmp.omp_get_max_threads() == 1


def test_usable_cores_is_the_affinity_mask(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(model.os, "sched_getaffinity", lambda pid: {4, 7})
    assert usable_cores() == 2

    def unsupported(pid: int) -> set[int]:
        raise OSError("no affinity here")

    monkeypatch.setattr(model.os, "sched_getaffinity", unsupported)
    monkeypatch.setattr(model.os, "cpu_count", lambda: 5)
    assert usable_cores() == 5


def test_parallel_code_runs_with_libgomp():
    code = HOST.object_code(PARALLEL_IR)
    assert uses_libgomp(code)
    assert not uses_libgomp(HOST.object_code(EMPTY_IR))
    parallel = _model(PARALLEL_IR, num_threads=2)
    assert parallel() == []


def test_parallel_code_without_libgomp_is_a_clear_error(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(jit, "find_libgomp", lambda: None)
    code = HOST.object_code(PARALLEL_IR)
    with pytest.raises(TerraceRuntimeError, match="libgomp.*apt install libgomp1"):
        NativeCode.load(code, HOST.jit_machine())
    # serial code needs no libgomp and still loads and runs
    assert _model(EMPTY_IR, num_threads=None)() == []


def test_compiled_model_without_libgomp_fails_at_compile_time(monkeypatch: pytest.MonkeyPatch):
    """Through `terrace.compile`: a model large enough for parallel loops."""
    import onnx
    from onnx import TensorProto, helper

    import terrace

    shape = [64, 256, 256]
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"], name="relu")],
        "relu",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)],
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(proto)
    compiled = terrace.compile(proto, cache=False)
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    np.testing.assert_array_equal(compiled(x)[0], np.maximum(x, 0))
    monkeypatch.setattr(jit, "find_libgomp", lambda: None)
    with pytest.raises(TerraceRuntimeError, match="libgomp"):
        terrace.compile(proto, cache=False)
