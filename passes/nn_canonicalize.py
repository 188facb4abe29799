"""nn-canonicalize: nn's canonicalization patterns (dialects/nn/canonicalization.py) applied
alone, then dead ops removed."""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import GreedyRewritePatternApplier, PatternRewriteWalker
from xdsl.transforms.dead_code_elimination import region_dce

from ..dialects.nn.canonicalization import canonicalization_patterns


@dataclass(frozen=True)
class NnCanonicalizePass(ModulePass):
    """Simplifies nn IR: removes no-ops, folds reshape and transpose chains, folds constants.

    Input: any module with nn ops (static shapes are needed for the reshape folds).
    Output: the same computation with nn.identity and nn.dropout removed, chains of reshape,
    flatten, squeeze and unsqueeze folded into one reshape or cancelled, transpose chains
    composed, identity transposes removed, and nn ops on constants evaluated: small or splat
    results become nn.constant, larger ones new nn.weight arrays in the module's weight store.
    Ops with more than 2**24 elements are not folded. Dead ops are removed.
    Options: none.
    """

    name = "nn-canonicalize"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        patterns = GreedyRewritePatternApplier(list(canonicalization_patterns()))
        PatternRewriteWalker(patterns, post_walk_func=region_dce).rewrite_module(op)
