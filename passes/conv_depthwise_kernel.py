"""conv-depthwise-kernel: depthwise convolutions on memrefs as vectorized kernels over output
rows, with the padding read in place and the elementwise producer and consumers fused in.

A depthwise convolution (conv_depthwise_match.py) has no reduction over channels, so the GEMM
micro-kernel does not apply, and lowered as loops it stores each output element once per window
tap. Here each (image, channel) pair is one iteration of an `scf.parallel` (the dimension that
has the work: there are N*C of them, each with OH*OW*KH*KW multiply-adds). Inside it the
window's weights are broadcast once, and each block of output rows keeps its row vectors in
registers (`lanes` f32 lanes, the target's vector width, at most the next power of two of the
row width) over the whole window, unrolled: one `vector.fma` per tap, input row and vector.
The accumulators start from the output's initializing op (zeros or the broadcast bias), pass
through the fused epilogue (bias, batchnorm, ReLU, clip: the elementwise consumers
contraction-microkernel fuses too) and are stored once.

Columns are static: every input vector is a load at a constant offset in its row, or (stride
2, or lanes that fall outside the row) loads then a `vector.shuffle` that picks the lanes and
puts zeros where the window leaves the input; a load that would cross the row's end is masked,
as is the store of a row's last, partial vector. Rows are split: the rows whose window lies
inside the input run in a loop over blocks without any check, and the few rows at the top and
bottom borders are emitted on their own with only the taps that fall inside. The zero padding
convert-nn-to-linalg materializes is therefore not needed: its buffer, fill and copy are
erased when nothing else reads them.

A 2-d f32 max pool (conv_depthwise_match.py) runs on the same kernel: no weights, one
`arith.maximumf` per tap, row and vector instead of the FMA, and -inf (the identity of max)
wherever the convolution reads zero: lanes outside the input, masked loads past a row's end,
taps of border rows left out. Padding never wins, as ONNX requires, and the -inf padded copy
convert-nn-to-linalg builds is erased like the zero one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from xdsl.builder import Builder
from xdsl.context import Context
from xdsl.dialects import affine, arith, func, memref, scf, vector
from xdsl.dialects.builtin import (
    AffineMapAttr,
    DenseArrayBase,
    DenseIntOrFPElementsAttr,
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
from xdsl.ir.affine import AffineDimExpr, AffineExpr, AffineMap
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter
from xdsl.utils.hints import isa

from ..lowering.locations import fused_location, locate_insertions
from .contraction_match import (
    Contraction,
    Fusion,
    Stage,
    erase_fusion,
    find_fusion,
    indexing_maps,
    vector_body_op,
)
from .conv_depthwise_match import (
    BATCH,
    CHANNEL,
    COLUMN,
    Depthwise,
    border_rows,
    is_fill,
    look_through_padding,
    match_depthwise,
)

index = IndexType()
MAX_ACCUMULATORS = 8
"""Row vectors kept in registers per block: enough independent FMA chains to hide the FMA
latency (two pipes of four cycles), few enough to leave registers for the broadcast weights."""
MAX_BORDER_ROWS = 8
"""Rows touching the padding past which the padded copy is kept (each border row is emitted
on its own, which costs code size)."""

# helpers


def _constant(builder: Builder, value: int) -> SSAValue:
    return builder.insert(arith.ConstantOp(IntegerAttr(value, index))).result


def _for(
    builder: Builder, lower: int, upper: int, body: Callable[[Builder, SSAValue], None]
) -> None:
    block = Block(arg_types=[index])
    body(Builder(InsertPoint.at_end(block)), block.args[0])
    block.add_op(scf.YieldOp())
    first, last, step = (_constant(builder, v) for v in (lower, upper, 1))
    builder.insert(scf.ForOp(first, last, step, [], Region(block)))


def _nest(
    builder: Builder,
    extents: Sequence[int],
    parallel: bool,
    body: Callable[[Builder, list[SSAValue]], None],
) -> None:
    """An scf.parallel over `extents` (nested scf.for loops when not `parallel`)."""
    if parallel:
        block = Block(arg_types=[index] * len(extents))
        body(Builder(InsertPoint.at_end(block)), list(block.args))
        block.add_op(scf.ReduceOp())
        lowers = [_constant(builder, 0) for _ in extents]
        uppers = [_constant(builder, e) for e in extents]
        steps = [_constant(builder, 1) for _ in extents]
        builder.insert(scf.ParallelOp(lowers, uppers, steps, Region(block)))
        return

    def level(inner: Builder, ivs: list[SSAValue]) -> None:
        if len(ivs) == len(extents):
            body(inner, ivs)
            return
        _for(inner, 0, extents[len(ivs)], lambda b, iv: level(b, [*ivs, iv]))

    level(builder, [])


@dataclass
class _Constants:
    """Operand-free constants of one (n, c) body, each made once at the start of its block
    (where they dominate every row block): fewer ops for the passes below to rewrite."""

    block: Block
    made: dict[object, SSAValue] = field(default_factory=dict[object, SSAValue])

    def _get(self, key: object, make: Callable[[], Operation]) -> SSAValue:
        if key not in self.made:
            op = make()
            Rewriter.insert_op(op, InsertPoint.at_start(self.block))
            self.made[key] = op.results[0]
        return self.made[key]

    def index(self, value: int) -> SSAValue:
        return self._get(("index", value), lambda: arith.ConstantOp(IntegerAttr(value, index)))

    def mask(self, lanes: Sequence[bool]) -> SSAValue:
        mask_type = VectorType(i1, [len(lanes)])
        dense = DenseIntOrFPElementsAttr.from_list(mask_type, [int(on) for on in lanes])
        return self._get(("mask", tuple(lanes)), lambda: arith.ConstantOp(dense, mask_type))

    def splat(self, lanes: int, value: float) -> SSAValue:
        vector_type = VectorType(f32, [lanes])
        dense = DenseIntOrFPElementsAttr.from_list(vector_type, [value] * lanes)
        key = ("splat", lanes, str(value))
        return self._get(key, lambda: arith.ConstantOp(dense, vector_type))


@dataclass
class _Block:
    """Output rows computed together: `rows[i]` is (row offset from the block's first row,
    the kernel rows whose input row lies inside the input)."""

    rows: list[tuple[int, list[int]]]


@dataclass
class DepthwiseKernel:
    """Emits the kernel of one fused depthwise convolution."""

    depthwise: Depthwise
    fusion: Fusion
    lanes: int
    fma: bool = True
    parallel: bool = True
    vector_type: VectorType = field(init=False)
    constants: _Constants = field(init=False)
    invariants: dict[tuple[SSAValue, AffineMap], SSAValue] = field(init=False)

    def __post_init__(self) -> None:
        self.vector_type = VectorType(f32, [self.lanes])
        width = self.depthwise.columns.out
        self.chunks = [
            (start, min(self.lanes, width - start)) for start in range(0, width, self.lanes)
        ]
        self.block_rows = max(1, MAX_ACCUMULATORS // len(self.chunks))

    # values

    def _index(self, builder: Builder, base: SSAValue, scale: int, offset: int) -> SSAValue:
        """base * scale + offset, on index values."""
        value = base
        if scale != 1:
            value = builder.insert(arith.MuliOp(value, self.constants.index(scale))).result
        if offset:
            value = builder.insert(arith.AddiOp(value, self.constants.index(offset))).result
        return value

    def _splat(self, builder: Builder, scalar: SSAValue) -> SSAValue:
        return builder.insert(vector.BroadcastOp(scalar, self.vector_type)).vector

    def _identity_vector(self) -> SSAValue:
        """What a tap outside the input contributes: zeros, or -inf for a max pool."""
        return self.constants.splat(self.lanes, self.depthwise.identity)

    def _load_vector(
        self, builder: Builder, buffer: SSAValue, indices: list[SSAValue], valid: int
    ) -> SSAValue:
        """`lanes` elements from `indices` on, the ones past the first `valid` not read
        (the identity)."""
        if valid >= self.lanes:
            return builder.insert(vector.LoadOp(buffer, indices, self.vector_type)).result
        mask = self.constants.mask([lane < valid for lane in range(self.lanes)])
        identity = self._identity_vector()
        load = vector.MaskedLoadOp(buffer, indices, mask, identity, self.vector_type)
        return builder.insert(load).result

    def _shuffle(
        self, builder: Builder, lhs: SSAValue, rhs: SSAValue, picks: list[int] | None
    ) -> SSAValue:
        """The lanes `picks` of lhs then rhs; None: all of them, one vector of twice the
        lanes."""
        result_type = self.vector_type
        if picks is None:
            picks = list(range(2 * self.lanes))
            result_type = VectorType(f32, [2 * self.lanes])
        mask = DenseArrayBase.from_list(i64, picks)
        shuffle = vector.ShuffleOp(lhs, rhs, mask, result_type=result_type)
        return builder.insert(shuffle).result

    # the input

    def _input_vector(
        self, builder: Builder, row: list[SSAValue], start: int, active: int, tap: int
    ) -> SSAValue | None:
        """The input under output columns [start, start + active) for kernel column `tap`
        (the identity outside the input; lanes from `active` on are left undefined), `row` = [n, c,
        input row]; None when all of it is padding."""
        columns = self.depthwise.columns
        positions = [columns.index(start + lane, tap) for lane in range(active)]
        inside = [p for p in positions if columns.inside(p)]
        if not inside:
            return None
        base = inside[0]
        loads = [
            self._row_load(builder, row, first) for first in range(base, inside[-1] + 1, self.lanes)
        ]
        contiguous = all(p == base + lane for lane, p in enumerate(positions))
        if len(loads) == 1 and contiguous:
            return loads[0]
        zeros = self._identity_vector()
        # a lane of the two loads by its position; the identity's first lane is `lanes`
        # past the first load's (for a single load) or blended in by a second shuffle
        outside = [not columns.inside(p) for p in positions]
        picks = [0] * self.lanes
        for lane, position in enumerate(positions):
            picks[lane] = position - base if not outside[lane] else 0
        if len(loads) == 1:
            for lane, out in enumerate(outside):
                picks[lane] = self.lanes if out else picks[lane]
            return self._shuffle(builder, loads[0], zeros, picks)
        gathered = self._shuffle(builder, loads[0], loads[1], picks)
        if not any(outside):
            return gathered
        keep = [lane for lane in range(self.lanes)]
        for lane, out in enumerate(outside):
            keep[lane] = self.lanes if out else lane
        return self._shuffle(builder, gathered, zeros, keep)

    def _row_load(self, builder: Builder, row: list[SSAValue], first: int) -> SSAValue:
        """`lanes` elements of the input row from column `first`, masked at the row's end."""
        width = self.depthwise.columns.extent
        indices = [*row, self.constants.index(first)]
        return self._load_vector(builder, self.depthwise.source, indices, width - first)

    # the output: its initial value, the epilogue and the store

    def _operand(
        self,
        builder: Builder,
        value: SSAValue,
        map_: AffineMap,
        position: list[SSAValue],
        start: int,
        active: int,
    ) -> SSAValue:
        """A stage input at output `position` = [n, c, oy], columns from `start`: a vector
        of the row, or one element broadcast when the map leaves the columns out."""
        if not isa(value.type, MemRefType[Attribute]):
            return self._splat(builder, value)
        if (value, map_) in self.invariants:
            return self.invariants[value, map_]
        column = self.constants.index(start)
        dims = [*position, column]
        if COLUMN not in map_.used_dims():
            indices = [_apply(builder, e, dims) for e in map_.results]
            return self._splat(builder, builder.insert(memref.LoadOp.get(value, indices)).res)
        leading = [_apply(builder, e, dims) for e in map_.results[:-1]]
        return self._load_vector(builder, value, [*leading, column], active)

    def _apply_stage(
        self,
        builder: Builder,
        stage: Stage,
        chained: SSAValue | None,
        position: list[SSAValue],
        start: int,
        active: int,
    ) -> SSAValue:
        """The stage's body on vectors, its inputs read at the output position, the chain
        input given; on two vectors joined in one when `active` is twice the lanes."""
        body = stage.op.body.block
        mapping: dict[SSAValue, SSAValue] = {}
        maps = indexing_maps(stage.op)
        paired = active > self.lanes
        for argument, (value, map_) in enumerate(zip(stage.op.inputs, maps, strict=False)):
            if argument == stage.chain and chained is not None:
                mapping[body.args[argument]] = chained
                continue
            loaded = self._operand(builder, value, map_, position, start, min(active, self.lanes))
            if paired:
                second = self._operand(
                    builder, value, map_, position, start + self.lanes, self.lanes
                )
                loaded = self._shuffle(builder, loaded, second, None)
            mapping[body.args[argument]] = loaded
        width = 2 * self.lanes if paired else self.lanes
        for inner in body.ops:
            if isinstance(inner, linalg.YieldOp):
                return mapping[inner.operands[0]]
            mapping[inner.results[0]] = vector_body_op(builder, inner, mapping, width)
        raise AssertionError("a linalg.generic body ends with linalg.yield")

    def _initial(
        self, builder: Builder, position: list[SSAValue], start: int, active: int
    ) -> SSAValue:
        """The accumulator's start: the output's initializing op at the position (zeros or
        the bias), or what the output holds when no op initializes it here."""
        prologue = self.fusion.prologue
        if prologue is None:
            identity = AffineMap.identity(4)
            return self._operand(builder, self.depthwise.out, identity, position, start, active)
        if is_fill(prologue.op, self.depthwise.out, self.depthwise.identity):
            return self._identity_vector()
        return self._apply_stage(builder, prologue, None, position, start, active)

    def _finish(
        self, builder: Builder, acc: SSAValue, position: list[SSAValue], start: int, active: int
    ) -> None:
        for stage in self.fusion.epilogue:
            acc = self._apply_stage(builder, stage, acc, position, start, active)
        indices = [*position, self.constants.index(start)]
        output = self.fusion.output
        if active >= self.lanes:
            builder.insert(vector.StoreOp(acc, output, indices))
            return
        mask = self.constants.mask([lane < active for lane in range(self.lanes)])
        builder.insert(vector.MaskedStoreOp(output, indices, mask, acc))

    # rows

    def _tap(
        self, builder: Builder, lhs: SSAValue, rhs: SSAValue | None, acc: SSAValue
    ) -> SSAValue:
        """acc + lhs * rhs (the weight), or max(acc, lhs) for a pool."""
        if rhs is None:
            return builder.insert(arith.MaximumfOp(acc, lhs)).result
        if self.fma:
            return builder.insert(vector.FMAOp(lhs, rhs, acc)).res
        product = builder.insert(arith.MulfOp(lhs, rhs)).result
        return builder.insert(arith.AddfOp(acc, product)).result

    def _block(
        self,
        builder: Builder,
        image: list[SSAValue],
        first_row: SSAValue,
        block: _Block,
        weights: list[list[SSAValue | None]],
    ) -> None:
        """The block's output rows from `first_row` on, `image` = [n, c]: accumulators for
        every (row, vector) held over the unrolled window, then the epilogue and stores."""
        rows = self.depthwise.rows
        kernel_columns = self.depthwise.columns.kernel
        accs: dict[tuple[int, int], SSAValue] = {}
        positions: dict[int, list[SSAValue]] = {}
        for offset, _ in block.rows:
            positions[offset] = [*image, self._index(builder, first_row, 1, offset)]
            for chunk, (start, active) in enumerate(self.chunks):
                accs[offset, chunk] = self._initial(builder, positions[offset], start, active)
        input_rows: dict[int, SSAValue] = {}
        loaded: dict[tuple[int, int, int], SSAValue | None] = {}
        for offset, taps in block.rows:
            for tap_row in taps:
                # the input row: (first_row + offset) * stride + tap_row * dilation + shift
                shift = offset * rows.stride + tap_row * rows.dilation + rows.offset
                if shift not in input_rows:
                    input_rows[shift] = self._index(builder, first_row, rows.stride, shift)
                row = [*image, input_rows[shift]]
                for chunk, (start, active) in enumerate(self.chunks):
                    for tap in range(kernel_columns):
                        key = (shift, chunk, tap)
                        if key not in loaded:
                            loaded[key] = self._input_vector(builder, row, start, active, tap)
                        value = loaded[key]
                        if value is None:
                            continue
                        weight = weights[tap_row][tap]
                        accs[offset, chunk] = self._tap(builder, value, weight, accs[offset, chunk])
        for offset, _ in block.rows:
            row = [accs[offset, chunk] for chunk in range(len(self.chunks))]
            self._finish_row(builder, row, positions[offset])

    def _finish_row(self, builder: Builder, accs: list[SSAValue], position: list[SSAValue]) -> None:
        """A row's accumulators through the epilogue into the output, two whole vectors at a
        time: LLVM splits the double-width epilogue back into vectors op by op, which
        interleaves two independent dependency chains (a SiLU's exp is about 30 operations
        in a row)."""
        chunk = 0
        while chunk < len(self.chunks):
            start, active = self.chunks[chunk]
            if not self._pairs_with_next(chunk):
                self._finish(builder, accs[chunk], position, start, active)
                chunk += 1
                continue
            joined = self._shuffle(builder, accs[chunk], accs[chunk + 1], None)
            self._finish(builder, joined, position, start, 2 * self.lanes)
            chunk += 2

    def _pairs_with_next(self, chunk: int) -> bool:
        """Whether the epilogue runs on this chunk and the next together: both whole."""
        if not self.fusion.epilogue or chunk + 1 >= len(self.chunks):
            return False
        return self.chunks[chunk + 1][1] == self.lanes

    def _load_invariants(self, builder: Builder, image: list[SSAValue]) -> None:
        """The stage inputs that depend on (n, c) alone (the bias, batchnorm's scale), read
        and broadcast once per (n, c) rather than once per row and vector."""
        stages = [self.fusion.prologue] if self.fusion.prologue else []
        for stage in [*stages, *self.fusion.epilogue]:
            for value, map_ in zip(stage.op.inputs, indexing_maps(stage.op), strict=False):
                if not isa(value.type, MemRefType[Attribute]) or (value, map_) in self.invariants:
                    continue
                if not map_.used_dims() <= {BATCH, CHANNEL}:
                    continue
                dims = [*image, image[0], image[0]]  # rows and columns are not used
                indices = [_apply(builder, e, dims) for e in map_.results]
                scalar = builder.insert(memref.LoadOp.get(value, indices)).res
                self.invariants[value, map_] = self._splat(builder, scalar)

    def _weights(self, builder: Builder, channel: SSAValue) -> list[list[SSAValue | None]]:
        """The channel's window, each weight broadcast to a vector, [ky][kx] (None for a
        pool, which has no weights)."""
        zero = self.constants.index(0)
        splats: list[list[SSAValue | None]] = []
        for ky in range(self.depthwise.rows.kernel):
            splats.append([])
            for kx in range(self.depthwise.columns.kernel):
                if self.depthwise.pooling:
                    splats[-1].append(None)
                    continue
                indices = [channel, zero, self.constants.index(ky), self.constants.index(kx)]
                weight = builder.insert(memref.LoadOp.get(self.depthwise.weight, indices)).res
                splats[-1].append(self._splat(builder, weight))
        return splats

    def _image(self, builder: Builder, image: list[SSAValue]) -> None:
        """All output rows of one (n, c): the border rows one by one with the taps inside
        the input, the others in blocks of `block_rows` without checks."""
        depthwise = self.depthwise
        rows = depthwise.rows
        self.constants = _Constants(builder.insertion_point.block)
        self.invariants = {}
        self._load_invariants(builder, image)
        weights = self._weights(builder, image[1])
        border = set(border_rows(rows))
        interior = [out for out in range(rows.out) if out not in border]
        every_tap = list(range(rows.kernel))

        def single(out: int) -> None:
            taps = [ky for ky in every_tap if rows.inside(rows.index(out, ky))]
            first_row = self.constants.index(out)
            self._block(builder, image, first_row, _Block([(0, taps)]), weights)

        for out in sorted(r for r in border if not interior or r < interior[0]):
            single(out)
        if interior:
            first, count = interior[0], len(interior)
            blocks, remainder = divmod(count, self.block_rows)
            full = _Block([(r, every_tap) for r in range(self.block_rows)])
            if blocks:

                def body(inner: Builder, iv: SSAValue) -> None:
                    first_row = self._index(inner, iv, self.block_rows, first)
                    self._block(inner, image, first_row, full, weights)

                _for(builder, 0, blocks, body)
            if remainder:
                rest = _Block([(r, every_tap) for r in range(remainder)])
                start = self.constants.index(first + blocks * self.block_rows)
                self._block(builder, image, start, rest, weights)
        for out in sorted(r for r in border if interior and r > interior[0]):
            single(out)

    def emit(self, builder: Builder) -> None:
        extents = [self.depthwise.batch, self.depthwise.channels]
        _nest(builder, extents, self.parallel, self._image)


def _apply(builder: Builder, expr: AffineExpr, dims: Sequence[SSAValue]) -> SSAValue:
    if isinstance(expr, AffineDimExpr):
        return dims[expr.position]
    map_ = AffineMapAttr(AffineMap(len(dims), 0, (expr,)))
    return builder.insert(affine.ApplyOp(list(dims), map_)).result


def _contraction(depthwise: Depthwise) -> Contraction:
    """The depthwise convolution in the terms find_fusion uses: the output's dims, the
    columns as its vector (N) dim."""
    op = depthwise.op
    maps = indexing_maps(op)
    ranges = tuple(op.get_static_loop_ranges())
    return Contraction(
        op,
        op.inputs[0],
        op.inputs[1],
        maps[0],
        maps[1],
        op.outputs[0],
        (0, 1, 2, 3),
        ranges,
        CHANNEL,
        (COLUMN,),
        (4, 5),
    )


def _erase_unused_buffer(buffer: SSAValue) -> None:
    """A pool's window-bounds buffer, once nothing but its deallocations uses it."""
    if not isinstance(buffer.owner, memref.AllocOp):
        return
    if any(not isinstance(use.operation, memref.DeallocOp) for use in buffer.uses):
        return
    for use in list(buffer.uses):
        Rewriter.erase_op(use.operation)
    Rewriter.erase_op(buffer.owner)


# the pass


@dataclass(frozen=True)
class ConvDepthwiseKernelPass(ModulePass):
    """Rewrite depthwise convolutions on memrefs into vectorized row kernels.

    Input: linalg on memrefs (after bufferize, before memory-plan). A `linalg.generic` in
    the depthwise form of convert-nn-to-linalg (conv_depthwise_match.py: loops (n, c, oy,
    ox, ky, kx), f32, contiguous buffers, the input's column stride 1 or 2), or a 2-d f32
    max pool in convert-nn-to-linalg's form (a `(ky, kx)` window-bounds buffer, body
    `maximumf(acc, x)`: taps combine by `arith.maximumf`, -inf stands for the padding).
    Output: an `scf.parallel` over (n, c) (nested scf.for below `min-parallel-work`
    multiply-adds) of straight-line blocks of `vector.load` / `vector.shuffle` /
    `vector.fma` over output rows, with `vector.store` (masked at a row's partial last
    vector), and an scf.for over the blocks of interior rows. The output's initializing op
    (fill, broadcast bias) and, with `fuse-epilogue`, the chain of elementwise consumers
    (arith bodies, as contraction-microkernel fuses them) are folded in and erased with
    their buffers; a zero-padded copy of the input read only by the convolution is read in
    place and erased.
    Options: lanes (f32 lanes of the target's vectors, 16 for AVX-512; a row narrower than
    that uses the next power of two), fma (true: `vector.fma`; false: `arith.mulf` and
    `arith.addf`), min-parallel-work (2**15), fuse-epilogue (true).
    """

    name = "conv-depthwise-kernel"

    lanes: int = 16
    fma: bool = True
    min_parallel_work: int = 1 << 15
    fuse_epilogue: bool = True

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for function in op.ops:
            if isinstance(function, func.FuncOp) and function.body.blocks:
                self._rewrite_block(function.body.block)

    def _rewrite_block(self, block: Block) -> None:
        while True:
            ops = list(block.ops)
            found = next(
                ((i, d) for i, o in enumerate(ops) if (d := self._candidate(o)) is not None),
                None,
            )
            if found is None:
                return
            at, depthwise = found
            fusion = find_fusion(ops, at, _contraction(depthwise), self.fuse_epilogue)
            last = ops[max(ops.index(o) for o in fusion.fused_ops)]
            look_through_padding(depthwise, ops, last, MAX_BORDER_ROWS)
            builder = Builder(InsertPoint.before(last))
            locate_insertions(builder, fused_location(fusion.fused_ops))
            width = depthwise.columns.out
            lanes = min(self.lanes, 1 << (width - 1).bit_length())
            parallel = depthwise.work >= self.min_parallel_work
            DepthwiseKernel(depthwise, fusion, lanes, self.fma, parallel).emit(builder)
            erase_fusion(fusion)
            for padding_op in depthwise.padding:
                Rewriter.erase_op(padding_op)
            if depthwise.pooling:
                _erase_unused_buffer(depthwise.weight)

    def _candidate(self, op: Operation) -> Depthwise | None:
        depthwise = match_depthwise(op)
        if depthwise is None or depthwise.columns.stride > 2:
            return None
        return depthwise
