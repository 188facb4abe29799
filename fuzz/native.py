"""Runs a stage-4 module, or one part-way through the llvm lowering, as native code.

The module is lowered the rest of the way with the host pipeline's last stage
(`llvm_lowering_pipeline()`; each conversion leaves ops of other dialects alone, so a module that
some conversions have already rewritten lowers the same way), the IR verified after every pass,
translated to LLVM IR, compiled at O3 by the host target and called through the packed entry
`terrace_main` with
numpy buffers: inputs, outputs, weights from the module's store, a zeroed workspace.

Output shapes come from `terrace.output_types` on @main (memref types), which generated
programs carry because a lowered signature holds only pointers.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from typing import Any

import numpy as np
from xdsl.dialects import func, llvm
from xdsl.dialects.builtin import ArrayAttr, MemRefType, ModuleOp
from xdsl.ir import Attribute, Operation
from xdsl.passes import ModulePass, PassPipeline

from ..dialects.context import terrace_context
from ..dialects.nn.base import element_type_to_numpy
from ..dialects.nn.weights import WeightStore
from ..passes.registry import all_passes
from ..runtime.abi import WORKSPACE_ALIGNMENT, read_abi_attributes
from ..runtime.jit import ENTRY_SYMBOL, NativeCode
from ..targets import host_target

OUTPUT_TYPES = "terrace.output_types"


def llvm_lowering_pipeline() -> str:
    """The host pipeline's last stage (loops to the llvm dialect), as `-p` text. Generated
    programs are small: every parallel loop gets its region (min-work=0), so that the
    threads' shares of it are what the fuzzer checks."""
    spec = host_target().pipeline().after("loops").spec()
    gomp = "convert-scf-parallel-to-gomp"
    return spec.replace(gomp, f"{gomp}{{min-work=0}}")


def lower_to_llvm(module: ModuleOp, pipeline: str | None = None) -> ModuleOp:
    """A copy of `module` with `pipeline` (default: `llvm_lowering_pipeline()`) applied,
    verified after every pass."""
    pipeline = llvm_lowering_pipeline() if pipeline is None else pipeline
    lowered = module.clone()

    def verify(_before: ModulePass | None, op: ModuleOp, _after: ModulePass | None) -> None:
        op.verify()

    PassPipeline.parse_spec(all_passes(), pipeline, verify).apply(terrace_context(), lowered)
    lowered.verify()
    return lowered


def output_types(module: ModuleOp) -> list[MemRefType]:
    """The memref types of @main's outputs, from `terrace.output_types`."""
    main = _main(module)
    recorded = main.attributes.get(OUTPUT_TYPES)
    if not isinstance(recorded, ArrayAttr):
        raise ValueError(f"@main has no {OUTPUT_TYPES}: the native executor needs output shapes")
    types: list[MemRefType] = []
    for output_type in recorded.data:
        assert isinstance(output_type, MemRefType), f"not a memref: {output_type}"
        types.append(output_type)
    return types


def run_native(module: ModuleOp, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Lowers `module` (a copy) to the llvm dialect, compiles it for this machine and calls
    `terrace_main`; returns the outputs."""
    abi = read_abi_attributes(module)
    if abi is None:
        raise ValueError("@main lacks the terrace.* ABI attributes of stage 3")
    outputs = [
        np.zeros(t.get_shape(), dtype=_numpy_dtype(t.get_element_type()))
        for t in output_types(module)
    ]
    if len(outputs) != abi.num_outputs or len(inputs) != abi.num_inputs:
        raise ValueError("inputs or terrace.output_types disagree with terrace.num_* on @main")
    store = WeightStore.of(module)
    weights = [np.ascontiguousarray(store[name]) for name in abi.weights]
    workspace = np.zeros(max(abi.workspace_bytes, 1) + WORKSPACE_ALIGNMENT, dtype=np.uint8)
    start = -workspace.ctypes.data % WORKSPACE_ALIGNMENT
    arena = workspace[start : start + max(abi.workspace_bytes, 1)]
    arrays = [*(np.ascontiguousarray(a) for a in inputs), *outputs, *weights, arena]
    target = host_target()
    code = target.object_code(target.translate(lower_to_llvm(module)))
    native = NativeCode.load(code, target.jit_machine())
    packed = (ctypes.c_void_p * len(arrays))(*[a.ctypes.data for a in arrays])
    entry = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(native.address(ENTRY_SYMBOL))
    entry(ctypes.addressof(packed))
    return outputs


def _numpy_dtype(element_type: Attribute) -> np.dtype[Any]:
    return np.dtype(element_type_to_numpy(element_type))


def _main(module: ModuleOp) -> Operation:
    for op in module.ops:
        if isinstance(op, func.FuncOp | llvm.FuncOp) and op.sym_name.data == "main":
            return op
    raise ValueError("the module has no @main")
