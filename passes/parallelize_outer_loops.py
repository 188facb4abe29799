"""parallelize-outer-loops: linalg ops with enough work become loop nests whose outer parallel
dimensions form one scf.parallel, which convert-scf-parallel-to-gomp runs on several threads.

The loops are the ones xDSL's convert-linalg-to-loops builds (one scf.for per iteration
dimension, the first outermost); the leading ones whose iterators are "parallel" are fused into
an scf.parallel. Only the linalg op knows which dimensions are parallel, so the pass works
before the loops exist and lowers the ops it parallelizes itself.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import scf
from xdsl.dialects.builtin import IndexType, ModuleOp
from xdsl.dialects.linalg.abstract_ops import LinalgStructuredOperation
from xdsl.dialects.linalg.attrs import IteratorType
from xdsl.ir import Block, Region
from xdsl.ir.affine import AffineDimExpr
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import PatternRewriter
from xdsl.transforms.convert_linalg_to_loops import LowerLinalgStructuredOpPattern

# helpers


def _writes_apart(op: LinalgStructuredOperation, dimension: int) -> bool:
    """Whether iterations of `dimension` write disjoint elements: every output's indexing map
    has the bare dimension among its results."""
    output_maps = op.get_indexing_maps().data[len(op.inputs) :]
    return all(AffineDimExpr(dimension) in m.data.results for m in output_maps)


def _parallel_prefix(op: LinalgStructuredOperation) -> int:
    """How many leading iteration dimensions are parallel and write apart."""
    count = 0
    for dimension, iterator in enumerate(op.get_iterator_types().data):
        if iterator.data != IteratorType.PARALLEL or not _writes_apart(op, dimension):
            break
        count += 1
    return count


def _static_loop_ranges(op: LinalgStructuredOperation) -> tuple[int, ...] | None:
    try:
        ranges = op.get_static_loop_ranges()
    except NotImplementedError:  # non-invertible indexing maps: left to convert-linalg-to-loops
        return None
    return None if any(size < 0 for size in ranges) else ranges


def _perfect_nest(outermost: scf.ForOp, depth: int) -> list[scf.ForOp]:
    """The `depth` outermost loops of a nest built by convert-linalg-to-loops, where each loop
    but the innermost holds only the next loop (and its yield)."""
    loops = [outermost]
    while len(loops) < depth:
        inner = loops[-1].body.block.first_op
        assert isinstance(inner, scf.ForOp)
        loops.append(inner)
    return loops


def _fuse_into_parallel(loops: Sequence[scf.ForOp]) -> scf.ParallelOp:
    """One scf.parallel over the loops' dimensions holding the innermost loop's body; the
    loops are left empty, to be erased."""
    body = Block(arg_types=[IndexType()] * len(loops))
    for loop, argument in zip(loops, body.args, strict=True):
        loop.body.block.args[0].replace_all_uses_with(argument)
    innermost_body = loops[-1].body.block
    for nested in list(innermost_body.ops):
        nested.detach()
        if isinstance(nested, scf.YieldOp):
            nested.erase()
            continue
        body.add_op(nested)
    body.add_op(scf.ReduceOp())
    return scf.ParallelOp(
        [loop.lb for loop in loops],
        [loop.ub for loop in loops],
        [loop.step for loop in loops],
        Region(body),
    )


# the pass


@dataclass(frozen=True)
class ParallelizeOuterLoopsPass(ModulePass):
    """Lower linalg ops with enough work to loops whose outer parallel dimensions run as one
    scf.parallel.

    Input: linalg ops on memrefs with static shapes (stage 3 of docs/pipeline.md, in kernels
    after outline-kernels). A linalg op is parallelized when its whole loop nest runs at least
    `min_iterations` times and its leading iteration dimensions are "parallel" iterators that
    each appear bare in every output's indexing map (so their iterations write disjoint
    elements; a reduction dimension ends the prefix). Output: for each such op, the loop nest
    of xDSL's convert-linalg-to-loops (memref.load / store, affine.apply for indices), its
    outermost dimensions fused into one scf.parallel without reductions: the fewest leading
    parallel dimensions whose iterations multiply to at least `min_parallel_iterations` (all
    of the prefix when they do not reach it, but never the innermost of two or more), so
    inner dimensions stay sequential scf.for loops, contiguous for the vectorizer. Ops whose
    prefix has fewer than two iterations, ops with tensor results and all others are left
    for convert-linalg-to-loops.
    Options: min_iterations (default 2**15: below it a thread fork costs more than it
    saves), min_parallel_iterations (default 64: enough shares for a few threads to balance).
    """

    name = "parallelize-outer-loops"

    min_iterations: int = 1 << 15
    min_parallel_iterations: int = 64

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        candidates = [o for o in op.walk() if isinstance(o, LinalgStructuredOperation)]
        for linalg_op in candidates:
            depth = self.parallel_depth(linalg_op)
            if depth:
                parallelize(linalg_op, depth)

    def parallel_depth(self, op: LinalgStructuredOperation) -> int:
        """How many outer dimensions of `op` the scf.parallel takes; 0 leaves it sequential."""
        if op.res:
            return 0
        ranges = _static_loop_ranges(op)
        if ranges is None or math.prod(ranges) < self.min_iterations:
            return 0
        prefix = _parallel_prefix(op)
        depth = 0
        while depth < prefix and math.prod(ranges[:depth]) < self.min_parallel_iterations:
            depth += 1
        if depth == len(ranges) > 1 and math.prod(ranges[: depth - 1]) >= 2:
            # the innermost dimension stays an scf.for: convert-scf-parallel-to-gomp indexes
            # a collapsed nest with a division and a remainder per element, which LLVM does
            # not vectorize (a (32, 12544) broadcast Mul ran scalar, 5x onnxruntime)
            depth -= 1
        return depth if math.prod(ranges[:depth]) >= 2 else 0


def parallelize(op: LinalgStructuredOperation, depth: int) -> scf.ParallelOp:
    """Lowers `op` with xDSL's convert-linalg-to-loops pattern, then fuses the `depth`
    outermost loops of the nest into an scf.parallel."""
    following = op.next_op
    assert following is not None, "a linalg op on memrefs is followed by its block's terminator"
    LowerLinalgStructuredOpPattern().match_and_rewrite(op, PatternRewriter(op))
    # the pattern inserts the nest right before the op it erases
    outermost = following.prev_op
    assert isinstance(outermost, scf.ForOp)
    parallel = _fuse_into_parallel(_perfect_nest(outermost, depth))
    PatternRewriter(outermost).replace(outermost, parallel, [])
    return parallel
