"""The roofs of a roofline, measured on this machine: a target's peak f32 FLOP/s and the
memory bandwidth.

Peak: a loop of independent `llvm.fma` chains on the target's full vectors (up to 16
accumulators, at least FMA latency times FMA pipes on current x86 and Arm cores, and all in
registers), JIT-compiled for the target's CPU and features, timed on one thread, times the
thread count: a property of the cores, not of how busy the machine is when measured. A figure
from the vector width alone would be wrong where the hardware splits wide vectors: Zen 4 runs
AVX-512 FMAs on 256-bit pipes, half of what 512 bits suggest. Targets without a fused
multiply-add get `fmul` + `fadd` chains, counted as two operations.

Bandwidth: numpy copying 64 MiB arrays (past the last-level cache), read plus write bytes over
the best time: what one thread streams from memory.
"""

from __future__ import annotations

import ctypes
import functools
import time
from dataclasses import dataclass

import llvmlite.binding as llvm
import numpy as np

from ..targets.llvm import LlvmTarget

MAX_ACCUMULATORS = 16
ITERATIONS = 200_000
BANDWIDTH_BYTES = 64 * 1024 * 1024

_KERNEL = ctypes.CFUNCTYPE(None, ctypes.c_int64, ctypes.c_void_p)


@dataclass(frozen=True)
class Roofs:
    """Peak f32 FLOP/s on `threads` threads of a target, and memory bytes per second."""

    peak_flops: float
    bandwidth: float
    threads: int


def _peak_ir(lanes: int, fma: bool, accumulators: int) -> str:
    vector = f"<{lanes} x float>"
    lines = [
        f"declare {vector} @llvm.fma.v{lanes}f32({vector}, {vector}, {vector})",
        "define void @peak(i64 %iterations, ptr %out) {",
        "entry:",
        f"  %x = load {vector}, ptr %out, align 4",
        "  br label %loop",
        "loop:",
        "  %i = phi i64 [ 0, %entry ], [ %next, %loop ]",
    ]
    for a in range(accumulators):
        lines.append(f"  %acc{a} = phi {vector} [ %x, %entry ], [ %new{a}, %loop ]")
    for a in range(accumulators):
        if fma:
            call = (
                f"call {vector} @llvm.fma.v{lanes}f32({vector} %acc{a}, {vector} %x, {vector} %x)"
            )
            lines.append(f"  %new{a} = {call}")
        else:
            lines.append(f"  %product{a} = fmul {vector} %acc{a}, %x")
            lines.append(f"  %new{a} = fadd {vector} %product{a}, %x")
    lines += [
        "  %next = add i64 %i, 1",
        "  %more = icmp ult i64 %next, %iterations",
        "  br i1 %more, label %loop, label %exit",
        "exit:",
        f"  %sum0 = fadd {vector} %new0, %new1",
    ]
    for a in range(2, accumulators):
        lines.append(f"  %sum{a - 1} = fadd {vector} %sum{a - 2}, %new{a}")
    lines += [f"  store {vector} %sum{accumulators - 2}, ptr %out, align 4", "  ret void", "}"]
    return "\n".join(lines)


class _PeakKernel:
    def __init__(self, target: LlvmTarget):
        self.lanes = target.vector_width_bits // 32
        # the accumulators and the operand stay in registers, with room to spare
        self.accumulators = min(MAX_ACCUMULATORS, target.vector_registers - 4)
        module = llvm.parse_assembly(_peak_ir(self.lanes, target.fma, self.accumulators))
        module.verify()
        self._engine = llvm.create_mcjit_compiler(module, target.jit_machine())
        self._engine.finalize_object()
        self.function = _KERNEL(self._engine.get_function_address("peak"))

    def flops(self, iterations: int) -> int:
        return 2 * self.lanes * self.accumulators * iterations


def peak_flops(target: LlvmTarget, threads: int) -> float:
    """FLOP/s of `threads` cores: the best of 20 short timings of the FMA loop on one (a
    short run more likely finds the core to itself on a busy machine), times `threads`."""
    kernel = _PeakKernel(target)
    # x*a + x with x = 0.5 converges: the chains stay finite
    buffer = np.full(kernel.lanes, 0.5, dtype=np.float32)
    best = float("inf")
    for _ in range(20):
        started = time.perf_counter()
        kernel.function(ITERATIONS, buffer.ctypes.data)
        best = min(best, time.perf_counter() - started)
    return kernel.flops(ITERATIONS) * threads / best


def memory_bandwidth() -> float:
    """Bytes per second (read plus written) of the best of five 64 MiB numpy copies."""
    source = np.ones(BANDWIDTH_BYTES // 4, dtype=np.float32)
    destination = np.empty_like(source)
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        np.copyto(destination, source)
        best = min(best, time.perf_counter() - started)
    return 2 * BANDWIDTH_BYTES / best


@functools.cache
def measure_roofs(target: LlvmTarget, threads: int) -> Roofs:
    return Roofs(peak_flops(target, threads), memory_bandwidth(), threads)
