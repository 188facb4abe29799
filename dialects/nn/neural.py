"""Network ops: convolution, matrix products, normalization, softmax and pooling."""

from __future__ import annotations

from typing import ClassVar

from xdsl.dialects.builtin import TensorType
from xdsl.ir import Attribute
from xdsl.irdl import (
    irdl_op_definition,
    operand_def,
    opt_operand_def,
    result_def,
    var_operand_def,
)

from .base import Attr, Kind, NnOperation, shape_of

_WINDOW_ATTRIBUTES = {
    "auto_pad": Attr(Kind.STRING, "NOTSET"),
    "kernel_shape": Attr(Kind.INTS),
    "pads": Attr(Kind.INTS),
    "strides": Attr(Kind.INTS),
}


@irdl_op_definition
class ConvOp(NnOperation):
    """N-d convolution (cross-correlation) with groups, dilations, pads and strides."""

    name = "nn.conv"
    ONNX_TYPE: ClassVar[str] = "Conv"
    ATTRIBUTES: ClassVar = {
        **_WINDOW_ATTRIBUTES,
        "dilations": Attr(Kind.INTS),
        "group": Attr(Kind.INT, 1),
    }
    X = operand_def(TensorType)
    W = operand_def(TensorType)
    B = opt_operand_def(TensorType)
    Y = result_def(TensorType)


@irdl_op_definition
class ConvTransposeOp(NnOperation):
    name = "nn.conv_transpose"
    ONNX_TYPE: ClassVar[str] = "ConvTranspose"
    ATTRIBUTES: ClassVar = {
        **_WINDOW_ATTRIBUTES,
        "dilations": Attr(Kind.INTS),
        "group": Attr(Kind.INT, 1),
        "output_padding": Attr(Kind.INTS),
        "output_shape": Attr(Kind.INTS),
    }
    X = operand_def(TensorType)
    W = operand_def(TensorType)
    B = opt_operand_def(TensorType)
    Y = result_def(TensorType)


@irdl_op_definition
class GemmOp(NnOperation):
    """Y = alpha * A' B' + beta * C, A' and B' optionally transposed, C broadcast."""

    name = "nn.gemm"
    ONNX_TYPE: ClassVar[str] = "Gemm"
    ATTRIBUTES: ClassVar = {
        "alpha": Attr(Kind.FLOAT, 1.0),
        "beta": Attr(Kind.FLOAT, 1.0),
        "transA": Attr(Kind.INT, 0),
        "transB": Attr(Kind.INT, 0),
    }
    A = operand_def(TensorType)
    B = operand_def(TensorType)
    C = opt_operand_def(TensorType)
    Y = result_def(TensorType)


@irdl_op_definition
class MatMulOp(NnOperation):
    """numpy.matmul: batched, with broadcast batch dimensions and 1-d operands promoted."""

    name = "nn.matmul"
    ONNX_TYPE: ClassVar[str] = "MatMul"
    A = operand_def(TensorType)
    B = operand_def(TensorType)
    Y = result_def(TensorType)


@irdl_op_definition
class EinsumOp(NnOperation):
    """numpy.einsum of the inputs by `equation` ("ij,jk->ik"; without "->", the labels seen
    once, sorted; "..." for broadcast dimensions)."""

    name = "nn.einsum"
    ONNX_TYPE: ClassVar[str] = "Einsum"
    ATTRIBUTES: ClassVar = {"equation": Attr(Kind.STRING, required=True)}
    Inputs = var_operand_def(TensorType)
    Output = result_def(TensorType)


@irdl_op_definition
class BatchNormalizationOp(NnOperation):
    """Inference-mode batch normalization over axis 1 with running statistics."""

    name = "nn.batch_normalization"
    ONNX_TYPE: ClassVar[str] = "BatchNormalization"
    ATTRIBUTES: ClassVar = {"epsilon": Attr(Kind.FLOAT, 1e-5), "momentum": Attr(Kind.FLOAT, 0.9)}
    X = operand_def(TensorType)
    scale = operand_def(TensorType)
    B = operand_def(TensorType)
    input_mean = operand_def(TensorType)
    input_var = operand_def(TensorType)
    Y = result_def(TensorType)


@irdl_op_definition
class LayerNormalizationOp(NnOperation):
    """Normalizes over the axes from `axis` to the last; only the first output (Y)."""

    name = "nn.layer_normalization"
    ONNX_TYPE: ClassVar[str] = "LayerNormalization"
    ATTRIBUTES: ClassVar = {
        "axis": Attr(Kind.INT, -1),
        "epsilon": Attr(Kind.FLOAT, 1e-5),
        "stash_type": Attr(Kind.INT, 1),
    }
    X = operand_def(TensorType)
    Scale = operand_def(TensorType)
    B = opt_operand_def(TensorType)
    Y = result_def(TensorType)


@irdl_op_definition
class SoftmaxOp(NnOperation):
    """Softmax along one axis (opset 13 semantics; the importer rewrites older 2-d forms)."""

    name = "nn.softmax"
    ONNX_TYPE: ClassVar[str] = "Softmax"
    ATTRIBUTES: ClassVar = {"axis": Attr(Kind.INT, -1)}
    input = operand_def(TensorType)
    output = result_def(TensorType)


@irdl_op_definition
class LogSoftmaxOp(NnOperation):
    name = "nn.log_softmax"
    ONNX_TYPE: ClassVar[str] = "LogSoftmax"
    ATTRIBUTES: ClassVar = {"axis": Attr(Kind.INT, -1)}
    input = operand_def(TensorType)
    output = result_def(TensorType)


class PoolOp(NnOperation):
    """Max and average pooling share ONNX's window arithmetic."""

    def infer_result_types(self) -> list[TensorType[Attribute] | None]:
        """onnx's inference keeps a ceil_mode window that starts inside the end padding;
        onnxruntime (and PyTorch) drop it, and so does nn."""
        inferred = super().infer_result_types()
        result = inferred[0]
        if (
            result is None
            or not self.int_attr("ceil_mode")
            or self.str_attr("auto_pad") != "NOTSET"
        ):
            return inferred
        input_shape = shape_of(self.operands[0])
        spatial = input_shape[2:]
        rank = len(spatial)
        strides = self.ints_attr("strides") or [1] * rank
        pads = self.ints_attr("pads") or [0] * (2 * rank)
        shape = list(result.get_shape())
        for i in range(rank):
            if (shape[2 + i] - 1) * strides[i] >= spatial[i] + pads[i]:
                shape[2 + i] -= 1
        return [TensorType(result.element_type, shape)]


@irdl_op_definition
class MaxPoolOp(PoolOp):
    """Max pooling; only the values output (Indices is not nn)."""

    name = "nn.max_pool"
    ONNX_TYPE: ClassVar[str] = "MaxPool"
    ATTRIBUTES: ClassVar = {
        **_WINDOW_ATTRIBUTES,
        "ceil_mode": Attr(Kind.INT, 0),
        "dilations": Attr(Kind.INTS),
        "storage_order": Attr(Kind.INT, 0),
    }
    X = operand_def(TensorType)
    Y = result_def(TensorType)


@irdl_op_definition
class AveragePoolOp(PoolOp):
    name = "nn.average_pool"
    ONNX_TYPE: ClassVar[str] = "AveragePool"
    ATTRIBUTES: ClassVar = {
        **_WINDOW_ATTRIBUTES,
        "ceil_mode": Attr(Kind.INT, 0),
        "count_include_pad": Attr(Kind.INT, 0),
        "dilations": Attr(Kind.INTS),
    }
    X = operand_def(TensorType)
    Y = result_def(TensorType)


@irdl_op_definition
class LpPoolOp(PoolOp):
    """The p-norm of each window, (sum |x|^p)^(1/p); padding adds nothing."""

    name = "nn.lp_pool"
    ONNX_TYPE: ClassVar[str] = "LpPool"
    ATTRIBUTES: ClassVar = {
        **_WINDOW_ATTRIBUTES,
        "ceil_mode": Attr(Kind.INT, 0),
        "dilations": Attr(Kind.INTS),
        "p": Attr(Kind.INT, 2),
    }
    X = operand_def(TensorType)
    Y = result_def(TensorType)


@irdl_op_definition
class GlobalAveragePoolOp(NnOperation):
    name = "nn.global_average_pool"
    ONNX_TYPE: ClassVar[str] = "GlobalAveragePool"
    X = operand_def(TensorType)
    Y = result_def(TensorType)


@irdl_op_definition
class GlobalMaxPoolOp(NnOperation):
    name = "nn.global_max_pool"
    ONNX_TYPE: ClassVar[str] = "GlobalMaxPool"
    X = operand_def(TensorType)
    Y = result_def(TensorType)


@irdl_op_definition
class LRNOp(NnOperation):
    """Local response normalization across channels."""

    name = "nn.lrn"
    ONNX_TYPE: ClassVar[str] = "LRN"
    ATTRIBUTES: ClassVar = {
        "alpha": Attr(Kind.FLOAT, 0.0001),
        "beta": Attr(Kind.FLOAT, 0.75),
        "bias": Attr(Kind.FLOAT, 1.0),
        "size": Attr(Kind.INT, required=True),
    }
    X = operand_def(TensorType)
    Y = result_def(TensorType)


NEURAL_OPS: list[type[NnOperation]] = [
    ConvOp,
    ConvTransposeOp,
    GemmOp,
    MatMulOp,
    EinsumOp,
    BatchNormalizationOp,
    LayerNormalizationOp,
    SoftmaxOp,
    LogSoftmaxOp,
    MaxPoolOp,
    AveragePoolOp,
    LpPoolOp,
    GlobalAveragePoolOp,
    GlobalMaxPoolOp,
    LRNOp,
]
