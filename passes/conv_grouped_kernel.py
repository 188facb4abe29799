"""conv-grouped-kernel: grouped 1x1 convolutions on memrefs as channel-blocked vector kernels,
with the elementwise producer and consumers fused in.

A grouped convolution (1 < group < channels) is a contraction per group, and its groups are
independent. Given to contraction-microkernel as one generic with the group as an outer loop,
each call packed the group's weights and input, ran one parallel region per group and
stage, and could fuse no epilogue (its output was a 5-d view the consumers do not read). The
1x1 ones (ShuffleNet's, ResNeXt's), which convert-nn-to-linalg emits over the output's own
shape (`(n, (oc floordiv M/G) * C/G + ic, oy, ox)` for the input, `(oc, ic, 0, 0)` for the
weight), run here as a direct kernel instead: the input is read in place (output pixels and
input pixels coincide, so a row of pixels is a contiguous vector), each tile is `rows` output
channels of one group by `vectors` x `lanes` pixels, its accumulators stay in registers over
the group's input channels (one `vector.load` per pixel vector and input channel, one scalar
weight load and broadcast per row, `vector.fma`), and the output's initializing op (zeros,
the bias) and its elementwise consumers (batchnorm, ReLU, residual add: the chain
contraction-microkernel fuses) run on the accumulators before the one store.

All tiles of all groups form one `scf.parallel` over (n, group, row block, pixel tile): the
dimension with the work, whatever the batch or the group count. The last pixel tile of a row
may be partial (masked loads and stores, in an `scf.if` branch of its own); the last row
block of a group, when `rows` does not divide the group's output channels, recomputes the
group's last channel in its extra rows (the same value stored to the same place by the same
iteration) rather than branching.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from xdsl.builder import Builder
from xdsl.context import Context
from xdsl.dialects import affine, arith, func, memref, scf, vector
from xdsl.dialects.builtin import (
    AffineMapAttr,
    DenseIntOrFPElementsAttr,
    IndexType,
    IntegerAttr,
    MemRefType,
    ModuleOp,
    VectorType,
    f32,
    i1,
)
from xdsl.dialects.linalg import ops as linalg
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue
from xdsl.ir.affine import AffineDimExpr, AffineExpr, AffineMap
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint
from xdsl.utils.hints import isa

from ..lowering.locations import fused_location, locate_insertions
from .contraction_loops import collapse_trailing
from .contraction_match import (
    Contraction,
    Fusion,
    Stage,
    erase_fusion,
    find_fusion,
    indexing_maps,
    is_contiguous,
    is_f32_memref,
    vector_body_op,
)
from .conv_depthwise_match import is_multiply_accumulate, is_zero_fill

index = IndexType()
BATCH, CHANNEL, ROW, COLUMN, INPUT_CHANNEL = range(5)
PIXELS = (ROW, COLUMN)

# matching


@dataclass(frozen=True)
class GroupedPointwise:
    op: linalg.GenericOp
    source: SSAValue
    """The input, (N, C, H, W)."""
    weight: SSAValue
    """(M, C/G, 1, 1)."""
    out: SSAValue
    """(N, M, H, W)."""
    batch: int
    groups: int
    group_in: int
    group_out: int
    pixels: int


def _shape(value: SSAValue) -> tuple[int, ...]:
    assert isa(value.type, MemRefType[Attribute])
    return value.type.get_shape()


def _maps(group_in: int, group_out: int) -> list[AffineMap]:
    """The maps convert-nn-to-linalg gives a grouped 1x1 convolution."""
    n, oc, oy, ox, ic = (AffineExpr.dimension(d) for d in range(5))
    zero = AffineExpr.constant(0)
    return [
        AffineMap(5, 0, (n, (oc // group_out) * group_in + ic, oy, ox)),
        AffineMap(5, 0, (oc, ic, zero, zero)),
        AffineMap(5, 0, (n, oc, oy, ox)),
    ]


def match_grouped_pointwise(op: Operation) -> GroupedPointwise | None:
    if not isinstance(op, linalg.GenericOp) or op.results:
        return None
    if len(op.inputs) != 2 or len(op.outputs) != 1:
        return None
    operands = [*op.inputs, *op.outputs]
    if not all(is_f32_memref(v) and is_contiguous(v) for v in operands):
        return None
    source, weight, out = operands
    if len(_shape(source)) != 4 or len(_shape(weight)) != 4 or len(_shape(out)) != 4:
        return None
    batch, channels, height, width = _shape(source)
    out_channels, group_in = _shape(weight)[:2]
    if group_in < 1 or channels % group_in or _shape(out) != (batch, out_channels, height, width):
        return None
    groups = channels // group_in
    if groups < 2 or out_channels % groups:
        return None
    if indexing_maps(op) != _maps(group_in, out_channels // groups):
        return None
    if not is_multiply_accumulate(op.body.block):
        return None
    return GroupedPointwise(
        op, source, weight, out, batch, groups, group_in, out_channels // groups, height * width
    )


def _contraction(grouped: GroupedPointwise) -> Contraction:
    """The convolution in the terms find_fusion uses: the output channels as M, the pixels
    as the vector (N) dims, the input channels as K."""
    op = grouped.op
    maps = indexing_maps(op)
    ranges = tuple(op.get_static_loop_ranges())
    return Contraction(
        op, grouped.weight, grouped.source, maps[1], maps[0], grouped.out, (0, 1, 2, 3), ranges,
        CHANNEL, PIXELS, (INPUT_CHANNEL,),
    )  # fmt: skip


# emission


def _constant(builder: Builder, value: int) -> SSAValue:
    return builder.insert(arith.ConstantOp(IntegerAttr(value, index))).result


def _apply(builder: Builder, expr: AffineExpr, dims: Sequence[SSAValue]) -> SSAValue:
    if isinstance(expr, AffineDimExpr):
        return dims[expr.position]
    map_ = AffineMapAttr(AffineMap(len(dims), 0, (expr,)))
    return builder.insert(affine.ApplyOp(list(dims), map_)).result


@dataclass(frozen=True)
class _Vector:
    """One pixel vector of a tile: its first pixel from the tile's start, its valid lanes."""

    offset: int
    active: int


@dataclass
class GroupedKernel:
    """Emits the kernel of one fused grouped 1x1 convolution."""

    grouped: GroupedPointwise
    fusion: Fusion
    lanes: int
    rows: int
    vectors: int
    fma: bool = True
    vector_type: VectorType = field(init=False)
    views: dict[SSAValue, SSAValue] = field(init=False)

    def __post_init__(self) -> None:
        self.vector_type = VectorType(f32, [self.lanes])
        self.views = {}

    # values

    def _splat(self, builder: Builder, scalar: SSAValue) -> SSAValue:
        return builder.insert(vector.BroadcastOp(scalar, self.vector_type)).vector

    def _mask(self, builder: Builder, active: int) -> SSAValue:
        mask_type = VectorType(i1, [self.lanes])
        lanes = [int(lane < active) for lane in range(self.lanes)]
        dense = DenseIntOrFPElementsAttr.from_list(mask_type, lanes)
        return builder.insert(arith.ConstantOp(dense, mask_type)).result

    def _zeros(self, builder: Builder) -> SSAValue:
        vector_type = VectorType(f32, [self.lanes])
        dense = DenseIntOrFPElementsAttr.from_list(vector_type, [0.0] * self.lanes)
        return builder.insert(arith.ConstantOp(dense, vector_type)).result

    def _load(
        self, builder: Builder, buffer: SSAValue, indices: list[SSAValue], active: int
    ) -> SSAValue:
        if active >= self.lanes:
            return builder.insert(vector.LoadOp(buffer, indices, self.vector_type)).result
        mask, zeros = self._mask(builder, active), self._zeros(builder)
        load = vector.MaskedLoadOp(buffer, indices, mask, zeros, self.vector_type)
        return builder.insert(load).result

    def _pixel(self, builder: Builder, start: SSAValue, item: _Vector) -> SSAValue:
        if not item.offset:
            return start
        return builder.insert(arith.AddiOp(start, _constant(builder, item.offset))).result

    # the output: its initial value, the epilogue and the store

    def _operand(
        self,
        builder: Builder,
        value: SSAValue,
        map_: AffineMap,
        position: list[SSAValue],
        item: _Vector,
    ) -> SSAValue:
        """A stage input at `position` = [n, channel, pixel]: a vector of pixels (its
        trailing dims are the pixels, contiguous: operand_is_tileable), or one element
        broadcast when the map leaves the pixels out."""
        if not isa(value.type, MemRefType[Attribute]):
            return self._splat(builder, value)
        n, channel, pixel = position
        if not map_.used_dims() & set(PIXELS):
            dims = [n, channel, n, n]  # the pixel dims are not used
            indices = [_apply(builder, e, dims) for e in map_.results]
            return self._splat(builder, builder.insert(memref.LoadOp.get(value, indices)).res)
        dims = [n, channel, n, n]
        leading = [_apply(builder, e, dims) for e in map_.results[: -len(PIXELS)]]
        return self._load(builder, self.views[value], [*leading, pixel], item.active)

    def _apply_stage(
        self,
        builder: Builder,
        stage: Stage,
        chained: SSAValue | None,
        position: list[SSAValue],
        item: _Vector,
    ) -> SSAValue:
        body = stage.op.body.block
        mapping: dict[SSAValue, SSAValue] = {}
        maps = indexing_maps(stage.op)
        for argument, (value, map_) in enumerate(zip(stage.op.inputs, maps, strict=False)):
            if argument == stage.chain and chained is not None:
                mapping[body.args[argument]] = chained
                continue
            mapping[body.args[argument]] = self._operand(builder, value, map_, position, item)
        for inner in body.ops:
            if isinstance(inner, linalg.YieldOp):
                return mapping[inner.operands[0]]
            mapping[inner.results[0]] = vector_body_op(builder, inner, mapping, self.lanes)
        raise AssertionError("a linalg.generic body ends with linalg.yield")

    def _initial(self, builder: Builder, position: list[SSAValue], item: _Vector) -> SSAValue:
        """The accumulator's start: the output's initializing op at the position (zeros or
        the bias), or what the output holds when no op initializes it here."""
        prologue = self.fusion.prologue
        if prologue is None:
            identity = AffineMap.identity(4)
            return self._operand(builder, self.grouped.out, identity, position, item)
        if is_zero_fill(prologue.op, self.grouped.out):
            return self._zeros(builder)
        return self._apply_stage(builder, prologue, None, position, item)

    def _finish(
        self, builder: Builder, acc: SSAValue, position: list[SSAValue], item: _Vector
    ) -> None:
        for stage in self.fusion.epilogue:
            acc = self._apply_stage(builder, stage, acc, position, item)
        output = self.views[self.fusion.output]
        if item.active >= self.lanes:
            builder.insert(vector.StoreOp(acc, output, position))
            return
        mask = self._mask(builder, item.active)
        builder.insert(vector.MaskedStoreOp(output, position, mask, acc))

    def _make_views(self, builder: Builder) -> None:
        """(N, C, H*W) views of the input, the output and every stage input the pixels
        index, made before the loop (where they dominate every tile)."""
        stages = [self.fusion.prologue] if self.fusion.prologue else []
        values = [self.grouped.source, self.grouped.out, self.fusion.output]
        for stage in [*stages, *self.fusion.epilogue]:
            for value, map_ in zip(stage.op.inputs, indexing_maps(stage.op), strict=False):
                if isa(value.type, MemRefType[Attribute]) and map_.used_dims() & set(PIXELS):
                    values.append(value)
        for value in values:
            if value not in self.views:
                self.views[value] = collapse_trailing(builder, value, len(PIXELS))

    # tiles

    def _multiply_add(
        self, builder: Builder, lhs: SSAValue, rhs: SSAValue, acc: SSAValue
    ) -> SSAValue:
        if self.fma:
            return builder.insert(vector.FMAOp(lhs, rhs, acc)).res
        product = builder.insert(arith.MulfOp(lhs, rhs)).result
        return builder.insert(arith.AddfOp(acc, product)).result

    def _tile(
        self,
        builder: Builder,
        n: SSAValue,
        group: SSAValue,
        channels: list[SSAValue],
        start: SSAValue,
        items: list[_Vector],
    ) -> None:
        """One tile: `channels` (output channels) x `items` (pixel vectors from `start`)."""
        g = self.grouped
        source = self.views[g.source]
        positions = [
            [[n, channel, self._pixel(builder, start, item)] for item in items]
            for channel in channels
        ]
        initial = [
            self._initial(builder, positions[r][v], item)
            for r in range(len(channels))
            for v, item in enumerate(items)
        ]
        first_input = builder.insert(arith.MuliOp(group, _constant(builder, g.group_in))).result
        zero = _constant(builder, 0)

        def step(inner: Builder, ic: SSAValue, accs: Sequence[SSAValue]) -> list[SSAValue]:
            input_channel = inner.insert(arith.AddiOp(first_input, ic)).result
            columns = [
                self._load(inner, source, [n, input_channel, positions[0][v][2]], item.active)
                for v, item in enumerate(items)
            ]
            result = list(accs)
            for r, channel in enumerate(channels):
                at = [channel, ic, zero, zero]
                weight = self._splat(inner, inner.insert(memref.LoadOp.get(g.weight, at)).res)
                for v in range(len(items)):
                    at_acc = r * len(items) + v
                    result[at_acc] = self._multiply_add(inner, weight, columns[v], result[at_acc])
            return result

        block = Block(arg_types=[index, *(value.type for value in initial)])
        inner = Builder(InsertPoint.at_end(block))
        inner.insert(scf.YieldOp(*step(inner, block.args[0], block.args[1:])))
        upper, one = _constant(builder, g.group_in), _constant(builder, 1)
        loop = builder.insert(scf.ForOp(zero, upper, one, initial, block))
        for r in range(len(channels)):
            for v, item in enumerate(items):
                acc = loop.results[r * len(items) + v]
                self._finish(builder, acc, positions[r][v], item)

    def _channels(self, builder: Builder, group: SSAValue, block: SSAValue) -> list[SSAValue]:
        """The output channels of a row block: group * M/G + min(block * rows + r, M/G - 1)."""
        g = self.grouped
        d0, d1 = AffineExpr.dimension(0), AffineExpr.dimension(1)
        channels: list[SSAValue] = []
        for r in range(self.rows):
            row = _apply(builder, d1 * self.rows + r, [group, block])
            if g.group_out % self.rows:
                last = _constant(builder, g.group_out - 1)
                row = builder.insert(arith.MinUIOp(row, last)).result
            channels.append(_apply(builder, d0 * g.group_out + d1, [group, row]))
        return channels

    def _items(self, count: int) -> list[_Vector]:
        return [
            _Vector(offset, min(self.lanes, count - offset))
            for offset in range(0, count, self.lanes)
        ]

    def emit(self, builder: Builder) -> None:
        g = self.grouped
        self._make_views(builder)
        tile_width = self.vectors * self.lanes
        full_tiles, tail = divmod(g.pixels, tile_width)
        row_blocks = -(-g.group_out // self.rows)
        extents = [g.batch, g.groups, row_blocks, full_tiles + (1 if tail else 0)]
        block = Block(arg_types=[index] * 4)
        inner = Builder(InsertPoint.at_end(block))
        n, group, row_block, pixel_tile = block.args
        channels = self._channels(inner, group, row_block)
        start = _apply(inner, AffineExpr.dimension(0) * tile_width, [pixel_tile])

        def tile(at: Builder, width: int) -> None:
            self._tile(at, n, group, channels, start, self._items(width))

        if not tail:
            tile(inner, tile_width)
        elif not full_tiles:
            tile(inner, tail)
        else:
            is_full = inner.insert(
                arith.CmpiOp(pixel_tile, _constant(inner, full_tiles), "ult")
            ).result
            branches = [Block(), Block()]
            for branch, width in zip(branches, (tile_width, tail), strict=True):
                tile(Builder(InsertPoint.at_end(branch)), width)
                branch.add_op(scf.YieldOp())
            inner.insert(scf.IfOp(is_full, [], Region(branches[0]), Region(branches[1])))
        inner.insert(scf.ReduceOp())
        zeros = [_constant(builder, 0) for _ in extents]
        uppers = [_constant(builder, e) for e in extents]
        ones = [_constant(builder, 1) for _ in extents]
        builder.insert(scf.ParallelOp(zeros, uppers, ones, Region(block)))


# the pass


@dataclass(frozen=True)
class ConvGroupedKernelPass(ModulePass):
    """Rewrite grouped 1x1 convolutions on memrefs into channel-blocked vector kernels.

    Input: linalg on memrefs (after bufferize, before memory-plan). A `linalg.generic` in the
    grouped pointwise form of convert-nn-to-linalg: loops (n, oc, oy, ox, ic), maps `(n, (oc
    floordiv M/G) * C/G + ic, oy, ox)`, `(oc, ic, 0, 0)`, `(n, oc, oy, ox)`, f32, contiguous
    buffers, a multiply-accumulate body, 1 < G.
    Output: one `scf.parallel` over (n, group, block of `rows` output channels, tile of
    `vectors` x `lanes` pixels) whose body is an scf.for over the group's input channels
    carrying `rows` x `vectors` `vector<lanes x f32>` accumulators (`vector.load` of the
    input in place, `memref.load` + `vector.broadcast` of each row's weight, `vector.fma`),
    then the fused epilogue and a `vector.store` (masked in the last, partial pixel tile,
    which an `scf.if` separates). The output's initializing op (fill, broadcast bias) and,
    with `fuse-epilogue`, the chain of elementwise consumers (arith bodies, as
    contraction-microkernel fuses them) are folded in and erased with their buffers.
    convert-scf-parallel-to-gomp runs the loop serially when it is small (min-work).
    Options: lanes (f32 lanes of the target's vectors, 16 for AVX-512; fewer pixels than that
    use the next power of two), rows (output channels per tile, 6), accumulators (vector
    registers the tile may hold, 24 of AVX-512's 32: `vectors` = accumulators / rows), fma
    (true: `vector.fma`; false: `arith.mulf` and `arith.addf`), fuse-epilogue (true).
    """

    name = "conv-grouped-kernel"

    lanes: int = 16
    rows: int = 6
    accumulators: int = 24
    fma: bool = True
    fuse_epilogue: bool = True

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for function in op.ops:
            if isinstance(function, func.FuncOp) and function.body.blocks:
                self._rewrite_block(function.body.block)

    def _rewrite_block(self, block: Block) -> None:
        while True:
            ops = list(block.ops)
            found = next(
                ((i, g) for i, o in enumerate(ops) if (g := match_grouped_pointwise(o))),
                None,
            )
            if found is None:
                return
            at, grouped = found
            fusion = find_fusion(ops, at, _contraction(grouped), self.fuse_epilogue)
            last = ops[max(ops.index(o) for o in fusion.fused_ops)]
            builder = Builder(InsertPoint.before(last))
            locate_insertions(builder, fused_location(fusion.fused_ops))
            lanes = min(self.lanes, 1 << (grouped.pixels - 1).bit_length())
            rows = max(1, min(self.rows, grouped.group_out))
            vectors = max(1, min(self.accumulators // rows, -(-grouped.pixels // lanes)))
            GroupedKernel(grouped, fusion, lanes, rows, vectors, self.fma).emit(builder)
            erase_fusion(fusion)
