"""nn's canonicalization patterns: no-op removal, reshape and transpose chains, constant folding.

They belong to the dialect, as an MLIR dialect's `getCanonicalizationPatterns` does: every nn op
gets them through `NnCanonicalizationTrait` (base.py, a local import), so xDSL's generic
`canonicalize` pass applies them, and the `nn-canonicalize` pass (passes/nn_canonicalize.py)
applies only these, then removes dead ops.
"""

from __future__ import annotations

import numpy as np
from xdsl.dialects.builtin import DenseArrayBase, IntegerAttr, TensorType, i64
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.pattern_rewriter import (
    PatternRewriter,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.traits import ConstantLike

from .base import NnOperation, dense_from_numpy, shape_of
from .constants import ConstantOfShapeOp, ConstantOp, WeightOp
from .elementwise import DropoutOp, IdentityOp
from .reference import evaluate
from .shape import FlattenOp, ReshapeOp, SqueezeOp, TransposeOp, UnsqueezeOp
from .weights import WeightStore

FOLD_ELEMENT_LIMIT = 1 << 24
"""Constant folding leaves ops whose operands or results hold more elements than this."""

INLINE_ELEMENT_LIMIT = 16
"""Folded results up to this many elements (and splats) become nn.constant; larger ones become
nn.weight, since weights never appear in the IR as literals."""

RESHAPE_LIKE = (ReshapeOp, FlattenOp, SqueezeOp, UnsqueezeOp)
"""Ops that keep the data in row-major order and change only the shape."""


# ---------------------------------------------------------------------------------------------
# Helpers.


def _static_type(value: SSAValue) -> TensorType[Attribute] | None:
    value_type = value.type
    if not isinstance(value_type, TensorType) or not value_type.has_static_shape():
        return None
    return value_type


def _element_count(value: SSAValue) -> int | None:
    value_type = _static_type(value)
    if value_type is None:
        return None
    return int(np.prod(value_type.get_shape(), dtype=np.int64))


def is_constant(value: SSAValue) -> bool:
    """Whether `value` comes from nn.constant, nn.constant_of_shape or nn.weight."""
    return isinstance(value.owner, ConstantOp | ConstantOfShapeOp | WeightOp)


def constant_array(value: SSAValue) -> np.ndarray | None:
    """The array of a value that comes from a constant op, or None."""
    owner = value.owner
    if isinstance(owner, ConstantOp):
        array = owner.attr("value")
        assert isinstance(array, np.ndarray)
        return array
    if isinstance(owner, ConstantOfShapeOp):
        return evaluate(owner, [])[0]
    if isinstance(owner, WeightOp):
        return WeightStore.of(owner)[owner.ref.data]
    return None


def _constant_inputs(op: Operation) -> list[np.ndarray]:
    arrays: list[np.ndarray] = []
    for operand in op.operands:
        array = constant_array(operand)
        assert array is not None, "operands are checked to be constants first"
        arrays.append(array)
    return arrays


def materialize_constant(
    array: np.ndarray, result_type: Attribute, hint: str, anchor: Operation
) -> Operation:
    """An op producing `array`: nn.constant when small or a splat, else a new nn.weight whose
    array goes into the store of `anchor`'s module under a fresh name from `hint`."""
    is_splat = array.size > 0 and bool(np.all(array == array.flat[0]))
    if array.size <= INLINE_ELEMENT_LIMIT or is_splat:
        new_op: Operation = ConstantOp(
            attributes={"value": dense_from_numpy(array)}, result_types=[result_type]
        )
    else:
        name = WeightStore.of(anchor).add(hint, array)
        new_op = WeightOp(name, result_type)
    new_op.location = anchor.location
    return new_op


def _fold_hint(op: Operation) -> str:
    """A weight name for a folded result: the first weight operand's name and the op's."""
    short_name = op.name.removeprefix("nn.")
    for operand in op.operands:
        if isinstance(operand.owner, WeightOp):
            return f"{operand.owner.ref.data}.{short_name}"
    return f"folded.{short_name}"


def _transpose_perm(op: TransposeOp) -> list[int]:
    perm = op.ints_attr("perm")
    if perm is not None:
        return perm
    rank = len(shape_of(op.data))
    return list(reversed(range(rank)))  # ONNX's default reverses the axes


def _reshape(source: SSAValue, result_type: TensorType[Attribute], anchor: Operation) -> ReshapeOp:
    shape = list(result_type.get_shape())
    attributes: dict[str, Attribute] = {"shape": DenseArrayBase.from_list(i64, shape)}
    if 0 in shape:
        # without allowzero a 0 in `shape` copies the input's dimension instead
        attributes["allowzero"] = IntegerAttr(1, i64)
    new_op = ReshapeOp(operands=[source], result_types=[result_type], attributes=attributes)
    new_op.location = anchor.location
    return new_op


# ---------------------------------------------------------------------------------------------
# Patterns.


class EraseIdentity(RewritePattern):
    """nn.identity and inference-mode nn.dropout forward their input."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: IdentityOp | DropoutOp, rewriter: PatternRewriter, /):
        if op.X.type != op.Y.type:
            return
        rewriter.replace(op, [], [op.X])  # identity(x) -> x


class EraseNoopReshape(RewritePattern):
    """A reshape, flatten, squeeze or unsqueeze whose result type is its operand's."""

    @op_type_rewrite_pattern
    def match_and_rewrite(
        self,
        op: ReshapeOp | FlattenOp | SqueezeOp | UnsqueezeOp,
        rewriter: PatternRewriter,
        /,
    ):
        source = op.operands[0]
        # with several dynamic dimensions equal types need not mean equal shapes
        if _static_type(source) is None or source.type != op.results[0].type:
            return
        rewriter.replace(op, [], [source])  # reshape(x : T) : T -> x


class CancelReshapeRoundTrip(RewritePattern):
    """Two reshape-like ops that return to the original type cancel (unsqueeze(squeeze(x)))."""

    @op_type_rewrite_pattern
    def match_and_rewrite(
        self,
        op: ReshapeOp | FlattenOp | SqueezeOp | UnsqueezeOp,
        rewriter: PatternRewriter,
        /,
    ):
        inner = op.operands[0].owner
        if not isinstance(inner, RESHAPE_LIKE):
            return
        source = inner.operands[0]
        if _static_type(source) is None or source.type != op.results[0].type:
            return
        rewriter.replace(op, [], [source])  # unsqueeze(squeeze(x : T)) : T -> x


class FoldReshapeOfReshape(RewritePattern):
    """A reshape or flatten of a reshape-like op reshapes the original value directly."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ReshapeOp | FlattenOp, rewriter: PatternRewriter, /):
        inner = op.operands[0].owner
        if not isinstance(inner, RESHAPE_LIKE):
            return
        source = inner.operands[0]
        result_type = _static_type(op.results[0])
        if result_type is None or _static_type(source) is None:
            return
        rewriter.replace(op, _reshape(source, result_type, op))  # reshape(reshape(x)) -> reshape(x)


class FoldTransposeOfTranspose(RewritePattern):
    """Two transposes compose into one."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: TransposeOp, rewriter: PatternRewriter, /):
        inner = op.data.owner
        if not isinstance(inner, TransposeOp):
            return
        inner_perm = _transpose_perm(inner)
        outer_perm = _transpose_perm(op)
        # transpose(transpose(x, p), q) -> transpose(x, p[q])
        perm = [inner_perm[axis] for axis in outer_perm]
        new_op = TransposeOp(
            operands=[inner.data],
            result_types=[op.output.type],
            attributes={"perm": DenseArrayBase.from_list(i64, perm)},
        )
        new_op.location = op.location
        rewriter.replace(op, new_op)


class EraseIdentityTranspose(RewritePattern):
    """A transpose by the identity permutation."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: TransposeOp, rewriter: PatternRewriter, /):
        perm = _transpose_perm(op)
        if perm != list(range(len(perm))):
            return
        rewriter.replace(op, [], [op.data])  # transpose(x, identity) -> x


class FoldConstantOperands(RewritePattern):
    """An nn op whose operands are all constants is evaluated by the reference semantics; the
    results become nn.constant (small or splat) or new nn.weight arrays in the weight store."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /):
        if not isinstance(op, NnOperation) or op.has_trait(ConstantLike):
            return
        if not op.operands or not all(is_constant(operand) for operand in op.operands):
            return
        counts = [_element_count(value) for value in (*op.operands, *op.results)]
        if any(count is None or count > FOLD_ELEMENT_LIMIT for count in counts):
            return
        arrays = evaluate(op, _constant_inputs(op))
        hint = _fold_hint(op)
        new_ops = [
            materialize_constant(array, result.type, hint, op)
            for array, result in zip(arrays, op.results, strict=True)
        ]
        rewriter.replace(op, new_ops, [new_op.results[0] for new_op in new_ops])


# ---------------------------------------------------------------------------------------------
# The pattern list and the pass.


def canonicalization_patterns() -> tuple[RewritePattern, ...]:
    """nn's canonicalization patterns, cheapest first."""
    return (
        EraseIdentity(),
        EraseNoopReshape(),
        CancelReshapeRoundTrip(),
        FoldReshapeOfReshape(),
        EraseIdentityTranspose(),
        FoldTransposeOfTranspose(),
        FoldConstantOperands(),
    )
