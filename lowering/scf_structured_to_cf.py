"""scf.while to cf blocks and scf.parallel to scf.for nests, ahead of xDSL's convert-scf-to-cf
(which lowers scf.if, scf.for and scf.index_switch only)."""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import cf, scf
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Block, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.rewriter import BlockInsertPoint, InsertPoint
from xdsl.transforms.convert_scf_to_cf import ForLowering, IfLowering, SwitchLowering

from .llvm_common import op_error

# helpers


def _contains_while(op: Operation) -> bool:
    return any(isinstance(nested, scf.WhileOp) for nested in op.walk() if nested is not op)


def _loop_nest(op: scf.ParallelOp) -> tuple[scf.ForOp, Block, list[SSAValue]]:
    """scf.for loops over the bounds of `op`, the first dimension outermost, with an empty
    innermost body; returns the outermost loop, the innermost body and the induction
    variables."""
    bodies = [Block(arg_types=[lower.type]) for lower in op.lowerBound]
    bounds = zip(op.lowerBound, op.upperBound, op.step, bodies, strict=True)
    loops = [scf.ForOp(lower, upper, step, [], body) for lower, upper, step, body in bounds]
    for enclosing_body, inner_loop in zip(bodies[:-1], loops[1:], strict=True):
        enclosing_body.add_op(inner_loop)
    for body in bodies:
        body.add_op(scf.YieldOp())
    return loops[0], bodies[-1], [body.args[0] for body in bodies]


# patterns


class WhileLowering(RewritePattern):
    """The before region becomes the loop header, ending in a cf.cond_br to the after region
    or to the continuation block; the after region's scf.yield branches back to the header."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: scf.WhileOp, rewriter: PatternRewriter, /) -> None:
        init_block = op.parent_block()
        if init_block is None:
            return
        continue_block = init_block.split_before(op)
        for index, type_ in enumerate(op.result_types):
            rewriter.insert_block_argument(continue_block, index, type_)

        before_block = op.before_region.block
        after_block = op.after_region.block
        condition = before_block.last_op
        assert isinstance(condition, scf.ConditionOp)
        rewriter.replace(
            condition,
            cf.ConditionalBranchOp(
                condition.condition, after_block, condition.args, continue_block, condition.args
            ),
        )
        yield_op = after_block.last_op
        assert isinstance(yield_op, scf.YieldOp)
        rewriter.replace(yield_op, cf.BranchOp(before_block, *yield_op.operands))

        rewriter.inline_region(op.before_region, BlockInsertPoint.before(continue_block))
        rewriter.inline_region(op.after_region, BlockInsertPoint.before(continue_block))
        rewriter.insert(cf.BranchOp(before_block, *op.arguments), InsertPoint.at_end(init_block))
        rewriter.replace(op, [], continue_block.args)


class ParallelLowering(RewritePattern):
    """Sequential execution: one scf.for per dimension, the first dimension outermost."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: scf.ParallelOp, rewriter: PatternRewriter, /) -> None:
        if op.initVals:
            raise op_error(op, "reductions (scf.reduce operands) have no lowering yet")
        outermost, innermost_body, ivs = _loop_nest(op)
        reduce = op.body.block.last_op
        assert isinstance(reduce, scf.ReduceOp)
        rewriter.erase(reduce)
        rewriter.inline_block(op.body.block, InsertPoint.at_start(innermost_body), ivs)
        rewriter.replace(op, outermost, [])


class LowerWhileEnclosingOp(RewritePattern):
    """An scf.for, scf.if or scf.index_switch around an scf.while is lowered first (by xDSL's
    patterns), because the while's blocks cannot live in their single-block regions."""

    xdsl_patterns = GreedyRewritePatternApplier([ForLowering(), IfLowering(), SwitchLowering()])

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if not isinstance(op, scf.ForOp | scf.IfOp | scf.IndexSwitchOp):
            return
        if not _contains_while(op):
            return
        self.xdsl_patterns.match_and_rewrite(op, rewriter)


# the list of patterns

SCF_STRUCTURED_TO_CF_PATTERNS: list[RewritePattern] = [
    ParallelLowering(),
    LowerWhileEnclosingOp(),
    WhileLowering(),
]


# the pass


@dataclass(frozen=True)
class ConvertScfStructuredToCfPass(ModulePass):
    """Lower scf.while to cf branches and scf.parallel to scf.for nests.

    Input: scf.while loops and scf.parallel loops without reductions, anywhere. Output: no
    scf.while nor scf.parallel: a while becomes a header block (its before region) ending in
    cf.cond_br to the body (its after region, which branches back) or to the continuation; a
    parallel loop becomes scf.for loops run sequentially, the first dimension outermost. An
    scf.for, scf.if or scf.index_switch enclosing a while is lowered to cf too; the others stay
    for convert-scf-to-cf, which runs next. An scf.parallel with reductions is an error naming
    the op.
    """

    name = "convert-scf-structured-to-cf"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        applier = GreedyRewritePatternApplier(SCF_STRUCTURED_TO_CF_PATTERNS)
        PatternRewriteWalker(applier).rewrite_module(op)
