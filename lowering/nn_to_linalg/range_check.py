"""`nn.range_check` to a run-time status check (index_checks.py) and its input, unchanged."""

from __future__ import annotations

from xdsl.pattern_rewriter import PatternRewriter, RewritePattern, op_type_rewrite_pattern

from ...dialects.nn.checks import RangeCheckOp
from .index_checks import check_range


class LowerRangeCheck(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: RangeCheckOp, rewriter: PatternRewriter) -> None:
        check_range(rewriter, op)
        rewriter.replace(op, [], [op.input])


PATTERNS: list[RewritePattern] = [LowerRangeCheck()]
