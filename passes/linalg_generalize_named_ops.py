"""linalg-generalize-named-ops: xDSL's pass of that name, keeping each op's location.

xDSL's pattern builds the `linalg.generic` at `loc(unknown)`; upstream MLIR's keeps the named
op's location, and so does this one (lowering/locations.py), so that the ONNX node names the
importer set survive to the kernels (`terrace profile` maps kernels back to nodes with them).
The rewrite itself is xDSL's, unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import PatternRewriteWalker
from xdsl.transforms.linalg_generalize_named_ops import GeneralizeNamedOpPattern

from ..lowering.locations import LocatedPattern


@dataclass(frozen=True)
class LinalgGeneralizeNamedOpsPass(ModulePass):
    """Convert linalg named ops (matmul, fill, conv, pooling) to `linalg.generic`.

    Input: any IR with linalg named ops, on tensors or memrefs. Output: each named op replaced
    by the `linalg.generic` with its indexing maps, iterator types and body (xDSL's
    `GeneralizeNamedOpPattern`), at the named op's location. No options.
    """

    name = "linalg-generalize-named-ops"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        pattern = LocatedPattern(GeneralizeNamedOpPattern())
        PatternRewriteWalker(pattern, apply_recursively=False).rewrite_module(op)
