"""Loading compiled code: an object file from `terrace.targets` linked into MCJIT.

Code generation lives in `terrace.targets` (`object_code` for a target); this module only
loads what it emitted, fresh or from the disk cache alike, and makes the libraries that code
calls (libgomp) resolvable. A `NativeCode` keeps its engine, and so its code, alive.
"""

from __future__ import annotations

import ctypes.util
import functools

import llvmlite.binding as llvm

from ..errors import TerraceRuntimeError, first_line
from ..targets import Target
from ..targets.cpu import target_machine

ENTRY_SYMBOL = "terrace_main"


@functools.cache
def _load_libraries() -> None:
    # Parallel loops call GOMP_parallel; MCJIT resolves it from libraries loaded this way.
    gomp = ctypes.util.find_library("gomp")
    if gomp is not None:
        llvm.load_library_permanently(gomp)


class NativeCode:
    """An object file linked into an MCJIT engine; symbol addresses stay valid while it lives."""

    def __init__(self, engine: llvm.ExecutionEngine):
        self._engine = engine

    @classmethod
    def load(cls, object_code: bytes, target: Target) -> NativeCode:
        """Links `object_code`, emitted for `target` (this machine), into a new engine."""
        _load_libraries()
        engine = llvm.create_mcjit_compiler(llvm.parse_assembly(""), target_machine(target))
        try:
            engine.add_object_file(llvm.ObjectFileRef.from_data(object_code))
            engine.finalize_object()
        except RuntimeError as error:
            raise TerraceRuntimeError(f"cannot load object code: {first_line(error)}") from error
        return cls(engine)

    def address(self, symbol: str = ENTRY_SYMBOL) -> int:
        address = self._engine.get_function_address(symbol)
        # MCJIT reports an unresolved symbol as a null address rather than raising.
        if not address:
            raise TerraceRuntimeError(f"compiled code defines no function '{symbol}'")
        return address
