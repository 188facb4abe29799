"""Kernel-wise code generation (targets/llvm/kernels.py): kernels compiled apart and linked
compute what the model computes, and the kernel cache serves a kernel again only when its
text and target match, skipping a damaged entry with a warning."""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import shutil
import time
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from xdsl.dialects.builtin import ModuleOp

import terrace
from terrace import compiler
from terrace.compiler import StageTimer
from terrace.dialects.context import terrace_context
from terrace.errors import CompilationError
from terrace.runtime.cache import KernelCache
from terrace.targets import host_target
from terrace.targets.llvm import LlvmTarget
from terrace.targets.llvm import kernels as kernels_module
from terrace.targets.llvm.codegen import optimize_llvm_ir
from terrace.targets.llvm.kernels import (
    Kernel,
    compile_kernels,
    kernel_key,
    link_object,
    optimized_kernels,
    split_kernels,
)


def _model(channels: int) -> onnx.ModelProto:
    """Conv -> Relu -> Add(x) -> Relu: a few kernels, some repeated by shape."""
    rng = np.random.default_rng(channels)
    weight = rng.uniform(-0.5, 0.5, (channels, channels, 3, 3)).astype(np.float32)
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("Add", ["r", "x"], ["s"]),
        helper.make_node("Relu", ["s"], ["y"]),
    ]
    shape = [1, channels, 8, 8]
    graph = helper.make_graph(
        nodes,
        "kernels",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)],
        [numpy_helper.from_array(weight, "w")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])


def _reference(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    weight = numpy_helper.to_array(model.graph.initializer[0])
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    conv = np.zeros_like(x)
    for dy in range(3):
        for dx in range(3):
            window = padded[:, :, dy : dy + 8, dx : dx + 8]
            conv += np.einsum("oi,nihw->nohw", weight[:, :, dy, dx], window)
    return np.maximum(np.maximum(conv, 0) + x, 0)


def _kernels(model: onnx.ModelProto, target: LlvmTarget) -> tuple[compiler.Lowered, list[Kernel]]:
    lowered = compiler._lower(model, target, "memrefs", StageTimer())  # pyright: ignore[reportPrivateUsage]
    return lowered, split_kernels(lowered.module)


def _optimize(kernels: list[Kernel], target: LlvmTarget, cache: KernelCache) -> tuple[int, int]:
    """(misses, kernels lowered) of one `optimized_kernels` call."""
    later = target.pipeline().after("memrefs").passes()
    lowered_count = 0

    def lower(module: ModuleOp) -> None:
        nonlocal lowered_count
        lowered_count += 1
        context = terrace_context()
        for module_pass in later:
            module_pass.apply(context, module)

    _, misses = optimized_kernels(kernels, target, lower, cache)
    return misses, lowered_count


def _host() -> LlvmTarget:
    target = host_target()
    assert isinstance(target, LlvmTarget)
    return target


def test_split_leaves_declarations_and_main_calls_them():
    _, kernels = _kernels(_model(4), _host())
    assert len(kernels) >= 3
    lowered, _ = _kernels(_model(4), _host())
    declared = [
        op.sym_name.data
        for op in lowered.module.ops
        if getattr(op, "is_declaration", False) and hasattr(op, "sym_name")
    ]
    assert sorted(declared) == sorted(k.name for k in kernels)


def test_second_model_takes_every_kernel_from_the_cache(tmp_path: Path):
    target = _host()
    cache = KernelCache(tmp_path)
    _, kernels = _kernels(_model(4), target)
    misses, lowered = _optimize(kernels, target, cache)
    assert misses == lowered == len(kernels)
    assert len(list(cache.directory.glob("*.bc"))) == len(kernels)
    _, again = _kernels(_model(4), target)
    assert _optimize(again, target, cache) == (0, 0)


def test_changed_kernel_or_target_misses(tmp_path: Path):
    target = _host()
    cache = KernelCache(tmp_path)
    _, kernels = _kernels(_model(4), target)
    _optimize(kernels, target, cache)
    _, wider = _kernels(_model(8), target)  # every kernel's shapes change
    misses, _ = _optimize(wider, target, cache)
    assert misses == len(wider)
    other_cpu = dataclasses.replace(target, cpu="x86-64-v2")
    _, same = _kernels(_model(4), target)
    assert all(kernel_key(k, other_cpu) != kernel_key(k, target) for k in same)


def test_damaged_entry_is_skipped_with_a_warning_and_compiled_again(tmp_path: Path):
    target = _host()
    cache = KernelCache(tmp_path)
    _, kernels = _kernels(_model(4), target)
    _optimize(kernels, target, cache)
    for entry in cache.directory.glob("*.bc"):
        entry.write_bytes(b"BC\xc0\xde not bitcode")
    _, again = _kernels(_model(4), target)
    with pytest.warns(UserWarning, match="damaged kernel entry"):
        misses, _ = _optimize(again, target, cache)
    assert misses == len(again)


def test_linked_kernels_compute_the_model(tmp_path: Path):
    model = _model(4)
    x = np.random.default_rng(1).uniform(-1, 1, (1, 4, 8, 8)).astype(np.float32)
    expected = _reference(model, x)
    first = terrace.compile(model, cache=tmp_path)
    np.testing.assert_allclose(first(x)[0], expected, rtol=1e-5, atol=1e-5)
    # the model's entry gone, its kernels kept: the second compile links cached kernels
    for entry in tmp_path.iterdir():
        if entry.name != "kernels":
            shutil.rmtree(entry)
    second = terrace.compile(model, cache=tmp_path)
    assert not second.stats.from_cache
    np.testing.assert_allclose(second(x)[0], expected, rtol=1e-5, atol=1e-5)


def test_link_object_defines_kernels_internal(tmp_path: Path):
    target = _host()
    lowered, kernels = _kernels(_model(4), target)
    names = [k.name for k in kernels]
    cache = KernelCache(tmp_path)
    later = target.pipeline().after("memrefs").staged_passes()
    context = terrace_context()

    def lower(module: ModuleOp) -> None:
        for _, module_pass in later:
            module_pass.apply(context, module)

    modules, _ = optimized_kernels(kernels, target, lower, cache)
    lower(lowered.module)
    main = optimize_llvm_ir(target.translate(lowered.module), target)
    _, text = link_object(main, modules, target)
    for name in names:
        assert f"define internal void @{name}(" in text


def _lowering(target: LlvmTarget, fail_on: object = None):
    later = target.pipeline().after("memrefs").passes()
    context = terrace_context()

    def lower(module: ModuleOp) -> None:
        if any(op is fail_on for op in module.ops):
            raise CompilationError("pass 'x' failed")
        for module_pass in later:
            module_pass.apply(context, module)

    return lower


def test_forked_jobs_give_the_same_code_as_one(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(kernels_module, "MIN_KERNELS_PER_JOB", 1)
    target = _host()
    _, alone = _kernels(_model(4), target)
    _, forked = _kernels(_model(4), target)
    one = compile_kernels(alone, target, _lowering(target), jobs=1)
    two = compile_kernels(forked, target, _lowering(target), jobs=2)
    assert len(one) == len(alone) >= 2
    assert two == one


def test_an_error_in_a_forked_job_is_raised(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(kernels_module, "MIN_KERNELS_PER_JOB", 1)
    target = _host()
    _, kernels = _kernels(_model(4), target)
    # only the second kernel fails, in whichever process takes it
    with pytest.raises(CompilationError, match="pass 'x' failed"):
        compile_kernels(kernels, target, _lowering(target, kernels[1].function), jobs=2)


def test_an_error_in_a_forked_child_is_raised(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(kernels_module, "MIN_KERNELS_PER_JOB", 1)
    target = _host()
    _, kernels = _kernels(_model(4), target)
    parent = os.getpid()
    lower = _lowering(target)

    def lower_in_parent_only(module: ModuleOp) -> None:
        if os.getpid() != parent:
            raise CompilationError("pass 'y' failed in a child")
        lower(module)

    def slow_main() -> None:  # the child takes kernels while this process is busy
        time.sleep(0.5)

    with pytest.raises(CompilationError, match="pass 'y' failed in a child"):
        compile_kernels(kernels, target, lower_in_parent_only, 2, alongside=slow_main)


def test_alongside_runs_here_and_children_take_the_rest(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(kernels_module, "MIN_KERNELS_PER_JOB", 1)
    target = _host()
    _, forked = _kernels(_model(4), target)
    parent = os.getpid()
    ran: list[int] = []
    lower = _lowering(target)

    def lower_counted(module: ModuleOp) -> None:
        if os.getpid() == parent:
            ran.append(1)
        lower(module)

    def slow_main() -> None:
        ran.append(0)
        time.sleep(0.5)

    codes = compile_kernels(forked, target, lower_counted, 2, slow_main, [1] * len(forked))
    assert len(codes) == len(forked)
    assert all(code.startswith(b"BC\xc0\xde") for code in codes)  # LLVM bitcode
    # alongside ran here first; the child took kernels meanwhile, so this process did fewer
    assert ran[0] == 0
    assert ran.count(1) < len(forked)


def test_a_daemonic_process_compiles_its_kernels_itself(monkeypatch: pytest.MonkeyPatch):
    # conformance workers are daemonic, and multiprocessing forbids them children
    monkeypatch.setattr(kernels_module, "MIN_KERNELS_PER_JOB", 1)
    monkeypatch.setattr(multiprocessing.current_process(), "daemon", True)
    target = _host()
    _, kernels = _kernels(_model(4), target)
    assert len(compile_kernels(kernels, target, _lowering(target), jobs=2)) == len(kernels)


def test_a_failed_translation_of_ir_that_does_not_verify_names_the_verifier():
    from xdsl.dialects import arith, llvm
    from xdsl.dialects.builtin import IntegerAttr, i32

    from terrace.targets.llvm.kernels import verified_translation

    constant = arith.ConstantOp(IntegerAttr(1, i32))
    invalid = ModuleOp([constant, llvm.ZExtOp(constant.result, i32)])  # i32 to i32
    with (
        pytest.raises(CompilationError, match="IR after the llvm stage does not verify"),
        verified_translation(invalid),
    ):
        raise RuntimeError("translation failed")
    # IR that verifies: the translation's own error
    with (
        pytest.raises(RuntimeError, match="translation failed"),
        verified_translation(ModuleOp([])),
    ):
        raise RuntimeError("translation failed")


def test_a_kernel_left_unverified_by_its_stages_is_verified_when_it_fails_to_translate(
    monkeypatch: pytest.MonkeyPatch,
):
    """Without TERRACE_VERIFY_EACH_PASS the llvm stage's IR is verified only by LLVM: a kernel
    whose last pass leaves IR that does not verify still fails with the verifier's words."""
    from xdsl.dialects import arith, llvm
    from xdsl.dialects.builtin import IntegerAttr, i32

    monkeypatch.setenv("TERRACE_VERIFY_EACH_PASS", "0")
    monkeypatch.setenv("TERRACE_COMPILE_JOBS", "1")

    def spoil(module: ModuleOp) -> None:
        constant = arith.ConstantOp(IntegerAttr(1, i32))
        module.body.block.add_ops([constant, llvm.ZExtOp(constant.result, i32)])

    original = kernels_module.llvm_ir

    def translate(module: ModuleOp, target: LlvmTarget) -> str:
        spoil(module)
        return original(module, target)

    monkeypatch.setattr(kernels_module, "llvm_ir", translate)
    with pytest.raises(CompilationError, match="does not verify"):
        terrace.compile(_model(2), cache=False)
