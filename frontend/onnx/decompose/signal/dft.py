"""DFT as one MatMul with a twiddle matrix computed at import (a weight constant).

The signal axis is moved last and the real/imaginary axis before it, so that a row holds the
real parts then the imaginary parts ([..., c * L], c = 1 for a real signal); one MatMul with a
[c * L, 2 * K] matrix gives the K real then the K imaginary parts of the result, which are moved
back into place. The matrix folds in everything numpy's fft does to the signal: zero padding
or truncation to dft_length n, the 1/n of the inverse, the one-sided K = n // 2 + 1 bins, and
for the inverse one-sided DFT (irfft) the Hermitian symmetry: bins 0 < k < n / 2 count twice,
the imaginary parts of bins 0 and n / 2 not at all, and the result is real (c = 1). The product
is computed in float64 and rounded once, as numpy's fft rounds its result. axis and dft_length
must be known at import time.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper

from ...emitter import Emitter, NodeError, known_value
from ...registry import decomposition
from ..builder import Ops


@decomposition("DFT", since=17)
def dft(node: onnx.NodeProto, emitter: Emitter) -> None:
    attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    allowed = {"inverse", "onesided"} | ({"axis"} if emitter.opset < 20 else set())
    unknown = set(attributes) - allowed
    if unknown:
        raise NodeError(f"attribute '{sorted(unknown)[0]}' not supported")
    inputs = [*node.input, "", ""]
    x = inputs[0]
    dims = emitter.shape(x)
    rank = len(dims)
    axis = int(attributes.get("axis", 1))  # pyright: ignore[reportArgumentType]
    if emitter.opset >= 20:
        axis = _known_int(emitter, inputs[2], "axis", -2)
    axis = axis + rank if axis < 0 else axis
    if not 0 <= axis <= rank - 2 or dims[-1] not in (1, 2):
        raise NodeError(f"axis {axis} of a {rank}-d signal with {dims[-1]} parts per element")
    if not np.issubdtype(emitter.dtype(x), np.floating):
        raise NodeError(f"DFT of {emitter.dtype(x)} is not supported")
    inverse = bool(attributes.get("inverse", 0))
    onesided = bool(attributes.get("onesided", 0))
    default_length = 2 * (dims[axis] - 1) if inverse and onesided else dims[axis]
    length = _known_int(emitter, inputs[1], "dft_length", default_length)
    if length < 1:
        raise NodeError(f"dft_length {length}")
    matrix = _twiddles(dims[axis], dims[-1], length, inverse, onesided)
    # [..., L, ..., c] -> [..., c, L]: the other axes, then the parts, then the signal
    others = [d for d in range(rank - 1) if d != axis]
    perm = [*others, rank - 1, axis]
    moved = emitter.emit("Transpose", [x], {"perm": perm})
    rows = emitter.emit("Reshape", [moved, Ops(emitter).ints([*[dims[d] for d in others], -1])])
    wide = Ops(emitter).cast(rows, np.float64)
    product = emitter.emit("MatMul", [wide, emitter.constant(matrix)])
    parts = 1 if inverse and onesided else 2
    split = [*[dims[d] for d in others], parts, matrix.shape[1] // parts]
    result = emitter.emit("Reshape", [product, Ops(emitter).ints(split)])
    narrow = Ops(emitter).cast(result, emitter.dtype(x))
    back = [int(i) for i in np.argsort(perm)]
    emitter.emit("Transpose", [narrow], {"perm": back}, output=node.output[0])


def _twiddles(size: int, parts: int, length: int, inverse: bool, onesided: bool) -> np.ndarray:
    """[parts * size, K or 2 * K] float64: real parts in, real then imaginary parts out."""
    used = min(size, length)
    bins = length // 2 + 1 if onesided else length
    if inverse and onesided:  # the input holds bins 0..n//2; the output is n real samples
        used, bins = min(size, length // 2 + 1), length
    turns = np.outer(np.arange(used), np.arange(bins)) % length  # exact, then scaled
    cos, sin = _cos_sin(turns, length)
    sign = 1.0 if inverse else -1.0
    scale = 1.0 / length if inverse else 1.0
    matrix = np.zeros((parts * size, 2 * bins))
    # (a + ib)(cos + i sign sin) = (a cos - sign b sin) + i (sign a sin + b cos)
    matrix[:used, :bins] = cos * scale
    matrix[:used, bins:] = sign * sin * scale
    if parts == 2:
        matrix[size : size + used, :bins] = -sign * sin * scale
        matrix[size : size + used, bins:] = cos * scale
    if not (inverse and onesided):
        return matrix
    # the real parts of the n output samples; the imaginary parts of bins 0 and n / 2 meet
    # sin = 0 exactly and drop out
    counts = np.zeros(size)
    counts[:used] = 2.0
    counts[0] = 1.0
    if length % 2 == 0 and used > length // 2:
        counts[length // 2] = 1.0
    return matrix[:, :bins] * np.tile(counts, parts)[:, None]


def _cos_sin(turns: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    """cos and sin of 2 pi turns / length, exact at multiples of a quarter turn."""
    angles = 2.0 * np.pi * turns / length
    cos, sin = np.cos(angles), np.sin(angles)
    quarter = (4 * turns) % length == 0
    quarters = (4 * turns // length) % 4
    cos[quarter] = np.array([1.0, 0.0, -1.0, 0.0])[quarters[quarter]]
    sin[quarter] = np.array([0.0, 1.0, 0.0, -1.0])[quarters[quarter]]
    return cos, sin


def _known_int(emitter: Emitter, name: str, what: str, default: int) -> int:
    if not name:
        return default
    known = known_value(emitter, name, what)
    return int(known.reshape(-1)[0])
