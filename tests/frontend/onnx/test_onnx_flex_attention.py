"""FlexAttention (domain ai.onnx.preview), converted as its function body with its score_mod
and prob_mod graphs inlined (frontend/onnx/functions.py): onnx's own cases, against the
outputs onnx's reference computed for them."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper

from terrace import backend
from terrace.conformance.cases import collect
from terrace.errors import UnsupportedModelError

CASES = ("test_flexattention_score_mod", "test_flexattention_prob_mod", "test_flexattention_gqa")


@pytest.mark.parametrize("name", CASES)
def test_onnx_cases(name: str):
    (case,) = [c for c in collect(["node"]) if c.name == name]
    loaded = case.load()
    rep = backend.prepare(loaded.model, cache=False)
    for inputs, outputs in loaded.data_sets:
        (got,) = rep.run(inputs)
        np.testing.assert_allclose(got, outputs[0], rtol=case.rtol, atol=1e-6)


def test_preview_op_without_function_is_unsupported():
    node = helper.make_node("NoSuchOp", ["x"], ["y"], domain="ai.onnx.preview")
    value = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])
    graph = helper.make_graph([node], "g", [value], [helper.make_tensor_value_info("y", 1, [2])])
    opsets = [helper.make_opsetid("", 26), helper.make_opsetid("ai.onnx.preview", 1)]
    model = helper.make_model(graph, opset_imports=opsets)
    with pytest.raises(UnsupportedModelError, match="domain .ai.onnx.preview. is not supported"):
        backend.prepare(model, cache=False)
