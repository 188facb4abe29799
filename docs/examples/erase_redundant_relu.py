"""A pass of your own, loaded into terrace-opt without editing Terrace:

    terrace-opt model.mlir --load-pass-plugin docs/examples/erase_redundant_relu.py \
        -p erase-redundant-relu
"""

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)

from terrace.dialects import nn

NON_NEGATIVE = (nn.ReluOp, nn.SigmoidOp, nn.AbsOp, nn.ExpOp)
"""Ops whose results are never below zero (NaN stays NaN through a relu)."""


class EraseReluOfNonNegative(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: nn.ReluOp, rewriter: PatternRewriter) -> None:
        if not isinstance(op.X.owner, NON_NEGATIVE):
            return
        rewriter.replace(op, [], [op.X])  # relu(y) = y for y >= 0


@dataclass(frozen=True)
class EraseRedundantRelu(ModulePass):
    """Erases nn.relu of a value that is never negative (relu, sigmoid, abs or exp of x)."""

    name = "erase-redundant-relu"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(EraseReluOfNonNegative()).rewrite_module(op)
