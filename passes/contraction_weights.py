"""Packing constant operands once, at compile time: when A or B of a contraction is a weight
of `@main` (an argument named in `terrace.weights`) indexed by the contraction's own loops only,
its packed panels (the layout contraction_tiles.py packs into at run time) are computed here
with numpy, added to the module's weight store and passed as a new weight argument, so that
no call repacks the model's weights."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import (
    ArrayAttr,
    FunctionType,
    MemRefType,
    StringAttr,
    f32,
)
from xdsl.ir import BlockArgument, SSAValue
from xdsl.ir.affine import (
    AffineBinaryOpExpr,
    AffineBinaryOpKind,
    AffineConstantExpr,
    AffineDimExpr,
    AffineExpr,
    AffineMap,
)

from ..dialects.nn.weights import WeightStore
from .contraction_match import Contraction

WEIGHTS = "terrace.weights"
GATHER_LIMIT = 1 << 24
"""Elements above which a weight that needs a gather (an affine map other than a permutation)
is packed at run time instead: the gather's index arrays take 8 bytes per element each."""

# helpers


def _evaluate(expr: AffineExpr, dims: Sequence[np.ndarray]) -> np.ndarray:
    """An affine expression over arrays of dim values."""
    if isinstance(expr, AffineDimExpr):
        return dims[expr.position]
    if isinstance(expr, AffineConstantExpr):
        return np.full_like(dims[0], expr.value)
    assert isinstance(expr, AffineBinaryOpExpr)
    lhs, rhs = _evaluate(expr.lhs, dims), _evaluate(expr.rhs, dims)
    match expr.kind:
        case AffineBinaryOpKind.Add:
            return lhs + rhs
        case AffineBinaryOpKind.Mul:
            return lhs * rhs
        case AffineBinaryOpKind.FloorDiv:
            return lhs // rhs
        case AffineBinaryOpKind.CeilDiv:
            return -(-lhs // rhs)
        case AffineBinaryOpKind.Mod:
            return lhs % rhs


def _gather(
    array: np.ndarray, map_: AffineMap, num_loops: int, values: dict[int, np.ndarray]
) -> np.ndarray:
    """`array[map(loops)]` for arrays of loop values (loops not given are 0)."""
    shape = next(iter(values.values())).shape
    dims = [values.get(loop, np.zeros(shape, dtype=np.int64)) for loop in range(num_loops)]
    return array[tuple(_evaluate(e, dims) for e in map_.results)]


def _weight(function: func.FuncOp, value: SSAValue) -> np.ndarray | None:
    """The array behind a weight argument of `function`."""
    names = function.attributes.get(WEIGHTS)
    if not isinstance(value, BlockArgument) or not isinstance(names, ArrayAttr):
        return None
    if value.block is not function.body.block:
        return None
    first = len(function.body.block.args) - 1 - len(names.data)  # the workspace is last
    position = value.index - first
    if not 0 <= position < len(names.data):
        return None
    name = names.data[position]
    store = WeightStore.of(function)
    if not isinstance(name, StringAttr) or name.data not in store:
        return None
    return store[name.data]


def _add_weight(function: func.FuncOp, hint: str, array: np.ndarray) -> BlockArgument:
    """A new weight argument (before the workspace) holding `array`."""
    name = WeightStore.of(function).add(hint, array.astype(np.float32))
    block = function.body.block
    argument = block.insert_arg(MemRefType(f32, array.shape), len(block.args) - 1)
    argument.name_hint = "packed"
    function.function_type = FunctionType.from_lists([a.type for a in block.args], [])
    names = function.attributes[WEIGHTS]
    assert isinstance(names, ArrayAttr)
    function.attributes[WEIGHTS] = ArrayAttr([*names.data, StringAttr(name)])
    return argument


def _flat_values(
    extents: Sequence[int], loops: Sequence[int], flat: np.ndarray
) -> dict[int, np.ndarray]:
    """Row-major multi-indices (by loop) of flat indices over `extents`."""
    values: dict[int, np.ndarray] = {}
    remaining = flat
    for loop, extent in reversed(list(zip(loops, extents, strict=True))):
        values[loop] = remaining % extent
        remaining = remaining // extent
    return values


def _as_matrix(
    array: np.ndarray, map_: AffineMap, rows: Sequence[int], columns: Sequence[int]
) -> np.ndarray | None:
    """`array` as a (rows, columns) matrix by transposing and reshaping, when its map is a
    permutation of exactly these loops (plain weights: no gather, no index arrays)."""
    if not all(isinstance(r, AffineDimExpr) for r in map_.results):
        return None
    positions = [r.position for r in map_.results if isinstance(r, AffineDimExpr)]
    loops = [*rows, *columns]
    if sorted(positions) != sorted(loops) or len(set(loops)) != len(loops):
        return None
    order = [positions.index(loop) for loop in loops]
    row_count = math.prod(array.shape[positions.index(loop)] for loop in rows)
    return array.transpose(order).reshape(row_count, -1)


# the packing


def prepacked_lhs(function: func.FuncOp, contraction: Contraction, mr: int) -> SSAValue | None:
    """A's panels `[M/mr][K][mr]` as a weight argument, when A is a weight indexed by M and K."""
    c = contraction
    array = _weight(function, c.lhs)
    m_loop = c.out_loops[c.m_dim]
    if array is None or not c.lhs_map.used_dims() <= {m_loop, *c.k_loops}:
        return None
    panels = -(-c.m_size // mr)
    matrix = _as_matrix(array, c.lhs_map, [m_loop], c.k_loops)
    if matrix is not None:
        padded = np.zeros((panels * mr, c.k_size), dtype=np.float32)
        padded[: c.m_size] = matrix
        packed = padded.reshape(panels, mr, c.k_size).transpose(0, 2, 1)
        return _add_weight(function, "packed_lhs", np.ascontiguousarray(packed))
    if panels * mr * c.k_size > GATHER_LIMIT:
        return None
    k_extents = [c.ranges[loop] for loop in c.k_loops]
    rows, flat_k = np.meshgrid(np.arange(panels * mr), np.arange(c.k_size), indexing="ij")
    values = {m_loop: np.minimum(rows, c.m_size - 1), **_flat_values(k_extents, c.k_loops, flat_k)}
    packed = _gather(array, c.lhs_map, len(c.ranges), values)
    packed = np.where(rows < c.m_size, packed, 0.0)
    packed = packed.reshape(panels, mr, c.k_size).transpose(0, 2, 1)
    return _add_weight(function, "packed_lhs", np.ascontiguousarray(packed))


def prepacked_rhs(function: func.FuncOp, contraction: Contraction, nr: int) -> SSAValue | None:
    """B's panels `[N/nr][K][nr]` as a weight argument, when B is a weight indexed by N and K."""
    c = contraction
    array = _weight(function, c.rhs)
    n_loops = [c.out_loops[d] for d in c.n_dims]
    if array is None or not c.rhs_map.used_dims() <= {*n_loops, *c.k_loops}:
        return None
    panels = -(-c.n_size // nr)
    matrix = _as_matrix(array, c.rhs_map, c.k_loops, n_loops)
    if matrix is not None:
        padded = np.zeros((c.k_size, panels * nr), dtype=np.float32)
        padded[:, : c.n_size] = matrix
        packed = padded.reshape(c.k_size, panels, nr).transpose(1, 0, 2)
        return _add_weight(function, "packed_rhs", np.ascontiguousarray(packed))
    if panels * nr * c.k_size > GATHER_LIMIT:
        return None
    k_extents = [c.ranges[loop] for loop in c.k_loops]
    n_extents = [c.ranges[loop] for loop in n_loops]
    flat_k, columns = np.meshgrid(np.arange(c.k_size), np.arange(panels * nr), indexing="ij")
    values = _flat_values(k_extents, c.k_loops, flat_k)
    values |= _flat_values(n_extents, n_loops, np.minimum(columns, c.n_size - 1))
    packed = _gather(array, c.rhs_map, len(c.ranges), values)
    packed = np.where(columns < c.n_size, packed, 0.0)
    packed = packed.reshape(c.k_size, panels, nr).transpose(1, 0, 2)
    assert math.prod(packed.shape) == panels * nr * c.k_size
    return _add_weight(function, "packed_rhs", np.ascontiguousarray(packed))


def erase_unused_weights(function: func.FuncOp) -> None:
    """Drops weight arguments nothing uses any more (the unpacked originals)."""
    names = function.attributes.get(WEIGHTS)
    if not isinstance(names, ArrayAttr):
        return
    block = function.body.block
    first = len(block.args) - 1 - len(names.data)
    kept: list[StringAttr] = []
    for name in list(names.data):
        argument = block.args[first + len(kept)]
        assert isinstance(name, StringAttr)
        if argument.uses:
            kept.append(name)
            continue
        block.erase_arg(argument)
    function.function_type = FunctionType.from_lists([a.type for a in block.args], [])
    function.attributes[WEIGHTS] = ArrayAttr(kept)


def is_weight(function: func.FuncOp, value: SSAValue) -> bool:
    """Whether `value` is a weight argument of `function` (packed at compile time)."""
    return _weight(function, value) is not None
