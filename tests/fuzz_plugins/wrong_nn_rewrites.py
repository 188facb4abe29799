"""Subtly wrong nn rewrites, three or more per op family, loaded as a pass plugin: each stands
for a wrong rewrite a user might write, and the fuzzer must catch it on at least 19 of 20 seeds
within the CI budget (docs/fuzzing.md has the table, tests/test_fuzz_oracle.py checks a subset).

Each is wrong only in some cases: at an axis or a border, for one element type, for negative
values, when shapes happen to allow a swap. `FAMILY` on each pass names its op family.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from onnx import TensorProto
from xdsl.context import Context
from xdsl.dialects.builtin import DenseIntOrFPElementsAttr, IntegerAttr, ModuleOp
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)

from terrace.dialects.nn import elementwise as ew
from terrace.dialects.nn import neural, reduction, shape
from terrace.dialects.nn.base import (
    NnOperation,
    attribute_from_python,
    dense_from_numpy,
    dense_to_numpy,
    numpy_dtype_of,
    shape_of,
    tensor_type,
)
from terrace.dialects.nn.constants import ConstantOp

_DONE = "fuzz.wrong"


# -- helpers ----------------------------------------------------------------------------------


def _done(op: Operation) -> bool:
    return _DONE in op.attributes


def _make(
    op_class: type[NnOperation],
    operands: Sequence[SSAValue | Sequence[SSAValue] | None],
    attributes: dict[str, object] | None = None,
) -> NnOperation:
    """The op with its inferred result type, marked so that no pattern rewrites it again."""
    attrs = {
        name: attribute_from_python(op_class.ATTRIBUTES[name].kind, value)
        for name, value in (attributes or {}).items()
    }
    grouped = [[] if o is None else [o] if isinstance(o, SSAValue) else list(o) for o in operands]
    first = next(v for group in grouped for v in group)
    probe = op_class.build(operands=grouped, result_types=[first.type], attributes=attrs)
    [result_type] = probe.infer_result_types()
    probe.erase()
    op = op_class.build(operands=grouped, result_types=[result_type], attributes=attrs)
    op.attributes[_DONE] = IntegerAttr(1, 64)
    return op


def _constant(array: np.ndarray) -> ConstantOp:
    op = ConstantOp(
        attributes={"value": dense_from_numpy(array)},
        result_types=[tensor_type(array.dtype, array.shape)],
    )
    op.attributes[_DONE] = IntegerAttr(1, 64)
    return op


def _same_attributes(op: NnOperation, **changes: object) -> dict[str, object]:
    return op.python_attributes() | changes


def _is_float(value: SSAValue) -> bool:
    return bool(np.issubdtype(numpy_dtype_of(value), np.floating))


def _replace(rewriter: PatternRewriter, ops: list[Operation], old: Operation) -> None:
    """Replaces `old` by the last of `ops` when its type is the same (else leaves it)."""
    if ops[-1].result_types[0] != old.result_types[0]:
        for op in reversed(ops):
            op.erase()
        return
    rewriter.replace(old, ops)


class _Pass(ModulePass):
    FAMILY: ClassVar[str] = ""
    PATTERN: ClassVar[type[RewritePattern]]

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(self.PATTERN()).rewrite_module(op)


# -- elementwise ------------------------------------------------------------------------------


class IntDivFloor(RewritePattern):
    """Integer a / b as floor division, (a - a mod b) / b with Python's mod: ONNX truncates
    towards zero, so this is wrong when the signs differ (integers only)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ew.DivOp, rewriter: PatternRewriter, /) -> None:
        if _done(op) or _is_float(op.A):
            return
        mod = _make(ew.ModOp, [op.A, op.B], {"fmod": 0})
        sub = _make(ew.SubOp, [op.A, mod.results[0]])
        div = _make(ew.DivOp, [sub.results[0], op.B])
        _replace(rewriter, [mod, sub, div], op)


class LeakyReluAsRelu(RewritePattern):
    """leaky_relu with a small slope (<= 0.01) as relu: wrong for negative values only."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ew.LeakyReluOp, rewriter: PatternRewriter, /) -> None:
        if _done(op) or abs(op.float_attr("alpha")) > 0.01:
            return
        _replace(rewriter, [_make(ew.ReluOp, [op.X])], op)


class PowViaExpLog(RewritePattern):
    """Float x ** y as exp(y * log x): wrong for negative (and zero) bases only."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ew.PowOp, rewriter: PatternRewriter, /) -> None:
        if _done(op) or not _is_float(op.A) or shape_of(op.A) != shape_of(op.C):
            return
        log = _make(ew.LogOp, [op.A])
        mul = _make(ew.MulOp, [op.B, log.results[0]])
        exp = _make(ew.ExpOp, [mul.results[0]])
        _replace(rewriter, [log, mul, exp], op)


class ReluOfTanhErased(RewritePattern):
    """relu of a value that is never negative erased: right after relu, sigmoid, abs and exp,
    wrong after tanh (which the list wrongly holds too): a rewrite that depends on the op
    producing its operand, never on the op alone."""

    NEVER_NEGATIVE = (ew.ReluOp, ew.SigmoidOp, ew.AbsOp, ew.ExpOp, ew.TanhOp)

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ew.ReluOp, rewriter: PatternRewriter, /) -> None:
        if _done(op) or not isinstance(op.X.owner, self.NEVER_NEGATIVE):
            return
        rewriter.replace(op, [], [op.X])


@dataclass(frozen=True)
class WrongIntDivFloor(_Pass):
    name = "wrong-int-div-floor"
    FAMILY = "elementwise"
    PATTERN = IntDivFloor


@dataclass(frozen=True)
class WrongLeakyReluAsRelu(_Pass):
    name = "wrong-leaky-relu-as-relu"
    FAMILY = "elementwise"
    PATTERN = LeakyReluAsRelu


@dataclass(frozen=True)
class WrongEraseReluOfTanh(_Pass):
    name = "wrong-erase-relu-of-tanh"
    FAMILY = "elementwise"
    PATTERN = ReluOfTanhErased


@dataclass(frozen=True)
class WrongPowViaExpLog(_Pass):
    name = "wrong-pow-via-exp-log"
    FAMILY = "elementwise"
    PATTERN = PowViaExpLog


# -- reductions -------------------------------------------------------------------------------


class ReduceNeighbourAxis(RewritePattern):
    """A reduction over one axis moved to the next axis when the two have the same size (the
    result type does not change): off by one on an axis."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: reduction.ReduceOp, rewriter: PatternRewriter, /) -> None:
        axes = op.ints_attr("axes")
        dims = shape_of(op.data)
        if _done(op) or axes is None or len(axes) != 1:
            return
        axis = axes[0] % len(dims)
        if axis + 1 >= len(dims) or dims[axis] != dims[axis + 1] or dims[axis] == 1:
            return
        moved = _make(type(op), [op.data], _same_attributes(op, axes=[axis + 1]))
        _replace(rewriter, [moved], op)


class ReduceMaxOfAbs(RewritePattern):
    """reduce_max(x) as reduce_max(|x|) when x is a float: wrong when the largest magnitude
    is a negative value."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: reduction.ReduceMaxOp, rewriter: PatternRewriter, /):
        if _done(op) or not _is_float(op.data):
            return
        absolute = _make(ew.AbsOp, [op.data])
        reduced = _make(reduction.ReduceMaxOp, [absolute.results[0]], op.python_attributes())
        _replace(rewriter, [absolute, reduced], op)


class ArgMaxLastIndex(RewritePattern):
    """arg_max/arg_min picking the last of equal extremes: wrong only when there are ties
    (integers, clipped or filled inputs)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: reduction.ArgReduceOp, rewriter: PatternRewriter, /):
        if _done(op) or op.int_attr("select_last_index"):
            return
        last = _make(type(op), [op.data], _same_attributes(op, select_last_index=1))
        _replace(rewriter, [last], op)


@dataclass(frozen=True)
class WrongReduceNeighbourAxis(_Pass):
    name = "wrong-reduce-neighbour-axis"
    FAMILY = "reduction"
    PATTERN = ReduceNeighbourAxis


@dataclass(frozen=True)
class WrongReduceMaxOfAbs(_Pass):
    name = "wrong-reduce-max-of-abs"
    FAMILY = "reduction"
    PATTERN = ReduceMaxOfAbs


@dataclass(frozen=True)
class WrongArgMaxLastIndex(_Pass):
    name = "wrong-arg-max-last-index"
    FAMILY = "reduction"
    PATTERN = ArgMaxLastIndex


# -- windows ----------------------------------------------------------------------------------


class MaxPoolZeroPadding(RewritePattern):
    """max_pool's padding made explicit with zeros (it should never win): wrong where a
    window at the border holds only negative values."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: neural.MaxPoolOp, rewriter: PatternRewriter, /) -> None:
        pads = op.ints_attr("pads")
        if _done(op) or not pads or not any(pads) or op.int_attr("ceil_mode"):
            return
        padded = _make(shape.PadOp, [op.X], {"pads": [0, 0, pads[0], pads[1], 0, 0, *pads[2:]]})
        attributes = op.python_attributes()
        del attributes["pads"]
        pooled = _make(neural.MaxPoolOp, [padded.results[0]], attributes)
        _replace(rewriter, [padded, pooled], op)


class AveragePoolCountPads(RewritePattern):
    """average_pool that counts padding in the divisor: wrong at borders with padding."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: neural.AveragePoolOp, rewriter: PatternRewriter, /):
        if _done(op) or op.int_attr("count_include_pad"):
            return
        counted = _make(type(op), [op.X], _same_attributes(op, count_include_pad=1))
        _replace(rewriter, [counted], op)


class GlobalAverageShortRow(RewritePattern):
    """global_average_pool averaging all rows but the last (a loop bound off by one): wrong
    when the input has more than one row."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: neural.GlobalAveragePoolOp, rewriter: PatternRewriter, /):
        dims = shape_of(op.X)
        if _done(op) or len(dims) < 3 or dims[2] < 2:
            return
        rows = _make(shape.SliceOp, [op.X], {"starts": [0], "ends": [dims[2] - 1], "axes": [2]})
        pooled = _make(neural.GlobalAveragePoolOp, [rows.results[0]])
        _replace(rewriter, [rows, pooled], op)


@dataclass(frozen=True)
class WrongMaxPoolZeroPadding(_Pass):
    name = "wrong-max-pool-zero-padding"
    FAMILY = "window"
    PATTERN = MaxPoolZeroPadding


@dataclass(frozen=True)
class WrongAveragePoolCountPads(_Pass):
    name = "wrong-average-pool-count-pads"
    FAMILY = "window"
    PATTERN = AveragePoolCountPads


@dataclass(frozen=True)
class WrongGlobalAverageShortRow(_Pass):
    name = "wrong-global-average-short-row"
    FAMILY = "window"
    PATTERN = GlobalAverageShortRow


# -- contractions -----------------------------------------------------------------------------


class MatMulTransposedSquare(RewritePattern):
    """x @ W as x @ W^T when W is a square matrix (the types allow it): wrong unless W is
    symmetric."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: neural.MatMulOp, rewriter: PatternRewriter, /) -> None:
        rhs = shape_of(op.B)
        if _done(op) or len(rhs) != 2 or rhs[0] != rhs[1] or rhs[0] == 1:
            return
        transposed = _make(shape.TransposeOp, [op.B], {"perm": [1, 0]})
        product = _make(neural.MatMulOp, [op.A, transposed.results[0]])
        _replace(rewriter, [transposed, product], op)


class GemmIgnoresBeta(RewritePattern):
    """Gemm adding C unscaled: wrong when beta != 1 and there is a C."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: neural.GemmOp, rewriter: PatternRewriter, /) -> None:
        if _done(op) or op.C is None or op.float_attr("beta") == 1.0:
            return
        unscaled = _make(neural.GemmOp, [op.A, op.B, op.C], _beta_one(op))
        _replace(rewriter, [unscaled], op)


def _beta_one(op: NnOperation) -> dict[str, object]:
    return _same_attributes(op, beta=1.0)


class ConvPadsSwapped(RewritePattern):
    """conv with its begin and end pads swapped when the output shape allows it: wrong
    whenever the pads are not symmetric."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: neural.ConvOp, rewriter: PatternRewriter, /) -> None:
        pads = op.ints_attr("pads")
        if _done(op) or not pads or pads[:2] == pads[2:]:
            return
        swapped = _make(
            neural.ConvOp, [op.X, op.W, op.B], _same_attributes(op, pads=[*pads[2:], *pads[:2]])
        )
        _replace(rewriter, [swapped], op)


@dataclass(frozen=True)
class WrongMatMulTransposedSquare(_Pass):
    name = "wrong-matmul-transposed-square"
    FAMILY = "contraction"
    PATTERN = MatMulTransposedSquare


@dataclass(frozen=True)
class WrongGemmIgnoresBeta(_Pass):
    name = "wrong-gemm-ignores-beta"
    FAMILY = "contraction"
    PATTERN = GemmIgnoresBeta


@dataclass(frozen=True)
class WrongConvPadsSwapped(_Pass):
    name = "wrong-conv-pads-swapped"
    FAMILY = "contraction"
    PATTERN = ConvPadsSwapped


# -- shape ops --------------------------------------------------------------------------------


class TransposeComposedBackwards(RewritePattern):
    """transpose(transpose(x, p), q) as one transpose by p∘q instead of q∘p (the two agree
    when the permutations commute)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: shape.TransposeOp, rewriter: PatternRewriter, /) -> None:
        inner = op.operands[0].owner
        if _done(op) or not isinstance(inner, shape.TransposeOp):
            return
        rank = len(shape_of(op.operands[0]))
        outer_perm = op.ints_attr("perm") or list(reversed(range(rank)))
        inner_perm = inner.ints_attr("perm") or list(reversed(range(rank)))
        right = [inner_perm[axis] for axis in outer_perm]
        wrong = [outer_perm[axis] for axis in inner_perm]
        if right == wrong:
            return
        composed = _make(shape.TransposeOp, [inner.operands[0]], {"perm": wrong})
        _replace(rewriter, [composed], op)


class ConcatSwapsEqualShapes(RewritePattern):
    """concat of two operands of one type, in swapped order: wrong unless they are equal."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: shape.ConcatOp, rewriter: PatternRewriter, /) -> None:
        inputs = list(op.operands)
        if _done(op) or len(inputs) != 2 or inputs[0].type != inputs[1].type:
            return
        swapped = _make(shape.ConcatOp, [[inputs[1], inputs[0]]], op.python_attributes())
        _replace(rewriter, [swapped], op)


class GatherNegativeIndexOffByOne(RewritePattern):
    """gather with constant indices where a negative index i becomes i + n - 1 instead of
    i + n: wrong for negative indices only."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: shape.GatherOp, rewriter: PatternRewriter, /) -> None:
        source = op.indices.owner
        if _done(op) or not isinstance(source, ConstantOp):
            return
        value = source.attributes["value"]
        assert isinstance(value, DenseIntOrFPElementsAttr)
        indices = dense_to_numpy(value)
        if not (indices < 0).any():
            return
        size = shape_of(op.data)[op.int_attr("axis") % len(shape_of(op.data))]
        shifted = np.where(indices < 0, np.maximum(indices + size - 1, 0), indices)
        constant = _constant(shifted.astype(indices.dtype))
        gathered = _make(shape.GatherOp, [op.data, constant.output], op.python_attributes())
        _replace(rewriter, [constant, gathered], op)


@dataclass(frozen=True)
class WrongTransposeComposedBackwards(_Pass):
    name = "wrong-transpose-composed-backwards"
    FAMILY = "shape"
    PATTERN = TransposeComposedBackwards


@dataclass(frozen=True)
class WrongConcatSwapsEqualShapes(_Pass):
    name = "wrong-concat-swaps-equal-shapes"
    FAMILY = "shape"
    PATTERN = ConcatSwapsEqualShapes


@dataclass(frozen=True)
class WrongGatherNegativeIndex(_Pass):
    name = "wrong-gather-negative-index"
    FAMILY = "shape"
    PATTERN = GatherNegativeIndexOffByOne


# -- normalization ----------------------------------------------------------------------------


class SoftmaxWithoutMax(RewritePattern):
    """softmax as exp(x) / sum(exp(x)) without subtracting the maximum: wrong once exp
    overflows (large values; in f16 from about 11 on)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: neural.SoftmaxOp, rewriter: PatternRewriter, /) -> None:
        if _done(op):
            return
        axis = op.int_attr("axis")
        exp = _make(ew.ExpOp, [op.operands[0]])
        total = _make(reduction.ReduceSumOp, [exp.results[0]], {"axes": [axis], "keepdims": 1})
        div = _make(ew.DivOp, [exp.results[0], total.results[0]])
        _replace(rewriter, [exp, total, div], op)


class LogSoftmaxNeighbourAxis(RewritePattern):
    """log_softmax over the previous axis when it has the same size: off by one on an axis."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: neural.LogSoftmaxOp, rewriter: PatternRewriter, /):
        dims = shape_of(op.operands[0])
        axis = op.int_attr("axis") % len(dims)
        if _done(op) or axis == 0 or dims[axis - 1] != dims[axis] or dims[axis] == 1:
            return
        moved = _make(neural.LogSoftmaxOp, [op.operands[0]], {"axis": axis - 1})
        _replace(rewriter, [moved], op)


class BatchNormWithoutEpsilon(RewritePattern):
    """batch_normalization dividing by sqrt(var) instead of sqrt(var + epsilon): off by a
    relative 1e-5 to 1e-3, beyond the tolerance of f32 and f64."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: neural.BatchNormalizationOp, rewriter: PatternRewriter, /):
        if _done(op):
            return
        tiny = _same_attributes(op, epsilon=0.0)
        _replace(rewriter, [_make(neural.BatchNormalizationOp, list(op.operands), tiny)], op)


@dataclass(frozen=True)
class WrongSoftmaxWithoutMax(_Pass):
    name = "wrong-softmax-without-max"
    FAMILY = "normalization"
    PATTERN = SoftmaxWithoutMax


@dataclass(frozen=True)
class WrongLogSoftmaxNeighbourAxis(_Pass):
    name = "wrong-log-softmax-neighbour-axis"
    FAMILY = "normalization"
    PATTERN = LogSoftmaxNeighbourAxis


@dataclass(frozen=True)
class WrongBatchNormWithoutEpsilon(_Pass):
    name = "wrong-batchnorm-without-epsilon"
    FAMILY = "normalization"
    PATTERN = BatchNormWithoutEpsilon


# -- casts and integers -----------------------------------------------------------------------

_INTEGER_TYPES = (TensorProto.INT32, TensorProto.INT64)


class CastFloorsFloats(RewritePattern):
    """A float-to-integer cast that floors (ONNX truncates towards zero): wrong for negative
    values with a fraction only."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ew.CastOp, rewriter: PatternRewriter, /) -> None:
        if _done(op) or not _is_float(op.X) or op.int_attr("to") not in _INTEGER_TYPES:
            return
        floor = _make(ew.FloorOp, [op.X])
        cast = _make(ew.CastOp, [floor.results[0]], op.python_attributes())
        _replace(rewriter, [floor, cast], op)


class IntNegAsBitwiseNot(RewritePattern):
    """Integer negation as bitwise not (~x is -x - 1): wrong for integers, off by one."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ew.NegOp, rewriter: PatternRewriter, /) -> None:
        if _done(op) or _is_float(op.X):
            return
        _replace(rewriter, [_make(ew.BitwiseNotOp, [op.X])], op)


class CastToHalfSaturates(RewritePattern):
    """A cast to f16 that clips to the largest finite f16 first: wrong only where the value
    overflows f16 (it should become an infinity)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ew.CastOp, rewriter: PatternRewriter, /) -> None:
        if _done(op) or op.int_attr("to") != TensorProto.FLOAT16 or not _is_float(op.X):
            return
        if numpy_dtype_of(op.X) == np.float16:
            return
        clip = _make(ew.ClipOp, [op.X], {"min": -65504.0, "max": 65504.0})
        cast = _make(ew.CastOp, [clip.results[0]], op.python_attributes())
        _replace(rewriter, [clip, cast], op)


@dataclass(frozen=True)
class WrongCastFloorsFloats(_Pass):
    name = "wrong-cast-floors-floats"
    FAMILY = "cast"
    PATTERN = CastFloorsFloats


@dataclass(frozen=True)
class WrongIntNegAsBitwiseNot(_Pass):
    name = "wrong-int-neg-as-bitwise-not"
    FAMILY = "cast"
    PATTERN = IntNegAsBitwiseNot


@dataclass(frozen=True)
class WrongCastToHalfSaturates(_Pass):
    name = "wrong-cast-to-half-saturates"
    FAMILY = "cast"
    PATTERN = CastToHalfSaturates
