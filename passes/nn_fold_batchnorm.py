"""Folds inference-mode batch normalization into the convolution or Gemm that feeds it.

BN(y) = scale * (y - mean) / sqrt(var + epsilon) + B is an affine map per channel,
BN(y) = factor * y + shift, so it folds into the producer's weights and bias:
W' = W * factor along the output channels, bias' = bias * factor + shift.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import ArrayAttr, FusedLoc, ModuleOp, NoneAttr, UnknownLoc
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.transforms.dead_code_elimination import region_dce

from ..dialects.nn.base import tensor_type
from ..dialects.nn.canonicalization import constant_array
from ..dialects.nn.constants import WeightOp
from ..dialects.nn.neural import BatchNormalizationOp, ConvOp, GemmOp
from ..dialects.nn.weights import WeightStore

# ---------------------------------------------------------------------------------------------
# Helpers.


def _affine_of_batchnorm(bn: BatchNormalizationOp) -> tuple[np.ndarray, np.ndarray] | None:
    """(factor, shift) in float64 with BN(y) = factor * y + shift per channel, or None when a
    parameter is not constant."""
    params = [constant_array(v) for v in (bn.scale, bn.B, bn.input_mean, bn.input_var)]
    if any(p is None for p in params):
        return None
    scale, bias, mean, var = (np.asarray(p, dtype=np.float64).reshape(-1) for p in params)
    factor = scale / np.sqrt(var + bn.float_attr("epsilon"))
    return factor, bias - mean * factor


def _float_constant(value: SSAValue) -> np.ndarray | None:
    array = constant_array(value)
    if array is None or not np.issubdtype(array.dtype, np.floating):
        return None
    return array


def _weight_name(value: SSAValue | None) -> str | None:
    if value is None or not isinstance(value.owner, WeightOp):
        return None
    return value.owner.ref.data


def _new_weight(array: np.ndarray, dtype: np.dtype[np.generic], hint: str, anchor: Operation):
    """A new nn.weight holding `array` cast to `dtype`, stored under a fresh name from `hint`."""
    cast = array.astype(dtype)
    name = WeightStore.of(anchor).add(hint, cast)
    new_op = WeightOp(name, tensor_type(cast.dtype, cast.shape))
    new_op.location = anchor.location
    return new_op


def _bias_hint(producer_bias: SSAValue | None, bn: BatchNormalizationOp, fallback: str) -> str:
    base = _weight_name(producer_bias) or _weight_name(bn.B) or fallback
    return f"{base}.bn_folded"


def _fused_location(producer: Operation, bn: Operation):
    """Both ONNX nodes' locations, or the one that is known."""
    if isinstance(bn.location, UnknownLoc):
        return producer.location
    if isinstance(producer.location, UnknownLoc):
        return bn.location
    return FusedLoc(ArrayAttr([producer.location, bn.location]), NoneAttr())


# ---------------------------------------------------------------------------------------------
# Patterns.


class FoldBatchnormIntoConv(RewritePattern):
    """conv(x, W, b) then BN -> conv(x, W * factor, b * factor + shift), any group count."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: BatchNormalizationOp, rewriter: PatternRewriter, /):
        conv = op.X.owner
        if not isinstance(conv, ConvOp) or not conv.Y.has_one_use():
            return
        weight = _float_constant(conv.W)
        bias = None if conv.B is None else constant_array(conv.B)
        if weight is None or (conv.B is not None and bias is None):
            return
        affine = _affine_of_batchnorm(op)
        if affine is None:
            return
        factor, shift = affine
        # the output channels are W's first axis, whatever the group count
        channel_shape = (-1,) + (1,) * (weight.ndim - 1)
        new_weight = weight.astype(np.float64) * factor.reshape(channel_shape)
        new_bias = shift if bias is None else bias.astype(np.float64) * factor + shift
        weight_hint = _weight_name(conv.W) or "conv.weight"
        weight_op = _new_weight(new_weight, weight.dtype, f"{weight_hint}.bn_folded", conv)
        bias_op = _new_weight(new_bias, weight.dtype, _bias_hint(conv.B, op, "conv.bias"), conv)
        new_conv = ConvOp(
            operands=[conv.X, weight_op.output, bias_op.output],
            result_types=[op.Y.type],
            attributes=dict(conv.attributes),
        )
        new_conv.location = _fused_location(conv, op)
        # inserted apart so that they do not take the BN result's name
        rewriter.insert((weight_op, bias_op))
        rewriter.replace(op, new_conv)
        rewriter.erase(conv)


class FoldBatchnormIntoGemm(RewritePattern):
    """gemm(a, B, C) then BN over the features -> gemm(a, B * factor, beta * C * factor + shift)
    with beta 1; factor scales B's output columns (its rows when transB is 1)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: BatchNormalizationOp, rewriter: PatternRewriter, /):
        gemm = op.X.owner
        if not isinstance(gemm, GemmOp) or not gemm.Y.has_one_use():
            return
        weight = _float_constant(gemm.B)
        bias = None if gemm.C is None else constant_array(gemm.C)
        if weight is None or (gemm.C is not None and bias is None):
            return
        affine = _affine_of_batchnorm(op)
        if affine is None:
            return
        factor, shift = affine
        column_scale = factor[:, None] if gemm.int_attr("transB") else factor[None, :]
        new_weight = weight.astype(np.float64) * column_scale
        new_bias = shift
        if bias is not None:
            new_bias = gemm.float_attr("beta") * bias.astype(np.float64) * factor + shift
        weight_hint = _weight_name(gemm.B) or "gemm.weight"
        weight_op = _new_weight(new_weight, weight.dtype, f"{weight_hint}.bn_folded", gemm)
        bias_op = _new_weight(new_bias, weight.dtype, _bias_hint(gemm.C, op, "gemm.bias"), gemm)
        attributes = {name: value for name, value in gemm.attributes.items() if name != "beta"}
        new_gemm = GemmOp(
            operands=[gemm.A, weight_op.output, bias_op.output],
            result_types=[op.Y.type],
            attributes=attributes,
        )
        new_gemm.location = _fused_location(gemm, op)
        # inserted apart so that they do not take the BN result's name
        rewriter.insert((weight_op, bias_op))
        rewriter.replace(op, new_gemm)
        rewriter.erase(gemm)


# ---------------------------------------------------------------------------------------------
# The pattern list and the pass.

FOLD_BATCHNORM_PATTERNS: tuple[RewritePattern, ...] = (
    FoldBatchnormIntoConv(),
    FoldBatchnormIntoGemm(),
)


@dataclass(frozen=True)
class NnFoldBatchnormPass(ModulePass):
    """Folds nn.batch_normalization into the nn.conv or nn.gemm that feeds it.

    Input: nn IR. A batch normalization is folded when its input is an nn.conv (any group
    count, with or without bias) or a 2-d nn.gemm (any transB, with or without C) used by it
    alone, and the producer's weight and bias and the BN's scale, B, mean and var are constants
    (nn.constant, nn.constant_of_shape or nn.weight). Other batch normalizations are left.
    Output: the producer with new weight and bias arrays, computed in float64 and cast back,
    added to the module's weight store as new nn.weight names ("<weight>.bn_folded"); the
    batch normalization is gone, the original weights are left in the store. Dead ops removed.
    Options: none.
    """

    name = "nn-fold-batchnorm"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        patterns = GreedyRewritePatternApplier(list(FOLD_BATCHNORM_PATTERNS))
        PatternRewriteWalker(patterns, post_walk_func=region_dce).rewrite_module(op)
