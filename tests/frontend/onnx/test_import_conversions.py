"""ONNX nodes the importer converts without an nn op of their own: constants evaluated at
import time (Size, Range, ops of constant inputs, empty inputs), CastLike as Cast, Trilu as
Where, Quantize/DequantizeLinear as elementwise ops, and ops that onnx defines by a function
body. Each model is compiled and run, and compared with onnx's reference evaluator."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

import terrace
from terrace.errors import UnsupportedModelError
from terrace.frontend.onnx import import_model

RNG = np.random.default_rng(0)


def _model(
    nodes: list[onnx.NodeProto],
    inputs: dict[str, np.ndarray],
    outputs: list[str],
    opset: int = 21,
    initializers: dict[str, np.ndarray] | None = None,
) -> onnx.ModelProto:
    graph = helper.make_graph(
        nodes,
        "g",
        [
            helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape)
            for n, a in inputs.items()
        ],
        [helper.make_tensor_value_info(n, TensorProto.UNDEFINED, None) for n in outputs],
        initializer=[numpy_helper.from_array(a, n) for n, a in (initializers or {}).items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def _check(model: onnx.ModelProto, inputs: dict[str, np.ndarray], rtol: float = 1e-6) -> None:
    expected = ReferenceEvaluator(model).run(None, inputs)
    actual = terrace.compile(model, cache=False).run(inputs)
    for want, got in zip(expected, actual, strict=True):
        want = np.asarray(want)
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=rtol)


def _nn_ops(model: onnx.ModelProto) -> list[str]:
    module = import_model(model).module
    return [op.name for op in module.walk() if op.name.startswith("nn.")]


def test_size_range_and_constant_attributes_fold_to_constants():
    nodes = [
        helper.make_node("Size", ["x"], ["n"]),
        helper.make_node("Constant", [], ["zero"], value_int=0),
        helper.make_node("Constant", [], ["step"], value_ints=[1]),
        helper.make_node("Squeeze", ["step"], ["step0"]),
        helper.make_node("Range", ["zero", "n", "step0"], ["r"]),
        helper.make_node("Cast", ["r"], ["rf"], to=TensorProto.FLOAT),
        helper.make_node("Constant", [], ["half"], value_float=0.5),
        helper.make_node("Mul", ["rf", "half"], ["scaled"]),
        helper.make_node("Add", ["x", "scaled"], ["y"]),
    ]
    inputs = {"x": RNG.standard_normal((2, 3)).astype(np.float32).reshape(6)}
    model = _model(nodes, inputs, ["y"])
    assert _nn_ops(model) == ["nn.weight", "nn.add"]  # the folded range, a float vector
    _check(model, inputs)


def test_an_op_without_nn_op_is_fine_when_its_inputs_are_constant():
    nodes = [
        helper.make_node("Compress", ["table", "keep"], ["kept"], axis=1),
        helper.make_node("Add", ["x", "kept"], ["y"]),
    ]
    inputs = {"x": np.ones((2, 2), np.float32)}
    table = {
        "table": RNG.standard_normal((2, 3)).astype(np.float32),
        "keep": np.array([True, False, True]),
    }
    _check(_model(nodes, inputs, ["y"], initializers=table), inputs)
    node = helper.make_node("Compress", ["x", "keep"], ["y"], name="c", axis=1)
    keep = {"keep": np.array([True, False])}
    dynamic = _model([node], inputs, ["y"], initializers=keep)
    with pytest.raises(UnsupportedModelError, match="c \\(Compress, opset 21\\): operator not"):
        import_model(dynamic)


def test_an_empty_input_is_a_constant_and_cast_like_is_a_cast():
    nodes = [helper.make_node("CastLike", ["x", "like"], ["y"])]
    inputs = {"x": np.array([1.7, -2.2, 300.0], np.float32), "like": np.zeros((0,), np.int32)}
    model = _model(nodes, inputs, ["y"])
    assert _nn_ops(model) == ["nn.cast"]
    _check(model, inputs)


def test_an_op_with_empty_results_becomes_an_empty_constant():
    nodes = [helper.make_node("Relu", ["e"], ["y"]), helper.make_node("Neg", ["x"], ["z"])]
    inputs = {"e": np.zeros((2, 0), np.float32), "x": np.ones((2,), np.float32)}
    model = _model(nodes, inputs, ["y", "z"])
    assert "nn.relu" not in _nn_ops(model)
    _check(model, inputs)


@pytest.mark.parametrize("upper", [0, 1])
def test_trilu_with_constant_and_run_time_k(upper: int):
    x = RNG.standard_normal((2, 3, 4)).astype(np.float32)
    constant = _model(
        [helper.make_node("Trilu", ["x", "k"], ["y"], upper=upper)],
        {"x": x},
        ["y"],
        initializers={"k": np.array(1, np.int64)},
    )
    _check(constant, {"x": x})
    inputs = {"x": x, "k": np.array(-1, np.int64)}
    run_time = _model([helper.make_node("Trilu", ["x", "k"], ["y"], upper=upper)], inputs, ["y"])
    _check(run_time, inputs)


def test_function_bodies_replace_ops_nn_lacks():
    nodes = [
        helper.make_node("Celu", ["x"], ["a"], alpha=2.0),
        helper.make_node("LayerNormalization", ["a", "s"], ["y", "mean"], axis=-1),
    ]
    inputs = {"x": RNG.standard_normal((2, 5)).astype(np.float32)}
    model = _model(nodes, inputs, ["y", "mean"], initializers={"s": np.ones(5, np.float32)})
    # Celu's body, and LayerNormalization's body for its optional mean output
    assert "nn.elu" in _nn_ops(model) and "nn.layer_normalization" not in _nn_ops(model)
    _check(model, inputs, rtol=1e-5)


@pytest.mark.parametrize("block_size", [0, 2])
def test_quantize_and_dequantize(block_size: int):
    x = (RNG.standard_normal((2, 4)) * 50).astype(np.float32)
    if block_size:
        scale = np.array([[0.5, 2.0], [1.0, 0.25]], np.float32)
        zero_point = np.array([[3, -4], [0, 10]], np.int8)
    else:
        scale = np.array([0.5, 2.0, 1.0, 0.25], np.float32)
        zero_point = np.array([3, -4, 0, 10], np.int8)
    attributes = {"axis": 1, "block_size": block_size} if block_size else {"axis": 1}
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "scale", "zero"], ["q"], **attributes),
        helper.make_node("DequantizeLinear", ["q", "scale", "zero"], ["y"], **attributes),
    ]
    inputs = {"x": x, "scale": scale, "zero": zero_point}
    _check(_model(nodes, inputs, ["q", "y"]), inputs)


def test_clip_with_run_time_bounds_is_max_then_min():
    x = np.array([np.nan, -3.0, 0.5, 4.0], np.float32)
    inputs = {"x": x, "low": np.array(2.0, np.float32), "high": np.array(1.0, np.float32)}
    model = _model([helper.make_node("Clip", ["x", "low", "high"], ["y"])], inputs, ["y"])
    assert _nn_ops(model) == ["nn.max", "nn.min"]
    _check(model, inputs)  # min > max: every value becomes max; NaN stays


def test_hardmax_is_one_hot_at_the_first_maximum():
    x = np.array([[1.0, 3.0, 3.0], [2.0, 0.0, -1.0]], np.float32)
    for axis in (0, -1):
        _check(
            _model([helper.make_node("Hardmax", ["x"], ["y"], axis=axis)], {"x": x}, ["y"]),
            {"x": x},
        )


def test_scan_unrolls_its_body_per_step():
    # a running sum (state) and, per step, the state times an outer-scope factor (scan output),
    # over axis 1 of x, read backwards
    body = helper.make_graph(
        [
            helper.make_node("Add", ["sum_in", "x_t"], ["sum_out"]),
            helper.make_node("Mul", ["sum_out", "factor"], ["scaled"]),
        ],
        "body",
        [
            helper.make_tensor_value_info("sum_in", TensorProto.FLOAT, [2]),
            helper.make_tensor_value_info("x_t", TensorProto.FLOAT, [2]),
        ],
        [
            helper.make_tensor_value_info("sum_out", TensorProto.FLOAT, [2]),
            helper.make_tensor_value_info("scaled", TensorProto.FLOAT, [2]),
        ],
    )
    node = helper.make_node(
        "Scan",
        ["initial", "x"],
        ["total", "steps"],
        body=body,
        num_scan_inputs=1,
        scan_input_axes=[1],
        scan_input_directions=[1],
        scan_output_axes=[1],
    )
    inputs = {
        "initial": np.array([1.0, -1.0], np.float32),
        "x": RNG.standard_normal((2, 4)).astype(np.float32),
    }
    factor = {"factor": np.array(3.0, np.float32)}
    model = _model([node], inputs, ["total", "steps"], initializers=factor)
    # onnx's reference evaluator has no reversed scan inputs: numpy is the oracle
    sums = inputs["initial"][:, None] + np.cumsum(inputs["x"][:, ::-1], axis=1)
    total, steps = terrace.compile(model, cache=False).run(inputs)
    # f32 sums in another order than numpy's: an ulp or two of the largest partial sum
    np.testing.assert_allclose(total, sums[:, -1], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(steps, 3 * sums, rtol=1e-6, atol=3e-6)


def test_loop_with_a_known_trip_count_unrolls_and_if_with_a_known_condition_inlines():
    # three steps of acc = acc * 2 + i, each step's acc as a scan output; a constant If
    # picks its then branch
    body = helper.make_graph(
        [
            helper.make_node("Identity", ["cond_in"], ["cond_out"]),
            helper.make_node("Cast", ["i"], ["i_float"], to=TensorProto.FLOAT),
            helper.make_node("Mul", ["acc_in", "two"], ["doubled"]),
            helper.make_node("Add", ["doubled", "i_float"], ["acc_out"]),
            helper.make_node("Identity", ["acc_out"], ["acc_step"]),
        ],
        "body",
        [
            helper.make_tensor_value_info("i", TensorProto.INT64, []),
            helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
            helper.make_tensor_value_info("acc_in", TensorProto.FLOAT, [2]),
        ],
        [
            helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
            helper.make_tensor_value_info("acc_out", TensorProto.FLOAT, [2]),
            helper.make_tensor_value_info("acc_step", TensorProto.FLOAT, [2]),
        ],
    )

    def branch(op_type: str) -> onnx.GraphProto:
        output = helper.make_tensor_value_info("branch_out", TensorProto.FLOAT, [2])
        return helper.make_graph(
            [helper.make_node(op_type, ["final"], ["branch_out"])], op_type, [], [output]
        )

    nodes = [
        helper.make_node("Loop", ["trips", "go", "x"], ["final", "steps"], body=body),
        helper.make_node("If", ["go"], ["y"], then_branch=branch("Neg"), else_branch=branch("Abs")),
    ]
    constants = {
        "trips": np.array(3, np.int64),
        "go": np.array(True),
        "two": np.array(2.0, np.float32),
    }
    inputs = {"x": np.array([1.0, -0.5], np.float32)}
    _check(_model(nodes, inputs, ["final", "steps", "y"], initializers=constants), inputs)


def test_lp_normalization_and_inference_dropout():
    # onnx's reference leaves out the absolute value of the 1-norm; onnxruntime is the oracle
    x = np.array([[3.0, -4.0, 0.0], [0.0, 0.0, 0.0]], np.float32)
    expected = {1: [[3 / 7, -4 / 7, 0.0], [0.0] * 3], 2: [[0.6, -0.8, 0.0], [0.0] * 3]}
    for p in (1, 2):
        node = helper.make_node("LpNormalization", ["x"], ["y"], axis=1, p=p)
        (y,) = terrace.compile(_model([node], {"x": x}, ["y"]), cache=False).run({"x": x})
        np.testing.assert_allclose(y, expected[p], rtol=1e-6)  # a zero norm gives 0
    dropout = helper.make_node("Dropout", ["x", "ratio"], ["y", "mask"])
    inputs = {"x": x, "ratio": np.array(0.5, np.float32)}
    model = _model([dropout], inputs, ["y", "mask"])
    assert _nn_ops(model) == ["nn.identity", "nn.constant"]  # the mask, a splat
    _check(model, inputs)


def test_a_subgraph_reading_an_outer_value_orders_after_its_producer():
    # nothing but the branch ties If to Relu: sorting must see the branch's read of w
    output = helper.make_tensor_value_info("branch_out", TensorProto.FLOAT, [2])
    then_branch = helper.make_graph(
        [helper.make_node("Identity", ["w"], ["branch_out"])], "then", [], [output]
    )
    else_branch = helper.make_graph(
        [helper.make_node("Neg", ["w"], ["branch_out"])], "else", [], [output]
    )
    nodes = [
        helper.make_node("Neg", ["x"], ["t"]),
        helper.make_node("Relu", ["t"], ["w"]),
        helper.make_node("If", ["go"], ["y"], then_branch=then_branch, else_branch=else_branch),
    ]
    inputs = {"x": np.array([1.0, -2.0], np.float32)}
    model = _model(nodes, inputs, ["y"], initializers={"go": np.array(False)})
    _check(model, inputs)


def test_legacy_ops_and_eye_like():
    # opset 6: PRelu's 1-d slope is per channel, Add's B aligns at `axis`
    x = RNG.standard_normal((2, 3, 4)).astype(np.float32)
    inputs = {"x": x, "slope": np.array([0.1, 0.2, 0.3], np.float32)}
    prelu = _model([helper.make_node("PRelu", ["x", "slope"], ["y"])], inputs, ["y"], opset=6)
    (y,) = terrace.compile(prelu, cache=False).run(inputs)
    np.testing.assert_allclose(y, np.where(x < 0, x * inputs["slope"][:, None], x), rtol=1e-6)
    add = helper.make_node("Add", ["x", "b"], ["y"], broadcast=1, axis=1)
    inputs = {"x": x, "b": np.array([1.0, 2.0, 3.0], np.float32)}
    (y,) = terrace.compile(_model([add], inputs, ["y"], opset=6), cache=False).run(inputs)
    np.testing.assert_allclose(y, x + inputs["b"][:, None], rtol=1e-6)
    eye = helper.make_node("EyeLike", ["x"], ["y"], k=1, dtype=TensorProto.INT32)
    inputs = {"x": np.zeros((3, 4), np.float32)}
    model = _model([eye], inputs, ["y"])
    assert _nn_ops(model) == ["nn.constant"]  # of the input's shape, known at import
    _check(model, inputs)


@pytest.mark.parametrize("op_type", ["Selu", "Shrink"])
def test_selu_and_shrink(op_type: str):
    inputs = {"x": np.array([-2.0, -0.3, 0.0, 0.4, 1.5], np.float32)}
    _check(_model([helper.make_node(op_type, ["x"], ["y"])], inputs, ["y"], opset=9), inputs)


def test_instance_normalization_and_softplus():
    inputs = {
        "x": RNG.standard_normal((2, 3, 4, 5)).astype(np.float32),
        "scale": np.array([1.0, 0.5, -2.0], np.float32),
        "bias": np.array([0.0, 1.0, 0.25], np.float32),
    }
    node = helper.make_node("InstanceNormalization", ["x", "scale", "bias"], ["y"], epsilon=0.01)
    _check(_model([node], inputs, ["y"]), inputs, rtol=1e-5)
    x = {"x": np.array([-3.0, 0.0, 2.5], np.float32)}
    _check(_model([helper.make_node("Softplus", ["x"], ["y"])], x, ["y"], opset=9), x, rtol=1e-6)
