"""Compile loop-level IR (stage 4) through the LLVM lowering and call it with numpy buffers."""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass, PassPipeline

from terrace.dialects.context import parse_module, terrace_context
from terrace.passes.registry import all_passes
from terrace.runtime.jit import NativeCode
from terrace.targets import host_target

LLVM_LOWERING_PIPELINE = host_target().pipeline().after("loops").spec()


def lower(text: str, pipeline: str = LLVM_LOWERING_PIPELINE) -> ModuleOp:
    """Parses `text` and runs `pipeline` on it, verifying the IR after every pass."""
    module = parse_module(text)

    def verify(_before: ModulePass | None, op: ModuleOp, _after: ModulePass | None) -> None:
        op.verify()

    PassPipeline.parse_spec(all_passes(), pipeline, verify).apply(terrace_context(), module)
    module.verify()
    return module


@dataclass
class Compiled:
    """A JIT-compiled module; keeps its code alive while its functions are called."""

    native: NativeCode

    def function(self, name: str, argument_count: int) -> Callable[..., None]:
        address = self.native.address(name)
        prototype = ctypes.CFUNCTYPE(None, *[ctypes.c_void_p] * argument_count)
        return prototype(address)

    def call(self, name: str, buffers: Sequence[np.ndarray]) -> None:
        """Calls `name(ptr, ptr, ...)` with the buffers' data pointers."""
        function = self.function(name, len(buffers))
        function(*[buffer.ctypes.data for buffer in buffers])


def compile_llvm(module: ModuleOp) -> Compiled:
    target = host_target()
    code = target.object_code(target.translate(module))
    return Compiled(NativeCode.load(code, target.jit_machine()))


def compile_loops(text: str, pipeline: str = LLVM_LOWERING_PIPELINE) -> Compiled:
    return compile_llvm(lower(text, pipeline))
