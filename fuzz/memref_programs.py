"""Random stage-3 programs (docs/pipeline.md): linalg on memrefs under the @main ABI.

Built with the loop generator's program state (`loop_programs.Loops`: buffers, the ABI
signature, workspace views), but each step is a linalg op on memrefs: an elementwise
`linalg.generic` (first operand through a permutation map, second through an identity or a
broadcast map), a `linalg.fill`, a reduction generic over the last dimension into a filled
buffer, a `memref.collapse_shape` view, or a copy (contiguous, or out of a strided subview).
One program in five is a product: an input A and a weight B that a matmul generic multiplies
(contraction-microkernel's input, followed by elementwise consumers); one in five a depthwise
convolution of a padded copy of the input, or a max pool of a -inf padded copy
(conv-depthwise-kernel's inputs); one in ten a grouped
1x1 convolution (conv-grouped-kernel's input). Temporaries are all
`memref.alloc` (what memory-plan plans) or all views of the workspace (a
planned program), one choice per program; outputs are written by a last generic each.
"""

from __future__ import annotations

from itertools import permutations

import numpy as np
from hypothesis import strategies as st

from ..runtime.abi import TensorSpec
from .data import Edges, random_array
from .levels import Program
from .linalg_programs import affine_map
from .loop_programs import Buffer, Loops, copy_step, memref_type, program_text

_FLOAT_BINARY = ("arith.addf", "arith.subf", "arith.mulf", "arith.maximumf", "arith.minimumf")
_FLOAT_UNARY = ("arith.negf", "math.absf", "math.tanh", "math.exp")
_INT_BINARY = ("arith.addi", "arith.subi", "arith.muli", "arith.maxsi", "arith.minsi")


def _binary(loops: Loops, result: str, lhs: str, rhs: str) -> str:
    ops = _FLOAT_BINARY if loops.is_float else _INT_BINARY
    return f"{result} = {loops.draw(st.sampled_from(ops))} {lhs}, {rhs} : {loops.element}"


def _generic_head(
    loops: Loops, maps: list[str], iterators: list[str], operands: list[Buffer], out: Buffer
) -> str:
    names = ", ".join(b.name for b in operands)
    types = ", ".join(memref_type(b.shape, loops.element) for b in operands)
    quoted = ", ".join(f'"{i}"' for i in iterators)
    return (
        f"linalg.generic {{indexing_maps = [{', '.join(maps)}], iterator_types = [{quoted}]}} "
        f"ins({names} : {types}) outs({out.name} : {memref_type(out.shape, loops.element)}) {{"
    )


def _elementwise(loops: Loops, target: Buffer | None, first: Buffer | None = None) -> Buffer:
    fitting = [b for b in loops.buffers if target is None or b.shape == target.shape]
    if first is None:
        first = loops.draw(st.sampled_from(fitting))
    rank = len(first.shape)
    order: tuple[int, ...] = tuple(range(rank))
    if target is None:
        order = loops.draw(st.sampled_from(list(permutations(range(rank)))))
    shape = tuple(first.shape[k] for k in order)
    destination = target if target is not None else loops.temporary(shape)
    operands = [first]
    maps = [affine_map(rank, [order.index(k) for k in range(rank)])]
    partners = [
        b
        for b in loops.buffers
        if len(b.shape) <= rank and b.shape == shape[rank - len(b.shape) :] and b != destination
    ]
    if partners and loops.draw(st.booleans()):
        partner = loops.draw(st.sampled_from(partners))
        operands.append(partner)
        maps.append(affine_map(rank, list(range(rank - len(partner.shape), rank))))
    maps.append(affine_map(rank, list(range(rank))))
    element = loops.element
    arguments = ", ".join(f"%a{k}: {element}" for k in range(len(operands)))
    loops.emit(_generic_head(loops, maps, ["parallel"] * rank, operands, destination), 0)
    loops.emit(f"^bb0({arguments}, %o: {element}):", 0)
    value = "%a0"
    if len(operands) == 2:
        loops.emit(_binary(loops, "%b", "%a0", "%a1"), 1)
        value = "%b"
    if loops.is_float and loops.draw(st.booleans()):
        loops.emit(f"%u = {loops.draw(st.sampled_from(_FLOAT_UNARY))} {value} : f32", 1)
        value = "%u"
    loops.emit(f"linalg.yield {value} : {element}", 1)
    loops.emit("}", 0)
    return destination


def _fill(loops: Loops, destination: Buffer) -> None:
    value = loops.constant(0)
    loops.emit(
        f"linalg.fill ins({value} : {loops.element}) outs({destination.name} : "
        f"{memref_type(destination.shape, loops.element)})",
        0,
    )


def _reduction(loops: Loops) -> Buffer:
    sources = [b for b in loops.buffers if len(b.shape) >= 2]
    if not sources:
        return _elementwise(loops, None)
    source = loops.draw(st.sampled_from(sources))
    rank = len(source.shape)
    destination = loops.temporary(source.shape[:-1])
    _fill(loops, destination)
    maps = [affine_map(rank, list(range(rank))), affine_map(rank, list(range(rank - 1)))]
    iterators = ["parallel"] * (rank - 1) + ["reduction"]
    element = loops.element
    loops.emit(_generic_head(loops, maps, iterators, [source], destination), 0)
    loops.emit(f"^bb0(%x: {element}, %acc: {element}):", 0)
    loops.emit(_binary(loops, "%r", "%acc", "%x"), 1)
    loops.emit(f"linalg.yield %r : {element}", 1)
    loops.emit("}", 0)
    return destination


def _contraction(loops: Loops) -> int:
    """C = fill, then C += A * B as a matmul generic (B read transposed or not): what
    contraction-microkernel rewrites, with the fill folded into its tiles. Returns the
    reduction length; C is `loops.products`' last."""
    pairs = [
        (lhs, rhs, transposed)
        for lhs in loops.buffers
        for rhs in loops.buffers
        for transposed in (False, True)
        if len(lhs.shape) == 2
        and len(rhs.shape) == 2
        and lhs.shape[1] == rhs.shape[1 if transposed else 0]
    ]
    if not loops.is_float or not pairs:
        _elementwise(loops, None)
        return 0
    lhs, rhs, transposed = loops.draw(st.sampled_from(pairs))
    columns = rhs.shape[0 if transposed else 1]
    destination = loops.temporary((lhs.shape[0], columns))
    loops.products.append(destination)
    _fill(loops, destination)
    maps = [
        affine_map(3, [0, 2]),
        affine_map(3, [1, 2] if transposed else [2, 1]),
        affine_map(3, [0, 1]),
    ]
    iterators = ["parallel", "parallel", "reduction"]
    loops.emit(_generic_head(loops, maps, iterators, [lhs, rhs], destination), 0)
    loops.emit("^bb0(%l: f32, %r: f32, %acc: f32):", 0)
    loops.emit("%p = arith.mulf %l, %r : f32", 1)
    loops.emit("%s = arith.addf %acc, %p : f32", 1)
    loops.emit("linalg.yield %s : f32", 1)
    loops.emit("}", 0)
    return lhs.shape[1]


def _depthwise(loops: Loops) -> int:
    """The input zero-padded (alloc, fill generic, subview, copy, as bufferize leaves
    convert-nn-to-linalg's padding), C = fill, then C += padded * W as a depthwise
    convolution generic with random strides and dilations: what conv-depthwise-kernel
    rewrites, reading the input in place. One in two is a max pool instead, as
    convert-nn-to-linalg lowers nn.max_pool: the padding -inf, C = max(C, padded) over the
    window of W's shape, read from a buffer that only gives the loops their bounds. Returns
    the window's size; C is `loops.products`' last."""
    source, weight = loops.inputs[0], loops.weights[0]
    pooling = loops.draw(st.booleans())
    batch, channels, height, width = source.shape
    kernel = weight.shape[2:]
    strides = [loops.draw(st.integers(1, 2)) for _ in kernel]
    dilations = [loops.draw(st.integers(1, 2)) for _ in kernel]
    begin = [loops.draw(st.integers(0, 2)) for _ in kernel]
    spans = [(k - 1) * d + 1 for k, d in zip(kernel, dilations, strict=True)]
    extents = (height, width)
    # an end pad that leaves at least one window position
    end = [
        max(loops.draw(st.integers(0, 2)), span - extent - b)
        for span, extent, b in zip(spans, extents, begin, strict=True)
    ]
    padded_shape = (
        batch,
        channels,
        *(b + e + x for b, e, x in zip(begin, end, extents, strict=True)),
    )
    padded = loops.temporary(padded_shape)
    zero = loops.fresh("z")
    identity_value = "0xFF800000" if pooling else "0.000000e+00"
    loops.emit(f"{zero} = arith.constant {identity_value} : f32", 0)
    identity = affine_map(4, [0, 1, 2, 3])
    loops.emit(
        f"linalg.generic {{indexing_maps = [affine_map<(d0, d1, d2, d3) -> ()>, {identity}], "
        f'iterator_types = ["parallel", "parallel", "parallel", "parallel"]}} ins({zero} : f32) '
        f"outs({padded.name} : {memref_type(padded_shape, 'f32')}) {{",
        0,
    )
    loops.emit("^bb0(%v: f32, %o: f32):", 0)
    loops.emit("linalg.yield %v : f32", 1)
    loops.emit("}", 0)
    strides_in = (
        padded_shape[1] * padded_shape[2] * padded_shape[3],
        padded_shape[2] * padded_shape[3],
        padded_shape[3],
        1,
    )
    offset = begin[0] * padded_shape[3] + begin[1]
    window = loops.fresh("v")
    view_type = (
        f"memref<{batch}x{channels}x{height}x{width}xf32, "
        f"strided<[{', '.join(str(v) for v in strides_in)}], offset: {offset}>>"
    )
    loops.emit(
        f"{window} = memref.subview {padded.name}[0, 0, {begin[0]}, {begin[1]}] "
        f"[{batch}, {channels}, {height}, {width}] [1, 1, 1, 1] : "
        f"{memref_type(padded_shape, 'f32')} to {view_type}",
        0,
    )
    source_type = memref_type(source.shape, "f32")
    loops.emit(f'"memref.copy"({source.name}, {window}) : ({source_type}, {view_type}) -> ()', 0)
    outs = [
        (p - s) // stride + 1 for p, s, stride in zip(padded_shape[2:], spans, strides, strict=True)
    ]
    destination = loops.temporary((batch, channels, *outs))
    _fill(loops, destination)
    (sh, sw), (dh, dw) = strides, dilations
    in_map = (
        f"affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2 * {sh} + d4 * {dh}, "
        f"d3 * {sw} + d5 * {dw})>"
    )
    weight_map = "affine_map<(d0, d1, d2, d3, d4, d5) -> (d1, 0, d4, d5)>"
    if pooling:
        weight = loops.temporary(kernel)
        loops.buffers.remove(weight)  # never written: nothing else may read it
        weight_map = "affine_map<(d0, d1, d2, d3, d4, d5) -> (d4, d5)>"
    out_map = "affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3)>"
    iterators = ", ".join(['"parallel"'] * 4 + ['"reduction"'] * 2)
    loops.emit(
        f"linalg.generic {{indexing_maps = [{in_map}, {weight_map}, {out_map}], "
        f"iterator_types = [{iterators}]}} ins({padded.name}, {weight.name} : "
        f"{memref_type(padded_shape, 'f32')}, {memref_type(weight.shape, 'f32')}) "
        f"outs({destination.name} : {memref_type(destination.shape, 'f32')}) {{",
        0,
    )
    loops.emit("^bb0(%l: f32, %r: f32, %acc: f32):", 0)
    if pooling:
        loops.emit("%s = arith.maximumf %acc, %l : f32", 1)
    else:
        loops.emit("%p = arith.mulf %l, %r : f32", 1)
        loops.emit("%s = arith.addf %acc, %p : f32", 1)
    loops.emit("linalg.yield %s : f32", 1)
    loops.emit("}", 0)
    loops.buffers.remove(padded)
    loops.products.append(destination)
    return kernel[0] * kernel[1]


def _grouped(loops: Loops) -> int:
    """C = fill, then C += input * W as the grouped 1x1 convolution generic of
    convert-nn-to-linalg (input channel `(oc floordiv M/G) * C/G + ic`): what
    conv-grouped-kernel rewrites. Returns the channels per group; C is `loops.products`'
    last."""
    source, weight = loops.inputs[0], loops.weights[0]
    batch, channels, height, width = source.shape
    out_channels, group_in = weight.shape[:2]
    group_out = out_channels // (channels // group_in)
    destination = loops.temporary((batch, out_channels, height, width))
    _fill(loops, destination)
    head = "affine_map<(d0, d1, d2, d3, d4) -> "
    maps = [
        f"{head}(d0, d1 floordiv {group_out} * {group_in} + d4, d2, d3)>",
        f"{head}(d1, d4, 0, 0)>",
        f"{head}(d0, d1, d2, d3)>",
    ]
    iterators = ", ".join(['"parallel"'] * 4 + ['"reduction"'])
    loops.emit(
        f"linalg.generic {{indexing_maps = [{', '.join(maps)}], "
        f"iterator_types = [{iterators}]}} ins({source.name}, {weight.name} : "
        f"{memref_type(source.shape, 'f32')}, {memref_type(weight.shape, 'f32')}) "
        f"outs({destination.name} : {memref_type(destination.shape, 'f32')}) {{",
        0,
    )
    loops.emit("^bb0(%l: f32, %r: f32, %acc: f32):", 0)
    loops.emit("%p = arith.mulf %l, %r : f32", 1)
    loops.emit("%s = arith.addf %acc, %p : f32", 1)
    loops.emit("linalg.yield %s : f32", 1)
    loops.emit("}", 0)
    loops.products.append(destination)
    return group_in


def _collapse(loops: Loops) -> Buffer:
    """A collapse_shape view of a contiguous buffer (any but a strided one: all are here)."""
    sources = [b for b in loops.buffers if len(b.shape) >= 2]
    if not sources:
        return _elementwise(loops, None)
    source = loops.draw(st.sampled_from(sources))
    shape = (*source.shape[:-2], source.shape[-2] * source.shape[-1])
    groups = [[k] for k in range(len(shape) - 1)] + [[len(shape) - 1, len(shape)]]
    name = loops.fresh("r")
    loops.emit(
        f"{name} = memref.collapse_shape {source.name} {groups} : "
        f"{memref_type(source.shape, loops.element)} into {memref_type(shape, loops.element)}",
        0,
    )
    view = Buffer(name, shape)
    loops.buffers.append(view)
    return view


def _filled(loops: Loops) -> Buffer:
    source = loops.draw(st.sampled_from(loops.buffers))
    destination = loops.temporary(source.shape)
    _fill(loops, destination)
    return destination


@st.composite
def memref_programs(draw: st.DrawFn) -> Program:
    """A random stage-3 program: one or two inputs, maybe a weight, one or two outputs."""
    kinds = ["f32", "f32", "i32", "product", "depthwise"] * 2 + ["grouped"]
    element = draw(st.sampled_from(kinds))
    placement = draw(st.sampled_from(["alloc", "view"]))
    steps = ("elementwise", "elementwise", "reduction", "fill", "collapse", "copy")
    if element == "product":  # a matmul (A x weight B), allocated as bufferize leaves it
        element, placement, steps = "f32", "alloc", ("contraction", *steps)
    depthwise, grouped = element == "depthwise", element == "grouped"
    if depthwise or grouped:  # a depthwise or grouped convolution of the input by the weight
        element, placement = "f32", "alloc"
    loops = Loops(draw, element, placement=placement)
    shapes = st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple)
    if "contraction" in steps:
        rows, reduced = draw(st.integers(1, 9)), draw(st.integers(1, 6))
        loops.inputs.append(Buffer("%in0", (rows, reduced)))
        loops.weights.append(Buffer("%w0", (reduced, draw(st.integers(1, 20)))))
    if depthwise:
        batch, channels = draw(st.integers(1, 2)), draw(st.integers(1, 3))
        size = (draw(st.integers(1, 9)), draw(st.integers(1, 40)))
        loops.inputs.append(Buffer("%in0", (batch, channels, *size)))
        kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
        loops.weights.append(Buffer("%w0", (channels, 1, *kernel)))
    if grouped:
        groups, group_in, group_out = (draw(st.integers(a, b)) for a, b in ((2, 4), (1, 5), (1, 5)))
        size = (draw(st.integers(1, 6)), draw(st.integers(1, 40)))
        loops.inputs.append(Buffer("%in0", (draw(st.integers(1, 2)), groups * group_in, *size)))
        loops.weights.append(Buffer("%w0", (groups * group_out, group_in, 1, 1)))
    for number in range(len(loops.inputs), draw(st.integers(1, 2))):
        loops.inputs.append(Buffer(f"%in{number}", draw(shapes)))
    if not loops.weights and draw(st.booleans()):
        loops.weights.append(Buffer("%w0", draw(shapes)))
    loops.buffers += [*loops.inputs, *loops.weights]
    accumulations = 1 + (_contraction(loops) if "contraction" in steps else 0)
    accumulations += _depthwise(loops) if depthwise else 0
    accumulations += _grouped(loops) if grouped else 0
    for _ in range(draw(st.integers(0, 4))):
        step = draw(st.sampled_from(steps))
        if step == "contraction":
            accumulations += _contraction(loops)
        elif step == "reduction":
            _reduction(loops)
        elif step == "fill":
            _filled(loops)
        elif step == "collapse":
            _collapse(loops)
        elif step == "copy":
            copy_step(loops)
        else:
            _elementwise(loops, None)
    for number in range(draw(st.integers(1, 2))):
        # the first output reads the first product, so that the products' values are observed
        first = loops.products[0] if loops.products and not number else None
        shape = first.shape if first else draw(st.sampled_from(loops.buffers)).shape
        output = Buffer(f"%out{number}", shape)
        loops.outputs.append(output)
        _elementwise(loops, output, first)
    dtype = np.dtype(np.float32 if loops.is_float else np.int32)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    weights = {f"w{k}": random_array(rng, dtype, w.shape) for k, w in enumerate(loops.weights)}
    specs = tuple(TensorSpec(b.name[1:], dtype, b.shape) for b in loops.inputs)
    return Program(program_text(loops), specs, "memref", weights, Edges.FINITE, accumulations)
