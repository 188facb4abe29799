"""Values that come from nowhere in the graph: inline constants and named weights."""

from __future__ import annotations

from typing import ClassVar

from xdsl.dialects.builtin import StringAttr, TensorType
from xdsl.ir import Attribute
from xdsl.irdl import IRDLOperation, irdl_op_definition, prop_def, result_def, traits_def
from xdsl.traits import ConstantLike, Pure
from xdsl.utils.exceptions import VerifyException

from .base import Attr, Kind, NnOperation


@irdl_op_definition
class ConstantOp(NnOperation):
    """A small constant (scalars, shapes, splats) held inline as a dense attribute."""

    name = "nn.constant"
    ONNX_TYPE: ClassVar[str] = "Constant"
    ATTRIBUTES: ClassVar = {"value": Attr(Kind.TENSOR, required=True)}
    output = result_def(TensorType)
    traits = traits_def(Pure(), ConstantLike())
    assembly_format = "attr-dict `:` type($output)"


@irdl_op_definition
class ConstantOfShapeOp(NnOperation):
    """A tensor of the static `shape` filled with `value`'s one element (0.0 by default)."""

    name = "nn.constant_of_shape"
    ONNX_TYPE: ClassVar[str] = "ConstantOfShape"
    ATTRIBUTES: ClassVar = {"shape": Attr(Kind.INTS, required=True), "value": Attr(Kind.TENSOR)}
    STATIC_INPUTS: ClassVar = {0: "shape"}
    output = result_def(TensorType)
    traits = traits_def(Pure(), ConstantLike())
    assembly_format = "attr-dict `:` type($output)"


@irdl_op_definition
class WeightOp(IRDLOperation):
    """A model weight, by name: the array lives in the module's weight store, never in the IR.

    `%w = nn.weight "conv1.weight" : tensor<64x3x7x7xf32>`
    """

    name = "nn.weight"
    ref = prop_def(StringAttr)
    output = result_def(TensorType)
    assembly_format = "$ref attr-dict `:` type($output)"
    traits = traits_def(Pure(), ConstantLike())

    def __init__(self, ref: str, result_type: Attribute):
        super().__init__(properties={"ref": StringAttr(ref)}, result_types=[result_type])

    def verify_(self) -> None:
        if not self.ref.data:
            raise VerifyException("nn.weight needs a non-empty name")


CONSTANT_OPS: list[type[IRDLOperation]] = [ConstantOp, ConstantOfShapeOp, WeightOp]
