"""AArch64 with NEON (Neoverse N1: AWS Graviton2, Ampere Altra; 32 x 128-bit registers), run
under qemu-user on other hosts and linked statically with Debian's cross gcc."""

from __future__ import annotations

from .llvm import LlvmTarget
from .llvm.machine import host_cpu, host_features, host_triple
from .target import Runner, Tool

CROSS_GCC = Tool("aarch64-linux-gnu-gcc", "gcc-aarch64-linux-gnu")
QEMU = Runner("qemu", Tool("qemu-aarch64", "qemu-user"))


def targets(host_arch: str) -> list[LlvmTarget]:
    native = host_arch == "aarch64"
    return [
        LlvmTarget(
            tag="aarch64",
            summary="AArch64 with NEON (Neoverse N1), 32 x 128-bit registers",
            runner=Runner("jit") if native else QEMU,
            emitters=("ll", "asm", "object", "shared"),
            triple=host_triple() if native else "aarch64-unknown-linux-gnu",
            cpu=host_cpu() if native else "neoverse-n1",
            features=host_features() if native else "+neon",
            vector_width_bits=128,
            vector_registers=32,
            l1d_bytes=64 * 1024,
            linker=None if native else CROSS_GCC,
        )
    ]
