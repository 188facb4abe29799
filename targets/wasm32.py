"""WebAssembly (wasm32) with 128-bit SIMD, run by Node.js and linked with wasm-ld. One thread:
parallel loops run as sequential loops (no libgomp in a wasm module). simd128 has no fused
multiply-add (relaxed-simd's is not in Node.js 20 by default): the micro-kernel multiplies and
adds."""

from __future__ import annotations

from .llvm import LlvmTarget
from .target import Runner, Tool

WASM_LD = Tool("wasm-ld-22", "lld-22")
NODE = Runner("node", Tool("node", "nodejs"))


def targets(host_arch: str) -> list[LlvmTarget]:
    return [
        LlvmTarget(
            tag="wasm32",
            summary="WebAssembly with simd128, one thread, run by Node.js",
            runner=NODE,
            emitters=("ll", "asm", "object", "wasm"),
            triple="wasm32-unknown-unknown",
            cpu="generic",
            features="+simd128,+bulk-memory,+nontrapping-fptoint,+sign-ext",
            vector_width_bits=128,
            vector_registers=16,
            threads=False,
            fma=False,
            linker=WASM_LD,
        )
    ]
