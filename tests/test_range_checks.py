"""Run-time range checks (`nn.range_check`, dialects/nn/checks.py) of the values that Terrace's
rewrites of ReverseSequence and TensorScatter count with: one-node ONNX models whose lengths or
write indices are graph inputs, against onnxruntime. In range, the results match
onnxruntime's; out of range, Terrace raises `ValueOutOfRangeError` (an `IndexOutOfRangeError`)
naming the node, the input, the element and the valid range, where onnxruntime fails the run."""

from __future__ import annotations

import functools

import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import TensorProto, helper, numpy_helper

import terrace
from terrace.dialects.nn.interpreter import run_function
from terrace.errors import (
    CompilationError,
    IndexOutOfRangeError,
    ValueOutOfRangeError,
)
from terrace.frontend.onnx import import_model
from terrace.runtime.abi import IndexCheck
from terrace.runtime.model import CompiledModel

X = np.arange(5 * 2 * 3, dtype=np.float32).reshape(5, 2, 3)  # time 5, batch 2
CACHE = np.zeros((2, 6, 3), np.float32)  # batch 2, max_sequence_length 6
UPDATE = np.arange(2 * 2 * 3, dtype=np.float32).reshape(2, 2, 3) + 1  # sequence_length 2


def _model(
    node: onnx.NodeProto,
    inputs: dict[str, np.ndarray],
    opset: int,
    constants: dict[str, np.ndarray] | None = None,
) -> onnx.ModelProto:
    graph = helper.make_graph(
        [node],
        "g",
        [
            helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape)
            for n, a in inputs.items()
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=[numpy_helper.from_array(a, n) for n, a in (constants or {}).items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def _reverse_sequence() -> onnx.ModelProto:
    node = helper.make_node(
        "ReverseSequence", ["x", "lens"], ["y"], name="rs", time_axis=0, batch_axis=1
    )
    return _model(node, {"x": X, "lens": np.zeros(2, np.int64)}, 18)


def _tensor_scatter(mode: str) -> onnx.ModelProto:
    node = helper.make_node("TensorScatter", ["c", "u", "w"], ["y"], name="ts", mode=mode, axis=1)
    return _model(node, {"c": CACHE, "u": UPDATE, "w": np.zeros(2, np.int64)}, 24)


@functools.cache
def _compiled(kind: str) -> tuple[onnx.ModelProto, CompiledModel]:
    """Each model compiled once for all the tests that feed it."""
    model = _reverse_sequence() if kind == "ReverseSequence" else _tensor_scatter(kind)
    return model, terrace.compile(model, cache=False)


def _feeds(kind: str, values: list[int]) -> dict[str, np.ndarray]:
    checked = np.array(values, np.int64)
    if kind == "ReverseSequence":
        return {"x": X, "lens": checked}
    return {"c": CACHE, "u": UPDATE, "w": checked}


def _onnxruntime(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> np.ndarray:
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 4  # a failing run is expected here: keep its log quiet
    session = onnxruntime.InferenceSession(model.SerializeToString(), options)
    return session.run(None, feeds)[0]


IN_RANGE = [
    ("ReverseSequence", [5, 0]),  # all of the sequence, none of it
    ("ReverseSequence", [2, 3]),
    ("linear", [0, 4]),  # 4 + 2 = 6: the update ends at the cache's end
    ("linear", [3, 0]),
    ("circular", [0, 5]),  # wraps around the cache
    ("circular", [100, 7]),
]

# kind, values, the error's text after the node, onnxruntime's error
OUT_OF_RANGE = [
    ("ReverseSequence", [2, -1], "sequence_lens[1] = -1 is out of range [0, 5]", "-1"),
    ("ReverseSequence", [6, 2], "sequence_lens[0] = 6 is out of range [0, 5]", "6"),
    ("ReverseSequence", [-6, 9], "sequence_lens[0] = -6 is out of range [0, 5]", "-6"),
    ("linear", [0, 5], "write_indices[1] = 5 is out of range [0, 4]", "exceeds"),
    ("linear", [-1, 100], "write_indices[0] = -1 is out of range [0, 4]", "negative"),
    ("circular", [0, -7], "write_indices[1] = -7 is below 0", "negative"),
]


@pytest.mark.parametrize(("kind", "values"), IN_RANGE)
def test_in_range_values_match_onnxruntime(kind: str, values: list[int]) -> None:
    model, compiled = _compiled(kind)
    feeds = _feeds(kind, values)
    np.testing.assert_array_equal(compiled.run(feeds)[0], _onnxruntime(model, feeds))
    assert [c.operand for c in compiled.abi.index_checks if c.operand] != []


@pytest.mark.parametrize(("kind", "values", "message", "theirs"), OUT_OF_RANGE)
def test_out_of_range_value_raises_naming_the_node(
    kind: str, values: list[int], message: str, theirs: str
) -> None:
    model, compiled = _compiled(kind)
    feeds = _feeds(kind, values)
    node = model.graph.node[0]
    expected = f"node '{node.name}' ({node.op_type}): {message}"
    with pytest.raises(ValueOutOfRangeError) as raised:
        compiled.run(feeds)
    assert str(raised.value) == expected
    assert isinstance(raised.value, IndexOutOfRangeError)
    assert (raised.value.node, raised.value.operand) == (node.name, message.split("[")[0])
    with pytest.raises(Exception, match=theirs):
        _onnxruntime(model, feeds)
    # the nn dialect's numpy reference raises the same error
    with pytest.raises(ValueOutOfRangeError) as from_reference:
        run_function(import_model(model).module, list(feeds.values()))
    assert str(from_reference.value) == expected
    # the model still serves good calls after a bad one
    good = _feeds(kind, [0, 0])
    np.testing.assert_array_equal(compiled.run(good)[0], _onnxruntime(model, good))


def test_constant_lengths_are_checked_when_compiling() -> None:
    node = helper.make_node(
        "ReverseSequence", ["x", "lens"], ["y"], name="rs", time_axis=0, batch_axis=1
    )
    model = _model(node, {"x": X}, 18, constants={"lens": np.array([1, 6], np.int64)})
    with pytest.raises(CompilationError, match=r'"rs".*sequence_lens\[1\] = 6 is out of range'):
        terrace.compile(model, cache=False)


def test_a_range_check_survives_the_manifest() -> None:
    """Artifacts store their checks as JSON (runtime/abi.py): the range goes with them."""
    for check in (
        IndexCheck("rs", "ReverseSequence", (2,), "sequence_lens", 0, 5),
        IndexCheck("ts", "TensorScatter", (2,), "write_indices", 0, None),
        IndexCheck("g", "Gather", (4, 5)),
    ):
        assert IndexCheck.from_json(check.to_json()) == check
