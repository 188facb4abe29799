"""The list of conversion patterns, gathered from the op-family modules."""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects.builtin import ModuleOp
from xdsl.pattern_rewriter import RewritePattern
from xdsl.utils.exceptions import DiagnosticException

from ...dialects.nn import WeightOp


def conversion_patterns() -> Sequence[RewritePattern]:
    from . import (
        cast,
        constants,
        contraction,
        convolution,
        cumulative,
        einsum,
        elementwise,
        gather,
        one_hot,
        pooling,
        range_check,
        reduction,
        resize,
        scatter,
        shape,
        top_k,
    )

    return [
        *elementwise.PATTERNS,
        *cast.PATTERNS,
        *reduction.PATTERNS,
        *contraction.PATTERNS,
        *convolution.PATTERNS,
        *einsum.PATTERNS,
        *pooling.PATTERNS,
        *shape.PATTERNS,
        *gather.PATTERNS,
        *resize.PATTERNS,
        *scatter.PATTERNS,
        *cumulative.PATTERNS,
        *top_k.PATTERNS,
        *one_hot.PATTERNS,
        *constants.PATTERNS,
        *range_check.PATTERNS,
    ]


def check_fully_converted(module: ModuleOp) -> None:
    """Every nn op but nn.weight must be gone; otherwise name the first one left."""
    for op in module.walk():
        if op.dialect_name() == "nn" and not isinstance(op, WeightOp):
            raise DiagnosticException(
                f"convert-nn-to-linalg: cannot lower {op.name} at {op.location}"
            )
