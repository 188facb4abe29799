"""GridSample, expanded by the importer (frontend/onnx/decompose/vision/grid_sample.py): compiled,
run and compared with onnx's reference evaluator over modes, padding modes and align_corners, with
grid points far outside [-1, 1], on the borders and halfway between pixels (nearest rounds half to
even)."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator

import terrace
from terrace.errors import UnsupportedModelError


def _model(nodes: list[onnx.NodeProto], inputs: dict[str, np.ndarray], outputs: list[str]):
    graph = helper.make_graph(
        nodes,
        "g",
        [
            helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape)
            for n, a in inputs.items()
        ],
        [helper.make_tensor_value_info(n, TensorProto.UNDEFINED, None) for n in outputs],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 22)])


def _grid(rng: np.random.Generator, dims: tuple[int, ...]) -> np.ndarray:
    grid = rng.uniform(-2.6, 2.6, dims)
    edges = np.array([-1.0, 1.0, 0.0, -1.25, 1.25, 0.2, -0.6, 3.0])  # borders, halfway points
    grid.reshape(-1)[: edges.size] = edges
    return grid.astype(np.float32)


def _check(x: np.ndarray, grid: np.ndarray, mode: str, padding: str) -> None:
    nodes = [
        helper.make_node(
            "GridSample",
            ["x", "grid"],
            [f"y{align}"],
            mode=mode,
            padding_mode=padding,
            align_corners=align,
        )
        for align in (0, 1)
    ]
    inputs = {"x": x, "grid": grid}
    model = _model(nodes, inputs, ["y0", "y1"])
    expected = ReferenceEvaluator(model).run(None, inputs)
    actual = terrace.compile(model, cache=False).run(inputs)
    for want, got in zip(expected, actual, strict=True):
        assert got.shape == want.shape and got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("mode", ["nearest", "linear", "cubic"])
@pytest.mark.parametrize("padding", ["zeros", "border", "reflection"])
def test_grid_sample_2d(mode: str, padding: str):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    _check(x, _grid(rng, (2, 3, 6, 2)), mode, padding)


@pytest.mark.parametrize("mode", ["nearest", "linear"])
def test_grid_sample_3d(mode: str):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((1, 2, 3, 4, 2)).astype(np.float32)
    _check(x, _grid(rng, (1, 2, 3, 2, 3)), mode, "reflection")


def test_grid_sample_of_integers_is_unsupported():
    node = helper.make_node("GridSample", ["x", "grid"], ["y"])
    inputs = {"x": np.zeros((1, 1, 2, 2), np.int32), "grid": np.zeros((1, 1, 1, 2), np.float32)}
    with pytest.raises(UnsupportedModelError, match="GridSample of int32"):
        terrace.compile(_model([node], inputs, ["y"]), cache=False)
