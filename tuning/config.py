"""A kernel's tuning config: the per-op values of contraction-microkernel's options, and the
workload descriptor that keys it in the records database.

A `KernelConfig` travels on a contraction as the `terrace.config` dictionary attribute (the
`apply-tuning` pass attaches it; contraction-microkernel reads it in preference to its own
options) and in a record as JSON. It renders as the pass's option text, so any record is a
`terrace-opt -p` pipeline.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

ORDERS = ("mn", "nm")
"""Which index of the tile grid is the outer loop: `mn` walks the B panels for each A panel
(A stays in L1, B streams from L2), `nm` walks the A panels for each B panel."""

SPACE = "contraction/v2"
"""The op class and version of the space; bumped whenever a pass reads a knob differently."""


BLOCKS = ("kc", "mc", "nc")
"""The cache blocks: K steps, rows and columns of C per block; 0 in a config stands for the
analytical block for its micro-kernel (tuning/analytical.py `cache_blocks`)."""


@dataclass(frozen=True, order=True)
class KernelConfig:
    mr: int
    nr_vectors: int
    lanes: int
    order: str = "mn"
    kc: int = 0
    mc: int = 0
    nc: int = 0

    @property
    def nr(self) -> int:
        return self.nr_vectors * self.lanes

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> KernelConfig:
        return KernelConfig(
            int(data["mr"]),
            int(data["nr_vectors"]),
            int(data["lanes"]),
            str(data["order"]),
            *(int(data.get(name, 0)) for name in BLOCKS),
        )

    def text(self) -> str:
        """apply-tuning's `config` option: `mr,nr_vectors,lanes,order[,kc,mc,nc]`."""
        fields = [str(self.mr), str(self.nr_vectors), str(self.lanes), self.order]
        if self.kc or self.mc or self.nc:
            fields += [str(self.kc), str(self.mc), str(self.nc)]
        return ",".join(fields)

    def options(self) -> str:
        """contraction-microkernel's option text for this config (blocks left at 0 are
        resolved by apply-tuning, not by this text)."""
        blocks = "".join(f" {name}={getattr(self, name)}" for name in BLOCKS)
        return (
            f"mr={self.mr} nr-vectors={self.nr_vectors} lanes={self.lanes} order={self.order}"
            + blocks
        )

    def describe(self) -> str:
        tile = f"{self.mr}x{self.nr} ({self.nr_vectors}x{self.lanes} lanes, {self.order}"
        blocks = ", ".join(
            f"{name} {getattr(self, name)}" for name in BLOCKS if getattr(self, name)
        )
        return tile + (f", {blocks})" if blocks else ")")


@dataclass(frozen=True)
class GemmShape:
    """The GEMM form of a contraction: C[M][N] += A[M][K] * B[K][N]."""

    m: int
    n: int
    k: int
    b_panels: bool = True
    """B is a weight, packed at compile time into contiguous `[N/nr][K][nr]` panels; False:
    B is read as rows `[K][N]` (an activation: packed at run time, im2col rows for a
    convolution, or read in place), `nr` floats at a stride of N floats per K step."""

    @property
    def flops(self) -> int:
        return 2 * self.m * self.n * self.k


def canonical_json(data: object) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def sha256_key(data: object) -> str:
    """The key of a JSON-able value: sha256 of its canonical JSON (never Python's `hash`, which
    differs between processes)."""
    return "sha256:" + hashlib.sha256(canonical_json(data).encode()).hexdigest()


def task_keys(descriptor: Mapping[str, Any]) -> tuple[str, str]:
    """(key, anchor key): the descriptor's key, and the key without its epilogue."""
    anchor = {k: v for k, v in descriptor.items() if k != "epilogue"}
    return sha256_key(descriptor), sha256_key(anchor)
