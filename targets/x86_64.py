"""x86-64: the host as llvmlite detects it (`x86_64`), and x86-64-v3 (`x86_64-avx2`: AVX2 and
FMA, 16 vector registers of 256 bits), which runs on any AVX2 machine, this one included."""

from __future__ import annotations

from .llvm import LlvmTarget
from .llvm.machine import host_cpu, host_features, host_triple
from .target import Runner

JIT = Runner("jit")


def _enabled(features: str) -> set[str]:
    return {flag[1:] for flag in features.split(",") if flag.startswith("+")}


def host() -> LlvmTarget:
    """This machine, with every feature LLVM detects (AVX-512 where it has it)."""
    features = host_features()
    enabled = _enabled(features)
    wide = "avx512f" in enabled
    unit = "AVX-512" if wide else "AVX2" if "avx2" in enabled else "SSE"
    return LlvmTarget(
        tag="x86_64",
        summary=f"this machine ({host_cpu()}, {unit})",
        runner=JIT,
        emitters=("ll", "asm", "object", "shared"),
        triple=host_triple(),
        cpu=host_cpu(),
        features=features,
        vector_width_bits=512 if wide else 256 if "avx" in enabled else 128,
        vector_registers=32 if wide else 16,
    )


def avx2() -> LlvmTarget:
    return LlvmTarget(
        tag="x86_64-avx2",
        summary="x86-64-v3 (Haswell and later, Zen): AVX2 and FMA, 16 x 256-bit registers",
        runner=JIT,
        emitters=("ll", "asm", "object", "shared"),
        triple="x86_64-unknown-linux-gnu",
        cpu="x86-64-v3",
        features="",
        vector_width_bits=256,
        vector_registers=16,
    )


def targets(host_arch: str) -> list[LlvmTarget]:
    """The x86-64 targets; on an x86-64 host, `x86_64` is the host itself."""
    if host_arch != "x86_64":
        return []
    return [host(), avx2()]
