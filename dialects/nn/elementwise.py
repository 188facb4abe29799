"""Elementwise nn ops: unary, binary with ONNX multidirectional broadcasting, variadic, Where."""

from __future__ import annotations

from typing import ClassVar

from xdsl.dialects.builtin import TensorType
from xdsl.irdl import irdl_op_definition, operand_def, result_def, var_operand_def

from .base import Attr, Kind, NnOperation


class UnaryOp(NnOperation):
    """Y = f(X), elementwise."""

    X = operand_def(TensorType)
    Y = result_def(TensorType)


class BinaryOp(NnOperation):
    """C = A op B, with ONNX multidirectional (numpy) broadcasting."""

    A = operand_def(TensorType)
    B = operand_def(TensorType)
    C = result_def(TensorType)


class VariadicOp(NnOperation):
    """One result from any number of inputs, broadcast together (Sum, Mean, Max, Min)."""

    inputs = var_operand_def(TensorType)
    result = result_def(TensorType)


# -- unary ----------------------------------------------------------------------------------


@irdl_op_definition
class IdentityOp(UnaryOp):
    name = "nn.identity"
    ONNX_TYPE: ClassVar[str] = "Identity"


@irdl_op_definition
class ReluOp(UnaryOp):
    name = "nn.relu"
    ONNX_TYPE: ClassVar[str] = "Relu"


@irdl_op_definition
class SigmoidOp(UnaryOp):
    name = "nn.sigmoid"
    ONNX_TYPE: ClassVar[str] = "Sigmoid"


@irdl_op_definition
class TanhOp(UnaryOp):
    name = "nn.tanh"
    ONNX_TYPE: ClassVar[str] = "Tanh"


@irdl_op_definition
class ErfOp(UnaryOp):
    name = "nn.erf"
    ONNX_TYPE: ClassVar[str] = "Erf"


@irdl_op_definition
class SqrtOp(UnaryOp):
    name = "nn.sqrt"
    ONNX_TYPE: ClassVar[str] = "Sqrt"


@irdl_op_definition
class ExpOp(UnaryOp):
    name = "nn.exp"
    ONNX_TYPE: ClassVar[str] = "Exp"


@irdl_op_definition
class LogOp(UnaryOp):
    name = "nn.log"
    ONNX_TYPE: ClassVar[str] = "Log"


@irdl_op_definition
class NegOp(UnaryOp):
    name = "nn.neg"
    ONNX_TYPE: ClassVar[str] = "Neg"


@irdl_op_definition
class AbsOp(UnaryOp):
    name = "nn.abs"
    ONNX_TYPE: ClassVar[str] = "Abs"


@irdl_op_definition
class NotOp(UnaryOp):
    name = "nn.not"
    ONNX_TYPE: ClassVar[str] = "Not"


@irdl_op_definition
class FloorOp(UnaryOp):
    name = "nn.floor"
    ONNX_TYPE: ClassVar[str] = "Floor"


@irdl_op_definition
class CeilOp(UnaryOp):
    name = "nn.ceil"
    ONNX_TYPE: ClassVar[str] = "Ceil"


@irdl_op_definition
class ReciprocalOp(UnaryOp):
    name = "nn.reciprocal"
    ONNX_TYPE: ClassVar[str] = "Reciprocal"


@irdl_op_definition
class LeakyReluOp(UnaryOp):
    name = "nn.leaky_relu"
    ONNX_TYPE: ClassVar[str] = "LeakyRelu"
    ATTRIBUTES: ClassVar = {"alpha": Attr(Kind.FLOAT, 0.01)}


@irdl_op_definition
class EluOp(UnaryOp):
    name = "nn.elu"
    ONNX_TYPE: ClassVar[str] = "Elu"
    ATTRIBUTES: ClassVar = {"alpha": Attr(Kind.FLOAT, 1.0)}


@irdl_op_definition
class ClipOp(UnaryOp):
    """Clamps X to [min, max]; an absent bound does not clamp."""

    name = "nn.clip"
    ONNX_TYPE: ClassVar[str] = "Clip"
    ATTRIBUTES: ClassVar = {"min": Attr(Kind.SCALAR), "max": Attr(Kind.SCALAR)}
    STATIC_INPUTS: ClassVar = {1: "min", 2: "max"}


@irdl_op_definition
class GeluOp(UnaryOp):
    name = "nn.gelu"
    ONNX_TYPE: ClassVar[str] = "Gelu"
    ATTRIBUTES: ClassVar = {"approximate": Attr(Kind.STRING, "none")}


@irdl_op_definition
class CastOp(UnaryOp):
    """Converts X to the ONNX element type `to` (a TensorProto.DataType number)."""

    name = "nn.cast"
    ONNX_TYPE: ClassVar[str] = "Cast"
    ATTRIBUTES: ClassVar = {"to": Attr(Kind.INT, required=True), "saturate": Attr(Kind.INT, 1)}


@irdl_op_definition
class DropoutOp(UnaryOp):
    """Inference-mode dropout: the identity. Training mode and the mask output are not nn."""

    name = "nn.dropout"
    ONNX_TYPE: ClassVar[str] = "Dropout"
    ATTRIBUTES: ClassVar = {"seed": Attr(Kind.INT)}


# -- binary ---------------------------------------------------------------------------------


@irdl_op_definition
class AddOp(BinaryOp):
    name = "nn.add"
    ONNX_TYPE: ClassVar[str] = "Add"


@irdl_op_definition
class SubOp(BinaryOp):
    name = "nn.sub"
    ONNX_TYPE: ClassVar[str] = "Sub"


@irdl_op_definition
class MulOp(BinaryOp):
    name = "nn.mul"
    ONNX_TYPE: ClassVar[str] = "Mul"


@irdl_op_definition
class DivOp(BinaryOp):
    name = "nn.div"
    ONNX_TYPE: ClassVar[str] = "Div"


@irdl_op_definition
class PowOp(BinaryOp):
    name = "nn.pow"
    ONNX_TYPE: ClassVar[str] = "Pow"


@irdl_op_definition
class EqualOp(BinaryOp):
    name = "nn.equal"
    ONNX_TYPE: ClassVar[str] = "Equal"


@irdl_op_definition
class LessOp(BinaryOp):
    name = "nn.less"
    ONNX_TYPE: ClassVar[str] = "Less"


@irdl_op_definition
class LessOrEqualOp(BinaryOp):
    name = "nn.less_or_equal"
    ONNX_TYPE: ClassVar[str] = "LessOrEqual"


@irdl_op_definition
class GreaterOp(BinaryOp):
    name = "nn.greater"
    ONNX_TYPE: ClassVar[str] = "Greater"


@irdl_op_definition
class GreaterOrEqualOp(BinaryOp):
    name = "nn.greater_or_equal"
    ONNX_TYPE: ClassVar[str] = "GreaterOrEqual"


@irdl_op_definition
class AndOp(BinaryOp):
    name = "nn.and"
    ONNX_TYPE: ClassVar[str] = "And"


@irdl_op_definition
class OrOp(BinaryOp):
    name = "nn.or"
    ONNX_TYPE: ClassVar[str] = "Or"


@irdl_op_definition
class XorOp(BinaryOp):
    name = "nn.xor"
    ONNX_TYPE: ClassVar[str] = "Xor"


# -- variadic and ternary -------------------------------------------------------------------


@irdl_op_definition
class SumOp(VariadicOp):
    name = "nn.sum"
    ONNX_TYPE: ClassVar[str] = "Sum"


@irdl_op_definition
class MeanOp(VariadicOp):
    name = "nn.mean"
    ONNX_TYPE: ClassVar[str] = "Mean"


@irdl_op_definition
class MaxOp(VariadicOp):
    name = "nn.max"
    ONNX_TYPE: ClassVar[str] = "Max"


@irdl_op_definition
class MinOp(VariadicOp):
    name = "nn.min"
    ONNX_TYPE: ClassVar[str] = "Min"


@irdl_op_definition
class WhereOp(NnOperation):
    """X where condition else Y, all three broadcast together."""

    name = "nn.where"
    ONNX_TYPE: ClassVar[str] = "Where"
    condition = operand_def(TensorType)
    X = operand_def(TensorType)
    Y = operand_def(TensorType)
    output = result_def(TensorType)


UNARY_OPS: list[type[UnaryOp]] = [
    IdentityOp,
    ReluOp,
    SigmoidOp,
    TanhOp,
    ErfOp,
    SqrtOp,
    ExpOp,
    LogOp,
    NegOp,
    AbsOp,
    NotOp,
    FloorOp,
    CeilOp,
    ReciprocalOp,
    LeakyReluOp,
    EluOp,
    ClipOp,
    GeluOp,
    CastOp,
    DropoutOp,
]
BINARY_OPS: list[type[BinaryOp]] = [
    AddOp,
    SubOp,
    MulOp,
    DivOp,
    PowOp,
    EqualOp,
    LessOp,
    LessOrEqualOp,
    GreaterOp,
    GreaterOrEqualOp,
    AndOp,
    OrOp,
    XorOp,
]
VARIADIC_OPS: list[type[VariadicOp]] = [SumOp, MeanOp, MaxOp, MinOp]
ELEMENTWISE_OPS: list[type[NnOperation]] = [*UNARY_OPS, *BINARY_OPS, *VARIADIC_OPS, WhereOp]
