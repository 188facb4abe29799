"""Run-time index checks (lowering/nn_to_linalg/index_checks.py): one-node ONNX models whose
indices are graph inputs, against onnxruntime and the nn dialect's numpy reference. In range,
negative indices included, the results match onnxruntime's; out of range, Terrace raises
`IndexOutOfRangeError` naming the node and the value, and onnxruntime fails the run too."""

from __future__ import annotations

import functools
import threading
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper
from xdsl.context import Context

import terrace
from terrace.dialects.nn.interpreter import run_function
from terrace.errors import CompilationError, IndexOutOfRangeError, UnsupportedModelError
from terrace.frontend.onnx import import_model
from terrace.lowering.nn_to_linalg import ConvertNnToLinalgPass
from terrace.runtime.abi import read_index_checks
from terrace.runtime.model import CompiledModel
from terrace.tools.cli import main

from linalg_exec import run_linalg

DATA = np.arange(20, dtype=np.float32).reshape(4, 5)


def _model(
    op_type: str,
    inputs: dict[str, np.ndarray],
    attributes: dict[str, object] | None = None,
    constants: dict[str, np.ndarray] | None = None,
    name: str = "",
    opset: int = 18,
) -> onnx.ModelProto:
    node = helper.make_node(
        op_type,
        [*inputs, *(constants or {})],
        ["y"],
        name=name or f"{op_type.lower()}_1",
        **(attributes or {}),
    )
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


def _onnxruntime(model: onnx.ModelProto, inputs: dict[str, np.ndarray]) -> np.ndarray:
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 4  # a failing run is expected here: keep its log quiet
    session = onnxruntime.InferenceSession(model.SerializeToString(), options)
    return session.run(None, inputs)[0]


def _compiled(model: onnx.ModelProto) -> CompiledModel:
    return terrace.compile(model, cache=False)


# op type, inputs (the indices are "idx"), attributes, an in-range idx, an out-of-range idx and
# the value and axis the error names (the first bad index in row-major order)
CASES = [
    ("Gather", {"data": DATA}, {"axis": 0}, [[1, -4], [3, 0]], [[1, 400000], [-5, 0]], 400000, 0),
    ("Gather", {"data": DATA}, {"axis": 1}, [2, -5, 4], [2, -6, 5], -6, 1),
    ("Gather", {"data": DATA}, {"axis": -1}, 3, 5, 5, 1),
    (
        "GatherElements",
        {"data": DATA},
        {"axis": 0},
        [[0, -1, 2, -4, 3]],
        [[0, 1, -5, 3, 4]],
        -5,
        0,
    ),
    ("GatherElements", {"data": DATA}, {"axis": 1}, [[4, -5], [0, 1]], [[4, 0], [5, 9]], 5, 1),
    ("GatherND", {"data": DATA}, {}, [[1, -5], [-4, 4]], [[1, 2], [3, 5]], 5, 1),
    ("GatherND", {"data": DATA}, {}, [[-1], [2]], [[-1], [-5]], -5, 0),
    (
        "GatherND",
        {"data": DATA},
        {"batch_dims": 1},
        [[4], [-5], [0], [2]],
        [[4], [1], [7], [9]],
        7,
        1,
    ),
    (
        "ScatterElements",
        {"data": DATA, "upd": np.ones((2, 3), np.float32)},
        {"axis": 1},
        [[0, -1, 3], [4, -5, 2]],
        [[0, 1, 3], [4, 5, 2]],
        5,
        1,
    ),
    (
        "ScatterElements",
        {"data": DATA, "upd": np.ones((1, 2), np.float32)},
        {"axis": 0, "reduction": "add"},
        [[-4, 3]],
        [[-5, 3]],
        -5,
        0,
    ),
    (
        "ScatterND",
        {"data": DATA, "upd": np.ones((2, 5), np.float32)},
        {},
        [[-1], [0]],
        [[4], [0]],
        4,
        0,
    ),
    (
        "ScatterND",
        {"data": DATA, "upd": np.full((2,), 7, np.float32)},
        {"reduction": "mul"},
        [[1, -5], [-4, 4]],
        [[1, -5], [-4, -6]],
        -6,
        1,
    ),
]


def _inputs(case: tuple[object, ...], indices: object) -> dict[str, np.ndarray]:
    arrays = case[1]
    assert isinstance(arrays, dict)
    named: dict[str, np.ndarray] = {"data": arrays["data"], "idx": np.array(indices, np.int64)}
    if "upd" in arrays:
        named["upd"] = arrays["upd"]
    return named


def _case_id(case: tuple[object, ...]) -> str:
    return f"{case[0]}-{case[2]}"


@functools.cache
def _case_model(position: int) -> tuple[onnx.ModelProto, CompiledModel]:
    case = CASES[position]
    op_type, _, attributes = case[0], case[1], case[2]
    assert isinstance(op_type, str) and isinstance(attributes, dict)
    model = _model(op_type, _inputs(case, case[3]), attributes)
    return model, _compiled(model)


@pytest.mark.parametrize("position", range(len(CASES)), ids=[_case_id(c) for c in CASES])
def test_in_range_indices_match_onnxruntime(position: int):
    case = CASES[position]
    model, compiled = _case_model(position)
    inputs = _inputs(case, case[3])
    np.testing.assert_array_equal(compiled.run(inputs)[0], _onnxruntime(model, inputs))
    assert compiled.abi.index_checks, "run-time indices must be checked"


@pytest.mark.parametrize("position", range(len(CASES)), ids=[_case_id(c) for c in CASES])
def test_out_of_range_index_raises_naming_the_node(position: int):
    case = CASES[position]
    op_type, value, axis = case[0], case[5], case[6]
    model, compiled = _case_model(position)
    inputs = _inputs(case, case[4])
    node = model.graph.node[0].name
    size = DATA.shape[int(str(axis))]
    expected = (
        f"node '{node}' ({op_type}): index {value} is out of range [{-size}, {size}) on axis {axis}"
    )
    with pytest.raises(IndexOutOfRangeError) as raised:
        compiled.run(inputs)
    assert str(raised.value) == expected
    assert (raised.value.node, raised.value.value, raised.value.axis) == (node, value, axis)
    with pytest.raises(Exception, match=node):
        _onnxruntime(model, inputs)
    # the numpy reference of the nn dialect raises the same error
    imported = import_model(model)
    with pytest.raises(IndexOutOfRangeError) as from_reference:
        run_function(imported.module, list(inputs.values()))
    assert str(from_reference.value) == expected
    # the model still serves good calls after a bad one
    good = _inputs(case, case[3])
    np.testing.assert_array_equal(compiled.run(good)[0], _onnxruntime(model, good))


@pytest.mark.parametrize("position", range(len(CASES)), ids=[_case_id(c) for c in CASES])
def test_linalg_status_names_the_first_bad_index(position: int):
    """Stage 2 run by xDSL's interpreter: the function's last result is the status, [check
    number, axis, value] out of range and zeros in range, and the other results are the
    reference's in range."""
    case = CASES[position]
    model, _ = _case_model(position)
    module = import_model(model).module
    ConvertNnToLinalgPass().apply(Context(), module)
    assert [c.node for c in read_index_checks(module)] == [model.graph.node[0].name]
    bad = _inputs(case, case[4])
    *_, status = run_linalg(module, list(bad.values()))
    np.testing.assert_array_equal(status, [1, case[6], case[5]])
    good = _inputs(case, case[3])
    *results, status = run_linalg(module, list(good.values()))
    np.testing.assert_array_equal(status, [0, 0, 0])
    np.testing.assert_array_equal(results[0], _onnxruntime(model, good))


def test_one_hot_gives_an_all_off_row_for_an_index_out_of_range():
    """ONNX's OneHot: an index outside [-depth, depth) is no error, its row is all off."""
    inputs = {"idx": np.array([[0, 5, -6], [-1, -3, 7]], np.int64)}
    constants = {"depth": np.array(3, np.int64), "values": np.array([2, 9], np.float32)}
    model = _model("OneHot", inputs, {"axis": 1}, constants)
    compiled = _compiled(model)
    want = _onnxruntime(model, inputs)
    np.testing.assert_array_equal(compiled.run(inputs)[0], want)
    assert (want[0, :, 1] == 2).all()  # the all-off row of index 5
    assert compiled.abi.index_checks == ()


def test_a_model_without_run_time_indices_has_no_status():
    model = _model("Relu", {"data": DATA})
    compiled = _compiled(model)
    assert compiled.abi.index_checks == ()
    assert compiled.abi.pointer_count == 1 + 1 + 0 + 1
    np.testing.assert_array_equal(compiled(DATA)[0], DATA)


def test_constant_indices_are_checked_when_compiling():
    in_range = _model("Gather", {"data": DATA}, {"axis": 1}, {"idx": np.array([-5, 4], np.int64)})
    compiled = _compiled(in_range)
    assert compiled.abi.index_checks == ()
    np.testing.assert_array_equal(compiled(DATA)[0], DATA[:, [0, 4]])
    scalar = _model("Gather", {"data": DATA}, {"axis": 0}, {"idx": np.array(-1, np.int64)})
    np.testing.assert_array_equal(_compiled(scalar)(DATA)[0], DATA[-1])
    bad = _model("Gather", {"data": DATA}, {"axis": 1}, {"idx": np.array([1, 5], np.int64)}, "g")
    with pytest.raises(CompilationError, match=r'"g".*index 5 is out of range \[-5, 5\) on axis 1'):
        _compiled(bad)


def test_a_constant_gather_out_of_range_fails_the_import():
    """Constant data and indices fold at import, by the nn reference, which raises."""
    node = helper.make_node("Gather", ["data", "idx"], ["y"], name="folded_gather")
    graph = helper.make_graph(
        [node],
        "g",
        [],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=[
            numpy_helper.from_array(DATA, "data"),
            numpy_helper.from_array(np.array([1, 9], np.int64), "idx"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    message = r"folded_gather \(Gather.*index 9 is out of range \[-4, 4\) on axis 0"
    with pytest.raises(UnsupportedModelError, match=message):
        _compiled(model)


def _two_gathers() -> onnx.ModelProto:
    nodes = [
        helper.make_node("Gather", ["data", "rows"], ["picked"], name="rows_gather", axis=0),
        helper.make_node("Gather", ["picked", "cols"], ["y"], name="cols_gather", axis=1),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [
            helper.make_tensor_value_info("data", TensorProto.FLOAT, [4, 5]),
            helper.make_tensor_value_info("rows", TensorProto.INT64, [3]),
            helper.make_tensor_value_info("cols", TensorProto.INT64, [2]),
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])


def test_terrace_run_reports_a_bad_index_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    model = _model("Gather", {"data": DATA, "idx": np.array([1, 2], np.int64)}, {"axis": 0})
    onnx.save(model, tmp_path / "gather.onnx")
    np.save(tmp_path / "data.npy", DATA)
    np.save(tmp_path / "idx.npy", np.array([1, 400000], np.int64))
    inputs = [f"data={tmp_path / 'data.npy'}", f"idx={tmp_path / 'idx.npy'}"]
    status = main(
        ["run", str(tmp_path / "gather.onnx"), "--input", inputs[0], "--input", inputs[1]]
    )
    captured = capsys.readouterr()
    assert status == 1
    assert captured.err.strip() == (
        "terrace: error: node 'gather_1' (Gather): index 400000 is out of range [-4, 4) on axis 0"
    )


def test_the_first_failing_node_is_named():
    compiled = _compiled(_two_gathers())
    assert [c.node for c in compiled.abi.index_checks] == ["rows_gather", "cols_gather"]
    rows, cols = np.array([0, 3, -1]), np.array([4, -5])
    np.testing.assert_array_equal(compiled(DATA, rows, cols)[0], DATA[rows][:, cols])
    with pytest.raises(IndexOutOfRangeError, match="'cols_gather'.* index 5 "):
        compiled(DATA, rows, np.array([4, 5]))
    with pytest.raises(IndexOutOfRangeError, match="'rows_gather'.* index 4 "):
        compiled(DATA, np.array([0, 4, 9]), np.array([4, 5]))


def test_each_thread_sees_its_own_status():
    compiled = _compiled(_two_gathers())
    outcomes: dict[int, str] = {}

    def call(worker: int) -> None:
        cols = np.array([0, 5 if worker % 2 else 1])
        for _ in range(50):
            try:
                compiled(DATA, np.array([0, 1, 2]), cols)
                outcome = "ok"
            except IndexOutOfRangeError:
                outcome = "error"
            if outcomes.setdefault(worker, outcome) != outcome:
                outcomes[worker] = "mixed"

    threads = [threading.Thread(target=call, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes == {0: "ok", 1: "error", 2: "ok", 3: "error"}


def test_reverse_sequence_with_a_length_past_the_time_axis_raises():
    """ReverseSequence is a GatherElements (frontend/onnx_misc_ops.py): a sequence length past
    the time axis reads past it, and the error names the user's node."""
    x = np.arange(40, dtype=np.float32).reshape(5, 4, 2)
    inputs = {"x": x, "lengths": np.array([1, 5, 3, 0], np.int64)}
    attributes = {"time_axis": 0, "batch_axis": 1}
    model = _model("ReverseSequence", inputs, attributes, name="reverse")
    compiled = _compiled(model)
    np.testing.assert_array_equal(compiled.run(inputs)[0], _onnxruntime(model, inputs))
    inputs["lengths"] = np.array([1, 7, 3, 0], np.int64)
    with pytest.raises(IndexOutOfRangeError, match="node 'reverse'"):
        compiled.run(inputs)
    with pytest.raises(Exception, match="reverse"):
        _onnxruntime(model, inputs)


def test_tensor_scatter_writing_past_the_cache_raises():
    """A write whose update would run past the cache's sequence axis (2 steps from 5 in a cache
    of 6) is refused before anything is written, naming the user's node and the index."""
    inputs = {
        "cache": np.zeros((2, 6, 3), np.float32),
        "update": np.ones((2, 2, 3), np.float32),
        "writes": np.array([0, 4], np.int64),
    }
    model = _model("TensorScatter", inputs, {"axis": 1}, name="kv_write", opset=24)
    compiled = _compiled(model)
    np.testing.assert_array_equal(compiled.run(inputs)[0], _onnxruntime(model, inputs))
    inputs["writes"] = np.array([0, 5], np.int64)
    refused = r"node 'kv_write' \(TensorScatter\): write_indices\[1\] = 5 is out of range \[0, 4\]"
    with pytest.raises(IndexOutOfRangeError, match=refused):
        compiled.run(inputs)
    with pytest.raises(Exception, match="kv_write"):
        _onnxruntime(model, inputs)


def test_max_unpool_with_an_index_past_the_output_raises():
    inputs = {"x": np.ones((1, 1, 2, 2), np.float32), "i": np.array([[[[0, 3], [10, 15]]]])}
    attributes = {"kernel_shape": [2, 2], "strides": [2, 2]}
    model = _model("MaxUnpool", inputs, attributes, name="unpool")
    compiled = _compiled(model)
    np.testing.assert_array_equal(compiled.run(inputs)[0], _onnxruntime(model, inputs))
    inputs["i"] = np.array([[[[0, 3], [10, 16]]]])
    with pytest.raises(IndexOutOfRangeError, match="node 'unpool'.* index 16 is out of range"):
        compiled.run(inputs)
    with pytest.raises(Exception, match="unpool"):
        _onnxruntime(model, inputs)


# -- random index tensors --------------------------------------------------------------------

FUZZED = {
    # op type, attributes, the indices' shape, updates (scatters)
    "Gather": ({"axis": 1}, (2, 3), None),
    "GatherElements": ({"axis": 0}, (3, 5), None),
    "GatherND": ({}, (3, 2), None),
    "ScatterElements": ({"axis": 1}, (4, 2), np.arange(8, dtype=np.float32).reshape(4, 2)),
    "ScatterND": ({"reduction": "add"}, (3, 1), np.ones((3, 5), np.float32)),
}


@functools.cache
def _fuzzed(op_type: str) -> tuple[onnx.ModelProto, CompiledModel]:
    attributes, index_shape, updates = FUZZED[op_type]
    inputs = {"data": DATA, "idx": np.zeros(index_shape, np.int64)}
    if updates is not None:
        inputs["upd"] = updates
    model = _model(op_type, inputs, attributes)
    return model, _compiled(model)


def _reference(model: onnx.ModelProto, inputs: dict[str, np.ndarray]) -> np.ndarray:
    """The nn dialect's numpy reference semantics run on the imported model."""
    return run_function(import_model(model).module, list(inputs.values()))[0]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    op_type=st.sampled_from(sorted(FUZZED)),
    seed=st.integers(0, 2**32 - 1),
    spread=st.sampled_from([4, 6, 12, 2**40]),
    dtype=st.sampled_from([np.int64, np.int32]),
)
def test_random_indices_raise_exactly_when_the_reference_does(
    op_type: str, seed: int, spread: int, dtype: type[np.integer]
):
    """Random index tensors in and out of range: Terrace raises the reference's error (same
    value, same axis), or returns the reference's result; onnxruntime agrees on which."""
    if op_type.endswith("ND"):
        dtype = np.int64  # GatherND and ScatterND take int64 indices only
    model, compiled = _fuzzed(op_type)
    index_shape = FUZZED[op_type][1]
    high = min(spread, int(np.iinfo(dtype).max))
    indices = np.random.default_rng(seed).integers(-high, high, index_shape).astype(dtype)
    inputs = {"data": DATA, "idx": indices}
    if FUZZED[op_type][2] is not None:
        inputs["upd"] = FUZZED[op_type][2]
    typed = _model(op_type, inputs, FUZZED[op_type][0]) if dtype is not np.int64 else model
    compiled = _compiled_for(typed, compiled)
    try:
        want = _reference(typed, inputs)
    except IndexOutOfRangeError as error:
        with pytest.raises(IndexOutOfRangeError) as raised:
            compiled.run(inputs)
        assert (raised.value.value, raised.value.axis) == (error.value, error.axis)
        with pytest.raises(Exception, match=typed.graph.node[0].name):
            _onnxruntime(typed, inputs)
        return
    np.testing.assert_array_equal(compiled.run(inputs)[0], want)
    np.testing.assert_allclose(_onnxruntime(typed, inputs), want)


_INT32_MODELS: dict[str, CompiledModel] = {}


def _compiled_for(model: onnx.ModelProto, int64_model: CompiledModel) -> CompiledModel:
    """The compiled model for `model`'s index type: int32 indices compile once per op."""
    if model.graph.input[1].type.tensor_type.elem_type == TensorProto.INT64:
        return int64_model
    key = model.graph.node[0].op_type
    if key not in _INT32_MODELS:
        _INT32_MODELS[key] = _compiled(model)
    return _INT32_MODELS[key]
