"""convert-nn-to-linalg: nn ops to linalg on tensors (see docs/pipeline.md, stage 2).

The patterns live by op family: `elementwise.py` (unary, binary, variadic, where,
broadcasting), `cast.py` (cast, bit_cast), `reduction.py` (reduce*, arg*, softmax,
normalizations), `contraction.py` (matmul, gemm, conv, conv_transpose), `einsum.py`,
`pooling.py`, `gather.py` (gather, gather_elements, gather_nd), `resize.py`, `scatter.py`
(scatter_elements, scatter_nd), `cumulative.py` (cum_sum, cum_prod), `top_k.py`, `one_hot.py`,
`shape.py` (reshape, transpose, slice, pad, concat, split, expand, tile) and `constants.py`.
`index_checks.py` adds the run-time index checks of the indexing ops and joins them into one
status result per function.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import GreedyRewritePatternApplier, PatternRewriteWalker

from ..locations import LocatedPattern
from .index_checks import combine_index_checks
from .patterns import check_fully_converted, conversion_patterns


@dataclass(frozen=True)
class ConvertNnToLinalgPass(ModulePass):
    """Lowers every nn op (but nn.weight) to linalg, tensor and arith ops on tensors.

    Input: nn IR with static shapes. Output: linalg on tensors as in docs/pipeline.md, stage 2.
    An op that cannot be lowered is an error naming the op and its ONNX node. Every op built
    for an nn op keeps its location (the ONNX node name, lowering/locations.py). A function
    with run-time indices (gather, scatter) gets one more result, a `tensor<3xi64>` status,
    and `terrace.index_checks` naming its checks (index_checks.py).
    """

    name = "convert-nn-to-linalg"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        patterns = GreedyRewritePatternApplier(list(conversion_patterns()))
        PatternRewriteWalker(LocatedPattern(patterns), apply_recursively=False).rewrite_module(op)
        check_fully_converted(op)
        combine_index_checks(op)
