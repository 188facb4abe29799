"""The backend's reps keep a bounded number of compiled models: a `ContainerRep` (dynamic
input shapes) compiles once per distinct shape but keeps at most `MAX_SPECIALIZATIONS`, the
least recently used dropped first, as `SpecializingRep` does for bound values."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from terrace.backend import CompiledModels, ContainerRep, TerraceBackend


def _dynamic_relu() -> onnx.ModelProto:
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"], name="relu")],
        "relu",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 3])],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_compiled_models_drop_the_least_recently_used():
    kept: CompiledModels[str, int] = CompiledModels(2)
    kept.put("a", 1)
    kept.put("b", 2)
    assert kept.get("a") == 1  # a is now the most recently used
    kept.put("c", 3)
    assert len(kept) == 2
    assert "b" not in kept
    assert kept.get("a") == 1
    assert kept.get("c") == 3


def test_container_rep_keeps_at_most_its_limit(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(ContainerRep, "MAX_SPECIALIZATIONS", 2)
    rep = TerraceBackend.prepare(_dynamic_relu(), "CPU", cache=False)
    assert isinstance(rep, ContainerRep)
    rng = np.random.default_rng(0)
    for rows in (1, 2, 3, 1, 4, 5):
        x = rng.standard_normal((rows, 3)).astype(np.float32)
        (y,) = rep.run([x])
        np.testing.assert_array_equal(y, np.maximum(x, 0))
        assert len(rep._reps) <= 2  # pyright: ignore[reportPrivateUsage]
    # six calls over five distinct shapes, two kept: the memory is bounded
    assert len(rep._reps) == 2  # pyright: ignore[reportPrivateUsage]
