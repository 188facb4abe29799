"""IR building blocks of contraction-microkernel's tiles (contraction_tiles.py): constants,
affine index arithmetic, scf loops (sequential, parallel, nests, the cache blocks of a tile
grid), conditionals, and collapsed views of contiguous memrefs."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from xdsl.builder import Builder
from xdsl.dialects import affine, arith, memref, scf
from xdsl.dialects.builtin import AffineMapAttr, ArrayAttr, IndexType, IntegerAttr, MemRefType, i64
from xdsl.ir import Attribute, Block, Region, SSAValue
from xdsl.ir.affine import AffineExpr, AffineMap
from xdsl.rewriter import InsertPoint
from xdsl.utils.hints import isa

index = IndexType()


def constant(builder: Builder, value: int) -> SSAValue:
    return builder.insert(arith.ConstantOp(IntegerAttr(value, index))).result


def apply_map(
    builder: Builder, expr: AffineExpr, num_dims: int, dims: Sequence[SSAValue]
) -> SSAValue:
    map_ = AffineMapAttr(AffineMap(num_dims, 0, (expr,)))
    return builder.insert(affine.ApplyOp(list(dims), map_)).result


def for_loop(
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
    step = constant(builder, 1)
    return builder.insert(scf.ForOp(lower, upper, step, iter_args, block)).results


def parallel_for(builder: Builder, upper: int, body: Callable[[Builder, SSAValue], None]) -> None:
    """`scf.parallel` over [0, upper): iterations that write disjoint data."""
    block = Block(arg_types=[index])
    inner = Builder(InsertPoint.at_end(block))
    body(inner, block.args[0])
    inner.insert(scf.ReduceOp())
    zero, one = constant(builder, 0), constant(builder, 1)
    builder.insert(scf.ParallelOp([zero], [constant(builder, upper)], [one], Region(block)))


def loop_nest(
    builder: Builder,
    extents: Sequence[int],
    body: Callable[[Builder, list[SSAValue]], None],
    parallel_dims: int = 0,
) -> None:
    """Nested scf.for loops over `extents` (outermost first); the `parallel_dims` outermost
    ones one scf.parallel (its threads split their product, not just the first extent)."""

    def level(inner: Builder, ivs: list[SSAValue]) -> None:
        if len(ivs) == len(extents):
            body(inner, ivs)
            return
        if parallel_dims and not ivs:
            block = Block(arg_types=[index] * parallel_dims)
            nested = Builder(InsertPoint.at_end(block))
            level(nested, list(block.args))
            nested.insert(scf.ReduceOp())
            zeros = [constant(inner, 0) for _ in range(parallel_dims)]
            uppers = [constant(inner, e) for e in extents[:parallel_dims]]
            ones = [constant(inner, 1) for _ in range(parallel_dims)]
            inner.insert(scf.ParallelOp(zeros, uppers, ones, Region(block)))
            return

        def step(b: Builder, iv: SSAValue, _: Sequence[SSAValue]) -> list[SSAValue]:
            level(b, [*ivs, iv])
            return []

        for_loop(inner, constant(inner, 0), constant(inner, extents[len(ivs)]), step)

    level(builder, [])


def if_then(
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


def compare(builder: Builder, lhs: SSAValue, predicate: str, rhs: SSAValue) -> SSAValue:
    return builder.insert(arith.CmpiOp(lhs, rhs, predicate)).result


@dataclass(frozen=True)
class TileBlock:
    """One cache block of the tile grid: (first, count) of its A panels, B panels and K
    steps, and the K block's index (None when K is one block) out of `k_blocks`."""

    m: tuple[SSAValue, SSAValue]
    n: tuple[SSAValue, SSAValue]
    k: tuple[SSAValue, SSAValue]
    pc: SSAValue | None
    k_blocks: int


def for_blocks(
    builder: Builder, count: int, body: Callable[[Builder, SSAValue | None], None]
) -> None:
    """`body` once per block, in an scf.for; inline with no index when there is one block."""
    if count == 1:
        body(builder, None)
        return

    def step(b: Builder, iv: SSAValue, _: Sequence[SSAValue]) -> list[SSAValue]:
        body(b, iv)
        return []

    for_loop(builder, constant(builder, 0), constant(builder, count), step)


def block_range(
    builder: Builder, block: SSAValue | None, size: int, total: int
) -> tuple[SSAValue, SSAValue]:
    """(first, count) of block `block` of `size` out of `total` (the last one shorter)."""
    if block is None:
        return constant(builder, 0), constant(builder, total)
    first = apply_map(builder, AffineExpr.dimension(0) * size, 1, [block])
    left = apply_map(builder, AffineExpr.constant(total) - AffineExpr.dimension(0), 1, [first])
    count = builder.insert(arith.MinSIOp(left, constant(builder, size))).result
    return first, count


def linear_index(extents: Sequence[int]) -> Callable[[Builder, Sequence[SSAValue]], SSAValue]:
    """The row-major flat index of a multi-index over `extents`."""
    exprs = AffineExpr.constant(0)
    stride = 1
    for position in reversed(range(len(extents))):
        exprs = exprs + AffineExpr.dimension(position) * stride
        stride *= extents[position]

    def flat(builder: Builder, ivs: Sequence[SSAValue]) -> SSAValue:
        return apply_map(builder, exprs, len(extents), ivs)

    return flat


def collapse_groups(builder: Builder, value: SSAValue, groups: Sequence[Sequence[int]]) -> SSAValue:
    """`value` with each group of its dims merged into one (each group is contiguous)."""
    type_ = value.type
    assert isa(type_, MemRefType[Attribute])
    shape = list(type_.get_shape())
    if all(len(g) == 1 for g in groups):
        return value
    merged = [math.prod(shape[d] for d in g) for g in groups]
    result = MemRefType(type_.get_element_type(), merged)
    reassociation = ArrayAttr(ArrayAttr(IntegerAttr(d, i64) for d in g) for g in groups)
    op = memref.CollapseShapeOp.build(
        operands=[value], result_types=[result], properties={"reassociation": reassociation}
    )
    return builder.insert(op).result


def collapse_trailing(builder: Builder, value: SSAValue, count: int) -> SSAValue:
    """`value` with its last `count` dims merged into one (they are contiguous)."""
    type_ = value.type
    assert isa(type_, MemRefType[Attribute])
    rank = len(type_.get_shape())
    keep = rank - count
    return collapse_groups(builder, value, [[d] for d in range(keep)] + [list(range(keep, rank))])
