"""Cast double -> float16 on the CPU target: LLVM would call `__truncdfhf2`, which the JIT
cannot resolve (the worker crashed on onnx's test_cast_DOUBLE_to_FLOAT16); the lowering goes
through f32 rounded to odd, and must round exactly as numpy does, ties included."""

from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper

import terrace


def test_double_to_half_rounds_like_numpy_at_ties_and_extremes():
    rng = np.random.default_rng(0)
    halves = rng.integers(0, 0x7C00, 20000, dtype=np.uint16).view(np.float16)  # finite, >= 0
    with np.errstate(over="ignore"):  # the largest half's successor is inf: an inf tie
        above = np.nextafter(halves, np.float16(np.inf)).astype(np.float64)
    ties = (halves.astype(np.float64) + above) / 2
    special = [np.nan, np.inf, -np.inf, 65519.99, 65520.0, 1e300, -0.0, 5.960464477539063e-08]
    x = np.concatenate(
        [ties, np.nextafter(ties, np.inf), np.nextafter(ties, -np.inf), -ties, special]
    )
    graph = helper.make_graph(
        [helper.make_node("Cast", ["x"], ["y"], to=TensorProto.FLOAT16)],
        "cast",
        [helper.make_tensor_value_info("x", TensorProto.DOUBLE, [x.size])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT16, [x.size])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    (got,) = terrace.compile(model, cache=False)(x)
    with np.errstate(over="ignore"):
        want = x.astype(np.float16)
    same = (got.view(np.uint16) == want.view(np.uint16)) | (np.isnan(got) & np.isnan(want))
    assert same.all(), (x[~same][:5], got[~same][:5], want[~same][:5])
