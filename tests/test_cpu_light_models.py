"""The nine light models onnx ships, with random weights, compiled for the host CPU and run
natively: every output matches onnxruntime within 1e-4 of its largest magnitude."""

from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import onnx
import pytest

import terrace
from terrace.runtime.model import CompiledModel

from onnx_models import (
    LIGHT_MODELS,
    assert_close_to_reference,
    light_model,
    randomize_weights,
    run_onnxruntime,
)


@functools.cache
def _compiled(name: str) -> tuple[onnx.ModelProto, CompiledModel]:
    """Each model compiled once for every test of this module that runs it: a light model's
    compile is the cost of this file (VGG-19's, DenseNet's: tens of seconds each)."""
    model = randomize_weights(light_model(name), seed=1)
    return model, terrace.compile(model, cache=False)


@pytest.mark.parametrize("name", LIGHT_MODELS)
def test_light_model_compiles_and_matches_onnxruntime(name: str):
    model, compiled = _compiled(name)
    rng = np.random.default_rng(3)
    feeds = {
        spec.name: rng.uniform(-1, 1, spec.shape).astype(spec.dtype) for spec in compiled.inputs
    }
    expected = run_onnxruntime(model, feeds)
    actual = compiled.run(feeds)
    assert len(actual) == len(expected)
    for ours, theirs in zip(actual, expected, strict=True):
        assert_close_to_reference(ours, theirs)


def test_eight_threads_share_one_compiled_model():
    model, compiled = _compiled("light_squeezenet")
    (spec,) = compiled.inputs
    rng = np.random.default_rng(4)
    inputs = [rng.uniform(-1, 1, spec.shape).astype(spec.dtype) for _ in range(8)]
    expected = [run_onnxruntime(model, {spec.name: x})[0] for x in inputs]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda x: compiled(x)[0], inputs * 2))
    for index, result in enumerate(results):
        assert_close_to_reference(result, expected[index % 8])
