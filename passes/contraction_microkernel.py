"""contraction-microkernel: matmuls and convolutions on memrefs as packed, register-blocked,
vectorized micro-kernels with their elementwise producer and consumers fused in.

The GEMM form of a contraction (passes/contraction_match.py) is computed as BLIS does: A is
packed into panels of `mr` rows (`Ap[M/mr][K][mr]`), and each `mr` x `nr` tile of C (`nr` =
`nr-vectors` x `lanes` columns) is one micro-kernel: `mr * nr-vectors` vector accumulators
held in registers over the whole K loop, one vector load per `lanes` columns of B and one
broadcast per row of Ap per step, then `vector.fma`. B is packed at run time as rows
(`Bt[K][N]`, zero padded to whole tiles), each row a contiguous copy: a convolution's input
becomes its im2col rows (implicit GEMM: packing reads A and B through their own indexing
maps). A B that already is such rows (row-major `[batch][K][N]`, N a whole number of tiles:
a 1x1 convolution's input, attention's V) is not packed by element: its rows are copied by
vectors into panels `Bp[N/nr][K][nr]` (when N is more than one tile), which the K loop reads
as one contiguous stream instead of one row N floats apart per step. Weights are packed once at
compile time (contraction_weights.py), B then as panels `Bp[N/nr][K][nr]` that the K loop
reads contiguously. Tiles are independent: they run in one `scf.parallel` over (A panel,
B panel), one per cache block when `kc`, `mc` or `nc` split K, M or N (BLIS's loops: N
blocks, in each the K blocks, in each the M blocks); between K blocks a tile's sums wait in
the output (or the staging buffer) and the next block continues them in the same order.

The tile's accumulators leave the registers once, through the fused epilogue: the
initializing op of C (a fill, a broadcast bias) is added to them, then each elementwise
consumer of C in turn (bias, batchnorm, activation, residual add) is applied in registers,
and only the last result is stored. When M is not a whole number of tiles, the rows of the
last A panel past C are not stored (a compare per row, only for the rows that can be past
it). When N is not, the tiles store their accumulators in a staging buffer instead and one
copy-back loop (which LLVM vectorizes) applies the epilogue to the part inside C: one code
path per tile, not one per kind of edge.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.builder import Builder
from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import DictionaryAttr, IntegerAttr, ModuleOp, StringAttr
from xdsl.ir import Operation
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint

from ..lowering.locations import fused_location, locate_insertions
from .contraction_match import (
    Contraction,
    erase_fusion,
    find_fusion,
    match_contraction,
)
from .contraction_tiles import TileKernel
from .contraction_weights import erase_unused_weights, prepacked_lhs, prepacked_rhs

CONFIG_ATTR = "terrace.config"
"""The per-op config (apply-tuning): its `mr`, `nr_vectors`, `lanes`, `order`, `kc`, `mc` and
`nc` win over the pass's options for that contraction."""

# helpers


@dataclass(frozen=True)
class TileOptions:
    mr: int
    nr_vectors: int
    lanes: int
    order: str
    kc: int = 0
    mc: int = 0
    nc: int = 0


def _int_entry(config: DictionaryAttr, name: str, default: int) -> int:
    value = config.data.get(name)
    return value.value.data if isinstance(value, IntegerAttr) else default


def tile_options(op: Operation, defaults: TileOptions) -> TileOptions:
    """The op's `terrace.config` entries, each missing one from `defaults`."""
    config = op.attributes.get(CONFIG_ATTR)
    if not isinstance(config, DictionaryAttr):
        return defaults
    order = config.data.get("order")
    return TileOptions(
        _int_entry(config, "mr", defaults.mr),
        _int_entry(config, "nr_vectors", defaults.nr_vectors),
        _int_entry(config, "lanes", defaults.lanes),
        order.data if isinstance(order, StringAttr) else defaults.order,
        _int_entry(config, "kc", defaults.kc),
        _int_entry(config, "mc", defaults.mc),
        _int_entry(config, "nc", defaults.nc),
    )


# the pass


@dataclass(frozen=True)
class ContractionMicrokernelPass(ModulePass):
    """Rewrite contractions on memrefs into packed, vectorized micro-kernels.

    Input: linalg on memrefs (after bufferize, before memory-plan). A `linalg.generic` that
    computes `C += A * B` in f32 with a projected-permutation map for C, whose trailing dims
    (the N dims, at least `lanes` elements in all) are indexed by B and not by A and which has
    an M dim (indexed by A, not B): matmuls, batch matmuls, Gemm, and convolutions in NCHW
    (N = the output pixels, M = the output channels, K = input channels x window; any stride,
    dilation or padding already applied by the input's map). Depthwise convolutions (no M dim)
    and contractions under `min-work` multiply-adds stay as they are.
    Output: `memref.alloc` packing buffers (none for a B read in place: a
    `memref.collapse_shape` view), scf.for packing loops, scf.for loops over the cache blocks
    and in each block one `scf.parallel` over `mr` x (`nr-vectors` x `lanes`) tiles with
    `vector.load` / `vector.broadcast` / `vector.fma` micro-kernels and the fused epilogue
    (`vector.store`; through a staging buffer and a copy-back loop when tiles overhang C).
    The initializing op of C and, with `fuse-epilogue`, the chain of elementwise consumers
    reading C (arith bodies only) are folded into the tile and erased with their
    intermediate buffers.
    Options: mr (rows per tile, 8), nr-vectors (vectors per tile row, 2), lanes (f32 lanes of
    the target's vectors, 16 for AVX-512), order (`mn`: the tile grid walks the B panels inside
    each A panel; `nm`: the A panels inside each B panel), kc, mc, nc (K steps, rows and
    columns of C per cache block; 0: the whole dimension, no blocking), fma (true:
    `vector.fma`; false: `arith.mulf` and `arith.addf`, for vector units without a fused
    multiply-add), min-work
    (multiply-adds below which a contraction is left alone, 4096), fuse-epilogue (true),
    pack-weights (true: an A or B that is a weight of `@main` indexed by the contraction's loops
    alone is packed once at compile time into a new weight argument, and the original argument
    is dropped when nothing else reads it). A contraction's `terrace.config` attribute
    (apply-tuning) overrides mr, nr-vectors, lanes, order, kc, mc and nc for that contraction.
    """

    name = "contraction-microkernel"

    mr: int = 8
    nr_vectors: int = 2
    lanes: int = 16
    order: str = "mn"
    kc: int = 0
    mc: int = 0
    nc: int = 0
    fma: bool = True
    min_work: int = 4096
    fuse_epilogue: bool = True
    pack_weights: bool = True

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for function in op.ops:
            if isinstance(function, func.FuncOp) and function.body.blocks:
                self._rewrite_function(function)

    def _rewrite_function(self, function: func.FuncOp) -> None:
        block = function.body.block
        # rewritten, or no candidate: a rewrite changes neither what an op is nor its
        # operands' types, so each op is matched once, not once per rewrite before it
        done: set[Operation] = set()
        while True:
            ops = list(block.ops)
            found = next(
                (
                    (i, c)
                    for i, op in enumerate(ops)
                    if op not in done and (c := self._candidate_once(op, done))
                ),
                None,
            )
            if found is None:
                if self.pack_weights:
                    erase_unused_weights(function)
                return
            at, contraction = found
            done.add(contraction.op)
            fusion = find_fusion(ops, at, contraction, self.fuse_epilogue)
            last = max(ops.index(op) for op in fusion.fused_ops)
            builder = Builder(InsertPoint.before(ops[last]))
            # the packing and tile loops compute the fused ONNX nodes: they carry their names
            locate_insertions(builder, fused_location(fusion.fused_ops))
            tiles = tile_options(contraction.op, self._defaults())
            kernel = TileKernel(
                fusion,
                tiles.mr,
                tiles.nr_vectors,
                tiles.lanes,
                self.fma,
                order=tiles.order,
                kc=tiles.kc,
                mc=tiles.mc,
                nc=tiles.nc,
            )
            if self.pack_weights:
                kernel.packed_a = prepacked_lhs(function, contraction, tiles.mr)
                kernel.packed_b = prepacked_rhs(function, contraction, kernel.nr)
            kernel.emit(builder)
            erase_fusion(fusion)

    def _candidate_once(self, op: Operation, done: set[Operation]) -> Contraction | None:
        candidate = self._candidate(op)
        if candidate is None:
            done.add(op)
        return candidate

    def _candidate(self, op: Operation) -> Contraction | None:
        contraction = match_contraction(op)
        if contraction is None:
            return None
        work = contraction.m_size * contraction.n_size * contraction.k_size
        lanes = tile_options(op, self._defaults()).lanes
        if work < self.min_work or contraction.n_size < lanes:
            return None
        return contraction

    def _defaults(self) -> TileOptions:
        return TileOptions(
            self.mr, self.nr_vectors, self.lanes, self.order, self.kc, self.mc, self.nc
        )
