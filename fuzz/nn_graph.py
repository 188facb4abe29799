"""An nn program under construction, and the choices that shape it.

`Graph` grows one function body op by op: it makes inputs, weights and constants, picks
operands among the values built so far, and appends ops with the result type that onnx's shape
inference gives (a combination that inference rejects is dropped, so every program verifies).
Every choice goes through `Choices`: `DrawnChoices` asks hypothesis (so that programs shrink),
`SeededChoices` a seeded `random.Random` (the one-op probes of `pass_targets.py`, thousands of
them, which need no shrinking).
"""

from __future__ import annotations

import abc
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from math import prod
from typing import Any, TypeVar

import numpy as np
from hypothesis import strategies as st
from xdsl.dialects.builtin import TensorType
from xdsl.ir import Attribute, Block, SSAValue
from xdsl.utils.exceptions import VerifyException

from ..dialects.nn.base import (
    NnOperation,
    attribute_from_python,
    dense_from_numpy,
    numpy_dtype_of,
    shape_of,
    tensor_type,
)
from ..dialects.nn.constants import ConstantOp, WeightOp
from ..runtime.abi import TensorSpec
from .data import random_array

T = TypeVar("T")
MAX_INLINE_ELEMENTS = 16
"""Constants up to this size are inline dense attributes; larger ones become weights."""
Operands = Sequence[SSAValue | Sequence[SSAValue] | None]


class Choices(abc.ABC):
    """The choices a generator makes; `integer` is inclusive at both ends."""

    @abc.abstractmethod
    def integer(self, low: int, high: int) -> int: ...

    def choice(self, options: Sequence[T]) -> T:
        return options[self.integer(0, len(options) - 1)]

    def boolean(self) -> bool:
        return self.integer(0, 1) == 1

    def permutation(self, count: int) -> list[int]:
        rest = list(range(count))
        return [rest.pop(self.integer(0, len(rest) - 1)) for _ in range(count)]


class DrawnChoices(Choices):
    """Choices drawn by hypothesis: earlier options and smaller integers are simpler."""

    def __init__(self, draw: st.DrawFn):
        self.draw = draw

    def integer(self, low: int, high: int) -> int:
        return self.draw(st.integers(low, high))

    def choice(self, options: Sequence[T]) -> T:
        return self.draw(st.sampled_from(options))

    def boolean(self) -> bool:
        return self.draw(st.booleans())


class SeededChoices(Choices):
    def __init__(self, seed: int):
        self.random = random.Random(seed)

    def integer(self, low: int, high: int) -> int:
        return self.random.randint(low, high)


def is_float(value: SSAValue) -> bool:
    return bool(np.issubdtype(numpy_dtype_of(value), np.floating))


def has_dtype(value: SSAValue, dtype: np.dtype[Any]) -> bool:
    return numpy_dtype_of(value) == dtype


@dataclass
class Graph:
    """The body of `@main` under construction."""

    choices: Choices
    rng: np.random.Generator
    block: Block = field(default_factory=Block)
    inputs: list[TensorSpec] = field(default_factory=list[TensorSpec])
    weights: dict[str, np.ndarray] = field(default_factory=dict[str, np.ndarray])
    values: list[SSAValue] = field(default_factory=list[SSAValue])
    accumulations: int = 1
    float_to_int: bool = False
    """Whether a float is converted to an integer somewhere (inputs then stay ordinary: a
    large float has no integer value, and the executors may disagree on what it becomes)."""
    preferred: SSAValue | None = None
    """The value the next op should consume when it fits (chains of a directed motif)."""
    weight_prefix: str = ""
    """Prepended to weight names (functions of one module share its weight store)."""

    # -- values ------------------------------------------------------------------------------

    def new_input(self, dtype: np.dtype[Any], dims: Sequence[int]) -> SSAValue:
        argument = self.block.insert_arg(tensor_type(dtype, dims), len(self.block.args))
        self.inputs.append(TensorSpec(f"x{len(self.inputs)}", np.dtype(dtype), tuple(dims)))
        self.values.append(argument)
        return argument

    def new_weight(
        self,
        dtype: np.dtype[Any],
        dims: Sequence[int],
        positive: bool = False,
        array: np.ndarray | None = None,
    ) -> SSAValue:
        if array is None:
            array = self.array(dtype, dims, positive)
        name = f"{self.weight_prefix}w{len(self.weights)}"
        self.weights[name] = array
        op = WeightOp(name, tensor_type(np.dtype(dtype), dims))
        self.block.add_op(op)
        return op.output

    def new_constant(
        self, dtype: np.dtype[Any], dims: Sequence[int], array: np.ndarray | None = None
    ) -> SSAValue:
        if array is None:
            array = self.array(dtype, dims)
        if array.size > MAX_INLINE_ELEMENTS:  # large arrays are weights, never IR literals
            return self.new_weight(dtype, dims, array=array.astype(dtype))
        op = ConstantOp(
            attributes={"value": dense_from_numpy(array.astype(dtype))},
            result_types=[tensor_type(np.dtype(dtype), dims)],
        )
        self.block.add_op(op)
        return op.output

    def array(self, dtype: np.dtype[Any], dims: Sequence[int], positive: bool = False):
        """Ordinary values; `positive` ones are at least one half (or one, for integers)."""
        array = random_array(self.rng, np.dtype(dtype), dims)
        if positive:
            array = np.abs(array) + np.asarray(0.5 if is_float_dtype(dtype) else 1, dtype=dtype)
        return array

    def pick(
        self, dtype: np.dtype[Any], accept: Callable[[SSAValue], bool] = lambda _: True
    ) -> SSAValue | None:
        """An existing value of `dtype` that `accept`s (the preferred one when it does)."""
        preferred = self.preferred
        if preferred is not None and has_dtype(preferred, dtype) and accept(preferred):
            self.preferred = None
            return preferred
        candidates = [v for v in self.values if has_dtype(v, dtype) and accept(v)]
        if not candidates:
            return None
        # the newest values first, so that shrinking keeps chains rather than fan-outs
        return candidates[-1 - self.choices.integer(0, len(candidates) - 1)]

    def operand(
        self,
        dtype: np.dtype[Any],
        accept: Callable[[SSAValue], bool],
        fresh_dims: Callable[[Choices], Sequence[int]],
    ) -> SSAValue:
        """The preferred value when it fits; else an existing value that fits three times in
        four, or a new input of `fresh_dims` (so that an op always finds an operand, and its
        operands are often inputs, with their edge values)."""
        preferred = self.preferred
        existing = self.pick(dtype, accept)
        if existing is not None and (existing is preferred or self.choices.integer(0, 3) > 0):
            return existing
        return self.new_input(dtype, fresh_dims(self.choices))

    def partner(self, value: SSAValue, broadcast: bool = True) -> SSAValue:
        """A value of `value`'s dtype whose shape broadcasts with it (an existing value, a new
        weight, an inline constant or a new input)."""
        dims = shape_of(value)
        if broadcast and dims and self.choices.boolean():
            keep = self.choices.integer(0, len(dims))
            dims = tuple(1 if self.choices.boolean() else d for d in dims[len(dims) - keep :])
        same = [v for v in self.values if v is not value and v.type == _with_dims(value, dims)]
        kind = self.choices.choice(["input", "existing", "weight", "constant"])
        dtype = numpy_dtype_of(value)
        if kind == "existing" and same:
            return self.choices.choice(same)
        if kind == "constant" or (kind == "existing" and prod(dims) <= 4):
            return self.new_constant(dtype, dims)
        if kind == "weight":
            return self.new_weight(dtype, dims)
        return self.new_input(dtype, dims)

    # -- ops ---------------------------------------------------------------------------------

    def add(
        self,
        op_class: type[NnOperation],
        operands: Operands,
        attributes: dict[str, object] | None = None,
        accumulations: int = 0,
    ) -> SSAValue | None:
        """Appends the op with inferred result types; None when inference rejects it."""
        attrs: dict[str, Attribute] = {
            name: attribute_from_python(op_class.ATTRIBUTES[name].kind, value)
            for name, value in (attributes or {}).items()
        }
        grouped = [
            [] if o is None else [o] if isinstance(o, SSAValue) else list(o) for o in operands
        ]
        first = next(v for group in grouped for v in group)
        probe = op_class.build(operands=grouped, result_types=[first.type], attributes=attrs)
        try:
            inferred = probe.infer_result_types()
        except (VerifyException, ValueError):  # onnx rejects some attribute combinations
            inferred = [None]
        probe.erase()
        result_type = inferred[0]
        if result_type is None or 0 in shape_of(result_type):
            return None
        op = op_class.build(operands=grouped, result_types=[result_type], attributes=attrs)
        try:
            op.verify()
        except VerifyException:
            op.erase()
            return None
        self.block.add_op(op)
        self.accumulations += accumulations
        self.values.append(op.results[0])
        return op.results[0]


def is_float_dtype(dtype: np.dtype[Any]) -> bool:
    return bool(np.issubdtype(dtype, np.floating))


def _with_dims(value: SSAValue, dims: Sequence[int]) -> Attribute:
    assert isinstance(value.type, TensorType)
    return TensorType(value.type.element_type, list(dims))


def rank_between(low: int, high: int = 8) -> Callable[[SSAValue], bool]:
    return lambda v: low <= len(shape_of(v)) <= high
