"""The entry ABI of a compiled model (docs/pipeline.md, stages 3 and 5), as plain data.

`terrace_main(ptr packed)` takes an array of pointers: the inputs, the outputs, the weights
(by store name, in `EntryAbi.weights` order), then a workspace of `workspace_bytes` bytes.
Stage 3 writes the counts, weight names and workspace size as attributes on `@main`;
`read_abi_attributes` reads them back from a module at any later stage that kept them.

A model that indexes with run-time data has `index_checks`: then its last output (counted in
`terrace.num_outputs`, not in `EntryAbi.outputs`) is a hidden int64[3] status, [check number
from 1, axis, value] of the first index out of range, or zeros (lowering/nn_to_linalg/
index_checks.py); the runtime turns a set one into an `IndexOutOfRangeError`.

The readers of a module import xDSL when called, not at load time: a deployed artifact's
runtime (runtime/artifact.py) uses this module's data classes with only numpy and llvmlite.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from xdsl.dialects.builtin import ModuleOp
    from xdsl.ir import Attribute, Operation

WORKSPACE_ALIGNMENT = 64
"""Byte alignment of the workspace (memory-plan aligns every offset in it to the same)."""


@dataclass(frozen=True)
class TensorSpec:
    """A graph input or output: its ONNX name, numpy dtype and static shape."""

    name: str
    dtype: np.dtype[Any]
    shape: tuple[int, ...]

    def describe(self) -> str:
        return f"{self.dtype.name}[{', '.join(str(d) for d in self.shape)}]"

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "dtype": self.dtype.name, "shape": list(self.shape)}

    @staticmethod
    def from_json(data: dict[str, Any]) -> TensorSpec:
        return TensorSpec(str(data["name"]), dtype_named(str(data["dtype"])), tuple(data["shape"]))


def dtype_named(name: str) -> np.dtype[Any]:
    """A dtype by its name; low-precision ONNX types (float8_e4m3fn, int4, ...) are ml_dtypes'
    dtypes, one byte per element, which the compiled code reads and writes as bytes."""
    try:
        return np.dtype(name)
    except TypeError:
        import ml_dtypes

        return np.dtype(getattr(ml_dtypes, name))


@dataclass(frozen=True)
class IndexCheck:
    """One run-time index check: the ONNX node and op type, and the shape of the data it
    indexes (the status names the axis). A range check (`nn.range_check`) names the checked
    `operand` instead, `dims` being its shape, with its valid values [low, high] (high None:
    unbounded); its status gives the flat position of the bad element."""

    node: str
    op_type: str
    dims: tuple[int, ...]
    operand: str = ""
    low: int = 0
    high: int | None = None

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {"node": self.node, "op": self.op_type, "dims": list(self.dims)}
        if self.operand:
            data.update(operand=self.operand, low=self.low, high=self.high)
        return data

    @staticmethod
    def from_json(data: dict[str, Any]) -> IndexCheck:
        high = data.get("high")
        return IndexCheck(
            str(data["node"]),
            str(data["op"]),
            tuple(int(d) for d in data["dims"]),
            str(data.get("operand", "")),
            int(data.get("low", 0)),
            None if high is None else int(high),
        )


STATUS_SPEC = TensorSpec("terrace.status", np.dtype(np.int64), (3,))
"""The hidden status output of a model with index checks."""


@dataclass(frozen=True)
class AbiAttributes:
    """What stage 3 records on `@main` (and stage 2 the index checks)."""

    num_inputs: int
    num_outputs: int
    weights: tuple[str, ...]
    workspace_bytes: int
    index_checks: tuple[IndexCheck, ...] = ()


@dataclass(frozen=True)
class EntryAbi:
    """Everything the runtime needs to call `terrace_main`."""

    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    weights: tuple[str, ...]
    workspace_bytes: int
    index_checks: tuple[IndexCheck, ...] = ()

    @property
    def pointer_count(self) -> int:
        status = 1 if self.index_checks else 0
        return len(self.inputs) + len(self.outputs) + status + len(self.weights) + 1

    def to_json(self) -> dict[str, object]:
        return {
            "inputs": [spec.to_json() for spec in self.inputs],
            "outputs": [spec.to_json() for spec in self.outputs],
            "weights": list(self.weights),
            "workspace_bytes": self.workspace_bytes,
            "index_checks": [check.to_json() for check in self.index_checks],
        }

    @staticmethod
    def from_json(data: dict[str, Any]) -> EntryAbi:
        return EntryAbi(
            inputs=tuple(TensorSpec.from_json(spec) for spec in data["inputs"]),
            outputs=tuple(TensorSpec.from_json(spec) for spec in data["outputs"]),
            weights=tuple(str(name) for name in data["weights"]),
            workspace_bytes=int(data["workspace_bytes"]),
            index_checks=tuple(IndexCheck.from_json(c) for c in data.get("index_checks", [])),
        )


def read_abi_attributes(module: ModuleOp, function: str = "main") -> AbiAttributes | None:
    """The `terrace.*` attributes of `@function` (func.func or llvm.func), if all are there."""
    entry = _find_function(module, function)
    if entry is None:
        return None
    num_inputs = _int_attribute(entry, "terrace.num_inputs")
    num_outputs = _int_attribute(entry, "terrace.num_outputs")
    workspace = _int_attribute(entry, "terrace.workspace_bytes")
    weights = _string_array_attribute(entry, "terrace.weights")
    if num_inputs is None or num_outputs is None or workspace is None or weights is None:
        return None
    return AbiAttributes(num_inputs, num_outputs, weights, workspace, _index_checks(entry))


def read_index_checks(module: ModuleOp, function: str = "main") -> tuple[IndexCheck, ...]:
    """The run-time index checks of `@function` (convert-nn-to-linalg records them), if any."""
    entry = _find_function(module, function)
    return () if entry is None else _index_checks(entry)


def _index_checks(op: Operation) -> tuple[IndexCheck, ...]:
    from xdsl.dialects.builtin import ArrayAttr, DictionaryAttr, IntegerAttr, StringAttr

    value = _attribute(op, "terrace.index_checks")
    if not isinstance(value, ArrayAttr):
        return ()
    checks: list[IndexCheck] = []
    for record in value.data:
        assert isinstance(record, DictionaryAttr)
        node, op_type, dims = (record.data[key] for key in ("node", "op", "dims"))
        assert isinstance(node, StringAttr) and isinstance(op_type, StringAttr)
        assert isinstance(dims, ArrayAttr)
        sizes = tuple(d.value.data for d in dims.data if isinstance(d, IntegerAttr))
        operand, low, high = (record.data.get(key) for key in ("operand", "low", "high"))
        if not isinstance(operand, StringAttr):
            checks.append(IndexCheck(node.data, op_type.data, sizes))
            continue
        assert isinstance(low, IntegerAttr)
        bound = high.value.data if isinstance(high, IntegerAttr) else None
        checks.append(
            IndexCheck(node.data, op_type.data, sizes, operand.data, low.value.data, bound)
        )
    return tuple(checks)


def _find_function(module: ModuleOp, name: str) -> Operation | None:
    from xdsl.dialects.builtin import StringAttr

    for op in module.ops:
        symbol = _attribute(op, "sym_name")
        if isinstance(symbol, StringAttr) and symbol.data == name:
            return op
    return None


def _attribute(op: Operation, name: str) -> Attribute | None:
    # func.func and llvm.func keep unregistered attributes apart from their properties.
    if name in op.attributes:
        return op.attributes[name]
    return op.properties.get(name)


def _int_attribute(op: Operation, name: str) -> int | None:
    from xdsl.dialects.builtin import IntegerAttr

    value = _attribute(op, name)
    if not isinstance(value, IntegerAttr):
        return None
    return value.value.data


def _string_array_attribute(op: Operation, name: str) -> tuple[str, ...] | None:
    from xdsl.dialects.builtin import ArrayAttr, StringAttr

    value = _attribute(op, name)
    if not isinstance(value, ArrayAttr):
        return None
    items: Sequence[Attribute] = value.data
    if not all(isinstance(item, StringAttr) for item in items):
        return None
    return tuple(item.data for item in items if isinstance(item, StringAttr))
