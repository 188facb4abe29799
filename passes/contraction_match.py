"""Recognizing what contraction-microkernel rewrites: a contraction `linalg.generic` on memrefs
in GEMM form, the elementwise op that initializes its output (the prologue) and the
elementwise ops that consume it (the epilogue).

A contraction is `C[c] += A[a] * B[b]` with a projected-permutation map for C. Its loops fall
in four roles: K (the reductions, in A and B), N (the trailing dims of C that B indexes and A
does not; the vector dimension, contiguous in C), M (the innermost other dim of C that A
indexes and B does not) and the outer dims of C (batch dims and the rest), iterated outside the
tiles. A and B may use any affine maps (convolution windows, strides): they are only read when
packing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from xdsl.builder import Builder
from xdsl.dialects import arith, memref, vector
from xdsl.dialects import math as math_dialect
from xdsl.dialects.builtin import Float32Type, MemRefType, NoneAttr, VectorType
from xdsl.dialects.linalg import ops as linalg
from xdsl.ir import Attribute, Block, Operation, OpResult, SSAValue
from xdsl.ir.affine import AffineDimExpr, AffineMap
from xdsl.rewriter import Rewriter
from xdsl.utils.hints import isa

VIEW_OPS = (
    memref.CollapseShapeOp,
    memref.ExpandShapeOp,
    memref.SubviewOp,
    memref.CastOp,
    memref.ReinterpretCastOp,
    memref.ViewOp,
)


@dataclass(frozen=True)
class Contraction:
    op: linalg.GenericOp
    lhs: SSAValue  # A: indexed by M and K
    rhs: SSAValue  # B: indexed by N and K
    lhs_map: AffineMap
    rhs_map: AffineMap
    out: SSAValue
    out_loops: tuple[int, ...]  # the loop of each dim of C
    ranges: tuple[int, ...]  # every loop's extent
    m_dim: int  # position in C
    n_dims: tuple[int, ...]  # trailing positions in C
    k_loops: tuple[int, ...]

    @property
    def rank(self) -> int:
        return len(self.out_loops)

    @property
    def outer_dims(self) -> tuple[int, ...]:
        return tuple(d for d in range(self.rank) if d != self.m_dim and d not in self.n_dims)

    @property
    def m_size(self) -> int:
        return self.ranges[self.out_loops[self.m_dim]]

    @property
    def n_size(self) -> int:
        return math.prod(self.ranges[self.out_loops[d]] for d in self.n_dims)

    @property
    def k_size(self) -> int:
        return math.prod(self.ranges[loop] for loop in self.k_loops)


@dataclass(frozen=True)
class Stage:
    """An elementwise generic over the dims of C (identity output map) folded into the tile:
    `chain` is the input that receives the running value (None for the prologue)."""

    op: linalg.GenericOp
    chain: int | None


# helpers


def indexing_maps(op: linalg.GenericOp) -> list[AffineMap]:
    return [m.data for m in op.indexing_maps.data]


def is_f32_memref(value: SSAValue) -> bool:
    return isa(value.type, MemRefType[Attribute]) and isinstance(
        value.type.get_element_type(), Float32Type
    )


def is_contiguous(value: SSAValue) -> bool:
    type_ = value.type
    return isa(type_, MemRefType[Attribute]) and isinstance(type_.layout, NoneAttr)


def _dim_positions(map_: AffineMap) -> list[int] | None:
    positions = [r.position for r in map_.results if isinstance(r, AffineDimExpr)]
    return positions if len(positions) == len(map_.results) else None


def _is_multiply_accumulate(body: Block) -> bool:
    """`yield (a * b) + acc` over the block's arguments (either order of each operation)."""
    ops = list(body.ops)
    if len(ops) != 3:
        return False
    mul, add, yield_ = ops
    if not (isinstance(mul, arith.MulfOp) and isinstance(add, arith.AddfOp)):
        return False
    if not isinstance(yield_, linalg.YieldOp) or list(yield_.operands) != [add.result]:
        return False
    a, b, acc = body.args
    if {mul.lhs, mul.rhs} != {a, b} or a is b:
        return False
    return {add.lhs, add.rhs} == {mul.result, acc}


def _roles(
    out_loops: Sequence[int], lhs: set[int], rhs: set[int]
) -> tuple[int, tuple[int, ...]] | None:
    """(M position, N positions) of C when A uses `lhs` and B `rhs` loops."""
    n_dims: list[int] = []
    for position in reversed(range(len(out_loops))):
        loop = out_loops[position]
        if loop not in rhs or loop in lhs:
            break
        n_dims.insert(0, position)
    if not n_dims:
        return None
    for position in reversed(range(n_dims[0])):
        loop = out_loops[position]
        if loop in lhs and loop not in rhs:
            return position, tuple(n_dims)
    return None


def match_contraction(op: Operation) -> Contraction | None:
    if not isinstance(op, linalg.GenericOp) or len(op.inputs) != 2 or len(op.outputs) != 1:
        return None
    if op.results or not all(is_f32_memref(v) for v in (*op.inputs, *op.outputs)):
        return None
    if not is_contiguous(op.outputs[0]) or not _is_multiply_accumulate(op.body.block):
        return None
    lhs_map, rhs_map, out_map = indexing_maps(op)
    out_loops = _dim_positions(out_map)
    if out_loops is None or len(set(out_loops)) != len(out_loops):
        return None
    iterators = [str(t.data) for t in op.iterator_types.data]
    k_loops = tuple(i for i, kind in enumerate(iterators) if kind.endswith("reduction"))
    lhs_used, rhs_used = lhs_map.used_dims(), rhs_map.used_dims()
    if any(loop in out_loops or loop not in lhs_used & rhs_used for loop in k_loops):
        return None
    if set(out_loops) | set(k_loops) != set(range(len(iterators))):
        return None
    lhs, rhs = op.inputs
    roles = _roles(out_loops, lhs_used, rhs_used)
    if roles is None:
        lhs, rhs, lhs_map, rhs_map = rhs, lhs, rhs_map, lhs_map
        roles = _roles(out_loops, rhs_used, lhs_used)
    if roles is None:
        return None
    ranges = tuple(op.get_static_loop_ranges())
    m_dim, n_dims = roles
    return Contraction(
        op,
        lhs,
        rhs,
        lhs_map,
        rhs_map,
        op.outputs[0],
        tuple(out_loops),
        ranges,
        m_dim,
        n_dims,
        k_loops,
    )


# aliasing and the ops around a contraction


def root(value: SSAValue) -> SSAValue:
    """The buffer a view is a view of."""
    while isinstance(value, OpResult) and isinstance(value.op, VIEW_OPS):
        value = value.op.operands[0]
    return value


def aliases(value: SSAValue) -> set[SSAValue]:
    """Every view of the buffer behind `value`, the buffer included."""
    found: set[SSAValue] = set()
    pending = [root(value)]
    while pending:
        current = pending.pop()
        if current in found:
            continue
        found.add(current)
        for use in current.uses:
            if isinstance(use.operation, VIEW_OPS):
                pending.extend(use.operation.results)
    return found


def writes(op: Operation, buffers: set[SSAValue]) -> bool:
    """Whether `op` may write one of `buffers` (linalg ops write only their outputs)."""
    if isinstance(op, linalg.GenericOp):
        return any(v in buffers for v in op.outputs)
    if isinstance(op, (memref.DeallocOp, *VIEW_OPS)):
        return False
    nested = (o for inner in op.walk() for o in inner.operands)
    return any(v in buffers for v in nested)


def uses(op: Operation, buffers: set[SSAValue]) -> bool:
    return any(v in buffers for inner in op.walk() for v in inner.operands)


def _elementwise_body(op: linalg.GenericOp) -> bool:
    """Scalar arith and math ops only, the output's block argument unused."""
    body = op.body.block
    if body.args[-1].uses:
        return False
    return all(
        isinstance(inner, linalg.YieldOp)
        or (inner.dialect_name() in ("arith", "math") and not inner.regions)
        for inner in body.ops
    ) and not any(isinstance(inner, math_dialect.FPowIOp) for inner in body.ops)


def is_stage_op(op: Operation, contraction: Contraction) -> bool:
    """An all-parallel elementwise generic over C's shape with one f32 identity output."""
    if not isinstance(op, linalg.GenericOp) or op.results or len(op.outputs) != 1:
        return False
    out = op.outputs[0]
    out_type, c_type = out.type, contraction.out.type
    if not (is_f32_memref(out) and is_contiguous(out)) or not isa(out_type, MemRefType):
        return False
    if not isa(c_type, MemRefType) or out_type.get_shape() != c_type.get_shape():
        return False
    if any(not str(t.data).endswith("parallel") for t in op.iterator_types.data):
        return False
    maps = indexing_maps(op)
    return maps[-1] == AffineMap.identity(contraction.rank) and _elementwise_body(op)


def operand_is_tileable(value: SSAValue, map_: AffineMap, contraction: Contraction) -> bool:
    """Whether a stage's input can be read at a tile: a scalar, a memref the N dims do not
    index, or one whose trailing dims are exactly the N dims (contiguous)."""
    if not isa(value.type, MemRefType[Attribute]):
        return True
    n_dims = contraction.n_dims
    used = map_.used_dims()
    if not used & set(n_dims):
        return True
    if not is_contiguous(value) or len(map_.results) < len(n_dims):
        return False
    trailing = map_.results[len(map_.results) - len(n_dims) :]
    if [getattr(r, "position", None) for r in trailing] != list(n_dims):
        return False
    leading = map_.results[: len(map_.results) - len(n_dims)]
    shape = value.type.get_shape()
    n_shape = [contraction.ranges[contraction.out_loops[d]] for d in n_dims]
    if list(shape[len(shape) - len(n_dims) :]) != n_shape:
        return False
    return not any(AffineMap(map_.num_dims, 0, (r,)).used_dims() & set(n_dims) for r in leading)


def stage_inputs_tileable(op: linalg.GenericOp, contraction: Contraction) -> bool:
    maps = indexing_maps(op)
    return all(
        operand_is_tileable(value, map_, contraction)
        for value, map_ in zip(op.inputs, maps, strict=False)
    )


# the prologue and epilogue around a contraction


_VECTOR_SAFE = (
    arith.AddfOp,
    arith.SubfOp,
    arith.MulfOp,
    arith.DivfOp,
    arith.MaximumfOp,
    arith.MinimumfOp,
    arith.NegfOp,
    arith.ConstantOp,
    # expanded lane by lane in f32 (lowering/math_expansions.py): sigmoid and SiLU (exp), GELU
    # (erf, or tanh in its approximate form)
    math_dialect.ExpOp,
    math_dialect.ErfOp,
    math_dialect.TanhOp,
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
        if len(chain) != 1 or indexing_maps(op)[chain[0]] != identity or op.outputs[0] is current:
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


def find_fusion(ops: list[Operation], at: int, contraction: Contraction, fuse: bool) -> Fusion:
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


def vector_body_op(
    builder: Builder, op: Operation, mapping: dict[SSAValue, SSAValue], lanes: int
) -> SSAValue:
    """`op` of a fused elementwise body rebuilt on `lanes`-wide vectors, its operands taken
    from `mapping` (a constant or a scalar from outside the body is broadcast, and a
    broadcast scalar is remembered in `mapping`): the epilogue of every contraction kernel."""

    def splat(scalar: SSAValue) -> SSAValue:
        splat_type = VectorType(scalar.type, [lanes])
        return builder.insert(vector.BroadcastOp(scalar, splat_type)).vector

    if isinstance(op, arith.ConstantOp):
        return splat(builder.insert(op.clone()).result)
    operands: list[SSAValue] = []
    for operand in op.operands:
        if operand not in mapping:  # a scalar from outside the body
            mapping[operand] = splat(operand)
        operands.append(mapping[operand])
    new = type(op).create(
        operands=operands,
        result_types=[VectorType(r.type, [lanes]) for r in op.results],
        properties=dict(op.properties),
        attributes=dict(op.attributes),
    )
    return builder.insert(new).results[0]


def erase_fusion(fusion: Fusion) -> None:
    """Erases a fusion's ops once a kernel replaces them, then the buffers between them and
    their deallocations."""
    intermediates = [fusion.contraction.out] if fusion.epilogue else []
    intermediates += [s.op.outputs[0] for s in fusion.epilogue[:-1]]
    for op in fusion.fused_ops:
        Rewriter.erase_op(op)
    for buffer in intermediates:
        for use in list(buffer.uses):
            Rewriter.erase_op(use.operation)
        if isinstance(buffer.owner, Operation) and not buffer.uses:
            Rewriter.erase_op(buffer.owner)
