"""Elementwise nn ops: unary, binary with ONNX multidirectional broadcasting, variadic, Where."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from xdsl.dialects.builtin import TensorType
from xdsl.ir import Attribute
from xdsl.irdl import irdl_op_definition, operand_def, result_def, var_operand_def

from .base import (
    Attr,
    Kind,
    NnOperation,
    TypeInferenceError,
    UnsupportedElementType,
    element_type_from_onnx,
    element_type_to_numpy,
    shape_of,
    tensor_type_of,
)


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
class SinOp(UnaryOp):
    name = "nn.sin"
    ONNX_TYPE: ClassVar[str] = "Sin"


@irdl_op_definition
class CosOp(UnaryOp):
    name = "nn.cos"
    ONNX_TYPE: ClassVar[str] = "Cos"


@irdl_op_definition
class TanOp(UnaryOp):
    name = "nn.tan"
    ONNX_TYPE: ClassVar[str] = "Tan"


@irdl_op_definition
class AsinOp(UnaryOp):
    name = "nn.asin"
    ONNX_TYPE: ClassVar[str] = "Asin"


@irdl_op_definition
class AcosOp(UnaryOp):
    name = "nn.acos"
    ONNX_TYPE: ClassVar[str] = "Acos"


@irdl_op_definition
class AtanOp(UnaryOp):
    name = "nn.atan"
    ONNX_TYPE: ClassVar[str] = "Atan"


@irdl_op_definition
class SinhOp(UnaryOp):
    name = "nn.sinh"
    ONNX_TYPE: ClassVar[str] = "Sinh"


@irdl_op_definition
class CoshOp(UnaryOp):
    name = "nn.cosh"
    ONNX_TYPE: ClassVar[str] = "Cosh"


@irdl_op_definition
class AsinhOp(UnaryOp):
    name = "nn.asinh"
    ONNX_TYPE: ClassVar[str] = "Asinh"


@irdl_op_definition
class AcoshOp(UnaryOp):
    name = "nn.acosh"
    ONNX_TYPE: ClassVar[str] = "Acosh"


@irdl_op_definition
class AtanhOp(UnaryOp):
    name = "nn.atanh"
    ONNX_TYPE: ClassVar[str] = "Atanh"


@irdl_op_definition
class RoundOp(UnaryOp):
    """Rounds to the nearest integer, ties to even."""

    name = "nn.round"
    ONNX_TYPE: ClassVar[str] = "Round"


@irdl_op_definition
class SignOp(UnaryOp):
    name = "nn.sign"
    ONNX_TYPE: ClassVar[str] = "Sign"


@irdl_op_definition
class IsNaNOp(UnaryOp):
    name = "nn.is_nan"
    ONNX_TYPE: ClassVar[str] = "IsNaN"


@irdl_op_definition
class IsInfOp(UnaryOp):
    name = "nn.is_inf"
    ONNX_TYPE: ClassVar[str] = "IsInf"
    ATTRIBUTES: ClassVar = {
        "detect_negative": Attr(Kind.INT, 1),
        "detect_positive": Attr(Kind.INT, 1),
    }


@irdl_op_definition
class BitwiseNotOp(UnaryOp):
    name = "nn.bitwise_not"
    ONNX_TYPE: ClassVar[str] = "BitwiseNot"


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
class BitCastOp(UnaryOp):
    """X's bits as the ONNX element type `to` of the same width (a bool as a byte)."""

    name = "nn.bit_cast"
    ONNX_TYPE: ClassVar[str] = "BitCast"
    ATTRIBUTES: ClassVar = {"to": Attr(Kind.INT, required=True)}

    def infer_result_types(self) -> list[TensorType[Attribute] | None]:
        # onnx's inference at CANONICAL_OPSET (21) has no BitCast (opset 26)
        source = tensor_type_of(self.X)
        try:
            target = element_type_from_onnx(self.int_attr("to"))
        except UnsupportedElementType as error:
            raise TypeInferenceError(f"BitCast: {error}") from None
        widths = [element_type_to_numpy(t).itemsize for t in (source.element_type, target)]
        if widths[0] != widths[1]:
            raise TypeInferenceError(
                f"BitCast: {source.element_type} to {target} changes the width (unsupported)"
            )
        return [TensorType(target, source.get_shape())]


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
class ModOp(BinaryOp):
    """A mod B: with fmod = 0 (integers only) the result has the divisor's sign, as Python's
    %; with fmod = 1 the dividend's, as C's fmod."""

    name = "nn.mod"
    ONNX_TYPE: ClassVar[str] = "Mod"
    ATTRIBUTES: ClassVar = {"fmod": Attr(Kind.INT, 0)}


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
class BitwiseAndOp(BinaryOp):
    name = "nn.bitwise_and"
    ONNX_TYPE: ClassVar[str] = "BitwiseAnd"


@irdl_op_definition
class BitwiseOrOp(BinaryOp):
    name = "nn.bitwise_or"
    ONNX_TYPE: ClassVar[str] = "BitwiseOr"


@irdl_op_definition
class BitwiseXorOp(BinaryOp):
    name = "nn.bitwise_xor"
    ONNX_TYPE: ClassVar[str] = "BitwiseXor"


@irdl_op_definition
class BitShiftOp(BinaryOp):
    """X shifted by Y bits toward `direction` ("LEFT" or "RIGHT"), with the semantics of
    opset 28, which extends opset 11's unsigned shifts: a right shift of a signed X is
    arithmetic, and a shift by a negative Y or by Y >= the bit width leaves only the sign
    extension (-1 for a right shift of a negative X, else 0)."""

    name = "nn.bit_shift"
    ONNX_TYPE: ClassVar[str] = "BitShift"
    ATTRIBUTES: ClassVar = {"direction": Attr(Kind.STRING, required=True)}

    def infer_result_types(self) -> list[TensorType[Attribute] | None]:
        # onnx's inference at CANONICAL_OPSET (21) takes unsigned types only
        element = tensor_type_of(self.A).element_type
        shape = np.broadcast_shapes(shape_of(self.A), shape_of(self.B))
        return [TensorType(element, list(shape))]


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
    SinOp,
    CosOp,
    TanOp,
    AsinOp,
    AcosOp,
    AtanOp,
    SinhOp,
    CoshOp,
    AsinhOp,
    AcoshOp,
    AtanhOp,
    RoundOp,
    SignOp,
    IsNaNOp,
    IsInfOp,
    BitwiseNotOp,
    LeakyReluOp,
    EluOp,
    ClipOp,
    GeluOp,
    CastOp,
    BitCastOp,
    DropoutOp,
]
BINARY_OPS: list[type[BinaryOp]] = [
    AddOp,
    SubOp,
    MulOp,
    DivOp,
    ModOp,
    PowOp,
    EqualOp,
    LessOp,
    LessOrEqualOp,
    GreaterOp,
    GreaterOrEqualOp,
    AndOp,
    OrOp,
    XorOp,
    BitwiseAndOp,
    BitwiseOrOp,
    BitwiseXorOp,
    BitShiftOp,
]
VARIADIC_OPS: list[type[VariadicOp]] = [SumOp, MeanOp, MaxOp, MinOp]
ELEMENTWISE_OPS: list[type[NnOperation]] = [*UNARY_OPS, *BINARY_OPS, *VARIADIC_OPS, WhereOp]
