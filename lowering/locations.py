"""ONNX node locations carried through rewrites.

The importer sets each nn op's location to its ONNX node name. MLIR's rewriters give every op
they build the location of the op being rewritten; xDSL's leave new ops at `loc(unknown)`, so
a lowering would drop the node names. `LocatedPattern` wraps a pattern so that each op it
inserts takes the location of the op it rewrites, and `locate_insertions` does the same for a
`Builder`. Locations print only with `--print-debuginfo` and never reach LLVM IR: carrying
them changes no generated code. Kernel outlining puts them on the calls of the kernels, where
`terrace profile` reads which ONNX nodes each kernel computes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from xdsl.builder import BuilderListener
from xdsl.dialects.builtin import ArrayAttr, FusedLoc, LocationAttr, NoneAttr, UnknownLoc
from xdsl.ir import Attribute, Operation
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern


def fused_location(ops: Iterable[Operation]) -> LocationAttr:
    """The known locations of `ops`, each once in order: one as it is, several fused, none
    unknown."""
    known: list[LocationAttr] = []
    for op in ops:
        for location in location_parts(op.location):
            if location not in known:
                known.append(location)
    if not known:
        return UnknownLoc()
    if len(known) == 1:
        return known[0]
    return FusedLoc(ArrayAttr(known), NoneAttr())


def location_parts(location: Attribute) -> list[LocationAttr]:
    """The known locations in `location`: none for unknown, those fused into it, or itself."""
    if isinstance(location, UnknownLoc) or not isinstance(location, LocationAttr):
        return []
    if isinstance(location, FusedLoc):
        nested = location.locations
        parts = nested.data if isinstance(nested, ArrayAttr) else ()
        return [part for inner in parts for part in location_parts(inner)]
    return [location]


def _locator(location: LocationAttr) -> Callable[[Operation], None]:
    def locate(op: Operation) -> None:
        if isinstance(op.location, UnknownLoc):
            op.location = location

    return locate


def locate_insertions(listener: BuilderListener, location: LocationAttr) -> None:
    """Every op `listener` (a Builder) inserts from now on, without a location of its own,
    takes `location`."""
    if not isinstance(location, UnknownLoc):
        listener.operation_insertion_handler.append(_locator(location))


class LocatedPattern(RewritePattern):
    """`pattern`, with each op it inserts (without a location of its own) given the location
    of the op it rewrites."""

    def __init__(self, pattern: RewritePattern):
        self.pattern = pattern

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        if isinstance(op.location, UnknownLoc):
            self.pattern.match_and_rewrite(op, rewriter)
            return
        locate = _locator(op.location)
        rewriter.operation_insertion_handler.append(locate)
        try:
            self.pattern.match_and_rewrite(op, rewriter)
        finally:
            rewriter.operation_insertion_handler.remove(locate)
