"""linalg-collapse-dimensions by differential execution: an elementwise generic over random
shapes, each input broadcast along a random set of dimensions (numpy rules), compiled to native
code with and without the pass, against numpy. The body only moves to a flatter nest, so the
results are equal bit for bit."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from terrace.targets import host_target

from llvm_exec import compile_llvm, lower

TAIL = host_target().pipeline().after("memrefs").spec()


def _memref(shape: tuple[int, ...]) -> str:
    return "memref<" + "".join(f"{size}x" for size in shape) + "f32>"


def _map(shape: tuple[int, ...], out: tuple[int, ...]) -> str:
    """numpy broadcasting: trailing alignment, a size-1 dimension reads index 0 (the loop's
    index where the output has size 1 too, as convert-nn-to-linalg writes it)."""
    rank = len(out)
    offset = rank - len(shape)
    dims = ", ".join(f"d{d}" for d in range(rank))
    results = ", ".join(
        "0" if size == 1 and out[offset + index] != 1 else f"d{offset + index}"
        for index, size in enumerate(shape)
    )
    return f"affine_map<({dims}) -> ({results})>"


def _program(a: tuple[int, ...], b: tuple[int, ...], out: tuple[int, ...]) -> str:
    rank = len(out)
    maps = ", ".join([_map(a, out), _map(b, out), _map(out, out)])
    iterators = ", ".join(['"parallel"'] * rank)
    # x * y + x: two roundings, the same in numpy's float32
    return f"""
func.func @main(%a: {_memref(a)}, %b: {_memref(b)}, %out: {_memref(out)}) {{
  linalg.generic {{indexing_maps = [{maps}], iterator_types = [{iterators}]}}
    ins(%a, %b : {_memref(a)}, {_memref(b)}) outs(%out : {_memref(out)}) {{
  ^bb0(%x: f32, %y: f32, %o: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %p, %x : f32
    linalg.yield %s : f32
  }}
  func.return
}}
"""


@st.composite
def _shapes(draw: st.DrawFn) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    out = tuple(draw(st.lists(st.integers(1, 5), min_size=1, max_size=4)))

    def broadcast_of() -> tuple[int, ...]:
        dropped = draw(st.integers(0, len(out) - 1))
        kept = out[dropped:]
        return tuple(1 if draw(st.booleans()) else size for size in kept)

    return out, broadcast_of(), out if draw(st.booleans()) else broadcast_of()


@settings(max_examples=12, deadline=None, derandomize=True, database=None)
@given(shapes=_shapes())
def test_collapsed_generic_matches_numpy(
    shapes: tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]],
):
    out_shape, a_shape, b_shape = shapes
    rng = np.random.default_rng(len(out_shape))
    a = rng.standard_normal(a_shape).astype(np.float32)
    b = rng.standard_normal(b_shape).astype(np.float32)
    expected = np.broadcast_to(a * b + a, out_shape)
    text = _program(a_shape, b_shape, out_shape)
    for prefix in ("", "linalg-collapse-dimensions,"):
        module = lower(text, prefix + TAIL)
        out = np.full(out_shape, np.nan, np.float32)
        compile_llvm(module).call("main", [a, b, out])
        np.testing.assert_array_equal(out, expected)


def test_same_shape_operands_become_one_loop():
    text = _program((2, 3, 4, 5), (2, 3, 4, 5), (2, 3, 4, 5))
    module = lower(text, "linalg-collapse-dimensions")
    generics = [op for op in module.walk() if op.name == "linalg.generic"]
    assert len(generics) == 1
    assert "memref<120xf32>" in str(generics[0])


def _sum_program(shape: tuple[int, ...], axes: int) -> str:
    """A sum over the `axes` trailing dimensions, marked reassociable as reduction.py marks
    it: LLVM may keep partial sums in vector lanes."""
    rank = len(shape)
    dims = ", ".join(f"d{d}" for d in range(rank))
    kept = shape[: rank - axes]
    out = ", ".join(f"d{d}" for d in range(rank - axes))
    iterators = ", ".join(['"parallel"'] * (rank - axes) + ['"reduction"'] * axes)
    return f"""
func.func @main(%x: {_memref(shape)}, %out: {_memref(kept)}) {{
  linalg.generic {{indexing_maps = [affine_map<({dims}) -> ({dims})>,
                                    affine_map<({dims}) -> ({out})>],
                   iterator_types = [{iterators}]}}
    ins(%x : {_memref(shape)}) outs(%out : {_memref(kept)}) {{
  ^bb0(%v: f32, %acc: f32):
    %s = arith.addf %v, %acc fastmath<reassoc> : f32
    linalg.yield %s : f32
  }}
  func.return
}}
"""


@settings(max_examples=8, deadline=None, derandomize=True, database=None)
@given(
    shape=st.lists(st.integers(1, 40), min_size=2, max_size=4).map(tuple),
    data=st.data(),
)
def test_collapsed_sum_matches_numpy(shape: tuple[int, ...], data: st.DataObject):
    axes = data.draw(st.integers(1, len(shape) - 1))
    x = np.random.default_rng(len(shape)).standard_normal(shape).astype(np.float32)
    expected = x.sum(axis=tuple(range(len(shape) - axes, len(shape))), dtype=np.float64)
    module = lower(_sum_program(shape, axes), "linalg-collapse-dimensions," + TAIL)
    out = np.zeros(shape[: len(shape) - axes], np.float32)
    compile_llvm(module).call("main", [x, out])
    # the order of the terms may change: f32 rounding of up to 40^3 terms of size 1
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-3)
