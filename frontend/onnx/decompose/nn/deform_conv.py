"""2-d DeformConv as bilinear gathers and a grouped MatMul, following onnx's reference
(op_deform_conv.py, which samples with GridSample, bilinear, align_corners, zero padding).

Kernel tap k = (kh, kw) of output position p = (i, j) in offset group o samples the image at
    h = i * stride_h - pad_top + kh * dilation_h + offset[n, o, k, 0, p]
    w = j * stride_w - pad_left + kw * dilation_w + offset[n, o, k, 1, p]
from its four neighbours, those outside the image reading 0. The samples, times the mask,
form [n, group, C / group * K, P] columns that one MatMul with the weights [group, M / group,
C / group * K] turns into the output [n, M, P], plus B.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto

from ...emitter import Emitter, NodeError
from ...registry import decomposition
from ..builder import Ops


@decomposition("DeformConv", since=19)
def deform_conv(node: onnx.NodeProto, emitter: Emitter) -> None:
    x, w, offset, bias, mask = [*node.input, "", ""][:5]
    batch, channels, height, width = _four_dims(emitter, x)
    out_channels, group_channels, kh, kw = _four_dims(emitter, w)
    settings = _settings(node, (kh, kw))
    group, offset_group = settings["group"][0], settings["offset_group"][0]
    out_h, out_w = emitter.shape(offset)[2:]
    taps, positions = kh * kw, out_h * out_w
    if channels != group * group_channels or out_channels % group or channels % offset_group:
        raise NodeError("channels, group and offset_group do not match")
    if emitter.shape(offset)[1] != offset_group * taps * 2:
        raise NodeError(f"offset of shape {list(emitter.shape(offset))}")
    dtype = emitter.dtype(x)
    ops = Ops.floating(emitter, dtype)
    emit, ints, const = ops.emit, ops.ints, ops.const

    # [n, o, K, 2, P]: the tap positions at offset zero, plus the offsets
    stride_h, stride_w = settings["strides"]
    dilation_h, dilation_w = settings["dilations"]
    pads = settings["pads"]
    expected_h = (height + pads[0] + pads[2] - (kh - 1) * dilation_h - 1) // stride_h + 1
    expected_w = (width + pads[1] + pads[3] - (kw - 1) * dilation_w - 1) // stride_w + 1
    if (out_h, out_w) != (expected_h, expected_w):
        raise NodeError(
            f"offset's output size {[out_h, out_w]}, expected {[expected_h, expected_w]}"
        )
    base = np.zeros((kh, kw, 2, out_h, out_w))
    base[:, :, 0] = (np.arange(kh) * dilation_h)[:, None, None, None] + (
        np.arange(out_h) * stride_h - pads[0]
    )[None, None, :, None]
    base[:, :, 1] = (np.arange(kw) * dilation_w)[None, :, None, None] + (
        np.arange(out_w) * stride_w - pads[1]
    )[None, None, None, :]
    shifts = emit("Reshape", [offset, ints([batch, offset_group, taps, 2, positions])])
    where = emit("Add", [shifts, const(base.reshape(taps, 2, positions))])
    along_h = emit("Slice", [where, ints([0]), ints([1]), ints([3])])
    along_w = emit("Slice", [where, ints([1]), ints([2]), ints([3])])
    flat = [batch, offset_group, 1, taps * positions]
    along_h = emit("Reshape", [along_h, ints(flat)])
    along_w = emit("Reshape", [along_w, ints(flat)])
    top, left = emit("Floor", [along_h]), emit("Floor", [along_w])
    # the fractions are the weights of the bottom row and the right column
    bottom_weight = emit("Sub", [along_h, top])
    right_weight = emit("Sub", [along_w, left])
    one = const(1.0)
    top_weight = emit("Sub", [one, bottom_weight])
    left_weight = emit("Sub", [one, right_weight])
    bottom, right = emit("Add", [top, one]), emit("Add", [left, one])
    per_group = channels // offset_group
    images = emit("Reshape", [x, ints([batch, offset_group, per_group, height * width])])
    sampled = ""
    corners = (
        (top, top_weight, left, left_weight),
        (top, top_weight, right, right_weight),
        (bottom, bottom_weight, left, left_weight),
        (bottom, bottom_weight, right, right_weight),
    )
    zero = const(0.0)
    for row, row_weight, column, column_weight in corners:
        inside = emit(
            "And",
            [
                emit(
                    "And",
                    [
                        emit("GreaterOrEqual", [row, zero]),
                        emit("Less", [row, const(float(height))]),
                    ],
                ),
                emit(
                    "And",
                    [
                        emit("GreaterOrEqual", [column, zero]),
                        emit("Less", [column, const(float(width))]),
                    ],
                ),
            ],
        )
        index = emit("Add", [emit("Mul", [row, const(float(width))]), column])
        index = emit("Cast", [emit("Where", [inside, index, zero])], {"to": TensorProto.INT64})
        index = emit("Expand", [index, ints([batch, offset_group, per_group, taps * positions])])
        value = emit("GatherElements", [images, index], {"axis": 3})
        weight = emit("Where", [inside, emit("Mul", [row_weight, column_weight]), zero])
        term = emit("Mul", [weight, value])
        sampled = emit("Add", [sampled, term]) if sampled else term
    if mask:
        sampled = emit("Mul", [sampled, emit("Reshape", [mask, ints(flat)])])
    columns = emit("Reshape", [sampled, ints([batch, group, group_channels * taps, positions])])
    kernel = emit("Reshape", [w, ints([1, group, out_channels // group, group_channels * taps])])
    product = emit("MatMul", [kernel, columns])
    result = emit("Reshape", [product, ints([batch, out_channels, out_h, out_w])])
    if bias:
        result = emit("Add", [result, emit("Reshape", [bias, ints([1, -1, 1, 1])])])
    emitter.emit("Identity", [result], output=node.output[0])


def _four_dims(emitter: Emitter, name: str) -> tuple[int, int, int, int]:
    dims = emitter.shape(name)
    if len(dims) != 4:
        raise NodeError(f"a {len(dims)}-d input (2-d DeformConv, 4-d tensors, expected)")
    return dims[0], dims[1], dims[2], dims[3]


def _settings(node: onnx.NodeProto, kernel: tuple[int, int]) -> dict[str, list[int]]:
    settings = {
        "dilations": [1, 1],
        "group": [1],
        "kernel_shape": list(kernel),
        "offset_group": [1],
        "pads": [0, 0, 0, 0],
        "strides": [1, 1],
    }
    for attribute in node.attribute:
        if attribute.name not in settings:
            raise NodeError(f"attribute '{attribute.name}' not supported")
        if attribute.type == onnx.AttributeProto.INTS:
            settings[attribute.name] = list(attribute.ints)
        else:
            settings[attribute.name] = [attribute.i]
    if settings["kernel_shape"] != list(kernel):
        raise NodeError(f"kernel_shape {settings['kernel_shape']} differs from W's")
    return settings
