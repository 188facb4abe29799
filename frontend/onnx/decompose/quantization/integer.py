"""Quantized integer ops as int32 / float64 nn ops, following onnx's reference exactly.

MatMulInteger(A, B, a_zp, b_zp)   MatMul(int32(A) - a_zp, int32(B) - b_zp) in int32
ConvInteger(X, W, x_zp, w_zp)     Conv(X - x_zp, W - w_zp) as int32, the zero point of W
                                  per output channel when 1-d
QLinearMatMul                     requantize(MatMulInteger(a, b, a_zp, b_zp),
                                             a_scale * b_scale / y_scale, y_zp)
QLinearConv                       requantize(ConvInteger(x, w, x_zp, w_zp) + B,
                                             x_scale * w_scale / y_scale, y_zp)

requantize(C, s, zp) = saturate(round_half_even(float64(C) * float64(s) + zp)): the scale
product is taken in the scales' own type (float16 scales round as float16, as numpy does),
the rest in float64, where numpy takes int32 times a float scale. Saturation is to the range
of y_zp's type (x's or a's without one). The convolution sums run in float64, exact while
they fit in int32, which is checked from the input's types and the kernel's size.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper

from .....dialects.nn.neural import ConvOp
from ...emitter import Emitter, NodeError
from ...registry import decomposition
from ...values import node_attributes
from ..builder import Ops

_QUANTIZED: dict[np.dtype[np.generic], tuple[int, int]] = {
    np.dtype(np.int8): (-128, 127),
    np.dtype(np.uint8): (0, 255),
}
"""The types quantized values take, and their saturation ranges."""


@decomposition("MatMulInteger", since=10)
def matmul_integer(node: onnx.NodeProto, emitter: Emitter) -> None:
    _no_attributes(node)
    a, b, a_zero, b_zero = [*node.input, "", ""][:4]
    product = _integer_matmul(emitter, a, a_zero, b, b_zero)
    emitter.emit("Identity", [product], output=node.output[0])


@decomposition("QLinearMatMul", since=10)
def qlinear_matmul(node: onnx.NodeProto, emitter: Emitter) -> None:
    _no_attributes(node)
    a, a_scale, a_zero, b, b_scale, b_zero, y_scale, y_zero = [*node.input, "", ""][:8]
    product = _integer_matmul(emitter, a, a_zero, b, b_zero)
    scale = _scale_ratio(emitter, emitter.emit("Mul", [a_scale, b_scale]), y_scale)
    _requantize(emitter, product, scale, y_zero or "", emitter.dtype(a), node.output[0])


@decomposition("ConvInteger", since=10)
def conv_integer(node: onnx.NodeProto, emitter: Emitter) -> None:
    x, w, x_zero, w_zero = [*node.input, "", ""][:4]
    summed = _integer_conv(node, emitter, (x, x_zero), (w, w_zero))
    emitter.emit("Cast", [summed], {"to": TensorProto.INT32}, output=node.output[0])


@decomposition("QLinearConv", since=10)
def qlinear_conv(node: onnx.NodeProto, emitter: Emitter) -> None:
    x, x_scale, x_zero, w, w_scale, w_zero, y_scale, y_zero, bias = [*node.input, "", ""][:9]
    summed = _integer_conv(node, emitter, (x, x_zero), (w, w_zero))
    summed = emitter.emit("Cast", [summed], {"to": TensorProto.INT32})
    rank = len(emitter.shape(x))
    if bias:
        bias = _per_channel(emitter, Ops(emitter).cast(bias, np.int32), rank, 1)
        summed = emitter.emit("Add", [summed, bias])  # int32, wrapping as numpy's
    if int(np.prod(emitter.shape(w_scale))) > 1:
        w_scale = _per_channel(emitter, w_scale, rank, 1)
    scale = _scale_ratio(emitter, emitter.emit("Mul", [x_scale, w_scale]), y_scale)
    _requantize(emitter, summed, scale, y_zero, emitter.dtype(x), node.output[0])


def _integer_matmul(emitter: Emitter, a: str, a_zero: str, b: str, b_zero: str) -> str:
    for name in (a, b):
        _check_quantized(emitter, name)
    return emitter.emit("MatMul", [_shifted(emitter, a, a_zero), _shifted(emitter, b, b_zero)])


def _integer_conv(
    node: onnx.NodeProto, emitter: Emitter, x: tuple[str, str], w: tuple[str, str]
) -> str:
    """The convolution of the zero-point-shifted X and W, in float64 (exact)."""
    for name in (x[0], w[0]):
        _check_quantized(emitter, name)
    unknown = [a.name for a in node.attribute if a.name not in ConvOp.ATTRIBUTES]
    if unknown:
        raise NodeError(f"attribute '{unknown[0]}' not supported")
    conv = onnx.NodeProto()
    conv.CopyFrom(node)
    conv.op_type = "Conv"
    attributes = node_attributes(conv, emitter.opset)
    x_dims, w_dims = emitter.shape(x[0]), emitter.shape(w[0])
    terms = int(np.prod(w_dims[1:]))
    if terms * 255 * 255 >= 2**31:
        raise NodeError(f"a kernel of {terms} terms may overflow int32")
    shifted_x = _shifted(emitter, *x)
    w_name, w_zero = w
    if w_zero and len(emitter.shape(w_zero)) == 1 and emitter.shape(w_zero)[0] > 1:
        w_zero = _per_channel(emitter, Ops(emitter).cast(w_zero, np.int32), len(w_dims), 0)
    shifted_w = _shifted(emitter, w_name, w_zero)
    wide = [emitter.emit("Cast", [v], {"to": TensorProto.DOUBLE}) for v in (shifted_x, shifted_w)]
    if len(x_dims) < 3:
        raise NodeError(f"X must have at least 3 dims, has {len(x_dims)}")
    return emitter.emit("Conv", wide, attributes)


def _shifted(emitter: Emitter, name: str, zero_point: str) -> str:
    """int32(name) - int32(zero_point), numpy's broadcasting."""
    value = Ops(emitter).cast(name, np.int32)
    if not zero_point:
        return value
    return emitter.emit("Sub", [value, Ops(emitter).cast(zero_point, np.int32)])


def _per_channel(emitter: Emitter, name: str, rank: int, axis: int) -> str:
    """A 1-d tensor along `axis` of a rank-`rank` tensor."""
    dims = np.ones(rank, np.int64)
    dims[axis] = -1
    return emitter.emit("Reshape", [name, emitter.constant(dims)])


def _scale_ratio(emitter: Emitter, product: str, y_scale: str) -> str:
    """product / y_scale in the scales' type, then as float64."""
    ratio = emitter.emit("Div", [product, y_scale])
    return emitter.emit("Cast", [ratio], {"to": TensorProto.DOUBLE})


def _requantize(
    emitter: Emitter,
    value: str,
    scale: str,
    zero_point: str,
    fallback: np.dtype[np.generic],
    output: str,
) -> None:
    wide = emitter.emit("Cast", [value], {"to": TensorProto.DOUBLE})
    wide = emitter.emit("Mul", [wide, scale])
    dtype = fallback
    if zero_point:
        dtype = emitter.dtype(zero_point)
        offset = emitter.emit("Cast", [zero_point], {"to": TensorProto.DOUBLE})
        wide = emitter.emit("Add", [wide, offset])
    if dtype not in _QUANTIZED:
        raise NodeError(f"quantized output of type {dtype} is not supported")
    bounds = [emitter.constant(np.array(bound, np.float64)) for bound in _QUANTIZED[dtype]]
    rounded = emitter.emit("Clip", [emitter.emit("Round", [wide]), *bounds])
    to = helper.np_dtype_to_tensor_dtype(dtype)
    emitter.emit("Cast", [rounded], {"to": to}, output=output)


def _check_quantized(emitter: Emitter, name: str) -> None:
    if emitter.dtype(name) not in _QUANTIZED:
        raise NodeError(f"input of type {emitter.dtype(name)} (int8 or uint8 expected)")


def _no_attributes(node: onnx.NodeProto) -> None:
    if node.attribute:
        raise NodeError(f"attribute '{node.attribute[0].name}' not supported")
