"""Data-movement nn ops: reshapes, transposes, slicing, gathering, padding, resizing.

Shapes, axes and sizes that ONNX passes as constant input tensors are static attributes here.
"""

from __future__ import annotations

from typing import ClassVar

from xdsl.dialects.builtin import TensorType
from xdsl.irdl import (
    irdl_op_definition,
    operand_def,
    result_def,
    var_operand_def,
    var_result_def,
)

from .base import Attr, Kind, NnOperation


class DataOp(NnOperation):
    """One data operand, one result."""

    data = operand_def(TensorType)
    output = result_def(TensorType)


@irdl_op_definition
class ReshapeOp(DataOp):
    name = "nn.reshape"
    ONNX_TYPE: ClassVar[str] = "Reshape"
    ATTRIBUTES: ClassVar = {"shape": Attr(Kind.INTS, required=True), "allowzero": Attr(Kind.INT, 0)}
    STATIC_INPUTS: ClassVar = {1: "shape"}


@irdl_op_definition
class FlattenOp(NnOperation):
    name = "nn.flatten"
    ONNX_TYPE: ClassVar[str] = "Flatten"
    ATTRIBUTES: ClassVar = {"axis": Attr(Kind.INT, 1)}
    input = operand_def(TensorType)
    output = result_def(TensorType)


@irdl_op_definition
class TransposeOp(DataOp):
    name = "nn.transpose"
    ONNX_TYPE: ClassVar[str] = "Transpose"
    ATTRIBUTES: ClassVar = {"perm": Attr(Kind.INTS)}


@irdl_op_definition
class SqueezeOp(DataOp):
    name = "nn.squeeze"
    ONNX_TYPE: ClassVar[str] = "Squeeze"
    ATTRIBUTES: ClassVar = {"axes": Attr(Kind.INTS)}
    STATIC_INPUTS: ClassVar = {1: "axes"}


@irdl_op_definition
class UnsqueezeOp(DataOp):
    name = "nn.unsqueeze"
    ONNX_TYPE: ClassVar[str] = "Unsqueeze"
    ATTRIBUTES: ClassVar = {"axes": Attr(Kind.INTS, required=True)}
    STATIC_INPUTS: ClassVar = {1: "axes"}


@irdl_op_definition
class ExpandOp(NnOperation):
    name = "nn.expand"
    ONNX_TYPE: ClassVar[str] = "Expand"
    ATTRIBUTES: ClassVar = {"shape": Attr(Kind.INTS, required=True)}
    STATIC_INPUTS: ClassVar = {1: "shape"}
    input = operand_def(TensorType)
    output = result_def(TensorType)


@irdl_op_definition
class TileOp(NnOperation):
    name = "nn.tile"
    ONNX_TYPE: ClassVar[str] = "Tile"
    ATTRIBUTES: ClassVar = {"repeats": Attr(Kind.INTS, required=True)}
    STATIC_INPUTS: ClassVar = {1: "repeats"}
    input = operand_def(TensorType)
    output = result_def(TensorType)


@irdl_op_definition
class SliceOp(DataOp):
    name = "nn.slice"
    ONNX_TYPE: ClassVar[str] = "Slice"
    ATTRIBUTES: ClassVar = {
        "starts": Attr(Kind.INTS, required=True),
        "ends": Attr(Kind.INTS, required=True),
        "axes": Attr(Kind.INTS),
        "steps": Attr(Kind.INTS),
    }
    STATIC_INPUTS: ClassVar = {1: "starts", 2: "ends", 3: "axes", 4: "steps"}


@irdl_op_definition
class PadOp(DataOp):
    """Pads with a constant, by reflection, by edge replication or by wrapping around."""

    name = "nn.pad"
    ONNX_TYPE: ClassVar[str] = "Pad"
    ATTRIBUTES: ClassVar = {
        "mode": Attr(Kind.STRING, "constant"),
        "pads": Attr(Kind.INTS, required=True),
        "constant_value": Attr(Kind.SCALAR),
        "axes": Attr(Kind.INTS),
    }
    STATIC_INPUTS: ClassVar = {1: "pads", 2: "constant_value", 3: "axes"}


@irdl_op_definition
class ConcatOp(NnOperation):
    name = "nn.concat"
    ONNX_TYPE: ClassVar[str] = "Concat"
    ATTRIBUTES: ClassVar = {"axis": Attr(Kind.INT, required=True)}
    inputs = var_operand_def(TensorType)
    concat_result = result_def(TensorType)


@irdl_op_definition
class SplitOp(NnOperation):
    name = "nn.split"
    ONNX_TYPE: ClassVar[str] = "Split"
    ATTRIBUTES: ClassVar = {
        "axis": Attr(Kind.INT, 0),
        "split": Attr(Kind.INTS),
        "num_outputs": Attr(Kind.INT),
    }
    STATIC_INPUTS: ClassVar = {1: "split"}
    input = operand_def(TensorType)
    outputs = var_result_def(TensorType)

    def python_attributes(self) -> dict[str, object]:
        attributes = super().python_attributes()
        if "split" not in attributes and "num_outputs" not in attributes:
            # ONNX at opset 18+ needs one of the two; nn's default is one equal part per result
            attributes["num_outputs"] = len(self.results)
        return attributes


@irdl_op_definition
class GatherOp(NnOperation):
    name = "nn.gather"
    ONNX_TYPE: ClassVar[str] = "Gather"
    ATTRIBUTES: ClassVar = {"axis": Attr(Kind.INT, 0)}
    data = operand_def(TensorType)
    indices = operand_def(TensorType)
    output = result_def(TensorType)


@irdl_op_definition
class GatherElementsOp(NnOperation):
    """output[i..] = data[i.. with indices[i..] at `axis`]; indices and output share a shape."""

    name = "nn.gather_elements"
    ONNX_TYPE: ClassVar[str] = "GatherElements"
    ATTRIBUTES: ClassVar = {"axis": Attr(Kind.INT, 0)}
    data = operand_def(TensorType)
    indices = operand_def(TensorType)
    output = result_def(TensorType)


@irdl_op_definition
class GatherNDOp(NnOperation):
    """output[i.., r..] = data[i.. (the first batch_dims of them), indices[i..], r..]: each
    index vector (indices' last dim, k long) picks a slice of data's dims batch_dims.. ."""

    name = "nn.gather_nd"
    ONNX_TYPE: ClassVar[str] = "GatherND"
    ATTRIBUTES: ClassVar = {"batch_dims": Attr(Kind.INT, 0)}
    data = operand_def(TensorType)
    indices = operand_def(TensorType)
    output = result_def(TensorType)


@irdl_op_definition
class ScatterElementsOp(NnOperation):
    """data with updates[j] written at j, `axis` replaced by indices[j] (combined by
    `reduction`: none, add, mul, max or min; later writes win)."""

    name = "nn.scatter_elements"
    ONNX_TYPE: ClassVar[str] = "ScatterElements"
    ATTRIBUTES: ClassVar = {"axis": Attr(Kind.INT, 0), "reduction": Attr(Kind.STRING, "none")}
    data = operand_def(TensorType)
    indices = operand_def(TensorType)
    updates = operand_def(TensorType)
    output = result_def(TensorType)


@irdl_op_definition
class ScatterNDOp(NnOperation):
    """data with the slice at indices[b] (a position in data's first k dims) replaced by (or,
    by `reduction`, combined with) updates[b]."""

    name = "nn.scatter_nd"
    ONNX_TYPE: ClassVar[str] = "ScatterND"
    ATTRIBUTES: ClassVar = {"reduction": Attr(Kind.STRING, "none")}
    data = operand_def(TensorType)
    indices = operand_def(TensorType)
    updates = operand_def(TensorType)
    output = result_def(TensorType)


@irdl_op_definition
class ShapeOp(NnOperation):
    """The shape of its operand as a 1-d int64 tensor; the importer folds it when static."""

    name = "nn.shape"
    ONNX_TYPE: ClassVar[str] = "Shape"
    ATTRIBUTES: ClassVar = {"start": Attr(Kind.INT, 0), "end": Attr(Kind.INT)}
    data = operand_def(TensorType)
    shape = result_def(TensorType)


@irdl_op_definition
class ResizeOp(NnOperation):
    """Nearest, linear and cubic resizing with ONNX's coordinate transformation modes."""

    name = "nn.resize"
    ONNX_TYPE: ClassVar[str] = "Resize"
    ATTRIBUTES: ClassVar = {
        "antialias": Attr(Kind.INT, 0),
        "axes": Attr(Kind.INTS),
        "coordinate_transformation_mode": Attr(Kind.STRING, "half_pixel"),
        "cubic_coeff_a": Attr(Kind.FLOAT, -0.75),
        "exclude_outside": Attr(Kind.INT, 0),
        "extrapolation_value": Attr(Kind.FLOAT, 0.0),
        "keep_aspect_ratio_policy": Attr(Kind.STRING, "stretch"),
        "mode": Attr(Kind.STRING, "nearest"),
        "nearest_mode": Attr(Kind.STRING, "round_prefer_floor"),
        "roi": Attr(Kind.FLOATS),
        "scales": Attr(Kind.FLOATS),
        "sizes": Attr(Kind.INTS),
    }
    STATIC_INPUTS: ClassVar = {1: "roi", 2: "scales", 3: "sizes"}
    X = operand_def(TensorType)
    Y = result_def(TensorType)


@irdl_op_definition
class OneHotOp(NnOperation):
    """A new axis of size `depth` (a constant input) at `axis`: values[1] where it equals the
    index (a negative index counts from the end), else values[0]."""

    name = "nn.one_hot"
    ONNX_TYPE: ClassVar[str] = "OneHot"
    ATTRIBUTES: ClassVar = {"depth": Attr(Kind.INT, required=True), "axis": Attr(Kind.INT, -1)}
    STATIC_INPUTS: ClassVar = {1: "depth"}
    indices = operand_def(TensorType)
    values = operand_def(TensorType)
    output = result_def(TensorType)


SHAPE_OPS: list[type[NnOperation]] = [
    ReshapeOp,
    FlattenOp,
    TransposeOp,
    SqueezeOp,
    UnsqueezeOp,
    ExpandOp,
    TileOp,
    SliceOp,
    PadOp,
    ConcatOp,
    SplitOp,
    GatherOp,
    GatherElementsOp,
    GatherNDOp,
    ScatterElementsOp,
    ScatterNDOp,
    ShapeOp,
    ResizeOp,
    OneHotOp,
]
