"""Recognizing what conv-depthwise-kernel rewrites: a depthwise convolution `linalg.generic` on
memrefs, as convert-nn-to-linalg builds it (lowering/nn_to_linalg/convolution.py), or a 2-d
max pool (lowering/nn_to_linalg/pooling.py), and the padding in front of it.

The generic has loops (n, c, oy, ox, ky, kx), maps `(n, c, oy*sh + ky*dh + ph, ox*sw + kx*dw +
pw)` for the input and `(n, c, oy, ox)` for the output, and either `(c, 0, ky, kx)` for the
weight and a multiply-accumulate body (a convolution), or `(ky, kx)` for a buffer that only
gives the window its bounds and a `maximumf(acc, x)` body (a max pool). When the input is a
buffer that is only filled with the reduction's identity (zero for a sum, -inf for a max),
receives a copy of another buffer in a window (the padding of convert-nn-to-linalg: alloc,
fill, subview, copy) and is read by the convolution, the kernel reads that other buffer
instead, with the offsets shifted by the window's origin: the padding is never materialized.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from xdsl.dialects import arith, memref
from xdsl.dialects.builtin import FloatAttr, MemRefType
from xdsl.dialects.linalg import ops as linalg
from xdsl.ir import Attribute, Block, Operation, SSAValue
from xdsl.ir.affine import AffineConstantExpr, AffineDimExpr, AffineExpr, AffineMap
from xdsl.utils.hints import isa

from .contraction_match import aliases, indexing_maps, is_contiguous, is_f32_memref, writes

# loops of the generic
BATCH, CHANNEL, ROW, COLUMN, KERNEL_ROW, KERNEL_COLUMN = range(6)
_PROBES = ((1, 2, 3, 5, 7, 11), (4, 1, 6, 2, 3, 9))
"""Points at which an input index is checked to be the linear function its coefficients give."""


@dataclass(frozen=True)
class Axis:
    """One spatial axis: input index = out * stride + kernel * dilation + offset."""

    out: int
    kernel: int
    stride: int
    dilation: int
    offset: int
    extent: int
    """The input's size along the axis (indices outside [0, extent) read zero padding)."""

    def index(self, out: int, kernel: int) -> int:
        return out * self.stride + kernel * self.dilation + self.offset

    def inside(self, position: int) -> bool:
        return 0 <= position < self.extent


@dataclass
class Depthwise:
    op: linalg.GenericOp
    source: SSAValue
    """The buffer read: the generic's input, or the unpadded buffer behind it."""
    weight: SSAValue
    out: SSAValue
    batch: int
    channels: int
    rows: Axis
    columns: Axis
    pooling: bool = False
    """A max pool: `weight` only bounds the window, taps combine by max, and positions
    outside the input (padding, ceil_mode overhang) never win."""
    padding: list[Operation] = field(default_factory=list[Operation])
    """The padding's ops (fill, subview, copy, deallocations, alloc), erased with the op."""

    @property
    def identity(self) -> float:
        """What the padding holds: the value a tap outside the input contributes."""
        return -math.inf if self.pooling else 0.0

    @property
    def work(self) -> int:
        """Multiply-adds."""
        r, c = self.rows, self.columns
        return self.batch * self.channels * r.out * c.out * r.kernel * c.kernel


# helpers


def _dim(expr: AffineExpr, position: int) -> bool:
    return isinstance(expr, AffineDimExpr) and expr.position == position


def _linear(expr: AffineExpr, num_dims: int) -> list[int] | None:
    """[constant, coefficient of each dim] of an affine expression that is linear in the loops
    (checked at probe points), else None."""
    map_ = AffineMap(num_dims, 0, (expr,))

    def at(point: tuple[int, ...]) -> int:
        return map_.eval(list(point), [])[0]

    zero = at((0,) * num_dims)
    units = [at(tuple(int(d == i) for d in range(num_dims))) - zero for i in range(num_dims)]
    for probe in _PROBES:
        if at(probe) != zero + sum(u * p for u, p in zip(units, probe, strict=True)):
            return None
    return [zero, *units]


def _axis(expr: AffineExpr, out: int, kernel: int, out_loop: int, kernel_loop: int, extent: int):
    coefficients = _linear(expr, 6)
    if coefficients is None:
        return None
    offset, *units = coefficients
    stride, dilation = units[out_loop], units[kernel_loop]
    others = [u for loop, u in enumerate(units) if loop not in (out_loop, kernel_loop)]
    if any(others) or stride < 1 or dilation < 1:
        return None
    return Axis(out, kernel, stride, dilation, offset, extent)


def is_multiply_accumulate(body: Block) -> bool:
    """`yield acc + input * weight` (either order of each operation)."""
    ops = list(body.ops)
    if len(ops) != 3:
        return False
    mul, add, yield_ = ops
    if not isinstance(mul, arith.MulfOp) or not isinstance(add, arith.AddfOp):
        return False
    if not isinstance(yield_, linalg.YieldOp) or list(yield_.operands) != [add.result]:
        return False
    x, w, acc = body.args
    return {mul.lhs, mul.rhs} == {x, w} and {add.lhs, add.rhs} == {mul.result, acc}


def is_window_max(body: Block) -> bool:
    """`yield max(acc, input)` (either order), the bounds argument unused."""
    ops = list(body.ops)
    if len(ops) != 2:
        return False
    maximum, yield_ = ops
    if not isinstance(maximum, arith.MaximumfOp) or not isinstance(yield_, linalg.YieldOp):
        return False
    x, bounds, acc = body.args
    if bounds.uses or list(yield_.operands) != [maximum.result]:
        return False
    return {maximum.lhs, maximum.rhs} == {x, acc} and x is not acc


def _shape(value: SSAValue) -> tuple[int, ...]:
    assert isa(value.type, MemRefType[Attribute])
    return value.type.get_shape()


# the padding in front of the convolution


def is_fill(op: Operation, buffer: SSAValue, identity: float) -> bool:
    """Whether `op` fills `buffer` with `identity` (0.0 as +0.0, -inf)."""
    if not isinstance(op, linalg.GenericOp) or list(op.outputs) != [buffer] or op.results:
        return False
    if len(op.inputs) != 1 or not isinstance(op.inputs[0].owner, arith.ConstantOp):
        return False
    value = op.inputs[0].owner.value
    if not isinstance(value, FloatAttr) or str(value.value.data) != str(identity):
        return False
    yielded = list(op.body.block.ops)[-1].operands
    return list(yielded) == [op.body.block.args[0]]


def is_zero_fill(op: Operation, buffer: SSAValue) -> bool:
    return is_fill(op, buffer, 0.0)


def _padding_source(
    depthwise: Depthwise, block_ops: list[Operation], last: Operation
) -> tuple[SSAValue, list[int], list[Operation]] | None:
    """(the unpadded buffer, the window origin per dim, the padding ops) when the input is a
    zero-padded copy made in this block and the copied buffer is not written between the copy
    and `last` (where the kernel will read it)."""
    padded = depthwise.source
    if not isinstance(padded.owner, memref.AllocOp):
        return None
    fills: list[Operation] = []
    copies: list[tuple[memref.SubviewOp, memref.CopyOp]] = []
    deallocs: list[Operation] = []
    for use in padded.uses:
        user = use.operation
        if user is depthwise.op:
            continue
        if isinstance(user, memref.DeallocOp):
            deallocs.append(user)
        elif is_fill(user, padded, depthwise.identity):
            fills.append(user)
        elif isinstance(user, memref.SubviewOp) and len(list(user.result.uses)) == 1:
            copy = next(iter(user.result.uses)).operation
            if not isinstance(copy, memref.CopyOp) or copy.destination is not user.result:
                return None
            copies.append((user, copy))
        else:
            return None
    if len(fills) != 1 or len(copies) != 1:
        return None
    subview, copy = copies[0]
    offsets = list(subview.static_offsets.get_values())
    source = copy.source
    if not is_f32_memref(source) or not is_contiguous(source):
        return None
    if list(subview.static_strides.get_values()) != [1] * 4 or offsets[:2] != [0, 0]:
        return None
    if list(subview.static_sizes.get_values()) != list(_shape(source)):
        return None
    if any(op not in block_ops for op in (fills[0], copy, depthwise.op, last)):
        return None
    first = block_ops.index(fills[0])
    at, end = block_ops.index(copy), block_ops.index(last)
    if not first < at < block_ops.index(depthwise.op) <= end:
        return None
    written = aliases(source)
    if any(writes(op, written) for op in block_ops[at + 1 : end]):
        return None
    ops = [copy, subview, fills[0], *deallocs, padded.owner]
    return source, [offsets[2], offsets[3]], ops


def look_through_padding(
    depthwise: Depthwise, block_ops: list[Operation], last: Operation, max_border: int
) -> None:
    """Reads the unpadded buffer behind the input (`_padding_source`) when the output rows
    that touch the padding number at most `max_border` (each is emitted on its own)."""
    found = _padding_source(depthwise, block_ops, last)
    if found is None:
        return
    source, origin, ops = found
    height, width = _shape(source)[2:]
    rows = Axis(
        depthwise.rows.out,
        depthwise.rows.kernel,
        depthwise.rows.stride,
        depthwise.rows.dilation,
        depthwise.rows.offset - origin[0],
        height,
    )
    columns = Axis(
        depthwise.columns.out,
        depthwise.columns.kernel,
        depthwise.columns.stride,
        depthwise.columns.dilation,
        depthwise.columns.offset - origin[1],
        width,
    )
    if len(border_rows(rows)) > max_border:
        return
    depthwise.source, depthwise.rows, depthwise.columns, depthwise.padding = (
        source,
        rows,
        columns,
        ops,
    )


def border_rows(rows: Axis) -> list[int]:
    """Output rows whose window reaches outside the input."""
    last = rows.kernel - 1
    return [
        out
        for out in range(rows.out)
        if not (rows.inside(rows.index(out, 0)) and rows.inside(rows.index(out, last)))
    ]


# the match


def _is_weight(weight_map: AffineMap) -> bool:
    """(c, 0, ky, kx): a depthwise convolution's weight."""
    w = weight_map.results
    if len(w) != 4 or not _dim(w[0], CHANNEL) or not _dim(w[2], KERNEL_ROW):
        return False
    if not isinstance(w[1], AffineConstantExpr) or w[1].value != 0:
        return False
    return _dim(w[3], KERNEL_COLUMN)


def _is_window_bounds(bounds_map: AffineMap) -> bool:
    """(ky, kx): the buffer of the window's shape a pool reads for its loop bounds."""
    w = bounds_map.results
    return len(w) == 2 and _dim(w[0], KERNEL_ROW) and _dim(w[1], KERNEL_COLUMN)


def match_depthwise(op: Operation) -> Depthwise | None:
    if not isinstance(op, linalg.GenericOp) or len(op.inputs) != 2 or len(op.outputs) != 1:
        return None
    if op.results or not all(is_f32_memref(v) for v in (*op.inputs, *op.outputs)):
        return None
    if not all(is_contiguous(v) for v in (*op.inputs, *op.outputs)):
        return None
    iterators = [str(t.data) for t in op.iterator_types.data]
    if [kind.endswith("parallel") for kind in iterators] != [True] * 4 + [False] * 2:
        return None
    in_map, weight_map, out_map = indexing_maps(op)
    if out_map != AffineMap(6, 0, tuple(AffineExpr.dimension(d) for d in range(4))):
        return None
    pooling = is_window_max(op.body.block)
    if pooling and not _is_window_bounds(weight_map):
        return None
    if not pooling and not (is_multiply_accumulate(op.body.block) and _is_weight(weight_map)):
        return None
    if len(in_map.results) != 4:
        return None
    if not _dim(in_map.results[0], BATCH) or not _dim(in_map.results[1], CHANNEL):
        return None
    ranges = op.get_static_loop_ranges()
    height, width = _shape(op.inputs[0])[2:]
    rows = _axis(in_map.results[2], ranges[ROW], ranges[KERNEL_ROW], ROW, KERNEL_ROW, height)
    columns = _axis(
        in_map.results[3], ranges[COLUMN], ranges[KERNEL_COLUMN], COLUMN, KERNEL_COLUMN, width
    )
    if rows is None or columns is None:
        return None
    return Depthwise(
        op,
        op.inputs[0],
        op.inputs[1],
        op.outputs[0],
        ranges[BATCH],
        ranges[CHANNEL],
        rows,
        columns,
        pooling,
    )
