"""convert-nn-to-linalg pattern for einsum: one `linalg.generic` with a loop per label.

The output's labels are the parallel loops (in output order), every other label a reduction
loop; each operand's map reads its labels' loops (a label repeated within an operand, as in
"ii->i", reads one loop twice: the diagonal). "..." stands for the broadcast dimensions, named
here by digits and aligned at the right as numpy does; a size-1 dimension against a larger loop
reads index 0. The body multiplies the operands and adds to the accumulator, in f32 for f16.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.builder import Builder
from xdsl.dialects import arith
from xdsl.dialects.builtin import AffineMapAttr, AnyFloat
from xdsl.ir import Attribute, SSAValue
from xdsl.ir.affine import AffineExpr, AffineMap
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern, op_type_rewrite_pattern

from ...dialects.nn import EinsumOp
from .common import (
    PARALLEL,
    REDUCTION,
    build_generic,
    element_type,
    filled_tensor,
    is_float,
    shape,
    unsupported,
)
from .contraction import accumulator_type, multiply_add, narrow_to


def _parse(equation: str, ranks: Sequence[int]) -> tuple[list[str], str]:
    """The labels of each operand ("..." spelled out as digits) and of the output."""
    text = equation.replace(" ", "")
    inputs_text, _, output_text = text.partition("->")
    operands = inputs_text.split(",")
    if len(operands) != len(ranks):
        raise ValueError(f"{len(operands)} operands in the equation, {len(ranks)} given")
    ellipsis_rank = max(
        (rank - len(term.replace("...", "")) for term, rank in zip(operands, ranks, strict=True)),
        default=0,
    )
    broadcast = "".join(str(d) for d in range(ellipsis_rank))
    labels: list[str] = []
    for term, rank in zip(operands, ranks, strict=True):
        own = rank - len(term.replace("...", ""))
        labels.append(term.replace("...", broadcast[ellipsis_rank - own :]))
        if len(labels[-1]) != rank:
            raise ValueError(f"term '{term}' does not match rank {rank}")
    if "->" in text:
        return labels, output_text.replace("...", broadcast)
    counts = {label: "".join(labels).count(label) for label in "".join(labels)}
    implicit = sorted(label for label, count in counts.items() if count == 1 and label.isalpha())
    return labels, broadcast + "".join(implicit)


class LowerEinsum(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: EinsumOp, rewriter: PatternRewriter) -> None:
        inputs = list(op.Inputs)
        dims = [shape(value) for value in inputs]
        try:
            labels, output = _parse(op.str_attr("equation"), [len(d) for d in dims])
        except ValueError as error:
            raise unsupported(op, str(error)) from None
        element = element_type(op.Output)
        if any(element_type(value) != element for value in inputs):
            raise unsupported(op, "operands of different element types")
        sizes: dict[str, int] = {}
        for operand_labels, operand_dims in zip(labels, dims, strict=True):
            for label, size in zip(operand_labels, operand_dims, strict=True):
                sizes[label] = max(sizes.get(label, 1), size)
        loops = list(output) + sorted(set(sizes) - set(output))
        position = {label: index for index, label in enumerate(loops)}

        def operand_map(operand_labels: str, operand_dims: Sequence[int]) -> AffineMapAttr:
            results = [
                AffineExpr.constant(0)
                if size == 1 and sizes[label] != 1
                else AffineExpr.dimension(position[label])
                for label, size in zip(operand_labels, operand_dims, strict=True)
            ]
            return AffineMapAttr(AffineMap(len(loops), 0, tuple(results)))

        maps = [operand_map(lab, d) for lab, d in zip(labels, dims, strict=True)]
        output_dims = [sizes[label] for label in output]
        maps.append(operand_map(output, output_dims))
        accumulator = accumulator_type(element)
        init = filled_tensor(rewriter, output_dims, accumulator, 0)
        iterators = [PARALLEL if label in output else REDUCTION for label in loops]

        def body(b: Builder, args: Sequence[SSAValue]) -> list[SSAValue]:
            *operands, acc = args
            if len(operands) == 1:
                return [_add(b, acc, _extend(b, operands[0], acc.type))]
            product = _extend(b, operands[0], acc.type)
            for value in operands[1:-1]:
                product = _multiply(b, product, _extend(b, value, acc.type))
            return [multiply_add(b, product, operands[-1], acc)]

        generic = build_generic(rewriter, inputs, [init], maps, iterators, body)
        rewriter.replace(op, [], [narrow_to(rewriter, generic.results[0], element)])


def _extend(b: Builder, value: SSAValue, wide: Attribute) -> SSAValue:
    if value.type == wide:
        return value
    assert isinstance(wide, AnyFloat)
    return b.insert(arith.ExtFOp(value, wide)).result


def _multiply(b: Builder, lhs: SSAValue, rhs: SSAValue) -> SSAValue:
    if is_float(lhs.type):
        return b.insert(arith.MulfOp(lhs, rhs)).result
    return b.insert(arith.MuliOp(lhs, rhs)).result


def _add(b: Builder, acc: SSAValue, value: SSAValue) -> SSAValue:
    if is_float(acc.type):
        return b.insert(arith.AddfOp(acc, value)).result
    return b.insert(arith.AddiOp(acc, value)).result


PATTERNS: list[RewritePattern] = [LowerEinsum()]
