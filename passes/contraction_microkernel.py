"""contraction-microkernel: matmuls and convolutions on memrefs as packed, register-blocked,
vectorized micro-kernels with their elementwise producer and consumers fused in.

The GEMM form of a contraction (passes/contraction_match.py) is computed as BLIS does: A is
packed into panels of `mr` rows (`Ap[M/mr][K][mr]`), B into panels of `nr` = `nr-vectors` x
`lanes` columns (`Bp[N/nr][K][nr]`, zero padded), and each `mr` x `nr` tile of C is one
micro-kernel: `mr * nr-vectors` vector accumulators held in registers over the whole K loop,
one vector load per `lanes` columns of Bp and one broadcast per row of Ap per step, then
`vector.fma`. Packing reads A and B through their own indexing maps, so a convolution's
input is packed as im2col panels (implicit GEMM) without materializing the im2col matrix.
Tiles are independent: they run in one `scf.parallel` over (A panel, B panel).

The tile's accumulators leave the registers once, through the fused epilogue: the
initializing op of C (a fill, a broadcast bias) is added to them, then each elementwise
consumer of C in turn (bias, batchnorm, activation, residual add) is applied in registers,
and only the last result is stored. Tiles that cross the edge of M or N use masked loads
and stores.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from xdsl.builder import Builder
from xdsl.context import Context
from xdsl.dialects import affine, arith, func, memref, scf, vector
from xdsl.dialects.builtin import (
    AffineMapAttr,
    ArrayAttr,
    DenseIntOrFPElementsAttr,
    FloatAttr,
    IndexType,
    IntegerAttr,
    MemRefType,
    ModuleOp,
    VectorType,
    f32,
    i1,
    i64,
)
from xdsl.dialects.linalg import ops as linalg
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue
from xdsl.ir.affine import AffineExpr, AffineMap
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter
from xdsl.utils.hints import isa

from .contraction_match import (
    Contraction,
    Stage,
    aliases,
    is_stage_op,
    match_contraction,
    stage_inputs_tileable,
    uses,
    writes,
)

index = IndexType()

# finding the prologue and the epilogue


def _maps(op: linalg.GenericOp) -> list[AffineMap]:
    return [m.data for m in op.indexing_maps.data]


_VECTOR_SAFE = (
    arith.AddfOp,
    arith.SubfOp,
    arith.MulfOp,
    arith.DivfOp,
    arith.MaximumfOp,
    arith.MinimumfOp,
    arith.NegfOp,
    arith.ConstantOp,
    linalg.YieldOp,
)


def _only_arith(op: linalg.GenericOp) -> bool:
    """Float arithmetic the tile applies to vectors as it is (comparisons are left out:
    arith.cmpf has scalar results only in xDSL)."""
    return all(isinstance(inner, _VECTOR_SAFE) for inner in op.body.block.ops)


def _find_prologue(ops: list[Operation], at: int, contraction: Contraction) -> Stage | None:
    """The op that initializes C right before the contraction, if it can run in the tile."""
    buffers = aliases(contraction.out)
    for op in reversed(ops[:at]):
        if not uses(op, buffers):
            continue
        if not is_stage_op(op, contraction) or not isinstance(op, linalg.GenericOp):
            return None
        if op.outputs[0] is not contraction.out or contraction.out in op.inputs:
            return None
        if not stage_inputs_tileable(op, contraction) or not _only_arith(op):
            return None
        return Stage(op, None)
    return None


def _is_removable(buffer: SSAValue, users: set[Operation]) -> bool:
    """An allocation used only by `users` and deallocations, with no views."""
    if not isinstance(buffer.owner, memref.AllocOp):
        return False
    return all(
        use.operation in users or isinstance(use.operation, memref.DeallocOp) for use in buffer.uses
    )


def _next_stage(
    ops: list[Operation], after: int, current: SSAValue, contraction: Contraction
) -> tuple[int, Stage] | None:
    for position in range(after + 1, len(ops)):
        op = ops[position]
        if not uses(op, {current}):
            continue
        if not is_stage_op(op, contraction) or not isinstance(op, linalg.GenericOp):
            return None
        chain = [i for i, v in enumerate(op.inputs) if v is current]
        identity = AffineMap.identity(contraction.rank)
        if len(chain) != 1 or _maps(op)[chain[0]] != identity or op.outputs[0] is current:
            return None
        if not stage_inputs_tileable(op, contraction) or not _only_arith(op):
            return None
        return position, Stage(op, chain[0])
    return None


def _read_buffers(stages: Sequence[Stage], contraction: Contraction) -> set[SSAValue]:
    buffers = aliases(contraction.lhs) | aliases(contraction.rhs)
    for stage in stages:
        for value in stage.op.inputs:
            if isa(value.type, MemRefType[Attribute]):
                buffers |= aliases(value)
    return buffers


@dataclass
class Fusion:
    contraction: Contraction
    prologue: Stage | None
    epilogue: list[Stage]

    @property
    def output(self) -> SSAValue:
        return self.epilogue[-1].op.outputs[0] if self.epilogue else self.contraction.out

    @property
    def fused_ops(self) -> list[Operation]:
        stages = [self.prologue] if self.prologue else []
        fused: list[Operation] = [s.op for s in [*stages, *self.epilogue]]
        return [*fused, self.contraction.op]


def _fusion(ops: list[Operation], at: int, contraction: Contraction, fuse: bool) -> Fusion:
    prologue = _find_prologue(ops, at, contraction)
    start = ops.index(prologue.op) if prologue else at
    fusion = Fusion(contraction, prologue, [])
    read = _read_buffers([prologue] if prologue else [], contraction)
    if any(writes(op, read) for op in ops[start + 1 : at]):
        fusion.prologue = None
        return fusion
    if not fuse or prologue is None:
        return fusion
    current, last = contraction.out, at
    writers: set[Operation] = {prologue.op, contraction.op}
    while True:
        found = _next_stage(ops, last, current, contraction)
        if found is None:
            return fusion
        position, stage = found
        if not _is_removable(current, writers | {stage.op}):
            return fusion
        read = _read_buffers([*fusion.epilogue, stage], contraction)
        if any(writes(op, read) for op in ops[last + 1 : position]):
            return fusion
        fusion.epilogue.append(stage)
        writers = {stage.op}
        current, last = stage.op.outputs[0], position


# building blocks


def _constant(builder: Builder, value: int) -> SSAValue:
    return builder.insert(arith.ConstantOp(IntegerAttr(value, index))).result


def _apply(builder: Builder, expr: AffineExpr, num_dims: int, dims: Sequence[SSAValue]) -> SSAValue:
    map_ = AffineMapAttr(AffineMap(num_dims, 0, (expr,)))
    return builder.insert(affine.ApplyOp(list(dims), map_)).result


def _for(
    builder: Builder,
    lower: SSAValue,
    upper: SSAValue,
    body: Callable[[Builder, SSAValue, Sequence[SSAValue]], Sequence[SSAValue]],
    iter_args: Sequence[SSAValue] = (),
) -> Sequence[SSAValue]:
    block = Block(arg_types=[index, *(v.type for v in iter_args)])
    inner = Builder(InsertPoint.at_end(block))
    yielded = body(inner, block.args[0], block.args[1:])
    inner.insert(scf.YieldOp(*yielded))
    step = _constant(builder, 1)
    return builder.insert(scf.ForOp(lower, upper, step, iter_args, block)).results


def _loop_nest(
    builder: Builder,
    extents: Sequence[int],
    body: Callable[[Builder, list[SSAValue]], None],
) -> None:
    """Nested scf.for loops over `extents` (outermost first)."""

    def level(inner: Builder, ivs: list[SSAValue]) -> None:
        if len(ivs) == len(extents):
            body(inner, ivs)
            return

        def step(b: Builder, iv: SSAValue, _: Sequence[SSAValue]) -> list[SSAValue]:
            level(b, [*ivs, iv])
            return []

        _for(inner, _constant(inner, 0), _constant(inner, extents[len(ivs)]), step)

    level(builder, [])


def _if(
    builder: Builder,
    condition: SSAValue,
    then: Callable[[Builder], None],
    otherwise: Callable[[Builder], None] | None = None,
) -> None:
    regions: list[Region] = []
    for fill in (then, otherwise):
        if fill is None:
            continue
        block = Block()
        fill(Builder(InsertPoint.at_end(block)))
        block.add_op(scf.YieldOp())
        regions.append(Region(block))
    builder.insert(scf.IfOp(condition, [], regions[0], regions[1] if len(regions) > 1 else None))


def _compare(builder: Builder, lhs: SSAValue, predicate: str, rhs: SSAValue) -> SSAValue:
    return builder.insert(arith.CmpiOp(lhs, rhs, predicate)).result


def _linear(extents: Sequence[int]) -> Callable[[Builder, Sequence[SSAValue]], SSAValue]:
    """The row-major flat index of a multi-index over `extents`."""
    exprs = AffineExpr.constant(0)
    stride = 1
    for position in reversed(range(len(extents))):
        exprs = exprs + AffineExpr.dimension(position) * stride
        stride *= extents[position]

    def flat(builder: Builder, ivs: Sequence[SSAValue]) -> SSAValue:
        return _apply(builder, exprs, len(extents), ivs)

    return flat


def collapse_trailing(builder: Builder, value: SSAValue, count: int) -> SSAValue:
    """`value` with its last `count` dims merged into one (they are contiguous)."""
    type_ = value.type
    assert isa(type_, MemRefType[Attribute])
    shape = list(type_.get_shape())
    if count == 1:
        return value
    keep = len(shape) - count
    groups = [[d] for d in range(keep)] + [list(range(keep, len(shape)))]
    merged = 1
    for extent in shape[keep:]:
        merged *= extent
    result = MemRefType(type_.get_element_type(), [*shape[:keep], merged])
    reassociation = ArrayAttr(ArrayAttr(IntegerAttr(d, i64) for d in g) for g in groups)
    op = memref.CollapseShapeOp.build(
        operands=[value], result_types=[result], properties={"reassociation": reassociation}
    )
    return builder.insert(op).result


# the micro-kernel


@dataclass
class _Kernel:
    fusion: Fusion
    mr: int
    nr_vectors: int
    lanes: int

    def __post_init__(self) -> None:
        self.c = self.fusion.contraction
        self.nr = self.nr_vectors * self.lanes
        self.vector_type = VectorType(f32, [self.lanes])
        self.k_extents = [self.c.ranges[loop] for loop in self.c.k_loops]
        self.n_extents = [self.c.ranges[self.c.out_loops[d]] for d in self.c.n_dims]
        self.views: dict[SSAValue, SSAValue] = {}

    # values of dims and loops

    def _zero(self, builder: Builder) -> SSAValue:
        return _constant(builder, 0)

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
        self.packed_a = builder.insert(memref.AllocOp.get(f32, 64, [panels_m, k, self.mr])).memref
        self.packed_b = builder.insert(memref.AllocOp.get(f32, 64, [panels_n, k, self.nr])).memref
        for value in self._vector_operands():
            self._view(builder, value)
        outer_dims = self.c.outer_dims
        extents = [self.c.ranges[self.c.out_loops[d]] for d in outer_dims]

        def body(inner: Builder, ivs: list[SSAValue]) -> None:
            outer = dict(zip(outer_dims, ivs, strict=True))
            self._pack_a(inner, outer, panels_m)
            self._pack_b(inner, outer, panels_n)
            self._tiles(inner, outer, panels_m, panels_n)

        _loop_nest(builder, extents, body)

    def _vector_operands(self) -> list[SSAValue]:
        values = [self.fusion.output]
        if self.fusion.prologue is None:
            values.append(self.c.out)
        for stage in [
            *([self.fusion.prologue] if self.fusion.prologue else []),
            *self.fusion.epilogue,
        ]:
            for value, map_ in zip(stage.op.inputs, _maps(stage.op), strict=False):
                if isa(value.type, MemRefType[Attribute]) and map_.used_dims() & set(self.c.n_dims):
                    values.append(value)
        return values

    def _pack_a(self, builder: Builder, outer: dict[int, SSAValue], panels: int) -> None:
        c, mr = self.c, self.mr
        flat_k = _linear(self.k_extents)
        m_loop = c.out_loops[c.m_dim]

        def row(b: Builder, m: SSAValue, _: Sequence[SSAValue]) -> list[SSAValue]:
            panel = _apply(b, AffineExpr.dimension(0) // mr, 1, [m])
            lane = _apply(b, AffineExpr.dimension(0) % mr, 1, [m])

            def copy(inner: Builder) -> None:
                def element(b2: Builder, k_ivs: list[SSAValue]) -> None:
                    by_loop = {m_loop: m, **dict(zip(c.k_loops, k_ivs, strict=True))}
                    loops = self._loops(b2, outer, by_loop)
                    indices = [_apply(b2, e, len(loops), loops) for e in c.lhs_map.results]
                    value = b2.insert(memref.LoadOp.get(c.lhs, indices)).res
                    kf = flat_k(b2, k_ivs)
                    b2.insert(memref.StoreOp.get(value, self.packed_a, [panel, kf, lane]))

                _loop_nest(inner, self.k_extents, element)

            def zeros(inner: Builder) -> None:
                self._zero_fill(inner, self.packed_a, panel, lane)

            if c.m_size % mr == 0:
                copy(b)
            else:
                less = _compare(b, m, "slt", _constant(b, c.m_size))
                _if(b, less, copy, zeros)
            return []

        _for(builder, _constant(builder, 0), _constant(builder, panels * mr), row)

    def _zero_fill(
        self, builder: Builder, packed: SSAValue, panel: SSAValue, lane: SSAValue
    ) -> None:
        zero = builder.insert(arith.ConstantOp(FloatAttr(0.0, f32))).result

        def store(b: Builder, kf: SSAValue, _: Sequence[SSAValue]) -> list[SSAValue]:
            b.insert(memref.StoreOp.get(zero, packed, [panel, kf, lane]))
            return []

        _for(builder, _constant(builder, 0), _constant(builder, self.c.k_size), store)

    def _pack_b(self, builder: Builder, outer: dict[int, SSAValue], panels: int) -> None:
        c, nr = self.c, self.nr
        flat_k = _linear(self.k_extents)
        flat_n = AffineExpr.constant(0)
        stride = 1
        for position in reversed(range(len(self.n_extents))):
            flat_n = flat_n + AffineExpr.dimension(position) * stride
            stride *= self.n_extents[position]
        n_loops = [c.out_loops[d] for d in c.n_dims]
        count = len(self.n_extents)

        def element(b: Builder, ivs: list[SSAValue]) -> None:
            k_ivs, n_ivs = ivs[: len(c.k_loops)], ivs[len(c.k_loops) :]
            by_loop = dict(zip(c.k_loops, k_ivs, strict=True)) | dict(
                zip(n_loops, n_ivs, strict=True)
            )
            loops = self._loops(b, outer, by_loop)
            indices = [_apply(b, e, len(loops), loops) for e in c.rhs_map.results]
            value = b.insert(memref.LoadOp.get(c.rhs, indices)).res
            panel = _apply(b, flat_n // nr, count, n_ivs)
            lane = _apply(b, flat_n % nr, count, n_ivs)
            b.insert(memref.StoreOp.get(value, self.packed_b, [panel, flat_k(b, k_ivs), lane]))

        _loop_nest(builder, [*self.k_extents, *self.n_extents], element)
        tail = c.n_size % nr
        if not tail:
            return
        last = _constant(builder, panels - 1)

        def column(b: Builder, lane: SSAValue, _: Sequence[SSAValue]) -> list[SSAValue]:
            self._zero_fill(b, self.packed_b, last, lane)
            return []

        _for(builder, _constant(builder, tail), _constant(builder, nr), column)

    def _tiles(
        self, builder: Builder, outer: dict[int, SSAValue], panels_m: int, panels_n: int
    ) -> None:
        block = Block(arg_types=[index, index])
        b = Builder(InsertPoint.at_end(block))
        panel_m, panel_n = block.args
        m0 = _apply(b, AffineExpr.dimension(0) * self.mr, 1, [panel_m])
        n0 = _apply(b, AffineExpr.dimension(0) * self.nr, 1, [panel_n])
        zero = DenseIntOrFPElementsAttr.from_list(self.vector_type, [0.0] * self.lanes)
        zeros = b.insert(arith.ConstantOp(zero, self.vector_type)).result
        count = self.mr * self.nr_vectors

        def step(inner: Builder, kf: SSAValue, accs: Sequence[SSAValue]) -> list[SSAValue]:
            columns = [
                inner.insert(
                    vector.LoadOp(
                        self.packed_b,
                        [panel_n, kf, _constant(inner, v * self.lanes)],
                        self.vector_type,
                    )
                ).result
                for v in range(self.nr_vectors)
            ]
            result = list(accs)
            for r in range(self.mr):
                a = inner.insert(
                    memref.LoadOp.get(self.packed_a, [panel_m, kf, _constant(inner, r)])
                ).res
                splat = inner.insert(vector.BroadcastOp(a, self.vector_type)).vector
                for v in range(self.nr_vectors):
                    at = r * self.nr_vectors + v
                    result[at] = inner.insert(vector.FMAOp(splat, columns[v], result[at])).res
            return result

        k = _constant(b, self.c.k_size)
        accs = list(_for(b, _constant(b, 0), k, step, [zeros] * count))
        self._store_tiles(b, outer, m0, n0, accs)
        b.insert(scf.ReduceOp())
        lower = [_constant(builder, 0)] * 2
        upper = [_constant(builder, panels_m), _constant(builder, panels_n)]
        steps = [_constant(builder, 1)] * 2
        builder.insert(scf.ParallelOp(lower, upper, steps, Region(block)))

    def _store_tiles(
        self,
        builder: Builder,
        outer: dict[int, SSAValue],
        m0: SSAValue,
        n0: SSAValue,
        accs: Sequence[SSAValue],
    ) -> None:
        """The tile through the epilogue into the output: whole vectors where the tile is
        inside C, a row check at the edge of M, constant lane masks at the edge of N (only
        the last column of tiles crosses it, so its masks are known statically)."""
        m_tail, n_tail = self.c.m_size % self.mr, self.c.n_size % self.nr
        if not m_tail and not n_tail:
            self._store_tile(builder, outer, m0, n0, accs, None)
            return
        m_end = _apply(builder, AffineExpr.dimension(0) + self.mr, 1, [m0])
        n_end = _apply(builder, AffineExpr.dimension(0) + self.nr, 1, [n0])
        rows_fit = _compare(builder, m_end, "sle", _constant(builder, self.c.m_size))
        columns_fit = _compare(builder, n_end, "sle", _constant(builder, self.c.n_size))
        full = builder.insert(arith.AndIOp(rows_fit, columns_fit)).result

        def edge(b: Builder) -> None:
            if not n_tail:
                self._store_tile(b, outer, m0, n0, accs, None, check_rows=True)
                return
            _if(
                b,
                columns_fit,
                lambda t: self._store_tile(t, outer, m0, n0, accs, None, check_rows=True),
                lambda e: self._store_tile(e, outer, m0, n0, accs, n_tail, check_rows=True),
            )

        _if(builder, full, lambda t: self._store_tile(t, outer, m0, n0, accs, None), edge)

    def _store_tile(
        self,
        builder: Builder,
        outer: dict[int, SSAValue],
        m0: SSAValue,
        n0: SSAValue,
        accs: Sequence[SSAValue],
        columns: int | None,
        check_rows: bool = False,
    ) -> None:
        """Stores the tile; `columns` (when set) is how many of its columns are inside N."""
        for r in range(self.mr):
            m = _apply(builder, AffineExpr.dimension(0) + r, 1, [m0])

            def row(b: Builder, r: int = r, m: SSAValue = m) -> None:
                for v in range(self.nr_vectors):
                    valid = self.lanes if columns is None else columns - v * self.lanes
                    if valid <= 0:
                        continue
                    nf = _apply(b, AffineExpr.dimension(0) + v * self.lanes, 1, [n0])
                    mask = self._mask(b, valid) if valid < self.lanes else None
                    value = self._epilogue(b, outer, m, nf, accs[r * self.nr_vectors + v], mask)
                    self._store(b, self.fusion.output, outer, m, nf, value, mask)

            if check_rows and self.c.m_size % self.mr:
                _if(builder, _compare(builder, m, "slt", _constant(builder, self.c.m_size)), row)
            else:
                row(builder)

    def _mask(self, builder: Builder, valid: int) -> SSAValue:
        """The first `valid` lanes on."""
        mask_type = VectorType(i1, [self.lanes])
        lanes = [1 if lane < valid else 0 for lane in range(self.lanes)]
        value = DenseIntOrFPElementsAttr.from_list(mask_type, lanes)
        return builder.insert(arith.ConstantOp(value, mask_type)).result

    def _indices(
        self, builder: Builder, map_: AffineMap, outer: dict[int, SSAValue], m: SSAValue
    ) -> list[SSAValue]:
        dims = self._c_dims(builder, outer, m)
        return [_apply(builder, e, self.c.rank, dims) for e in map_.results]

    def _load(
        self,
        builder: Builder,
        value: SSAValue,
        map_: AffineMap,
        outer: dict[int, SSAValue],
        m: SSAValue,
        nf: SSAValue,
        mask: SSAValue | None,
    ) -> SSAValue:
        """`value` at the tile's row `m`, columns from `nf`, as a vector."""
        if not isa(value.type, MemRefType[Attribute]):
            return builder.insert(vector.BroadcastOp(value, self.vector_type)).vector
        if not map_.used_dims() & set(self.c.n_dims):
            scalar = builder.insert(
                memref.LoadOp.get(value, self._indices(builder, map_, outer, m))
            ).res
            return builder.insert(vector.BroadcastOp(scalar, self.vector_type)).vector
        leading = AffineMap(
            map_.num_dims, 0, map_.results[: len(map_.results) - len(self.c.n_dims)]
        )
        indices = [*self._indices(builder, leading, outer, m), nf]
        view = self.views[value]
        if mask is None:
            return builder.insert(vector.LoadOp(view, indices, self.vector_type)).result
        zero = DenseIntOrFPElementsAttr.from_list(self.vector_type, [0.0] * self.lanes)
        passthrough = builder.insert(arith.ConstantOp(zero, self.vector_type)).result
        return builder.insert(vector.MaskedLoadOp(view, indices, mask, passthrough)).result

    def _store(
        self,
        builder: Builder,
        target: SSAValue,
        outer: dict[int, SSAValue],
        m: SSAValue,
        nf: SSAValue,
        value: SSAValue,
        mask: SSAValue | None,
    ) -> None:
        identity = AffineMap.identity(self.c.rank)
        leading = AffineMap(
            identity.num_dims, 0, identity.results[: self.c.rank - len(self.c.n_dims)]
        )
        indices = [*self._indices(builder, leading, outer, m), nf]
        view = self.views[target]
        if mask is None:
            builder.insert(vector.StoreOp(value, view, indices))
            return
        builder.insert(vector.MaskedStoreOp.build(operands=[view, indices, mask, value]))

    def _epilogue(
        self,
        builder: Builder,
        outer: dict[int, SSAValue],
        m: SSAValue,
        nf: SSAValue,
        acc: SSAValue,
        mask: SSAValue | None,
    ) -> SSAValue:
        identity = AffineMap.identity(self.c.rank)
        prologue = self.fusion.prologue
        if prologue is None:
            initial = self._load(builder, self.c.out, identity, outer, m, nf, mask)
            acc = builder.insert(arith.AddfOp(initial, acc)).result
        elif not _is_zero_fill(prologue.op):
            initial = self._apply_stage(builder, prologue, None, outer, m, nf, mask)
            acc = builder.insert(arith.AddfOp(initial, acc)).result
        for stage in self.fusion.epilogue:
            acc = self._apply_stage(builder, stage, acc, outer, m, nf, mask)
        return acc

    def _apply_stage(
        self,
        builder: Builder,
        stage: Stage,
        chained: SSAValue | None,
        outer: dict[int, SSAValue],
        m: SSAValue,
        nf: SSAValue,
        mask: SSAValue | None,
    ) -> SSAValue:
        """The stage's body on vectors: its inputs loaded at the tile, the chain input given."""
        body = stage.op.body.block
        mapping: dict[SSAValue, SSAValue] = {}
        for position, (value, map_) in enumerate(
            zip(stage.op.inputs, _maps(stage.op), strict=False)
        ):
            if position == stage.chain and chained is not None:
                mapping[body.args[position]] = chained
            else:
                mapping[body.args[position]] = self._load(builder, value, map_, outer, m, nf, mask)
        for inner in body.ops:
            if isinstance(inner, linalg.YieldOp):
                return mapping[inner.operands[0]]
            mapping[inner.results[0]] = self._vector_op(builder, inner, mapping)
        raise AssertionError("a linalg.generic body ends with linalg.yield")

    def _vector_op(
        self, builder: Builder, op: Operation, mapping: dict[SSAValue, SSAValue]
    ) -> SSAValue:
        if isinstance(op, arith.ConstantOp):
            scalar = builder.insert(op.clone()).result
            return builder.insert(
                vector.BroadcastOp(scalar, VectorType(scalar.type, [self.lanes]))
            ).vector
        operands: list[SSAValue] = []
        for operand in op.operands:
            if operand not in mapping:  # a scalar from outside the body
                mapping[operand] = builder.insert(
                    vector.BroadcastOp(operand, VectorType(operand.type, [self.lanes]))
                ).vector
            operands.append(mapping[operand])
        result_types = [VectorType(r.type, [self.lanes]) for r in op.results]
        new = type(op).create(
            operands=operands,
            result_types=result_types,
            properties=dict(op.properties),
            attributes=dict(op.attributes),
        )
        return builder.insert(new).results[0]


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


def _erase_fused(fusion: Fusion) -> None:
    intermediates = [fusion.contraction.out] if fusion.epilogue else []
    intermediates += [s.op.outputs[0] for s in fusion.epilogue[:-1]]
    for op in fusion.fused_ops:
        Rewriter.erase_op(op)
    for buffer in intermediates:
        for use in list(buffer.uses):
            Rewriter.erase_op(use.operation)
        if isinstance(buffer.owner, Operation) and not buffer.uses:
            Rewriter.erase_op(buffer.owner)


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
    Output: `memref.alloc` packing buffers, scf.for packing loops, one `scf.parallel` over
    `mr` x (`nr-vectors` x `lanes`) tiles with `vector.load` / `vector.broadcast` /
    `vector.fma` micro-kernels and the fused epilogue (`vector.store`, `vector.maskedstore`
    at the edges). The initializing op of C and, with `fuse-epilogue`, the chain of
    elementwise consumers reading C (arith bodies only) are folded into the tile and erased
    with their intermediate buffers.
    Options: mr (rows per tile, 8), nr-vectors (vectors per tile row, 2), lanes (f32 lanes of
    the target's vectors, 16 for AVX-512), min-work (multiply-adds below which a contraction
    is left alone, 4096), fuse-epilogue (true).
    """

    name = "contraction-microkernel"

    mr: int = 8
    nr_vectors: int = 2
    lanes: int = 16
    min_work: int = 4096
    fuse_epilogue: bool = True

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for function in op.ops:
            if isinstance(function, func.FuncOp) and function.body.blocks:
                self._rewrite_block(function.body.block)

    def _rewrite_block(self, block: Block) -> None:
        done: set[Operation] = set()
        while True:
            ops = list(block.ops)
            found = next(
                (
                    (i, c)
                    for i, op in enumerate(ops)
                    if op not in done and (c := self._candidate(op))
                ),
                None,
            )
            if found is None:
                return
            at, contraction = found
            done.add(contraction.op)
            fusion = _fusion(ops, at, contraction, self.fuse_epilogue)
            last = max(ops.index(op) for op in fusion.fused_ops)
            builder = Builder(InsertPoint.before(ops[last]))
            _Kernel(fusion, self.mr, self.nr_vectors, self.lanes).emit(builder)
            _erase_fused(fusion)

    def _candidate(self, op: Operation) -> Contraction | None:
        contraction = match_contraction(op)
        if contraction is None:
            return None
        work = contraction.m_size * contraction.n_size * contraction.k_size
        if work < self.min_work or contraction.n_size < self.lanes:
            return None
        return contraction
