"""contraction-microkernel's run-time packing of B (a convolution's im2col rows) runs as one
scf.parallel over all the K loops, so that a stem convolution's 3 input channels do not split
2:1 on two threads: the region's shape, and the numbers on two threads against onnxruntime."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper
from xdsl.dialects import arith, scf
from xdsl.dialects.builtin import IntegerAttr

import terrace
from terrace.compiler import StageTimer, lower
from terrace.targets import host_target

from onnx_models import assert_close_to_reference, float_model, run_onnxruntime

RNG = np.random.default_rng(7)


def _stem() -> onnx.ModelProto:
    weight = RNG.standard_normal((8, 3, 3, 3)).astype(np.float32)
    node = helper.make_node("Conv", ["x", "w"], ["y"], strides=[2, 2], pads=[1, 1, 1, 1])
    return float_model([node], {"x": [1, 3, 33, 33]}, {"y": [1, 8, 17, 17]}, {"w": weight})


def _upper_bounds(loop: scf.ParallelOp) -> list[int | None]:
    bounds: list[int | None] = []
    for value in loop.upperBound:
        owner = value.owner
        attribute = owner.value if isinstance(owner, arith.ConstantOp) else None
        bounds.append(attribute.value.data if isinstance(attribute, IntegerAttr) else None)
    return bounds


def test_packing_is_parallel_over_every_k_loop() -> None:
    module = lower(_stem(), host_target(), "loops", StageTimer()).module
    loops = [_upper_bounds(op) for op in module.walk() if isinstance(op, scf.ParallelOp)]
    # (input channel, kernel row, kernel column) of the im2col rows, not the channels alone
    assert [3, 3, 3] in loops
    assert [3] not in loops


def test_stem_convolution_on_two_threads_matches_onnxruntime() -> None:
    model = _stem()
    compiled = terrace.compile(model, num_threads=2, cache=False)
    x = RNG.standard_normal((1, 3, 33, 33)).astype(np.float32)
    (actual,) = compiled.run({"x": x})
    (expected,) = run_onnxruntime(model, {"x": x})
    assert_close_to_reference(actual, expected)
