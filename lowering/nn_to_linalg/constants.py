"""convert-nn-to-linalg patterns for constants: nn.constant, nn.constant_of_shape, nn.shape.

`nn.weight` stays as it is in stage 2 (docs/pipeline.md): its array lives in the weight store.
"""

from __future__ import annotations

import numpy as np
from xdsl.dialects import arith
from xdsl.dialects.builtin import DenseIntOrFPElementsAttr, Float32Type
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern, op_type_rewrite_pattern

from ...dialects.nn import constants as nn
from ...dialects.nn import shape as nn_shape
from ...dialects.nn.base import dense_from_numpy
from .common import element_type, filled_tensor, shape

# ---------------------------------------------------------------------------------------------
# Patterns.


class LowerConstant(RewritePattern):
    """nn.constant -> arith.constant of the same dense value (the importer makes nn.constant for
    scalars and small shapes only; weights are nn.weight)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: nn.ConstantOp, rewriter: PatternRewriter) -> None:
        value = op.attributes["value"]
        assert isinstance(value, DenseIntOrFPElementsAttr)
        rewriter.replace(op, arith.ConstantOp(value, op.output.type))


class LowerConstantOfShape(RewritePattern):
    """nn.constant_of_shape -> tensor.empty + linalg.fill with the one value (0.0 by default)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: nn.ConstantOfShapeOp, rewriter: PatternRewriter) -> None:
        value = op.attr("value")
        scalar = np.asarray(value).reshape(-1)[0].item() if isinstance(value, np.ndarray) else 0.0
        element = element_type(op.output)
        if value is None:
            assert isinstance(element, Float32Type)
        filled = filled_tensor(rewriter, shape(op.output), element, scalar)
        rewriter.replace(op, [], [filled])


class LowerShape(RewritePattern):
    """nn.shape -> arith.constant: shapes are static."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: nn_shape.ShapeOp, rewriter: PatternRewriter) -> None:
        end = op.attr("end")
        dims = shape(op.data)[op.int_attr("start") : end if isinstance(end, int) else None]
        value = dense_from_numpy(np.array(dims, dtype=np.int64))
        rewriter.replace(op, arith.ConstantOp(value, op.shape.type))


PATTERNS: list[RewritePattern] = [LowerConstant(), LowerConstantOfShape(), LowerShape()]
