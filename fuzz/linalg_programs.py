"""Random stage-2 programs (docs/pipeline.md): linalg on tensors.

A program grows from one or two inputs a step at a time; each step adds one value: an
elementwise `linalg.generic` (arith and math bodies; its first operand read through a
permutation map, its second through an identity or a broadcast map), a reduction generic over
one dimension into a filled init, a `linalg.fill`, a `linalg.matmul` with an `nn.weight`, a
`tensor.collapse_shape` or `expand_shape`, a strided `tensor.extract_slice`, or a
`tensor.insert_slice` into a larger value. One or two values are returned, an input unchanged
among them at times. Element types are f32 or i32, one per program.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import permutations
from math import prod

import numpy as np
from hypothesis import strategies as st

from ..runtime.abi import TensorSpec
from .data import Edges, random_array
from .levels import Program

_FLOAT_BINARY = ("arith.addf", "arith.subf", "arith.mulf", "arith.maximumf", "arith.minimumf")
_FLOAT_UNARY = ("arith.negf", "math.absf", "math.tanh", "math.exp")
_INT_BINARY = ("arith.addi", "arith.subi", "arith.muli", "arith.maxsi", "arith.minsi")


def tensor_type(shape: tuple[int, ...], element: str) -> str:
    return f"tensor<{'x'.join(str(d) for d in shape)}x{element}>"


def affine_map(rank: int, results: list[int]) -> str:
    dims = ", ".join(f"d{k}" for k in range(rank))
    return f"affine_map<({dims}) -> ({', '.join(f'd{k}' for k in results)})>"


@dataclass(frozen=True)
class Value:
    name: str
    shape: tuple[int, ...]


@dataclass
class _Tensors:
    draw: st.DrawFn
    element: str
    lines: list[str] = field(default_factory=list[str])
    values: list[Value] = field(default_factory=list[Value])
    inputs: list[Value] = field(default_factory=list[Value])
    weights: dict[str, tuple[int, ...]] = field(default_factory=dict[str, tuple[int, ...]])
    counter: int = 0

    @property
    def is_float(self) -> bool:
        return self.element == "f32"

    def fresh(self, prefix: str = "v") -> str:
        self.counter += 1
        return f"%{prefix}{self.counter}"

    def add(self, name: str, shape: tuple[int, ...]) -> Value:
        value = Value(name, shape)
        self.values.append(value)
        return value

    def type(self, shape: tuple[int, ...]) -> str:
        return tensor_type(shape, self.element)

    def constant(self, indent: str = "  ") -> str:
        name = self.fresh("k")
        if self.is_float:
            number = self.draw(st.sampled_from([0.0, 1.0, -0.5, 2.5]))
            self.lines.append(f"{indent}{name} = arith.constant {number!r} : f32")
        else:
            self.lines.append(
                f"{indent}{name} = arith.constant {self.draw(st.integers(-3, 3))} : i32"
            )
        return name

    def filled(self, shape: tuple[int, ...]) -> str:
        empty, filled = self.fresh("e"), self.fresh("f")
        value = self.constant()
        self.lines.append(f"  {empty} = tensor.empty() : {self.type(shape)}")
        self.lines.append(
            f"  {filled} = linalg.fill ins({value} : {self.element}) outs({empty} : "
            f"{self.type(shape)}) -> {self.type(shape)}"
        )
        return filled

    def pick(self, rank_at_least: int = 1) -> Value | None:
        candidates = [v for v in self.values if len(v.shape) >= rank_at_least]
        return self.draw(st.sampled_from(candidates)) if candidates else None


def _binary_line(tensors: _Tensors, result: str, lhs: str, rhs: str) -> list[str]:
    element = tensors.element
    ops = _FLOAT_BINARY if tensors.is_float else _INT_BINARY
    return [f"    {result} = {tensors.draw(st.sampled_from(ops))} {lhs}, {rhs} : {element}"]


def _generic(tensors: _Tensors, maps: list[str], iterators: list[str], operands: list[Value]):
    """The opening lines of a linalg.generic over `operands` and an init (last in maps)."""
    names = ", ".join(v.name for v in operands)
    types = ", ".join(tensors.type(v.shape) for v in operands)
    quoted = ", ".join(f'"{i}"' for i in iterators)
    attributes = f"indexing_maps = [{', '.join(maps)}], iterator_types = [{quoted}]"
    return f"{{{attributes}}} ins({names} : {types})"


# -- steps -----------------------------------------------------------------------------------


def _elementwise(tensors: _Tensors) -> None:
    first = tensors.pick()
    assert first is not None
    rank = len(first.shape)
    order = tensors.draw(st.sampled_from(list(permutations(range(rank)))))
    shape = tuple(first.shape[k] for k in order)  # the loops run over the result's dims
    inverse = [order.index(k) for k in range(rank)]
    maps = [affine_map(rank, inverse)]
    operands = [first]
    partners = [
        v
        for v in tensors.values
        if len(v.shape) <= rank and v.shape == shape[rank - len(v.shape) :]
    ]
    if partners and tensors.draw(st.booleans()):
        partner = tensors.draw(st.sampled_from(partners))
        operands.append(partner)
        maps.append(affine_map(rank, list(range(rank - len(partner.shape), rank))))
    maps.append(affine_map(rank, list(range(rank))))
    element = tensors.element
    empty, result = tensors.fresh("e"), tensors.fresh()
    arguments = ", ".join(f"%a{k}: {element}" for k in range(len(operands)))
    tensors.lines += [
        f"  {empty} = tensor.empty() : {tensors.type(shape)}",
        f"  {result} = linalg.generic {_generic(tensors, maps, ['parallel'] * rank, operands)} "
        f"outs({empty} : {tensors.type(shape)}) {{",
        f"  ^bb0({arguments}, %o: {element}):",
    ]
    value = "%a0"
    if len(operands) == 2:
        tensors.lines += _binary_line(tensors, "%b", "%a0", "%a1")
        value = "%b"
    if tensors.is_float and (len(operands) == 1 or tensors.draw(st.booleans())):
        tensors.lines.append(
            f"    %u = {tensors.draw(st.sampled_from(_FLOAT_UNARY))} {value} : f32"
        )
        value = "%u"
    if value == "%a0":  # an integer copy: add the operand to itself
        tensors.lines += _binary_line(tensors, "%b", "%a0", "%a0")
        value = "%b"
    tensors.lines += [f"    linalg.yield {value} : {element}", f"  }} -> {tensors.type(shape)}"]
    tensors.add(result, shape)


def _reduction(tensors: _Tensors) -> None:
    source = tensors.pick(2)
    if source is None:
        return _elementwise(tensors)
    rank = len(source.shape)
    axis = tensors.draw(st.integers(0, rank - 1))
    kept = [k for k in range(rank) if k != axis]
    shape = tuple(source.shape[k] for k in kept)
    init = tensors.filled(shape)
    maps = [affine_map(rank, list(range(rank))), affine_map(rank, kept)]
    iterators = ["reduction" if k == axis else "parallel" for k in range(rank)]
    result, element = tensors.fresh(), tensors.element
    tensors.lines += [
        f"  {result} = linalg.generic {_generic(tensors, maps, iterators, [source])} "
        f"outs({init} : {tensors.type(shape)}) {{",
        f"  ^bb0(%x: {element}, %acc: {element}):",
        *_binary_line(tensors, "%r", "%acc", "%x"),
        f"    linalg.yield %r : {element}",
        f"  }} -> {tensors.type(shape)}",
    ]
    tensors.add(result, shape)


def _fill(tensors: _Tensors) -> None:
    source = tensors.pick()
    assert source is not None
    tensors.add(tensors.filled(source.shape), source.shape)


def _matmul(tensors: _Tensors) -> None:
    lhs = next((v for v in reversed(tensors.values) if len(v.shape) == 2), None)
    if lhs is None:
        return _fill(tensors)
    rows, inner = lhs.shape
    columns = tensors.draw(st.integers(1, 4))
    weight_name = f"w{len(tensors.weights)}"
    tensors.weights[weight_name] = (inner, columns)
    weight, result, shape = tensors.fresh("w"), tensors.fresh(), (rows, columns)
    init = tensors.filled(shape)
    tensors.lines += [
        f'  {weight} = nn.weight "{weight_name}" : {tensors.type((inner, columns))}',
        f"  {result} = linalg.matmul ins({lhs.name}, {weight} : {tensors.type(lhs.shape)}, "
        f"{tensors.type((inner, columns))}) outs({init} : {tensors.type(shape)}) -> "
        f"{tensors.type(shape)}",
    ]
    tensors.add(result, shape)


def _reshape(tensors: _Tensors) -> None:
    source = tensors.pick()
    assert source is not None
    result = tensors.fresh()
    if len(source.shape) >= 2:
        shape = (*source.shape[:-2], source.shape[-2] * source.shape[-1])
        groups = [[k] for k in range(len(source.shape) - 2)] + [[len(shape) - 1, len(shape)]]
        tensors.lines.append(
            f"  {result} = tensor.collapse_shape {source.name} {groups} : "
            f"{tensors.type(source.shape)} into {tensors.type(shape)}"
        )
        tensors.add(result, shape)
        return
    size = prod(source.shape)  # rank 1 here
    factor = tensors.draw(st.sampled_from([f for f in range(1, size + 1) if size % f == 0]))
    shape = (factor, size // factor)
    tensors.lines.append(
        f"  {result} = tensor.expand_shape {source.name} [[0, 1]] output_shape "
        f"[{factor}, {size // factor}] : {tensors.type(source.shape)} into {tensors.type(shape)}"
    )
    tensors.add(result, shape)


def _extract_slice(tensors: _Tensors) -> None:
    source = tensors.pick()
    assert source is not None
    offsets = [tensors.draw(st.integers(0, d - 1)) for d in source.shape]
    steps = [tensors.draw(st.integers(1, 2)) for _ in source.shape]
    sizes = [
        tensors.draw(st.integers(1, (d - o - 1) // s + 1))
        for d, o, s in zip(source.shape, offsets, steps, strict=True)
    ]
    result, shape = tensors.fresh(), tuple(sizes)
    tensors.lines.append(
        f"  {result} = tensor.extract_slice {source.name}{offsets} {sizes} {steps} : "
        f"{tensors.type(source.shape)} to {tensors.type(shape)}"
    )
    tensors.add(result, shape)


def _insert_slice(tensors: _Tensors) -> None:
    source = tensors.pick()
    assert source is not None
    destinations = [
        v
        for v in tensors.values
        if len(v.shape) == len(source.shape)
        and all(d >= s for d, s in zip(v.shape, source.shape, strict=True))
    ]
    destination = tensors.draw(st.sampled_from(destinations))  # the source itself fits
    room = zip(destination.shape, source.shape, strict=True)
    offsets = [tensors.draw(st.integers(0, d - s)) for d, s in room]
    sizes, ones = list(source.shape), [1] * len(source.shape)
    result = tensors.fresh()
    tensors.lines.append(
        f"  {result} = tensor.insert_slice {source.name} into {destination.name}{offsets} "
        f"{sizes} {ones} : {tensors.type(source.shape)} into {tensors.type(destination.shape)}"
    )
    tensors.add(result, destination.shape)


_STEPS = (_elementwise, _reduction, _matmul, _reshape, _extract_slice, _insert_slice, _fill)


@st.composite
def linalg_programs(draw: st.DrawFn) -> Program:
    """A random stage-2 program: one or two inputs, one to five steps, one or two results."""
    element = draw(st.sampled_from(["f32", "f32", "i32"]))
    tensors = _Tensors(draw, element)
    shapes = st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple)
    for number in range(draw(st.integers(1, 2))):
        tensors.inputs.append(tensors.add(f"%in{number}", draw(shapes)))
    for _ in range(draw(st.integers(1, 5))):
        draw(st.sampled_from(_STEPS))(tensors)
    results = [tensors.values[-1]]
    if draw(st.booleans()):
        results.append(draw(st.sampled_from(tensors.values)))
    arguments = ", ".join(f"{v.name}: {tensors.type(v.shape)}" for v in tensors.inputs)
    result_types = ", ".join(tensors.type(v.shape) for v in results)
    text = "\n".join(
        [
            f"func.func @main({arguments}) -> ({result_types}) {{",
            *tensors.lines,
            f"  func.return {', '.join(v.name for v in results)} : {result_types}",
            "}",
        ]
    )
    dtype = np.dtype(np.float32 if tensors.is_float else np.int32)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    weights = {name: random_array(rng, dtype, shape) for name, shape in tensors.weights.items()}
    specs = tuple(TensorSpec(v.name[1:], dtype, v.shape) for v in tensors.inputs)
    return Program(text, specs, "linalg", weights, Edges.FINITE)
