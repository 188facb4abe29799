"""RoiAlign as gathers and elementwise ops, following onnx's reference (op_roi_align.py).

Each roi [x1, y1, x2, y2] * spatial_scale (less 0.5 for half_pixel; at least 1 x 1 for
output_half_pixel) is cut into output_height x output_width bins of sampling_ratio^2 samples
at y = y1 + ph * bin_h + (iy + 0.5) * bin_h / sampling_ratio (x alike). A sample outside
[-1, size] weighs 0; else it is clamped to [0, size - 1] and its four neighbours weigh
(1 - ly)(1 - lx), (1 - ly) lx, ly (1 - lx), ly lx. The separable coordinates give row and
column indices; two GatherElements per corner read the values. avg sums the weighted values
of a bin over its samples and divides by their count; max takes the largest weighted corner
value over the bin. The adaptive sampling_ratio = 0 (a count per roi) is not supported.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper

from ...emitter import Emitter, NodeError
from ...registry import decomposition
from ..builder import Ops

_DEFAULTS: dict[str, object] = {
    "coordinate_transformation_mode": "half_pixel",
    "mode": "avg",
    "output_height": 1,
    "output_width": 1,
    "sampling_ratio": 0,
    "spatial_scale": 1.0,
}


@decomposition("RoiAlign", since=10)
def roi_align(node: onnx.NodeProto, emitter: Emitter) -> None:
    settings = _settings(node, emitter.opset)
    x, rois, batch_indices = node.input[:3]
    _, channels, height, width = emitter.shape(x)
    count = emitter.shape(rois)[0]
    grid = int(settings["sampling_ratio"])  # pyright: ignore[reportArgumentType]
    if grid <= 0:
        raise NodeError("sampling_ratio 0 (a sample count per roi) is not supported")
    half_pixel = settings["coordinate_transformation_mode"] == "half_pixel"
    out_h, out_w = int(settings["output_height"]), int(settings["output_width"])  # pyright: ignore[reportArgumentType]
    ops = Ops.floating(emitter, emitter.dtype(x))
    scaled = ops.emit("Mul", [rois, ops.const(float(settings["spatial_scale"]))])  # pyright: ignore[reportArgumentType]
    if half_pixel:
        scaled = ops.emit("Sub", [scaled, ops.const(0.5)])
    corners = [ops.slice(scaled, k, k + 1, 1) for k in range(4)]
    rows = _Axis(ops, corners[1], corners[3], out_h, grid, height, half_pixel)
    columns = _Axis(ops, corners[0], corners[2], out_w, grid, width, half_pixel)
    samples_h, samples_w = out_h * grid, out_w * grid
    indices = ops.emit("Cast", [batch_indices], {"to": TensorProto.INT64})
    images = ops.emit("Gather", [x, indices], {"axis": 0})  # [R, C, H, W]
    along_rows = [count, 1, samples_h, 1]
    along_columns = [count, 1, 1, samples_w]
    picked_rows = [
        ops.gather(images, ops.reshape(index, along_rows), [count, channels, samples_h, width], 2)
        for index in (rows.low, rows.high)
    ]
    terms: list[str] = []
    for row, row_weight in zip(picked_rows, (rows.low_weight, rows.high_weight), strict=True):
        for index, weight in (
            (columns.low, columns.low_weight),
            (columns.high, columns.high_weight),
        ):
            value = ops.gather(
                row, ops.reshape(index, along_columns), [count, channels, samples_h, samples_w], 3
            )
            weights = ops.emit(
                "Mul", [ops.reshape(row_weight, along_rows), ops.reshape(weight, along_columns)]
            )
            terms.append(ops.emit("Mul", [weights, value]))
    bins = [count, channels, out_h, grid, out_w, grid]
    axes = ops.ints([3, 5])
    if settings["mode"] == "max":
        largest = ops.reshape(ops.emit("Max", terms), bins)
        ops.emit("ReduceMax", [largest, axes], {"keepdims": 0}, node.output[0])
        return
    total = ops.emit("Add", [ops.emit("Add", [ops.emit("Add", terms[:2]), terms[2]]), terms[3]])
    summed = ops.emit("ReduceSum", [ops.reshape(total, bins), axes], {"keepdims": 0})
    ops.emit("Div", [summed, ops.const(float(grid * grid))], output=node.output[0])


def _settings(node: onnx.NodeProto, opset: int) -> dict[str, object]:
    settings = dict(_DEFAULTS)
    if opset < 16:
        settings["coordinate_transformation_mode"] = "output_half_pixel"
    for attribute in node.attribute:
        if attribute.name not in settings:
            raise NodeError(f"attribute '{attribute.name}' not supported")
        value = helper.get_attribute_value(attribute)
        settings[attribute.name] = value.decode() if isinstance(value, bytes) else value
    if settings["mode"] not in ("avg", "max"):
        raise NodeError(f"mode '{settings['mode']}' (avg or max expected)")
    if settings["coordinate_transformation_mode"] not in ("half_pixel", "output_half_pixel"):
        raise NodeError(
            f"coordinate_transformation_mode '{settings['coordinate_transformation_mode']}'"
        )
    return settings


class _Axis:
    """The sample positions of every roi along one axis ([R, out * grid]): the low and high
    neighbour indices and their weights, zero for samples outside [-1, size]."""

    def __init__(
        self, ops: Ops, start: str, end: str, out: int, grid: int, size: int, half_pixel: bool
    ) -> None:
        emit = ops.emit
        extent = emit("Sub", [end, start])
        if not half_pixel:
            extent = emit("Max", [extent, ops.const(1.0)])  # malformed rois are 1 x 1
        step = emit("Div", [extent, ops.const(float(out))])  # [R, 1]
        bins = np.repeat(np.arange(out), grid).astype(ops.dtype)
        inner = np.tile(np.arange(grid) + 0.5, out).astype(ops.dtype)
        position = emit("Add", [start, emit("Mul", [ops.const(bins), step])])
        offset = emit("Div", [emit("Mul", [ops.const(inner), step]), ops.const(float(grid))])
        position = emit("Add", [position, offset])  # [R, out * grid]
        below = emit("Less", [position, ops.const(-1.0)])
        above = emit("Greater", [position, ops.const(float(size))])
        outside = emit("Or", [below, above])
        position = emit("Max", [position, ops.const(0.0)])
        low = emit("Floor", [position])
        last = ops.const(float(size - 1))
        at_edge = emit("GreaterOrEqual", [low, last])
        low = emit("Where", [at_edge, last, low])
        high = emit("Where", [at_edge, last, emit("Add", [low, ops.const(1.0)])])
        position = emit("Where", [at_edge, low, position])
        fraction = emit("Sub", [position, low])
        zero = ops.const(0.0)
        self.high_weight = emit("Where", [outside, zero, fraction])
        rest = emit("Sub", [ops.const(1.0), fraction])
        self.low_weight = emit("Where", [outside, zero, rest])
        self.low = emit("Cast", [low], {"to": TensorProto.INT64})
        self.high = emit("Cast", [high], {"to": TensorProto.INT64})
