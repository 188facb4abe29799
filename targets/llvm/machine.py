"""llvmlite target machines for a triple, CPU and features: all that code generation and the
runtime's MCJIT need of a target. Imports llvmlite only, so that a deployed artifact loads with
numpy and llvmlite alone."""

from __future__ import annotations

from functools import cache

import llvmlite.binding as llvm_binding

OPT_LEVEL = 3


@cache
def initialize_llvm() -> None:
    llvm_binding.initialize_all_targets()
    llvm_binding.initialize_all_asmprinters()


def target_machine(triple: str, cpu: str, features: str) -> llvm_binding.TargetMachine:
    """An llvmlite TargetMachine at O3, emitting position-independent code (which links into
    MCJIT wherever the object's sections land, and into shared libraries)."""
    initialize_llvm()
    llvm_target = llvm_binding.Target.from_triple(triple)
    return llvm_target.create_target_machine(
        cpu=cpu, features=features, opt=OPT_LEVEL, reloc="pic", codemodel="default"
    )


def host_features() -> str:
    return llvm_binding.get_host_cpu_features().flatten()


def host_triple() -> str:
    return llvm_binding.get_process_triple()


def host_cpu() -> str:
    return llvm_binding.get_host_cpu_name()
