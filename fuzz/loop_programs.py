"""Random stage-4 programs (docs/pipeline.md): scf.for nests with memref.load/store and
arith/math bodies, under the stage-3 `@main` ABI (inputs, outputs, weights, workspace).

A program is a few steps, each writing every element of one buffer: a temporary (a
`memref.view` of the workspace at a 64-byte aligned offset, or a `memref.alloc`) or, for the
last steps, an output. A step is an elementwise map (identity, transposed or broadcast reads of
earlier buffers, expressions of arith and math ops, loop indices cast to numbers; the innermost
loop sometimes split at a point, or walked in two strided passes), a reduction over the last
dimension (`scf.for` with `iter_args`), or a copy (`memref.copy`, contiguous or out of a
strided `memref.subview`). Element types are f32 or i32, one per program.

@main also carries `terrace.output_types`, the memref types of its outputs: once the llvm
lowering has turned the signature into pointers, the native executor still needs them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import prod

import numpy as np
from hypothesis import strategies as st

from ..runtime.abi import TensorSpec
from .data import Edges, random_array
from .levels import Program

ALIGNMENT = 64

_FLOAT_BINARY = ("arith.addf", "arith.subf", "arith.mulf", "arith.maximumf", "arith.minimumf")
_FLOAT_UNARY = ("arith.negf", "math.absf", "math.tanh", "math.exp", "safe-sqrt")
_INT_BINARY = ("arith.addi", "arith.subi", "arith.muli", "arith.maxsi", "arith.minsi")


def memref_type(shape: tuple[int, ...], element: str) -> str:
    return f"memref<{'x'.join(str(d) for d in shape)}x{element}>"


def contiguous_strides(shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(prod(shape[k + 1 :]) for k in range(len(shape)))


@dataclass(frozen=True)
class Buffer:
    name: str
    shape: tuple[int, ...]


@dataclass
class Loops:
    """The program under construction: lines of @main's body, buffers, constants."""

    draw: st.DrawFn
    element: str
    body: list[str] = field(default_factory=list[str])
    buffers: list[Buffer] = field(default_factory=list[Buffer])
    inputs: list[Buffer] = field(default_factory=list[Buffer])
    weights: list[Buffer] = field(default_factory=list[Buffer])
    outputs: list[Buffer] = field(default_factory=list[Buffer])
    products: list[Buffer] = field(default_factory=list[Buffer])
    """The results of matmul generics (memref programs), in order."""
    index_constants: set[int] = field(default_factory=set[int])
    workspace_bytes: int = 0
    counter: int = 0
    placement: str = "mixed"
    """Where temporaries go: "alloc", "view" (of the workspace) or "mixed" (drawn each time)."""

    @property
    def is_float(self) -> bool:
        return self.element == "f32"

    def fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"%{prefix}{self.counter}"

    def index(self, value: int) -> str:
        self.index_constants.add(value)
        return f"%c{value}"

    def emit(self, line: str, depth: int) -> None:
        self.body.append("  " * (depth + 1) + line)

    def temporary(self, shape: tuple[int, ...]) -> Buffer:
        """A new buffer for intermediate values: a view of the workspace, or an allocation."""
        name = self.fresh("t")
        type_text = memref_type(shape, self.element)
        use_alloc = self.placement == "alloc"
        if self.placement == "mixed":
            use_alloc = self.draw(st.booleans())
        if use_alloc:
            self.emit(f"{name} = memref.alloc() : {type_text}", 0)
        else:
            offset = self.workspace_bytes
            self.workspace_bytes += -(-prod(shape) * 4 // ALIGNMENT) * ALIGNMENT
            shift = self.index(offset)
            self.emit(f"{name} = memref.view %ws[{shift}][] : memref<WSxi8> to {type_text}", 0)
        buffer = Buffer(name, shape)
        self.buffers.append(buffer)
        return buffer

    def constant(self, depth: int) -> str:
        name = self.fresh("k")
        if self.is_float:
            value = self.draw(st.sampled_from([0.5, -1.25, 2.0, 0.0]))
            self.emit(f"{name} = arith.constant {value!r} : f32", depth)
        else:
            value = self.draw(st.integers(-4, 4))
            self.emit(f"{name} = arith.constant {value} : i32", depth)
        return name


def _shapes() -> st.SearchStrategy[tuple[int, ...]]:
    return st.lists(st.integers(1, 5), min_size=1, max_size=3).map(tuple)


# -- loop nests ------------------------------------------------------------------------------


def _nest_open(loops: Loops, shape: tuple[int, ...], ivs: list[str]) -> int:
    """Opens one scf.for per dimension but the innermost; returns the depth inside them."""
    for depth, extent in enumerate(shape[:-1]):
        iv = loops.fresh("i")
        ivs.append(iv)
        zero, one = loops.index(0), loops.index(1)
        loops.emit(f"scf.for {iv} = {zero} to {loops.index(extent)} step {one} {{", depth)
    return len(shape) - 1


def _nest_close(loops: Loops, depth: int) -> None:
    for level in reversed(range(depth)):
        loops.emit("}", level)


def _innermost_ranges(loops: Loops, extent: int) -> list[tuple[int, int, int]]:
    """(lower, upper, step) of the loops that together visit 0..extent-1 once each."""
    form = loops.draw(st.sampled_from(["plain", "plain", "split", "strided"]))
    if form == "split" and extent > 1:
        middle = loops.draw(st.integers(1, extent - 1))
        return [(0, middle, 1), (middle, extent, 1)]
    if form == "strided" and extent > 1:
        return [(0, extent, 2), (1, extent, 2)]
    return [(0, extent, 1)]


# -- expressions -----------------------------------------------------------------------------


def _read(loops: Loops, source: Buffer, ivs: list[str], shape: tuple[int, ...], depth: int):
    """A load of `source` at the loop indices of `shape`: identity, reversed (a transpose)
    or the trailing indices (a broadcast)."""
    if source.shape == shape:
        indices = ivs
    elif source.shape == shape[::-1]:
        indices = ivs[::-1]
    else:
        indices = ivs[len(shape) - len(source.shape) :]
    name = loops.fresh("x")
    type_text = memref_type(source.shape, loops.element)
    loops.emit(f"{name} = memref.load {source.name}[{', '.join(indices)}] : {type_text}", depth)
    return name


def _readable(source: Buffer, shape: tuple[int, ...]) -> bool:
    broadcast = (
        len(source.shape) <= len(shape) and source.shape == shape[len(shape) - len(source.shape) :]
    )
    return broadcast or source.shape == shape[::-1]


def _index_value(loops: Loops, iv: str, depth: int) -> str:
    """A loop index as a number of the element type (index_cast, then sitofp for floats)."""
    as_int = loops.fresh("n")
    loops.emit(f"{as_int} = arith.index_cast {iv} : index to i32", depth)
    if not loops.is_float:
        return as_int
    as_float = loops.fresh("n")
    loops.emit(f"{as_float} = arith.sitofp {as_int} : i32 to f32", depth)
    return as_float


def _combine(loops: Loops, lhs: str, rhs: str, depth: int) -> str:
    result = loops.fresh("v")
    if not loops.is_float:
        op = loops.draw(st.sampled_from([*_INT_BINARY, "select"]))
        if op == "select":
            flag = loops.fresh("p")
            loops.emit(f"{flag} = arith.cmpi slt, {lhs}, {rhs} : i32", depth)
            loops.emit(f"{result} = arith.select {flag}, {lhs}, {rhs} : i32", depth)
            return result
        loops.emit(f"{result} = {op} {lhs}, {rhs} : i32", depth)
        return result
    op = loops.draw(st.sampled_from([*_FLOAT_BINARY, "select"]))
    if op == "select":
        flag = loops.fresh("p")
        loops.emit(f"{flag} = arith.cmpf ogt, {lhs}, {rhs} : f32", depth)
        loops.emit(f"{result} = arith.select {flag}, {rhs}, {lhs} : f32", depth)
        return result
    loops.emit(f"{result} = {op} {lhs}, {rhs} : f32", depth)
    return result


def _unary(loops: Loops, operand: str, depth: int) -> str:
    op = loops.draw(st.sampled_from(_FLOAT_UNARY))
    result = loops.fresh("u")
    if op == "safe-sqrt":  # sqrt of |x|: no NaN from negative inputs
        absolute = loops.fresh("u")
        loops.emit(f"{absolute} = math.absf {operand} : f32", depth)
        loops.emit(f"{result} = math.sqrt {absolute} : f32", depth)
        return result
    loops.emit(f"{result} = {op} {operand} : f32", depth)
    return result


def _expression(loops: Loops, leaves: list[str], depth: int) -> str:
    value = leaves[0]
    for leaf in leaves[1:]:
        value = _combine(loops, value, leaf, depth)
    if loops.is_float and loops.draw(st.booleans()):
        value = _unary(loops, value, depth)
    return value


# -- steps -----------------------------------------------------------------------------------


def _map(loops: Loops, target: Buffer | None) -> Buffer:
    """target[ivs] = f(reads of earlier buffers, an index, a constant)."""
    first = loops.draw(st.sampled_from(loops.buffers))
    shape = first.shape
    if len(shape) == 2 and loops.draw(st.booleans()):
        shape = shape[::-1]
    destination = target if target is not None else loops.temporary(shape)
    shape = destination.shape
    readable = [b for b in loops.buffers if _readable(b, shape) and b != destination]
    sources = loops.draw(st.lists(st.sampled_from(readable), min_size=1, max_size=2))
    ivs: list[str] = []
    depth = _nest_open(loops, shape, ivs)
    extras = loops.draw(st.sampled_from(["none", "constant", "index"]))
    for lower, upper, step in _innermost_ranges(loops, shape[-1]):
        iv = loops.fresh("i")
        bounds = f"{loops.index(lower)} to {loops.index(upper)} step {loops.index(step)}"
        loops.emit(f"scf.for {iv} = {bounds} {{", depth)
        all_ivs = [*ivs, iv]
        leaves = [_read(loops, source, all_ivs, shape, depth + 1) for source in sources]
        if extras == "constant":
            leaves.append(loops.constant(depth + 1))
        if extras == "index":
            leaves.append(_index_value(loops, all_ivs[-1], depth + 1))
        value = _expression(loops, leaves, depth + 1)
        type_text = memref_type(shape, loops.element)
        indices = ", ".join(all_ivs)
        loops.emit(f"memref.store {value}, {destination.name}[{indices}] : {type_text}", depth + 1)
        loops.emit("}", depth)
    _nest_close(loops, depth)
    return destination


def _reduce(loops: Loops, target: Buffer | None) -> Buffer | None:
    """target[outer] = fold over the last dimension of a source, through iter_args."""
    sources = [b for b in loops.buffers if len(b.shape) >= 2 or target is None]
    if target is not None:
        sources = [b for b in sources if b.shape[:-1] == target.shape]
    if not sources:
        return None
    source = loops.draw(st.sampled_from(sources))
    shape: tuple[int, ...] = source.shape[:-1] if len(source.shape) > 1 else (1,)
    destination = target if target is not None else loops.temporary(shape)
    last = prod(source.shape[-1:])  # the reduced extent
    ivs: list[str] = []
    depth = _nest_open(loops, (*shape, 1), ivs)  # one loop per kept dimension
    if len(source.shape) == 1:
        ivs = []
    init = loops.constant(depth)
    accumulator, result, iv = loops.fresh("acc"), loops.fresh("r"), loops.fresh("i")
    element = loops.element
    extent = loops.index(last)
    loops.emit(
        f"{result} = scf.for {iv} = {loops.index(0)} to {extent} step {loops.index(1)} "
        f"iter_args({accumulator} = {init}) -> ({element}) {{",
        depth,
    )
    loaded = _read(loops, source, [*ivs, iv], source.shape, depth + 1)
    combined = _combine(loops, accumulator, loaded, depth + 1)
    loops.emit(f"scf.yield {combined} : {element}", depth + 1)
    loops.emit("}", depth)
    indices = ", ".join(ivs) if ivs else loops.index(0)
    type_text = memref_type(destination.shape, element)
    loops.emit(f"memref.store {result}, {destination.name}[{indices}] : {type_text}", depth)
    _nest_close(loops, depth)
    return destination


def _copy_line(source: str, target: str, source_type: str, target_type: str) -> str:
    # memref.copy has no custom assembly format in xDSL 0.74
    return f'"memref.copy"({source}, {target}) : ({source_type}, {target_type}) -> ()'


def copy_step(loops: Loops) -> Buffer:
    """A contiguous copy of a buffer, or a copy out of a strided subview of it."""
    source = loops.draw(st.sampled_from(loops.buffers))
    element = loops.element
    if not loops.draw(st.booleans()):
        destination = loops.temporary(source.shape)
        type_text = memref_type(source.shape, element)
        loops.emit(_copy_line(source.name, destination.name, type_text, type_text), 0)
        return destination
    offsets = [loops.draw(st.integers(0, d - 1)) for d in source.shape]
    steps = [loops.draw(st.integers(1, 2)) for _ in source.shape]
    sizes = [
        loops.draw(st.integers(1, (d - o - 1) // s + 1))
        for d, o, s in zip(source.shape, offsets, steps, strict=True)
    ]
    base = contiguous_strides(source.shape)
    strides = [b * s for b, s in zip(base, steps, strict=True)]
    offset = sum(o * b for o, b in zip(offsets, base, strict=True))
    shape = tuple(sizes)
    layout = f"strided<[{', '.join(str(s) for s in strides)}], offset: {offset}>"
    view_type = f"memref<{'x'.join(str(d) for d in shape)}x{element}, {layout}>"
    view = loops.fresh("s")
    loops.emit(
        f"{view} = memref.subview {source.name}{offsets}{sizes}{steps} : "
        f"{memref_type(source.shape, element)} to {view_type}",
        0,
    )
    destination = loops.temporary(shape)
    loops.emit(_copy_line(view, destination.name, view_type, memref_type(shape, element)), 0)
    return destination


# -- the program -----------------------------------------------------------------------------


def program_text(loops: Loops) -> str:
    element = loops.element
    arguments = [
        *(f"{b.name}: {memref_type(b.shape, element)}" for b in loops.inputs),
        *(f"{b.name}: {memref_type(b.shape, element)}" for b in loops.outputs),
        *(f"{b.name}: {memref_type(b.shape, element)}" for b in loops.weights),
        f"%ws: memref<{max(loops.workspace_bytes, ALIGNMENT)}xi8>",
    ]
    names = ", ".join(f'"w{k}"' for k in range(len(loops.weights)))
    output_types = ", ".join(memref_type(b.shape, element) for b in loops.outputs)
    attributes = (
        f"terrace.num_inputs = {len(loops.inputs)} : i64, "
        f"terrace.num_outputs = {len(loops.outputs)} : i64, terrace.weights = [{names}], "
        f"terrace.workspace_bytes = {max(loops.workspace_bytes, ALIGNMENT)} : i64, "
        f"terrace.output_types = [{output_types}]"
    )
    constants = [
        f"  %c{value} = arith.constant {value} : index" for value in sorted(loops.index_constants)
    ]
    body = [
        line.replace("memref<WSxi8>", f"memref<{max(loops.workspace_bytes, ALIGNMENT)}xi8>")
        for line in loops.body
    ]
    return "\n".join(
        [
            f"func.func @main({', '.join(arguments)}) attributes {{{attributes}}} {{",
            *constants,
            *body,
            "  func.return",
            "}",
        ]
    )


@st.composite
def loop_programs(draw: st.DrawFn) -> Program:
    """A random stage-4 program: one or two inputs, maybe a weight, one or two outputs."""
    element = draw(st.sampled_from(["f32", "f32", "i32"]))
    loops = Loops(draw, element)
    for number in range(draw(st.integers(1, 2))):
        loops.inputs.append(Buffer(f"%in{number}", draw(_shapes())))
    if draw(st.booleans()):
        loops.weights.append(Buffer("%w0", draw(_shapes())))
    loops.buffers += [*loops.inputs, *loops.weights]
    for _ in range(draw(st.integers(0, 3))):
        step = draw(st.sampled_from(["map", "map", "reduce", "copy"]))
        if step == "copy":
            copy_step(loops)
        elif step == "reduce":
            _reduce(loops, None)
        else:
            _map(loops, None)
    for number in range(draw(st.integers(1, 2))):
        shape = draw(st.sampled_from(loops.buffers)).shape
        output = Buffer(f"%out{number}", shape)
        loops.outputs.append(output)
        if len(shape) < 3 and draw(st.booleans()) and _reduce_into(loops, output):
            continue
        _map(loops, output)
    dtype = np.dtype(np.float32 if loops.is_float else np.int32)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    weights = {f"w{k}": random_array(rng, dtype, w.shape) for k, w in enumerate(loops.weights)}
    specs = tuple(TensorSpec(b.name[1:], dtype, b.shape) for b in loops.inputs)
    return Program(program_text(loops), specs, "loops", weights, Edges.FINITE)


def _reduce_into(loops: Loops, output: Buffer) -> bool:
    """A reduction into `output` from a buffer one dimension longer, when there is one."""
    return _reduce(loops, output) is not None
