"""Canonicalization of nn IR (to be filled in)."""

from __future__ import annotations

from xdsl.pattern_rewriter import RewritePattern


def canonicalization_patterns() -> tuple[RewritePattern, ...]:
    return ()
