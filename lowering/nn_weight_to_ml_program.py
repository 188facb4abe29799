"""nn.weight to upstream MLIR's form of a weight held outside the IR (docs/mlir.md).

    %w = nn.weight "conv1.weight" : tensor<64x3x7x7xf32>
->
    ml_program.global private @"conv1.weight"(#ml_program.extern : tensor<64x3x7x7xf32>)
        : tensor<64x3x7x7xf32>                                   (once per name, module level)
    %w = ml_program.global_load_const @"conv1.weight" : tensor<64x3x7x7xf32>

The global's symbol is the weight store's name, so the array is still found by name and never
printed. `convert-ml-program-to-nn-weight` is the inverse.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp, SymbolRefAttr
from xdsl.ir import Attribute, Operation
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.rewriter import InsertPoint
from xdsl.utils.exceptions import DiagnosticException

from ..dialects.ml_program import ExternAttr, GlobalLoadConstantOp, GlobalOp
from ..dialects.nn.constants import WeightOp

# helpers


def extern_globals(module: ModuleOp) -> dict[str, GlobalOp]:
    """The module's ml_program.globals whose value is #ml_program.extern, by name."""
    return {
        op.sym_name.data: op
        for op in module.ops
        if isinstance(op, GlobalOp) and isinstance(op.value, ExternAttr)
    }


# patterns


@dataclass
class WeightToGlobalLoad(RewritePattern):
    """nn.weight "name" -> ml_program.global_load_const @name, declaring @name once."""

    declared: dict[str, Attribute]
    before: Operation
    """Declarations go before this op (the module's first op that is not a global), in the
    order of the weights' first uses."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: WeightOp, rewriter: PatternRewriter, /) -> None:
        name = op.ref.data
        value_type = op.output.type
        known = self.declared.get(name)
        if known is not None and known != value_type:
            raise DiagnosticException(
                f'nn.weight "{name}" is used as {value_type} and as {known}: one global '
                "cannot have both types"
            )
        if known is None:
            self.declared[name] = value_type
            declaration = GlobalOp(name, value_type, ExternAttr(value_type))
            rewriter.insert(declaration, InsertPoint.before(self.before))
        rewriter.replace(op, GlobalLoadConstantOp(SymbolRefAttr(name), value_type))


# the pass


@dataclass(frozen=True)
class ConvertNnWeightToMlProgramPass(ModulePass):
    """Rewrites each nn.weight into a load of an external ml_program.global of the same name.

    Input: any module; its nn.weight ops name arrays of the weight store.
    Output: one `ml_program.global private @name(#ml_program.extern : T) : T` per weight name,
    at the top of the module, and `ml_program.global_load_const @name : T` in place of each
    nn.weight: the form upstream mlir-opt parses and verifies. The weight store is unchanged.
    """

    name = "convert-nn-weight-to-ml-program"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        declared: dict[str, Attribute] = {
            name: declaration.type for name, declaration in extern_globals(op).items()
        }
        first = next((o for o in op.ops if not isinstance(o, GlobalOp)), None)
        if first is None:
            return
        pattern = WeightToGlobalLoad(declared, first)
        walker = PatternRewriteWalker(pattern, apply_recursively=False)
        walker.rewrite_module(op)
