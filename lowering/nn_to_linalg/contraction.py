"""convert-nn-to-linalg patterns for matmul and gemm, and the helpers every contraction
shares (multiply-add bodies, f16/bf16 accumulators, maps, reshapes; convolution.py and
einsum.py use them).

A plain 2-d matmul (and an untransposed gemm) becomes `linalg.matmul`; every other case is one
`linalg.generic` whose indexing maps carry the batch broadcasting and transposes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from xdsl.builder import Builder
from xdsl.dialects import arith, tensor
from xdsl.dialects.builtin import (
    AffineMapAttr,
    AnyFloat,
    ArrayAttr,
    BFloat16Type,
    DenseIntElementsAttr,
    DenseIntOrFPElementsAttr,
    Float16Type,
    IntegerAttr,
    TensorType,
    f32,
    i64,
)
from xdsl.dialects.linalg import ops as linalg
from xdsl.ir import Attribute, SSAValue
from xdsl.ir.affine import AffineExpr, AffineMap
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern, op_type_rewrite_pattern

from ...dialects.nn import GemmOp, MatMulOp
from .common import (
    PARALLEL,
    REDUCTION,
    build_generic,
    element_type,
    empty_tensor,
    filled_tensor,
    identity_map,
    is_float,
    scalar_constant,
    shape,
    unsupported,
)

# ---------------------------------------------------------------------------------------------
# Helpers: scalar bodies, maps and reshapes.


def multiply_add(builder: Builder, lhs: SSAValue, rhs: SSAValue, acc: SSAValue) -> SSAValue:
    """acc + lhs * rhs in the element type of `acc` (float or integer); f16 and bf16 operands
    of an f32 accumulator are extended first."""
    if is_float(acc.type):
        lhs, rhs = (extend_to(builder, value, acc.type) for value in (lhs, rhs))
        product = builder.insert(arith.MulfOp(lhs, rhs)).result
        return builder.insert(arith.AddfOp(acc, product)).result
    product = builder.insert(arith.MuliOp(lhs, rhs)).result
    return builder.insert(arith.AddiOp(acc, product)).result


def extend_to(builder: Builder, value: SSAValue, wide: Attribute) -> SSAValue:
    if value.type == wide:
        return value
    assert isinstance(wide, AnyFloat)
    return builder.insert(arith.ExtFOp(value, wide)).result


def accumulator_type(element: Attribute) -> Attribute:
    """The element type sums of products accumulate in: f32 for f16 and bf16 (as the nn
    reference and onnxruntime compute them), else the element type itself."""
    if isinstance(element, Float16Type | BFloat16Type):
        return f32
    return element


def narrow_to(builder: Builder, wide: SSAValue, element: Attribute) -> SSAValue:
    """An f32 accumulator rounded to the result's f16 or bf16 (nothing when they agree)."""
    if element_type(wide) == element:
        return wide
    assert isinstance(element, AnyFloat)
    dims = shape(wide)
    init = empty_tensor(builder, dims, element)
    maps = [identity_map(len(dims))] * 2

    def body(b: Builder, args: Sequence[SSAValue]) -> list[SSAValue]:
        return [b.insert(arith.TruncFOp(args[0], element)).result]

    return build_generic(builder, [wide], [init], maps, [PARALLEL] * len(dims), body).results[0]


def affine_map(num_loops: int, results: Sequence[AffineExpr]) -> AffineMapAttr:
    return AffineMapAttr(AffineMap(num_loops, 0, tuple(results)))


def dim_exprs(first: int, count: int) -> list[AffineExpr]:
    return [AffineExpr.dimension(first + index) for index in range(count)]


def _reassociation(groups: Sequence[Sequence[int]]) -> ArrayAttr[ArrayAttr[IntegerAttr]]:
    return ArrayAttr(ArrayAttr(IntegerAttr(index, i64) for index in group) for group in groups)


def split_dim1(rank: int) -> list[list[int]]:
    """Reassociation that splits dim 1 of a rank-`rank` tensor in two: [[0], [1, 2], [3], ...]."""
    return [[0], [1, 2], *([index + 1] for index in range(2, rank))]


def split_dim0(rank: int) -> list[list[int]]:
    """Reassociation that splits dim 0 in two: [[0, 1], [2], [3], ...]."""
    return [[0, 1], *([index + 1] for index in range(1, rank))]


def expand(
    builder: Builder, value: SSAValue, groups: Sequence[Sequence[int]], dims: Sequence[int]
) -> SSAValue:
    result_type = TensorType(element_type(value), list(dims))
    expand_op = tensor.ExpandShapeOp(value, [], _reassociation(groups), dims, result_type)
    return builder.insert(expand_op).result


def collapse(
    builder: Builder, value: SSAValue, groups: Sequence[Sequence[int]], dims: Sequence[int]
) -> SSAValue:
    collapse_op = tensor.CollapseShapeOp.build(
        operands=[value],
        result_types=[TensorType(element_type(value), list(dims))],
        properties={"reassociation": _reassociation(groups)},
    )
    return builder.insert(collapse_op).result


def dense_i64(values: Sequence[int]) -> DenseIntElementsAttr:
    dense = DenseIntOrFPElementsAttr.from_list(TensorType(i64, [len(values)]), list(values))
    return cast(DenseIntElementsAttr, dense)  # from_list's type does not follow its element


# ---------------------------------------------------------------------------------------------
# Helpers: matmul maps.


def _matmul_maps(
    a_dims: Sequence[int], b_dims: Sequence[int], out_rank: int
) -> tuple[int, list[AffineMapAttr]]:
    """Loops and maps of numpy.matmul: batch loops (broadcast), m, n (each absent for a 1-d
    operand), then the reduction k."""
    a_vector, b_vector = len(a_dims) == 1, len(b_dims) == 1
    batch_rank = out_rank - (0 if a_vector else 1) - (0 if b_vector else 1)
    num_loops = out_rank + 1
    m = AffineExpr.dimension(batch_rank)
    n = AffineExpr.dimension(num_loops - 2)
    k = AffineExpr.dimension(num_loops - 1)

    def batch(operand_batch: Sequence[int]) -> list[AffineExpr]:
        offset = batch_rank - len(operand_batch)
        return [
            AffineExpr.constant(0) if size == 1 else AffineExpr.dimension(offset + index)
            for index, size in enumerate(operand_batch)
        ]

    a_map = [k] if a_vector else [*batch(a_dims[:-2]), m, k]
    b_map = [k] if b_vector else [*batch(b_dims[:-2]), k, n]
    out_map = dim_exprs(0, out_rank)
    maps = [affine_map(num_loops, a_map), affine_map(num_loops, b_map)]
    return num_loops, [*maps, affine_map(num_loops, out_map)]


# ---------------------------------------------------------------------------------------------
# Patterns.


class MatMulLowering(RewritePattern):
    """nn.matmul -> linalg.matmul (2-d by 2-d) or a linalg.generic with broadcast batch maps."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: MatMulOp, rewriter: PatternRewriter) -> None:
        a_dims, b_dims, out_dims = shape(op.A), shape(op.B), shape(op.Y)
        element = element_type(op.Y)
        accumulator = accumulator_type(element)
        init = filled_tensor(rewriter, out_dims, accumulator, 0)
        if len(a_dims) == 2 and len(b_dims) == 2 and accumulator == element:
            rewriter.replace(op, linalg.MatmulOp([op.A, op.B], [init]))
            return
        num_loops, maps = _matmul_maps(a_dims, b_dims, len(out_dims))
        generic = build_generic(
            rewriter,
            [op.A, op.B],
            [init],
            maps,
            [PARALLEL] * (num_loops - 1) + [REDUCTION],
            lambda body, args: [multiply_add(body, args[0], args[1], args[2])],
        )
        rewriter.replace(op, [], [narrow_to(rewriter, generic.results[0], element)])


class GemmLowering(RewritePattern):
    """nn.gemm -> matmul of A' and B' (a generic with transposed maps when transA/transB), then
    alpha * AB + beta * C in one broadcasting generic when alpha != 1 or C is given."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: GemmOp, rewriter: PatternRewriter) -> None:
        alpha, beta = op.float_attr("alpha"), op.float_attr("beta")
        element = element_type(op.Y)
        if not is_float(element) and (alpha != 1 or beta != 1):
            raise unsupported(op, "alpha and beta other than 1 need a float element type")
        trans_a, trans_b = op.int_attr("transA"), op.int_attr("transB")
        out_dims = shape(op.Y)
        accumulator = accumulator_type(element)
        init = filled_tensor(rewriter, out_dims, accumulator, 0)
        if not trans_a and not trans_b and accumulator == element:
            product = rewriter.insert(linalg.MatmulOp([op.A, op.B], [init])).results[0]
        else:
            m, n, k = (AffineExpr.dimension(index) for index in range(3))
            maps = [
                affine_map(3, [k, m] if trans_a else [m, k]),
                affine_map(3, [n, k] if trans_b else [k, n]),
                affine_map(3, [m, n]),
            ]
            product = build_generic(
                rewriter,
                [op.A, op.B],
                [init],
                maps,
                [PARALLEL, PARALLEL, REDUCTION],
                lambda body, args: [multiply_add(body, args[0], args[1], args[2])],
            ).results[0]
        if op.C is None and alpha == 1:
            rewriter.replace(op, [], [narrow_to(rewriter, product, element)])
            return
        result = self._epilogue(rewriter, op, product, alpha, beta)
        rewriter.replace(op, [], [narrow_to(rewriter, result, element)])

    def _epilogue(
        self, rewriter: PatternRewriter, op: GemmOp, product: SSAValue, alpha: float, beta: float
    ) -> SSAValue:
        out_dims = shape(product)
        inputs = [product] if op.C is None else [product, op.C]
        maps = [identity_map(2)]
        if op.C is not None:
            c_dims = shape(op.C)
            offset = 2 - len(c_dims)
            results = [
                AffineExpr.constant(0) if size == 1 else AffineExpr.dimension(offset + index)
                for index, size in enumerate(c_dims)
            ]
            maps.append(affine_map(2, results))
        maps.append(identity_map(2))

        def body(builder: Builder, args: Sequence[SSAValue]) -> list[SSAValue]:
            result = args[0]
            if alpha != 1:  # alpha * AB
                scale = scalar_constant(builder, alpha, result.type)
                result = builder.insert(arith.MulfOp(scale, result)).result
            if op.C is None:
                return [result]
            addend = extend_to(builder, args[1], result.type) if is_float(result.type) else args[1]
            if beta != 1:  # beta * C
                scale = scalar_constant(builder, beta, addend.type)
                addend = builder.insert(arith.MulfOp(scale, addend)).result
            if is_float(result.type):
                return [builder.insert(arith.AddfOp(result, addend)).result]
            return [builder.insert(arith.AddiOp(result, addend)).result]

        init = empty_tensor(rewriter, out_dims, element_type(product))
        generic = build_generic(rewriter, inputs, [init], maps, [PARALLEL, PARALLEL], body)
        return generic.results[0]


# ---------------------------------------------------------------------------------------------
# The pattern list.

PATTERNS: list[RewritePattern] = [
    MatMulLowering(),
    GemmLowering(),
]
