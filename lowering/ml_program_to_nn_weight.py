"""Upstream MLIR's external globals back to nn.weight: the inverse of
`convert-nn-weight-to-ml-program` (docs/mlir.md).

    ml_program.global private @"conv1.weight"(#ml_program.extern : tensor<64x3x7x7xf32>) : ...
    %w = ml_program.global_load_const @"conv1.weight" : tensor<64x3x7x7xf32>
->
    %w = nn.weight "conv1.weight" : tensor<64x3x7x7xf32>

so that a module that went through upstream mlir-opt continues down Terrace's pipeline, which
takes weights as nn.weight. Globals with a value in the IR are not weights and stay.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)

from ..dialects.ml_program import GlobalLoadConstantOp, GlobalOp
from ..dialects.nn.constants import WeightOp
from .nn_weight_to_ml_program import extern_globals

# patterns


@dataclass
class GlobalLoadToWeight(RewritePattern):
    """ml_program.global_load_const @name of an extern global -> nn.weight "name"."""

    externs: dict[str, GlobalOp]

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: GlobalLoadConstantOp, rewriter: PatternRewriter, /) -> None:
        reference = op.global_attr
        if reference.nested_references.data:
            return
        name = reference.root_reference.data
        if name not in self.externs:
            return
        rewriter.replace(op, WeightOp(name, op.result.type))


# the pass


@dataclass(frozen=True)
class ConvertMlProgramToNnWeightPass(ModulePass):
    """Rewrites loads of external ml_program.globals into nn.weight ops of the same name.

    Input: a module with `ml_program.global @name(#ml_program.extern : T)` declarations (as
    `convert-nn-weight-to-ml-program` or upstream mlir-opt print them).
    Output: `nn.weight "name" : T` for each `ml_program.global_load_const @name`; the extern
    declarations are erased. Globals with an inline value and their loads are left alone.
    """

    name = "convert-ml-program-to-nn-weight"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        externs = extern_globals(op)
        walker = PatternRewriteWalker(GlobalLoadToWeight(externs), apply_recursively=False)
        walker.rewrite_module(op)
        for declaration in externs.values():
            declaration.detach()
            declaration.erase()
