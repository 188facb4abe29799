"""Sequences and optionals known at import (frontend/onnx/control_flow/sequences.py), and sequence
or optional graph inputs and outputs (frontend/onnx/container_io.py, backend.ContainerRep), against
onnx's reference evaluator."""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator

from terrace import backend
from terrace.errors import UnsupportedModelError

FLOAT = TensorProto.FLOAT


def _tensor(name: str, dims: list[int]) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, FLOAT, dims)


def _sequence(name: str) -> onnx.ValueInfoProto:
    element = helper.make_tensor_type_proto(FLOAT, None)
    return helper.make_value_info(name, helper.make_sequence_type_proto(element))


def _model(
    nodes: list[onnx.NodeProto],
    inputs: list[onnx.ValueInfoProto],
    outputs: list[onnx.ValueInfoProto],
    initializers: list[onnx.TensorProto] | None = None,
) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=initializers or [])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])


def _check(model: onnx.ModelProto, inputs: list[Any]) -> None:
    names = [v.name for v in model.graph.input]
    expected = ReferenceEvaluator(model).run(None, dict(zip(names, inputs, strict=True)))
    got = backend.prepare(model, cache=False).run(inputs)
    assert len(got) == len(expected)
    for actual, wanted in zip(got, expected, strict=True):
        if isinstance(wanted, list):
            assert isinstance(actual, list) and len(actual) == len(wanted)  # pyright: ignore[reportUnknownArgumentType]
            for a, w in zip(actual, wanted, strict=True):  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]
                np.testing.assert_array_equal(a, w)
        elif wanted is None:
            assert actual is None
        else:
            np.testing.assert_array_equal(actual, wanted)


def _const(name: str, value: int) -> onnx.NodeProto:
    return helper.make_node(
        "Constant", [], [name], value=helper.make_tensor(name, TensorProto.INT64, [], [value])
    )


def test_construct_insert_erase_at_length():
    nodes = [
        helper.make_node("SequenceConstruct", ["a", "b"], ["s"]),
        _const("minus_one", -1),
        helper.make_node("SequenceInsert", ["s", "c", "minus_one"], ["s2"]),  # a, b -> a, c, b
        _const("zero", 0),
        helper.make_node("SequenceErase", ["s2", "zero"], ["s3"]),  # c, b
        helper.make_node("SequenceAt", ["s3", "minus_one"], ["last"]),
        helper.make_node("SequenceLength", ["s3"], ["n"]),
        helper.make_node("Cast", ["n"], ["length"], to=FLOAT),
        helper.make_node("Add", ["last", "length"], ["y"]),
    ]
    model = _model(
        nodes,
        [_tensor("a", [2]), _tensor("b", [2]), _tensor("c", [2])],
        [_tensor("y", [2]), _sequence("s3")],
    )
    rng = np.random.default_rng(0)
    _check(model, [rng.standard_normal(2).astype(np.float32) for _ in range(3)])


@pytest.mark.parametrize(
    ("split", "axis", "keepdims"),
    [(None, 1, 0), (None, -1, 1), (np.array(2, np.int64), 1, 1), (np.array([1, 3, 1]), 1, 1)],
)
def test_split_to_sequence_and_concat(split: np.ndarray | None, axis: int, keepdims: int):
    stack = split is None
    initializers = [] if split is None else [onnx.numpy_helper.from_array(split, "split")]
    nodes = [
        helper.make_node(
            "SplitToSequence",
            ["x"] if split is None else ["x", "split"],
            ["s"],
            axis=axis,
            keepdims=keepdims,
        ),
        # stacked parts, or parts of different sizes joined back along the split axis
        helper.make_node(
            "ConcatFromSequence", ["s"], ["joined"], axis=0 if stack else 1, new_axis=int(stack)
        ),
    ]
    outputs = [_sequence("s"), helper.make_tensor_value_info("joined", FLOAT, None)]
    model = _model(nodes, [_tensor("x", [3, 5])], outputs, initializers)
    x = np.arange(15, dtype=np.float32).reshape(3, 5)
    _check(model, [x])


def test_sequence_input_and_output():
    nodes = [
        helper.make_node("SequenceAt", ["s", "position"], ["item"]),
        helper.make_node("SequenceInsert", ["s", "item"], ["out"]),
    ]
    model = _model(
        nodes,
        [_sequence("s"), helper.make_tensor_value_info("position", TensorProto.INT64, [])],
        [_sequence("out")],
    )
    items = [np.full((2,), i, np.float32) for i in range(3)]
    _check(model, [items, np.array(1, np.int64)])
    _check(model, [items[:1], np.array(-1, np.int64)])


def test_optionals():
    element = helper.make_tensor_type_proto(FLOAT, [2])
    optional_type = helper.make_optional_type_proto(element)
    nodes = [
        helper.make_node("OptionalHasElement", ["o"], ["has"]),
        helper.make_node("Optional", ["x"], ["made"]),
        helper.make_node("OptionalGetElement", ["made"], ["got"]),
        helper.make_node("Optional", [], ["none"], type=element),
        helper.make_node("OptionalHasElement", ["none"], ["none_has"]),
    ]
    outputs = [
        helper.make_tensor_value_info("has", TensorProto.BOOL, []),
        _tensor("got", [2]),
        helper.make_tensor_value_info("none_has", TensorProto.BOOL, []),
        helper.make_value_info("o_out", optional_type),
    ]
    nodes.append(helper.make_node("Identity", ["o"], ["o_out"]))
    model = _model(nodes, [helper.make_value_info("o", optional_type), _tensor("x", [2])], outputs)
    x = np.array([1.5, -2.0], np.float32)
    # onnx's evaluator gets Optional wrong (OptionalGetElement of Optional(x) gives [x],
    # an Optional of nothing has an element), so the expected values are spelled out
    rep = backend.prepare(model, cache=False)
    has, got, none_has, same = rep.run([x, x])
    assert bool(has) and not bool(none_has)
    np.testing.assert_array_equal(got, x)
    np.testing.assert_array_equal(same, x)
    has, got, none_has, same = rep.run([None, x])
    assert not bool(has) and not bool(none_has) and same is None
    np.testing.assert_array_equal(got, x)


def test_out_of_range_position_is_unsupported():
    nodes = [
        helper.make_node("SequenceConstruct", ["a"], ["s"]),
        _const("two", 2),
        helper.make_node("SequenceAt", ["s", "two"], ["y"]),
    ]
    model = _model(nodes, [_tensor("a", [2])], [_tensor("y", [2])])
    with pytest.raises(UnsupportedModelError, match="out of range"):
        backend.prepare(model, cache=False)


def test_loop_body_if_reads_body_values():
    """An If in a Loop body reads the body's inputs: its branches see the step's values."""
    then_branch = helper.make_graph(
        [helper.make_node("SequenceInsert", ["s_in", "x"], ["grown"])],
        "then",
        [],
        [_sequence("grown")],
    )
    else_branch = helper.make_graph(
        [helper.make_node("Identity", ["s_in"], ["same"])], "else", [], [_sequence("same")]
    )
    body = helper.make_graph(
        [
            helper.make_node("Identity", ["cond_in"], ["cond_out"]),
            helper.make_node(
                "If", ["cond_in"], ["s_out"], then_branch=then_branch, else_branch=else_branch
            ),
        ],
        "body",
        [
            helper.make_tensor_value_info("i", TensorProto.INT64, []),
            helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
            _sequence("s_in"),
        ],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []), _sequence("s_out")],
    )
    nodes = [
        _const("trips", 3),
        helper.make_node("SequenceEmpty", [], ["empty"], dtype=FLOAT),
        helper.make_node(
            "Constant", [], ["go"], value=helper.make_tensor("go", TensorProto.BOOL, [], [True])
        ),
        helper.make_node("Loop", ["trips", "go", "empty"], ["result"], body=body),
    ]
    model = _model(nodes, [_tensor("x", [2])], [_sequence("result")])
    _check(model, [np.array([1.0, -1.0], np.float32)])


@pytest.mark.parametrize(
    ("batch_axis", "time_axis", "lengths"),
    [(1, 0, [4, 0, 1]), (0, 1, [2, 4, 3]), (1, 0, [3, 1, 2])],
)
def test_reverse_sequence(batch_axis: int, time_axis: int, lengths: list[int]):
    dims = [4, 3, 2] if time_axis == 0 else [3, 4, 2]
    node = helper.make_node(
        "ReverseSequence", ["x", "lens"], ["y"], batch_axis=batch_axis, time_axis=time_axis
    )
    lens = helper.make_tensor_value_info("lens", TensorProto.INT64, [3])
    model = _model([node], [_tensor("x", dims), lens], [_tensor("y", dims)])
    x = np.arange(24, dtype=np.float32).reshape(dims)
    _check(model, [x, np.array(lengths, np.int64)])
