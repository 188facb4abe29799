"""convert-nn-to-linalg patterns for reductions and normalizations: reduce_*, arg_max/arg_min,
softmax, log_softmax, layer and batch normalization, global pooling and LRN.

A reduction is `linalg.fill` of its identity (0, -inf, +inf) into an init tensor, then a
`linalg.generic` with reduction iterators on the reduced dims; the init's map reads the reduced
dims at 0 when dims are kept and leaves them out otherwise. Accumulation is in the result
element type, except that f16 and bf16 sums, means and softmax compute in f32 and round once.
Normalizations are reductions (kept dims) followed by broadcasting elementwise
generics; softmax subtracts the maximum first, layer normalization centres before squaring.
"""

from __future__ import annotations

import math as pymath
from collections.abc import Callable, Sequence
from typing import cast

from xdsl.builder import Builder
from xdsl.dialects import arith, math, tensor
from xdsl.dialects.builtin import (
    AffineMapAttr,
    AnyFloat,
    IntegerType,
    f32,
    i64,
)
from xdsl.dialects.linalg.ops import IndexOp
from xdsl.dialects.utils.fast_math import FastMathFlag
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.ir.affine import AffineExpr, AffineMap
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern

from ...dialects.nn import neural, reduction
from .common import (
    PARALLEL,
    REDUCTION,
    build_generic,
    element_kind,
    element_type,
    elementwise_generic,
    filled_tensor,
    identity_map,
    is_float,
    lowest_value,
    scalar_constant,
    shape,
    unsupported,
)

Combine = Callable[[Builder, SSAValue, SSAValue], SSAValue]
"""Builds acc' from (element, acc) in a reduction body."""


# ---------------------------------------------------------------------------------------------
# Helpers.


def _normalized_axis(op: Operation, axis: int, rank: int) -> int:
    normalized = axis + rank if axis < 0 else axis
    if not 0 <= normalized < rank:
        raise unsupported(op, f"axis {axis} out of range for rank {rank}")
    return normalized


def _highest(element: Attribute) -> float | int:
    """The identity of min: +inf, or the largest integer."""
    if isinstance(element, AnyFloat):
        return pymath.inf
    assert isinstance(element, IntegerType)
    width = element.width.data
    return (1 << width) - 1 if element_kind(element) == "unsigned" else (1 << (width - 1)) - 1


def _arith(
    float_op: type[Operation], signed: type[Operation], unsigned: type[Operation]
) -> Combine:
    """A combine step choosing arith's variant by the operands' element kind."""

    def combine(b: Builder, value: SSAValue, acc: SSAValue) -> SSAValue:
        op_type = {"float": float_op, "signed": signed, "unsigned": unsigned}[
            element_kind(value.type)
        ]
        return b.insert(op_type(value, acc)).results[0]  # pyright: ignore[reportCallIssue]

    return combine


def _reassociable_add(b: Builder, value: SSAValue, acc: SSAValue) -> SSAValue:
    """acc + value; for floats marked `reassoc`, so that LLVM may sum in vector lanes (partial
    sums, added at the end): the order of the terms changes, not their set."""
    if element_kind(value.type) != "float":
        return b.insert(arith.AddiOp(value, acc)).result
    flags = arith.FastMathFlagsAttr([FastMathFlag.REASSOC])
    return b.insert(arith.AddfOp(value, acc, flags)).result


_ADD: Combine = _reassociable_add
_MUL = _arith(arith.MulfOp, arith.MuliOp, arith.MuliOp)
# maximumf/minimumf propagate NaN, as numpy's max and min
_MAX = _arith(arith.MaximumfOp, arith.MaxSIOp, arith.MaxUIOp)
_MIN = _arith(arith.MinimumfOp, arith.MinSIOp, arith.MinUIOp)
_MAX_IGNORING_NAN = _arith(arith.MaxnumfOp, arith.MaxSIOp, arith.MaxUIOp)


def _output_map(rank: int, axes: Sequence[int], keepdims: bool) -> AffineMapAttr:
    """The init's map: reduced dims read at 0 when kept, left out otherwise."""
    results = [
        AffineExpr.constant(0) if i in axes else AffineExpr.dimension(i)
        for i in range(rank)
        if keepdims or i not in axes
    ]
    return AffineMapAttr(AffineMap(rank, 0, tuple(results)))


def _reduced_dims(dims: Sequence[int], axes: Sequence[int], keepdims: bool) -> list[int]:
    return [1 if i in axes else d for i, d in enumerate(dims) if keepdims or i not in axes]


def _reduce(
    b: Builder,
    x: SSAValue,
    axes: Sequence[int],
    keepdims: bool,
    identity: float | int,
    combine: Callable[..., SSAValue],  # a Combine, with one more value per extra input
    extra_inputs: Sequence[tuple[SSAValue, AffineMapAttr]] = (),
) -> SSAValue:
    """Reduces x over `axes` from an init filled with `identity`; `combine` gets the element
    of x (and of each extra input, in order), then the accumulator."""
    dims = shape(x)
    element = element_type(x)
    init = filled_tensor(b, _reduced_dims(dims, axes, keepdims), element, identity)
    inputs = [x, *(value for value, _ in extra_inputs)]
    maps = [identity_map(len(dims)), *(m for _, m in extra_inputs)]
    maps.append(_output_map(len(dims), axes, keepdims))
    iterators = [REDUCTION if i in axes else PARALLEL for i in range(len(dims))]

    def body(builder: Builder, args: Sequence[SSAValue]) -> Sequence[SSAValue]:
        return [combine(builder, *args)]

    return build_generic(b, inputs, [init], maps, iterators, body).results[0]


def _count(b: Builder, count: int, like: SSAValue) -> SSAValue:
    return scalar_constant(b, count, like.type)


def _divide_by(b: Builder, value: SSAValue, count: int) -> SSAValue:
    """value / count; integers truncate toward zero (divsi), as onnxruntime's mean."""
    divide = {"float": arith.DivfOp, "signed": arith.DivSIOp, "unsigned": arith.DivUIOp}
    op_type = divide[element_kind(value.type)]
    return b.insert(op_type(value, _count(b, count, value))).result


def _mean(b: Builder, x: SSAValue, axes: Sequence[int], keepdims: bool) -> SSAValue:
    total = _reduce(b, x, axes, keepdims, 0, _ADD)
    count = pymath.prod(shape(x)[a] for a in axes)

    def body(builder: Builder, args: Sequence[SSAValue]) -> Sequence[SSAValue]:
        return [_divide_by(builder, args[0], count)]

    return elementwise_generic(b, [total], element_type(x), body)


def _to_element(b: Builder, value: SSAValue, element: Attribute) -> SSAValue:
    """A float scalar extended or truncated to `element`."""
    if value.type == element:
        return value
    assert isinstance(element, AnyFloat) and isinstance(value.type, AnyFloat)
    if value.type.bitwidth < element.bitwidth:
        return b.insert(arith.ExtFOp(value, element)).result
    return b.insert(arith.TruncFOp(value, element)).result


def _compute_type(element: Attribute) -> AnyFloat:
    """f32 for narrower floats, else the element type itself."""
    assert isinstance(element, AnyFloat)
    return element if element.bitwidth >= 32 else f32


def _convert(b: Builder, x: SSAValue, element: AnyFloat) -> SSAValue:
    """x as a tensor of `element` (no op when it already is)."""
    if element_type(x) == element:
        return x

    def body(builder: Builder, args: Sequence[SSAValue]) -> Sequence[SSAValue]:
        return [_to_element(builder, args[0], element)]

    return elementwise_generic(b, [x], element, body)


def _require_float(op: Operation, value: SSAValue) -> None:
    if not isinstance(element_type(value), AnyFloat):
        raise unsupported(op, f"needs float elements, got {element_type(value)}")


# ---------------------------------------------------------------------------------------------
# Patterns.


class LowerReduce(RewritePattern):
    """reduce_sum/mean/max/min over `axes` (all when absent; none with noop_with_empty_axes)."""

    def __init__(self, op_type: type[reduction.ReduceOp]):
        self.op_type = op_type

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if not isinstance(op, self.op_type):
            return
        rank = len(shape(op.data))
        axes = op.ints_attr("axes") or []
        if not axes and op.int_attr("noop_with_empty_axes"):
            rewriter.replace(op, [], [op.data])  # reducing nothing is the identity
            return
        normalized = sorted({_normalized_axis(op, a, rank) for a in axes} or range(rank))
        keepdims = bool(op.int_attr("keepdims"))
        element = element_type(op.data)
        accumulating = reduction.ReduceMeanOp | reduction.ReduceSumOp | reduction.ReduceProdOp
        if isinstance(op, accumulating) and is_float(element):
            # f16 and bf16 accumulate in f32 and round once, as the nn reference does
            wide = _convert(rewriter, op.data, _compute_type(element))
            result = _accumulate(rewriter, op, wide, normalized, keepdims)
            result = _convert(rewriter, result, cast(AnyFloat, element))
        elif isinstance(op, accumulating):
            result = _accumulate(rewriter, op, op.data, normalized, keepdims)
        elif isinstance(op, reduction.ReduceMaxOp):
            result = _reduce(rewriter, op.data, normalized, keepdims, lowest_value(element), _MAX)
        else:
            result = _reduce(rewriter, op.data, normalized, keepdims, _highest(element), _MIN)
        rewriter.replace(op, [], [result])


def _accumulate(
    b: Builder, op: reduction.ReduceOp, x: SSAValue, axes: Sequence[int], keepdims: bool
) -> SSAValue:
    """The mean, sum or product of x over `axes`, in x's element type."""
    if isinstance(op, reduction.ReduceMeanOp):
        return _mean(b, x, axes, keepdims)
    if isinstance(op, reduction.ReduceProdOp):
        return _reduce(b, x, axes, keepdims, 1, _MUL)
    return _reduce(b, x, axes, keepdims, 0, _ADD)


class LowerArgReduce(RewritePattern):
    """arg_max/arg_min as two generics: the extreme value along the axis (kept dims), then the
    smallest (or with select_last_index, largest) index whose element equals it, from
    `linalg.index`. NaN counts as the extreme, as numpy's argmax: it propagates into the
    maximum, and a NaN element matches a NaN extreme."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if not isinstance(op, reduction.ArgMaxOp | reduction.ArgMinOp):
            return
        dims = shape(op.data)
        axis = _normalized_axis(op, op.int_attr("axis"), len(dims))
        element = element_type(op.data)
        is_max = isinstance(op, reduction.ArgMaxOp)
        identity = lowest_value(element) if is_max else _highest(element)
        extreme = _reduce(rewriter, op.data, [axis], True, identity, _MAX if is_max else _MIN)
        last = bool(op.int_attr("select_last_index"))
        init = filled_tensor(
            rewriter,
            _reduced_dims(dims, [axis], bool(op.int_attr("keepdims"))),
            i64,
            -1 if last else dims[axis],
        )
        maps = [identity_map(len(dims)), _output_map(len(dims), [axis], True)]
        maps.append(_output_map(len(dims), [axis], bool(op.int_attr("keepdims"))))
        iterators = [REDUCTION if i == axis else PARALLEL for i in range(len(dims))]

        def body(b: Builder, args: Sequence[SSAValue]) -> Sequence[SSAValue]:
            value, best, acc = args
            index = b.insert(IndexOp(axis)).result
            index = b.insert(arith.IndexCastOp(index, i64)).result
            pick = arith.MaxSIOp if last else arith.MinSIOp
            candidate = b.insert(pick(acc, index)).result
            matches = _equal_or_both_nan(b, value, best)
            return [b.insert(arith.SelectOp(matches, candidate, acc)).result]

        generic = build_generic(rewriter, [op.data, extreme], [init], maps, iterators, body)
        rewriter.replace(op, [], [generic.results[0]])


def _equal_or_both_nan(b: Builder, value: SSAValue, best: SSAValue) -> SSAValue:
    if not isinstance(value.type, AnyFloat):
        return b.insert(arith.CmpiOp(value, best, "eq")).result
    equal = b.insert(arith.CmpfOp(value, best, "oeq")).result
    # best is NaN exactly when some element is: then only NaN elements match
    is_nan = b.insert(arith.CmpfOp(value, value, "uno")).result
    return b.insert(arith.OrIOp(equal, is_nan)).result


class LowerSoftmax(RewritePattern):
    """softmax / log_softmax along `axis`: m = max, e = exp(x - m), s = sum(e); then
    e * (1 / s), or (x - m) - log(s)."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if not isinstance(op, neural.SoftmaxOp | neural.LogSoftmaxOp):
            return
        _require_float(op, op.input)
        element = element_type(op.input)
        compute = _compute_type(element)  # f16 and bf16 in f32, rounded once at the end
        x = _convert(rewriter, op.input, compute)
        axis = _normalized_axis(op, op.int_attr("axis"), len(shape(x)))
        # maxnum, not maximum: LLVM keeps a maxnum reduction in vector lanes; a NaN the max
        # skips still reaches every output of its row, through exp(NaN - m) and the sum
        maximum = _reduce(rewriter, x, [axis], True, -pymath.inf, _MAX_IGNORING_NAN)

        def shifted_exp(b: Builder, args: Sequence[SSAValue]) -> Sequence[SSAValue]:
            shifted = b.insert(arith.SubfOp(args[0], args[1])).result
            return [b.insert(math.ExpOp(shifted)).result]

        exp = elementwise_generic(rewriter, [x, maximum], compute, shifted_exp)
        total = _reduce(rewriter, exp, [axis], True, 0.0, _ADD)
        if isinstance(op, neural.SoftmaxOp):

            def divide(b: Builder, args: Sequence[SSAValue]) -> Sequence[SSAValue]:
                # e * (1 / s): the reciprocal depends on the row only, LLVM hoists it out of
                # the row's loop (a multiply per element instead of a divide, as onnxruntime)
                one = scalar_constant(b, 1.0, compute)
                reciprocal = b.insert(arith.DivfOp(one, args[1])).result
                quotient = b.insert(arith.MulfOp(args[0], reciprocal)).result
                return [_to_element(b, quotient, element)]

            result = elementwise_generic(rewriter, [exp, total], element, divide)
        else:

            def log_softmax(b: Builder, args: Sequence[SSAValue]) -> Sequence[SSAValue]:
                shifted = b.insert(arith.SubfOp(args[0], args[1])).result
                log_total = b.insert(math.LogOp(args[2])).result
                difference = b.insert(arith.SubfOp(shifted, log_total)).result
                return [_to_element(b, difference, element)]

            result = elementwise_generic(rewriter, [x, maximum, total], element, log_softmax)
        rewriter.replace(op, [], [result])


class LowerLayerNormalization(RewritePattern):
    """layer_normalization over dims axis.. in f32 (or f64): mean = sum(x) / n, variance =
    sum((x - mean)^2) / n, y = (x - mean) * (1 / sqrt(variance + epsilon)) * scale (+ B).

    Three passes over x (two reductions and the result), no centred tensor in between; both
    sums are `reassoc` (vector lanes); the reciprocal of the deviation depends on the row only,
    so LLVM hoists it out of the row's loop and each element costs a multiply, not a divide
    (as onnxruntime computes it)."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if not isinstance(op, neural.LayerNormalizationOp):
            return
        _require_float(op, op.X)
        dims = shape(op.X)
        axis = _normalized_axis(op, op.int_attr("axis"), len(dims))
        axes = list(range(axis, len(dims)))
        count = pymath.prod(dims[axis:])
        compute = _compute_type(element_type(op.X))
        x = _convert(rewriter, op.X, compute)
        total = _reduce(rewriter, x, axes, True, 0.0, _ADD)

        def add_square(b: Builder, value: SSAValue, row_total: SSAValue, acc: SSAValue) -> SSAValue:
            mean = _divide_by(b, row_total, count)
            deviation = b.insert(arith.SubfOp(value, mean)).result
            square = b.insert(arith.MulfOp(deviation, deviation)).result
            return _reassociable_add(b, square, acc)

        row_map = _output_map(len(dims), axes, True)
        squares = _reduce(rewriter, x, axes, True, 0.0, add_square, [(total, row_map)])
        epsilon = op.float_attr("epsilon")
        result_element = element_type(op.Y)
        operands = [x, total, squares, op.Scale, *([op.B] if op.B is not None else [])]

        def normalize(b: Builder, args: Sequence[SSAValue]) -> Sequence[SSAValue]:
            centered = b.insert(arith.SubfOp(args[0], _divide_by(b, args[1], count))).result
            variance = _divide_by(b, args[2], count)
            shifted = b.insert(arith.AddfOp(variance, scalar_constant(b, epsilon, compute)))
            deviation = b.insert(math.SqrtOp(shifted.result)).result
            one = scalar_constant(b, 1.0, compute)
            reciprocal = b.insert(arith.DivfOp(one, deviation)).result
            value = b.insert(arith.MulfOp(centered, reciprocal)).result
            scale = _to_element(b, args[3], compute)
            value = b.insert(arith.MulfOp(value, scale)).result
            if len(operands) == 5:
                bias = _to_element(b, args[4], compute)
                value = b.insert(arith.AddfOp(value, bias)).result
            return [_to_element(b, value, result_element)]

        result = elementwise_generic(rewriter, operands, result_element, normalize, dims)
        rewriter.replace(op, [], [result])


class LowerBatchNormalization(RewritePattern):
    """batch_normalization (inference) as one generic: the per-channel operands are read at
    loop dim 1; y = (x - mean) / sqrt(var + epsilon) * scale + B."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if not isinstance(op, neural.BatchNormalizationOp):
            return
        _require_float(op, op.X)
        dims = shape(op.X)
        if len(dims) < 2:
            raise unsupported(op, "needs a channel axis (rank 2 or more)")
        element = element_type(op.X)
        compute = _compute_type(element)
        epsilon = op.float_attr("epsilon")
        channel = AffineMapAttr(AffineMap(len(dims), 0, (AffineExpr.dimension(1),)))
        operands = [op.X, op.scale, op.B, op.input_mean, op.input_var]
        maps = [identity_map(len(dims)), *[channel] * 4, identity_map(len(dims))]
        init = _empty_like(rewriter, op.Y)

        def body(b: Builder, args: Sequence[SSAValue]) -> Sequence[SSAValue]:
            x, scale, bias, mean, variance = (_to_element(b, v, compute) for v in args[:5])
            shifted = b.insert(arith.AddfOp(variance, scalar_constant(b, epsilon, compute)))
            deviation = b.insert(math.SqrtOp(shifted.result)).result
            centered = b.insert(arith.SubfOp(x, mean)).result
            value = b.insert(arith.DivfOp(centered, deviation)).result
            value = b.insert(arith.MulfOp(value, scale)).result
            value = b.insert(arith.AddfOp(value, bias)).result
            return [_to_element(b, value, element)]

        iterators = [PARALLEL] * len(dims)
        generic = build_generic(rewriter, operands, [init], maps, iterators, body)
        rewriter.replace(op, [], [generic.results[0]])


def _empty_like(b: Builder, value: SSAValue) -> SSAValue:
    return b.insert(tensor.EmptyOp([], value.type)).tensor


class LowerGlobalPool(RewritePattern):
    """global_average_pool / global_max_pool: a kept-dims mean or max over dims 2.."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if not isinstance(op, neural.GlobalAveragePoolOp | neural.GlobalMaxPoolOp):
            return
        dims = shape(op.X)
        axes = list(range(2, len(dims)))
        if isinstance(op, neural.GlobalAveragePoolOp):
            _require_float(op, op.X)
            result = _mean(rewriter, op.X, axes, True)
        else:
            result = _reduce(rewriter, op.X, axes, True, lowest_value(element_type(op.X)), _MAX)
        rewriter.replace(op, [], [result])


class LowerLrn(RewritePattern):
    """lrn across channels with a padded-squares tensor: squares of x go into a zero tensor
    with (size-1)/2 channels before and the rest after (empty + fill + insert_slice), so that
    every window is `size` wide; a generic over (n, c, spatial..., k) sums padded[n, c + k];
    then y = x / (bias + alpha / size * sum)^beta."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if not isinstance(op, neural.LRNOp):
            return
        _require_float(op, op.X)
        dims = shape(op.X)
        size = op.int_attr("size")
        if len(dims) < 3 or size < 1:
            raise unsupported(op, f"needs rank >= 3 and size >= 1, got {len(dims)}, {size}")
        element = element_type(op.X)

        def square(b: Builder, args: Sequence[SSAValue]) -> Sequence[SSAValue]:
            return [b.insert(arith.MulfOp(args[0], args[0])).result]

        squares = elementwise_generic(rewriter, [op.X], element, square)
        before = (size - 1) // 2
        padded_dims = [dims[0], dims[1] + size - 1, *dims[2:]]
        zeros = filled_tensor(rewriter, padded_dims, element, 0.0)
        offsets = [0, before] + [0] * (len(dims) - 2)
        padded = rewriter.insert(
            tensor.InsertSliceOp.from_static_parameters(squares, zeros, offsets, list(dims))
        ).result
        window_sum = _window_sum(rewriter, padded, dims, size)
        alpha, beta, bias = op.float_attr("alpha"), op.float_attr("beta"), op.float_attr("bias")

        def normalize(b: Builder, args: Sequence[SSAValue]) -> Sequence[SSAValue]:
            x, total = args[0], args[1]
            scaled = b.insert(arith.MulfOp(total, scalar_constant(b, alpha / size, element)))
            base = b.insert(arith.AddfOp(scalar_constant(b, bias, element), scaled.result))
            power = b.insert(math.PowFOp(base.result, scalar_constant(b, beta, element)))
            return [b.insert(arith.DivfOp(x, power.result)).result]

        result = elementwise_generic(rewriter, [op.X, window_sum], element, normalize)
        rewriter.replace(op, [], [result])


def _window_sum(b: Builder, padded: SSAValue, dims: Sequence[int], size: int) -> SSAValue:
    """sum over k < size of padded[n, c + k, ...], for every (n, c, ...) of `dims`."""
    rank = len(dims)
    loop_k = AffineExpr.dimension(rank)
    padded_results = [AffineExpr.dimension(i) for i in range(rank)]
    padded_results[1] = AffineExpr.dimension(1) + loop_k
    # the window dim k needs a loop range: a tensor of `size` elements read at k gives it
    window = filled_tensor(b, [size], element_type(padded), 0.0)
    output = tuple(AffineExpr.dimension(i) for i in range(rank))
    maps = [
        AffineMapAttr(AffineMap(rank + 1, 0, tuple(padded_results))),
        AffineMapAttr(AffineMap(rank + 1, 0, (loop_k,))),
        AffineMapAttr(AffineMap(rank + 1, 0, output)),
    ]
    init = filled_tensor(b, dims, element_type(padded), 0.0)
    iterators = [PARALLEL] * rank + [REDUCTION]

    def body(builder: Builder, args: Sequence[SSAValue]) -> Sequence[SSAValue]:
        return [builder.insert(arith.AddfOp(args[2], args[0])).result]

    return build_generic(b, [padded, window], [init], maps, iterators, body).results[0]


# ---------------------------------------------------------------------------------------------
# The pattern list.

PATTERNS: list[RewritePattern] = [
    LowerReduce(reduction.ReduceSumOp),
    LowerReduce(reduction.ReduceMeanOp),
    LowerReduce(reduction.ReduceProdOp),
    LowerReduce(reduction.ReduceMaxOp),
    LowerReduce(reduction.ReduceMinOp),
    LowerArgReduce(),
    LowerSoftmax(),
    LowerLayerNormalization(),
    LowerBatchNormalization(),
    LowerGlobalPool(),
    LowerLrn(),
]
