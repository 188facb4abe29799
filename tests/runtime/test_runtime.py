"""The runtime against hand-written LLVM modules with the stage-5 entry ABI (docs/pipeline.md):
`terrace_main(ptr packed)` loads input, output, weight and workspace pointers from `packed`.

The oracle is numpy. Input checks are tested on a module whose entry traps: had any bad input
reached native code, the test process would die.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from terrace.errors import InputError, TerraceRuntimeError
from terrace.runtime.abi import EntryAbi, TensorSpec
from terrace.runtime.cache import Artifact, ArtifactCache, cache_key, default_cache_dir
from terrace.runtime.jit import NativeCode
from terrace.runtime.model import CompiledModel
from terrace.targets import host_target

SIZE = 1000
F32 = np.dtype(np.float32)
HOST = host_target()

# y = relu(x) + w, elementwise over SIZE floats; relu(x) goes through the workspace so that
# two calls sharing a workspace would corrupt each other's results.
RELU_ADD_IR = f"""
define void @terrace_main(ptr %packed) {{
entry:
  %x = load ptr, ptr %packed
  %p1 = getelementptr ptr, ptr %packed, i64 1
  %y = load ptr, ptr %p1
  %p2 = getelementptr ptr, ptr %packed, i64 2
  %w = load ptr, ptr %p2
  %p3 = getelementptr ptr, ptr %packed, i64 3
  %ws = load ptr, ptr %p3
  br label %relu
relu:
  %i = phi i64 [0, %entry], [%i.next, %relu]
  %xi = getelementptr float, ptr %x, i64 %i
  %xv = load float, ptr %xi
  %r = call float @llvm.maxnum.f32(float %xv, float 0.0)
  %wsi = getelementptr float, ptr %ws, i64 %i
  store volatile float %r, ptr %wsi
  %i.next = add i64 %i, 1
  %relu.done = icmp eq i64 %i.next, {SIZE}
  br i1 %relu.done, label %add, label %relu
add:
  %j = phi i64 [0, %relu], [%j.next, %add]
  %wsj = getelementptr float, ptr %ws, i64 %j
  %rv = load volatile float, ptr %wsj
  %wj = getelementptr float, ptr %w, i64 %j
  %wv = load float, ptr %wj
  %s = fadd float %rv, %wv
  %yj = getelementptr float, ptr %y, i64 %j
  store float %s, ptr %yj
  %j.next = add i64 %j, 1
  %add.done = icmp eq i64 %j.next, {SIZE}
  br i1 %add.done, label %exit, label %add
exit:
  ret void
}}
declare float @llvm.maxnum.f32(float, float)
"""

TRAP_IR = """
define void @terrace_main(ptr %packed) {
  call void @llvm.trap()
  unreachable
}
declare void @llvm.trap()
"""

RELU_ADD_ABI = EntryAbi(
    inputs=(TensorSpec("x", F32, (SIZE,)),),
    outputs=(TensorSpec("y", F32, (SIZE,)),),
    weights=("w",),
    workspace_bytes=4 * SIZE,
)


def _address_probe_ir() -> str:
    """Writes the pointers it was given (input, output, weight, workspace) to its i64[4]
    output."""
    loads = "\n".join(
        f"  %p{i} = getelementptr ptr, ptr %packed, i64 {i}\n"
        f"  %a{i} = load ptr, ptr %p{i}\n"
        f"  %v{i} = ptrtoint ptr %a{i} to i64"
        for i in range(4)
    )
    stores = "\n".join(
        f"  %o{i} = getelementptr i64, ptr %a1, i64 {i}\n  store i64 %v{i}, ptr %o{i}"
        for i in range(4)
    )
    return f"define void @terrace_main(ptr %packed) {{\n{loads}\n{stores}\n  ret void\n}}\n"


def _load(llvm_ir: str) -> NativeCode:
    return NativeCode.load(HOST.object_code(llvm_ir), HOST.jit_machine())


@pytest.fixture(scope="module")
def relu_add_object() -> bytes:
    return HOST.object_code(RELU_ADD_IR)


@pytest.fixture(scope="module")
def relu_add(relu_add_object: bytes) -> tuple[CompiledModel, np.ndarray]:
    weight = np.random.default_rng(1).standard_normal(SIZE).astype(np.float32)
    native = NativeCode.load(relu_add_object, HOST.jit_machine())
    return CompiledModel(native, RELU_ADD_ABI, {"w": weight}), weight


@pytest.fixture(scope="module")
def trapping() -> CompiledModel:
    abi = EntryAbi(
        inputs=(TensorSpec("a", F32, (2, 3)), TensorSpec("b", np.dtype(np.int64), (4,))),
        outputs=(TensorSpec("c", F32, (2, 3)),),
        weights=(),
        workspace_bytes=0,
    )
    return CompiledModel(_load(TRAP_IR), abi, {})


def test_call_and_run_match_numpy(relu_add: tuple[CompiledModel, np.ndarray]):
    model, weight = relu_add
    x = np.random.default_rng(2).standard_normal(SIZE).astype(np.float32)
    expected = np.maximum(x, 0) + weight
    (y,) = model(x)
    np.testing.assert_array_equal(y, expected)
    (y_by_name,) = model.run({"x": x})
    np.testing.assert_array_equal(y_by_name, expected)
    assert y.dtype == np.float32 and y.shape == (SIZE,)


def test_non_contiguous_input_is_accepted(relu_add: tuple[CompiledModel, np.ndarray]):
    model, weight = relu_add
    wide = np.random.default_rng(3).standard_normal(2 * SIZE).astype(np.float32)
    x = wide[::2]
    assert not x.flags.c_contiguous
    (y,) = model(x)
    np.testing.assert_array_equal(y, np.maximum(x, 0) + weight)


def test_eight_threads_share_one_model(relu_add: tuple[CompiledModel, np.ndarray]):
    model, weight = relu_add
    rng = np.random.default_rng(4)
    inputs = [rng.standard_normal(SIZE).astype(np.float32) for _ in range(8)]
    barrier = threading.Barrier(8)
    wrong: list[int] = []

    def work(index: int) -> None:
        x = inputs[index]
        expected = np.maximum(x, 0) + weight
        barrier.wait()
        for _ in range(300):
            (y,) = model(x)
            if not np.array_equal(y, expected):
                wrong.append(index)
                return

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []


def test_buffers_weights_bound_in_place_workspace_aligned():
    abi = EntryAbi(
        inputs=(TensorSpec("x", F32, (3,)),),
        outputs=(TensorSpec("addresses", np.dtype(np.int64), (4,)),),
        weights=("w",),
        workspace_bytes=100,
    )
    weight = np.arange(5, dtype=np.float32)
    native = _load(_address_probe_ir())
    model = CompiledModel(native, abi, {"w": weight})
    x = np.zeros(3, np.float32)
    for _ in range(3):
        (addresses,) = model(x)
        given_x, output, given_w, workspace = (int(a) for a in addresses)
        assert given_x == x.ctypes.data  # a contiguous input is passed as it is
        assert output == addresses.ctypes.data
        assert given_w == weight.ctypes.data  # the store's own array: no copy
        assert workspace % 64 == 0
        assert output % 64 == 0


def test_wrong_input_count(trapping: CompiledModel):
    a = np.zeros((2, 3), np.float32)
    with pytest.raises(InputError, match=r"expected 2 inputs \(a, b\), given 1"):
        trapping(a)


@pytest.mark.parametrize(
    ("feeds", "message"),
    [
        ({"a": 0, "b": 0, "c": 0}, "unknown input 'c'; the model's inputs are a, b"),
        ({"a": 0}, "missing input 'b'"),
    ],
)
def test_wrong_input_names(trapping: CompiledModel, feeds: dict[str, int], message: str):
    arrays = {name: np.zeros((2, 3), np.float32) for name in feeds}
    with pytest.raises(InputError, match=message):
        trapping.run(arrays)


@pytest.mark.parametrize(
    ("a", "message"),
    [
        (
            np.zeros((3, 2), np.float32),
            r"input 'a': expected float32\[2, 3\], given float32\[3, 2\]",
        ),
        (
            np.zeros((2, 3), np.float64),
            r"input 'a': expected float32\[2, 3\], given float64\[2, 3\]",
        ),
        (np.zeros((6,), np.float32), r"input 'a': expected float32\[2, 3\], given float32\[6\]"),
        ([[0.0] * 3] * 2, r"input 'a': expected a numpy array float32\[2, 3\], given list"),
    ],
)
def test_wrong_input_shape_or_dtype(trapping: CompiledModel, a: object, message: str):
    b = np.zeros(4, np.int64)
    with pytest.raises(InputError, match=message):
        trapping(a, b)  # pyright: ignore[reportArgumentType]
    with pytest.raises(InputError, match=message):
        trapping.run({"a": a, "b": b})  # pyright: ignore[reportArgumentType]


def test_second_input_checked_too(trapping: CompiledModel):
    a = np.zeros((2, 3), np.float32)
    with pytest.raises(InputError, match=r"input 'b': expected int64\[4\], given int32\[4\]"):
        trapping(a, np.zeros(4, np.int32))


def test_missing_weight_and_bad_thread_count(relu_add_object: bytes):
    native = NativeCode.load(relu_add_object, HOST.jit_machine())
    with pytest.raises(TerraceRuntimeError, match="weights missing from the store: w"):
        CompiledModel(native, RELU_ADD_ABI, {})
    with pytest.raises(TerraceRuntimeError, match="num_threads must be at least 1"):
        CompiledModel(native, RELU_ADD_ABI, {"w": np.zeros(SIZE, np.float32)}, num_threads=0)


def test_invalid_ir_and_missing_entry():
    with pytest.raises(Exception, match="invalid LLVM IR"):
        HOST.object_code("define void @f( {")
    native = _load("define void @other() {\n  ret void\n}\n")
    with pytest.raises(TerraceRuntimeError, match="defines no function 'terrace_main'"):
        native.address()


def test_cache_round_trip_runs_from_disk(tmp_path: Path, relu_add_object: bytes):
    weight = np.random.default_rng(5).standard_normal(SIZE).astype(np.float32)
    cache = ArtifactCache(tmp_path)
    key = cache_key(HOST.fingerprint(), "relu-add model", b"\x00")
    assert cache.get(key) is None
    artifact = Artifact(relu_add_object, RELU_ADD_ABI, {"w": weight}, RELU_ADD_IR, {"x": 1.0})
    cache.put(key, artifact)
    stored = cache.get(key)
    assert stored is not None
    assert stored.abi == RELU_ADD_ABI
    assert stored.llvm_ir == RELU_ADD_IR
    assert stored.stage_seconds == {"x": 1.0}
    np.testing.assert_array_equal(stored.weights["w"], weight)
    model = CompiledModel(
        NativeCode.load(stored.object_code, HOST.jit_machine()), stored.abi, stored.weights
    )
    x = np.random.default_rng(6).standard_normal(SIZE).astype(np.float32)
    np.testing.assert_array_equal(model(x)[0], np.maximum(x, 0) + weight)


def test_cache_damaged_entry_is_a_miss(tmp_path: Path, relu_add_object: bytes):
    cache = ArtifactCache(tmp_path)
    key = cache_key(HOST.fingerprint(), "damaged")
    weight = np.zeros(SIZE, np.float32)
    cache.put(key, Artifact(relu_add_object, RELU_ADD_ABI, {"w": weight}))
    (tmp_path / key / "abi.json").write_text("{ not json")
    assert cache.get(key) is None


def test_cache_key_depends_on_every_part():
    keys = {
        cache_key(HOST.fingerprint(), "a", "b"),
        cache_key(HOST.fingerprint(), "ab"),
        cache_key(HOST.fingerprint(), "a", "c"),
        cache_key(HOST.fingerprint(), b"a", "b"),
    }
    assert len(keys) == 3  # str and bytes of the same text are the same part
    assert cache_key(HOST.fingerprint(), "a", "b") == cache_key(HOST.fingerprint(), "a", "b")
    other_cpu = replace(HOST, cpu=f"not-{HOST.cpu}")
    assert cache_key(other_cpu.fingerprint(), "a", "b") != cache_key(HOST.fingerprint(), "a", "b")


def test_cache_folder_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("TERRACE_CACHE_DIR", str(tmp_path / "here"))
    assert default_cache_dir() == tmp_path / "here"
    assert ArtifactCache().directory == tmp_path / "here"
    monkeypatch.delenv("TERRACE_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "terrace"
    assert os.fspath(default_cache_dir()).endswith("terrace")


SPIN_IR = """
define void @terrace_main(ptr %packed) {
entry:
  %counter = alloca i64
  br label %loop
loop:
  %i = phi i64 [0, %entry], [%next, %loop]
  store volatile i64 %i, ptr %counter
  %next = add i64 %i, 1
  %done = icmp eq i64 %next, 500000000
  br i1 %done, label %exit, label %loop
exit:
  ret void
}
"""


def test_native_call_releases_the_gil():
    abi = EntryAbi(inputs=(), outputs=(), weights=(), workspace_bytes=0)
    model = CompiledModel(_load(SPIN_IR), abi, {})
    call_seconds = [0.0]

    def call() -> None:
        started = time.perf_counter()
        model()
        call_seconds[0] = time.perf_counter() - started

    caller = threading.Thread(target=call)
    longest_pause = 0.0
    last = time.perf_counter()
    caller.start()
    # This loop keeps running during the native spin only if the call released the GIL;
    # otherwise it stalls for the whole call.
    while caller.is_alive():
        now = time.perf_counter()
        longest_pause = max(longest_pause, now - last)
        last = now
    caller.join()
    assert call_seconds[0] > 0.05
    assert longest_pause < call_seconds[0] / 2
