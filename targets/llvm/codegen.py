"""Code generation for LLVM targets: the llvm dialect to LLVM IR, optimized and emitted.

The one place Terrace generates code: `llvm_ir(module, target)` translates an llvm-dialect
module (the output of the target's pipeline) to LLVM IR text; the functions on LLVM IR text
(`optimize_llvm_ir`, `optimized_llvm_ir`, `object_code`, `assembly`) optimize it at O3 for the
target and emit it, so that IR read back from the disk cache compiles exactly as fresh IR does.
Objects are position-independent, so the runtime's `NativeCode.load` links them into MCJIT.
No fast-math flag is added here; the one that reaches LLVM is `reassoc` on the accumulation
of float sums (lowering/arith_to_llvm.py), so that they vectorize.
"""

from __future__ import annotations

import threading

import llvmlite.binding as llvm_binding
import llvmlite.ir as llvm_ir_module
from xdsl.backend.llvm.convert import convert_module
from xdsl.dialects import llvm
from xdsl.dialects.builtin import ModuleOp

from ...errors import CompilationError, first_line
from ...runtime.jit import ENTRY_SYMBOL
from . import LlvmTarget
from .machine import OPT_LEVEL
from .machine import target_machine as _machine


def target_machine(target: LlvmTarget) -> llvm_binding.TargetMachine:
    """An llvmlite TargetMachine for `target` at O3, one per thread and (triple, CPU,
    features): code generation asks for it for every kernel's translation and O3, and LLVM
    does not promise that one machine emits code from two threads at once."""
    machines = _MACHINES.__dict__
    key = f"{target.triple} {target.cpu} {target.features}"
    machine = machines.get(key)
    if not isinstance(machine, llvm_binding.TargetMachine):
        machine = machines[key] = _machine(target.triple, target.cpu, target.features)
    return machine


_MACHINES = threading.local()


def llvm_ir(module: ModuleOp, target: LlvmTarget) -> str:
    """LLVM IR text of an llvm-dialect module, with the target's triple and data layout."""
    machine = target_machine(target)
    try:
        converted = convert_module(module, fallback_target_triple=target.triple)
    except (NotImplementedError, ValueError, KeyError, TypeError) as error:
        raise CompilationError(f"LLVM translation failed: {first_line(error)}") from error
    converted.data_layout = str(machine.target_data)
    _apply_function_attributes(module, converted)
    _define_external_globals(module, converted)
    return str(converted)


def _define_external_globals(module: ModuleOp, converted: llvm_ir_module.Module) -> None:
    """An `external` llvm.mlir.global with a value is a definition (in MLIR, as in LLVM's
    default linkage); xDSL's translation prints `external`, which LLVM reads as a declaration
    and rejects with an initializer."""
    for op in module.ops:
        if isinstance(op, llvm.GlobalOp) and op.value is not None:
            variable = converted.get_global(op.sym_name.data)
            if op.linkage.linkage.data == "external":
                variable.linkage = ""


def _apply_function_attributes(module: ModuleOp, converted: llvm_ir_module.Module) -> None:
    """Linkage and `noinline` of llvm.func ops, which xDSL's translation drops: without them O3
    inlines every outlined kernel back into @main and optimizes one huge function."""
    symbols = {op.sym_name.data for op in module.ops if isinstance(op, llvm.FuncOp)}
    for op in module.ops:
        if not isinstance(op, llvm.FuncOp) or not op.body.blocks:
            continue
        function = converted.get_global(op.sym_name.data)
        # Only the packed entry is exported: a global @main would clash with the main of the C
        # program an artifact links into (runtime/harness.c). It is inlined into the entry:
        # a call that passes a pointer per weight puts hundreds of arguments on the stack,
        # which RISC-V's frame lowering could not address (densenet121's 600 arguments: "LLVM
        # ERROR: Incomplete scavenging after 2nd pass").
        if op.sym_name.data == "main" and ENTRY_SYMBOL in symbols:
            function.linkage = "internal"
            function.attributes.add("alwaysinline")
        if op.linkage.linkage.data == "internal":
            function.linkage = "internal"
        if op.no_inline is not None:
            function.attributes.add("noinline")


def optimize_llvm_ir(text: str, target: LlvmTarget) -> llvm_binding.ModuleRef:
    """LLVM IR text parsed, verified and optimized at O3 for the target (loop and SLP
    vectorization on)."""
    machine = target_machine(target)
    try:
        parsed = llvm_binding.parse_assembly(text)
        parsed.verify()
    except RuntimeError as error:
        raise CompilationError(f"invalid LLVM IR: {first_line(error)}") from error
    parsed.triple = target.triple
    parsed.data_layout = str(machine.target_data)
    options = llvm_binding.PipelineTuningOptions(speed_level=OPT_LEVEL)
    options.loop_vectorization = True
    options.slp_vectorization = True
    with (
        options,
        llvm_binding.create_pass_builder(machine, options) as pass_builder,
        pass_builder.getModulePassManager() as module_passes,
    ):
        module_passes.run(parsed, pass_builder)
    return parsed


def optimized_llvm_ir(text: str, target: LlvmTarget) -> str:
    """The LLVM IR text after O3 (what `object_code` encodes)."""
    return str(optimize_llvm_ir(text, target))


def object_code(text: str, target: LlvmTarget) -> bytes:
    """Relocatable object code (ELF, Mach-O or COFF by the triple) of the optimized IR, ready
    for the runtime's `NativeCode.load`."""
    return target_machine(target).emit_object(optimize_llvm_ir(text, target))


def assembly(text: str, target: LlvmTarget) -> str:
    """Assembly text of the optimized IR for the target's CPU and features."""
    return target_machine(target).emit_assembly(optimize_llvm_ir(text, target))
