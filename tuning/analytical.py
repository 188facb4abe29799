"""The analytical model (TUNING.md section 4): the micro-kernel a contraction gets without a
database, the space of micro-kernels a target's registers allow, and a cost estimate for any
config. Pure functions of (GEMM shape, TargetInfo); no measurement.

Micro-kernel (BLIS's rule, Low et al. 2016): a tile of `mr` rows by `nv` vectors keeps
`mr * nv` accumulators in registers over the K loop; each step loads `nv` vectors of B and
broadcasts `mr` elements of A, so it fits when `mr * nv + nv + 1` registers do, and it does
`mr * nv` multiply-adds per `mr + nv` loads. Among the tiles that fit and hide the FMA latency
(`mr * nv >= latency * pipes`), the default maximizes that ratio divided by the edge waste on
the actual M and N (the padded tile grid's area over M * N); ties go to the wider tile. On Zen 4
(32 x 512-bit) and a large GEMM that is 6 x 64, AMD BLIS's sgemm kernel.

Cost: cycles per K step of a tile are the larger of the FMA issue time and the load issue
time; the grid of padded tiles times K steps, over the clock, is the compute time, and the
bytes of A and B streamed from L2 (B re-read once per A panel when it does not fit in L2, from
L3 then) give a bandwidth floor. It ranks candidates before measuring and is the scheduler's
prior; it is not a prediction to the percent.
"""

from __future__ import annotations

from .config import ORDERS, GemmShape, KernelConfig
from .target_info import TargetInfo

MAX_ROW_VECTORS = 4
"""Vectors per tile row: each is a stream of B loads; BLIS kernels stop at 4."""
MAX_ROWS = 16
L2_BYTES_PER_CYCLE = 32.0
L3_BYTES_PER_CYCLE = 16.0
F32_BYTES = 4


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


def fits(mr: int, nr_vectors: int, registers: int) -> bool:
    return mr >= 1 and nr_vectors >= 1 and mr * nr_vectors + nr_vectors + 1 <= registers


def microkernels(info: TargetInfo, lanes: int | None = None) -> list[tuple[int, int]]:
    """Every (mr, nr_vectors) that fits the registers and hides the FMA latency."""
    needed = info.micro.fma_latency * info.micro.fma_pipes
    return [
        (mr, nv)
        for nv in range(1, MAX_ROW_VECTORS + 1)
        for mr in range(1, MAX_ROWS + 1)
        if fits(mr, nv, info.vector_registers) and mr * nv >= needed
    ]


def edge_waste(shape: GemmShape, mr: int, nr: int) -> float:
    """The padded tile grid's area over M * N (1.0: no padding)."""
    padded = _ceil(shape.m, mr) * mr * _ceil(shape.n, nr) * nr
    return padded / (shape.m * shape.n)


def load_ratio(mr: int, nr_vectors: int) -> float:
    """Multiply-adds per load in one K step."""
    return mr * nr_vectors / (mr + nr_vectors)


def score(shape: GemmShape, config: KernelConfig) -> float:
    return load_ratio(config.mr, config.nr_vectors) / edge_waste(shape, config.mr, config.nr)


def ranked_microkernels(shape: GemmShape, info: TargetInfo, lanes: int) -> list[KernelConfig]:
    """The micro-kernels for `shape`, best first (ties: wider, then taller)."""
    configs = [KernelConfig(mr, nv, lanes) for mr, nv in microkernels(info, lanes)]
    configs = [c for c in configs if c.nr <= max(shape.n, lanes)]
    return sorted(configs, key=lambda c: (-score(shape, c), -c.nr_vectors, -c.mr))


def default_config(shape: GemmShape, info: TargetInfo) -> KernelConfig:
    """What an untuned compile uses for a contraction of `shape`."""
    ranked = ranked_microkernels(shape, info, info.lanes)
    if not ranked:
        return KernelConfig(1, 1, info.lanes)
    return ranked[0]


def estimate_seconds(shape: GemmShape, config: KernelConfig, info: TargetInfo) -> float:
    """A roofline-style time for `config` on `shape` (module docstring)."""
    micro = info.micro
    mr, nv = config.mr, config.nr_vectors
    fma_cycles = mr * nv / micro.fma_pipes
    load_cycles = (mr + nv) / micro.load_ports
    tiles = _ceil(shape.m, mr) * _ceil(shape.n, config.nr)
    # a vector narrower than the unit takes the same issue slot: more tiles, same cycles each
    compute = tiles * shape.k * max(fma_cycles, load_cycles) / (micro.ghz * 1e9)
    half_l2 = info.cache(2).size // 2
    a_bytes = shape.m * shape.k * F32_BYTES
    b_bytes = shape.k * _ceil(shape.n, config.nr) * config.nr * F32_BYTES
    if config.order == ORDERS[0]:
        # each A panel stays in L1 while all of B streams past it
        streamed, resident = _ceil(shape.m, mr) * b_bytes, b_bytes
    else:
        # each B panel stays in L1 while all of A streams past it
        streamed, resident = _ceil(shape.n, config.nr) * a_bytes, a_bytes
    bandwidth = L2_BYTES_PER_CYCLE if resident <= half_l2 else L3_BYTES_PER_CYCLE
    memory = streamed / bandwidth / (micro.ghz * 1e9)
    return max(compute, memory)
