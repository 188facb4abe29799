"""Det as Gaussian elimination with partial pivoting, unrolled over the (static) matrix size:
the LU factorization that numpy's det (LAPACK getrf) does, so the same pivots are taken.

Step k on the remaining [..., m, m] block A: p = the first row of max |A[:, 0]| (ArgMax);
rows 0 and p swap (the sign flips when p != 0); det *= pivot = A[p, 0]; the block below the
pivot row less its multiples by A[i, 0] / pivot is the next step's block. A zero pivot (the
whole column is zero) makes det 0; it divides as 1 so that no NaN appears.
"""

from __future__ import annotations

import numpy as np
import onnx

from ..emitter import Emitter, NodeError
from ..registry import decomposition
from .builder import Ops


@decomposition("Det", since=11)
def det(node: onnx.NodeProto, emitter: Emitter) -> None:
    if node.attribute:
        raise NodeError(f"attribute '{node.attribute[0].name}' not supported")
    x = node.input[0]
    dims = emitter.shape(x)
    if len(dims) < 2 or dims[-1] != dims[-2]:
        raise NodeError(f"input of shape {list(dims)} (square matrices expected)")
    dtype = emitter.dtype(x)
    if not np.issubdtype(dtype, np.floating):
        raise NodeError(f"input of type {dtype} (floating point expected)")
    steps = _Steps(emitter, list(dims[:-2]), dtype)
    block = x
    product = emitter.constant(np.ones([*dims[:-2], 1, 1], dtype))
    for size in range(dims[-1], 1, -1):
        block, pivot, sign = steps.eliminate(block, size)
        product = emitter.emit("Mul", [emitter.emit("Mul", [product, pivot]), sign])
    product = emitter.emit("Mul", [product, block])  # the last 1 x 1 block
    lead = emitter.constant(np.array(dims[:-2], np.int64))
    emitter.emit("Reshape", [product, lead], output=node.output[0])


class _Steps:
    """One elimination step on a [..., size, size] block."""

    def __init__(self, emitter: Emitter, lead: list[int], dtype: np.dtype[np.generic]) -> None:
        self.emitter = emitter
        self.ops = Ops(emitter, dtype)
        self.lead = lead
        self.rows, self.columns = len(lead), len(lead) + 1
        self.zero = emitter.constant(np.zeros((), dtype))
        self.one = emitter.constant(np.ones((), dtype))
        self.minus_one = emitter.constant(np.full((), -1, dtype))

    def eliminate(self, block: str, size: int) -> tuple[str, str, str]:
        """The next block, the pivot and the swap's sign (each [..., 1, 1] but the block)."""
        emit = self.emitter.emit
        column = self.ops.slice(block, 0, 1, self.columns)
        magnitude = emit("Abs", [column])
        chosen = emit("ArgMax", [magnitude], {"axis": self.rows, "keepdims": 1})
        row_shape = self.ops.ints([*self.lead, 1, size])
        pivot_row = emit(
            "GatherElements", [block, emit("Expand", [chosen, row_shape])], {"axis": self.rows}
        )
        first_row = self.ops.slice(block, 0, 1, self.rows)
        positions = self.ops.ints(np.arange(size).reshape(size, 1))
        is_chosen = emit("Equal", [positions, chosen])
        swapped = emit("Where", [is_chosen, first_row, block])
        kept = emit("Equal", [chosen, self.ops.ints(np.zeros((), np.int64))])
        sign = emit("Where", [kept, self.one, self.minus_one])
        pivot = self.ops.slice(pivot_row, 0, 1, self.columns)
        vanishing = emit("Equal", [pivot, self.zero])
        divisor = emit("Where", [vanishing, self.one, pivot])
        below = self.ops.slice(swapped, 1, size, self.rows)
        factors = emit("Div", [self.ops.slice(below, 0, 1, self.columns), divisor])
        pivot_rest = self.ops.slice(pivot_row, 1, size, self.columns)
        below_rest = self.ops.slice(below, 1, size, self.columns)
        remainder = emit("Sub", [below_rest, emit("Mul", [factors, pivot_rest])])
        return remainder, pivot, sign
