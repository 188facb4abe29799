"""The run-time side of `terrace profile`: the timestamp hook and one profiled call.

An instrumented model (passes/instrument_kernels.py) calls the external
`terrace_profile_mark(i64 id)` around every kernel call of its entry. `install_hook` JITs that
function once per process, a few lines of LLVM IR that store `clock_gettime(CLOCK_MONOTONIC)`
in nanoseconds at slot `id` of the buffer the runtime hands it, and binds the symbol with
`llvmlite.binding.add_symbol`, so MCJIT resolves it when the instrumented object loads (an
unresolved symbol would link as address 0: the hook must be installed first). Python's
`time.monotonic_ns` reads the same clock, so the Python side of a call (checks, allocations,
ctypes) lies on the same time line as the marks.

The instrumented object carries its own map, `terrace_profile_map` (which kernel each call
runs, for which ONNX nodes), read here from the loaded code. One profiled call runs at a time
per process: the hook has one buffer.
"""

from __future__ import annotations

import ctypes
import functools
import json
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import llvmlite.binding as llvm
import numpy as np

from ..errors import TerraceRuntimeError
from .jit import NativeCode
from .model import CompiledModel

HOOK_SYMBOL = "terrace_profile_mark"
MAP_SYMBOL = "terrace_profile_map"
_BUFFER_SYMBOL = "terrace_profile_buffer"
_CAPACITY_SYMBOL = "terrace_profile_capacity"

_HOOK_IR = f"""
%timespec = type {{ i64, i64 }}
@{_BUFFER_SYMBOL} = global ptr null
@{_CAPACITY_SYMBOL} = global i64 0

declare i32 @clock_gettime(i32, ptr)

define void @{HOOK_SYMBOL}(i64 %id) {{
entry:
  %capacity = load i64, ptr @{_CAPACITY_SYMBOL}
  %fits = icmp ult i64 %id, %capacity
  br i1 %fits, label %stamp, label %done
stamp:
  %now = alloca %timespec
  %status = call i32 @clock_gettime(i32 1, ptr %now)
  %seconds_at = getelementptr %timespec, ptr %now, i32 0, i32 0
  %seconds = load i64, ptr %seconds_at
  %nanoseconds_at = getelementptr %timespec, ptr %now, i32 0, i32 1
  %nanoseconds = load i64, ptr %nanoseconds_at
  %scaled = mul i64 %seconds, 1000000000
  %time = add i64 %scaled, %nanoseconds
  %buffer = load ptr, ptr @{_BUFFER_SYMBOL}
  %slot = getelementptr i64, ptr %buffer, i64 %id
  store i64 %time, ptr %slot
  br label %done
done:
  ret void
}}
"""
"""CLOCK_MONOTONIC is 1 on Linux, the clock of Python's `time.monotonic_ns`. The hook stores
only below the capacity, which is 0 outside a profiled call: an instrumented model called on
its own, or another one called while a profiled call runs, records nothing and writes
nowhere."""


@dataclass(frozen=True)
class KernelCall:
    """One call of a kernel in the entry, in order: the kernel's symbol, the ONNX nodes it
    computes there (none for copies no node owns, such as those into the graph's outputs) and
    the bytes of the buffers it passes."""

    kernel: str
    nodes: tuple[str, ...]
    bytes: int


@dataclass(frozen=True)
class ProfiledRun:
    """One call's timestamps (nanoseconds, CLOCK_MONOTONIC): the Python call's start and end,
    and the marks: entry, before and after each kernel call, exit."""

    call_start: int
    call_end: int
    marks: np.ndarray

    @property
    def entry_start(self) -> int:
        return int(self.marks[0])

    @property
    def entry_end(self) -> int:
        return int(self.marks[-1])

    def kernel_spans(self) -> list[tuple[int, int]]:
        """(start, end) of each kernel call, in order."""
        inner = self.marks[1:-1].reshape(-1, 2)
        return [(int(start), int(end)) for start, end in inner]


class _Hook:
    """The JIT-compiled hook and the buffer it writes to."""

    def __init__(self) -> None:
        machine = llvm.Target.from_default_triple().create_target_machine(opt=2, reloc="pic")
        module = llvm.parse_assembly(_HOOK_IR)
        module.verify()
        engine = llvm.create_mcjit_compiler(module, machine)
        engine.finalize_object()
        self._engine = engine  # keeps the hook's code alive for the process
        self.address = engine.get_function_address(HOOK_SYMBOL)
        self._buffer_slot = ctypes.c_void_p.from_address(
            engine.get_global_value_address(_BUFFER_SYMBOL)
        )
        self._capacity_slot = ctypes.c_int64.from_address(
            engine.get_global_value_address(_CAPACITY_SYMBOL)
        )
        self.lock = threading.Lock()

    def point_at(self, buffer: np.ndarray | None) -> None:
        """Marks go to `buffer` (int64) from now on; None: nowhere."""
        self._capacity_slot.value = 0
        self._buffer_slot.value = None if buffer is None else buffer.ctypes.data
        self._capacity_slot.value = 0 if buffer is None else buffer.size


@functools.cache
def _hook() -> _Hook:
    from ..targets.llvm.machine import initialize_llvm

    initialize_llvm()
    hook = _Hook()
    llvm.add_symbol(HOOK_SYMBOL, hook.address)
    return hook


def install_hook() -> None:
    """Makes `terrace_profile_mark` resolvable for code loaded from now on (idempotent)."""
    _hook()


def profile_map(native: NativeCode) -> tuple[KernelCall, ...]:
    """The calls an instrumented object makes, from the map it carries."""
    try:
        # MCJIT looks data symbols up as it does functions
        address = native.address(MAP_SYMBOL)
    except TerraceRuntimeError:
        raise TerraceRuntimeError(
            "the model was not compiled with instrument-kernels (no terrace_profile_map)"
        ) from None
    data = json.loads(ctypes.string_at(address).decode())
    return tuple(
        KernelCall(str(c["kernel"]), tuple(str(n) for n in c["nodes"]), int(c["bytes"]))
        for c in data["calls"]
    )


class ProfiledModel:
    """An instrumented `CompiledModel` and its map; `run` calls it once and returns the
    timestamps."""

    def __init__(self, model: CompiledModel):
        self.model = model
        self.calls = profile_map(model.native)
        self._hook = _hook()
        self._marks = np.zeros(2 * len(self.calls) + 2, dtype=np.int64)

    def run(self, inputs: Sequence[np.ndarray]) -> ProfiledRun:
        with self._hook.lock:
            self._marks[:] = 0
            self._hook.point_at(self._marks)
            try:
                start = time.monotonic_ns()
                self.model(*inputs)
                end = time.monotonic_ns()
            finally:
                self._hook.point_at(None)
            marks = self._marks.copy()
        if not marks.all():
            raise TerraceRuntimeError("the instrumented model left marks unset: not its map")
        return ProfiledRun(start, end, marks)
