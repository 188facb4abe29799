"""A pass of your own, loaded into terrace-opt without editing Terrace:

    terrace-opt model.mlir --load-pass-plugin docs/examples/simplify_leaky_relu.py \
        -p simplify-leaky-relu
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


class LeakyReluWithZeroSlope(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: nn.LeakyReluOp, rewriter: PatternRewriter) -> None:
        if op.float_attr("alpha") != 0.0:
            return
        rewriter.replace(op, nn.ReluOp.build(operands=[op.X], result_types=[op.Y.type]))


@dataclass(frozen=True)
class SimplifyLeakyRelu(ModulePass):
    """Rewrites nn.leaky_relu with alpha 0 to nn.relu."""

    name = "simplify-leaky-relu"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(LeakyReluWithZeroSlope()).rewrite_module(op)
