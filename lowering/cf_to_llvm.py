"""cf to the llvm dialect: branches keep their block arguments."""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import cf, llvm
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    PatternRewriter,
    RewritePattern,
    op_type_rewrite_pattern,
)

from .llvm_common import op_error
from .op_dispatch import OpClasses, dispatch_walker

# patterns


class LowerBranch(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: cf.BranchOp, rewriter: PatternRewriter, /) -> None:
        rewriter.replace(op, llvm.BrOp(op.successor, *op.arguments))


class LowerConditionalBranch(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: cf.ConditionalBranchOp, rewriter: PatternRewriter, /) -> None:
        rewriter.replace(
            op,
            llvm.CondBrOp(
                op.cond, op.then_block, op.then_arguments, op.else_block, op.else_arguments
            ),
        )


class RejectRemainingCfOp(RewritePattern):
    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if op.dialect_name() != "cf":
            return
        raise op_error(op, "no lowering to the llvm dialect")


# the pattern list, each pattern under the op classes it rewrites

CF_TO_LLVM_PATTERNS: list[tuple[OpClasses, RewritePattern]] = [
    (cf.BranchOp, LowerBranch()),
    (cf.ConditionalBranchOp, LowerConditionalBranch()),
    (Operation, RejectRemainingCfOp()),
]


# the pass


@dataclass(frozen=True)
class ConvertCfToLlvmPass(ModulePass):
    """Lower cf.br and cf.cond_br to llvm.br and llvm.cond_br.

    Input: cf branches (as convert-scf-to-cf leaves them), block arguments of any type that
    the other lowerings convert. Output: the llvm branches with the same successors and
    operands. Other cf ops (assert, switch) are errors naming the op.
    """

    name = "convert-cf-to-llvm"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        dispatch_walker(CF_TO_LLVM_PATTERNS).rewrite_module(op)
