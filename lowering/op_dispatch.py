"""Pattern application dispatched by op class, for the conversions that hold many patterns.

xDSL's GreedyRewritePatternApplier offers every op to every pattern in turn: each pattern's
guard is an `isinstance` against an IRDL op class (an ABC check) or an `isa` on a type, and
before that the applier asks every op, loops included, for its memory effects to erase dead
ones. With 40 patterns and a module of 100k ops that overhead dominated the llvm conversions.
Here each pattern is registered under the op classes it rewrites: an op meets only the patterns
of its class (looked up once per class, then cached), in their registration order, so the
rewrite chosen for an op is the one the greedy applier would have chosen.

The walk visits each op once: xDSL's walker, after a walk that changed anything, walks the
whole module again until a walk changes nothing, and every conversion changes something, so
each pass paid a second full walk that could only confirm it was done. Here the ops a rewrite
inserts, modifies or gives new operands are queued as they happen (the listener does that in
both walkers) and the walk ends when the queue is empty. That is the same fixpoint for
patterns that decide from the op itself and its operands, as conversions do (light resnet50:
the llvm conversions took a third less time).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from xdsl.ir import Operation, Region
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


@dataclass(eq=False, repr=False)
class SingleWalker(PatternRewriteWalker):
    """A walker that visits every op once, and each op a rewrite inserts or touches, instead
    of walking the whole region again until nothing changes."""

    def _handle_operation_insertion(self, op: Operation) -> None:
        # the ops inside an inserted op too (a loop nest built around loads and stores): the
        # fixpoint walk found those on its next walk
        for nested in op.walk(reverse=True, region_first=True):
            self._worklist.push(nested)

    def rewrite_region(self, region: Region) -> bool:
        listener = self._get_rewriter_listener()
        self._populate_worklist(region)
        return self._process_worklist(listener)


def dispatch_walker(patterns: Sequence[tuple[OpClasses, RewritePattern]]) -> PatternRewriteWalker:
    """A walker applying `patterns` by op class to every op once and to each op a rewrite
    inserts or touches."""
    return SingleWalker(OpDispatchApplier(patterns))
