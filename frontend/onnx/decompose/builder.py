"""The typed shorthand that decompositions build with: one `Ops` over the importer's Emitter,
so that constants get their element type in one place (floats of the op's type, int64 for
indices, shapes and bounds) instead of each decomposition writing its own."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from onnx import helper

from ..emitter import Emitter, NodeError


class Ops:
    """Emits ONNX nodes through `emitter`; `const` constants take `dtype`, the element type the
    decomposition computes in (float32 unless given)."""

    def __init__(self, emitter: Emitter, dtype: np.dtype[np.generic] | None = None) -> None:
        self.emitter = emitter
        self.dtype = dtype if dtype is not None else np.dtype(np.float32)

    @classmethod
    def floating(cls, emitter: Emitter, dtype: np.dtype[np.generic], what: str = "X") -> Ops:
        """Ops on tensors of `dtype`, which must be a floating type (`what`'s, for the error)."""
        if not np.issubdtype(dtype, np.floating):
            raise NodeError(f"{what} of type {dtype} (floating point expected)")
        return cls(emitter, dtype)

    def emit(
        self,
        op_type: str,
        inputs: Sequence[str],
        attributes: Mapping[str, object] | None = None,
        output: str = "",
    ) -> str:
        return self.emitter.emit(op_type, inputs, attributes, output)

    def const(self, value: float | np.ndarray) -> str:
        """A constant of the Ops' element type."""
        return self.emitter.constant(np.asarray(value, self.dtype))

    def ints(self, values: Sequence[int] | np.ndarray) -> str:
        """An int64 constant (indices, shapes, bounds, axes)."""
        return self.emitter.constant(np.asarray(values, np.int64))

    def cast(self, name: str, dtype: np.dtype[np.generic] | type) -> str:
        """`name` as `dtype`: itself when it already is."""
        if self.emitter.dtype(name) == np.dtype(dtype):
            return name
        to = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
        return self.emit("Cast", [name], {"to": to})

    def reshape(self, name: str, dims: Sequence[int]) -> str:
        return self.emit("Reshape", [name, self.ints(list(dims))])

    def slice(self, name: str, start: int, end: int, axis: int) -> str:
        """[start, end) of `axis`."""
        return self.emit("Slice", [name, *(self.ints([value]) for value in (start, end, axis))])

    def gather(self, data: str, index: str, dims: Sequence[int], axis: int) -> str:
        """GatherElements along `axis` with `index` expanded to `dims`."""
        expanded = self.emit("Expand", [index, self.ints(list(dims))])
        return self.emit("GatherElements", [data, expanded], {"axis": axis})
