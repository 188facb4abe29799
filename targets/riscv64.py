"""RISC-V 64 with the V extension (rv64gcv), run under qemu-user and linked statically with
Debian's cross gcc. Vectors are 128 bits, the least VLEN the V extension guarantees (Zvl128b),
so LLVM's fixed-length vectors map onto LMUL=1 registers on every V implementation."""

from __future__ import annotations

from .llvm import LlvmTarget
from .target import Runner, Tool

CROSS_GCC = Tool("riscv64-linux-gnu-gcc", "gcc-riscv64-linux-gnu")
# qemu-user 7.2 leaves the V extension off unless asked; VLEN 128 is the least the code assumes.
QEMU = Runner("qemu", Tool("qemu-riscv64", "qemu-user"), ("-cpu", "rv64,v=true,vlen=128"))


def targets(host_arch: str) -> list[LlvmTarget]:
    return [
        LlvmTarget(
            tag="riscv64",
            summary="RISC-V rv64gcv (vector extension, VLEN >= 128), 32 x 128-bit registers",
            runner=QEMU,
            emitters=("ll", "asm", "object", "shared"),
            triple="riscv64-unknown-linux-gnu",
            cpu="generic-rv64",
            features="+m,+a,+f,+d,+c,+v",
            vector_width_bits=128,
            vector_registers=32,
            linker=CROSS_GCC,
        )
    ]
