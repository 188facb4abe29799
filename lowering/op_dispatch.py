"""Pattern application dispatched by op class, for the conversions that hold many patterns.

xDSL's GreedyRewritePatternApplier offers every op to every pattern in turn: each pattern's
guard is an `isinstance` against an IRDL op class (an ABC check) or an `isa` on a type, and
before that the applier asks every op, loops included, for its memory effects to erase dead
ones. With 40 patterns and a module of 100k ops that overhead dominated the llvm conversions.
Here each pattern is registered under the op classes it rewrites: an op meets only the patterns
of its class (looked up once per class, then cached), in their registration order, so the
rewrite chosen for an op is the one the greedy applier would have chosen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from xdsl.ir import Operation
from xdsl.pattern_rewriter import PatternRewriter, PatternRewriteWalker, RewritePattern
from xdsl.transforms.dead_code_elimination import is_trivially_dead

OpClasses = type[Operation] | tuple[type[Operation], ...]
"""The op classes a pattern rewrites; `Operation` for a pattern that looks at every op."""


@dataclass(eq=False)
class OpDispatchApplier(RewritePattern):
    """Erases a trivially dead op without regions (as the greedy applier does; ops with
    regions would walk their whole body to find their effects), else applies the first of the
    op's class's patterns that rewrites it."""

    patterns: Sequence[tuple[OpClasses, RewritePattern]]
    _by_class: dict[type[Operation], tuple[RewritePattern, ...]] = field(
        default_factory=dict[type[Operation], tuple[RewritePattern, ...]], init=False
    )

    def patterns_for(self, op_class: type[Operation]) -> tuple[RewritePattern, ...]:
        cached = self._by_class.get(op_class)
        if cached is None:
            cached = tuple(p for classes, p in self.patterns if issubclass(op_class, classes))
            self._by_class[op_class] = cached
        return cached

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if not op.regions and is_trivially_dead(op):
            rewriter.erase(op)
            return
        for pattern in self.patterns_for(type(op)):
            pattern.match_and_rewrite(op, rewriter)
            if rewriter.has_done_action:
                return


def dispatch_walker(patterns: Sequence[tuple[OpClasses, RewritePattern]]) -> PatternRewriteWalker:
    """A walker applying `patterns` by op class until nothing changes."""
    return PatternRewriteWalker(OpDispatchApplier(patterns))
