"""`CompiledModel`: a loaded model, called with numpy arrays from any number of threads.

Every call checks its inputs (count, names, shapes, dtypes) before native code runs, allocates
the outputs, takes the calling thread's own 64-byte aligned workspace, and calls `terrace_main`
through ctypes, which releases the GIL. Weights are bound once, as the store's own contiguous
arrays: their addresses are computed at load time and reused by every call, without copies.
A model with index checks also gets a hidden status output, read after the call: a set one
raises `IndexOutOfRangeError` naming the ONNX node.
"""

from __future__ import annotations

import ctypes
import functools
import math
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import IndexOutOfRangeError, InputError, TerraceRuntimeError, ValueOutOfRangeError
from . import jit
from .abi import STATUS_SPEC, WORKSPACE_ALIGNMENT, EntryAbi, IndexCheck, TensorSpec
from .jit import NativeCode

_ENTRY_TYPE = ctypes.CFUNCTYPE(None, ctypes.c_void_p)


@dataclass
class CompileStats:
    """How a model was obtained: seconds per compile stage, whether the cache served it, and
    which outputs the importer folded to constants (no compiled code computes them)."""

    stage_seconds: dict[str, float] = field(default_factory=dict[str, float])
    from_cache: bool = False
    cache_key: str | None = None
    folded_outputs: tuple[str, ...] = ()
    onnx_folded_ops: tuple[str, ...] = ()
    """The ops whose constant values onnx's reference kernels computed at import."""

    @property
    def total_seconds(self) -> float:
        return sum(self.stage_seconds.values())


def aligned_empty(shape: Sequence[int], dtype: np.dtype[Any]) -> np.ndarray:
    """An uninitialized C-contiguous array whose data starts on a 64-byte boundary."""
    array, _ = _aligned_buffer(math.prod(shape) * dtype.itemsize)
    return array.view(dtype).reshape(tuple(shape))


def _aligned_buffer(nbytes: int) -> tuple[np.ndarray, int]:
    """Uninitialized bytes on a 64-byte boundary, and their address."""
    raw = np.empty(nbytes + WORKSPACE_ALIGNMENT, dtype=np.uint8)
    address = raw.ctypes.data
    skip = -address % WORKSPACE_ALIGNMENT
    return raw[skip : skip + nbytes], address + skip


class CompiledModel:
    """A compiled model: `model(*inputs)` in graph order or `model.run({name: array})`; both
    return the outputs as a list of numpy arrays, in graph order. Parallel loops run on
    `num_threads` threads, or with None on every usable core (`usable_cores`), whatever
    another model called from the same thread asked for before."""

    def __init__(
        self,
        native: NativeCode,
        abi: EntryAbi,
        weights: Mapping[str, np.ndarray],
        *,
        num_threads: int | None = None,
        stats: CompileStats | None = None,
    ):
        if num_threads is not None and num_threads < 1:
            raise TerraceRuntimeError(f"num_threads must be at least 1, not {num_threads}")
        self.abi = abi
        self.num_threads = num_threads
        self.stats = stats or CompileStats()
        self._native = native  # keeps the engine, and so the entry's code, alive
        self._entry = _ENTRY_TYPE(native.address())
        self._weights = _bind_weights(abi, weights)
        self._weight_addresses = [array.ctypes.data for array in self._weights]
        self._thread_state = threading.local()
        # a model with index checks has one more output: their status (runtime/abi.py)
        status = (STATUS_SPEC,) if abi.index_checks else ()
        self._output_specs = (*abi.outputs, *status)

    @property
    def native(self) -> NativeCode:
        """The loaded code (its symbols: `terrace profile` reads the map it carries)."""
        return self._native

    @property
    def inputs(self) -> tuple[TensorSpec, ...]:
        return self.abi.inputs

    @property
    def outputs(self) -> tuple[TensorSpec, ...]:
        return self.abi.outputs

    def __call__(self, *inputs: np.ndarray) -> list[np.ndarray]:
        return self._invoke(checked_inputs(self.abi.inputs, inputs))

    def run(self, feeds: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        """Runs on inputs given by name, like onnxruntime's `InferenceSession.run`."""
        names = [spec.name for spec in self.abi.inputs]
        unknown = [name for name in feeds if name not in names]
        if unknown:
            raise InputError(
                f"unknown input {', '.join(repr(n) for n in unknown)}; "
                f"the model's inputs are {', '.join(names)}"
            )
        missing = [name for name in names if name not in feeds]
        if missing:
            raise InputError(f"missing input {', '.join(repr(n) for n in missing)}")
        return self._invoke([_checked(spec, feeds[spec.name]) for spec in self.abi.inputs])

    def _invoke(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        addresses = [array.ctypes.data for array in inputs]
        outputs: list[np.ndarray] = []
        for spec in self._output_specs:
            buffer, address = _aligned_buffer(math.prod(spec.shape) * spec.dtype.itemsize)
            outputs.append(buffer.view(spec.dtype).reshape(spec.shape))
            addresses.append(address)
        addresses += self._weight_addresses
        addresses.append(self._thread_workspace())
        packed = (ctypes.c_void_p * len(addresses))(*addresses)
        # OpenMP keeps the thread count per calling thread, and another model called from this
        # thread may have set its own: set it on every call (a microsecond), None included.
        _set_openmp_threads(self.num_threads or usable_cores())
        self._entry(ctypes.addressof(packed))
        # Referenced until here, so that no input is freed while native code reads it.
        del inputs
        if self.abi.index_checks:
            raise_on_failed_check(self.abi.index_checks, outputs.pop())
        return outputs

    def _thread_workspace(self) -> int:
        """The calling thread's own workspace: calls on one thread run one after another,
        calls on different threads never share one, and a thread reuses its pages (a fresh
        workspace per call would fault every page in again)."""
        state = self._thread_state
        address: int | None = getattr(state, "workspace_address", None)
        if address is not None:
            return address
        state.workspace, state.workspace_address = _aligned_buffer(self.abi.workspace_bytes)
        return state.workspace_address


# -- helpers -------------------------------------------------------------------------------


def checked_inputs(expected: Sequence[TensorSpec], inputs: Sequence[object]) -> list[np.ndarray]:
    """The inputs, in graph order, as C-contiguous arrays, after checking their count and each
    one's type, dtype and shape (an artifact's runners check them the same way)."""
    if len(inputs) != len(expected):
        names = ", ".join(spec.name for spec in expected)
        raise InputError(f"expected {len(expected)} inputs ({names}), given {len(inputs)}")
    return [_checked(spec, value) for spec, value in zip(expected, inputs, strict=True)]


def _checked(spec: TensorSpec, value: object) -> np.ndarray:
    """The input as a C-contiguous array, after checking its type, dtype and shape."""
    if not isinstance(value, np.ndarray | np.generic):
        raise InputError(
            f"input '{spec.name}': expected a numpy array {spec.describe()}, "
            f"given {type(value).__name__}"
        )
    array = np.asarray(value)
    if array.dtype != spec.dtype or array.shape != spec.shape:
        given = TensorSpec(spec.name, array.dtype, array.shape)
        raise InputError(
            f"input '{spec.name}': expected {spec.describe()}, given {given.describe()}"
        )
    return np.ascontiguousarray(array)


def raise_on_failed_check(checks: Sequence[IndexCheck], status: np.ndarray) -> None:
    """Raises the error of the failed check that the status [number, axis, value] names."""
    if not status[0]:  # the common case, first: every index was in range
        return
    number, axis, value = (int(v) for v in status)
    if not 0 < number <= len(checks):
        raise TerraceRuntimeError(f"compiled code returned a bad status {status.tolist()}")
    check = checks[number - 1]
    if check.operand:  # a range check: the status gives the element's flat position
        if not 0 <= axis < math.prod(check.dims):
            raise TerraceRuntimeError(f"compiled code returned a bad status {status.tolist()}")
        position = tuple(int(p) for p in np.unravel_index(axis, check.dims))
        raise ValueOutOfRangeError(
            check.node, check.op_type, check.operand, position, value, check.low, check.high
        )
    if not 0 <= axis < len(check.dims):
        raise TerraceRuntimeError(f"compiled code returned a bad status {status.tolist()}")
    raise IndexOutOfRangeError(check.node, check.op_type, value, axis, check.dims[axis])


def _bind_weights(abi: EntryAbi, weights: Mapping[str, np.ndarray]) -> list[np.ndarray]:
    missing = [name for name in abi.weights if name not in weights]
    if missing:
        raise TerraceRuntimeError(f"weights missing from the store: {', '.join(missing)}")
    # The store keeps arrays contiguous already: no copy is made here.
    return [np.ascontiguousarray(weights[name]) for name in abi.weights]


def usable_cores() -> int:
    """The cores this process may run on (its affinity mask, as `taskset` or a container's
    cpuset leaves it), which is what `num_threads=None` uses."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # no affinity masks on this platform
        return os.cpu_count() or 1


def _set_openmp_threads(count: int) -> None:
    # Without libgomp, no code with parallel loops loads (NativeCode.load refuses it), so
    # there are no threads to set.
    openmp = _openmp()
    if openmp is None:
        return
    openmp.omp_set_num_threads(ctypes.c_int(count))


@functools.cache
def _openmp() -> ctypes.CDLL | None:
    library = jit.find_libgomp()
    return None if library is None else ctypes.CDLL(library)
