"""convert-nn-to-linalg patterns for data movement: reshapes, transpose, expand, tile, slice,
pad, concat and split (gather and resize are in `gather.py`, constants in `constants.py`).

Reshapes become `tensor.collapse_shape` / `tensor.expand_shape`, static windows
`tensor.extract_slice` / `tensor.insert_slice`, everything else a `linalg.generic` whose indexing
maps (or, for pads that read mirrored or wrapped positions, whose `linalg.index` arithmetic)
say where each result element comes from.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from xdsl.builder import Builder
from xdsl.dialects import arith, tensor
from xdsl.dialects.builtin import (
    AffineMapAttr,
    ArrayAttr,
    IndexType,
    IntegerAttr,
    TensorType,
    i64,
)
from xdsl.dialects.linalg import ops as linalg
from xdsl.ir import Operation, SSAValue
from xdsl.ir.affine import AffineExpr, AffineMap
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern, op_type_rewrite_pattern

from ...dialects.nn import shape as nn
from .common import (
    PARALLEL,
    build_generic,
    element_type,
    empty_tensor,
    filled_tensor,
    identity_map,
    scalar_constant,
    shape,
    unsupported,
)

# ---------------------------------------------------------------------------------------------
# Helpers.


def _axis(axis: int, rank: int) -> int:
    return axis + rank if axis < 0 else axis


def _reassociation(groups: Sequence[Sequence[int]]) -> ArrayAttr[ArrayAttr[IntegerAttr]]:
    return ArrayAttr([ArrayAttr([IntegerAttr(i, i64) for i in group]) for group in groups])


def _groups(long: Sequence[int], short: Sequence[int]) -> list[list[int]] | None:
    """Contiguous groups of `long`'s dims whose products are `short`'s dims, in order (the
    reassociation of a collapse from `long` to `short`), or None when there is none."""
    if not short:
        return [] if all(size == 1 for size in long) else None
    groups: list[list[int]] = []
    position = 0
    for index, size in enumerate(short):
        if position >= len(long):
            return None
        group = [position]
        product = long[position]
        position += 1
        while product != size and position < len(long) and product * long[position] <= size:
            group.append(position)
            product *= long[position]
            position += 1
        if index == len(short) - 1:
            # trailing unit dims join the last group
            group.extend(range(position, len(long)))
            product = math.prod(long[i] for i in group)
            position = len(long)
        if product != size:
            return None
        groups.append(group)
    return groups


def reshape(builder: Builder, value: SSAValue, dims: Sequence[int]) -> SSAValue:
    """`value` with the static shape `dims`: one collapse or one expand where a reassociation
    exists, else a collapse to 1-d then an expand. The value itself when the shape is the same."""
    source = shape(value)
    target = tuple(dims)
    if source == target:
        return value
    if not source:
        # xDSL's verifier rejects the empty reassociation of a rank-0 expand: broadcast instead
        return copy_generic(builder, value, AffineMap(len(target), 0, ()), target)
    result_type = TensorType(element_type(value), target)
    collapse = _groups(source, target) if len(target) <= len(source) else None
    if collapse is not None:
        return builder.insert(
            tensor.CollapseShapeOp.build(
                operands=[value],
                result_types=[result_type],
                properties={"reassociation": _reassociation(collapse)},
            )
        ).result
    expand = _groups(target, source) if len(target) >= len(source) else None
    if expand is not None:
        return builder.insert(
            tensor.ExpandShapeOp(value, [], _reassociation(expand), target, result_type)
        ).result
    flat = reshape(builder, value, [math.prod(source)])
    return reshape(builder, flat, target)


def extract_slice(
    builder: Builder,
    value: SSAValue,
    offsets: Sequence[int],
    sizes: Sequence[int],
    strides: Sequence[int] | None = None,
) -> SSAValue:
    """A static `tensor.extract_slice` (the value itself when it takes everything)."""
    strides = list(strides) if strides is not None else [1] * len(sizes)
    if all(o == 0 for o in offsets) and tuple(sizes) == shape(value) and set(strides) <= {1}:
        return value
    result_type = TensorType(element_type(value), list(sizes))
    return builder.insert(
        tensor.ExtractSliceOp(value, list(offsets), list(sizes), strides, result_type)
    ).result


def insert_slice(
    builder: Builder, source: SSAValue, dest: SSAValue, offsets: Sequence[int]
) -> SSAValue:
    """A static `tensor.insert_slice` of all of `source` into `dest` at `offsets`."""
    return builder.insert(
        tensor.InsertSliceOp.get(source, dest, list(shape(source)), list(offsets))
    ).result


def copy_generic(
    builder: Builder, value: SSAValue, input_map: AffineMap, dims: Sequence[int]
) -> SSAValue:
    """A parallel `linalg.generic` over `dims` whose element is `value` at `input_map`."""
    init = empty_tensor(builder, dims, element_type(value))
    return build_generic(
        builder,
        [value],
        [init],
        [AffineMapAttr(input_map), identity_map(len(dims))],
        [PARALLEL] * len(dims),
        lambda _, args: [args[0]],
    ).results[0]


def index_constant(builder: Builder, value: int) -> SSAValue:
    return scalar_constant(builder, value, IndexType())


def positive_mod(builder: Builder, value: SSAValue, modulus: int) -> SSAValue:
    """`value mod modulus` in [0, modulus), for a negative `value` too."""
    divisor = index_constant(builder, modulus)
    remainder = builder.insert(arith.RemSIOp(value, divisor)).result
    shifted = builder.insert(arith.AddiOp(remainder, divisor)).result
    return builder.insert(arith.RemSIOp(shifted, divisor)).result


def clamp_index(builder: Builder, value: SSAValue, size: int) -> SSAValue:
    """`value` clamped to [0, size - 1]."""
    low = builder.insert(arith.MaxSIOp(value, index_constant(builder, 0))).result
    return builder.insert(arith.MinSIOp(low, index_constant(builder, size - 1))).result


def _slice_bounds(start: int, end: int, step: int, size: int) -> tuple[int, int]:
    """ONNX's clamped start of one sliced axis and its element count."""
    start = start + size if start < 0 else start
    end = end + size if end < 0 else end
    if step > 0:
        start, end = min(max(start, 0), size), min(max(end, 0), size)
        return start, max(0, -(-(end - start) // step))
    start, end = min(max(start, 0), size - 1), min(max(end, -1), size - 1)
    return start, max(0, -(-(start - end) // -step))


# ---------------------------------------------------------------------------------------------
# Patterns.


class LowerReshapeLike(RewritePattern):
    """Reshape, flatten, squeeze and unsqueeze: the result type says it all."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if not isinstance(op, nn.ReshapeOp | nn.FlattenOp | nn.SqueezeOp | nn.UnsqueezeOp):
            return
        result = reshape(rewriter, op.operands[0], shape(op.results[0]))
        rewriter.replace(op, [], [result])


class LowerTranspose(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: nn.TransposeOp, rewriter: PatternRewriter) -> None:
        rank = len(shape(op.data))
        perm = op.ints_attr("perm") or list(reversed(range(rank)))
        if perm == list(range(rank)):
            rewriter.replace(op, [], [op.data])
            return
        # result dim k is input dim perm[k]: the input's dim perm[k] is read at loop dim k
        inverse = [0] * rank
        for k, axis in enumerate(perm):
            inverse[axis] = k
        input_map = AffineMap(rank, 0, tuple(AffineExpr.dimension(inverse[j]) for j in range(rank)))
        rewriter.replace(op, [], [copy_generic(rewriter, op.data, input_map, shape(op.output))])


class LowerExpand(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: nn.ExpandOp, rewriter: PatternRewriter) -> None:
        dims = shape(op.output)
        if shape(op.input) == dims:
            rewriter.replace(op, [], [op.input])
            return
        source = shape(op.input)
        offset = len(dims) - len(source)
        results = tuple(
            AffineExpr.constant(0) if size == 1 else AffineExpr.dimension(offset + index)
            for index, size in enumerate(source)
        )
        input_map = AffineMap(len(dims), 0, results)
        rewriter.replace(op, [], [copy_generic(rewriter, op.input, input_map, dims)])


class LowerTile(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: nn.TileOp, rewriter: PatternRewriter) -> None:
        source, dims = shape(op.input), shape(op.output)
        if source == dims:
            rewriter.replace(op, [], [op.input])
            return
        # result index i reads input index i mod size: `d mod n` is an affine expression
        results = tuple(
            AffineExpr.dimension(k) if source[k] == dims[k] else AffineExpr.dimension(k) % size
            for k, size in enumerate(source)
        )
        input_map = AffineMap(len(dims), 0, results)
        rewriter.replace(op, [], [copy_generic(rewriter, op.input, input_map, dims)])


class LowerSlice(RewritePattern):
    """Positive steps: one `tensor.extract_slice`. A negative step: the positive-step axes are
    extracted first, then a generic's map walks each negative-step axis backwards
    (`start - k*d`). The generic's other axes must be plain loop dimensions of the same size in
    input and output, which linalg's verifier requires of an operand dimension indexed by a
    lone loop dimension: hence the extraction before it."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: nn.SliceOp, rewriter: PatternRewriter) -> None:
        source = shape(op.data)
        starts = op.ints_attr("starts") or []
        ends = op.ints_attr("ends") or []
        axes = [_axis(a, len(source)) for a in op.ints_attr("axes") or range(len(starts))]
        steps = op.ints_attr("steps") or [1] * len(starts)
        offsets, strides = [0] * len(source), [1] * len(source)
        for start, end, axis, step in zip(starts, ends, axes, steps, strict=True):
            if step == 0:
                raise unsupported(op, "a slice step is 0")
            offsets[axis], _ = _slice_bounds(start, end, step, source[axis])
            strides[axis] = step
        dims = shape(op.output)
        if all(s > 0 for s in strides) or 0 in dims:
            result = extract_slice(rewriter, op.data, offsets, dims, [abs(s) for s in strides])
            rewriter.replace(op, [], [result])
            return
        backwards = [s < 0 for s in strides]
        forward = extract_slice(
            rewriter,
            op.data,
            [0 if back else o for back, o in zip(backwards, offsets, strict=True)],
            [n if back else d for back, n, d in zip(backwards, source, dims, strict=True)],
            [1 if back else s for back, s in zip(backwards, strides, strict=True)],
        )
        results = tuple(
            AffineExpr.dimension(k) * stride + offset if back else AffineExpr.dimension(k)
            for k, (back, offset, stride) in enumerate(
                zip(backwards, offsets, strides, strict=True)
            )
        )
        input_map = AffineMap(len(dims), 0, results)
        rewriter.replace(op, [], [copy_generic(rewriter, forward, input_map, dims)])


class LowerPad(RewritePattern):
    """Negative pads crop first (`tensor.extract_slice`). Constant padding is empty + fill +
    insert_slice; reflect, edge and wrap read the cropped input at computed indices."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: nn.PadOp, rewriter: PatternRewriter) -> None:
        source = shape(op.data)
        rank = len(source)
        pads = op.ints_attr("pads") or []
        axes = [_axis(a, rank) for a in op.ints_attr("axes") or range(rank)]
        before, after = [0] * rank, [0] * rank
        for axis, begin, end in zip(axes, pads[: len(axes)], pads[len(axes) :], strict=True):
            before[axis], after[axis] = begin, end
        mode = op.str_attr("mode")
        if mode not in ("constant", "reflect", "edge", "wrap"):
            raise unsupported(op, f"pad mode {mode!r}")
        offsets = [max(-b, 0) for b in before]
        sizes = [n - max(-b, 0) - max(-a, 0) for n, b, a in zip(source, before, after, strict=True)]
        cropped = extract_slice(rewriter, op.data, offsets, sizes)
        low = [max(b, 0) for b in before]
        dims = shape(op.output)
        if tuple(sizes) == dims:
            rewriter.replace(op, [], [cropped])
            return
        if mode == "constant":
            value = op.attr("constant_value") or 0
            assert isinstance(value, int | float)
            filled = filled_tensor(rewriter, dims, element_type(op.data), value)
            rewriter.replace(op, [], [insert_slice(rewriter, cropped, filled, low)])
            return
        if 0 in sizes:
            raise unsupported(op, f"{mode} padding of an empty axis")
        result = _gather_padded(rewriter, cropped, low, dims, mode)
        rewriter.replace(op, [], [result])


def _gather_padded(
    builder: Builder, source: SSAValue, low: Sequence[int], dims: Sequence[int], mode: str
) -> SSAValue:
    """A generic over the padded shape reading `source` at the reflected, clamped or wrapped
    position of each result index."""
    sizes = shape(source)

    def body(body_builder: Builder, args: Sequence[SSAValue]) -> list[SSAValue]:
        indices = [
            _padded_source_index(body_builder, k, low[k], sizes[k], dims[k], mode)
            for k in range(len(dims))
        ]
        extract = tensor.ExtractOp(source, indices, element_type(source))
        return [body_builder.insert(extract).result]

    init = empty_tensor(builder, dims, element_type(source))
    rank = len(dims)
    return build_generic(
        builder, [], [init], [identity_map(rank)], [PARALLEL] * rank, body
    ).results[0]


def _padded_source_index(
    builder: Builder, axis: int, low: int, size: int, padded: int, mode: str
) -> SSAValue:
    index = builder.insert(linalg.IndexOp(axis)).result
    if padded == size:
        return index
    shifted = builder.insert(arith.SubiOp(index, index_constant(builder, low))).result
    if mode == "edge" or (mode == "reflect" and size == 1):
        return clamp_index(builder, shifted, size)
    if mode == "wrap":
        return positive_mod(builder, shifted, size)
    # reflect: fold into one period [0, 2(n-1)), then mirror the upper half: n-1 - |n-1 - j|
    folded = positive_mod(builder, shifted, 2 * (size - 1))
    last = index_constant(builder, size - 1)
    distance = builder.insert(arith.SubiOp(last, folded)).result
    negated = builder.insert(arith.SubiOp(index_constant(builder, 0), distance)).result
    absolute = builder.insert(arith.MaxSIOp(distance, negated)).result
    return builder.insert(arith.SubiOp(last, absolute)).result


class LowerConcat(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: nn.ConcatOp, rewriter: PatternRewriter) -> None:
        dims = shape(op.concat_result)
        axis = _axis(op.int_attr("axis"), len(dims))
        parts = [v for v in op.inputs if shape(v)[axis] != 0]
        if len(parts) == 1:
            rewriter.replace(op, [], [parts[0]])
            return
        result = empty_tensor(rewriter, dims, element_type(op.concat_result))
        offset = 0
        for part in parts:
            offsets = [0] * len(dims)
            offsets[axis] = offset
            result = insert_slice(rewriter, part, result, offsets)
            offset += shape(part)[axis]
        rewriter.replace(op, [], [result])


class LowerSplit(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: nn.SplitOp, rewriter: PatternRewriter) -> None:
        source = shape(op.input)
        axis = _axis(op.int_attr("axis"), len(source))
        results: list[SSAValue] = []
        offset = 0
        for output in op.outputs:
            dims = shape(output)
            offsets = [0] * len(source)
            offsets[axis] = offset
            results.append(extract_slice(rewriter, op.input, offsets, dims))
            offset += dims[axis]
        rewriter.replace(op, [], results)


PATTERNS: list[RewritePattern] = [
    LowerReshapeLike(),
    LowerTranspose(),
    LowerExpand(),
    LowerTile(),
    LowerSlice(),
    LowerPad(),
    LowerConcat(),
    LowerSplit(),
]
