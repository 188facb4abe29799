"""Runs a module of any level as native code: the rest of the host target's pipeline, then the
host JIT.

`execute_compiled` finds where in the host pipeline the module stands (nn ops left: all of it;
tensors at @main's boundary: after the nn conversion; memref.alloc left: memory planning on;
otherwise the loop lowering on), runs the remaining passes on a copy, verifying after each,
and calls the entry `terrace_main` with the packed pointer array of the runtime ABI
(docs/pipeline.md, stage 5).
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from typing import Any

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import MemRefType, ModuleOp, TensorType
from xdsl.ir import Attribute
from xdsl.passes import ModulePass, PassPipeline

from ..dialects.context import terrace_context
from ..dialects.nn.base import element_type_to_numpy
from ..dialects.nn.weights import WeightStore
from ..errors import CompilationError
from ..runtime.abi import STATUS_SPEC, WORKSPACE_ALIGNMENT, read_abi_attributes
from ..runtime.jit import NativeCode
from ..runtime.model import aligned_empty, raise_on_failed_check
from ..targets import Target, host_target

_ENTRY = ctypes.CFUNCTYPE(None, ctypes.c_void_p)


def remaining_passes(module: ModuleOp, target: Target | None = None) -> tuple[ModulePass, ...]:
    """The passes of `target`'s pipeline (None: the host's) that `module` has not been
    through yet."""
    passes = (target or host_target()).pipeline().passes()
    names = [p.name for p in passes]
    ops = [op.name for op in module.walk()]
    if any(name.startswith("nn.") and name != "nn.weight" for name in ops):
        return passes
    if "llvm.func" in ops and "func.func" not in ops:
        return ()
    main = _main(module)
    if main is not None and any(isinstance(t, TensorType) for t in main.function_type.outputs):
        return passes[names.index("linalg-generalize-named-ops") :]
    if "memref.alloc" in ops:
        return passes[names.index("memory-plan") :]
    return passes[names.index("convert-linalg-to-loops") :]


OutputTypes = list[tuple[np.dtype[Any], tuple[int, ...]]]


def execute_compiled(
    module: ModuleOp,
    inputs: Sequence[np.ndarray],
    outputs: OutputTypes | None = None,
    target: Target | None = None,
) -> list[np.ndarray]:
    """Lowers a copy of `module` to native code for `target` (one that runs in this process;
    None: the host) and runs `@main` on `inputs`. `outputs` (dtype and shape of each result)
    is needed once @main is an llvm.func, which no longer says."""
    target = target or host_target()
    lowered = module.clone()
    WeightStore(dict(WeightStore.of(module))).attach(lowered)
    outputs = outputs or output_types(lowered)
    _apply(lowered, remaining_passes(module, target))
    abi = read_abi_attributes(lowered)
    if abi is None:
        raise CompilationError("the lowered module has no terrace.* ABI attributes on @main")
    if abi.index_checks and len(outputs) < abi.num_outputs:
        # the status of the run-time index checks is the last output buffer (runtime/abi.py)
        outputs = [*outputs, (STATUS_SPEC.dtype, STATUS_SPEC.shape)]
    native = NativeCode.load(target.object_code(target.translate(lowered)), target.jit_machine())
    arguments = [np.ascontiguousarray(array) for array in inputs]
    results = [_poisoned(shape, dtype) for dtype, shape in outputs]
    store = WeightStore.of(lowered)
    weights = [np.ascontiguousarray(store[name]) for name in abi.weights]
    workspace = aligned_empty((abi.workspace_bytes + WORKSPACE_ALIGNMENT,), np.dtype(np.uint8))
    buffers = [*arguments, *results, *weights, workspace]
    packed = (ctypes.c_void_p * len(buffers))(*[b.ctypes.data for b in buffers])
    _ENTRY(native.address())(ctypes.addressof(packed))
    if abi.index_checks:
        raise_on_failed_check(abi.index_checks, results.pop())
    return results


def _poisoned(shape: tuple[int, ...], dtype: np.dtype[Any]) -> np.ndarray:
    """An output buffer filled with NaN (or the largest integer), so that an element the code
    never writes shows up in every run rather than as whatever the memory held last."""
    buffer = aligned_empty(shape, dtype)
    if np.issubdtype(dtype, np.floating):
        buffer.fill(np.nan)
    elif dtype != np.bool_:
        buffer.fill(np.iinfo(dtype).max)
    return buffer


def _main(module: ModuleOp) -> func.FuncOp | None:
    for op in module.ops:
        if isinstance(op, func.FuncOp) and op.sym_name.data == "main":
            return op
    return None


def output_types(module: ModuleOp) -> OutputTypes:
    """(dtype, shape) of each output of @main: its results, or its output buffers once
    bufferized (after the `terrace.num_inputs` inputs)."""
    main = _main(module)
    if main is None:
        raise CompilationError("the module has no func.func @main")
    abi = read_abi_attributes(module)
    if abi is None:
        types: Sequence[Attribute] = main.function_type.outputs.data
    else:
        inputs = main.function_type.inputs.data
        types = inputs[abi.num_inputs : abi.num_inputs + abi.num_outputs]
    return [_dtype_and_shape(t) for t in types]


def _dtype_and_shape(value_type: Attribute) -> tuple[np.dtype[Any], tuple[int, ...]]:
    if not isinstance(value_type, TensorType | MemRefType):
        raise CompilationError(f"@main has an output of type {value_type}, not a shaped type")
    shape = tuple(value_type.get_shape())  # pyright: ignore[reportUnknownArgumentType]
    element: Attribute = value_type.get_element_type()  # pyright: ignore[reportUnknownMemberType]
    return np.dtype(element_type_to_numpy(element)), shape


def _apply(module: ModuleOp, passes: tuple[ModulePass, ...]) -> None:
    if not passes:
        return

    def verify(_done: ModulePass | None, op: ModuleOp, _next: ModulePass | None) -> None:
        op.verify()

    PassPipeline(passes, verify).apply(terrace_context(), module)
    module.verify()
