"""The nn dialect: value-semantic tensor ops with ONNX semantics.

Every op but `nn.weight` and `nn.range_check` stands for one ONNX operator at `CANONICAL_OPSET`;
its numpy reference semantics live in `reference.py` and run through xDSL's interpreter
(`interpreter.py`). `nn.range_check` (checks.py) is a precondition of an ONNX op rewritten into
other nn ops.
"""

from xdsl.ir import Dialect, Operation

from .base import CANONICAL_OPSET, Attr, Kind, NnOperation
from .checks import CHECK_OPS, RangeCheckOp
from .constants import CONSTANT_OPS, ConstantOfShapeOp, ConstantOp, WeightOp
from .elementwise import *  # noqa: F403
from .elementwise import BINARY_OPS, ELEMENTWISE_OPS, UNARY_OPS, VARIADIC_OPS
from .neural import *  # noqa: F403
from .neural import NEURAL_OPS
from .reduction import *  # noqa: F403
from .reduction import REDUCTION_OPS
from .shape import *  # noqa: F403
from .shape import SHAPE_OPS

ALL_OPS: list[type[Operation]] = [
    *ELEMENTWISE_OPS,
    *NEURAL_OPS,
    *SHAPE_OPS,
    *REDUCTION_OPS,
    *CONSTANT_OPS,
    *CHECK_OPS,
]

ONNX_OPS: dict[str, type[NnOperation]] = {
    op.ONNX_TYPE: op for op in ALL_OPS if issubclass(op, NnOperation)
}
"""nn op classes by the ONNX operator they stand for."""

Nn = Dialect("nn", ALL_OPS, [])

__all__ = [
    "ALL_OPS",
    "BINARY_OPS",
    "CANONICAL_OPSET",
    "ONNX_OPS",
    "UNARY_OPS",
    "VARIADIC_OPS",
    "Attr",
    "ConstantOfShapeOp",
    "ConstantOp",
    "Kind",
    "Nn",
    "NnOperation",
    "RangeCheckOp",
    "WeightOp",
]
