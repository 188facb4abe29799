"""ai.onnx.preview.training's Gradient, differentiated in reverse mode at import, checked
against derivatives worked out by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import terrace
from terrace.errors import UnsupportedModelError

TRAINING = "ai.onnx.preview.training"


@pytest.fixture(autouse=True)
def private_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TERRACE_CACHE_DIR", str(tmp_path / "cache"))


def _model(nodes: list[onnx.NodeProto], shapes: dict[str, list[int]], xs: list[str], y: str):
    gradient = helper.make_node(
        "Gradient", xs, [f"d{y}_d{x}" for x in xs], domain=TRAINING, xs=xs, y=y
    )
    graph = helper.make_graph(
        [*nodes, gradient],
        "g",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in shapes.items()],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in gradient.output],
    )
    return helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", 18), helper.make_opsetid(TRAINING, 1)],
    )


def test_gradient_through_add_sub_mul_div_neg():
    """y = (a*b - a/b) + -a + c: dy/da = b - 1/b - 1, dy/db = a + a/b^2, dy/dc = 1."""
    nodes = [
        helper.make_node("Mul", ["a", "b"], ["ab"]),
        helper.make_node("Div", ["a", "b"], ["q"]),
        helper.make_node("Sub", ["ab", "q"], ["s"]),
        helper.make_node("Neg", ["a"], ["na"]),
        helper.make_node("Add", ["s", "na"], ["t"]),
        helper.make_node("Add", ["t", "c"], ["y"]),
    ]
    shapes = {n: [2, 3] for n in "abc"}
    model = terrace.compile(_model(nodes, shapes, ["a", "b", "c"], "y"), cache=False)
    rng = np.random.default_rng(0)
    a, b, c = (rng.uniform(0.5, 2.0, (2, 3)).astype(np.float32) for _ in range(3))
    da, db, dc = model(a, b, c)
    np.testing.assert_allclose(da, b - 1 / b - 1, rtol=1e-5)
    np.testing.assert_allclose(db, a + a / b**2, rtol=1e-5)
    np.testing.assert_array_equal(dc, np.ones((2, 3), np.float32))


def test_an_input_y_does_not_read_gets_zeros():
    nodes = [helper.make_node("Mul", ["a", "a"], ["y"])]
    model = terrace.compile(_model(nodes, {"a": [3], "b": [3]}, ["a", "b"], "y"), cache=False)
    a = np.array([1.0, -2.0, 0.5], np.float32)
    da, db = model(a, np.ones(3, np.float32))
    np.testing.assert_allclose(da, 2 * a)
    np.testing.assert_array_equal(db, np.zeros(3, np.float32))


@pytest.mark.parametrize(
    ("node", "shapes", "message"),
    [
        (helper.make_node("Exp", ["a"], ["y"]), {"a": [2], "b": [2]}, "through Exp"),
        (helper.make_node("Add", ["a", "b"], ["y"]), {"a": [2, 2], "b": [2]}, "broadcasting"),
    ],
)
def test_what_it_cannot_differentiate_is_unsupported(
    node: onnx.NodeProto, shapes: dict[str, list[int]], message: str
):
    with pytest.raises(UnsupportedModelError, match=message):
        terrace.compile(_model([node], shapes, ["a", "b"], "y"), cache=False)
