"""GridSample, as elementwise ops on the grid and one GatherElements per interpolation tap.

Following onnx's reference (after PyTorch's GridSampler.h), per spatial dim: the normalized
coordinate (grid's last axis holds them fastest dim first) is denormalized, rounded half to
even for `nearest`, and, outside [lo, hi] (0 and d - 1 with align_corners, else -0.5 and
d - 0.5), clamped to the border or reflected. Each tap (1 for nearest, 2 per dim for linear, 4
for cubic, with Keys' cubic at A = -0.75) reads X at an integer index per dim; an index outside
the input is 0 for zeros padding, else clamped or reflected. The taps' weights multiply across
dims; the taps' values are read from X flattened to [N, C, S] at the flat index.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import helper

from ...emitter import Emitter, NodeError
from ...registry import decomposition
from ..builder import Ops

_MODES = {"bilinear": "linear", "linear": "linear", "bicubic": "cubic", "cubic": "cubic"}
_CUBIC_A = -0.75


@dataclass
class _Sampler:
    emitter: Emitter
    dtype: np.dtype[np.generic]
    padding: str
    align_corners: bool

    @property
    def ops(self) -> Ops:
        return Ops(self.emitter, self.dtype)

    def emit(self, op_type: str, *inputs: str) -> str:
        return self.emitter.emit(op_type, list(inputs))

    def bounds(self, size: int) -> tuple[float, float]:
        return (0.0, size - 1.0) if self.align_corners else (-0.5, size - 0.5)

    def denormalize(self, normalized: str, size: int) -> str:
        shifted = self.emit("Add", normalized, self.ops.const(1.0))
        if self.align_corners:  # (n + 1) / 2 (d - 1)
            half = self.emit("Div", shifted, self.ops.const(2.0))
            return self.emit("Mul", half, self.ops.const(size - 1.0))
        scaled = self.emit(
            "Sub", self.emit("Mul", shifted, self.ops.const(float(size))), self.ops.const(1.0)
        )
        return self.emit("Div", scaled, self.ops.const(2.0))  # ((n + 1) d - 1) / 2

    def reflect(self, x: str, size: int) -> str:
        """Reflects x by the near border until it is within [lo, hi]."""
        lo, hi = self.bounds(size)
        span = hi - lo
        below = self.emit("Less", x, self.ops.const(lo))
        above = self.emit("Greater", x, self.ops.const(hi))
        distance = self.emit(
            "Where",
            below,
            self.emit("Sub", self.ops.const(lo), x),
            self.emit("Sub", x, self.ops.const(hi)),
        )
        folds = self.emit("Floor", self.emit("Div", distance, self.ops.const(span)))
        rest = self.emit("Sub", distance, self.emit("Mul", folds, self.ops.const(span)))
        half = self.emit("Mul", folds, self.ops.const(0.5))
        even = self.emit("Equal", self.emit("Floor", half), half)
        from_lo = self.emit("Add", self.ops.const(lo), rest)
        from_hi = self.emit("Sub", self.ops.const(hi), rest)
        reflected_below = self.emit("Where", even, from_lo, from_hi)
        reflected_above = self.emit("Where", even, from_hi, from_lo)
        outside = self.emit("Where", below, reflected_below, reflected_above)
        return self.emit("Where", self.emit("Or", below, above), outside, x)

    def fit(self, x: str, size: int) -> str:
        """The coordinate that is interpolated: clamped or reflected when outside."""
        if self.padding == "border":
            return self.clip(x, size)
        if self.padding == "reflection":
            return self.reflect(x, size)
        return x

    def clip(self, x: str, size: int) -> str:
        # inside [lo, hi] a border coordinate is kept; outside it is clamped to [0, d - 1]
        lo, hi = self.bounds(size)
        outside = self.emit(
            "Or",
            self.emit("Less", x, self.ops.const(lo)),
            self.emit("Greater", x, self.ops.const(hi)),
        )
        clamped = self.emitter.emit("Clip", [x, self.ops.const(0.0), self.ops.const(size - 1.0)])
        return self.emit("Where", outside, clamped, x)

    def index(self, tap: str, size: int) -> tuple[str, str | None]:
        """The int64 index a tap (an integral float) reads, and for zeros padding whether it
        is inside the input."""
        inside = None
        if self.padding == "zeros":
            inside = self.emit(
                "And",
                self.emit("GreaterOrEqual", tap, self.ops.const(0.0)),
                self.emit("Less", tap, self.ops.const(float(size))),
            )
        if self.padding == "reflection":
            tap = self.reflect(tap, size)
        clamped = self.emitter.emit("Clip", [tap, self.ops.const(0.0), self.ops.const(size - 1.0)])
        integral = self.emit("Floor", clamped)
        to = helper.np_dtype_to_tensor_dtype(np.dtype(np.int64))
        return self.emitter.emit("Cast", [integral], {"to": to}), inside

    def taps(self, x: str, mode: str) -> list[tuple[str, str | None]]:
        """(tap coordinate, weight) pairs along one dim; nearest has no weight."""
        if mode == "nearest":
            return [(x, None)]
        start = self.emit("Floor", x)
        fraction = self.emit("Sub", x, start)
        if mode == "linear":
            taps = [start, self.emit("Add", start, self.ops.const(1.0))]
            return list(
                zip(taps, [self.emit("Sub", self.ops.const(1.0), fraction), fraction], strict=True)
            )
        offsets = [-1.0, 0.0, 1.0, 2.0]
        taps = [self.emit("Add", start, self.ops.const(o)) for o in offsets]
        distances = [self.emit("Add", fraction, self.ops.const(1.0)), fraction]
        complement = self.emit("Sub", self.ops.const(1.0), fraction)
        distances += [complement, self.emit("Add", complement, self.ops.const(1.0))]
        weights = [
            self.cubic(d, far) for d, far in zip(distances, [True, False, False, True], strict=True)
        ]
        return list(zip(taps, weights, strict=True))

    def cubic(self, distance: str, far: bool) -> str:
        """Keys' kernel at |distance| in [0, 1] (near) or [1, 2] (far)."""
        a = _CUBIC_A
        if far:  # ((a (x) - 5a) x + 8a) x - 4a
            inner = self.emit(
                "Sub", self.emit("Mul", distance, self.ops.const(a)), self.ops.const(5 * a)
            )
            inner = self.emit("Add", self.emit("Mul", inner, distance), self.ops.const(8 * a))
            return self.emit("Sub", self.emit("Mul", inner, distance), self.ops.const(4 * a))
        # ((a + 2) x - (a + 3)) x x + 1
        inner = self.emit(
            "Sub", self.emit("Mul", distance, self.ops.const(a + 2)), self.ops.const(a + 3)
        )
        squared = self.emit("Mul", self.emit("Mul", inner, distance), distance)
        return self.emit("Add", squared, self.ops.const(1.0))


@decomposition("GridSample", since=16)
def grid_sample(node: onnx.NodeProto, emitter: Emitter) -> None:
    attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    unknown = set(attributes) - {"mode", "padding_mode", "align_corners"}
    if unknown:
        raise NodeError(f"attribute '{sorted(unknown)[0]}' not supported")
    mode = _text(attributes.get("mode", b"linear" if emitter.opset >= 20 else b"bilinear"))
    mode = _MODES.get(mode, mode)
    padding = _text(attributes.get("padding_mode", b"zeros"))
    if mode not in ("nearest", "linear", "cubic"):
        raise NodeError(f"mode '{mode}' not supported")
    if padding not in ("zeros", "border", "reflection"):
        raise NodeError(f"padding_mode '{padding}' not supported")
    x, grid = node.input[0], node.input[1]
    if not np.issubdtype(emitter.dtype(x), np.floating):
        raise NodeError(f"GridSample of {emitter.dtype(x)} is not supported")
    x_dims, grid_dims = emitter.shape(x), emitter.shape(grid)
    spatial, out = x_dims[2:], grid_dims[1:-1]
    if len(spatial) != grid_dims[-1] or len(out) != len(spatial):
        raise NodeError("grid's last dim must equal the number of spatial dims")
    dtype = emitter.dtype(grid)
    sampler = _Sampler(emitter, dtype, padding, bool(attributes.get("align_corners", 0)))
    per_dim: list[list[tuple[str, str | None]]] = []
    for axis, size in enumerate(spatial):
        component = emitter.constant(np.array(len(spatial) - 1 - axis, np.int64))
        normalized = emitter.emit("Gather", [grid, component], {"axis": -1})
        coordinate = sampler.denormalize(normalized, size)
        if mode == "nearest":
            coordinate = emitter.emit("Round", [coordinate])
        per_dim.append(sampler.taps(sampler.fit(coordinate, size), mode))
    batch, channels = x_dims[:2]
    points = int(np.prod(out, dtype=np.int64))
    flat = emitter.emit("Reshape", [x, Ops(emitter).ints([batch, channels, -1])])
    strides = [int(np.prod(spatial[axis + 1 :], dtype=np.int64)) for axis in range(len(spatial))]
    total = ""
    for combination in itertools.product(*per_dim):
        value = _read(sampler, flat, combination, spatial, strides, [batch, channels, points])
        total = emitter.emit("Add", [total, value]) if total else value
    emitter.emit(
        "Reshape", [total, Ops(emitter).ints([batch, channels, *out])], output=node.output[0]
    )


def _read(
    sampler: _Sampler,
    flat: str,
    combination: tuple[tuple[str, str | None], ...],
    spatial: tuple[int, ...],
    strides: list[int],
    dims: list[int],
) -> str:
    """One tap's weighted values, [N, C, P]."""
    emitter = sampler.emitter
    position, weight, inside = "", "", ""
    for (tap, tap_weight), size, stride in zip(combination, spatial, strides, strict=True):
        index, tap_inside = sampler.index(tap, size)
        scaled = emitter.emit("Mul", [index, emitter.constant(np.array(stride, np.int64))])
        position = emitter.emit("Add", [position, scaled]) if position else scaled
        if tap_weight is not None:
            weight = emitter.emit("Mul", [weight, tap_weight]) if weight else tap_weight
        if tap_inside is not None:
            inside = emitter.emit("And", [inside, tap_inside]) if inside else tap_inside
    column = Ops(emitter).ints([dims[0], 1, dims[2]])
    indices = emitter.emit("Reshape", [position, column])
    indices = emitter.emit("Expand", [indices, Ops(emitter).ints(dims)])
    value = emitter.emit("GatherElements", [flat, indices], {"axis": 2})
    if inside:  # a value outside reads 0, whatever is at the clamped index
        mask = emitter.emit("Reshape", [inside, column])
        zero = emitter.constant(np.zeros((), emitter.dtype(flat)))
        value = emitter.emit("Where", [mask, value, zero])
    if not weight:
        return value
    if sampler.dtype != emitter.dtype(flat):
        to = helper.np_dtype_to_tensor_dtype(emitter.dtype(flat))
        weight = emitter.emit("Cast", [weight], {"to": to})
    return emitter.emit("Mul", [value, emitter.emit("Reshape", [weight, column])])


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
