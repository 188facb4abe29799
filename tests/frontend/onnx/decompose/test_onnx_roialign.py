"""RoiAlign, rewritten by the importer into gathers and elementwise ops
(frontend/onnx/decompose/vision/roi_align.py), against onnx's reference evaluator: both modes and
coordinate transformations, rois reaching past the image, malformed (reversed) rois, several
images."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator

import terrace
from terrace.errors import UnsupportedModelError

ROIS = np.array(
    [
        [0.0, 0.0, 9.0, 9.0],
        [2.5, 1.2, 6.1, 4.0],
        [-3.0, 5.0, 14.0, 13.5],  # past the image on three sides
        [7.0, 8.0, 3.0, 2.0],  # reversed
        [4.4, 4.4, 4.6, 4.6],  # smaller than a pixel
    ],
    np.float32,
)


def _model(x: np.ndarray, **attributes: object) -> onnx.ModelProto:
    node = helper.make_node("RoiAlign", ["x", "rois", "batch"], ["y"], **attributes)
    graph = helper.make_graph(
        [node],
        "g",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape),
            helper.make_tensor_value_info("rois", TensorProto.FLOAT, ROIS.shape),
            helper.make_tensor_value_info("batch", TensorProto.INT64, [len(ROIS)]),
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 22)])


@pytest.mark.parametrize("mode", ["avg", "max"])
@pytest.mark.parametrize("transform", ["half_pixel", "output_half_pixel"])
def test_against_reference(mode: str, transform: str):
    x = np.random.default_rng(0).standard_normal((2, 3, 10, 12)).astype(np.float32)
    model = _model(
        x,
        mode=mode,
        coordinate_transformation_mode=transform,
        output_height=3,
        output_width=4,
        sampling_ratio=2,
        spatial_scale=0.8,
    )
    feeds = {"x": x, "rois": ROIS, "batch": np.array([0, 1, 1, 0, 1], np.int64)}
    (want,) = ReferenceEvaluator(model).run(None, feeds)
    (got,) = terrace.compile(model, cache=False).run(feeds)
    assert got.shape == want.shape == (5, 3, 3, 4)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_adaptive_sampling_is_unsupported():
    x = np.zeros((1, 1, 4, 4), np.float32)
    with pytest.raises(UnsupportedModelError, match="sampling_ratio"):
        terrace.compile(_model(x, sampling_ratio=0), cache=False)
