"""The host CPU target: its description, its pass pipeline and its LLVM code generation.

The one place Terrace generates code: `llvm_ir(module, target)` translates an llvm-dialect
module (the output of `CPU_PIPELINE`) to LLVM IR text; the functions on LLVM IR text
(`optimize_llvm_ir`, `optimized_llvm_ir`, `object_code`, `assembly`) optimize it at O3 for the
target and emit it, so that IR read back from the disk cache compiles exactly as fresh IR does.
Objects are position-independent, so the runtime's `NativeCode.load` links them into MCJIT.
No fast-math flags are added anywhere: ONNX semantics need IEEE results.
"""

from __future__ import annotations

from functools import cache

import llvmlite.binding as llvm_binding
import llvmlite.ir as llvm_ir_module
from xdsl.backend.llvm.convert import convert_module
from xdsl.dialects import llvm
from xdsl.dialects.builtin import ModuleOp

from ..errors import CompilationError, first_line
from . import Target

# stage 2 (linalg on tensors) to the llvm dialect; docs/pipeline.md describes each stage
CPU_PIPELINE = ",".join(
    [
        "convert-nn-to-linalg",
        "linalg-generalize-named-ops",
        "bufferize",
        "contraction-microkernel",
        "linalg-interchange-reductions",
        "memory-plan",
        "outline-kernels",
        "parallelize-outer-loops",
        "convert-linalg-to-loops",
        "lower-affine",
        "convert-memref-to-llvm",
        "convert-vector-to-llvm",
        "convert-scf-parallel-to-gomp",
        "convert-scf-structured-to-cf",
        "convert-scf-to-cf",
        "convert-cf-to-llvm",
        "convert-math-to-llvm",
        "convert-arith-to-llvm",
        "convert-func-to-llvm",
        "reconcile-unrealized-casts",
    ]
)

# the part of CPU_PIPELINE after the loops (stage 4 to stage 5)
LLVM_LOWERING_PIPELINE = CPU_PIPELINE.split("lower-affine,", 1)[1]

OPT_LEVEL = 3


def _vector_width_bits(features: str) -> int:
    enabled = {flag[1:] for flag in features.split(",") if flag.startswith("+")}
    if "avx512f" in enabled:
        return 512
    if "avx" in enabled or "avx2" in enabled:
        return 256
    return 128


@cache
def host_target() -> Target:
    """The machine this process runs on, as llvmlite sees it."""
    features = llvm_binding.get_host_cpu_features().flatten()
    return Target(
        name="cpu",
        triple=llvm_binding.get_process_triple(),
        cpu=llvm_binding.get_host_cpu_name(),
        features=features,
        vector_width_bits=_vector_width_bits(features),
        pipeline=CPU_PIPELINE,
        emitter="jit",
    )


@cache
def _initialize_llvm() -> None:
    llvm_binding.initialize_all_targets()
    llvm_binding.initialize_all_asmprinters()


def target_machine(target: Target) -> llvm_binding.TargetMachine:
    """An llvmlite TargetMachine for `target` at O3."""
    _initialize_llvm()
    llvm_target = llvm_binding.Target.from_triple(target.triple)
    # Position-independent code links into MCJIT wherever the object's sections land.
    return llvm_target.create_target_machine(
        cpu=target.cpu, features=target.features, opt=OPT_LEVEL, reloc="pic", codemodel="default"
    )


def llvm_ir(module: ModuleOp, target: Target) -> str:
    """LLVM IR text of an llvm-dialect module, with the target's triple and data layout."""
    machine = target_machine(target)
    try:
        converted = convert_module(module, fallback_target_triple=target.triple)
    except (NotImplementedError, ValueError, KeyError, TypeError) as error:
        raise CompilationError(f"LLVM translation failed: {first_line(error)}") from error
    converted.data_layout = str(machine.target_data)
    _apply_function_attributes(module, converted)
    return str(converted)


def _apply_function_attributes(module: ModuleOp, converted: llvm_ir_module.Module) -> None:
    """Linkage and `noinline` of llvm.func ops, which xDSL's translation drops: without them O3
    inlines every outlined kernel back into @main and optimizes one huge function."""
    for op in module.ops:
        if not isinstance(op, llvm.FuncOp) or not op.body.blocks:
            continue
        function = converted.get_global(op.sym_name.data)
        if op.linkage.linkage.data == "internal":
            function.linkage = "internal"
        if op.no_inline is not None:
            function.attributes.add("noinline")


def optimize_llvm_ir(text: str, target: Target) -> llvm_binding.ModuleRef:
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


def optimized_llvm_ir(text: str, target: Target) -> str:
    """The LLVM IR text after O3 (what `object_code` encodes)."""
    return str(optimize_llvm_ir(text, target))


def object_code(text: str, target: Target) -> bytes:
    """Relocatable object code (ELF, Mach-O or COFF by the triple) of the optimized IR, ready
    for the runtime's `NativeCode.load`."""
    return target_machine(target).emit_object(optimize_llvm_ir(text, target))


def assembly(text: str, target: Target) -> str:
    """Assembly text of the optimized IR for the target's CPU and features."""
    return target_machine(target).emit_assembly(optimize_llvm_ir(text, target))
