"""outline-kernels: models compiled with and without outlining compute the same numbers, and
kernels that print alike are outlined once and called from each place."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp

import terrace
from terrace import compiler
from terrace.compiler import StageTimer
from terrace.dialects.context import terrace_context
from terrace.passes.outline_kernels import outline_kernels
from terrace.runtime.model import CompiledModel
from terrace.targets import Pipeline, host_target

from onnx_models import float_model

DEMO_MODEL = Path(__file__).resolve().parents[2] / "models" / "demo_cnn.onnx"


def _pipelines() -> tuple[Pipeline, Pipeline]:
    """The host pipeline (outline-kernels after memory-plan), and the same without it."""
    pipeline = host_target().pipeline()
    names = [p.name for p in pipeline.passes()]
    assert names.index("outline-kernels") == names.index("memory-plan") + 1
    return pipeline, pipeline.without("outline-kernels")


def _compile(
    model: onnx.ModelProto, pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> CompiledModel:
    target = host_target().with_pipeline(pipeline)
    monkeypatch.setattr(compiler, "get_target", lambda tag=None: target)
    return terrace.compile(model, cache=False)


def _small_models() -> dict[str, onnx.ModelProto]:
    rng = np.random.default_rng(0)
    conv_w = rng.uniform(-0.5, 0.5, (3, 3, 3, 3)).astype(np.float32)
    table = rng.uniform(-1, 1, (6, 4)).astype(np.float32)
    indices = np.array([5, 0, 2], dtype=np.int64)
    return {
        # two equal convs and relus: shared kernels; padding copies into strided subviews
        "conv_twice": float_model(
            [
                helper.make_node("Conv", ["x", "w"], ["c1"], pads=[1, 1, 1, 1]),
                helper.make_node("Relu", ["c1"], ["r1"]),
                helper.make_node("Conv", ["r1", "w"], ["c2"], pads=[1, 1, 1, 1]),
                helper.make_node("Relu", ["c2"], ["y"]),
            ],
            {"x": [1, 3, 5, 5]},
            {"y": [1, 3, 5, 5]},
            {"w": conv_w},
        ),
        # copies into the halves of the output
        "concat": float_model(
            [
                helper.make_node("Exp", ["a"], ["e"]),
                helper.make_node("Concat", ["e", "b"], ["y"], axis=1),
            ],
            {"a": [2, 3], "b": [2, 4]},
            {"y": [2, 7]},
            {},
        ),
        # a data-dependent read: the generic body loads from a buffer it does not write
        "gather": float_model(
            [
                helper.make_node("Constant", [], ["i"], value=numpy_helper.from_array(indices)),
                helper.make_node("Gather", ["t", "i"], ["g"], axis=0),
                helper.make_node("Add", ["g", "x"], ["y"]),
            ],
            {"x": [3, 4]},
            {"y": [3, 4]},
            {"t": table},
        ),
    }


def _assert_same_outputs(
    model: onnx.ModelProto, monkeypatch: pytest.MonkeyPatch, seed: int = 1
) -> None:
    outlined, plain = _pipelines()
    with_kernels = _compile(model, outlined, monkeypatch)
    without_kernels = _compile(model, plain, monkeypatch)
    rng = np.random.default_rng(seed)
    inputs = [rng.standard_normal(s.shape).astype(np.float32) for s in with_kernels.inputs]
    for got, want in zip(with_kernels(*inputs), without_kernels(*inputs), strict=True):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("name", sorted(_small_models()))
def test_small_model_computes_the_same_with_kernels(name: str, monkeypatch: pytest.MonkeyPatch):
    _assert_same_outputs(_small_models()[name], monkeypatch)


def test_demo_model_computes_the_same_with_kernels(monkeypatch: pytest.MonkeyPatch):
    _assert_same_outputs(onnx.load(str(DEMO_MODEL)), monkeypatch)


def _memref_module(model: onnx.ModelProto) -> ModuleOp:
    """The model at stage 3 (after memory-plan), before outlining."""
    lowered = compiler.lower(model, host_target(), "nn", StageTimer())
    _, plain = _pipelines()
    passes = plain.passes()
    names = [p.name for p in passes]
    for module_pass in passes[: names.index("memory-plan") + 1]:
        module_pass.apply(terrace_context(), lowered.module)
    return lowered.module


def test_equal_kernels_are_outlined_once():
    module = _memref_module(onnx.load(str(DEMO_MODEL)))
    table = outline_kernels(module)
    module.verify()
    functions = [op for op in module.ops if isinstance(op, func.FuncOp)]
    kernels = {f.sym_name.data for f in functions if f.sym_name.data.startswith("kernel_")}
    calls = [op for op in functions[0].walk() if isinstance(op, func.CallOp)]
    # the demo's two residual blocks repeat their padding, convolution and relu kernels
    assert table.shared >= 6
    assert len(kernels) == table.outlined - table.shared
    assert len(calls) == table.outlined
    assert {call.callee.root_reference.data for call in calls} == kernels
    assert not any(op.dialect_name() == "linalg" for op in functions[0].walk())


def test_shared_kernels_are_defined_once_in_llvm_ir():
    outlined, _ = _pipelines()
    target = host_target().with_pipeline(outlined)
    lowered = compiler.lower(_small_models()["conv_twice"], target, "llvm", StageTimer())
    lines = target.translate(lowered.module).splitlines()
    definitions = [line for line in lines if re.match(r'define .*@"?kernel_\d', line)]
    calls = [line for line in lines if re.search(r'call .*@"?kernel_\d', line)]
    # the padding fill and copy, the convolution's fill and loops, and the relu: each called
    # once per Conv-Relu pair
    assert len(definitions) == 5
    assert len(calls) == 10


def test_an_op_with_more_memrefs_than_a_call_should_pass_stays_in_main():
    from terrace.passes.outline_kernels import MAX_ARGUMENTS

    rng = np.random.default_rng(4)
    sums: dict[str, onnx.ModelProto] = {}
    for count in (MAX_ARGUMENTS - 2, MAX_ARGUMENTS + 1):  # with x and y: 64 and 67 memrefs
        weights = {f"w{i}": rng.uniform(-1, 1, 4).astype(np.float32) for i in range(count)}
        node = helper.make_node("Sum", ["x", *weights], ["y"])
        sums[str(count)] = float_model([node], {"x": [4]}, {"y": [4]}, weights, "sum")
    for name, model in sums.items():
        module = _memref_module(model)
        outline_kernels(module)
        module.verify()
        main, *kernels = [op for op in module.ops if isinstance(op, func.FuncOp)]
        in_main = [op for op in main.walk() if op.dialect_name() == "linalg"]
        widest = max((len(k.function_type.inputs) for k in kernels), default=0)
        assert widest <= MAX_ARGUMENTS
        assert bool(in_main) == (name == str(MAX_ARGUMENTS + 1)), name


def _printed_key(kernel: func.FuncOp) -> str:
    """The kernel's printed text: how kernels were compared before structural keys."""
    return str(kernel)


def test_structural_keys_share_the_kernels_that_print_alike(monkeypatch: pytest.MonkeyPatch):
    from terrace.passes import outline_kernels as outlining

    model = onnx.load(str(DEMO_MODEL))
    by_structure = _memref_module(model)
    structural = outline_kernels(by_structure)
    monkeypatch.setattr(outlining, "_structural_key", _printed_key)
    by_text = _memref_module(model)
    printed = outline_kernels(by_text)
    assert printed.shared >= 6
    assert (structural.outlined, structural.shared) == (printed.outlined, printed.shared)
    assert str(by_structure) == str(by_text)


def _constant_kernel(value: float) -> func.FuncOp:
    """A kernel that stores `value` into a memref<4xf32>, its SSA values unnamed."""
    from xdsl.dialects import arith, memref
    from xdsl.dialects.builtin import (
        Float32Type,
        FloatAttr,
        FunctionType,
        IndexType,
        IntegerAttr,
        MemRefType,
    )
    from xdsl.ir import Block, Region

    block = Block(arg_types=[MemRefType(Float32Type(), [4])])
    constant = arith.ConstantOp(FloatAttr(value, Float32Type()))
    index = arith.ConstantOp(IntegerAttr(1, IndexType()))
    store = memref.StoreOp.get(constant.result, block.args[0], [index.result])
    block.add_ops([constant, index, store, func.ReturnOp()])
    function_type = FunctionType.from_lists([MemRefType(Float32Type(), [4])], [])
    return func.FuncOp("kernel", function_type, Region(block), visibility="private")


@pytest.mark.parametrize(("first", "second"), [(1.5, 1.5), (1.5, 2.5), (0.0, -0.0)])
def test_kernels_share_a_structural_key_only_when_they_print_alike(first: float, second: float):
    from terrace.passes.outline_kernels import _structural_key  # pyright: ignore[reportPrivateUsage]

    kernels = (_constant_kernel(first), _constant_kernel(second))
    same_text = _printed_key(kernels[0]) == _printed_key(kernels[1])
    assert (_structural_key(kernels[0]) == _structural_key(kernels[1])) == same_text
