"""AveragePool compiled to native code against onnx's reference evaluator, over random 2-d
geometries: the f32 window sums run as a depthwise convolution with weights of 1 (the vector
kernel of conv-depthwise-kernel, reading the padding in place), and unequal windows divide by
counts computed from the output index (undilated) or by a pooled mask (dilated)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from node_checks import check_compiled
from onnx import helper


@st.composite
def _geometries(draw: st.DrawFn) -> dict[str, object]:
    kernel = [draw(st.integers(1, 3)), draw(st.integers(1, 3))]
    pads = [draw(st.integers(0, size - 1)) for size in kernel * 2]
    return {
        "kernel_shape": kernel,
        "strides": [draw(st.integers(1, 2)), draw(st.integers(1, 2))],
        "pads": pads,
        "count_include_pad": draw(st.integers(0, 1)),
        "dilations": [draw(st.integers(1, 2)), 1],
    }


@settings(max_examples=8, deadline=None, derandomize=True, database=None)
@given(
    attributes=_geometries(),
    channels=st.integers(1, 3),
    height=st.integers(5, 9),
    width=st.integers(5, 21),
)
def test_average_pool_matches_onnx_reference(
    attributes: dict[str, object], channels: int, height: int, width: int
):
    x = np.random.default_rng(width).standard_normal((1, channels, height, width))
    node = helper.make_node("AveragePool", ["x"], ["y"], **attributes)
    check_compiled(node, {"x": x.astype(np.float32)}, opset=19, rtol=1e-5, atol=1e-6)
