"""Random vector-level programs: f32 buffers under the stage-3 `@main` ABI, computed in chunks
of 4, 8 or 16 lanes, in the shape of the code contraction-microkernel emits.

Each step writes every element of one buffer (a temporary, or for the last steps an output)
of shape (*outer, n): a loop nest over the outer dimensions, then an `scf.for` over the full
`width`-lane chunks of the innermost one, then the tail of n % width elements, either as one
masked chunk (`vector.maskedload` / `vector.maskedstore` with a constant prefix mask) or as a
scalar loop of memref.load/store. The value stored is one expression, emitted three ways (full
chunk, masked tail, scalar tail), over leaves:

- "row": a `vector.load` of a buffer whose shape is a suffix of the target's (the same
  shape, or a row broadcast over the outer dimensions);
- "splat": a `memref.load`ed scalar (at constant indices, or at the outer loop indices) and
  `vector.broadcast`;
- "constant": an f32 constant, broadcast;
- "lanes": a non-splat `arith.constant dense<[...]> : vector<Nxf32>` (full and masked chunks
  only: a scalar tail has no lane number);
- "dot": sum over k of A[outer, k] * B[k, chunk], an `scf.for` with a vector accumulator in
  `iter_args`, broadcast A, vector-loaded B and `vector.fma` (a micro-kernel's inner loop).

combined by `vector.fma` and `arith.addf/subf/mulf/divf/maximumf/minimumf` on vectors. A full
chunk may also overwrite a random subset of its lanes with a second value through a
`vector.maskedstore` with a non-prefix mask, which tells lane order apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from hypothesis import strategies as st

from ..runtime.abi import TensorSpec
from .data import Edges, random_array
from .levels import Program
from .loop_programs import Buffer, Loops, memref_type, program_text

WIDTHS = (4, 8, 16)
_BINARY = (
    "arith.addf",
    "arith.subf",
    "arith.mulf",
    "arith.divf",
    "arith.maximumf",
    "arith.minimumf",
)
_CONSTANTS = (0.5, -1.25, 2.0, 0.0, 3.0)


# -- expressions -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Leaf:
    kind: str  # "row", "splat", "constant", "lanes" or "dot"
    buffer: Buffer | None = None
    other: Buffer | None = None  # the B of a "dot"
    index: tuple[int | None, ...] = ()  # a splat's indices; None: that outer loop's index
    values: tuple[float, ...] = ()


@dataclass(frozen=True)
class Expression:
    leaves: tuple[Leaf, ...]
    ops: tuple[tuple[str, tuple[int, ...]], ...]
    """(op, operands): operands number the leaves, then the results of earlier ops."""


@dataclass
class Chunk:
    """Where an expression is emitted: the loop indices and how it accesses memory."""

    outer: list[str]
    column: str
    depth: int
    width: int = 1  # 1: the scalar form
    mask: str | None = None
    passthrough: str | None = None
    values: list[str] = field(default_factory=list[str])

    @property
    def vector_type(self) -> str:
        return f"vector<{self.width}xf32>"

    @property
    def type(self) -> str:
        return "f32" if self.width == 1 else self.vector_type


def _scalar_load(loops: Loops, buffer: Buffer, indices: list[str], depth: int) -> str:
    name = loops.fresh("x")
    where = f"{buffer.name}[{', '.join(indices)}]"
    loops.emit(f"{name} = memref.load {where} : {memref_type(buffer.shape, 'f32')}", depth)
    return name


def _vector_load(loops: Loops, chunk: Chunk, buffer: Buffer, indices: list[str]) -> str:
    """A vector (or, in the scalar form, a scalar) at `indices`, masked in a masked chunk."""
    if chunk.width == 1:
        return _scalar_load(loops, buffer, indices, chunk.depth)
    name = loops.fresh("v")
    where = f"{buffer.name}[{', '.join(indices)}]"
    memref = memref_type(buffer.shape, "f32")
    if chunk.mask is None:
        loops.emit(f"{name} = vector.load {where} : {memref}, {chunk.vector_type}", chunk.depth)
    else:
        types = f"{memref}, vector<{chunk.width}xi1>, {chunk.vector_type}"
        loops.emit(
            f"{name} = vector.maskedload {where}, {chunk.mask}, {chunk.passthrough} : "
            f"{types} into {chunk.vector_type}",
            chunk.depth,
        )
    return name


def _splat(loops: Loops, chunk: Chunk, scalar: str) -> str:
    if chunk.width == 1:
        return scalar
    name = loops.fresh("b")
    loops.emit(f"{name} = vector.broadcast {scalar} : f32 to {chunk.vector_type}", chunk.depth)
    return name


def _scalar_constant(loops: Loops, value: float, depth: int) -> str:
    name = loops.fresh("k")
    loops.emit(f"{name} = arith.constant {value!r} : f32", depth)
    return name


def _lanes_constant(loops: Loops, values: tuple[float, ...], depth: int) -> str:
    name = loops.fresh("d")
    lanes = ", ".join(repr(v) for v in values)
    loops.emit(f"{name} = arith.constant dense<[{lanes}]> : vector<{len(values)}xf32>", depth)
    return name


def _dot(loops: Loops, chunk: Chunk, lhs: Buffer, rhs: Buffer) -> str:
    """sum over k of lhs[outer, k] * rhs[k, column:column+width], from zero."""
    zero = _splat(loops, chunk, _scalar_constant(loops, 0.0, chunk.depth))
    result, acc, k = loops.fresh("r"), loops.fresh("acc"), loops.fresh("k")
    bounds = f"{loops.index(0)} to {loops.index(rhs.shape[0])} step {loops.index(1)}"
    loops.emit(
        f"{result} = scf.for {k} = {bounds} iter_args({acc} = {zero}) -> ({chunk.type}) {{",
        chunk.depth,
    )
    inner = Chunk(
        chunk.outer, chunk.column, chunk.depth + 1, chunk.width, chunk.mask, chunk.passthrough
    )
    outer = chunk.outer[len(chunk.outer) - (len(lhs.shape) - 1) :] if len(lhs.shape) > 1 else []
    scalar = _scalar_load(loops, lhs, [*outer, k], inner.depth)
    splat = _splat(loops, inner, scalar)
    row = _vector_load(loops, inner, rhs, [k, chunk.column])
    fused = loops.fresh("f")
    if chunk.width == 1:
        loops.emit(f"{fused} = math.fma {splat}, {row}, {acc} : f32", inner.depth)
    else:
        loops.emit(f"{fused} = vector.fma {splat}, {row}, {acc} : {chunk.type}", inner.depth)
    loops.emit(f"scf.yield {fused} : {chunk.type}", inner.depth)
    loops.emit("}", chunk.depth)
    return result


def _leaf(loops: Loops, chunk: Chunk, leaf: Leaf) -> str:
    if leaf.kind == "row":
        assert leaf.buffer is not None
        indices = [*chunk.outer, chunk.column][-len(leaf.buffer.shape) :]
        return _vector_load(loops, chunk, leaf.buffer, indices)
    if leaf.kind == "splat":
        assert leaf.buffer is not None
        outer = iter(chunk.outer)
        indices = [next(outer) if i is None else loops.index(i) for i in leaf.index]
        scalar = _scalar_load(loops, leaf.buffer, indices, chunk.depth)
        return _splat(loops, chunk, scalar)
    if leaf.kind == "constant":
        return _splat(loops, chunk, _scalar_constant(loops, leaf.values[0], chunk.depth))
    if leaf.kind == "lanes":
        return _lanes_constant(loops, leaf.values[: chunk.width], chunk.depth)
    assert leaf.buffer is not None and leaf.other is not None
    return _dot(loops, chunk, leaf.buffer, leaf.other)


def emit_expression(loops: Loops, chunk: Chunk, expression: Expression) -> str:
    values = [_leaf(loops, chunk, leaf) for leaf in expression.leaves]
    for op, operands in expression.ops:
        names = ", ".join(values[k] for k in operands)
        result = loops.fresh("e")
        if op == "fma" and chunk.width == 1:
            loops.emit(f"{result} = math.fma {names} : f32", chunk.depth)
        elif op == "fma":
            loops.emit(f"{result} = vector.fma {names} : {chunk.type}", chunk.depth)
        else:
            loops.emit(f"{result} = {op} {names} : {chunk.type}", chunk.depth)
        values.append(result)
    return values[-1]


# -- drawing expressions ---------------------------------------------------------------------


def _suffix(shape: tuple[int, ...], target: tuple[int, ...]) -> bool:
    return len(shape) <= len(target) and shape == target[len(target) - len(shape) :]


def _dot_pairs(loops: Loops, target: tuple[int, ...]) -> list[tuple[Buffer, Buffer]]:
    return [
        (lhs, rhs)
        for lhs in loops.buffers
        for rhs in loops.buffers
        if len(rhs.shape) == 2
        and rhs.shape == (lhs.shape[-1], target[-1])
        and _suffix(lhs.shape[:-1], target[:-1])
    ]


def _draw_leaf(loops: Loops, target: tuple[int, ...], scalar_tail: bool, width: int) -> Leaf:
    rows = [b for b in loops.buffers if _suffix(b.shape, target)]
    rows += [b for b in rows if b not in loops.inputs and b not in loops.weights]  # temporaries
    pairs = _dot_pairs(loops, target)
    kinds = ["splat", "constant"] + ["row"] * 2 * bool(rows) + ["dot"] * 2 * bool(pairs)
    kinds += [] if scalar_tail else ["lanes"]
    kind = loops.draw(st.sampled_from(kinds))
    if kind == "row":
        return Leaf("row", loops.draw(st.sampled_from(rows)))
    if kind == "dot":
        lhs, rhs = loops.draw(st.sampled_from(pairs))
        return Leaf("dot", lhs, rhs)
    if kind == "constant":
        return Leaf("constant", values=(loops.draw(st.sampled_from(_CONSTANTS)),))
    if kind == "lanes":
        values = loops.draw(st.lists(st.sampled_from(_CONSTANTS), min_size=width, max_size=width))
        return Leaf("lanes", values=tuple(values))
    source = loops.draw(st.sampled_from(loops.buffers))
    index = [loops.draw(st.integers(0, d - 1)) for d in source.shape]
    rank = len(source.shape)
    if rank > 1 and source.shape[:-1] == target[:-1] and loops.draw(st.booleans()):
        return Leaf("splat", source, index=(*[None] * (rank - 1), index[-1]))
    return Leaf("splat", source, index=tuple(index))


def _draw_expression(
    loops: Loops, target: tuple[int, ...], scalar_tail: bool, width: int
) -> Expression:
    leaves = [
        _draw_leaf(loops, target, scalar_tail, width) for _ in range(loops.draw(st.integers(1, 3)))
    ]
    ops: list[tuple[str, tuple[int, ...]]] = []
    unused = list(range(1, len(leaves)))  # each leaf is combined in, then any value
    count = len(leaves)
    for _ in range(loops.draw(st.integers(len(unused), len(unused) + 2))):
        op = loops.draw(st.sampled_from([*_BINARY, "fma", "fma"]))
        arity = 3 if op == "fma" else 2
        others = [
            unused.pop(0) if unused else loops.draw(st.integers(0, count - 1))
            for _ in range(arity - 1)
        ]
        chosen = (count - 1, *others)
        ops.append((op, chosen[::-1] if loops.draw(st.booleans()) else chosen))
        count += 1
    return Expression(tuple(leaves), tuple(ops))


def _reductions(expression: Expression) -> int:
    return sum(leaf.other.shape[0] for leaf in expression.leaves if leaf.other is not None)


# -- steps -----------------------------------------------------------------------------------


def _mask(loops: Loops, lanes: list[bool], depth: int) -> str:
    name = loops.fresh("m")
    values = ", ".join("true" if lane else "false" for lane in lanes)
    loops.emit(f"{name} = arith.constant dense<[{values}]> : vector<{len(lanes)}xi1>", depth)
    return name


def _store(loops: Loops, chunk: Chunk, value: str, target: Buffer, mask: str | None) -> None:
    where = f"{target.name}[{', '.join([*chunk.outer, chunk.column])}]"
    memref = memref_type(target.shape, "f32")
    if chunk.width == 1:
        loops.emit(f"memref.store {value}, {where} : {memref}", chunk.depth)
    elif mask is None:
        loops.emit(f"vector.store {value}, {where} : {memref}, {chunk.vector_type}", chunk.depth)
    else:
        types = f"{memref}, vector<{chunk.width}xi1>, {chunk.vector_type}"
        loops.emit(f"vector.maskedstore {where}, {mask}, {value} : {types}", chunk.depth)


def _overlay(loops: Loops, chunk: Chunk, value: str, target: Buffer, lanes: list[bool]) -> None:
    """Overwrites a random subset of `lanes` with a second value, through a masked store."""
    if not loops.draw(st.booleans()):
        return
    subset = [lane and loops.draw(st.booleans()) for lane in lanes]
    mask = _mask(loops, subset, chunk.depth)
    constant = _splat(loops, chunk, _scalar_constant(loops, -2.5, chunk.depth))
    second = loops.fresh("o")
    op = loops.draw(st.sampled_from(_BINARY))
    loops.emit(f"{second} = {op} {value}, {constant} : {chunk.vector_type}", chunk.depth)
    _store(loops, chunk, second, target, mask)


def _vector_step(loops: Loops, target: Buffer) -> int:
    """Writes every element of `target`; returns the reduction length it sums over."""
    *outer_shape, extent = target.shape
    width = loops.draw(st.sampled_from(WIDTHS))
    full, rest = extent - extent % width, extent % width
    scalar_tail = rest > 0 and loops.draw(st.booleans())
    expression = _draw_expression(loops, target.shape, scalar_tail, width)
    tail_lanes = [lane < rest for lane in range(width)]
    tail_mask = _mask(loops, tail_lanes, 0) if rest and not scalar_tail else None
    outer: list[str] = []
    for depth, size in enumerate(outer_shape):
        iv = loops.fresh("i")
        outer.append(iv)
        bounds = f"{loops.index(0)} to {loops.index(size)} step {loops.index(1)}"
        loops.emit(f"scf.for {iv} = {bounds} {{", depth)
    depth = len(outer_shape)
    if full:
        column = loops.fresh("j")
        bounds = f"{loops.index(0)} to {loops.index(full)} step {loops.index(width)}"
        loops.emit(f"scf.for {column} = {bounds} {{", depth)
        chunk = Chunk(outer, column, depth + 1, width)
        value = emit_expression(loops, chunk, expression)
        _store(loops, chunk, value, target, None)
        _overlay(loops, chunk, value, target, [True] * width)
        loops.emit("}", depth)
    if rest and scalar_tail:
        column = loops.fresh("j")
        bounds = f"{loops.index(full)} to {loops.index(extent)} step {loops.index(1)}"
        loops.emit(f"scf.for {column} = {bounds} {{", depth)
        chunk = Chunk(outer, column, depth + 1)
        _store(loops, chunk, emit_expression(loops, chunk, expression), target, None)
        loops.emit("}", depth)
    elif rest:
        chunk = Chunk(outer, loops.index(full), depth, width, tail_mask)
        fill = loops.draw(st.lists(st.sampled_from(_CONSTANTS), min_size=width, max_size=width))
        chunk.passthrough = _lanes_constant(loops, tuple(fill), depth)
        value = emit_expression(loops, chunk, expression)
        _store(loops, chunk, value, target, tail_mask)
        _overlay(loops, chunk, value, target, tail_lanes)
    for level in reversed(range(len(outer_shape))):
        loops.emit("}", level)
    return _reductions(expression)


def _target_shapes(loops: Loops) -> list[tuple[int, ...]]:
    """Shapes a step can write: a buffer's, or the result of a product of two buffers."""
    shapes = [b.shape for b in loops.buffers]
    for lhs in loops.buffers:
        shapes += [
            (*lhs.shape[:-1], rhs.shape[1])
            for rhs in loops.buffers
            if len(rhs.shape) == 2 and rhs.shape[0] == lhs.shape[-1]
        ]
    return shapes


@st.composite
def vector_programs(draw: st.DrawFn) -> Program:
    """A random vector-level program: one or two inputs, maybe a weight, one or two outputs,
    up to three temporaries; shapes share dimensions (M rows, K reduced, N columns) so that
    rows broadcast and products fit."""
    loops = Loops(draw, "f32", placement=draw(st.sampled_from(["view", "alloc", "mixed"])))
    rows, reduced = draw(st.integers(1, 3)), draw(st.integers(1, 6))
    columns = draw(st.sampled_from([1, 3, 4, 5, 8, 12, 16, 17, 20, 24, 31, 32, 33]))
    shapes = st.sampled_from(
        [(columns,), (rows, columns), (rows, reduced), (reduced, columns), (reduced,)]
    )
    if draw(st.booleans()):  # a product: A (rows x reduced, or a vector) and a weight B
        loops.inputs.append(Buffer("%in0", draw(st.sampled_from([(rows, reduced), (reduced,)]))))
        loops.weights.append(Buffer("%w0", (reduced, columns)))
    else:
        loops.inputs.append(Buffer("%in0", draw(shapes)))
    if draw(st.booleans()):
        loops.inputs.append(Buffer("%in1", draw(shapes)))
    if not loops.weights and draw(st.booleans()):
        loops.weights.append(Buffer("%w0", draw(shapes)))
    loops.buffers += [*loops.inputs, *loops.weights]
    accumulations = 1
    for _ in range(draw(st.integers(0, 3))):
        target = loops.temporary(draw(st.sampled_from(_target_shapes(loops))))
        loops.buffers.remove(target)  # not read while it is being written
        accumulations += _vector_step(loops, target)
        loops.buffers.append(target)
    for number in range(draw(st.integers(1, 2))):
        output = Buffer(f"%out{number}", draw(st.sampled_from(_target_shapes(loops))))
        loops.outputs.append(output)
        accumulations += _vector_step(loops, output)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    dtype = np.dtype(np.float32)
    weights = {f"w{k}": random_array(rng, dtype, w.shape) for k, w in enumerate(loops.weights)}
    specs = tuple(TensorSpec(b.name[1:], dtype, b.shape) for b in loops.inputs)
    return Program(program_text(loops), specs, "vector", weights, Edges.FINITE, accumulations)
