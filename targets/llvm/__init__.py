"""The LLVM family of targets: CPUs (and WebAssembly) that LLVM generates code for.

An `LlvmTarget` is a machine (triple, CPU, features, vector registers, caches) and one shared
pipeline: linalg on tensors, bufferization, the packed micro-kernels shaped for the target's
vector unit (`microkernel.py`), memory planning, kernels outlined and (where the target has
threads) their outer loops run on libgomp (`scf_parallel_to_gomp.py`, which only this family
uses), then the conversions to the llvm dialect that every LLVM target shares (`lowering/`).
Code generation from the llvm dialect is in `codegen.py`.

A new LLVM target is one file under targets/ that builds an `LlvmTarget` (docs/targets.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..target import Machine, Pipeline, Stage, Target, Tool
from .microkernel import MicrokernelShape, microkernel_shape

if TYPE_CHECKING:
    from pathlib import Path

    import llvmlite.binding as llvm_binding
    import numpy as np
    from xdsl.dialects.builtin import ModuleOp


@dataclass(frozen=True)
class LlvmTarget(Target):
    """A target LLVM generates code for."""

    triple: str = ""
    cpu: str = "generic"
    features: str = ""
    vector_width_bits: int = 128
    vector_registers: int = 16
    threads: bool = True
    """Whether parallel loops run on libgomp threads (else they run as sequential loops)."""
    fma: bool = True
    """Whether the vector unit has a fused multiply-add (else the micro-kernel multiplies and
    adds: LLVM would call libm's fmaf per lane for a fused one)."""
    l1d_bytes: int = 32 * 1024
    l2_bytes: int = 1024 * 1024
    linker: Tool | None = None
    """The C compiler that links an artifact with the C harness (None: the host's `cc`)."""

    def microkernel(self) -> MicrokernelShape:
        return microkernel_shape(self.vector_width_bits, self.vector_registers)

    def pipeline(self) -> Pipeline:
        return self.pipeline_override or llvm_pipeline(self)

    def fingerprint(self) -> Sequence[str]:
        return (self.tag, self.triple, self.cpu, self.features, self.pipeline().spec())

    def translate(self, module: ModuleOp) -> str:
        from .codegen import llvm_ir

        return llvm_ir(module, self)

    def object_code(self, text: str) -> bytes:
        from .codegen import object_code

        return object_code(text, self)

    def assembly(self, text: str) -> str:
        from .codegen import assembly

        return assembly(text, self)

    def jit_machine(self) -> llvm_binding.TargetMachine:
        from .machine import target_machine

        return target_machine(self.triple, self.cpu, self.features)

    def machine(self) -> Machine:
        return Machine(self.tag, self.triple, self.cpu, self.features)

    def link_artifact(self, folder: Path) -> dict[str, str]:
        from .link import link_artifact

        return link_artifact(self, folder)

    def run_artifact(
        self, folder: Path, inputs: Sequence[np.ndarray], num_threads: int | None = None
    ) -> list[np.ndarray]:
        from .link import run_artifact

        return run_artifact(self, folder, inputs, num_threads)


def llvm_pipeline(target: LlvmTarget) -> Pipeline:
    """The pipeline of every LLVM target, with the target's micro-kernel shape and threads."""
    # Imported here: describing a target (the runtime does) must not load xDSL.
    from ...passes.registry import all_passes

    passes = all_passes()

    def make(name: str, **options: object):
        return passes[name]()(**options)

    shape = target.microkernel()
    microkernel = make(
        "contraction-microkernel",
        mr=shape.mr,
        nr_vectors=shape.nr_vectors,
        lanes=shape.lanes,
        fma=target.fma,
    )
    # each contraction's micro-kernel: the analytical default for this vector unit, or a
    # record of the tuning database once compile swaps in a configured apply-tuning
    tuning = make(
        "apply-tuning",
        cpu=target.cpu,
        lanes=shape.lanes,
        vector_registers=target.vector_registers,
        l1d_bytes=target.l1d_bytes,
        l2_bytes=target.l2_bytes,
    )
    depthwise = make("conv-depthwise-kernel", lanes=shape.lanes, fma=target.fma)
    # a tile's accumulators: three quarters of the vector registers (24 of AVX-512's 32)
    grouped = make(
        "conv-grouped-kernel",
        lanes=shape.lanes,
        accumulators=target.vector_registers * 3 // 4,
        fma=target.fma,
    )
    threaded = ["parallelize-outer-loops"] if target.threads else []
    to_threads = ["convert-scf-parallel-to-gomp"] if target.threads else []
    return Pipeline(
        (
            Stage(
                "linalg",
                (
                    make("convert-nn-to-linalg"),
                    make("linalg-generalize-named-ops"),
                    make("linalg-fuse-elementwise"),
                ),
            ),
            Stage(
                "memrefs",
                (
                    make("bufferize"),
                    tuning,
                    microkernel,
                    depthwise,
                    grouped,
                    make("linalg-interchange-reductions"),
                    make("memory-plan"),
                    make("outline-kernels"),
                    make("linalg-collapse-dimensions"),
                    *(make(name) for name in threaded),
                ),
            ),
            Stage("loops", (make("convert-linalg-to-loops"), make("lower-affine"))),
            Stage(
                "llvm",
                (
                    *(
                        make(name)
                        for name in (
                            "convert-memref-to-llvm",
                            "convert-vector-to-llvm",
                            *to_threads,
                            "convert-scf-structured-to-cf",
                            "convert-scf-to-cf",
                            "convert-cf-to-llvm",
                        )
                    ),
                    make("convert-math-to-llvm", fma=target.fma),
                    *(
                        make(name)
                        for name in (
                            "convert-arith-to-llvm",
                            "convert-func-to-llvm",
                            "reconcile-unrealized-casts",
                        )
                    ),
                ),
            ),
        )
    )
