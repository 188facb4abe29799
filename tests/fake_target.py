"""A stand-in target for testing the compile driver, the cache and the commands without the
real lowering: its one pass swaps the nn module of `relu_add_model()` for a hand-written
llvm-dialect module with the stage-5 ABI (docs/pipeline.md) computing y = relu(x) + W."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from terrace import compiler
from terrace.dialects.context import parse_module
from terrace.dialects.nn import WeightOp
from terrace.passes.registry import all_passes
from terrace.targets import Pipeline, Stage, host_target

SIZE = 8

LLVM_MODULE = """
builtin.module {
  llvm.func @main(%x: !llvm.ptr, %y: !llvm.ptr, %w: !llvm.ptr, %ws: !llvm.ptr) attributes {
      terrace.num_inputs = 1 : i64, terrace.num_outputs = 1 : i64,
      terrace.weights = ["WEIGHT"], terrace.workspace_bytes = 0 : i64} {
    %zero = llvm.mlir.constant(0 : i64) : i64
    %one = llvm.mlir.constant(1 : i64) : i64
    %n = llvm.mlir.constant(SIZE : i64) : i64
    %fzero = llvm.mlir.constant(0.0 : f32) : f32
    llvm.br ^loop(%zero : i64)
  ^loop(%i: i64):
    %xi = llvm.getelementptr %x[%i] : (!llvm.ptr, i64) -> !llvm.ptr, f32
    %xv = llvm.load %xi : !llvm.ptr -> f32
    %pos = llvm.fcmp "ogt" %xv, %fzero : f32
    %r = llvm.select %pos, %xv, %fzero : i1, f32
    %wi = llvm.getelementptr %w[%i] : (!llvm.ptr, i64) -> !llvm.ptr, f32
    %wv = llvm.load %wi : !llvm.ptr -> f32
    %s = llvm.fadd %r, %wv : f32
    %yi = llvm.getelementptr %y[%i] : (!llvm.ptr, i64) -> !llvm.ptr, f32
    llvm.store %s, %yi : f32, !llvm.ptr
    %next = llvm.add %i, %one : i64
    %done = llvm.icmp "eq" %next, %n : i64
    llvm.cond_br %done, ^exit, ^loop(%next : i64)
  ^exit:
    llvm.return
  }
  llvm.func @terrace_main(%packed: !llvm.ptr) {
    %p1 = llvm.getelementptr %packed[1] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
    %p2 = llvm.getelementptr %packed[2] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
    %p3 = llvm.getelementptr %packed[3] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
    %a0 = llvm.load %packed : !llvm.ptr -> !llvm.ptr
    %a1 = llvm.load %p1 : !llvm.ptr -> !llvm.ptr
    %a2 = llvm.load %p2 : !llvm.ptr -> !llvm.ptr
    %a3 = llvm.load %p3 : !llvm.ptr -> !llvm.ptr
    llvm.call @main(%a0, %a1, %a2, %a3) : (!llvm.ptr, !llvm.ptr, !llvm.ptr, !llvm.ptr) -> ()
    llvm.return
  }
}
"""


@dataclass(frozen=True)
class SwapInHandWrittenLlvm(ModulePass):
    """Replaces relu_add_model's nn module by its hand-written llvm-dialect equivalent."""

    name = "test-swap-in-hand-written-llvm"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        weight = next(w for w in op.walk() if isinstance(w, WeightOp))
        text = LLVM_MODULE.replace("WEIGHT", weight.ref.data).replace("SIZE", str(SIZE))
        replacement = parse_module(text)
        # In place: the weight store stays attached to this very module object.
        for old in list(op.body.block.ops):
            old.detach()
            old.erase()
        for new in list(replacement.body.block.ops):
            new.detach()
            op.body.block.add_op(new)


def use_fake_target(monkeypatch: pytest.MonkeyPatch) -> None:
    """Makes target 'cpu' the stand-in for the rest of the test."""
    passes = {**all_passes(), SwapInHandWrittenLlvm.name: lambda: SwapInHandWrittenLlvm}
    fake = host_target().with_pipeline(Pipeline((Stage("llvm", (SwapInHandWrittenLlvm(),)),)))
    monkeypatch.setattr(compiler, "all_passes", lambda: passes)
    monkeypatch.setattr(compiler, "get_target", lambda tag=None: fake)


def relu_add_model(seed: int = 0) -> tuple[onnx.ModelProto, np.ndarray]:
    """y = Relu(x) + W for x: float32[SIZE]; returns the model and W."""
    weight = np.random.default_rng(seed).standard_normal(SIZE).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Add", ["r", "W"], ["y"])],
        "relu_add",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [SIZE])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [SIZE])],
        [numpy_helper.from_array(weight, "W")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)]), weight
