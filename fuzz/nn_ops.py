"""The nn ops the fuzzer draws, each with a builder that makes one well-typed instance.

`CATALOG` lists one `OpSpec` per op: its family (docs/fuzzing.md's op families), the element
types it is drawn with and its builder. A builder takes the graph, the op class and an element
type, finds an operand of that type (or makes a new input of a shape the op needs), draws
attributes that make a valid op (windows that fit their input, axes in range, divisors that
are not zero for integers) and appends it; it returns the result, or None when shape inference
rejected the combination. `nn_programs.py` draws programs from these builders, at random or
directed at the ops a pass rewrites (`pass_targets.py` learns which).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from math import prod
from typing import Any

import numpy as np
from onnx import TensorProto
from xdsl.ir import SSAValue

from ..dialects.nn import elementwise as ew
from ..dialects.nn import neural, reduction, shape
from ..dialects.nn.base import NnOperation, numpy_dtype_of, shape_of
from .nn_graph import Choices, Graph, is_float_dtype, rank_between

F32, F64, F16 = np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.float16)
I32, I64 = np.dtype(np.int32), np.dtype(np.int64)
FLOATS = (F32, F64, F16)
NUMBERS = (F32, F64, F16, I32, I64)

Builder = Callable[[Graph, type[NnOperation], np.dtype[Any]], SSAValue | None]


@dataclass(frozen=True)
class OpSpec:
    op_class: type[NnOperation]
    family: str
    build: Builder
    dtypes: tuple[np.dtype[Any], ...] = FLOATS

    @property
    def name(self) -> str:
        return self.op_class.name


# -- shapes of new inputs ---------------------------------------------------------------------


def any_dims(c: Choices, low_rank: int = 1) -> tuple[int, ...]:
    rank = c.integer(low_rank, 4)
    if c.integer(0, 2) == 0:  # all dims equal: where a swap or a transpose keeps the type
        return (c.integer(2, 3),) * rank
    return tuple(c.integer(1, 4) for _ in range(rank))


def image_dims(c: Choices) -> tuple[int, ...]:
    return (c.integer(1, 2), c.integer(1, 4), c.integer(1, 6), c.integer(1, 6))


def matrix_dims(c: Choices) -> tuple[int, ...]:
    return (c.integer(1, 4), c.integer(1, 6))


def _any(_: SSAValue) -> bool:
    return True


# -- elementwise ------------------------------------------------------------------------------

_UNARY_ATTRIBUTES: dict[type[NnOperation], Callable[[Choices], dict[str, object]]] = {
    ew.LeakyReluOp: lambda c: {"alpha": c.choice([0.01, 0.0, 0.5, -1.0])},
    ew.EluOp: lambda c: {"alpha": c.choice([1.0, 0.5])},
    ew.GeluOp: lambda c: {"approximate": c.choice(["none", "tanh"])},
    ew.ClipOp: lambda c: {"min": c.choice([-1.0, 0.0, -3.0]), "max": c.choice([6.0, 2.0])},
}


def unary(g: Graph, op: type[NnOperation], dtype: np.dtype[Any]) -> SSAValue | None:
    x = g.operand(dtype, _any, any_dims)
    return g.add(op, [x], _UNARY_ATTRIBUTES.get(op, lambda _: {})(g.choices))


def binary(g: Graph, op: type[NnOperation], dtype: np.dtype[Any]) -> SSAValue | None:
    x = g.operand(dtype, _any, any_dims)
    other = g.partner(x)
    attributes: dict[str, object] = {}
    if op is ew.ModOp:
        attributes["fmod"] = 1 if is_float_dtype(dtype) or g.choices.boolean() else 0
    if not is_float_dtype(dtype) and op in (ew.DivOp, ew.ModOp, ew.PowOp):
        other = _integer_right_operand(g, op, dtype, shape_of(other))
    elif g.choices.boolean():  # either side may be the one broadcast
        x, other = other, x
    return g.add(op, [x, other], attributes)


def _integer_right_operand(
    g: Graph, op: type[NnOperation], dtype: np.dtype[Any], dims: Sequence[int]
) -> SSAValue:
    """A divisor that is never zero, or a small exponent that is never negative (numpy and
    ONNX leave those undefined for integers)."""
    if op is ew.PowOp:
        return g.new_constant(dtype, dims, g.rng.integers(0, 4, dims).astype(dtype))
    divisor = g.rng.integers(1, 6, dims) * g.rng.choice([-1, 1], dims)
    return g.new_constant(dtype, dims, divisor.astype(dtype))


def variadic(g: Graph, op: type[NnOperation], dtype: np.dtype[Any]) -> SSAValue | None:
    x = g.operand(dtype, _any, any_dims)
    others = [g.partner(x) for _ in range(g.choices.integer(1, 2))]
    return g.add(op, [[x, *others]], accumulations=len(others))


_COMPARISONS: list[type[NnOperation]] = [
    ew.LessOp,
    ew.GreaterOp,
    ew.EqualOp,
    ew.LessOrEqualOp,
    ew.GreaterOrEqualOp,
]


def compare_where(g: Graph, op: type[NnOperation], dtype: np.dtype[Any]) -> SSAValue | None:
    """A comparison (op, or one drawn for nn.where) selecting between two values."""
    x = g.operand(dtype, _any, any_dims)
    compare = g.choices.choice(_COMPARISONS) if op is ew.WhereOp else op
    condition = g.add(compare, [x, g.partner(x)])
    if condition is None:
        return None
    g.values.remove(condition)  # booleans feed where only
    return g.add(ew.WhereOp, [condition, x, g.partner(x)])


def fold_bait(g: Graph, op: type[NnOperation], dtype: np.dtype[Any]) -> SSAValue | None:
    """An op on constants only (nn-canonicalize folds it), then used with data."""
    x = g.operand(dtype, _any, any_dims)
    constant = g.new_constant(dtype, shape_of(x)[-1:])
    folded = g.add(op, [constant, constant] if op is ew.AddOp else [constant])
    return None if folded is None else g.add(ew.MulOp, [x, folded])


# -- reductions -------------------------------------------------------------------------------


def reduce(g: Graph, op: type[NnOperation], dtype: np.dtype[Any]) -> SSAValue | None:
    x = g.operand(dtype, rank_between(1), lambda c: any_dims(c, low_rank=2))
    dims = shape_of(x)
    # mostly one axis (the common case, and the one an axis off by one keeps the type of)
    count = 2 if g.choices.integer(0, 2) == 0 else 1
    axes = sorted({g.choices.integer(0, len(dims) - 1) for _ in range(count)})
    attributes: dict[str, object] = {"axes": axes, "keepdims": g.choices.integer(0, 1)}
    return g.add(op, [x], attributes, prod(dims[a] for a in axes))


def arg_reduce(g: Graph, op: type[NnOperation], dtype: np.dtype[Any]) -> SSAValue | None:
    x = g.operand(dtype, rank_between(1), any_dims)
    rank = len(shape_of(x))
    attributes: dict[str, object] = {
        "axis": g.choices.integer(-rank, rank - 1),
        "keepdims": g.choices.integer(0, 1),
    }
    if g.choices.boolean():
        attributes["select_last_index"] = 1
    return g.add(op, [x], attributes)


def cumulative(g: Graph, op: type[NnOperation], dtype: np.dtype[Any]) -> SSAValue | None:
    x = g.operand(dtype, rank_between(1), any_dims)
    rank = len(shape_of(x))
    axis = g.choices.integer(-rank, rank - 1)
    attributes: dict[str, object] = {"axis": axis}
    attributes |= {"exclusive": g.choices.integer(0, 1), "reverse": g.choices.integer(0, 1)}
    return g.add(op, [x], attributes, shape_of(x)[axis])


# -- windows ----------------------------------------------------------------------------------


def pool(g: Graph, op: type[NnOperation], dtype: np.dtype[Any]) -> SSAValue | None:
    x = g.operand(dtype, rank_between(4, 4), image_dims)
    if op in (neural.GlobalAveragePoolOp, neural.GlobalMaxPoolOp):
        return g.add(op, [x], None, prod(shape_of(x)[2:]))
    c = g.choices
    spatial = shape_of(x)[2:]
    kernel = [c.integer(1, min(3, d)) for d in spatial]
    attributes: dict[str, object] = {"kernel_shape": kernel}
    attributes["strides"] = [c.integer(1, 2) for _ in spatial]
    pads = [c.integer(0, k - 1) for k in kernel * 2] if c.boolean() else [0] * 4
    if any(pads):
        attributes["pads"] = pads
    # a dilated window must still fit the padded input
    dilations = [
        2 if (k - 1) * 2 + 1 <= d + pads[i] + pads[i + 2] and c.boolean() else 1
        for i, (k, d) in enumerate(zip(kernel, spatial, strict=True))
    ]
    if op is not neural.AveragePoolOp and any(d > 1 for d in dilations):
        attributes["dilations"] = dilations
    if c.boolean():
        attributes["ceil_mode"] = 1
    if op is neural.AveragePoolOp and c.boolean():
        attributes["count_include_pad"] = 1
    if op is neural.LpPoolOp:
        attributes["p"] = c.choice([2, 1, 3])
    return g.add(op, [x], attributes, prod(kernel))


# -- contractions -----------------------------------------------------------------------------


def matmul(g: Graph, op: type[NnOperation], dtype: np.dtype[Any]) -> SSAValue | None:
    x = g.operand(dtype, rank_between(1), matrix_dims)
    k = shape_of(x)[-1]
    n = k if g.choices.boolean() else g.choices.integer(1, 4)  # square: a transpose fits
    dims = g.choices.choice([(k, n), (k,), (g.choices.integer(1, 2), k, n)])
    if len(dims) == 3 and len(shape_of(x)) == 1:
        dims = (k, n)
    other = g.choices.choice(["weight", "input"])
    y = g.new_weight(dtype, dims) if other == "weight" else g.new_input(dtype, dims)
    return g.add(op, [x, y], None, k)


def gemm(g: Graph, op: type[NnOperation], dtype: np.dtype[Any]) -> SSAValue | None:
    x = g.operand(dtype, rank_between(2, 2), matrix_dims)
    c = g.choices
    rows, cols = shape_of(x)
    trans_a, trans_b = c.integer(0, 1), c.integer(0, 1)
    k, m = (rows, cols) if trans_a else (cols, rows)
    n = c.integer(1, 4)
    b = g.new_weight(dtype, (n, k) if trans_b else (k, n))
    c_dims = c.choice([None, (n,), (1, n), (m, n), (m, 1)])
    bias = None if c_dims is None else g.new_weight(dtype, c_dims)
    attributes: dict[str, object] = {"transA": trans_a, "transB": trans_b}
    if c.boolean():
        attributes |= {"alpha": c.choice([0.5, 2.0]), "beta": c.choice([0.5, 1.0])}
    y = g.add(op, [x, b, bias], attributes, k)
    if y is not None and c.boolean():
        return batchnorm_of(g, y)
    return y


def conv(g: Graph, op: type[NnOperation], dtype: np.dtype[Any]) -> SSAValue | None:
    x = g.operand(dtype, rank_between(4, 4), image_dims)
    c = g.choices
    _, channels, height, width = shape_of(x)
    group = c.choice([d for d in range(1, channels + 1) if channels % d == 0])
    out_channels = group * c.integer(1, 2)
    kernel = [c.integer(1, min(3, height)), c.integer(1, min(3, width))]
    attributes: dict[str, object] = {"group": group, "kernel_shape": kernel}
    if c.boolean():
        attributes["strides"] = [c.integer(1, 2), c.integer(1, 2)]
    pads = [c.integer(0, k - 1) for k in kernel * 2] if c.boolean() else [0] * 4
    if any(pads):
        attributes["pads"] = pads
    dilations = [
        c.integer(1, 2) if (k - 1) * 2 + 1 <= d + pads[i] + pads[i + 2] else 1
        for i, (k, d) in enumerate(zip(kernel, (height, width), strict=True))
    ]
    if any(d > 1 for d in dilations):
        attributes["dilations"] = dilations
    w = g.new_weight(dtype, (out_channels, channels // group, *kernel))
    b = g.new_weight(dtype, (out_channels,)) if c.boolean() else None
    y = g.add(op, [x, w, b], attributes, channels // group * prod(kernel))
    # most convs get a batchnorm: it is what nn-fold-batchnorm rewrites
    if y is not None and c.integer(0, 2) > 0:
        return batchnorm_of(g, y)
    return y


# -- normalization ----------------------------------------------------------------------------


def batchnorm_of(g: Graph, x: SSAValue) -> SSAValue | None:
    channels = shape_of(x)[1]
    dtype = numpy_dtype_of(x)
    params = [g.new_weight(dtype, (channels,)) for _ in range(3)]
    variance = g.new_weight(dtype, (channels,), positive=True)
    epsilon = g.choices.choice([1e-5, 1e-3])
    return g.add(neural.BatchNormalizationOp, [x, *params, variance], {"epsilon": epsilon})


def batchnorm(g: Graph, op: type[NnOperation], dtype: np.dtype[Any]) -> SSAValue | None:
    return batchnorm_of(g, g.operand(dtype, rank_between(2), image_dims))


def layernorm(g: Graph, op: type[NnOperation], dtype: np.dtype[Any]) -> SSAValue | None:
    x = g.operand(dtype, rank_between(1), any_dims)
    dims = shape_of(x)
    axis = g.choices.integer(-len(dims), len(dims) - 1)
    normalized = dims[axis:]
    scale = g.new_weight(dtype, normalized)
    bias = g.new_weight(dtype, normalized) if g.choices.boolean() else None
    return g.add(op, [x, scale, bias], {"axis": axis}, prod(normalized))


def softmax(g: Graph, op: type[NnOperation], dtype: np.dtype[Any]) -> SSAValue | None:
    x = g.operand(dtype, rank_between(1), any_dims)
    dims = shape_of(x)
    axis = g.choices.integer(-len(dims), len(dims) - 1)
    return g.add(op, [x], {"axis": axis}, dims[axis])


# -- casts ------------------------------------------------------------------------------------

_ONNX_TYPES = {
    F32: TensorProto.FLOAT,
    F64: TensorProto.DOUBLE,
    F16: TensorProto.FLOAT16,
    I32: TensorProto.INT32,
    I64: TensorProto.INT64,
}


def cast(g: Graph, op: type[NnOperation], dtype: np.dtype[Any]) -> SSAValue | None:
    """A conversion from `dtype` to another element type; floats are clipped first when they
    become integers (a float beyond the integer range has no defined result)."""
    x = g.operand(dtype, _any, any_dims)
    target = g.choices.choice([t for t in NUMBERS if t != dtype])
    if is_float_dtype(dtype) and not is_float_dtype(target):
        clipped = g.add(ew.ClipOp, [x], {"min": -100.0, "max": 100.0})
        if clipped is None:
            return None
        x = clipped
        g.float_to_int = True
    return g.add(op, [x], {"to": _ONNX_TYPES[target]})


# -- shape ops --------------------------------------------------------------------------------


def reshape(g: Graph, op: type[NnOperation], dtype: np.dtype[Any]) -> SSAValue | None:
    x = g.operand(dtype, _any, any_dims)
    rest = prod(shape_of(x))
    dims: list[int] = []
    for _ in range(g.choices.integer(0, 3)):
        factor = g.choices.choice([d for d in range(1, rest + 1) if rest % d == 0])
        dims.append(factor)
        rest //= factor
    dims.append(rest)
    if g.choices.boolean():
        dims[g.choices.integer(0, len(dims) - 1)] = -1
    return g.add(op, [x], {"shape": dims})


def transpose(g: Graph, op: type[NnOperation], dtype: np.dtype[Any]) -> SSAValue | None:
    x = g.operand(dtype, rank_between(1), lambda c: any_dims(c, low_rank=3))
    if g.choices.integer(0, 3) == 0:
        return g.add(op, [x])
    return g.add(op, [x], {"perm": g.choices.permutation(len(shape_of(x)))})


def unsqueeze(g: Graph, op: type[NnOperation], dtype: np.dtype[Any]) -> SSAValue | None:
    x = g.operand(dtype, _any, any_dims)
    return g.add(op, [x], {"axes": [g.choices.integer(0, len(shape_of(x)))]})


def squeeze(g: Graph, op: type[NnOperation], dtype: np.dtype[Any]) -> SSAValue | None:
    x = g.operand(dtype, lambda v: 1 in shape_of(v) and len(shape_of(v)) > 1, _with_a_one)
    ones = [axis for axis, d in enumerate(shape_of(x)) if d == 1]
    if not ones or len(ones) == len(shape_of(x)):
        return None
    return g.add(op, [x], {"axes": [g.choices.choice(ones)]})


def _with_a_one(c: Choices) -> tuple[int, ...]:
    dims = [c.integer(1, 4) for _ in range(c.integer(2, 4))]
    dims[c.integer(0, len(dims) - 1)] = 1
    return tuple(dims)


def flatten(g: Graph, op: type[NnOperation], dtype: np.dtype[Any]) -> SSAValue | None:
    x = g.operand(dtype, _any, any_dims)
    return g.add(op, [x], {"axis": g.choices.integer(0, len(shape_of(x)))})


def concat(g: Graph, op: type[NnOperation], dtype: np.dtype[Any]) -> SSAValue | None:
    x = g.operand(dtype, rank_between(1), any_dims)
    dims = shape_of(x)
    axis = g.choices.integer(0, len(dims) - 1)
    other_dims = list(dims)
    other_dims[axis] = g.choices.integer(1, 3)
    if other_dims == list(dims):
        other = g.partner(x, broadcast=False)
    else:
        other = g.choices.choice([g.new_weight, g.new_input])(dtype, other_dims)
    operands = [x, other] if g.choices.boolean() else [other, x]
    return g.add(op, [operands], {"axis": axis - len(dims) * g.choices.integer(0, 1)})


def slice_(g: Graph, op: type[NnOperation], dtype: np.dtype[Any]) -> SSAValue | None:
    x = g.operand(dtype, rank_between(1), any_dims)
    dims = shape_of(x)
    axis = g.choices.integer(0, len(dims) - 1)
    start = g.choices.integer(0, dims[axis] - 1)
    end = g.choices.integer(start + 1, dims[axis])
    step = g.choices.integer(1, 2)
    attributes: dict[str, object] = {"starts": [start], "ends": [end], "axes": [axis]}
    if step != 1:
        attributes["steps"] = [step]
    if g.choices.integer(0, 3) == 0:  # backwards, from the end
        attributes |= {"starts": [-1], "ends": [-dims[axis] - 1], "steps": [-step]}
    return g.add(op, [x], attributes)


def pad(g: Graph, op: type[NnOperation], dtype: np.dtype[Any]) -> SSAValue | None:
    x = g.operand(dtype, rank_between(1), any_dims)
    dims = shape_of(x)
    mode = g.choices.choice(["constant", "edge", "reflect"])
    # reflect needs pads below the dimension
    limits = [min(2, d - 1) if mode == "reflect" else 2 for d in dims]
    pads = [g.choices.integer(0, limit) for limit in limits * 2]
    attributes: dict[str, object] = {"pads": pads, "mode": mode}
    if mode == "constant" and g.choices.boolean():
        attributes["constant_value"] = g.choices.choice(
            [0.5, -2.0] if is_float_dtype(dtype) else [3, -2]
        )
    return g.add(op, [x], attributes)


def expand(g: Graph, op: type[NnOperation], dtype: np.dtype[Any]) -> SSAValue | None:
    x = g.operand(dtype, _any, any_dims)
    target = [g.choices.integer(1, 3) if d == 1 else d for d in shape_of(x)]
    if g.choices.boolean():
        target.insert(0, g.choices.integer(1, 2))
    return g.add(op, [x], {"shape": target})


def tile(g: Graph, op: type[NnOperation], dtype: np.dtype[Any]) -> SSAValue | None:
    x = g.operand(dtype, rank_between(1), any_dims)
    repeats = [g.choices.integer(1, 2) for _ in shape_of(x)]
    return g.add(op, [x], {"repeats": repeats})


def gather(g: Graph, op: type[NnOperation], dtype: np.dtype[Any]) -> SSAValue | None:
    x = g.operand(dtype, rank_between(1), any_dims)
    dims = shape_of(x)
    axis = g.choices.integer(0, len(dims) - 1)
    index_dims = tuple(g.choices.integer(1, 3) for _ in range(g.choices.integer(0, 2)))
    # negative indices count from the end
    indices = g.rng.integers(-dims[axis], dims[axis], index_dims).astype(np.int64)
    index_value = g.new_constant(I64, index_dims, indices)
    return g.add(op, [x, index_value], {"axis": axis})


# -- the catalog ------------------------------------------------------------------------------

_INTEGERS_TOO = NUMBERS


def _specs(
    family: str,
    build: Builder,
    ops: Sequence[type[NnOperation]],
    dtypes: tuple[np.dtype[Any], ...] = FLOATS,
) -> list[OpSpec]:
    return [OpSpec(op, family, build, dtypes) for op in ops]


CATALOG: tuple[OpSpec, ...] = tuple(
    _specs(
        "unary",
        unary,
        [ew.ReluOp, ew.NegOp, ew.AbsOp, ew.SignOp, ew.IdentityOp, ew.ClipOp],
        _INTEGERS_TOO,
    )
    + _specs(
        "unary",
        unary,
        [
            ew.DropoutOp,
            ew.SigmoidOp,
            ew.TanhOp,
            ew.ErfOp,
            ew.ExpOp,
            ew.LogOp,
            ew.SqrtOp,
            ew.FloorOp,
            ew.CeilOp,
            ew.RoundOp,
            ew.ReciprocalOp,
            ew.SinOp,
            ew.CosOp,
            ew.LeakyReluOp,
            ew.EluOp,
            ew.GeluOp,
        ],
    )
    + _specs(
        "binary",
        binary,
        [ew.AddOp, ew.SubOp, ew.MulOp, ew.DivOp, ew.PowOp, ew.ModOp],
        _INTEGERS_TOO,
    )
    + _specs("binary", binary, [ew.BitwiseAndOp, ew.BitwiseOrOp, ew.BitwiseXorOp], (I32, I64))
    + _specs("binary", variadic, [ew.SumOp, ew.MeanOp])
    + _specs("binary", variadic, [ew.MaxOp, ew.MinOp], _INTEGERS_TOO)
    + _specs("binary", compare_where, [ew.WhereOp, *_COMPARISONS], _INTEGERS_TOO)
    + _specs(
        "reduction",
        reduce,
        [
            reduction.ReduceSumOp,
            reduction.ReduceMeanOp,
            reduction.ReduceMaxOp,
            reduction.ReduceMinOp,
            reduction.ReduceProdOp,
        ],
        _INTEGERS_TOO,
    )
    + _specs("reduction", arg_reduce, [reduction.ArgMaxOp, reduction.ArgMinOp], _INTEGERS_TOO)
    + _specs("reduction", cumulative, [reduction.CumSumOp], _INTEGERS_TOO)
    + _specs(
        "window",
        pool,
        [
            neural.MaxPoolOp,
            neural.AveragePoolOp,
            neural.LpPoolOp,
            neural.GlobalAveragePoolOp,
            neural.GlobalMaxPoolOp,
        ],
    )
    + _specs("contraction", matmul, [neural.MatMulOp], _INTEGERS_TOO)
    + _specs("contraction", gemm, [neural.GemmOp])
    + _specs("contraction", conv, [neural.ConvOp])
    + _specs("normalization", softmax, [neural.SoftmaxOp, neural.LogSoftmaxOp])
    + _specs("normalization", batchnorm, [neural.BatchNormalizationOp])
    + _specs("normalization", layernorm, [neural.LayerNormalizationOp])
    + _specs("cast", cast, [ew.CastOp], _INTEGERS_TOO)
    + _specs("shape", reshape, [shape.ReshapeOp], _INTEGERS_TOO)
    + _specs("shape", transpose, [shape.TransposeOp], _INTEGERS_TOO)
    + _specs("shape", unsqueeze, [shape.UnsqueezeOp], _INTEGERS_TOO)
    + _specs("shape", squeeze, [shape.SqueezeOp], _INTEGERS_TOO)
    + _specs("shape", flatten, [shape.FlattenOp], _INTEGERS_TOO)
    + _specs("shape", concat, [shape.ConcatOp], _INTEGERS_TOO)
    + _specs("shape", slice_, [shape.SliceOp], _INTEGERS_TOO)
    + _specs("shape", pad, [shape.PadOp], _INTEGERS_TOO)
    + _specs("shape", expand, [shape.ExpandOp], _INTEGERS_TOO)
    + _specs("shape", tile, [shape.TileOp], _INTEGERS_TOO)
    + _specs("shape", gather, [shape.GatherOp], _INTEGERS_TOO)
)

SPECS_BY_NAME: dict[str, OpSpec] = {spec.name: spec for spec in CATALOG}
