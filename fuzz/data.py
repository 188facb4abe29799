"""Input data for differential runs: hypothesis strategies of numpy arrays, dtype-aware, with
the edge values that find bugs (zeros, negatives, large magnitudes, NaN and infinities).

Arrays are drawn as a few hypothesis choices (a fill pattern, a seed, a handful of edge values
at drawn positions) rather than element by element: shrinking then moves towards all-ordinary
data, and a 4x4x8x8 input costs no more draws than a scalar.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Any

import numpy as np
from hypothesis import strategies as st

from ..runtime.abi import TensorSpec


class Edges(enum.Enum):
    """Which edge values an input may hold."""

    ORDINARY = "ordinary"  # small finite values only
    FINITE = "finite"  # plus zeros, negatives, large magnitudes
    SPECIAL = "special"  # plus NaN and +-inf, for programs whose every op defines them


def large_magnitude(dtype: np.dtype[Any]) -> float:
    """A large value whose square and small sums stay finite in `dtype`, so that one product
    or accumulation does not overflow where the original and the rewrite may round apart."""
    finfo = np.finfo(dtype)
    return float(2.0 ** (finfo.maxexp // 4))


_HALF_OVERFLOW = 2.0**17
"""Twice f16's largest finite value: an infinity once narrowed to f16, where a wrong cast
saturates or wraps; its square stays finite in f32."""


def _float_edges(dtype: np.dtype[Any], edges: Edges) -> list[float]:
    if edges is Edges.ORDINARY:
        return []
    big = large_magnitude(dtype)
    values = [0.0, -0.0, -1.0, 1.0, big, -big, float(np.finfo(dtype).tiny)]
    if float(np.finfo(dtype).max) > _HALF_OVERFLOW:  # finite here, past the range of a cast to f16
        values += [_HALF_OVERFLOW, -_HALF_OVERFLOW]
    if edges is Edges.SPECIAL:
        values += [float("nan"), float("inf"), float("-inf")]
    return values


def _int_edges(dtype: np.dtype[Any], edges: Edges) -> list[int]:
    if edges is Edges.ORDINARY:
        return []
    info = np.iinfo(dtype)
    # the extremes overflow in any sum; a quarter of them keeps one add exact in both runs
    return [0, -1, 1, int(info.max) // 4, int(info.min) // 4 if info.min < 0 else 0]


@st.composite
def arrays(draw: st.DrawFn, spec: TensorSpec, edges: Edges = Edges.FINITE) -> np.ndarray:
    """An array of `spec`'s dtype and shape: seeded ordinary values, then up to four edge
    values at drawn positions (or the whole array one edge value)."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    shape = spec.shape
    dtype = spec.dtype
    base = _ordinary(rng, dtype, shape)
    edge_values = _edge_values(dtype, edges)
    if not edge_values or base.size == 0:
        return base
    pattern = draw(st.sampled_from(["plain", "sprinkled", "filled"]))
    if pattern == "plain":
        return base
    if pattern == "filled":
        return np.full(shape, draw(st.sampled_from(edge_values)), dtype=dtype)
    flat = base.reshape(-1)
    for _ in range(draw(st.integers(1, 4))):
        flat[draw(st.integers(0, flat.size - 1))] = draw(st.sampled_from(edge_values))
    return flat.reshape(shape)


def input_sets(
    specs: Sequence[TensorSpec], edges: Edges = Edges.FINITE
) -> st.SearchStrategy[list[np.ndarray]]:
    """One array per spec, drawn together."""
    return st.tuples(*[arrays(spec, edges) for spec in specs]).map(list)


def random_array(
    rng: np.random.Generator, dtype: np.dtype[Any], shape: Sequence[int]
) -> np.ndarray:
    """Ordinary values of `dtype` (weights and constants of generated programs)."""
    return _ordinary(rng, np.dtype(dtype), tuple(shape))


def _edge_values(dtype: np.dtype[Any], edges: Edges) -> list[Any]:
    if np.issubdtype(dtype, np.floating):
        return _float_edges(dtype, edges)
    if dtype == np.bool_:
        return [] if edges is Edges.ORDINARY else [False, True]
    return _int_edges(dtype, edges)


def _ordinary(rng: np.random.Generator, dtype: np.dtype[Any], shape: tuple[int, ...]) -> np.ndarray:
    if np.issubdtype(dtype, np.floating):
        return (rng.standard_normal(shape) * 2.0).astype(dtype)
    if dtype == np.bool_:
        return rng.integers(0, 2, shape).astype(np.bool_)
    low = -8 if np.issubdtype(dtype, np.signedinteger) else 0
    return rng.integers(low, 9, shape).astype(dtype)
