"""The f32 expansions of erf, tanh and exp (lowering/math_expansions.py) over every f32 input
in a range, compiled as Terrace compiles them, against libm's f64 function of the same input
(erf, tanh, exp: within an f64 ulp, far below the f32 errors measured). Prints the largest
error in ulps of the f32 result, fractional (|y - exact| / ulp(exact)) and as the distance to
the correctly rounded f32 counted in representable floats, with the input where it occurs.

    python -m terrace.benchmarks.math_accuracy            # erf and tanh, positive inputs
    python -m terrace.benchmarks.math_accuracy exp --low -104 --high 88.8

erf and tanh compute on |x| and copy x's sign at the end, so negative inputs are the positive
ones mirrored exactly: the default sweep covers the positive floats up to where the function
rounds to 1 in f32 (and one past it). Each function takes about a minute per 2^30 inputs on
one core.
"""

from __future__ import annotations

import argparse
import ctypes
import time

import numpy as np
from xdsl.passes import PassPipeline

from ..dialects.context import parse_module, terrace_context
from ..passes.registry import all_passes
from ..runtime.jit import NativeCode
from ..targets import host_target

CHUNK = 1 << 22
RANGES = {"erf": (0.0, 3.93), "tanh": (0.0, 9.11), "exp": (-104.0, 88.8)}

KERNEL = """
func.func @main(%x: memref<NxINxf32>, %y: memref<NxINxf32>, %exact: memref<NxINxf64>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = arith.constant NxIN : index
  scf.for %i = %c0 to %n step %c1 {
    %a = memref.load %x[%i] : memref<NxINxf32>
    %b = math.FUNCTION %a : f32
    memref.store %b, %y[%i] : memref<NxINxf32>
    %w = arith.extf %a : f32 to f64
    %e = math.FUNCTION %w : f64
    memref.store %e, %exact[%i] : memref<NxINxf64>
  }
  func.return
}
"""


def _compiled(function: str) -> NativeCode:
    text = KERNEL.replace("NxIN", str(CHUNK)).replace("FUNCTION", function)
    module = parse_module(text)
    target = host_target()
    pipeline = target.pipeline().after("loops").spec()
    PassPipeline.parse_spec(all_passes(), pipeline).apply(terrace_context(), module)
    return NativeCode.load(target.object_code(target.translate(module)), target.jit_machine())


def _ordered(bits: np.ndarray) -> np.ndarray:
    wide = bits.astype(np.int64)
    return np.where(wide < 0, np.iinfo(np.int32).min - wide, wide)


def sweep(function: str, low: float, high: float) -> dict[str, float]:
    """Every f32 in [low, high] through the compiled expansion."""
    native = _compiled(function)  # keeps the code loaded while it is called
    prototype = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)
    call = prototype(native.address("main"))
    start, stop = (int(_ordered(np.array([v], np.float32).view(np.int32))[0]) for v in (low, high))
    worst = {"ulp": 0.0, "at": 0.0, "floats": 0.0, "floats_at": 0.0, "count": 0.0}
    y = np.empty(CHUNK, np.float32)
    exact = np.empty(CHUNK, np.float64)
    for begin in range(start, stop + 1, CHUNK):
        ordered = np.arange(begin, begin + CHUNK, dtype=np.int64)
        bits = np.where(ordered < 0, np.iinfo(np.int32).min - ordered, ordered)
        x = bits.astype(np.int32).view(np.float32)
        call(x.ctypes.data, y.ctypes.data, exact.ctypes.data)
        keep = (ordered <= stop) & np.isfinite(exact)
        with np.errstate(over="ignore"):
            rounded = exact.astype(np.float32)
        finite = keep & np.isfinite(rounded)
        spacing = np.spacing(np.abs(rounded[finite])).astype(np.float64)
        ulps = np.abs(y[finite].astype(np.float64) - exact[finite]) / spacing
        floats = np.abs(_ordered(y[keep].view(np.int32)) - _ordered(rounded[keep].view(np.int32)))
        worst["count"] += float(keep.sum())
        if ulps.size and ulps.max() > worst["ulp"]:
            worst["ulp"], worst["at"] = float(ulps.max()), float(x[finite][ulps.argmax()])
        if floats.size and floats.max() > worst["floats"]:
            worst["floats"] = float(floats.max())
            worst["floats_at"] = float(x[keep][floats.argmax()])
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(
        description="max error of the f32 expansions over every f32 in a range"
    )
    parser.add_argument("functions", nargs="*", default=["erf", "tanh"])
    parser.add_argument("--low", type=float)
    parser.add_argument("--high", type=float)
    args = parser.parse_args()
    for function in args.functions:
        low, high = RANGES[function]
        low = args.low if args.low is not None else low
        high = args.high if args.high is not None else high
        began = time.perf_counter()
        worst = sweep(function, low, high)
        print(
            f"{function} over [{low}, {high}] ({worst['count']:.0f} inputs, "
            f"{time.perf_counter() - began:.0f} s): max {worst['ulp']:.3f} ulp at "
            f"{worst['at']!r}; {worst['floats']:.0f} floats from the correctly rounded value "
            f"at {worst['floats_at']!r}"
        )


if __name__ == "__main__":
    main()
