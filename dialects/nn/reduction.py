"""Reductions over axes, arg-reductions, and running (cumulative) reductions."""

from __future__ import annotations

from typing import ClassVar

from xdsl.dialects.builtin import TensorType
from xdsl.ir import Attribute
from xdsl.irdl import irdl_op_definition, operand_def, result_def

from .base import Attr, Kind, NnOperation, tensor_type_of


class ReduceOp(NnOperation):
    """Reduces `data` over `axes` (all axes when absent, unless noop_with_empty_axes)."""

    ATTRIBUTES: ClassVar = {
        "axes": Attr(Kind.INTS),
        "keepdims": Attr(Kind.INT, 1),
        "noop_with_empty_axes": Attr(Kind.INT, 0),
    }
    STATIC_INPUTS: ClassVar = {1: "axes"}
    data = operand_def(TensorType)
    reduced = result_def(TensorType)


@irdl_op_definition
class ReduceMeanOp(ReduceOp):
    name = "nn.reduce_mean"
    ONNX_TYPE: ClassVar[str] = "ReduceMean"


@irdl_op_definition
class ReduceSumOp(ReduceOp):
    name = "nn.reduce_sum"
    ONNX_TYPE: ClassVar[str] = "ReduceSum"


@irdl_op_definition
class ReduceProdOp(ReduceOp):
    name = "nn.reduce_prod"
    ONNX_TYPE: ClassVar[str] = "ReduceProd"


@irdl_op_definition
class ReduceMaxOp(ReduceOp):
    name = "nn.reduce_max"
    ONNX_TYPE: ClassVar[str] = "ReduceMax"


@irdl_op_definition
class ReduceMinOp(ReduceOp):
    name = "nn.reduce_min"
    ONNX_TYPE: ClassVar[str] = "ReduceMin"


class ArgReduceOp(NnOperation):
    ATTRIBUTES: ClassVar = {
        "axis": Attr(Kind.INT, 0),
        "keepdims": Attr(Kind.INT, 1),
        "select_last_index": Attr(Kind.INT, 0),
    }
    data = operand_def(TensorType)
    reduced = result_def(TensorType)


@irdl_op_definition
class ArgMaxOp(ArgReduceOp):
    name = "nn.arg_max"
    ONNX_TYPE: ClassVar[str] = "ArgMax"


@irdl_op_definition
class ArgMinOp(ArgReduceOp):
    name = "nn.arg_min"
    ONNX_TYPE: ClassVar[str] = "ArgMin"


class CumulativeOp(NnOperation):
    """Running sums or products of `x` along `axis` (a constant input): with `exclusive`, each
    leaves its own element out; with `reverse`, they run from the end."""

    ATTRIBUTES: ClassVar = {
        "axis": Attr(Kind.INT, required=True),
        "exclusive": Attr(Kind.INT, 0),
        "reverse": Attr(Kind.INT, 0),
    }
    STATIC_INPUTS: ClassVar = {1: "axis"}
    x = operand_def(TensorType)
    y = result_def(TensorType)

    def infer_result_types(self) -> list[TensorType[Attribute] | None]:
        # the result is x's type; onnx's inference at CANONICAL_OPSET (21) has no CumProd
        return [tensor_type_of(self.x)]


@irdl_op_definition
class CumSumOp(CumulativeOp):
    name = "nn.cum_sum"
    ONNX_TYPE: ClassVar[str] = "CumSum"


@irdl_op_definition
class CumProdOp(CumulativeOp):
    name = "nn.cum_prod"
    ONNX_TYPE: ClassVar[str] = "CumProd"


@irdl_op_definition
class TopKOp(NnOperation):
    """The k largest (or smallest) elements along `axis` and their int64 indices, in order;
    equal elements keep their order (the lower index first), NaN counts as the largest. k is
    a constant input."""

    name = "nn.top_k"
    ONNX_TYPE: ClassVar[str] = "TopK"
    ATTRIBUTES: ClassVar = {
        "k": Attr(Kind.INTS, required=True),
        "axis": Attr(Kind.INT, -1),
        "largest": Attr(Kind.INT, 1),
        "sorted": Attr(Kind.INT, 1),
    }
    STATIC_INPUTS: ClassVar = {1: "k"}
    X = operand_def(TensorType)
    values = result_def(TensorType)
    indices = result_def(TensorType)


REDUCTION_OPS: list[type[NnOperation]] = [
    ReduceMeanOp,
    ReduceSumOp,
    ReduceProdOp,
    ReduceMaxOp,
    ReduceMinOp,
    ArgMaxOp,
    ArgMinOp,
    CumSumOp,
    CumProdOp,
    TopKOp,
]
