"""Deliberately wrong lowerings, loaded as a pass plugin: upstream MLIR's lowering of the same
program must catch each one (`terrace fuzz --oracle mlir`, tests/test_mlir_oracle.py).

- `wrong-generalize-matmul` (linalg level): linalg.matmul -> a linalg.generic whose body forgets
  the accumulator (yields a*b instead of acc + a*b); wrong whenever the reduction is longer
  than one or the init is not zero.
- `wrong-lower-subf` (loops level): arith.subf -> llvm.fsub with its operands swapped, the
  rest lowered by Terrace; wrong whenever a != b.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import arith, linalg, llvm
from xdsl.dialects.builtin import AffineMapAttr, ModuleOp, TensorType
from xdsl.ir import Block, Region
from xdsl.ir.affine import AffineMap
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)


class ForgetAccumulator(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: linalg.MatmulOp, rewriter: PatternRewriter, /) -> None:
        output = op.outputs[0]
        assert isinstance(output.type, TensorType)
        element = output.type.get_element_type()
        block = Block(arg_types=[element, element, element])
        lhs, rhs, _acc = block.args
        is_float = not isinstance(element, arith.IntegerType)
        product = arith.MulfOp(lhs, rhs) if is_float else arith.MuliOp(lhs, rhs)
        block.add_ops([product, linalg.YieldOp(product.result)])  # acc + a*b -> a*b
        maps = [
            AffineMapAttr(AffineMap.from_callable(lambda i, _, k: (i, k))),
            AffineMapAttr(AffineMap.from_callable(lambda _, j, k: (k, j))),
            AffineMapAttr(AffineMap.from_callable(lambda i, j, _: (i, j))),
        ]
        iterators = [
            linalg.IteratorTypeAttr.parallel(),
            linalg.IteratorTypeAttr.parallel(),
            linalg.IteratorTypeAttr.reduction(),
        ]
        generic = linalg.GenericOp(
            list(op.inputs), [output], Region(block), maps, iterators, [output.type]
        )
        rewriter.replace_matched_op(generic)


class SwapSubfOperands(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: arith.SubfOp, rewriter: PatternRewriter, /) -> None:
        rewriter.replace_matched_op(llvm.FSubOp(op.rhs, op.lhs))  # a - b -> b - a


@dataclass(frozen=True)
class WrongGeneralizeMatmul(ModulePass):
    name = "wrong-generalize-matmul"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(ForgetAccumulator()).rewrite_module(op)


@dataclass(frozen=True)
class WrongLowerSubf(ModulePass):
    name = "wrong-lower-subf"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(SwapSubfOperands()).rewrite_module(op)
