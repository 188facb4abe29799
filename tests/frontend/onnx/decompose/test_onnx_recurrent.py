"""RNN, GRU and LSTM, unrolled by the importer (frontend/onnx/decompose/rnn.py): compiled, run and
compared with onnxruntime (onnx's reference evaluator ignores activations, clip and
sequence_lens) over directions, layouts, activations with alpha and beta, clip, biases,
initial states, peepholes, linear_before_reset and shorter sequence lengths."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import terrace
from terrace.errors import UnsupportedModelError

from onnx_models import run_onnxruntime

GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}
STEPS, BATCH, INPUT, HIDDEN = 4, 3, 2, 5


def _model(
    node: onnx.NodeProto,
    inputs: dict[str, np.ndarray],
    outputs: list[str],
    initializers: dict[str, np.ndarray] | None = None,
) -> onnx.ModelProto:
    graph = helper.make_graph(
        [node],
        "g",
        [
            helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape)
            for n, a in inputs.items()
        ],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in outputs],
        initializer=[numpy_helper.from_array(a, n) for n, a in (initializers or {}).items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 22)])


def _case(
    op_type: str,
    directions: int = 1,
    layout: int = 0,
    lengths: np.ndarray | None = None,
    constant_weights: bool = False,
    **attributes: object,
) -> None:
    rng = np.random.default_rng(len(op_type) + 10 * directions + layout)
    gates = GATES[op_type]
    x_dims = (STEPS, BATCH, INPUT)
    state_dims = (directions, BATCH, HIDDEN)
    arrays = {
        "x": rng.standard_normal(x_dims),
        "w": rng.standard_normal((directions, gates * HIDDEN, INPUT)),
        "r": rng.standard_normal((directions, gates * HIDDEN, HIDDEN)) * 0.5,
        "b": rng.standard_normal((directions, 2 * gates * HIDDEN)),
        "h0": rng.standard_normal(state_dims),
        "c0": rng.standard_normal(state_dims),
        "p": rng.standard_normal((directions, 3 * HIDDEN)),
    }
    feeds = {n: a.astype(np.float32) for n, a in arrays.items()}
    names = ["x", "w", "r", "b", "", "h0"]
    if lengths is not None:
        feeds["lengths"] = lengths
        names[4] = "lengths"
    if op_type == "LSTM":
        names += ["c0", "p"]
    else:
        del feeds["c0"], feeds["p"]
    outputs = ["y", "y_h", "y_c"][: 3 if op_type == "LSTM" else 2]
    attributes.setdefault("direction", ["forward", "bidirectional"][directions - 1])
    node = helper.make_node(op_type, names, outputs, hidden_size=HIDDEN, **attributes)
    weights = {n: feeds.pop(n) for n in ("w", "r", "b")} if constant_weights else {}
    expected = run_onnxruntime(_model(node, feeds, outputs, weights), feeds)
    if layout:  # onnxruntime has no layout 1: it is layout 0 with the batch axis first
        node.attribute.append(helper.make_attribute("layout", 1))
        for name, perm in (("x", (1, 0, 2)), ("h0", (1, 0, 2)), ("c0", (1, 0, 2))):
            if name in feeds:
                feeds[name] = np.ascontiguousarray(feeds[name].transpose(perm))
        perms = [(2, 0, 1, 3), (1, 0, 2), (1, 0, 2)]
        expected = [e.transpose(perm) for e, perm in zip(expected, perms, strict=False)]
    model = _model(node, feeds, outputs, weights)
    actual = terrace.compile(model, cache=False).run(feeds)
    for want, got in zip(expected, actual, strict=True):
        assert got.shape == want.shape and got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("op_type", ["RNN", "GRU", "LSTM"])
@pytest.mark.parametrize("layout", [0, 1])
def test_bidirectional_in_both_layouts(op_type: str, layout: int):
    _case(op_type, directions=2, layout=layout)


@pytest.mark.parametrize("op_type", ["RNN", "GRU", "LSTM"])
def test_reverse_with_constant_weights_and_clip(op_type: str):
    _case(op_type, direction="reverse", constant_weights=True, clip=0.7)


@pytest.mark.parametrize("op_type", ["RNN", "GRU", "LSTM"])
def test_sequence_lengths_keep_the_state_and_zero_the_output(op_type: str):
    _case(op_type, directions=2, lengths=np.array([4, 2, 1], np.int32))


def test_listed_activations_consume_alpha_and_beta_in_order():
    # Relu takes none; HardSigmoid and Affine take one of each, LeakyRelu an alpha
    activations = ["HardSigmoid", "Relu", "Affine", "LeakyRelu", "ScaledTanh", "Softsign"]
    _case(
        "LSTM",
        directions=2,
        activations=activations,
        activation_alpha=[0.3, 0.8, 0.05, 0.9],
        activation_beta=[0.4, 0.1, 1.2],
    )
    _case(
        "GRU",
        activations=["HardSigmoid", "Elu"],
        activation_alpha=[0.3, 0.5],
        activation_beta=[0.4],
    )
    _case("RNN", activations=["Softplus"])
    _case("RNN", activations=["ThresholdedRelu"], activation_alpha=[0.2])


def test_linear_before_reset_and_input_forget():
    _case("GRU", directions=2, linear_before_reset=1)
    _case("LSTM", input_forget=1)


def test_sequence_lengths_outside_the_sequence_are_unsupported():
    x = np.zeros((STEPS, BATCH, INPUT), np.float32)
    constants = {
        "w": np.zeros((1, HIDDEN, INPUT), np.float32),
        "r": np.zeros((1, HIDDEN, HIDDEN), np.float32),
        "lengths": np.array([4, 0, 5], np.int32),
    }
    node = helper.make_node("RNN", ["x", "w", "r", "", "lengths"], ["y"], hidden_size=HIDDEN)
    with pytest.raises(UnsupportedModelError, match="sequence_lens outside"):
        terrace.compile(_model(node, {"x": x}, ["y"], constants), cache=False)
