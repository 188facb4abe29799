"""Run-time checks of values that an ONNX op's decomposition depends on.

`nn.range_check` passes its integer tensor through unchanged and requires every element to lie
in [low, high] (no upper bound without `high`). It stands for a precondition of the ONNX node
it comes from (its location), which the nn ops that node was rewritten into would not check
themselves: ReverseSequence's `sequence_lens` in [0, time steps], TensorScatter's
`write_indices` non-negative (and, in linear mode, leaving room for the update). The nn
reference raises `IndexOutOfRangeError` on a bad element; convert-nn-to-linalg turns the op
into a status check (lowering/nn_to_linalg/index_checks.py), as for Gather's indices.

`%checked = nn.range_check %lengths {operand = "sequence_lens", op_type = "ReverseSequence",
low = 0 : i64, high = 5 : i64} : tensor<4xi64>`
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from xdsl.dialects.builtin import IntegerAttr, IntegerType, StringAttr, TensorType, i64
from xdsl.ir import Attribute, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    ParsePropInAttrDict,
    VarConstraint,
    base,
    irdl_op_definition,
    operand_def,
    opt_prop_def,
    prop_def,
    result_def,
    traits_def,
)
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

from ...errors import ValueOutOfRangeError
from .base import node_name


@irdl_op_definition
class RangeCheckOp(IRDLOperation):
    name = "nn.range_check"
    T: ClassVar = VarConstraint("T", base(TensorType))
    input = operand_def(T)
    output = result_def(T)
    operand = prop_def(StringAttr)
    """The checked input's name in the ONNX op's schema (`sequence_lens`)."""
    op_type = prop_def(StringAttr)
    """The ONNX op the check belongs to."""
    low = prop_def(IntegerAttr)
    high = opt_prop_def(IntegerAttr)
    assembly_format = "$input attr-dict `:` type($output)"
    irdl_options = (ParsePropInAttrDict(),)
    traits = traits_def(Pure())

    def __init__(
        self,
        value: SSAValue,
        operand: str,
        op_type: str,
        low: int,
        high: int | None = None,
        attributes: dict[str, Attribute] | None = None,
    ) -> None:
        properties: dict[str, Attribute] = {
            "operand": StringAttr(operand),
            "op_type": StringAttr(op_type),
            "low": IntegerAttr(low, i64),
        }
        if high is not None:
            properties["high"] = IntegerAttr(high, i64)
        super().__init__(
            operands=[value],
            result_types=[value.type],
            properties=properties,
            attributes=attributes,
        )

    @property
    def bounds(self) -> tuple[int, int | None]:
        """[low, high], high None when there is none."""
        return self.low.value.data, None if self.high is None else self.high.value.data

    def verify_(self) -> None:
        assert isinstance(self.input.type, TensorType)
        if not isinstance(self.input.type.element_type, IntegerType):
            raise VerifyException("nn.range_check checks an integer tensor")
        low, high = self.bounds
        if high is not None and high < low:
            raise VerifyException(f"nn.range_check's range [{low}, {high}] is empty")

    def check(self, values: np.ndarray) -> None:
        """Raises `ValueOutOfRangeError` for the first element (row-major) outside the range."""
        error = out_of_range_error(self, values)
        if error is not None:
            raise error


def first_outside(
    values: np.ndarray, low: int, high: int | None
) -> tuple[tuple[int, ...], int] | None:
    """(position, value) of the first element (row-major) outside [low, high], or None."""
    flat = np.asarray(values).astype(np.int64).reshape(-1)
    bad = flat < low if high is None else (flat < low) | (flat > high)
    positions = np.flatnonzero(bad)
    if not positions.size:
        return None
    position = np.unravel_index(int(positions[0]), np.shape(values))
    return tuple(int(p) for p in position), int(flat[positions[0]])


def out_of_range_error(op: RangeCheckOp, values: np.ndarray) -> ValueOutOfRangeError | None:
    """The error of the first element (row-major) of `values` outside `op`'s range."""
    low, high = op.bounds
    bad = first_outside(values, low, high)
    if bad is None:
        return None
    position, value = bad
    return ValueOutOfRangeError(
        node_name(op), op.op_type.data, op.operand.data, position, value, low, high
    )


CHECK_OPS: list[type[IRDLOperation]] = [RangeCheckOp]
