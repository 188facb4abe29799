"""numpy reference semantics of every nn op: the oracle for differential testing.

A kernel takes the op (for its attributes and result types) and numpy inputs and returns the
results, with ONNX's semantics at `CANONICAL_OPSET`. Every op has its own kernel here except those
whose ONNX definition is mostly windowing arithmetic (Conv, ConvTranspose, MaxPool, AveragePool,
Resize): they run onnx's own numpy reference kernel on the op's equivalent ONNX node
(`onnx_kernel`). LRN is ours because onnx's kernel (onnx 1.23) sums the window only for the
first N channels: it loops over the batch size. Float16 inputs are computed in float32 wherever a
kernel takes several rounding steps, as onnxruntime does.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np
import onnx
from onnx import helper
from onnx.reference import ReferenceEvaluator
from xdsl.dialects.builtin import TensorType
from xdsl.ir import Attribute, Operation, SSAValue

from ...errors import IndexOutOfRangeError
from . import constants, elementwise, neural, reduction
from . import shape as shape_ops
from .base import (
    CANONICAL_OPSET,
    NnOperation,
    element_type_from_onnx,
    element_type_to_numpy,
    element_type_to_onnx,
    node_name,
)

Kernel = Callable[[NnOperation, Sequence[np.ndarray]], Sequence[np.ndarray]]

KERNELS: dict[type[Operation], Kernel] = {}


def kernel(*op_types: type[Operation]) -> Callable[[Kernel], Kernel]:
    def register(function: Kernel) -> Kernel:
        for op_type in op_types:
            KERNELS[op_type] = function
        return function

    return register


def evaluate(op: Operation, inputs: Sequence[np.ndarray]) -> tuple[np.ndarray, ...]:
    """Runs one op; results are cast to the op's declared result element types."""
    assert isinstance(op, NnOperation), f"{op.name} has no reference semantics"
    run = KERNELS.get(type(op), onnx_kernel)
    # inf and nan results (log(0), 0/0, casts of nan) are ONNX's IEEE semantics, not errors.
    with np.errstate(all="ignore"):
        outputs = run(op, inputs)
        return tuple(
            np.asarray(value, dtype=_result_dtype(result.type))
            for value, result in zip(outputs, op.results, strict=True)
        )


def _result_dtype(result_type: object) -> np.dtype[np.generic]:
    assert isinstance(result_type, TensorType)
    return element_type_to_numpy(result_type.element_type)


def onnx_kernel(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """onnx's numpy reference kernel, run on the op's equivalent ONNX node."""
    input_names = [f"in{i}" for i in range(len(inputs))]
    output_names = [f"out{i}" for i in range(len(op.results))]
    node, initializers = op.onnx_node(input_names, output_names)
    graph = helper.make_graph(
        [node],
        "reference",
        [
            helper.make_tensor_value_info(name, element_type_to_onnx(_element(v)), list(a.shape))
            for name, v, a in zip(input_names, op.operands, inputs, strict=True)
        ],
        [
            helper.make_tensor_value_info(name, onnx.TensorProto.UNDEFINED, None)
            for name in output_names
        ],
        initializer=initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", CANONICAL_OPSET)])
    evaluator = ReferenceEvaluator(model)
    return list(evaluator.run(None, dict(zip(input_names, inputs, strict=True))))  # pyright: ignore


def _element(value: SSAValue) -> Attribute:
    value_type = value.type
    assert isinstance(value_type, TensorType)
    return value_type.element_type


# -- helpers --------------------------------------------------------------------------------


def _axis(axis: int, rank: int) -> int:
    """ONNX axes count from the end when negative."""
    return axis + rank if axis < 0 else axis


def _widen(array: np.ndarray) -> np.ndarray:
    """float16 computes in float32 (each numpy float16 step would round to float16)."""
    return array.astype(np.float32) if array.dtype == np.float16 else array


def _is_integer(array: np.ndarray) -> bool:
    return bool(np.issubdtype(array.dtype, np.integer))


def _elementwise(function: Callable[..., np.ndarray]) -> Kernel:
    """A kernel that applies a numpy function (a ufunc) to the inputs, broadcasting them."""

    def run(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        return [np.asarray(function(*inputs))]

    return run


# -- elementwise ----------------------------------------------------------------------------

_UFUNCS: dict[type[Operation], Callable[..., np.ndarray]] = {
    elementwise.TanhOp: np.tanh,
    elementwise.SqrtOp: np.sqrt,
    elementwise.ExpOp: np.exp,
    elementwise.LogOp: np.log,
    elementwise.NegOp: np.negative,
    elementwise.AbsOp: np.abs,
    elementwise.NotOp: np.logical_not,
    elementwise.FloorOp: np.floor,
    elementwise.CeilOp: np.ceil,
    elementwise.ReciprocalOp: np.reciprocal,
    elementwise.AddOp: np.add,
    elementwise.SubOp: np.subtract,
    elementwise.MulOp: np.multiply,
    elementwise.EqualOp: np.equal,
    elementwise.LessOp: np.less,
    elementwise.LessOrEqualOp: np.less_equal,
    elementwise.GreaterOp: np.greater,
    elementwise.GreaterOrEqualOp: np.greater_equal,
    elementwise.AndOp: np.logical_and,
    elementwise.OrOp: np.logical_or,
    elementwise.XorOp: np.logical_xor,
    elementwise.BitwiseAndOp: np.bitwise_and,
    elementwise.BitwiseOrOp: np.bitwise_or,
    elementwise.BitwiseXorOp: np.bitwise_xor,
    elementwise.BitwiseNotOp: np.invert,
    elementwise.SinOp: np.sin,
    elementwise.CosOp: np.cos,
    elementwise.TanOp: np.tan,
    elementwise.AsinOp: np.arcsin,
    elementwise.AcosOp: np.arccos,
    elementwise.AtanOp: np.arctan,
    elementwise.SinhOp: np.sinh,
    elementwise.CoshOp: np.cosh,
    elementwise.AsinhOp: np.arcsinh,
    elementwise.AcoshOp: np.arccosh,
    elementwise.AtanhOp: np.arctanh,
    elementwise.RoundOp: np.round,  # ties to even
    elementwise.SignOp: np.sign,
    elementwise.IsNaNOp: np.isnan,
}
for _op_type, _function in _UFUNCS.items():
    KERNELS[_op_type] = _elementwise(_function)


@kernel(elementwise.IdentityOp, elementwise.DropoutOp)
def _identity(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    return [inputs[0].copy()]  # inference-mode dropout is the identity


@kernel(elementwise.ReluOp)
def _relu(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    return [np.maximum(inputs[0], 0)]


@kernel(elementwise.SigmoidOp)
def _sigmoid(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    x = _widen(inputs[0])
    exp_minus_abs = np.exp(-np.abs(x))  # never overflows, unlike exp(-x) for very negative x
    return [np.where(x >= 0, 1 / (1 + exp_minus_abs), exp_minus_abs / (1 + exp_minus_abs))]


@kernel(elementwise.LeakyReluOp)
def _leaky_relu(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    x = inputs[0]
    return [np.where(x < 0, x * op.float_attr("alpha"), x)]


@kernel(elementwise.EluOp)
def _elu(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    x = _widen(inputs[0])
    return [np.where(x < 0, op.float_attr("alpha") * np.expm1(x), x)]


def _erf(x: np.ndarray) -> np.ndarray:
    """Correctly rounded erf: math.erf per element, in float64 (numpy has no erf)."""
    values = np.frompyfunc(math.erf, 1, 1)(x.astype(np.float64))
    return np.asarray(values, dtype=np.float64)


@kernel(elementwise.ErfOp)
def _erf_kernel(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    return [_erf(inputs[0])]


@kernel(elementwise.GeluOp)
def _gelu(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    x = inputs[0].astype(np.float64)
    if op.str_attr("approximate") == "tanh":
        inner = math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)
        return [0.5 * x * (1 + np.tanh(inner))]
    return [0.5 * x * (1 + _erf(x / math.sqrt(2)))]


@kernel(elementwise.ClipOp)
def _clip(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    result = inputs[0]
    low, high = op.attr("min"), op.attr("max")
    # max after min: when min > max, every element becomes max, as ONNX specifies.
    if isinstance(low, float):
        result = np.maximum(result, np.asarray(low).astype(result.dtype))
    if isinstance(high, float):
        result = np.minimum(result, np.asarray(high).astype(result.dtype))
    return [result]


@kernel(elementwise.CastOp)
def _cast(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    target = element_type_to_numpy(element_type_from_onnx(op.int_attr("to")))
    return [inputs[0].astype(target)]  # floats to ints truncate toward zero, as in C


@kernel(elementwise.DivOp)
def _div(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    lhs, rhs = inputs
    if not _is_integer(lhs):
        return [lhs / rhs]
    # numpy's // floors; ONNX integer division truncates toward zero, as C does.
    floored = lhs // rhs
    inexact_negative = (lhs % rhs != 0) & ((lhs < 0) != (rhs < 0))
    return [floored + inexact_negative]


@kernel(elementwise.ModOp)
def _mod(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    lhs, rhs = inputs
    if op.int_attr("fmod"):
        return [np.fmod(lhs, rhs)]  # the dividend's sign
    return [np.mod(lhs, rhs)]  # the divisor's sign; an integer mod 0 is 0, as in numpy


@kernel(elementwise.IsInfOp)
def _is_inf(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    x = inputs[0]
    positive = (x == np.inf) & bool(op.int_attr("detect_positive"))
    return [positive | ((x == -np.inf) & bool(op.int_attr("detect_negative")))]


@kernel(elementwise.BitShiftOp)
def _bit_shift(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    x, amount = inputs
    in_range = (amount >= 0) & (amount < x.dtype.itemsize * 8)
    safe = np.where(in_range, amount, 0).astype(x.dtype)
    if op.str_attr("direction") == "LEFT":
        return [np.where(in_range, np.left_shift(x, safe), 0)]
    # numpy's right shift of a signed integer is arithmetic; out of range leaves the sign
    sign_fill = np.where(x < 0, -1, 0) if np.issubdtype(x.dtype, np.signedinteger) else 0
    return [np.where(in_range, np.right_shift(x, safe), sign_fill)]


@kernel(elementwise.PowOp)
def _pow(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    base, exponent = inputs
    if _is_integer(base) and _is_integer(exponent) and bool(np.all(exponent >= 0)):
        return [np.power(base, exponent)]  # exact, wrapping on overflow
    # The result has the base's type: onnxruntime computes in double and truncates to ints.
    return [np.power(base.astype(np.float64), exponent.astype(np.float64))]


@kernel(elementwise.SumOp)
def _sum(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    return [functools.reduce(np.add, inputs[1:], inputs[0].copy())]


@kernel(elementwise.MeanOp)
def _mean(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    total = functools.reduce(np.add, [_widen(x) for x in inputs])
    return [total / len(inputs)]


@kernel(elementwise.MaxOp)
def _max(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    return [functools.reduce(np.maximum, inputs[1:], inputs[0].copy())]


@kernel(elementwise.MinOp)
def _min(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    return [functools.reduce(np.minimum, inputs[1:], inputs[0].copy())]


@kernel(elementwise.WhereOp)
def _where(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    condition, x, y = inputs
    return [np.where(condition, x, y)]


# -- neural ---------------------------------------------------------------------------------


@kernel(neural.GemmOp)
def _gemm(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    a, b = _widen(inputs[0]), _widen(inputs[1])
    if op.int_attr("transA"):
        a = a.T
    if op.int_attr("transB"):
        b = b.T
    result = op.float_attr("alpha") * (a @ b)
    if len(inputs) == 3:  # C is optional
        result = result + op.float_attr("beta") * _widen(inputs[2])
    return [result]


@kernel(neural.MatMulOp)
def _matmul(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    # numpy.matmul is ONNX's definition: 1-d operands promoted, batch dimensions broadcast.
    return [np.matmul(_widen(inputs[0]), _widen(inputs[1]))]


@kernel(neural.EinsumOp)
def _einsum(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    return [np.einsum(op.str_attr("equation"), *(_widen(x) for x in inputs))]


@kernel(neural.BatchNormalizationOp)
def _batch_normalization(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    x, scale, bias, mean, variance = (_widen(value) for value in inputs)
    assert x.ndim >= 2, "BatchNormalization normalizes over axis 1"
    channel_shape = [1] * x.ndim
    channel_shape[1] = x.shape[1]

    def per_channel(value: np.ndarray) -> np.ndarray:
        return value.astype(x.dtype).reshape(channel_shape)

    inverse_std = 1 / np.sqrt(per_channel(variance) + op.float_attr("epsilon"))
    normalized = (x - per_channel(mean)) * inverse_std
    return [normalized * per_channel(scale) + per_channel(bias)]


@kernel(neural.LayerNormalizationOp)
def _layer_normalization(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    x = inputs[0]
    # stash_type is the least precise type of mean and variance (float32 by default).
    stash = element_type_to_numpy(element_type_from_onnx(op.int_attr("stash_type")))
    x = x.astype(np.promote_types(x.dtype, stash))
    axes = tuple(range(_axis(op.int_attr("axis"), x.ndim), x.ndim))
    centered = x - x.mean(axis=axes, keepdims=True)
    variance = np.mean(centered * centered, axis=axes, keepdims=True)
    result = centered / np.sqrt(variance + op.float_attr("epsilon")) * inputs[1]
    if len(inputs) == 3:  # B is optional
        result = result + inputs[2]
    return [result]


def _shifted_by_max(op: NnOperation, x: np.ndarray) -> tuple[np.ndarray, int]:
    """x minus its maximum along the op's axis, so that exp cannot overflow."""
    axis = _axis(op.int_attr("axis"), x.ndim)
    x = _widen(x)
    return x - np.max(x, axis=axis, keepdims=True), axis


@kernel(neural.SoftmaxOp)
def _softmax(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    shifted, axis = _shifted_by_max(op, inputs[0])
    exp = np.exp(shifted)
    return [exp / np.sum(exp, axis=axis, keepdims=True)]


@kernel(neural.LogSoftmaxOp)
def _log_softmax(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    shifted, axis = _shifted_by_max(op, inputs[0])
    return [shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))]


@kernel(neural.LRNOp)
def _lrn(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    x = _widen(inputs[0])
    size = op.int_attr("size")
    before = (size - 1) // 2
    after = size - 1 - before  # ceil((size - 1) / 2)
    # Zero channels on both sides make every window `size` wide: the window of channel c is
    # padded channels c .. c + size - 1.
    widths = [(0, 0), (before, after)] + [(0, 0)] * (x.ndim - 2)
    squares = np.pad(x * x, widths)
    channels = x.shape[1]
    square_sum = sum(squares[:, start : start + channels] for start in range(size))
    scale = op.float_attr("bias") + op.float_attr("alpha") / size * square_sum
    return [x / scale ** op.float_attr("beta")]


@kernel(neural.GlobalAveragePoolOp)
def _global_average_pool(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    x = _widen(inputs[0])
    return [np.mean(x, axis=tuple(range(2, x.ndim)), keepdims=True)]


@kernel(neural.GlobalMaxPoolOp)
def _global_max_pool(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    x = inputs[0]
    return [np.max(x, axis=tuple(range(2, x.ndim)), keepdims=True)]


# -- data movement --------------------------------------------------------------------------


@kernel(shape_ops.ReshapeOp)
def _reshape(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    data = inputs[0]
    shape = op.ints_attr("shape") or []
    if not op.int_attr("allowzero"):  # a 0 copies the input's dimension
        shape = [data.shape[i] if size == 0 else size for i, size in enumerate(shape)]
    return [data.reshape(shape)]  # numpy infers the one -1, as ONNX does


@kernel(shape_ops.FlattenOp)
def _flatten(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    x = inputs[0]
    axis = _axis(op.int_attr("axis"), x.ndim)
    outer = math.prod(x.shape[:axis])
    return [x.reshape(outer, math.prod(x.shape[axis:]))]  # no -1: it fails on empty tensors


@kernel(shape_ops.TransposeOp)
def _transpose(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    return [np.transpose(inputs[0], op.ints_attr("perm"))]  # no perm reverses the axes


@kernel(shape_ops.SqueezeOp)
def _squeeze(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    data = inputs[0]
    axes = op.ints_attr("axes")
    if not axes:  # squeezes every dimension of size 1
        return [np.squeeze(data)]
    return [np.squeeze(data, axis=tuple(_axis(a, data.ndim) for a in axes))]


@kernel(shape_ops.UnsqueezeOp)
def _unsqueeze(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    data = inputs[0]
    axes = op.ints_attr("axes") or []
    rank = data.ndim + len(axes)  # negative axes count from the end of the result
    return [np.expand_dims(data, tuple(_axis(a, rank) for a in axes))]


@kernel(shape_ops.ExpandOp)
def _expand(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    x = inputs[0]
    # Broadcasting is bidirectional: a 1 in `shape` keeps the input's dimension.
    shape = np.broadcast_shapes(x.shape, tuple(op.ints_attr("shape") or []))
    return [np.broadcast_to(x, shape).copy()]


@kernel(shape_ops.TileOp)
def _tile(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    return [np.tile(inputs[0], op.ints_attr("repeats") or [])]


def _slice_of(start: int, end: int, step: int, size: int) -> slice:
    """ONNX's clamping of one axis' bounds, as a Python slice."""
    start = start + size if start < 0 else start
    end = end + size if end < 0 else end
    if step > 0:
        return slice(min(max(start, 0), size), min(max(end, 0), size), step)
    start = min(max(start, 0), size - 1)
    end = min(max(end, -1), size - 1)
    return slice(start, None if end < 0 else end, step)  # -1: past index 0, not the last


@kernel(shape_ops.SliceOp)
def _slice(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    data = inputs[0]
    starts = op.ints_attr("starts") or []
    ends = op.ints_attr("ends") or []
    axes = op.ints_attr("axes") or list(range(len(starts)))
    steps = op.ints_attr("steps") or [1] * len(starts)
    index = [slice(None)] * data.ndim
    for start, end, axis, step in zip(starts, ends, axes, steps, strict=True):
        axis = _axis(axis, data.ndim)
        index[axis] = _slice_of(start, end, step, data.shape[axis])
    return [data[tuple(index)].copy()]


_PadMode = Literal["constant", "reflect", "edge", "wrap"]
_PAD_MODES: dict[str, _PadMode] = {
    "constant": "constant",
    "reflect": "reflect",
    "edge": "edge",
    "wrap": "wrap",
}
"""ONNX's pad modes by name; numpy's np.pad has the same four, with the same meanings."""


@kernel(shape_ops.PadOp)
def _pad(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    data = inputs[0]
    pads = op.ints_attr("pads") or []
    axes = [_axis(a, data.ndim) for a in op.ints_attr("axes") or range(data.ndim)]
    crop = [slice(None)] * data.ndim
    widths = [(0, 0)] * data.ndim
    for axis, begin, end in zip(axes, pads[: len(axes)], pads[len(axes) :], strict=True):
        crop[axis] = slice(max(-begin, 0), data.shape[axis] - max(-end, 0))
        widths[axis] = (max(begin, 0), max(end, 0))
    # Negative pads crop before the padding reads any values, as onnxruntime does.
    cropped = data[tuple(crop)]
    mode = _PAD_MODES[op.str_attr("mode")]
    if mode != "constant":
        return [np.pad(cropped, widths, mode=mode)]
    value = np.asarray(op.attr("constant_value") or 0).astype(data.dtype)
    return [np.pad(cropped, widths, mode="constant", constant_values=value)]


@kernel(shape_ops.ConcatOp)
def _concat(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    return [np.concatenate(inputs, axis=op.int_attr("axis"))]


def _split_sizes(op: NnOperation, size: int) -> list[int]:
    split = op.ints_attr("split")
    if split:
        return split
    num_outputs = op.attr("num_outputs")
    if not isinstance(num_outputs, int):  # neither given: equal parts, one per result
        assert size % len(op.results) == 0, "Split cannot divide the axis equally"
        return [size // len(op.results)] * len(op.results)
    chunk = -(-size // num_outputs)  # ceil: the last chunk is the smaller one
    return [chunk] * (num_outputs - 1) + [size - chunk * (num_outputs - 1)]


@kernel(shape_ops.SplitOp)
def _split(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    x = inputs[0]
    axis = _axis(op.int_attr("axis"), x.ndim)
    boundaries = np.cumsum(_split_sizes(op, x.shape[axis]))[:-1]
    return [part.copy() for part in np.split(x, boundaries, axis=axis)]


def first_out_of_range(
    indices: np.ndarray, dims: Sequence[int], axes: Sequence[int]
) -> tuple[int, int] | None:
    """(value, axis) of the first index, in row-major order, outside [-size, size) of its
    axis, or None. One axis checks every index against it; several check indices[..., k]
    against axes[k] (GatherND, ScatterND)."""
    values = indices.astype(np.int64)
    if len(axes) == 1:
        axis_of = np.full(values.shape, axes[0], np.int64)
    else:
        axis_of = np.broadcast_to(np.asarray(axes, np.int64), values.shape)
    sizes = np.asarray(dims, np.int64)[axis_of]
    bad = np.flatnonzero((values < -sizes) | (values >= sizes))
    if not bad.size:
        return None
    return int(values.reshape(-1)[bad[0]]), int(axis_of.reshape(-1)[bad[0]])


def _wrapped_indices(
    op: NnOperation, indices: np.ndarray, dims: Sequence[int], axes: Sequence[int]
) -> np.ndarray:
    """`indices` with negative ones counted from the end of their axis; one out of range
    raises `IndexOutOfRangeError`, as onnxruntime fails the run."""
    bad = first_out_of_range(indices, dims, axes)
    if bad is not None:
        value, axis = bad
        raise IndexOutOfRangeError(node_name(op), op.ONNX_TYPE, value, axis, dims[axis])
    values = indices.astype(np.int64)
    if len(axes) == 1:
        sizes = np.int64(dims[axes[0]])
    else:
        sizes = np.asarray([dims[a] for a in axes], np.int64)
    return np.where(values < 0, values + sizes, values)


@kernel(shape_ops.GatherOp)
def _gather(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    data, indices = inputs
    axis = _axis(op.int_attr("axis"), data.ndim)
    indices = _wrapped_indices(op, indices, data.shape, [axis])
    return [np.take(data, indices, axis=axis)]


@kernel(shape_ops.GatherElementsOp)
def _gather_elements(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    data, indices = inputs
    axis = _axis(op.int_attr("axis"), data.ndim)
    indices = _wrapped_indices(op, indices, data.shape, [axis])
    # the other axes read the first indices.shape entries (numpy would broadcast instead)
    window = tuple(
        slice(None) if a == axis else slice(size) for a, size in enumerate(indices.shape)
    )
    return [np.take_along_axis(data[window], indices, axis=axis)]


@kernel(shape_ops.GatherNDOp)
def _gather_nd(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    data, indices = inputs
    batch = op.int_attr("batch_dims")
    depth = indices.shape[-1]
    indices = _wrapped_indices(op, indices, data.shape, range(batch, batch + depth))
    result = np.empty((*indices.shape[:-1], *data.shape[batch + depth :]), data.dtype)
    for position in np.ndindex(*indices.shape[:-1]):
        picked = tuple(
            int(i) + size if i < 0 else int(i)
            for i, size in zip(indices[position], data.shape[batch:], strict=False)
        )
        result[position] = data[(*position[:batch], *picked)]
    return [result]


_SCATTER_COMBINE: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "none": lambda old, new: new,
    "add": np.add,
    "mul": np.multiply,
    "max": np.maximum,
    "min": np.minimum,
}


@kernel(shape_ops.ScatterElementsOp)
def _scatter_elements(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    data, indices, updates = inputs
    axis = _axis(op.int_attr("axis"), data.ndim)
    combine = _SCATTER_COMBINE[op.str_attr("reduction")]
    indices = _wrapped_indices(op, indices, data.shape, [axis])
    result = data.copy()
    for position in np.ndindex(*indices.shape):  # in order: later writes win
        target = list(position)
        index = int(indices[position])
        target[axis] = index + data.shape[axis] if index < 0 else index
        result[tuple(target)] = combine(result[tuple(target)], updates[position])
    return [result]


@kernel(shape_ops.ScatterNDOp)
def _scatter_nd(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    data, indices, updates = inputs
    combine = _SCATTER_COMBINE[op.str_attr("reduction")]
    result = data.copy()
    depth = indices.shape[-1]
    indices = _wrapped_indices(op, indices, data.shape, range(depth))
    for batch in np.ndindex(*indices.shape[:-1]):
        target = tuple(
            int(i) + size if i < 0 else int(i)
            for i, size in zip(indices[batch], data.shape[:depth], strict=True)
        )
        result[target] = combine(result[target], updates[batch])
    return [result]


@kernel(shape_ops.ShapeOp)
def _shape(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    end = op.attr("end")
    # Python's slice clamps start and end exactly as ONNX does.
    dims = inputs[0].shape[op.int_attr("start") : end if isinstance(end, int) else None]
    return [np.array(dims, dtype=np.int64)]


# -- reductions -----------------------------------------------------------------------------


def _reduced_axes(op: NnOperation, data: np.ndarray) -> tuple[int, ...]:
    """The axes to reduce; () reduces nothing (numpy's meaning too)."""
    axes = op.ints_attr("axes")
    if axes:
        return tuple(_axis(a, data.ndim) for a in axes)
    if op.int_attr("noop_with_empty_axes"):
        return ()
    return tuple(range(data.ndim))


def _keepdims(op: NnOperation) -> bool:
    return bool(op.int_attr("keepdims"))


@kernel(reduction.ReduceSumOp)
def _reduce_sum(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    data = _widen(inputs[0])
    axes = _reduced_axes(op, data)
    return [np.sum(data, axis=axes, keepdims=_keepdims(op), dtype=data.dtype)]


@kernel(reduction.ReduceProdOp)
def _reduce_prod(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    data = _widen(inputs[0])
    axes = _reduced_axes(op, data)
    return [np.prod(data, axis=axes, keepdims=_keepdims(op), dtype=data.dtype)]


@kernel(reduction.ReduceMeanOp)
def _reduce_mean(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    data = _widen(inputs[0])
    axes = _reduced_axes(op, data)
    if not _is_integer(data):
        return [np.mean(data, axis=axes, keepdims=_keepdims(op))]
    # Integer means divide the integer sum, truncating toward zero as onnxruntime does.
    total = np.sum(data, axis=axes, keepdims=_keepdims(op), dtype=data.dtype)
    count = math.prod(data.shape[a] for a in axes)
    return [np.sign(total) * (np.abs(total) // count)]


def _lowest(dtype: np.dtype[np.generic]) -> float | int | bool:
    """The identity of max: ONNX's maximum over an empty set."""
    if np.issubdtype(dtype, np.floating):
        return -np.inf
    if np.issubdtype(dtype, np.integer):
        return np.iinfo(dtype.name).min
    return False


def _highest(dtype: np.dtype[np.generic]) -> float | int | bool:
    if np.issubdtype(dtype, np.floating):
        return np.inf
    if np.issubdtype(dtype, np.integer):
        return np.iinfo(dtype.name).max
    return True


@kernel(reduction.ReduceMaxOp)
def _reduce_max(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    data = inputs[0]
    axes = _reduced_axes(op, data)
    initial = _lowest(data.dtype)
    return [np.max(data, axis=axes, keepdims=_keepdims(op), initial=initial)]


@kernel(reduction.ReduceMinOp)
def _reduce_min(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    data = inputs[0]
    axes = _reduced_axes(op, data)
    initial = _highest(data.dtype)
    return [np.min(data, axis=axes, keepdims=_keepdims(op), initial=initial)]


def _arg_reduce(op: NnOperation, data: np.ndarray, find: Callable[..., np.ndarray]) -> np.ndarray:
    axis = _axis(op.int_attr("axis"), data.ndim)
    if op.int_attr("select_last_index"):  # the first index in the reversed axis is the last
        index = data.shape[axis] - 1 - find(np.flip(data, axis), axis=axis)
    else:
        index = find(data, axis=axis)
    return np.expand_dims(index, axis) if _keepdims(op) else index


@kernel(reduction.ArgMaxOp)
def _arg_max(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    return [_arg_reduce(op, inputs[0], np.argmax)]


@kernel(reduction.ArgMinOp)
def _arg_min(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    return [_arg_reduce(op, inputs[0], np.argmin)]


# -- constants ------------------------------------------------------------------------------


@kernel(constants.ConstantOp)
def _constant(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    value = op.attr("value")
    assert isinstance(value, np.ndarray)
    return [value.copy()]


@kernel(constants.ConstantOfShapeOp)
def _constant_of_shape(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    shape = op.ints_attr("shape") or []
    value = op.attr("value")
    if not isinstance(value, np.ndarray):  # ONNX's default is a float32 zero
        return [np.zeros(shape, dtype=np.float32)]
    return [np.full(shape, value.reshape(()), dtype=value.dtype)]


# The windowed and the extra kernels register themselves into KERNELS; imported last, as they
# import `kernel`.
from . import reference_extra, reference_windows  # noqa: E402, F401  # pyright: ignore[reportUnusedImport]
