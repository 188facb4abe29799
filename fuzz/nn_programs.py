"""Random, well-typed nn programs: DAGs of nn ops with compatible shapes and attributes.

A program grows one op at a time from one or two inputs. Each step draws an op family (the
families below), picks operands among the values built so far, or makes new weights,
constants or inputs of a compatible shape, and lets onnx's shape inference (the op's own
`infer_result_types`) give the result type; a combination that inference rejects is dropped,
so every program verifies. The mix is biased towards what the nn passes rewrite: batch
normalizations with constant parameters right after a conv or a gemm (nn-fold-batchnorm), ops
on constants, identity and dropout, and chains of reshapes and transposes (nn-canonicalize).

Shrinking works on the draws: fewer steps, earlier families in `_FAMILIES`, smaller sizes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from math import prod
from typing import Any

import numpy as np
from hypothesis import strategies as st
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, TensorType
from xdsl.ir import Attribute, Block, Region, SSAValue
from xdsl.utils.exceptions import VerifyException

from ..dialects.nn import elementwise as ew
from ..dialects.nn import neural, reduction, shape
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
from .data import Edges, random_array
from .levels import Program

Operands = Sequence[SSAValue | Sequence[SSAValue] | None]


@dataclass
class _Graph:
    """The program under construction."""

    draw: st.DrawFn
    rng: np.random.Generator
    block: Block = field(default_factory=Block)
    inputs: list[TensorSpec] = field(default_factory=list[TensorSpec])
    weights: dict[str, np.ndarray] = field(default_factory=dict[str, np.ndarray])
    values: list[SSAValue] = field(default_factory=list[SSAValue])
    accumulations: int = 1

    # -- values ------------------------------------------------------------------------------

    def new_input(self, dtype: np.dtype[Any], dims: Sequence[int]) -> SSAValue:
        argument = self.block.insert_arg(tensor_type(dtype, dims), len(self.block.args))
        self.inputs.append(TensorSpec(f"x{len(self.inputs)}", np.dtype(dtype), tuple(dims)))
        self.values.append(argument)
        return argument

    def new_weight(self, dtype: np.dtype[Any], dims: Sequence[int], positive: bool = False):
        array = random_array(self.rng, dtype, dims)
        if positive:
            array = np.abs(array) + np.asarray(0.5, dtype=dtype)
        name = f"w{len(self.weights)}"
        self.weights[name] = array
        op = WeightOp(name, tensor_type(np.dtype(dtype), dims))
        self.block.add_op(op)
        return op.output

    def new_constant(self, dtype: np.dtype[Any], dims: Sequence[int]) -> SSAValue:
        array = random_array(self.rng, dtype, dims)
        op = ConstantOp(
            attributes={"value": dense_from_numpy(array)},
            result_types=[tensor_type(np.dtype(dtype), dims)],
        )
        self.block.add_op(op)
        return op.output

    def pick(self, accept: Callable[[SSAValue], bool] = lambda _: True) -> SSAValue | None:
        candidates = [v for v in self.values if accept(v) and _is_float(v)]
        if not candidates:
            return None
        # the newest values first, so that shrinking keeps chains rather than fan-outs
        return candidates[-1 - self.draw(st.integers(0, len(candidates) - 1))]

    def partner(self, value: SSAValue, broadcast: bool = True) -> SSAValue:
        """A value of `value`'s dtype whose shape broadcasts with it (an existing value, a new
        weight, an inline constant or a new input)."""
        dims = shape_of(value)
        if broadcast and dims:
            keep = self.draw(st.integers(0, len(dims)))
            dims = tuple(1 if self.draw(st.booleans()) else d for d in dims[len(dims) - keep :])
        same = [v for v in self.values if v is not value and v.type == _with_dims(value, dims)]
        kind = self.draw(st.sampled_from(["existing", "weight", "constant", "input"]))
        dtype = numpy_dtype_of(value)
        if kind == "existing" and same:
            return self.draw(st.sampled_from(same))
        if kind == "constant" or (kind == "existing" and prod(dims) <= 4):
            return self.new_constant(dtype, dims)
        if kind == "input":
            return self.new_input(dtype, dims)
        return self.new_weight(dtype, dims)

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
        if result_type is None:
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


def _is_float(value: SSAValue) -> bool:
    return np.issubdtype(numpy_dtype_of(value), np.floating)


def _with_dims(value: SSAValue, dims: Sequence[int]) -> Attribute:
    assert isinstance(value.type, TensorType)
    return TensorType(value.type.element_type, list(dims))


def _rank(low: int, high: int = 8) -> Callable[[SSAValue], bool]:
    return lambda v: low <= len(shape_of(v)) <= high


# -- op families ----------------------------------------------------------------------------

_UNARY: list[tuple[type[NnOperation], Callable[[st.DrawFn], dict[str, object]]]] = [
    (ew.ReluOp, lambda d: {}),
    (ew.IdentityOp, lambda d: {}),
    (ew.DropoutOp, lambda d: {}),
    (ew.NegOp, lambda d: {}),
    (ew.AbsOp, lambda d: {}),
    (ew.SigmoidOp, lambda d: {}),
    (ew.TanhOp, lambda d: {}),
    (ew.ErfOp, lambda d: {}),
    (ew.ExpOp, lambda d: {}),
    (ew.LogOp, lambda d: {}),
    (ew.SqrtOp, lambda d: {}),
    (ew.FloorOp, lambda d: {}),
    (ew.CeilOp, lambda d: {}),
    (ew.ReciprocalOp, lambda d: {}),
    (ew.LeakyReluOp, lambda d: {"alpha": d(st.sampled_from([0.01, 0.0, 0.5, -1.0]))}),
    (ew.EluOp, lambda d: {"alpha": d(st.sampled_from([1.0, 0.5]))}),
    (ew.GeluOp, lambda d: {"approximate": d(st.sampled_from(["none", "tanh"]))}),
    (ew.ClipOp, lambda d: {"min": d(st.sampled_from([-1.0, 0.0])), "max": 6.0}),
]


def _unary(graph: _Graph) -> None:
    x = graph.pick()
    if x is None:
        return
    op_class, attributes = graph.draw(st.sampled_from(_UNARY))
    graph.add(op_class, [x], attributes(graph.draw))


_BINARY: list[type[NnOperation]] = [ew.AddOp, ew.SubOp, ew.MulOp, ew.DivOp, ew.PowOp]


def _binary(graph: _Graph) -> None:
    x = graph.pick()
    if x is None:
        return
    other = graph.partner(x)
    lhs, rhs = (x, other) if graph.draw(st.booleans()) else (other, x)
    graph.add(graph.draw(st.sampled_from(_BINARY)), [lhs, rhs])


def _variadic(graph: _Graph) -> None:
    x = graph.pick()
    if x is None:
        return
    others = [graph.partner(x) for _ in range(graph.draw(st.integers(1, 2)))]
    op_class = graph.draw(st.sampled_from([ew.SumOp, ew.MeanOp, ew.MaxOp, ew.MinOp]))
    graph.add(op_class, [[x, *others]], accumulations=len(others))


def _where(graph: _Graph) -> None:
    x = graph.pick()
    if x is None:
        return
    compare = graph.draw(
        st.sampled_from(
            [ew.LessOp, ew.GreaterOp, ew.EqualOp, ew.LessOrEqualOp, ew.GreaterOrEqualOp]
        )
    )
    condition = graph.add(compare, [x, graph.partner(x)])
    if condition is None:
        return
    graph.values.remove(condition)  # booleans feed where only
    graph.add(ew.WhereOp, [condition, x, graph.partner(x)])


def _constant_fold_bait(graph: _Graph) -> None:
    """An op on constants only (nn-canonicalize folds it), then used with data."""
    x = graph.pick()
    if x is None:
        return
    constant = graph.partner(x)
    if not isinstance(constant.owner, ConstantOp | WeightOp):
        constant = graph.new_constant(numpy_dtype_of(x), shape_of(x)[-1:])
    op_class = graph.draw(st.sampled_from([ew.NegOp, ew.ExpOp, ew.AbsOp, ew.AddOp]))
    operands = [constant, constant] if op_class is ew.AddOp else [constant]
    folded = graph.add(op_class, operands)
    if folded is not None:
        graph.add(ew.MulOp, [x, folded])


def _matmul(graph: _Graph) -> None:
    x = graph.pick(_rank(1))
    if x is None:
        return
    k = shape_of(x)[-1]
    n = graph.draw(st.integers(1, 4))
    weight_dims = (k,) if graph.draw(st.integers(0, 3)) == 0 else (k, n)
    graph.add(neural.MatMulOp, [x, graph.new_weight(numpy_dtype_of(x), weight_dims)], None, k)


def _gemm(graph: _Graph) -> None:
    x = graph.pick(_rank(2, 2))
    if x is None:
        return
    rows, cols = shape_of(x)
    trans_a = graph.draw(st.integers(0, 1))
    trans_b = graph.draw(st.integers(0, 1))
    k = rows if trans_a else cols
    m = cols if trans_a else rows
    n = graph.draw(st.integers(1, 4))
    dtype = numpy_dtype_of(x)
    b = graph.new_weight(dtype, (n, k) if trans_b else (k, n))
    c_dims = graph.draw(st.sampled_from([None, (n,), (1, n), (m, n), (m, 1)]))
    c = None if c_dims is None else graph.new_weight(dtype, c_dims)
    attributes: dict[str, object] = {"transA": trans_a, "transB": trans_b}
    if graph.draw(st.booleans()):
        attributes |= {"alpha": graph.draw(st.sampled_from([0.5, 2.0])), "beta": 0.5}
    y = graph.add(neural.GemmOp, [x, b, c], attributes, k)
    if y is not None and graph.draw(st.booleans()):
        _batchnorm_of(graph, y)


def _conv(graph: _Graph) -> None:
    x = graph.pick(_rank(4, 4))
    if x is None:
        return
    draw = graph.draw
    _, channels, height, width = shape_of(x)
    group = draw(st.sampled_from([g for g in range(1, channels + 1) if channels % g == 0]))
    out_channels = group * draw(st.integers(1, 2))
    kernel = [draw(st.integers(1, min(3, height))), draw(st.integers(1, min(3, width)))]
    attributes: dict[str, object] = {"group": group, "kernel_shape": kernel}
    if draw(st.booleans()):
        attributes["strides"] = [draw(st.integers(1, 2)), draw(st.integers(1, 2))]
    if draw(st.booleans()):
        attributes["pads"] = [draw(st.integers(0, k - 1)) for k in kernel * 2]
    if draw(st.booleans()):
        attributes["dilations"] = [draw(st.integers(1, 2)), draw(st.integers(1, 2))]
    dtype = numpy_dtype_of(x)
    w = graph.new_weight(dtype, (out_channels, channels // group, *kernel))
    b = graph.new_weight(dtype, (out_channels,)) if draw(st.booleans()) else None
    y = graph.add(neural.ConvOp, [x, w, b], attributes, channels // group * prod(kernel))
    # most convs get a batchnorm: it is what nn-fold-batchnorm rewrites
    if y is not None and draw(st.integers(0, 2)) > 0:
        _batchnorm_of(graph, y)


def _batchnorm_of(graph: _Graph, x: SSAValue) -> None:
    channels = shape_of(x)[1]
    dtype = numpy_dtype_of(x)
    params = [graph.new_weight(dtype, (channels,)) for _ in range(3)]
    variance = graph.new_weight(dtype, (channels,), positive=True)
    epsilon = graph.draw(st.sampled_from([1e-5, 1e-3]))
    graph.add(neural.BatchNormalizationOp, [x, *params, variance], {"epsilon": epsilon})


def _batchnorm(graph: _Graph) -> None:
    x = graph.pick(_rank(2))
    if x is not None:
        _batchnorm_of(graph, x)


def _pool(graph: _Graph) -> None:
    x = graph.pick(_rank(4, 4))
    if x is None:
        return
    draw = graph.draw
    op_class = draw(
        st.sampled_from(
            [
                neural.MaxPoolOp,
                neural.AveragePoolOp,
                neural.GlobalAveragePoolOp,
                neural.GlobalMaxPoolOp,
            ]
        )
    )
    if op_class in (neural.GlobalAveragePoolOp, neural.GlobalMaxPoolOp):
        graph.add(op_class, [x], None, prod(shape_of(x)[2:]))
        return
    _, _, height, width = shape_of(x)
    kernel = [draw(st.integers(1, min(3, height))), draw(st.integers(1, min(3, width)))]
    attributes: dict[str, object] = {"kernel_shape": kernel}
    attributes["strides"] = [draw(st.integers(1, 2)), draw(st.integers(1, 2))]
    if draw(st.booleans()):
        attributes["pads"] = [draw(st.integers(0, k - 1)) for k in kernel * 2]
    if draw(st.booleans()):
        attributes["ceil_mode"] = 1
    if op_class is neural.AveragePoolOp and draw(st.booleans()):
        attributes["count_include_pad"] = 1
    graph.add(op_class, [x], attributes, prod(kernel))


def _reduce(graph: _Graph) -> None:
    x = graph.pick(_rank(1))
    if x is None:
        return
    dims = shape_of(x)
    axes = graph.draw(st.lists(st.integers(0, len(dims) - 1), min_size=1, unique=True))
    op_class = graph.draw(
        st.sampled_from(
            [
                reduction.ReduceSumOp,
                reduction.ReduceMeanOp,
                reduction.ReduceMaxOp,
                reduction.ReduceMinOp,
            ]
        )
    )
    attributes: dict[str, object] = {
        "axes": sorted(axes),
        "keepdims": graph.draw(st.integers(0, 1)),
    }
    graph.add(op_class, [x], attributes, prod(dims[a] for a in axes))


def _softmax(graph: _Graph) -> None:
    x = graph.pick(_rank(1))
    if x is None:
        return
    dims = shape_of(x)
    axis = graph.draw(st.integers(-len(dims), len(dims) - 1))
    op_class = graph.draw(st.sampled_from([neural.SoftmaxOp, neural.LogSoftmaxOp]))
    graph.add(op_class, [x], {"axis": axis}, dims[axis])


def _shape_op(graph: _Graph) -> None:
    x = graph.pick()
    if x is None:
        return
    for _ in range(graph.draw(st.integers(1, 3))):
        kind = graph.draw(st.sampled_from(list(_SHAPE_STEPS)))
        y = _SHAPE_STEPS[kind](graph, x)
        if y is None:
            return
        x = y


def _reshape(graph: _Graph, x: SSAValue) -> SSAValue | None:
    size = prod(shape_of(x))
    dims: list[int] = []
    rest = size
    for _ in range(graph.draw(st.integers(0, 3))):
        factor = graph.draw(st.sampled_from([d for d in range(1, rest + 1) if rest % d == 0]))
        dims.append(factor)
        rest //= factor
    dims.append(rest)
    if graph.draw(st.booleans()):
        dims[graph.draw(st.integers(0, len(dims) - 1))] = -1
    return graph.add(shape.ReshapeOp, [x], {"shape": dims})


def _transpose(graph: _Graph, x: SSAValue) -> SSAValue | None:
    rank = len(shape_of(x))
    if rank == 0:
        return None
    if graph.draw(st.integers(0, 3)) == 0:
        return graph.add(shape.TransposeOp, [x])
    return graph.add(shape.TransposeOp, [x], {"perm": graph.draw(st.permutations(range(rank)))})


def _unsqueeze(graph: _Graph, x: SSAValue) -> SSAValue | None:
    axis = graph.draw(st.integers(0, len(shape_of(x))))
    return graph.add(shape.UnsqueezeOp, [x], {"axes": [axis]})


def _squeeze(graph: _Graph, x: SSAValue) -> SSAValue | None:
    ones = [axis for axis, d in enumerate(shape_of(x)) if d == 1]
    if not ones or len(ones) == len(shape_of(x)):
        return _unsqueeze(graph, x)
    return graph.add(shape.SqueezeOp, [x], {"axes": [graph.draw(st.sampled_from(ones))]})


def _flatten(graph: _Graph, x: SSAValue) -> SSAValue | None:
    return graph.add(shape.FlattenOp, [x], {"axis": graph.draw(st.integers(0, len(shape_of(x))))})


def _concat(graph: _Graph, x: SSAValue) -> SSAValue | None:
    dims = shape_of(x)
    if not dims:
        return None
    axis = graph.draw(st.integers(0, len(dims) - 1))
    other_dims = list(dims)
    other_dims[axis] = graph.draw(st.integers(1, 3))
    other = graph.partner(x, broadcast=False) if other_dims == list(dims) else None
    if other is None:
        other = graph.new_weight(numpy_dtype_of(x), other_dims)
    return graph.add(shape.ConcatOp, [[x, other]], {"axis": axis})


def _slice(graph: _Graph, x: SSAValue) -> SSAValue | None:
    dims = shape_of(x)
    if not dims:
        return None
    axis = graph.draw(st.integers(0, len(dims) - 1))
    start = graph.draw(st.integers(0, dims[axis] - 1))
    end = graph.draw(st.integers(start + 1, dims[axis]))
    step = graph.draw(st.integers(1, 2))
    attributes: dict[str, object] = {"starts": [start], "ends": [end], "axes": [axis]}
    if step != 1:
        attributes["steps"] = [step]
    return graph.add(shape.SliceOp, [x], attributes)


def _pad(graph: _Graph, x: SSAValue) -> SSAValue | None:
    dims = shape_of(x)
    mode = graph.draw(st.sampled_from(["constant", "edge", "reflect"]))
    # reflect needs pads below the dimension; edge needs a non-empty dimension
    limits = [min(2, d - 1) if mode == "reflect" else 2 for d in dims]
    pads = [graph.draw(st.integers(0, limit)) for limit in limits * 2]
    attributes: dict[str, object] = {"pads": pads, "mode": mode}
    if mode == "constant" and graph.draw(st.booleans()):
        attributes["constant_value"] = graph.draw(st.sampled_from([0.5, -2.0]))
    return graph.add(shape.PadOp, [x], attributes)


def _expand(graph: _Graph, x: SSAValue) -> SSAValue | None:
    dims = shape_of(x)
    target = [graph.draw(st.integers(1, 3)) if d == 1 else d for d in dims]
    if graph.draw(st.booleans()):
        target.insert(0, graph.draw(st.integers(1, 2)))
    return graph.add(shape.ExpandOp, [x], {"shape": target})


_SHAPE_STEPS: dict[str, Callable[[_Graph, SSAValue], SSAValue | None]] = {
    "reshape": _reshape,
    "transpose": _transpose,
    "unsqueeze": _unsqueeze,
    "squeeze": _squeeze,
    "flatten": _flatten,
    "concat": _concat,
    "slice": _slice,
    "pad": _pad,
    "expand": _expand,
}

# Repeats weight the mix; the simplest families come first, where shrinking goes.
_FAMILIES: list[Callable[[_Graph], None]] = [
    _unary,
    _binary,
    _binary,
    _shape_op,
    _shape_op,
    _conv,
    _conv,
    _gemm,
    _matmul,
    _variadic,
    _where,
    _constant_fold_bait,
    _batchnorm,
    _pool,
    _reduce,
    _softmax,
]


# -- programs -------------------------------------------------------------------------------


def _input_dims(draw: st.DrawFn) -> tuple[int, ...]:
    kind = draw(st.sampled_from(["image", "matrix", "any"]))
    if kind == "image":
        return (
            draw(st.integers(1, 2)),
            draw(st.integers(1, 4)),
            draw(st.integers(1, 6)),
            draw(st.integers(1, 6)),
        )
    if kind == "matrix":
        return (draw(st.integers(1, 4)), draw(st.integers(1, 6)))
    return tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=4)))


@st.composite
def nn_program(draw: st.DrawFn, max_ops: int = 6, dtype: str | None = None) -> Program:
    """One random nn program (see the module docstring)."""
    element = np.dtype(dtype or draw(st.sampled_from(["float32", "float32", "float64"])))
    graph = _Graph(draw, np.random.default_rng(draw(st.integers(0, 2**32 - 1))))
    graph.new_input(element, _input_dims(draw))
    for _ in range(draw(st.integers(1, max_ops))):
        draw(st.sampled_from(_FAMILIES))(graph)
    results = [graph.values[-1]]
    extra = [v for v in graph.values[:-1] if _is_float(v) and not v.uses]
    results += draw(st.lists(st.sampled_from(extra), max_size=1, unique=True)) if extra else []
    graph.block.add_op(func.ReturnOp(*results))
    main = func.FuncOp(
        "main",
        ([a.type for a in graph.block.args], [r.type for r in results]),
        Region(graph.block),
    )
    module = ModuleOp([main])
    module.verify()
    return Program(
        text=str(module),
        inputs=tuple(graph.inputs),
        level="nn",
        weights=graph.weights,
        edges=Edges.SPECIAL,
        accumulations=graph.accumulations,
    )


def nn_programs(max_ops: int = 6) -> st.SearchStrategy[Program]:
    return nn_program(max_ops)
