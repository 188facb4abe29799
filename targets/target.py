"""What every target is: a tag, a pipeline of stages of pass objects, and how its code runs.

A pipeline is data, not text: `Pipeline.stages` holds the pass objects each stage runs, the
compile driver runs a prefix of them (`until`), tests take the tail of one (`after`), and
`spec()` prints it back as the `terrace-opt -p` string that reproduces it. Nothing cuts a
pipeline string apart.

Stages, in order (docs/pipeline.md): `linalg` (nn to linalg on tensors), `memrefs`
(bufferization and the memref-level passes), `loops` (linalg to scf), `llvm` (everything to the
llvm dialect). `memrefs` is printable only as part of `loops`.

This module imports no xDSL at load time: the runtime (which a deployed artifact runs with
only numpy and llvmlite) reads target descriptions too.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Self

if TYPE_CHECKING:
    from pathlib import Path

    import llvmlite.binding as llvm_binding
    import numpy as np
    from xdsl.dialects.builtin import ModuleOp
    from xdsl.passes import ModulePass

STAGES = ("linalg", "memrefs", "loops", "llvm")
"""The stages of a target pipeline, in order."""


@dataclass(frozen=True)
class Stage:
    """One stage of a pipeline: its name (one of `STAGES`) and the passes it runs."""

    name: str
    passes: tuple[ModulePass, ...]


@dataclass(frozen=True)
class Pipeline:
    """A target's passes from nn (after the nn-level passes) to its last dialect."""

    stages: tuple[Stage, ...]

    def staged_passes(self) -> list[tuple[str, ModulePass]]:
        """Every pass with the name of its stage, in order."""
        return [(stage.name, p) for stage in self.stages for p in stage.passes]

    def passes(self) -> tuple[ModulePass, ...]:
        return tuple(p for _, p in self.staged_passes())

    def until(self, stage: str) -> Pipeline:
        """The stages up to and including `stage` (one of `STAGES`)."""
        last = _rank(stage)
        return Pipeline(tuple(s for s in self.stages if _rank(s.name) <= last))

    def after(self, stage: str) -> Pipeline:
        """The stages after `stage` (one of `STAGES`)."""
        last = _rank(stage)
        return Pipeline(tuple(s for s in self.stages if _rank(s.name) > last))

    def without(self, name: str) -> Pipeline:
        """The pipeline with every pass named `name` left out."""
        stages = (Stage(s.name, tuple(p for p in s.passes if p.name != name)) for s in self.stages)
        return Pipeline(tuple(stages))

    def stage(self, name: str) -> Stage:
        return self.stages[self._index(name)]

    def spec(self) -> str:
        """The `terrace-opt -p` text of the pipeline, with every option that differs from its
        pass's default."""
        return ",".join(_pass_spec(p) for p in self.passes())

    def _index(self, stage: str) -> int:
        names = [s.name for s in self.stages]
        if stage not in names:
            raise ValueError(f"no stage '{stage}' in this pipeline; stages: {', '.join(names)}")
        return names.index(stage)


def _rank(stage: str) -> int:
    if stage not in STAGES:
        raise ValueError(f"unknown stage '{stage}'; stages: {', '.join(STAGES)}")
    return STAGES.index(stage)


def _pass_spec(module_pass: ModulePass) -> str:
    return str(module_pass.pipeline_pass_spec())


@dataclass(frozen=True)
class Machine:
    """What a target's code is generated for, as an artifact's manifest records it."""

    tag: str
    triple: str
    cpu: str
    features: str

    @property
    def arch(self) -> str:
        return self.triple.split("-")[0]

    def enabled_features(self) -> set[str]:
        return {flag[1:] for flag in self.features.split(",") if flag.startswith("+")}


@dataclass(frozen=True)
class Tool:
    """A program a target needs (a cross linker, an emulator, Node.js) and the Debian package
    that installs it, which an error names when the program is missing."""

    program: str
    apt_package: str


@dataclass(frozen=True)
class Runner:
    """How a target's code runs: in this process (`jit`), or as an artifact linked with the C
    harness and run by a program (`qemu`: qemu-user; `node`: Node.js)."""

    kind: str
    """`jit`, `qemu` or `node`."""
    tool: Tool | None = None
    arguments: tuple[str, ...] = ()
    """Given to the program before the harness (qemu's `-cpu` options)."""

    def describe(self) -> str:
        if self.tool is None:
            return "in this process (JIT)"
        return f"{self.tool.program} ({self.kind}, Debian package {self.tool.apt_package})"


@dataclass(frozen=True)
class Target(ABC):
    """A target: its tag, a one-line summary, how its code runs, and its pipeline. Subclasses
    add the machine and the code generation (`terrace.targets.llvm.LlvmTarget`)."""

    tag: str
    summary: str
    runner: Runner
    emitters: tuple[str, ...] = field(default=())
    """What `terrace compile --emit` can produce for it besides MLIR (`ll`, `asm`, `object`,
    `shared`, `wasm`)."""
    pipeline_override: Pipeline | None = None
    """A pipeline that replaces the target's own (`with_pipeline`): a tuned or experimental
    variant of the same target."""

    def with_pipeline(self, pipeline: Pipeline) -> Self:
        """This target running `pipeline` instead of its own."""
        return replace(self, pipeline_override=pipeline)

    @abstractmethod
    def pipeline(self) -> Pipeline:
        """The passes from nn to the target's last dialect, as stages."""

    @abstractmethod
    def translate(self, module: ModuleOp) -> str:
        """The pipeline's output as the target's textual code (LLVM IR for LLVM targets)."""

    @abstractmethod
    def object_code(self, text: str) -> bytes:
        """`translate`'s text compiled to the target's object code."""

    @abstractmethod
    def assembly(self, text: str) -> str:
        """`translate`'s text compiled to the target's assembly."""

    @abstractmethod
    def jit_machine(self) -> llvm_binding.TargetMachine:
        """The machine MCJIT loads `object_code` with (targets that run in this process)."""

    @abstractmethod
    def machine(self) -> Machine:
        """The machine its code is generated for."""

    @abstractmethod
    def link_artifact(self, folder: Path) -> dict[str, str]:
        """Links what the target's toolchain makes of an artifact's object code in `folder`
        (a shared library, a wasm module); returns `{kind: file name}` for the manifest."""

    @abstractmethod
    def run_artifact(
        self, folder: Path, inputs: Sequence[np.ndarray], num_threads: int | None = None
    ) -> list[np.ndarray]:
        """The outputs of the artifact in `folder` for `inputs` (graph order), run by the
        target's runner."""

    def fingerprint(self) -> Sequence[str]:
        """What identifies the code this target generates (part of the compile cache key)."""
        return (self.tag,)

    def runs_in_process(self) -> bool:
        """Whether code compiled for it runs in this process (the host JIT)."""
        return self.runner.kind == "jit"
