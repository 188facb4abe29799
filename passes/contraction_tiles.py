"""The tiles of contraction-microkernel: packing loops, the register-blocked vector
micro-kernel and the fused epilogue, emitted for one `Fusion` (passes/contraction_match.py);
passes/contraction_microkernel.py describes the scheme; the loops and views they are built
from are in contraction_loops.py."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import cast

from xdsl.builder import Builder
from xdsl.dialects import arith, memref, scf, vector
from xdsl.dialects.builtin import (
    DenseArrayBase,
    DenseIntOrFPElementsAttr,
    FloatAttr,
    MemRefType,
    VectorType,
    f32,
    i64,
)
from xdsl.dialects.linalg import ops as linalg
from xdsl.ir import Attribute, Block, Region, SSAValue
from xdsl.ir.affine import AffineConstantExpr, AffineDimExpr, AffineExpr, AffineMap
from xdsl.rewriter import InsertPoint
from xdsl.utils.hints import isa

from .contraction_loops import (
    TileBlock,
    apply_map,
    block_range,
    collapse_groups,
    collapse_trailing,
    compare,
    constant,
    for_blocks,
    for_loop,
    if_then,
    index,
    linear_index,
    loop_nest,
    parallel_for,
)
from .contraction_match import (
    Fusion,
    Stage,
    aliases,
    indexing_maps,
    is_contiguous,
    vector_body_op,
)

# the micro-kernel


@dataclass
class TileKernel:
    """Emits the tiles of one fusion; `packed_a` / `packed_b`, when given, are panels packed
    at compile time (contraction_weights.py) and their packing loops are left out."""

    fusion: Fusion
    mr: int
    nr_vectors: int
    lanes: int
    fma: bool = True
    """Fused multiply-adds (`vector.fma`); False: `arith.mulf` then `arith.addf`, for vector
    units without a fused instruction (which LLVM would otherwise call libm's fmaf for)."""
    packed_a: SSAValue | None = None
    packed_b: SSAValue | None = None
    order: str = "mn"
    """`mn`: the tile grid's B panels vary fastest (each A panel stays in L1); `nm`: the A
    panels do (each B panel stays in L1)."""
    kc: int = 0
    """Steps of the K loop per K block (0: all of K). Between blocks a tile's accumulators
    go to memory (the output, or the staging buffer) and come back for the next block, which
    continues the same sum in the same order."""
    mc: int = 0
    """Rows of C per M block (0: all of M), whole `mr` panels."""
    nc: int = 0
    """Columns of C per N block (0: all of N), whole `nr` panels."""
    a_panels: SSAValue = field(init=False)
    b_panels: SSAValue = field(init=False)
    staging: SSAValue | None = field(init=False, default=None)
    partials: SSAValue | None = field(init=False, default=None)
    """Where a tile's sums wait between K blocks (None: one K block)."""
    guarded_from: int = field(init=False, default=0)
    """The first row of a tile whose stores and loads of C are guarded by `row < M` (`mr`:
    none; tiles that overhang C in M and not in N store the rows inside C directly instead
    of through the staging buffer)."""
    b_rows: SSAValue | None = field(init=False, default=None)
    """B as rows `[K][N]` (packed at run time, or read in place), when the tiles read it from
    the panels `b_panels` it is copied into (None: the tiles read B's rows, or its panels
    packed at compile time)."""
    b_prefix: list[int | None] = field(init=False, default_factory=list[int | None])
    """B read in place: the dim of C that indexes each of its leading (batch) dims (None:
    a dim of one element)."""

    def __post_init__(self) -> None:
        self.pack_a_at_run_time = False
        self.pack_b_at_run_time = False
        self.b_in_place = False
        self.c = self.fusion.contraction
        self.nr = self.nr_vectors * self.lanes
        self.vector_type = VectorType(f32, [self.lanes])
        self.k_extents = [self.c.ranges[loop] for loop in self.c.k_loops]
        self.n_extents = [self.c.ranges[self.c.out_loops[d]] for d in self.c.n_dims]
        self.views: dict[SSAValue, SSAValue] = {}

    def _multiply_add(
        self, builder: Builder, lhs: SSAValue, rhs: SSAValue, acc: SSAValue
    ) -> SSAValue:
        if self.fma:
            return builder.insert(vector.FMAOp(lhs, rhs, acc)).res
        product = builder.insert(arith.MulfOp(lhs, rhs)).result
        return builder.insert(arith.AddfOp(acc, product)).result

    # values of dims and loops

    def _zero(self, builder: Builder) -> SSAValue:
        return constant(builder, 0)

    def _c_dims(self, builder: Builder, outer: dict[int, SSAValue], m: SSAValue) -> list[SSAValue]:
        """The value of every dim of C at row `m` (the N dims at 0)."""
        zero = self._zero(builder)
        return [outer.get(d, m if d == self.c.m_dim else zero) for d in range(self.c.rank)]

    def _loops(
        self,
        builder: Builder,
        outer: dict[int, SSAValue],
        by_loop: dict[int, SSAValue],
    ) -> list[SSAValue]:
        """The value of every loop of the contraction (unset ones at 0)."""
        zero = self._zero(builder)
        values = [by_loop.get(loop, zero) for loop in range(len(self.c.ranges))]
        for d, value in outer.items():
            values[self.c.out_loops[d]] = value
        return values

    def _view(self, builder: Builder, value: SSAValue) -> SSAValue:
        if value not in self.views:
            self.views[value] = collapse_trailing(builder, value, len(self.c.n_dims))
        return self.views[value]

    # emission

    def emit(self, builder: Builder) -> None:
        m, n, k = self.c.m_size, self.c.n_size, self.c.k_size
        panels_m, panels_n = -(-m // self.mr), -(-n // self.nr)
        a_panels, b_panels = self.packed_a, self.packed_b
        if a_panels is None:
            a_panels = builder.insert(memref.AllocOp.get(f32, 64, [panels_m, k, self.mr])).memref
            self.pack_a_at_run_time = True
        if b_panels is None:
            b_panels = self._b_in_place(builder)
            self.b_in_place = b_panels is not None
        if b_panels is None:
            # at run time B is packed as rows [K][N rounded up to nr]: each row is a
            # contiguous copy (im2col rows of a convolution), which vectorizes
            rows = memref.AllocOp.get(f32, 64, [k, panels_n * self.nr])
            b_panels = builder.insert(rows).memref
            self.pack_b_at_run_time = True
        self.a_panels, self.b_panels = a_panels, b_panels
        if self.b_in_place and panels_n > 1:
            # B's rows, N floats apart, are copied into panels [N/nr][K][nr] so that the
            # tiles' K loop reads one contiguous stream, as it does a weight's panels: a
            # stream of rows crosses a page every K step, which the prefetchers do not follow
            # (a 1x1 convolution 64 -> 256 at 56 x 56, 6 x 16 tiles: 0.6x the time read in
            # place, copy included; an im2col's rows, copied once more, gained nothing)
            self.b_rows = b_panels
            panels = memref.AllocOp.get(f32, 64, [panels_n, k, self.nr])
            self.b_panels = builder.insert(panels).memref
        several_k_blocks = 0 < self.kc < k
        # tiles that overhang C in M only store their rows inside C (a compare per row of
        # the last panel); an overhang in N (part of a vector) goes through the staging buffer
        if n % self.nr or (several_k_blocks and not self._output_holds_sums()):
            staging = memref.AllocOp.get(f32, 64, [panels_m * self.mr, panels_n * self.nr])
            self.staging = builder.insert(staging).memref
        for value in self._vector_operands():
            self._view(builder, value)
        if several_k_blocks:
            self.partials = self.staging or self.views[self.fusion.output]
        # without the staging buffer, rows of the last A panel from `M % mr` on are past C
        self.guarded_from = self.mr if self.staging is not None else m % self.mr or self.mr
        outer_dims = self.c.outer_dims
        extents = [self.c.ranges[self.c.out_loops[d]] for d in outer_dims]

        def body(inner: Builder, ivs: list[SSAValue]) -> None:
            outer = dict(zip(outer_dims, ivs, strict=True))
            if self.pack_a_at_run_time:
                self._pack_a(inner, outer, panels_m)
            if self.pack_b_at_run_time:
                self._pack_b(inner, outer, panels_n)
            if self.b_rows is not None:
                self._rows_to_panels(inner, outer, panels_n)
            self._tiles(inner, outer, panels_m, panels_n)
            if self.staging is not None:
                self._copy_back(inner, outer)

        loop_nest(builder, extents, body)

    def _vector_operands(self) -> list[SSAValue]:
        values = [self.fusion.output]
        if self.fusion.prologue is None:
            values.append(self.c.out)
        for stage in [
            *([self.fusion.prologue] if self.fusion.prologue else []),
            *self.fusion.epilogue,
        ]:
            for value, map_ in zip(stage.op.inputs, indexing_maps(stage.op), strict=False):
                if isa(value.type, MemRefType[Attribute]) and map_.used_dims() & set(self.c.n_dims):
                    values.append(value)
        return values

    def _pack_a(self, builder: Builder, outer: dict[int, SSAValue], panels: int) -> None:
        c, mr = self.c, self.mr
        flat_k = linear_index(self.k_extents)
        m_loop = c.out_loops[c.m_dim]

        def row(b: Builder, m: SSAValue) -> None:
            panel = apply_map(b, AffineExpr.dimension(0) // mr, 1, [m])
            lane = apply_map(b, AffineExpr.dimension(0) % mr, 1, [m])

            def copy(inner: Builder) -> None:
                def element(b2: Builder, k_ivs: list[SSAValue]) -> None:
                    by_loop = {m_loop: m, **dict(zip(c.k_loops, k_ivs, strict=True))}
                    loops = self._loops(b2, outer, by_loop)
                    indices = [apply_map(b2, e, len(loops), loops) for e in c.lhs_map.results]
                    value = b2.insert(memref.LoadOp.get(c.lhs, indices)).res
                    kf = flat_k(b2, k_ivs)
                    b2.insert(memref.StoreOp.get(value, self.a_panels, [panel, kf, lane]))

                loop_nest(inner, self.k_extents, element)

            def zeros(inner: Builder) -> None:
                self._zero_fill(inner, self.a_panels, panel, lane)

            if c.m_size % mr == 0:
                copy(b)
            else:
                less = compare(b, m, "slt", constant(b, c.m_size))
                if_then(b, less, copy, zeros)

        parallel_for(builder, panels * mr, row)

    def _zero_fill(
        self, builder: Builder, packed: SSAValue, panel: SSAValue, lane: SSAValue
    ) -> None:
        zero = builder.insert(arith.ConstantOp(FloatAttr(0.0, f32))).result

        def store(b: Builder, kf: SSAValue, _: Sequence[SSAValue]) -> list[SSAValue]:
            b.insert(memref.StoreOp.get(zero, packed, [panel, kf, lane]))
            return []

        for_loop(builder, constant(builder, 0), constant(builder, self.c.k_size), store)

    def _pack_b(self, builder: Builder, outer: dict[int, SSAValue], panels: int) -> None:
        """B as rows `[K][N]` (the columns past N zero): row kf holds B at the K loops of kf
        for every flat N index, the N loops innermost."""
        c, nr = self.c, self.nr
        target = self.b_rows or self.b_panels
        flat_k = linear_index(self.k_extents)
        flat_n = linear_index(self.n_extents)
        n_loops = [c.out_loops[d] for d in c.n_dims]

        def element(b: Builder, ivs: list[SSAValue]) -> None:
            k_ivs, n_ivs = ivs[: len(c.k_loops)], ivs[len(c.k_loops) :]
            by_loop = dict(zip(c.k_loops, k_ivs, strict=True)) | dict(
                zip(n_loops, n_ivs, strict=True)
            )
            loops = self._loops(b, outer, by_loop)
            indices = [apply_map(b, e, len(loops), loops) for e in c.rhs_map.results]
            value = b.insert(memref.LoadOp.get(c.rhs, indices)).res
            b.insert(memref.StoreOp.get(value, target, [flat_k(b, k_ivs), flat_n(b, n_ivs)]))

        # rows of different k are disjoint: all K loops form the parallel range (the first
        # alone may be a convolution's 3 input channels, a 2:1 split on 2 threads)
        extents = [*self.k_extents, *self.n_extents]
        loop_nest(builder, extents, element, parallel_dims=len(self.k_extents))
        if not c.n_size % nr:
            return
        zero = builder.insert(arith.ConstantOp(FloatAttr(0.0, f32))).result

        def row(b: Builder, kf: SSAValue, _: Sequence[SSAValue]) -> list[SSAValue]:
            def column(inner: Builder, n: SSAValue, _: Sequence[SSAValue]) -> list[SSAValue]:
                inner.insert(memref.StoreOp.get(zero, target, [kf, n]))
                return []

            for_loop(b, constant(b, c.n_size), constant(b, panels * nr), column)
            return []

        for_loop(builder, constant(builder, 0), constant(builder, c.k_size), row)

    def _rows_to_panels(self, builder: Builder, outer: dict[int, SSAValue], panels: int) -> None:
        """B's rows into panels `[N/nr][K][nr]`: for each row (in parallel), each panel's `nr`
        columns as `nr-vectors` vector loads and stores."""
        rows = self.b_rows
        assert rows is not None

        def row(b: Builder, kf: SSAValue) -> None:
            def panel(inner: Builder, p: SSAValue, _: Sequence[SSAValue]) -> list[SSAValue]:
                for v in range(self.nr_vectors):
                    at = self._row_indices(inner, outer, p, kf, v)
                    value = inner.insert(vector.LoadOp(rows, at, self.vector_type)).result
                    place = [p, kf, constant(inner, v * self.lanes)]
                    inner.insert(vector.StoreOp(value, self.b_panels, place))
                return []

            for_loop(b, constant(b, 0), constant(b, panels), panel)

        parallel_for(builder, self.c.k_size, row)

    def _output_holds_sums(self) -> bool:
        """Whether the tiles may keep their sums in the output between K blocks: nothing the
        fusion reads is a view of it, and it does not hold C's initial value (a C with no
        prologue and no epilogue is read, as the initial value, after the last block)."""
        fusion = self.fusion
        if fusion.prologue is None and not fusion.epilogue:
            return False
        output = aliases(fusion.output)
        stages = [*([fusion.prologue] if fusion.prologue else []), *fusion.epilogue]
        read = [self.c.lhs, self.c.rhs, *(v for s in stages for v in s.op.inputs)]
        return not any(value in output for value in read)

    def _b_in_place(self, builder: Builder) -> SSAValue | None:
        """B as it is, viewed as `[batch...][K][N]`, when it already is that row-major,
        contiguous matrix (batch dims indexed by outer dims of C, then the K loops, then the N
        loops, in the GEMM form's order; loops and dims of one iteration anywhere) and N is a
        whole number of tiles; else None (B is packed). Nothing is copied: the tiles' row
        loads read B's rows."""
        c = self.c
        type_ = c.rhs.type
        if c.n_size % self.nr or not is_contiguous(c.rhs) or not isa(type_, MemRefType[Attribute]):
            return None
        entries = self._rhs_entries(type_.get_shape())
        k_loops = [loop for loop in c.k_loops if c.ranges[loop] > 1]
        n_loops = [c.out_loops[d] for d in c.n_dims if c.ranges[c.out_loops[d]] > 1]
        if entries is None or not k_loops or not n_loops:
            return None
        if [e for e in entries if e is not None][-len(k_loops) - len(n_loops) :] != [
            *k_loops,
            *n_loops,
        ]:
            return None
        k_start, n_start = entries.index(k_loops[0]), entries.index(n_loops[0])
        outer = {c.out_loops[d]: d for d in c.outer_dims}
        if any(e is not None and e not in outer for e in entries[:k_start]):
            return None
        self.b_prefix = [None if e is None else outer[e] for e in entries[:k_start]]
        groups = [[d] for d in range(k_start)]
        groups += [list(range(k_start, n_start)), list(range(n_start, len(entries)))]
        return collapse_groups(builder, c.rhs, groups)

    def _rhs_entries(self, shape: Sequence[int]) -> list[int | None] | None:
        """The loop each dim of B is indexed by (None: a dim of one element at 0, or a loop
        of one iteration), when B's map is that simple and its dims are the loops' extents."""
        c = self.c
        # loops of one iteration are 0 (a 1x1 convolution's window: `y + ky` is `y`)
        dims = [
            AffineExpr.constant(0) if extent == 1 else AffineExpr.dimension(loop)
            for loop, extent in enumerate(c.ranges)
        ]
        entries: list[int | None] = []
        for result, size in zip(c.rhs_map.results, shape, strict=True):
            expr = result.replace_dims_and_symbols(dims, [])
            if isinstance(expr, AffineDimExpr) and c.ranges[expr.position] == size:
                entries.append(expr.position)
            elif isinstance(expr, AffineConstantExpr) and expr.value == 0 and size == 1:
                entries.append(None)
            else:
                return None
        return entries

    def _b_indices(
        self,
        builder: Builder,
        outer: dict[int, SSAValue],
        panel: SSAValue,
        kf: SSAValue,
        v: int,
    ) -> list[SSAValue]:
        """Where vector `v` of a tile's row of B is: panels `[N/nr][K][nr]` when packed at
        compile time, rows `[K][N]` when packed at run time or read in place."""
        if self.b_rows is not None or not (self.pack_b_at_run_time or self.b_in_place):
            return [panel, kf, constant(builder, v * self.lanes)]
        return self._row_indices(builder, outer, panel, kf, v)

    def _row_indices(
        self,
        builder: Builder,
        outer: dict[int, SSAValue],
        panel: SSAValue,
        kf: SSAValue,
        v: int,
    ) -> list[SSAValue]:
        """Where vector `v` of panel `panel` is in row `kf` of B's rows `[batch...][K][N]`."""
        column = apply_map(builder, AffineExpr.dimension(0) * self.nr + v * self.lanes, 1, [panel])
        prefix = [constant(builder, 0) if d is None else outer[d] for d in self.b_prefix]
        return [*prefix, kf, column]

    def _tiles(
        self, builder: Builder, outer: dict[int, SSAValue], panels_m: int, panels_n: int
    ) -> None:
        """The tile grid, in cache blocks as BLIS orders them: N blocks of `nc` columns, in
        each the K blocks of `kc` steps, in each the M blocks of `mc` rows; every block one
        `scf.parallel` over its tiles."""
        k = self.c.k_size
        k_step = self.kc if 0 < self.kc < k else k
        m_step = max(self.mc // self.mr, 1) if self.mc > 0 else panels_m
        n_step = max(self.nc // self.nr, 1) if self.nc > 0 else panels_n
        k_blocks = -(-k // k_step)

        def n_block(b: Builder, jc: SSAValue | None) -> None:
            def k_block(b2: Builder, pc: SSAValue | None) -> None:
                def m_block(b3: Builder, ic: SSAValue | None) -> None:
                    blocks = TileBlock(
                        block_range(b3, ic, m_step, panels_m),
                        block_range(b3, jc, n_step, panels_n),
                        block_range(b3, pc, k_step, k),
                        pc,
                        k_blocks,
                    )
                    self._grid(b3, outer, blocks)

                for_blocks(b2, -(-panels_m // m_step), m_block)

            for_blocks(b, k_blocks, k_block)

        for_blocks(builder, -(-panels_n // n_step), n_block)

    def _grid(self, builder: Builder, outer: dict[int, SSAValue], blocks: TileBlock) -> None:
        """One block's tiles: one `scf.parallel` over its A panels and B panels."""
        block = Block(arg_types=[index, index])
        b = Builder(InsertPoint.at_end(block))
        first, second = block.args
        along_m, along_n = (first, second) if self.order == "mn" else (second, first)
        at = AffineExpr.dimension(0) + AffineExpr.dimension(1)
        panel_m = apply_map(b, at, 2, [blocks.m[0], along_m])
        panel_n = apply_map(b, at, 2, [blocks.n[0], along_n])
        m0 = apply_map(b, AffineExpr.dimension(0) * self.mr, 1, [panel_m])
        n0 = apply_map(b, AffineExpr.dimension(0) * self.nr, 1, [panel_n])
        zero = DenseIntOrFPElementsAttr.from_list(self.vector_type, [0.0] * self.lanes)
        zeros = b.insert(arith.ConstantOp(zero, self.vector_type)).result
        count = self.mr * self.nr_vectors
        places = [
            (
                apply_map(b, AffineExpr.dimension(0) + r, 1, [m0]),
                apply_map(b, AffineExpr.dimension(0) + v * self.lanes, 1, [n0]),
            )
            for r in range(self.mr)
            for v in range(self.nr_vectors)
        ]

        def step(inner: Builder, kf: SSAValue, accs: Sequence[SSAValue]) -> list[SSAValue]:
            columns = [
                inner.insert(
                    vector.LoadOp(
                        self.b_panels,
                        self._b_indices(inner, outer, panel_n, kf, v),
                        self.vector_type,
                    )
                ).result
                for v in range(self.nr_vectors)
            ]
            result = list(accs)
            for r in range(self.mr):
                a = inner.insert(
                    memref.LoadOp.get(self.a_panels, [panel_m, kf, constant(inner, r)])
                ).res
                splat = inner.insert(vector.BroadcastOp(a, self.vector_type)).vector
                for v in range(self.nr_vectors):
                    at = r * self.nr_vectors + v
                    result[at] = self._multiply_add(inner, splat, columns[v], result[at])
            return result

        initial = [zeros] * count
        if blocks.pc is not None:
            initial = self._resume(b, outer, blocks.pc, places, zeros)
        k_lo, k_count = blocks.k
        k_hi = apply_map(b, at, 2, [k_lo, k_count])
        accs = list(for_loop(b, k_lo, k_hi, step, initial))
        self._finish(b, outer, blocks, places, accs)
        b.insert(scf.ReduceOp())
        lower = [constant(builder, 0)] * 2
        grid = (blocks.m[1], blocks.n[1]) if self.order == "mn" else (blocks.n[1], blocks.m[1])
        steps = [constant(builder, 1)] * 2
        builder.insert(scf.ParallelOp(lower, list(grid), steps, Region(block)))

    def _partial_indices(
        self, builder: Builder, outer: dict[int, SSAValue], m: SSAValue, nf: SSAValue
    ) -> list[SSAValue]:
        if self.partials is self.staging:
            return [m, nf]
        identity = AffineMap.identity(self.c.rank)
        leading = AffineMap(
            identity.num_dims, 0, identity.results[: self.c.rank - len(self.c.n_dims)]
        )
        return [*self._indices(builder, leading, outer, m), nf]

    def _resume(
        self,
        builder: Builder,
        outer: dict[int, SSAValue],
        pc: SSAValue,
        places: Sequence[tuple[SSAValue, SSAValue]],
        zeros: SSAValue,
    ) -> list[SSAValue]:
        """The accumulators a K block starts from: zero in the first block, the sums the
        previous block stored otherwise."""
        partials = self.partials
        assert partials is not None
        first = compare(builder, pc, "eq", constant(builder, 0))

        def stored(inner: Builder) -> list[SSAValue]:
            def row(b: Builder, cells: Sequence[tuple[SSAValue, SSAValue]]) -> list[SSAValue]:
                return [
                    b.insert(
                        vector.LoadOp(
                            partials, self._partial_indices(b, outer, m, nf), self.vector_type
                        )
                    ).result
                    for m, nf in cells
                ]

            values: list[SSAValue] = []
            for r, cells in enumerate(self._rows(places)):
                if r < self.guarded_from:
                    values += row(inner, cells)
                    continue
                inside = self._inside(inner, cells[0][0])
                types = [self.vector_type] * len(cells)
                loaded = _region(partial(row, cells=cells))
                guarded = scf.IfOp(inside, types, loaded, _yielding([zeros] * len(cells)))
                values += list(inner.insert(guarded).results)
            return values

        types = [self.vector_type] * len(places)
        branch = scf.IfOp(first, types, _yielding([zeros] * len(places)), _region(stored))
        return list(builder.insert(branch).results)

    def _rows(
        self, places: Sequence[tuple[SSAValue, SSAValue]]
    ) -> list[Sequence[tuple[SSAValue, SSAValue]]]:
        """A tile's (row, column) places grouped by row."""
        nv = self.nr_vectors
        return [places[r * nv : (r + 1) * nv] for r in range(self.mr)]

    def _inside(self, builder: Builder, m: SSAValue) -> SSAValue:
        """Whether row `m` is a row of C (not the zero padding of the last A panel)."""
        return compare(builder, m, "slt", constant(builder, self.c.m_size))

    def _each_row(
        self,
        builder: Builder,
        places: Sequence[tuple[SSAValue, SSAValue]],
        accs: Sequence[SSAValue],
        emit: Callable[[Builder, SSAValue, SSAValue, SSAValue], None],
        paired: bool = False,
    ) -> None:
        """`emit(builder, m, nf, acc)` for every accumulator (`paired`: for every two of a
        row joined in one vector, `_paired`, and a last odd one alone), the rows from
        `guarded_from` on under `row < M`."""
        nv = self.nr_vectors
        step = 2 if paired else 1

        def row(
            b: Builder,
            cells: Sequence[tuple[SSAValue, SSAValue]],
            row_accs: Sequence[SSAValue],
        ) -> None:
            for v in range(0, len(cells), step):
                (m, nf), acc = cells[v], row_accs[v]
                if paired and v + 1 < len(cells):
                    acc = _paired(b, acc, row_accs[v + 1])
                emit(b, m, nf, acc)

        for r, cells in enumerate(self._rows(places)):
            row_accs = accs[r * nv : (r + 1) * nv]
            if r < self.guarded_from:
                row(builder, cells, row_accs)
            else:
                inside = self._inside(builder, cells[0][0])
                if_then(builder, inside, partial(row, cells=cells, row_accs=row_accs))

    def _finish(
        self,
        builder: Builder,
        outer: dict[int, SSAValue],
        blocks: TileBlock,
        places: Sequence[tuple[SSAValue, SSAValue]],
        accs: Sequence[SSAValue],
    ) -> None:
        """The accumulators out of the registers: through the epilogue into the output after
        the last K block (into the staging buffer when tiles overhang C); as they are into
        the partial sums after the others."""

        def final(b: Builder) -> None:
            staging = self.staging
            if staging is not None:
                for (m, nf), acc in zip(places, accs, strict=True):
                    b.insert(vector.StoreOp(acc, staging, [m, nf]))
                return

            def out(inner: Builder, m: SSAValue, nf: SSAValue, acc: SSAValue) -> None:
                self._store(inner, outer, m, nf, self._epilogue(inner, outer, m, nf, acc))

            # two vectors of a row at a time: LLVM splits the double-width epilogue back
            # into vectors op by op, which interleaves two independent dependency chains (an
            # exp is about 30 operations in a row; SiLU after EfficientNet-B0's 16 -> 96
            # expansion runs 10% faster, the bits unchanged)
            self._each_row(b, places, accs, out, paired=True)

        def partial(b: Builder) -> None:
            partials = self.partials
            assert partials is not None

            def out(inner: Builder, m: SSAValue, nf: SSAValue, acc: SSAValue) -> None:
                indices = self._partial_indices(inner, outer, m, nf)
                inner.insert(vector.StoreOp(acc, partials, indices))

            self._each_row(b, places, accs, out)

        if blocks.pc is None or self.staging is not None:
            final(builder)
            return
        last = compare(builder, blocks.pc, "eq", constant(builder, blocks.k_blocks - 1))
        if_then(builder, last, final, partial)

    def _copy_back(self, builder: Builder, outer: dict[int, SSAValue]) -> None:
        """When tiles overhang C (M or N not a whole number of tiles) they store their
        accumulators in the staging buffer; its part inside C goes through the epilogue into
        the output here, element by element (an inner loop that LLVM vectorizes)."""
        staging = self.staging
        assert staging is not None

        def row(b: Builder, m: SSAValue) -> None:
            def column(inner: Builder, nf: SSAValue, _: Sequence[SSAValue]) -> list[SSAValue]:
                acc = inner.insert(memref.LoadOp.get(staging, [m, nf])).res
                value = self._epilogue(inner, outer, m, nf, acc)
                self._store(inner, outer, m, nf, value)
                return []

            for_loop(b, constant(b, 0), constant(b, self.c.n_size), column)

        parallel_for(builder, self.c.m_size, row)

    def _indices(
        self, builder: Builder, map_: AffineMap, outer: dict[int, SSAValue], m: SSAValue
    ) -> list[SSAValue]:
        dims = self._c_dims(builder, outer, m)
        return [apply_map(builder, e, self.c.rank, dims) for e in map_.results]

    def _splat(self, builder: Builder, scalar: SSAValue, lanes: int) -> SSAValue:
        splat_type = VectorType(scalar.type, [lanes])
        return builder.insert(vector.BroadcastOp(scalar, splat_type)).vector

    def _load(
        self,
        builder: Builder,
        value: SSAValue,
        map_: AffineMap,
        outer: dict[int, SSAValue],
        m: SSAValue,
        nf: SSAValue,
        lanes: int,
    ) -> SSAValue:
        """`value` at row `m`, column `nf` (a vector of `lanes` columns from `nf`; one element
        if `lanes` is 0)."""
        if not isa(value.type, MemRefType[Attribute]):
            return self._splat(builder, value, lanes) if lanes else value
        if not map_.used_dims() & set(self.c.n_dims):
            indices = self._indices(builder, map_, outer, m)
            scalar = builder.insert(memref.LoadOp.get(value, indices)).res
            return self._splat(builder, scalar, lanes) if lanes else scalar
        count = len(map_.results) - len(self.c.n_dims)
        leading = AffineMap(map_.num_dims, 0, map_.results[:count])
        indices = [*self._indices(builder, leading, outer, m), nf]
        view = self.views[value]
        if lanes:
            return builder.insert(vector.LoadOp(view, indices, VectorType(f32, [lanes]))).result
        return builder.insert(memref.LoadOp.get(view, indices)).res

    def _store(
        self,
        builder: Builder,
        outer: dict[int, SSAValue],
        m: SSAValue,
        nf: SSAValue,
        value: SSAValue,
    ) -> None:
        """`value`, a vector or one element, into the output at row `m`, column `nf`."""
        identity = AffineMap.identity(self.c.rank)
        count = self.c.rank - len(self.c.n_dims)
        leading = AffineMap(identity.num_dims, 0, identity.results[:count])
        indices = [*self._indices(builder, leading, outer, m), nf]
        view = self.views[self.fusion.output]
        if isinstance(value.type, VectorType):
            builder.insert(vector.StoreOp(value, view, indices))
        else:
            builder.insert(memref.StoreOp.get(value, view, indices))

    def _epilogue(
        self,
        builder: Builder,
        outer: dict[int, SSAValue],
        m: SSAValue,
        nf: SSAValue,
        acc: SSAValue,
    ) -> SSAValue:
        """The prologue's value plus `acc`, through the epilogue's stages, on a vector as wide
        as `acc` (one or two of a tile row's vectors, `_finish`) or on one element."""
        lanes = acc.type.get_shape()[0] if isa(acc.type, VectorType[Attribute]) else 0
        identity = AffineMap.identity(self.c.rank)
        prologue = self.fusion.prologue
        if prologue is None:
            initial = self._load(builder, self.c.out, identity, outer, m, nf, lanes)
            acc = builder.insert(arith.AddfOp(initial, acc)).result
        elif not _is_zero_fill(prologue.op):
            initial = self._apply_stage(builder, prologue, None, outer, m, nf, lanes)
            acc = builder.insert(arith.AddfOp(initial, acc)).result
        for stage in self.fusion.epilogue:
            acc = self._apply_stage(builder, stage, acc, outer, m, nf, lanes)
        return acc

    def _apply_stage(
        self,
        builder: Builder,
        stage: Stage,
        chained: SSAValue | None,
        outer: dict[int, SSAValue],
        m: SSAValue,
        nf: SSAValue,
        lanes: int,
    ) -> SSAValue:
        """The stage's body (on vectors of `lanes`, or on elements if 0): its inputs loaded
        at (m, nf), the chain input given."""
        body = stage.op.body.block
        mapping: dict[SSAValue, SSAValue] = {}
        for position, (value, map_) in enumerate(
            zip(stage.op.inputs, indexing_maps(stage.op), strict=False)
        ):
            if position == stage.chain and chained is not None:
                mapping[body.args[position]] = chained
                continue
            loaded = self._load(builder, value, map_, outer, m, nf, lanes)
            mapping[body.args[position]] = loaded
        for inner in body.ops:
            if isinstance(inner, linalg.YieldOp):
                return mapping[inner.operands[0]]
            if lanes:
                mapping[inner.results[0]] = vector_body_op(builder, inner, mapping, lanes)
            else:
                mapping[inner.results[0]] = builder.insert(inner.clone(mapping)).results[0]
        raise AssertionError("a linalg.generic body ends with linalg.yield")


def _region(values: Callable[[Builder], list[SSAValue]]) -> Region:
    """A one-block region yielding what `values` builds in it."""
    block = Block()
    inner = Builder(InsertPoint.at_end(block))
    inner.insert(scf.YieldOp(*values(inner)))
    return Region(block)


def _yielding(values: Sequence[SSAValue]) -> Region:
    """A one-block region yielding `values` (defined outside it)."""
    block = Block()
    block.add_op(scf.YieldOp(*values))
    return Region(block)


def _paired(builder: Builder, lhs: SSAValue, rhs: SSAValue) -> SSAValue:
    """One vector of the lanes of `lhs` then those of `rhs` (two vectors of one type)."""
    width = 2 * cast(VectorType[Attribute], lhs.type).get_shape()[0]
    wide = VectorType(f32, [width])
    return builder.insert(
        vector.ShuffleOp(
            lhs, rhs, DenseArrayBase.from_list(i64, list(range(width))), result_type=wide
        )
    ).result


def _is_zero_fill(op: linalg.GenericOp) -> bool:
    """A fill of +0.0: nothing to add to the accumulators."""
    yielded = list(op.body.block.ops)[-1].operands[0]
    arguments: list[SSAValue] = list(op.body.block.args)
    if yielded not in arguments:
        return False
    value = op.inputs[arguments.index(yielded)]
    owner = value.owner
    if not isinstance(owner, arith.ConstantOp) or not isinstance(owner.value, FloatAttr):
        return False
    number = owner.value.value.data
    return number == 0.0 and str(number) == "0.0"
