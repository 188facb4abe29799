"""Host code generation with llvmlite: LLVM IR text to an O3 object, and MCJIT loading.

Compiling and loading are separate steps so that an object from the disk cache loads exactly
as a fresh one does: `compile_object` runs LLVM's O3 pipeline and emits a relocatable object
for this machine; `NativeCode.load` links it into an MCJIT engine that stays alive as long as
the `NativeCode` does.
"""

from __future__ import annotations

import ctypes.util
import functools
from dataclasses import dataclass

import llvmlite.binding as llvm

from ..errors import CompilationError, TerraceRuntimeError

ENTRY_SYMBOL = "terrace_main"
OPT_LEVEL = 3


@dataclass(frozen=True)
class HostTarget:
    """What the generated code is specialized for; part of every cache key."""

    triple: str
    cpu: str
    features: str


@functools.cache
def host_target() -> HostTarget:
    _initialize()
    return HostTarget(
        triple=llvm.get_process_triple(),
        cpu=llvm.get_host_cpu_name(),
        features=llvm.get_host_cpu_features().flatten(),
    )


@functools.cache
def _initialize() -> None:
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    # Parallel loops call GOMP_parallel; MCJIT resolves it from libraries loaded this way.
    gomp = ctypes.util.find_library("gomp")
    if gomp is not None:
        llvm.load_library_permanently(gomp)


def _target_machine() -> llvm.TargetMachine:
    host = host_target()
    target = llvm.Target.from_triple(host.triple)
    # Position-independent code links into MCJIT wherever the object's sections land.
    return target.create_target_machine(
        cpu=host.cpu, features=host.features, opt=OPT_LEVEL, reloc="pic", codemodel="default"
    )


def optimize(llvm_ir: str) -> tuple[llvm.ModuleRef, llvm.TargetMachine]:
    """Parses and verifies LLVM IR text and runs LLVM's O3 pipeline on it for the host."""
    machine = _target_machine()
    try:
        module = llvm.parse_assembly(llvm_ir)
        module.verify()
    except RuntimeError as error:
        raise CompilationError(f"invalid LLVM IR: {_first_line(error)}") from error
    module.triple = machine.triple
    module.data_layout = str(machine.target_data)
    options = llvm.PipelineTuningOptions(speed_level=OPT_LEVEL)
    options.loop_vectorization = True
    options.slp_vectorization = True
    with (
        options,
        llvm.create_pass_builder(machine, options) as builder,
        builder.getModulePassManager() as manager,
    ):
        manager.run(module, builder)
    return module, machine


def compile_object(llvm_ir: str) -> bytes:
    """An optimized relocatable object for the host, ready for `NativeCode.load`."""
    module, machine = optimize(llvm_ir)
    return machine.emit_object(module)


def emit_assembly(llvm_ir: str) -> str:
    """The host assembly of the optimized module (what `compile_object` encodes)."""
    module, machine = optimize(llvm_ir)
    return machine.emit_assembly(module)


def optimized_ir(llvm_ir: str) -> str:
    module, _ = optimize(llvm_ir)
    return str(module)


class NativeCode:
    """An object file linked into an MCJIT engine; symbol addresses stay valid while it lives."""

    def __init__(self, engine: llvm.ExecutionEngine):
        self._engine = engine

    @classmethod
    def load(cls, object_code: bytes) -> NativeCode:
        _initialize()
        engine = llvm.create_mcjit_compiler(llvm.parse_assembly(""), _target_machine())
        try:
            engine.add_object_file(llvm.ObjectFileRef.from_data(object_code))
            engine.finalize_object()
        except RuntimeError as error:
            raise TerraceRuntimeError(f"cannot load object code: {_first_line(error)}") from error
        return cls(engine)

    def address(self, symbol: str = ENTRY_SYMBOL) -> int:
        address = self._engine.get_function_address(symbol)
        # MCJIT reports an unresolved symbol as a null address rather than raising.
        if not address:
            raise TerraceRuntimeError(f"compiled code defines no function '{symbol}'")
        return address


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
