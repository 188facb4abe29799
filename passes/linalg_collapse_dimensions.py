"""linalg-collapse-dimensions: an elementwise `linalg.generic` on contiguous memrefs iterates
one long loop instead of a nest, so that LLVM vectorizes it at full width.

An elementwise op on an NCHW tensor lowers to a nest whose innermost loop is W long (7 or 14 in
the last stages of a CNN): LLVM leaves such a loop scalar, or spends most of it in the
remainder. Where adjacent iteration dimensions are walked contiguously by every operand, they
are one dimension of their product (MLIR's linalg calls this collapsing dimensions):

    (d0, d1, d2, d3) -> (d0, d1, d2, d3) over 1x1152x7x7  ==  (d0) -> (d0) over 56448

Adjacent dimensions i and j (with only dimensions of size 1 between them) merge when every
operand either reads both, as neighbouring indices, or reads neither (a broadcast operand such
as a [C, 1, 1] scale reads (d1, 0, 0): d2 and d3 merge, d1 stays apart). Dimensions of size 1
join either neighbour. Each operand becomes a `memref.collapse_shape` view (the same pointer)
whose groups follow the merged dimensions; an index that is constant 0 (a broadcast dimension
of size 1) joins its neighbour's group. The body is untouched, so results are bit for bit the
same; the element order of every loop is the same, only the nest is flatter.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import memref
from xdsl.dialects.builtin import (
    AffineMapAttr,
    ArrayAttr,
    IntegerAttr,
    MemRefType,
    ModuleOp,
    NoneAttr,
    ShapedType,
    i64,
)
from xdsl.dialects.linalg import ops as linalg
from xdsl.dialects.linalg.attrs import IteratorType, IteratorTypeAttr
from xdsl.ir import Attribute, SSAValue
from xdsl.ir.affine import AffineConstantExpr, AffineDimExpr, AffineExpr, AffineMap
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import PatternRewriter
from xdsl.utils.hints import isa

# helpers

Index = int | None
"""One index of an operand: the iteration dimension it reads, or None for a constant 0."""


def _operand_indices(
    map_: AffineMap, memref_type: MemRefType[Attribute], ranges: Sequence[int]
) -> list[Index] | None:
    """The operand's indices, dimensions of range 1 read as constant 0; None unless every
    index is a bare dimension or a 0 on a dimension of size 1, the dimensions in increasing
    order (no transposes)."""
    shape = memref_type.get_shape()
    indices: list[Index] = []
    for expr, size in zip(map_.results, shape, strict=True):
        if isinstance(expr, AffineDimExpr) and ranges[expr.position] != 1:
            indices.append(expr.position)
        elif size == 1 and (isinstance(expr, AffineDimExpr) or _is_zero(expr)):
            indices.append(None)
        else:
            return None
    dims = [i for i in indices if i is not None]
    return indices if dims == sorted(set(dims)) else None


def _is_zero(expr: AffineExpr) -> bool:
    return isinstance(expr, AffineConstantExpr) and expr.value == 0


def _mergeable(lhs: int, rhs: int, operands: Sequence[list[Index]]) -> bool:
    """Whether every operand reads both dimensions as neighbouring indices (constants between
    them aside), or neither."""
    for indices in operands:
        dims = [i for i in indices if i is not None]
        if lhs not in dims and rhs not in dims:
            continue
        if lhs not in dims or rhs not in dims or dims.index(rhs) != dims.index(lhs) + 1:
            return False
    return True


def _dimension_groups(
    ranges: Sequence[int], iterators: Sequence[IteratorType], operands: Sequence[list[Index]]
) -> list[list[int]]:
    """Consecutive iteration dimensions of one iterator type that merge; dimensions of range
    1 (one iteration, of either type) join the group before them (leading ones the first)."""
    groups: list[list[int]] = []
    previous: int | None = None  # the last dimension of range > 1
    for dim, size in enumerate(ranges):
        only_units = bool(groups) and all(ranges[d] == 1 for d in groups[-1])
        joins = groups and (size == 1 or only_units)
        merges = (
            previous is not None
            and iterators[previous] == iterators[dim]
            and _mergeable(previous, dim, operands)
        )
        if joins or merges:
            groups[-1].append(dim)
        else:
            groups.append([dim])
        if size != 1:
            previous = dim
    return groups


OperandGroup = tuple[Index, list[int]]
"""The collapsed iteration dimension an operand's group reads (None: constants only), and the
operand's dimensions in it."""


def _operand_groups(indices: list[Index], group_of: dict[int, int]) -> list[OperandGroup]:
    """The operand's memref dimensions grouped as the iteration dimensions they read: (the
    collapsed iteration dimension or None, the operand's dimensions), constants joining the
    group before them (or the first)."""
    groups: list[OperandGroup] = []
    for position, index in enumerate(indices):
        group = None if index is None else group_of[index]
        if groups and (group is None or groups[-1][0] == group):
            groups[-1][1].append(position)
        elif groups and groups[-1][0] is None:
            groups[-1] = (group, [*groups[-1][1], position])  # leading constants join
        else:
            groups.append((group, [position]))
    return groups


def _collapsed(value: SSAValue, groups: list[OperandGroup], rewriter: PatternRewriter) -> SSAValue:
    if not isa(value.type, MemRefType[Attribute]):  # a scalar (a fill's value)
        return value
    if all(len(positions) == 1 for _, positions in groups):
        return value
    shape = value.type.get_shape()
    sizes = [math.prod(shape[p] for p in positions) for _, positions in groups]
    result_type = MemRefType(value.type.get_element_type(), sizes)
    reassociation = ArrayAttr(
        [ArrayAttr([IntegerAttr(p, i64) for p in positions]) for _, positions in groups]
    )
    collapse = memref.CollapseShapeOp.build(
        operands=[value], result_types=[result_type], properties={"reassociation": reassociation}
    )
    rewriter.insert(collapse)
    return collapse.result


def _contiguous(value: SSAValue) -> bool:
    """A memref with the identity layout and static sizes (collapse_shape keeps its pointer),
    or a scalar, which has no dimensions to collapse."""
    if not isa(value.type, MemRefType[Attribute]):
        return not isinstance(value.type, ShapedType)
    if not isinstance(value.type.layout, NoneAttr):
        return False
    return all(size >= 0 for size in value.type.get_shape())


def _group_iterator(
    group: Sequence[int], ranges: Sequence[int], iterators: Sequence[IteratorType]
) -> IteratorTypeAttr:
    """The type of the group's dimensions of range > 1 (of its first if it has none)."""
    wide = [d for d in group if ranges[d] != 1] or list(group)
    return IteratorTypeAttr(iterators[wide[0]])


def collapse(op: linalg.GenericOp, rewriter: PatternRewriter) -> bool:
    """Collapses `op`'s dimensions where it can; whether it did."""
    iterators = [t.data for t in op.iterator_types.data]
    if op.res:
        return False
    operands = [*op.inputs, *op.outputs]
    if not all(_contiguous(v) for v in operands):
        return False
    if any(isinstance(inner, linalg.IndexOp) for inner in op.body.walk()):
        return False
    try:
        ranges = op.get_static_loop_ranges()
    except NotImplementedError:
        return False
    maps = [m.data for m in op.indexing_maps.data]
    all_indices: list[list[Index]] = []
    for value, map_ in zip(operands, maps, strict=True):
        if not isa(value.type, MemRefType[Attribute]):
            all_indices.append([])  # a scalar, read through () -> ()
            continue
        indices = _operand_indices(map_, value.type, ranges)
        if indices is None:
            return False
        all_indices.append(indices)
    groups = _dimension_groups(ranges, iterators, all_indices)
    if len(groups) == len(ranges) or max(ranges, default=1) == 1:
        return False
    group_of = {dim: number for number, group in enumerate(groups) for dim in group}
    new_operands: list[SSAValue] = []
    new_maps: list[AffineMapAttr] = []
    for value, indices in zip(operands, all_indices, strict=True):
        operand_groups = _operand_groups(indices, group_of)
        new_operands.append(_collapsed(value, operand_groups, rewriter))
        results = [
            AffineExpr.constant(0) if group is None else AffineExpr.dimension(group)
            for group, _ in operand_groups
        ]
        new_maps.append(AffineMapAttr(AffineMap(len(groups), 0, tuple(results))))
    count = len(op.inputs)
    new = linalg.GenericOp(
        new_operands[:count],
        new_operands[count:],
        rewriter.move_region_contents_to_new_regions(op.body),
        new_maps,
        ArrayAttr[IteratorTypeAttr]([_group_iterator(g, ranges, iterators) for g in groups]),
    )
    new.location = op.location
    rewriter.replace(op, new, [])
    return True


# the pass


@dataclass(frozen=True)
class LinalgCollapseDimensionsPass(ModulePass):
    """Merge the adjacent dimensions of elementwise linalg.generics on memrefs.

    Input: linalg on memrefs (stage 3 of docs/pipeline.md). An all-parallel `linalg.generic`
    without results or linalg.index, whose operands are static memrefs of the identity layout
    read through bare dimensions in increasing order (a constant 0 on a dimension of size 1,
    as broadcasts read, allowed), has each run of adjacent dimensions that every operand reads
    as neighbouring indices (or not at all) merged into one. Output: `memref.collapse_shape`
    views of the operands and the generic over the merged dimensions, body unchanged
    (bitwise the same results). Other ops are left alone.
    """

    name = "linalg-collapse-dimensions"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for generic in [o for o in op.walk() if isinstance(o, linalg.GenericOp)]:
            collapse(generic, PatternRewriter(generic))
