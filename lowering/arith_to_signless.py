"""arith on unsigned integers to arith on signless integers, for upstream MLIR (docs/mlir.md).

Terrace keeps ONNX's unsigned element types (ui8, ...) down to the llvm conversion, where they
become signless; the arith ops already say how they treat the bits (divui, cmpi ult, extui,
uitofp). Upstream's arith takes signless integers only, so to print such a module for upstream
each arith op on an unsigned type computes on the signless type of the same width, between
casts that reinterpret the bits:

    %c = arith.cmpi ult, %a, %b : ui8
->
    %0 = builtin.unrealized_conversion_cast %a : ui8 to i8
    %1 = builtin.unrealized_conversion_cast %b : ui8 to i8
    %c = arith.cmpi ult, %0, %1 : i8
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import (
    IntegerType,
    ModuleOp,
    Signedness,
    TensorType,
    UnrealizedConversionCastOp,
    VectorType,
)
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import PatternRewriter, PatternRewriteWalker, RewritePattern

# helpers


def signless(value_type: Attribute) -> Attribute:
    """`value_type` with an unsigned integer (element) type made signless; others as they are."""
    if isinstance(value_type, IntegerType) and value_type.signedness.data == Signedness.UNSIGNED:
        return IntegerType(value_type.width.data)
    if isinstance(value_type, VectorType | TensorType):
        element = value_type.get_element_type()  # pyright: ignore[reportUnknownMemberType]
        converted = signless(element)  # pyright: ignore[reportUnknownArgumentType]
        if converted == element:
            return value_type
        shape = value_type.get_shape()  # pyright: ignore[reportUnknownMemberType]
        if isinstance(value_type, VectorType):
            return VectorType(converted, shape)  # pyright: ignore[reportUnknownArgumentType]
        return TensorType(converted, shape)  # pyright: ignore[reportUnknownArgumentType]
    return value_type


def _is_unsigned(value_type: Attribute) -> bool:
    return signless(value_type) != value_type


def _cast(value: SSAValue, to: Attribute, rewriter: PatternRewriter) -> SSAValue:
    cast = UnrealizedConversionCastOp.get([value], [to])
    rewriter.insert(cast)
    return cast.results[0]


# patterns


class ArithOnSignless(RewritePattern):
    """An arith op with unsigned operands or results -> the same op on signless types,
    between bit casts."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if op.dialect_name() != "arith":
            return
        types = [*op.operand_types, *op.result_types]
        if not any(_is_unsigned(t) for t in types):
            return
        operands = [
            _cast(o, signless(o.type), rewriter) if _is_unsigned(o.type) else o for o in op.operands
        ]
        # no arith.constant has an unsigned type: xDSL's arith rejects it as upstream does
        properties = dict(op.properties)
        new_op = type(op).create(
            operands=operands,
            result_types=[signless(t) for t in op.result_types],
            properties=properties,
            attributes=dict(op.attributes),
        )
        rewriter.insert(new_op)
        results = [
            _cast(new, old.type, rewriter) if _is_unsigned(old.type) else new
            for new, old in zip(new_op.results, op.results, strict=True)
        ]
        rewriter.replace(op, [], results)


# the pass


@dataclass(frozen=True)
class ConvertArithToSignlessPass(ModulePass):
    """Rewrites arith ops on unsigned integers into the same ops on signless integers.

    Input: any module. Output: every arith op computes on signless integer types (scalars,
    vectors or tensors of them); `builtin.unrealized_conversion_cast`s reinterpret the bits of
    unsigned values on the way in and out. This is how
    `terrace compile --emit` prints a module for upstream MLIR, whose arith rejects unsigned
    types; Terrace's own pipeline does not need it (its llvm conversion drops signedness).
    """

    name = "convert-arith-to-signless"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(ArithOnSignless(), apply_recursively=False).rewrite_module(op)
