"""linalg-interchange-reductions: the innermost loop of a reduction becomes a parallel one
that walks memory contiguously, so that LLVM vectorizes it.

A window reduction (pooling, a depthwise convolution, a small matmul) lowered as written ends
its loop nest in the reduction loops: each output element is a scalar chain of adds, which LLVM
cannot vectorize without reassociating floats. Moving the output's innermost dimension inside
the reductions (`(n, c, y, x, ky, kx)` to `(n, c, y, ky, kx, x)`, `(m, n, k)` to `(m, k, n)`)
gives a loop whose iterations are independent and contiguous. Every output element still
accumulates its terms in the same order, so results are bit for bit the same.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import AffineMapAttr, ArrayAttr, ModuleOp
from xdsl.dialects.linalg import ops as linalg
from xdsl.dialects.linalg.attrs import IteratorType, IteratorTypeAttr
from xdsl.ir.affine import AffineDimExpr, AffineExpr, AffineMap
from xdsl.passes import ModulePass

# helpers


def _innermost_order(op: linalg.GenericOp) -> list[int] | None:
    """The loop order with the outputs' innermost dimension last, when the nest ends in a
    reduction and that dimension is parallel, the same bare dim in every output, and the
    innermost index of every input that uses it."""
    iterators = [t.data for t in op.iterator_types.data]
    if len(iterators) < 2 or iterators[-1] != IteratorType.REDUCTION:
        return None
    if any(isinstance(inner, linalg.IndexOp) for inner in op.body.walk()):
        return None
    maps = [m.data for m in op.indexing_maps.data]
    outputs = maps[len(op.inputs) :]
    last = {m.results[-1] if m.results else None for m in outputs}
    if len(last) != 1:
        return None
    (innermost,) = last
    if not isinstance(innermost, AffineDimExpr):
        return None
    dim = innermost.position
    if iterators[dim] != IteratorType.PARALLEL:
        return None
    for map_ in maps[: len(op.inputs)]:
        if dim in map_.used_dims() and dim not in _used(map_.results[-1], map_.num_dims):
            return None
    return [d for d in range(len(iterators)) if d != dim] + [dim]


def _used(expr: AffineExpr, num_dims: int) -> set[int]:
    return AffineMap(num_dims, 0, (expr,)).used_dims()


def _reorder(op: linalg.GenericOp, order: list[int]) -> None:
    count = len(order)
    new_dims = [AffineExpr.dimension(order.index(d)) for d in range(count)]
    maps = [
        AffineMapAttr(m.data.replace_dims_and_symbols(new_dims, [], count, 0))
        for m in op.indexing_maps.data
    ]
    iterators = [op.iterator_types.data[d] for d in order]
    op.indexing_maps = ArrayAttr(maps)
    op.iterator_types = ArrayAttr[IteratorTypeAttr](iterators)


# the pass


@dataclass(frozen=True)
class InterchangeReductionsPass(ModulePass):
    """Reorder the loops of reduction `linalg.generic`s so that the innermost is parallel.

    Input: linalg.generic ops (tensors or memrefs) without linalg.index. Output: the same ops
    with permuted iteration dimensions (indexing maps and iterator types rewritten together)
    where the nest ended in a reduction loop and the outputs' innermost dimension is a bare,
    parallel dim that is also the innermost index of every input using it. Each output element
    accumulates in the same order as before (bitwise the same results); other ops are left
    alone.
    """

    name = "linalg-interchange-reductions"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for generic in list(op.walk()):
            if not isinstance(generic, linalg.GenericOp):
                continue
            order = _innermost_order(generic)
            if order is not None:
                _reorder(generic, order)
