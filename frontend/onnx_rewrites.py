"""ONNX ops that the importer rewrites into other nn ops, by op type.

CastLike(x, like)   Cast(x) to like's element type (low-precision ones: onnx_lowprecision.py)
Trilu(x, k)         Where(mask, x, 0), the triangle mask of the last two dims
QuantizeLinear, DequantizeLinear   elementwise ops (onnx_quantize.py)
RNN, GRU, LSTM     unrolled over the sequence (onnx_recurrent.py)
GridSample         elementwise ops and a GatherElements per tap (onnx_sampling.py)
DFT                a MatMul with a twiddle matrix (onnx_fourier.py)
Col2Im             a ScatterElements adding the blocks (onnx_col2im.py)
Sequence*, Optional*, Identity   sequences and optionals known at import (onnx_sequences.py)
Binarizer, ArrayFeatureExtractor, LabelEncoder   of ai.onnx.ml (onnx_ml.py)
TreeEnsemble       of ai.onnx.ml: comparisons and Wheres (onnx_tree_ensemble.py)
MatMulInteger, ConvInteger, QLinearMatMul, QLinearConv   int32 / float64 ops (onnx_qlinear.py)
Adagrad, Adam, Momentum (ai.onnx.preview.training)   elementwise ops (onnx_training.py)
Gradient (ai.onnx.preview.training)   reverse-mode through Add/Sub/Mul/Div (onnx_gradient.py)
BatchNormalization   nn.batch_normalization; in training mode reductions (onnx_batchnorm.py)
ReverseSequence, Upsample, MaxUnpool, TensorScatter   GatherElements, Resize,
                   ScatterElements (onnx_misc_ops.py)
Det                Gaussian elimination with partial pivoting, unrolled (onnx_det.py)
STFT               a Gather of the windowed frames and a DFT (onnx_stft.py)
RoiAlign           gathers of the bilinear neighbours of the samples (onnx_roialign.py)
DeformConv         bilinear gathers and a grouped MatMul (onnx_deform_conv.py)
"""

from __future__ import annotations

from collections.abc import Callable

import ml_dtypes
import numpy as np
import onnx
from onnx import helper

from .emitter import Emitter, NodeError, known_value, numeric_attributes
from .onnx_batchnorm import batch_normalization
from .onnx_col2im import col2im
from .onnx_deform_conv import deform_conv
from .onnx_det import det
from .onnx_fourier import dft
from .onnx_gradient import gradient
from .onnx_loop import if_, loop
from .onnx_lowprecision import convert, is_low_precision
from .onnx_misc_ops import max_unpool, reverse_sequence, tensor_scatter, upsample
from .onnx_ml import ML_DOMAIN, array_feature_extractor, binarizer, label_encoder
from .onnx_qlinear import conv_integer, matmul_integer, qlinear_conv, qlinear_matmul
from .onnx_quantize import dequantize_linear, quantize_linear
from .onnx_recurrent import recurrent
from .onnx_roialign import roi_align
from .onnx_sampling import grid_sample
from .onnx_scan import scan
from .onnx_sequences import (
    concat_from_sequence,
    identity,
    optional,
    optional_get_element,
    optional_has_element,
    sequence_at,
    sequence_construct,
    sequence_empty,
    sequence_erase,
    sequence_insert,
    sequence_length,
    split_to_sequence,
)
from .onnx_stft import stft
from .onnx_training import adagrad, adam, momentum
from .onnx_tree_ensemble import tree_ensemble

Rewrite = Callable[[onnx.NodeProto, Emitter], None]


def cast_like(node: onnx.NodeProto, emitter: Emitter) -> None:
    """A Cast; of a constant (the -inf that Attention's body casts like its input), a
    constant, so that ops taking constant inputs (Pad's value) still get one."""
    like = emitter.dtype(node.input[1])
    to = helper.np_dtype_to_tensor_dtype(like)
    settings: dict[str, object] = {}
    for attribute in node.attribute:
        if attribute.name != "saturate" or attribute.type != onnx.AttributeProto.INT:
            raise NodeError(f"attribute '{attribute.name}' not supported")
        settings["saturate"] = attribute.i
    if is_low_precision(like) or is_low_precision(emitter.dtype(node.input[0])):
        convert(emitter, node.input[0], to, settings, node.output[0])
        return
    attributes = {"to": to, **settings}
    known = emitter.value(node.input[0])
    floating = _is_float(like)
    if known is not None and _is_float(known.dtype) == floating:
        # float to float and integer to integer: numpy's astype is ONNX's Cast
        emitter.bind(node.output[0], known.astype(like))
        return
    emitter.emit("Cast", [node.input[0]], attributes, output=node.output[0])


def trilu(node: onnx.NodeProto, emitter: Emitter) -> None:
    """column - row >= k keeps the upper part, <= k the lower. A constant k makes the mask a
    constant; a run-time k is compared with the constant column - row offsets."""
    x = node.input[0]
    upper = bool(next((a.i for a in node.attribute if a.name == "upper"), 1))
    rows, columns = emitter.shape(x)[-2:]
    offsets = np.arange(columns)[None, :] - np.arange(rows)[:, None]
    k = node.input[1] if len(node.input) > 1 else ""
    known = emitter.value(k) if k else np.zeros(1, np.int64)
    if known is not None:
        bound = int(known.reshape(-1)[0])
        mask = emitter.constant(offsets >= bound if upper else offsets <= bound)
    else:
        compare = "GreaterOrEqual" if upper else "LessOrEqual"
        mask = emitter.emit(compare, [emitter.constant(offsets.astype(np.int64)), k])
    zero = emitter.constant(np.zeros((), emitter.dtype(x)))
    emitter.emit("Where", [mask, x, zero], output=node.output[0])


def clip(node: onnx.NodeProto, emitter: Emitter) -> None:
    """Clip, or with a bound known only at run time, Min(Max(x, min), max): max wins where
    min > max and NaN propagates, as in Clip."""
    legacy: dict[str, object] = {}  # before opset 11 the bounds were attributes
    for attribute in node.attribute:
        if attribute.name not in ("min", "max") or attribute.type != onnx.AttributeProto.FLOAT:
            raise NodeError(f"attribute '{attribute.name}' not supported")
        legacy[attribute.name] = attribute.f
    bounds = [*node.input[1:], "", ""][:2]
    if all(not name or emitter.value(name) is not None for name in bounds):
        emitter.emit("Clip", list(node.input), legacy, output=node.output[0])
        return
    low, high = bounds
    value = node.input[0]
    if low:
        value = emitter.emit("Max", [value, low], output="" if high else node.output[0])
    if high:
        emitter.emit("Min", [value, high], output=node.output[0])


def hardmax(node: onnx.NodeProto, emitter: Emitter) -> None:
    """Equal(iota along axis, ArgMax(x, axis, keepdims)) as x's type: 1 at the first
    maximum."""
    if emitter.opset < 13:
        raise NodeError("Hardmax before opset 13 (2-d flattening) is not supported")
    x = node.input[0]
    dims = emitter.shape(x)
    axis = next((a.i for a in node.attribute if a.name == "axis"), -1)
    axis = axis + len(dims) if axis < 0 else axis
    iota_dims = [1] * len(dims)
    iota_dims[axis] = dims[axis]
    iota = emitter.constant(np.arange(dims[axis], dtype=np.int64).reshape(iota_dims))
    first = emitter.emit("ArgMax", [x], {"axis": axis, "keepdims": 1})
    one_hot = emitter.emit("Equal", [iota, first])
    to = helper.np_dtype_to_tensor_dtype(emitter.dtype(x))
    emitter.emit("Cast", [one_hot], {"to": to}, output=node.output[0])


def lp_normalization(node: onnx.NodeProto, emitter: Emitter) -> None:
    """x / norm along axis (the p = 1 or 2 norm, kept dims), 0 where the norm is 0, as onnx's
    reference."""
    attributes = {a.name: a.i for a in node.attribute}
    if set(attributes) - {"axis", "p"}:
        raise NodeError(f"attribute '{sorted(set(attributes) - {'axis', 'p'})[0]}' not supported")
    p, axis = attributes.get("p", 2), attributes.get("axis", -1)
    if p not in (1, 2):
        raise NodeError(f"p = {p}")
    x = node.input[0]
    axes = emitter.constant(np.array([axis], np.int64))
    magnitude = emitter.emit("Abs", [x]) if p == 1 else emitter.emit("Mul", [x, x])
    norm = emitter.emit("ReduceSum", [magnitude, axes], {"keepdims": 1})
    if p == 2:
        norm = emitter.emit("Sqrt", [norm])
    zero = emitter.constant(np.zeros((), emitter.dtype(x)))
    quotient = emitter.emit("Div", [x, norm])
    vanishing = emitter.emit("Equal", [norm, zero])
    emitter.emit("Where", [vanishing, zero, quotient], output=node.output[0])


def dropout(node: onnx.NodeProto, emitter: Emitter) -> None:
    """Inference-mode Dropout, or training mode with ratio 0: y = x, mask all true; training
    mode with a ratio (dropping at random) is not supported."""
    for attribute in node.attribute:
        if attribute.name == "is_test" and attribute.i == 0:
            raise NodeError("Dropout in training mode (is_test = 0) is not supported")
        if attribute.name not in ("seed", "ratio", "is_test"):
            raise NodeError(f"attribute '{attribute.name}' not supported")
    training = node.input[2] if len(node.input) > 2 else ""
    if training and bool(known_value(emitter, training, "training_mode").reshape(-1)[0]):
        ratio = node.input[1] if len(node.input) > 1 else ""
        if not ratio or float(known_value(emitter, ratio, "ratio").reshape(-1)[0]) != 0.0:
            raise NodeError("Dropout in training mode is not supported")
    emitter.emit("Identity", [node.input[0]], output=node.output[0])
    if len(node.output) > 1 and node.output[1]:
        emitter.bind(node.output[1], np.ones(emitter.shape(node.input[0]), np.bool_))


def scatter(node: onnx.NodeProto, emitter: Emitter) -> None:
    """Scatter (deprecated at opset 11) is ScatterElements."""
    attributes = {a.name: a.i for a in node.attribute}
    if set(attributes) - {"axis"}:
        raise NodeError(f"attribute '{sorted(set(attributes) - {'axis'})[0]}' not supported")
    emitter.emit("ScatterElements", list(node.input), attributes, output=node.output[0])


def prelu(node: onnx.NodeProto, emitter: Emitter) -> None:
    """Where(x < 0, slope * x, x). Before opset 7 a 1-d slope is per channel (axis 1); from
    opset 7 it broadcasts as numpy's."""
    if node.attribute:
        raise NodeError(f"attribute '{node.attribute[0].name}' not supported")
    x, slope = node.input[0], node.input[1]
    rank, slope_dims = len(emitter.shape(x)), emitter.shape(slope)
    if emitter.opset < 7 and len(slope_dims) == 1 and slope_dims[0] != 1 and rank > 1:
        channels = np.array([slope_dims[0], *[1] * (rank - 2)], np.int64)
        slope = emitter.emit("Reshape", [slope, emitter.constant(channels)])
    zero = emitter.constant(np.zeros((), emitter.dtype(x)))
    negative = emitter.emit("Less", [x, zero])
    scaled = emitter.emit("Mul", [x, slope])
    emitter.emit("Where", [negative, scaled, x], output=node.output[0])


def selu(node: onnx.NodeProto, emitter: Emitter) -> None:
    """gamma * x for x > 0, gamma * (alpha * exp(x) - alpha) elsewhere."""
    values = numeric_attributes(
        node, {"alpha": 1.67326319217681884765625, "gamma": 1.05070102214813232421875}
    )
    x = node.input[0]
    dtype = emitter.dtype(x)
    alpha, gamma = (emitter.constant(np.array(values[n], dtype)) for n in ("alpha", "gamma"))
    zero = emitter.constant(np.zeros((), dtype))
    negative_part = emitter.emit(
        "Sub", [emitter.emit("Mul", [alpha, emitter.emit("Exp", [x])]), alpha]
    )
    positive = emitter.emit("Greater", [x, zero])
    chosen = emitter.emit("Where", [positive, x, negative_part])
    emitter.emit("Mul", [gamma, chosen], output=node.output[0])


def shrink(node: onnx.NodeProto, emitter: Emitter) -> None:
    """x + bias below -lambd, x - bias above lambd, 0 between."""
    values = numeric_attributes(node, {"bias": 0.0, "lambd": 0.5})
    x = node.input[0]
    dtype = emitter.dtype(x)
    bias, lambd = (emitter.constant(np.array(values[n], dtype)) for n in ("bias", "lambd"))
    low = emitter.constant(np.array(-values["lambd"], dtype))
    zero = emitter.constant(np.zeros((), dtype))
    above = emitter.emit(
        "Where", [emitter.emit("Greater", [x, lambd]), emitter.emit("Sub", [x, bias]), zero]
    )
    below = emitter.emit("Less", [x, low])
    emitter.emit("Where", [below, emitter.emit("Add", [x, bias]), above], output=node.output[0])


def instance_normalization(node: onnx.NodeProto, emitter: Emitter) -> None:
    """(x - mean) / sqrt(variance + epsilon) * scale + B, the moments over the spatial dims
    of each sample and channel, scale and B per channel."""
    epsilon = numeric_attributes(node, {"epsilon": 1e-5})["epsilon"]
    x, scale, bias = node.input[0], node.input[1], node.input[2]
    rank = len(emitter.shape(x))
    dtype = emitter.dtype(x)
    axes = emitter.constant(np.arange(2, rank, dtype=np.int64))
    mean = emitter.emit("ReduceMean", [x, axes], {"keepdims": 1})
    centered = emitter.emit("Sub", [x, mean])
    squares = emitter.emit("Mul", [centered, centered])
    variance = emitter.emit("ReduceMean", [squares, axes], {"keepdims": 1})
    shifted = emitter.emit("Add", [variance, emitter.constant(np.array(epsilon, dtype))])
    normalized = emitter.emit("Div", [centered, emitter.emit("Sqrt", [shifted])])
    per_channel = emitter.constant(np.array([-1, *[1] * (rank - 2)], np.int64))
    scaled = emitter.emit("Mul", [normalized, emitter.emit("Reshape", [scale, per_channel])])
    shift = emitter.emit("Reshape", [bias, per_channel])
    emitter.emit("Add", [scaled, shift], output=node.output[0])


def softplus(node: onnx.NodeProto, emitter: Emitter) -> None:
    """log(exp(x) + 1), as ONNX defines it."""
    if node.attribute:
        raise NodeError(f"attribute '{node.attribute[0].name}' not supported")
    x = node.input[0]
    one = emitter.constant(np.ones((), emitter.dtype(x)))
    shifted = emitter.emit("Add", [emitter.emit("Exp", [x]), one])
    emitter.emit("Log", [shifted], output=node.output[0])


def legacy_broadcast(node: onnx.NodeProto, emitter: Emitter) -> None:
    """A binary op before opset 7, with `broadcast` = 1: B's dims align with A's at `axis`
    (at the end without one, as numpy's broadcasting)."""
    values = {a.name: a.i for a in node.attribute if a.name in ("broadcast", "axis")}
    a, b = node.input[0], node.input[1]
    if values.get("broadcast") and "axis" in values:
        rank, dims = len(emitter.shape(a)), emitter.shape(b)
        axis = values["axis"] + rank if values["axis"] < 0 else values["axis"]
        aligned = np.array([1] * axis + list(dims) + [1] * (rank - axis - len(dims)), np.int64)
        b = emitter.emit("Reshape", [b, emitter.constant(aligned)])
    emitter.emit(node.op_type, [a, b], output=node.output[0])


REWRITES: dict[str, Rewrite] = {
    "CastLike": cast_like,
    "Clip": clip,
    "Hardmax": hardmax,
    "Trilu": trilu,
    "QuantizeLinear": quantize_linear,
    "DequantizeLinear": dequantize_linear,
    "Scan": scan,
    "Loop": loop,
    "If": if_,
    "LpNormalization": lp_normalization,
    "Dropout": dropout,
    "Scatter": scatter,
    "PRelu": prelu,
    "Selu": selu,
    "Shrink": shrink,
    "InstanceNormalization": instance_normalization,
    "Softplus": softplus,
    "RNN": recurrent,
    "GRU": recurrent,
    "LSTM": recurrent,
    "GridSample": grid_sample,
    "DFT": dft,
    "Col2Im": col2im,
    "SequenceEmpty": sequence_empty,
    "SequenceConstruct": sequence_construct,
    "SequenceInsert": sequence_insert,
    "SequenceErase": sequence_erase,
    "SequenceAt": sequence_at,
    "SequenceLength": sequence_length,
    "SplitToSequence": split_to_sequence,
    "ConcatFromSequence": concat_from_sequence,
    "Optional": optional,
    "OptionalHasElement": optional_has_element,
    "OptionalGetElement": optional_get_element,
    "Identity": identity,
    "Binarizer": binarizer,
    "ArrayFeatureExtractor": array_feature_extractor,
    "LabelEncoder": label_encoder,
    "TreeEnsemble": tree_ensemble,
    "MatMulInteger": matmul_integer,
    "ConvInteger": conv_integer,
    "QLinearMatMul": qlinear_matmul,
    "QLinearConv": qlinear_conv,
    "Adagrad": adagrad,
    "Adam": adam,
    "Momentum": momentum,
    "Gradient": gradient,
    "TensorScatter": tensor_scatter,
    "BatchNormalization": batch_normalization,
    "ReverseSequence": reverse_sequence,
    "Upsample": upsample,
    "MaxUnpool": max_unpool,
    "Det": det,
    "STFT": stft,
    "RoiAlign": roi_align,
    "DeformConv": deform_conv,
}


def _is_float(dtype: np.dtype[np.generic]) -> bool:
    """numpy's floats and bfloat16 (ml_dtypes', which astype rounds to nearest even as ONNX's
    Cast does)."""
    return bool(np.issubdtype(dtype, np.floating)) or dtype == ml_dtypes.bfloat16


ML_OPS = frozenset({"Binarizer", "ArrayFeatureExtractor", "LabelEncoder", "TreeEnsemble"})
"""The ops of REWRITES that are ai.onnx.ml's (ML_DOMAIN), not the default domain's."""


def is_ml_rewrite(node: onnx.NodeProto) -> bool:
    """Whether `node` is an ai.onnx.ml op that REWRITES converts."""
    return node.domain == ML_DOMAIN and node.op_type in ML_OPS
