"""Loading compiled code: an object file from `terrace.targets` linked into MCJIT.

Code generation lives in `terrace.targets` (`object_code` for a target); this module only
loads what it emitted, fresh or from the disk cache alike, and makes the libraries that code
calls (libgomp) resolvable. A `NativeCode` keeps its engine, and so its code, alive.

Code with parallel loops calls libgomp (`GOMP_parallel`, `omp_get_thread_num`). MCJIT links a
symbol it cannot resolve as address 0, so on a machine without libgomp such code would load and
then crash on its first call: `NativeCode.load` refuses it instead, with the fix in the message.
"""

from __future__ import annotations

import ctypes.util
import functools

import llvmlite.binding as llvm

from ..errors import TerraceRuntimeError, first_line

ENTRY_SYMBOL = "terrace_main"

LIBGOMP_SYMBOL_PREFIXES = (b"\0GOMP_", b"\0omp_")
"""How libgomp's functions start in an object's string table (names there are NUL-separated)."""


@functools.cache
def find_libgomp() -> str | None:
    """The name to load GCC's OpenMP runtime by, or None when this machine has none (the
    lookup runs `ldconfig`: done once)."""
    return ctypes.util.find_library("gomp")


def uses_libgomp(object_code: bytes) -> bool:
    """Whether the object refers to a libgomp function (its parallel loops do)."""
    return any(prefix in object_code for prefix in LIBGOMP_SYMBOL_PREFIXES)


def _load_libgomp() -> None:
    library = find_libgomp()
    if library is None:
        raise TerraceRuntimeError(
            "the compiled code runs its parallel loops on libgomp, GCC's OpenMP runtime, "
            "which this machine lacks: install it (Debian/Ubuntu: apt install libgomp1; "
            "Fedora: dnf install libgomp)"
        )
    _load_permanently(library)


@functools.cache
def _load_permanently(library: str) -> None:
    # MCJIT resolves the object's external symbols from libraries loaded this way.
    llvm.load_library_permanently(library)


class NativeCode:
    """An object file linked into an MCJIT engine; symbol addresses stay valid while it lives."""

    def __init__(self, engine: llvm.ExecutionEngine):
        self._engine = engine

    @classmethod
    def load(cls, object_code: bytes, machine: llvm.TargetMachine) -> NativeCode:
        """Links `object_code`, emitted for `machine` (one this process runs on), into a new
        engine."""
        if uses_libgomp(object_code):
            _load_libgomp()
        engine = llvm.create_mcjit_compiler(llvm.parse_assembly(""), machine)
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
