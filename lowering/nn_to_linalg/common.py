"""Shared helpers for the convert-nn-to-linalg patterns.

Every helper that creates ops takes a `Builder` (a `PatternRewriter` is one) and inserts at its
insertion point, so a pattern calls them in program order and then replaces the matched op.

- `element_type`, `shape`, `is_float`, `is_unsigned`, `element_kind`: read types;
- `unsupported`: the error for an op or attribute value a lowering cannot handle;
- `scalar_constant`: an `arith.constant` of a given element type;
- `empty_tensor`, `filled_tensor`: `tensor.empty`, and `tensor.empty` + `linalg.fill`;
- `identity_map`, `broadcast_map`: indexing maps, the latter for ONNX multidirectional
  broadcasting (numpy rules);
- `build_generic`: a `linalg.generic` whose body a callback builds;
- `elementwise_generic`: a parallel `linalg.generic` over a result shape, operands broadcast.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from xdsl.builder import Builder
from xdsl.dialects import arith, tensor
from xdsl.dialects.builtin import (
    AffineMapAttr,
    AnyFloat,
    FloatAttr,
    IndexType,
    IntegerAttr,
    IntegerType,
    Signedness,
    TensorType,
)
from xdsl.dialects.linalg import ops as linalg
from xdsl.dialects.linalg.attrs import IteratorTypeAttr
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue
from xdsl.ir.affine import AffineExpr, AffineMap
from xdsl.rewriter import InsertPoint
from xdsl.utils.exceptions import DiagnosticException
from xdsl.utils.hints import isa

BodyBuilder = Callable[[Builder, Sequence[SSAValue]], Sequence[SSAValue]]
"""Builds a `linalg.generic` body: gets a builder at the end of the body block and the block
arguments (one scalar per input, then one per output), returns the values to yield."""

PARALLEL = IteratorTypeAttr.parallel()
REDUCTION = IteratorTypeAttr.reduction()


# ---------------------------------------------------------------------------------------------
# Types and errors.


def tensor_type(value: SSAValue) -> TensorType[Attribute]:
    """The tensor type of a value; nn values are always tensors."""
    if not isa(value.type, TensorType[Attribute]):
        raise DiagnosticException(f"expected a tensor, got {value.type}")
    return value.type


def element_type(value: SSAValue) -> Attribute:
    """The element type of a tensor value."""
    return tensor_type(value).element_type


def shape(value: SSAValue) -> tuple[int, ...]:
    """The static shape of a tensor value."""
    return tuple(tensor_type(value).get_shape())


def is_float(element: Attribute) -> bool:
    return isinstance(element, AnyFloat)


def is_unsigned(element: Attribute) -> bool:
    return isinstance(element, IntegerType) and element.signedness.data == Signedness.UNSIGNED


def element_kind(element: Attribute) -> str:
    """'float', 'signed' or 'unsigned', which picks arith's op variant (i1 counts as unsigned:
    false < true, and it extends to 0 or 1)."""
    if isinstance(element, AnyFloat):
        return "float"
    if isinstance(element, IntegerType) and (is_unsigned(element) or element.width.data == 1):
        return "unsigned"
    return "signed"


def lowest_value(element: Attribute) -> float | int:
    """The identity of max: -inf, the most negative signed integer, or 0 unsigned (and for i1,
    whose false is 0 and true is 1, not -1)."""
    if is_float(element):
        return -math.inf
    assert isinstance(element, IntegerType)
    if element_kind(element) == "unsigned":
        return 0
    return -(1 << (element.width.data - 1))


def unsupported(op: Operation, why: str) -> DiagnosticException:
    """The error a lowering raises for an op it cannot handle: names the op, its ONNX node (the
    op's location) and the failed precondition."""
    return DiagnosticException(
        f"convert-nn-to-linalg: cannot lower {op.name} at {op.location}: {why}"
    )


# ---------------------------------------------------------------------------------------------
# Scalars and tensors.


def scalar_constant(builder: Builder, value: float | int | bool, element: Attribute) -> SSAValue:
    """An `arith.constant` of `value` in `element` (a float, integer or index type).

    Float infinities and NaN are fine; a bool becomes 1 or 0; an unsigned integer is a signless
    constant reinterpreted by `arith.bitcast`."""
    if isinstance(element, AnyFloat):
        return builder.insert(arith.ConstantOp(FloatAttr(float(value), element))).result
    if isinstance(element, IntegerType) and is_unsigned(element):
        # arith.constant takes signless integers only: build one and reinterpret its bits
        signless = IntegerType(element.width.data)
        bits = builder.insert(
            arith.ConstantOp(IntegerAttr(int(value), signless, truncate_bits=True))
        ).result
        return builder.insert(arith.BitcastOp(bits, element)).result
    if isinstance(element, IntegerType | IndexType):
        attr = IntegerAttr(int(value), element, truncate_bits=True)
        return builder.insert(arith.ConstantOp(attr)).result
    raise DiagnosticException(f"no scalar constant of type {element}")


def empty_tensor(builder: Builder, dims: Sequence[int], element: Attribute) -> SSAValue:
    """`tensor.empty` of a static shape."""
    return builder.insert(tensor.EmptyOp([], TensorType(element, list(dims)))).tensor


def filled_tensor(
    builder: Builder, dims: Sequence[int], element: Attribute, value: float | int | bool
) -> SSAValue:
    """`tensor.empty` filled with `value` by `linalg.fill`: the init of a reduction."""
    init = empty_tensor(builder, dims, element)
    scalar = scalar_constant(builder, value, element)
    return builder.insert(linalg.FillOp([scalar], [init], [init.type])).results[0]


# ---------------------------------------------------------------------------------------------
# Indexing maps.


def identity_map(rank: int) -> AffineMapAttr:
    return AffineMapAttr(AffineMap.identity(rank))


def broadcast_map(
    operand_dims: Sequence[int], result_rank: int, result_dims: Sequence[int] | None = None
) -> AffineMapAttr:
    """The map from a `result_rank`-d iteration space to an operand broadcast to it with numpy
    rules: the operand's dims align with the trailing loop dims, a size-1 dim reads index 0.

    `broadcast_map((3, 1), 3)` is `(d0, d1, d2) -> (d1, 0)`. Given `result_dims`, a size-1 dim
    that is also size 1 in the result keeps its loop dim, so same-shape operands get identity
    maps."""
    offset = result_rank - len(operand_dims)
    if offset < 0:
        raise DiagnosticException(f"cannot broadcast rank {len(operand_dims)} to {result_rank}")
    results = [
        AffineExpr.constant(0)
        if size == 1 and (result_dims is None or result_dims[offset + index] != 1)
        else AffineExpr.dimension(offset + index)
        for index, size in enumerate(operand_dims)
    ]
    return AffineMapAttr(AffineMap(result_rank, 0, tuple(results)))


def broadcast_shape(*shapes: Sequence[int]) -> tuple[int, ...]:
    """The numpy broadcast of several static shapes."""
    rank = max((len(s) for s in shapes), default=0)
    result = [1] * rank
    for dims in shapes:
        for index, size in enumerate(dims, start=rank - len(dims)):
            if size != 1 and result[index] not in (1, size):
                raise DiagnosticException(f"shapes {list(shapes)} do not broadcast")
            result[index] = size if size != 1 else result[index]
    return tuple(result)


# ---------------------------------------------------------------------------------------------
# linalg.generic.


def build_generic(
    builder: Builder,
    inputs: Sequence[SSAValue],
    inits: Sequence[SSAValue],
    indexing_maps: Sequence[AffineMapAttr],
    iterator_types: Sequence[IteratorTypeAttr],
    body: BodyBuilder,
) -> linalg.GenericOp:
    """A `linalg.generic` on tensors: results have the types of `inits`; `body` builds the
    block (arguments: the element types of inputs, then of inits) and returns what it yields."""
    block = Block(arg_types=[element_type(v) for v in (*inputs, *inits)])
    body_builder = Builder(InsertPoint.at_end(block))
    yielded = body(body_builder, block.args)
    body_builder.insert(linalg.YieldOp(*yielded))
    generic = linalg.GenericOp(
        inputs,
        inits,
        Region(block),
        indexing_maps,
        iterator_types,
        [v.type for v in inits],
    )
    return builder.insert(generic)


def elementwise_generic(
    builder: Builder,
    inputs: Sequence[SSAValue],
    result_element: Attribute,
    body: BodyBuilder,
    result_dims: Sequence[int] | None = None,
) -> SSAValue:
    """A parallel `linalg.generic` over the broadcast shape of `inputs` (or `result_dims`), each
    input broadcast with numpy rules; `body` gets one scalar per input and the (unused) output
    element, and returns the one result element."""
    dims = (
        tuple(result_dims)
        if result_dims is not None
        else broadcast_shape(*(shape(v) for v in inputs))
    )
    init = empty_tensor(builder, dims, result_element)
    maps = [broadcast_map(shape(v), len(dims), dims) for v in inputs] + [identity_map(len(dims))]
    generic = build_generic(builder, inputs, [init], maps, [PARALLEL] * len(dims), body)
    return generic.results[0]
