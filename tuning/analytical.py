"""The analytical model (TUNING.md section 4): the micro-kernel a contraction gets without a
database, the space of micro-kernels a target's registers allow, and a cost estimate for any
config. Pure functions of (GEMM shape, TargetInfo); no measurement.

Micro-kernel (BLIS's rule, Low et al. 2016): a tile of `mr` rows by `nv` vectors keeps `mr *
nv` accumulators in registers over the K loop; each step loads `nv` vectors of B and broadcasts
`mr` elements of A, so it fits when `mr * nv + nv + 1` registers do, and it does `mr * nv`
multiply-adds per `mr + nv` loads. Among the tiles that fit and hide the FMA latency (`mr * nv
>= latency * pipes`), the default maximizes that ratio divided by the edge waste on the actual
M and N (the padded tile grid's area over M * N); ties go to the wider tile. On Zen 4 (32 x
512-bit) and a large GEMM that is 6 x 64, AMD BLIS's sgemm kernel. The ratio counts load
instructions, but only B's loads stream from beyond L1 (A's micro-panel stays in L1): a tile
reads `nr` floats of B per K step, `4 * lanes / mr` bytes per multiply-add. A weight's B is
packed at compile time into contiguous panels, which L3 streams at its 16 bytes a cycle; an
activation's B is read as rows (module docstring below), `nr` floats from each row, and such a
stream gets `ROWS_SHARE` (3/4) of that: a tile whose row stream needs more over its issue
cycles has its ratio scaled by the share of its FMA rate that 12 bytes a cycle sustain
(`stream_factor`; not when M fits one tile, where B is read once whatever the tile). With 16
registers of 256 bits and two FMA pipes, 4 x 24 (the best ratio, 12 FMAs per 7 loads) streams
16 bytes a cycle and 6 x 16 (12 per 8, 10.7 bytes a cycle), BLIS's Haswell kernel, wins on
rows; on panels 4 x 24 stays. Measured on the 2-core Zen 4 (1 thread, CPU time, both compiled
in one process and timed interleaved): light resnet50's convolutions (rows) with 6 x 16 took
AVX2 from 65% to 88% of AVX-512's speed (with the blocks of the old rule), while gemm1024 (a
weight's panels) ran at 98% of AVX-512 with 4 x 24 and 93% with 6 x 16. On Zen 4 every tile
that can win streams under 12 bytes a cycle (6 x 64: 10.7), so nothing changes there.

Cache blocks (BLIS's loops around the micro-kernel, Low et al.): in each block the operand
whose micro-panel every tile of a row of the grid reuses (order `mn`: A's `mr` x `kc`; `nm`:
B's `kc` x `nr`) is read again for each tile, the other operand's block (`kc` x `nc`, or `mc` x
`kc`) is streamed past it. The streamed block must stay in the cache level whose bandwidth
covers what the tile reads of it per cycle (`stream_level`: L3 when its bytes per cycle
suffice, else L2), within half of that level. L3's bandwidth is for a contiguous stream: B's
compile-time panels, A's panels. B read as rows (an activation: a convolution's im2col rows,
packed at run time, or a 1x1 convolution's input read in place) is `nr` floats per K step at a
stride of N floats, one to four cache lines from each of `kc` rows: in order `mn` that stream
is from L2, every A panel passing over a B block held there. Measured on light resnet50 (1
thread, CPU time, both rules compiled in one process and timed interleaved, the 2-core Zen 4):
AVX2's 6 x 16 went from 89% of AVX-512's speed with only the rows of 56 x 56 outputs in L2 to
96% with all of them, and AVX-512 was the same either way (within 0.5%). When that level is L2
the reused micro-panel must sit in half of L1, which sets `kc` (BLIS's rule), and when it is L3
the panel may sit in half of L2, so K is split only when even that overflows. The third block
is the whole dimension. Each block is then equalized (the same size for every block of a
dimension) and clipped to the problem. On Zen 4 the 6 x 64 tile reads 256 bytes of B per
24-cycle K step, which L3 serves: K stays whole up to 21845 (a 6-row A panel in 512 KiB), and a
B block over 4 MiB (half the 8 MiB table L3) is split in N. Measured on gemm1024, mlp and
gemm_k4096 (CPU time, interleaved, 1 thread): blocking with the L1/L2 rule alone was 0 to 5%
slower than none, the kernel being compute-bound near the FMA peak with B streamed from L3.

Cost: cycles per K step of a tile are the larger of the FMA issue time and the load issue
time; the grid of padded tiles times K steps, over the clock, is the compute time, and the
bytes of A and B streamed from L2 (B re-read once per A panel when it does not fit in L2, from
L3 then) give a bandwidth floor. It ranks candidates before measuring and is the scheduler's
prior; it is not a prediction to the percent.
"""

from __future__ import annotations

from dataclasses import replace

from .config import ORDERS, GemmShape, KernelConfig
from .target_info import TargetInfo

MAX_ROW_VECTORS = 4
"""Vectors per tile row: each is a stream of B loads; BLIS kernels stop at 4."""
MAX_ROWS = 16
L2_BYTES_PER_CYCLE = 32.0
L3_BYTES_PER_CYCLE = 16.0
ROWS_SHARE = 0.75
"""The share of L3's bandwidth a stream of B rows sustains (module docstring): `nr` floats from
each row, N floats apart, rather than one contiguous stream of panels."""
F32_BYTES = 4
K_MULTIPLE = 8
"""kc is a multiple of this (whole unrolled K steps) unless it is all of K."""
REGION_SECONDS = 5e-6
"""What one parallel region (a cache block's tile grid) costs to start and join."""


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


def issue_cycles(config: KernelConfig, info: TargetInfo) -> float:
    """Cycles one K step of the tile takes to issue: its FMAs or its loads, the slower."""
    micro = info.micro
    return max(
        config.mr * config.nr_vectors / micro.fma_pipes,
        (config.mr + config.nr_vectors) / micro.load_ports,
    )


def stream_factor(config: KernelConfig, info: TargetInfo) -> float:
    """The share of the tile's FMA rate that a stream of B rows sustains (`nr` floats a K step
    at `ROWS_SHARE` of L3's bandwidth; module docstring): 1.0 when it keeps up."""
    stream_cycles = config.nr * F32_BYTES / (ROWS_SHARE * L3_BYTES_PER_CYCLE)
    return min(1.0, issue_cycles(config, info) / stream_cycles)


def score(shape: GemmShape, config: KernelConfig, info: TargetInfo) -> float:
    ratio = load_ratio(config.mr, config.nr_vectors)
    # B's compile-time panels stream at L3's full rate; one A panel reads B once whatever
    # the tile: nothing to save
    if not shape.b_panels and shape.m > config.mr:
        ratio *= stream_factor(config, info)
    return ratio / edge_waste(shape, config.mr, config.nr)


def ranked_microkernels(shape: GemmShape, info: TargetInfo, lanes: int) -> list[KernelConfig]:
    """The micro-kernels for `shape`, best first (ties: wider, then taller)."""
    configs = [KernelConfig(mr, nv, lanes) for mr, nv in microkernels(info, lanes)]
    configs = [c for c in configs if c.nr <= max(shape.n, lanes)]
    return sorted(configs, key=lambda c: (-score(shape, c, info), -c.nr_vectors, -c.mr))


def default_config(shape: GemmShape, info: TargetInfo) -> KernelConfig:
    """What an untuned compile uses for a contraction of `shape`."""
    ranked = ranked_microkernels(shape, info, info.lanes)
    if not ranked:
        return KernelConfig(1, 1, info.lanes)
    return ranked[0]


def _equalized(size: int, total: int, multiple: int) -> int:
    """`size` (at least `multiple`) made equal for every block of `total`: the number of
    blocks `size` gives, then the smallest multiple of `multiple` that covers `total` in
    that many blocks; `total` itself when one block does."""
    size = max(size // multiple * multiple, multiple)
    if size >= total:
        return total
    blocks = _ceil(total, size)
    return min(_ceil(_ceil(total, blocks), multiple) * multiple, total)


def stream_level(config: KernelConfig, info: TargetInfo, b_rows: bool = False) -> int:
    """The cache level the tiles may stream their non-reused operand from: L3 when its
    bandwidth covers the bytes per cycle the tile reads of it (`nr` floats a K step in order
    `mn`, `mr` in `nm`, over the step's issue cycles) and the stream is contiguous (not
    `b_rows`, B read as rows in order `mn`), else L2."""
    if b_rows and config.order == ORDERS[0]:
        return 2
    streamed = config.nr if config.order == ORDERS[0] else config.mr
    rate = streamed * F32_BYTES / issue_cycles(config, info)
    return 3 if rate <= L3_BYTES_PER_CYCLE else 2


def cache_blocks(shape: GemmShape, config: KernelConfig, info: TargetInfo) -> tuple[int, int, int]:
    """(kc, mc, nc) for `config` on `shape`: its own where set, else the module docstring's
    rule. kc is at most K, mc a multiple of mr, nc of nr, each at most the padded dimension."""
    m_whole = _ceil(shape.m, config.mr) * config.mr
    n_whole = _ceil(shape.n, config.nr) * config.nr
    resident = (config.mr if config.order == ORDERS[0] else config.nr) * F32_BYTES
    level = stream_level(config, info, b_rows=not shape.b_panels)
    half_l1, half_l2 = info.cache(1).size // 2, info.cache(2).size // 2
    kc = config.kc
    if not kc and level == 3 and resident * shape.k <= half_l2:
        kc = shape.k  # the reused micro-panel may sit in L2: the stream is not from there
    kc = min(kc or _equalized(half_l1 // resident, shape.k, K_MULTIPLE), shape.k)
    streamed_rows = info.cache(level).size // 2 // (kc * F32_BYTES)
    if config.order == ORDERS[0]:
        mc = config.mc or m_whole
        nc = config.nc or _equalized(streamed_rows, n_whole, config.nr)
    else:
        mc = config.mc or _equalized(streamed_rows, m_whole, config.mr)
        nc = config.nc or n_whole
    return kc, min(mc, m_whole), min(nc, n_whole)


def resolved(shape: GemmShape, config: KernelConfig, info: TargetInfo) -> KernelConfig:
    """`config` with its blocks set (cache_blocks)."""
    kc, mc, nc = cache_blocks(shape, config, info)
    return replace(config, kc=kc, mc=mc, nc=nc)


def estimate_seconds(shape: GemmShape, config: KernelConfig, info: TargetInfo) -> float:
    """A roofline-style time for `config` on `shape` (module docstring)."""
    micro = info.micro
    mr, nv = config.mr, config.nr_vectors
    kc, mc, nc = cache_blocks(shape, config, info)
    fma_cycles = mr * nv / micro.fma_pipes
    load_cycles = (mr + nv) / micro.load_ports
    tiles = _ceil(shape.m, mr) * _ceil(shape.n, config.nr)
    # a vector narrower than the unit takes the same issue slot: more tiles, same cycles each
    compute = tiles * shape.k * max(fma_cycles, load_cycles) / (micro.ghz * 1e9)
    half_l1, half_l2 = info.cache(1).size // 2, info.cache(2).size // 2
    m_whole = _ceil(shape.m, mr) * mr
    n_whole = _ceil(shape.n, config.nr) * config.nr
    if config.order == ORDERS[0]:
        # each A micro-panel stays in L1 while the B block streams past it
        streamed = _ceil(shape.m, mr) * shape.k * n_whole * F32_BYTES
        panel, block = mr * kc * F32_BYTES, kc * nc * F32_BYTES
    else:
        # each B micro-panel stays in L1 while the A block streams past it
        streamed = _ceil(shape.n, config.nr) * shape.k * m_whole * F32_BYTES
        panel, block = config.nr * kc * F32_BYTES, mc * kc * F32_BYTES
    if panel > half_l1:
        compute *= 1.1  # the reused micro-panel spills to L2 and competes with the stream
    bandwidth = L2_BYTES_PER_CYCLE if block <= half_l2 else L3_BYTES_PER_CYCLE
    k_blocks = _ceil(shape.k, kc)
    # the sums go out and come back between K blocks
    partials = 2 * (k_blocks - 1) * m_whole * n_whole * F32_BYTES
    memory = (streamed / bandwidth + partials / L2_BYTES_PER_CYCLE) / (micro.ghz * 1e9)
    regions = k_blocks * _ceil(m_whole, mc) * _ceil(n_whole, nc)
    return max(compute, memory) + regions * REGION_SECONDS
