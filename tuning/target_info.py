"""TargetInfo: what the analytical model needs to know of a machine (TUNING.md section 4.1).

The vector unit (width, registers, fused multiply-add) comes from the target; FMA latency,
pipes and clock from a small per-microarchitecture table with a generic fallback; the caches
from /sys/devices/system/cpu/cpu0/cache on the host, else from the target's `l1d_bytes` /
`l2_bytes` (cross targets use the table only). The fingerprint is sha256 of the dict and leaves
out the hostname, so identical machines share records.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .config import sha256_key

F32_BITS = 32
SYS_CACHE = Path("/sys/devices/system/cpu/cpu0/cache")


@dataclass(frozen=True)
class CacheLevel:
    level: int
    size: int
    ways: int
    line: int


@dataclass(frozen=True)
class Microarchitecture:
    fma_latency: int
    fma_pipes: int
    load_ports: int
    ghz: float


MICROARCHITECTURES = {
    # Zen 4 double-pumps 512-bit ops on two 256-bit FMA pipes: two 512-bit FMAs issue every
    # other cycle, so a 512-bit op has the throughput of one pipe (Agner Fog, Zen 4).
    "znver4": Microarchitecture(fma_latency=4, fma_pipes=1, load_ports=2, ghz=3.7),
    "znver3": Microarchitecture(fma_latency=4, fma_pipes=2, load_ports=2, ghz=3.5),
    "skylake-avx512": Microarchitecture(fma_latency=4, fma_pipes=2, load_ports=2, ghz=3.0),
    "icelake-server": Microarchitecture(fma_latency=4, fma_pipes=2, load_ports=2, ghz=3.0),
    "sapphirerapids": Microarchitecture(fma_latency=4, fma_pipes=2, load_ports=3, ghz=3.0),
    "haswell": Microarchitecture(fma_latency=5, fma_pipes=2, load_ports=2, ghz=3.0),
}
GENERIC = Microarchitecture(fma_latency=4, fma_pipes=2, load_ports=2, ghz=3.0)
GENERIC_L3 = 8 * 1024 * 1024


@dataclass(frozen=True)
class TargetInfo:
    tag: str
    triple: str
    cpu: str
    features: str
    vector_bits: int
    vector_registers: int
    fma: bool = True
    caches: tuple[CacheLevel, ...] = field(
        default=(
            CacheLevel(1, 32 * 1024, 8, 64),
            CacheLevel(2, 1024 * 1024, 8, 64),
            CacheLevel(3, GENERIC_L3, 16, 64),
        )
    )
    threads: int = 1

    @property
    def lanes(self) -> int:
        return self.vector_bits // F32_BITS

    @property
    def micro(self) -> Microarchitecture:
        return MICROARCHITECTURES.get(self.cpu, GENERIC)

    def cache(self, level: int) -> CacheLevel:
        found = [c for c in self.caches if c.level == level]
        return found[0] if found else self.caches[-1]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["caches"] = [[c.level, c.size, c.ways, c.line] for c in self.caches]
        return data

    def fingerprint(self) -> str:
        return sha256_key(self.to_json())


def target_info(target: Any, threads: int = 1) -> TargetInfo:
    """The TargetInfo of an `LlvmTarget`: the host's caches when it runs in this process."""
    from ..targets.llvm import LlvmTarget

    if not isinstance(target, LlvmTarget):
        raise TypeError(f"target '{getattr(target, 'tag', target)}' is not an LLVM target")
    host = target.runs_in_process()
    caches = host_caches() if host else ()
    if not caches:
        caches = (
            CacheLevel(1, target.l1d_bytes, 8, 64),
            CacheLevel(2, target.l2_bytes, 8, 64),
            CacheLevel(3, GENERIC_L3, 16, 64),
        )
    return TargetInfo(
        tag=target.tag,
        triple=target.triple,
        cpu=target.cpu,
        features=target.features,
        vector_bits=target.vector_width_bits,
        vector_registers=target.vector_registers,
        fma=target.fma,
        caches=caches,
        threads=threads,
    )


def host_caches(root: Path = SYS_CACHE) -> tuple[CacheLevel, ...]:
    """The data and unified caches of cpu0 from sysfs, innermost first; () when unreadable."""
    levels: list[CacheLevel] = []
    for index in sorted(root.glob("index*")):
        try:
            kind = (index / "type").read_text().strip()
            if kind == "Instruction":
                continue
            levels.append(
                CacheLevel(
                    int((index / "level").read_text()),
                    _size((index / "size").read_text().strip()),
                    int((index / "ways_of_associativity").read_text()),
                    int((index / "coherency_line_size").read_text()),
                )
            )
        except (OSError, ValueError):
            return ()
    return tuple(sorted(levels, key=lambda c: c.level))


def _size(text: str) -> int:
    units = {"K": 1024, "M": 1024 * 1024, "G": 1024 * 1024 * 1024}
    if text and text[-1] in units:
        return int(text[:-1]) * units[text[-1]]
    return int(text)


def usable_cores() -> int:
    return len(os.sched_getaffinity(0))
