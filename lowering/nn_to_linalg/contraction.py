"""convert-nn-to-linalg patterns for this op family (to be written)."""

from __future__ import annotations

from xdsl.pattern_rewriter import RewritePattern

PATTERNS: list[RewritePattern] = []
