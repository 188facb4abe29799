"""Targets: a small description of where code runs and the pass pipeline that gets it there.

Adding an LLVM-backed target is one short file beside `cpu.py` that builds a `Target`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

EmitterKind = Literal["jit", "object", "assembly", "ptx", "wasm", "npu"]


@dataclass(frozen=True)
class Target:
    """What the compiler needs to know about a target.

    `pipeline` is the textual pass pipeline from stage 2 of docs/pipeline.md (linalg on
    tensors) down to the llvm dialect, usable as `terrace-opt -p PIPELINE`.
    """

    name: str
    triple: str
    cpu: str
    features: str
    vector_width_bits: int
    pipeline: str
    emitter: EmitterKind
