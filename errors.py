"""Terrace's exceptions: a user's mistake is one of these, shown as one line, no traceback."""

from __future__ import annotations


class TerraceError(Exception):
    """Base of every error Terrace reports to a user."""


class ModelImportError(TerraceError):
    """The ONNX model cannot be read, checked or converted."""

    def __init__(self, message: str) -> None:
        # the message quotes names from the model, which may hold any character: escaping the
        # unprintable ones keeps the report on one line
        super().__init__("".join(c if c.isprintable() else repr(c)[1:-1] for c in message))


class UnsupportedModelError(ModelImportError):
    """The model uses ops, attributes or dtypes that Terrace does not support (all are listed).

    `value_inputs` names graph inputs whose run-time values, were they known when compiling,
    would make every listed node static (axes, shapes, scales, trip counts given as inputs):
    compiling with `input_values` for them may succeed. Empty when other problems remain."""

    def __init__(self, message: str, value_inputs: frozenset[str] = frozenset()) -> None:
        super().__init__(message)
        self.value_inputs = value_inputs


class CompilationError(TerraceError):
    """A pass of the compile pipeline, the LLVM translation or code generation failed."""


class TerraceRuntimeError(TerraceError):
    """Compiled code cannot be loaded or called."""


class InputError(TerraceRuntimeError, ValueError):
    """The inputs of a call do not match the model's: count, name, shape or dtype."""


class IndexOutOfRangeError(TerraceRuntimeError, IndexError):
    """An index read at run time (Gather's indices, a scatter's, ...) is outside its axis:
    raised after the call, from the status the compiled code returns, or by the nn
    dialect's numpy reference. Valid indices of an axis of `size` are [-size, size)."""

    def __init__(self, node: str, op_type: str, value: int, axis: int, size: int) -> None:
        where = f"node '{node}' ({op_type})" if node else op_type
        super().__init__(f"{where}: index {value} is out of range [{-size}, {size}) on axis {axis}")
        self.node = node
        self.op_type = op_type
        self.value = value
        self.axis = axis
        self.size = size


class ValueOutOfRangeError(IndexOutOfRangeError):
    """An input that an op indexes with, or counts with, holds a value outside the range its
    ONNX op allows (ReverseSequence's `sequence_lens` beyond the time steps, a negative
    TensorScatter write index): `operand[position] = value`, valid values [low, high]."""

    def __init__(
        self,
        node: str,
        op_type: str,
        operand: str,
        position: tuple[int, ...],
        value: int,
        low: int,
        high: int | None,
    ) -> None:
        where = f"node '{node}' ({op_type})" if node else op_type
        at = ", ".join(str(p) for p in position)
        valid = f"out of range [{low}, {high}]" if high is not None else f"below {low}"
        TerraceRuntimeError.__init__(self, f"{where}: {operand}[{at}] = {value} is {valid}")
        self.node = node
        self.op_type = op_type
        self.operand = operand
        self.position = position
        self.value = value
        self.low = low
        self.high = high


def first_line(error: BaseException) -> str:
    """The first line of an error's message (or its type's name), for one-line reports."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
