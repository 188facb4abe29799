"""Writes one small ONNX model, by name, for the importer's FileCheck tests:

    python make_model.py NAME OUT.onnx

Each model is a function below that returns a ModelProto built with onnx.helper; a test's RUN
line writes its model to a temporary file and pipes `terrace import` of it into filecheck.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

F = TensorProto.FLOAT


def _model(
    nodes: Sequence[onnx.NodeProto],
    inputs: Sequence[tuple[str, int, Sequence[int]]],
    outputs: Sequence[tuple[str, int, Sequence[int]]],
    opset: int = 21,
    initializers: Sequence[onnx.TensorProto] = (),
    domains: Sequence[tuple[str, int]] = (),
) -> onnx.ModelProto:
    graph = helper.make_graph(
        list(nodes),
        "model",
        [helper.make_tensor_value_info(n, t, list(d)) for n, t, d in inputs],
        [helper.make_tensor_value_info(n, t, list(d)) for n, t, d in outputs],
        initializer=list(initializers),
    )
    opsets = [helper.make_opsetid("", opset), *(helper.make_opsetid(d, v) for d, v in domains)]
    return helper.make_model(graph, opset_imports=opsets)


def relu_gemm() -> onnx.ModelProto:
    """One nn op per node; initializers become weights in the store (a splat one a
    constant_of_shape), a scalar an inline constant."""
    bias = numpy_helper.from_array(np.ones(4, np.float32), "bias")
    weight = numpy_helper.from_array(np.arange(32, dtype=np.float32).reshape(8, 4), "weight")
    alpha = numpy_helper.from_array(np.array(0.5, np.float32), "alpha")
    nodes = [
        helper.make_node("Gemm", ["x", "weight", "bias"], ["h"], name="fc"),
        helper.make_node("Relu", ["h"], ["r"], name="act"),
        helper.make_node("Mul", ["r", "alpha"], ["y"], name="scale"),
    ]
    initializers = [weight, bias, alpha]
    return _model(nodes, [("x", F, [2, 8])], [("y", F, [2, 4])], initializers=initializers)


def reshape_chain() -> onnx.ModelProto:
    """The Shape/Gather/Concat chain exporters emit for a flatten: folded to a static shape."""
    nodes = [
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("Gather", ["s", "zero"], ["n"], axis=0),
        helper.make_node("Unsqueeze", ["n", "zero1"], ["n1"]),
        helper.make_node("Concat", ["n1", "minus_one"], ["shape"], axis=0),
        helper.make_node("Reshape", ["x", "shape"], ["y"]),
    ]
    initializers = [
        numpy_helper.from_array(np.array(0, np.int64), "zero"),
        numpy_helper.from_array(np.array([0], np.int64), "zero1"),
        numpy_helper.from_array(np.array([-1], np.int64), "minus_one"),
    ]
    return _model(nodes, [("x", F, [2, 3, 4])], [("y", F, [2, 12])], initializers=initializers)


def shrink() -> onnx.ModelProto:
    node = helper.make_node("Shrink", ["x"], ["y"], lambd=1.0, bias=0.5)
    return _model([node], [("x", F, [2, 3])], [("y", F, [2, 3])])


def trilu() -> onnx.ModelProto:
    node = helper.make_node("Trilu", ["x"], ["y"], upper=0)
    return _model([node], [("x", F, [3, 3])], [("y", F, [3, 3])])


def scatter_opset10() -> onnx.ModelProto:
    """Scatter, deprecated at opset 11 for ScatterElements."""
    node = helper.make_node("Scatter", ["x", "i", "u"], ["y"], axis=1)
    inputs = [("x", F, [2, 3]), ("i", TensorProto.INT64, [2, 1]), ("u", F, [2, 1])]
    return _model([node], inputs, [("y", F, [2, 3])], opset=10)


def instance_normalization() -> onnx.ModelProto:
    node = helper.make_node("InstanceNormalization", ["x", "scale", "b"], ["y"], epsilon=0.25)
    inputs = [("x", F, [1, 2, 4]), ("scale", F, [2]), ("b", F, [2])]
    return _model([node], inputs, [("y", F, [1, 2, 4])])


def dequantize_linear() -> onnx.ModelProto:
    node = helper.make_node("DequantizeLinear", ["x", "scale", "zero"], ["y"])
    initializers = [
        numpy_helper.from_array(np.array(0.5, np.float32), "scale"),
        numpy_helper.from_array(np.array(3, np.int8), "zero"),
    ]
    return _model(
        [node], [("x", TensorProto.INT8, [4])], [("y", F, [4])], initializers=initializers
    )


def binarizer() -> onnx.ModelProto:
    node = helper.make_node("Binarizer", ["x"], ["y"], domain="ai.onnx.ml", threshold=0.5)
    return _model(
        [node], [("x", F, [4])], [("y", F, [4])], domains=[("ai.onnx.ml", 1)]
    )


def softmax_opset11() -> onnx.ModelProto:
    """Before opset 13 Softmax flattens to 2-d at `axis` (adapters.py)."""
    node = helper.make_node("Softmax", ["x"], ["y"], axis=1)
    return _model([node], [("x", F, [2, 3, 4])], [("y", F, [2, 3, 4])], opset=11)


def add_broadcast_opset6() -> onnx.ModelProto:
    """Before opset 7, `broadcast` = 1 with `axis` aligns B's dims at axis (adapters.py)."""
    node = helper.make_node("Add", ["a", "b"], ["y"], broadcast=1, axis=1)
    inputs = [("a", F, [2, 3, 4]), ("b", F, [3])]
    return _model([node], inputs, [("y", F, [2, 3, 4])], opset=6)


def resize_opset10() -> onnx.ModelProto:
    """Opset 10's Resize: (X, scales), asymmetric coordinates (adapters.py)."""
    node = helper.make_node("Resize", ["x", "scales"], ["y"], mode="nearest")
    scales = numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales")
    return _model(
        [node], [("x", F, [1, 1, 2, 2])], [("y", F, [1, 1, 4, 4])], 10, initializers=[scales]
    )


def if_known() -> onnx.ModelProto:
    """An If whose condition is known at import: only the chosen branch is imported."""
    then_graph = helper.make_graph(
        [helper.make_node("Neg", ["x"], ["t"])], "then", [], [helper.make_tensor_value_info("t", F, [3])]
    )
    else_graph = helper.make_graph(
        [helper.make_node("Abs", ["x"], ["e"])], "else", [], [helper.make_tensor_value_info("e", F, [3])]
    )
    nodes = [
        helper.make_node("If", ["cond"], ["y"], then_branch=then_graph, else_branch=else_graph)
    ]
    cond = numpy_helper.from_array(np.array(False), "cond")
    return _model(nodes, [("x", F, [3])], [("y", F, [3])], initializers=[cond])


def loop_unrolled() -> onnx.ModelProto:
    """A Loop with a known trip count: its body imported once per step."""
    body = helper.make_graph(
        [helper.make_node("Add", ["acc", "x"], ["acc_out"]),
         helper.make_node("Identity", ["cond_in"], ["cond_out"])],
        "body",
        [
            helper.make_tensor_value_info("i", TensorProto.INT64, []),
            helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
            helper.make_tensor_value_info("acc", F, [2]),
        ],
        [
            helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
            helper.make_tensor_value_info("acc_out", F, [2]),
        ],
    )
    nodes = [helper.make_node("Loop", ["trips", "", "x"], ["y"], body=body)]
    trips = numpy_helper.from_array(np.array(3, np.int64), "trips")
    return _model(nodes, [("x", F, [2])], [("y", F, [2])], initializers=[trips])


def sequence_concat() -> onnx.ModelProto:
    """A sequence known at import: its tensors, concatenated."""
    nodes = [
        helper.make_node("SequenceConstruct", ["a", "b"], ["s"]),
        helper.make_node("ConcatFromSequence", ["s"], ["y"], axis=0),
    ]
    return _model(nodes, [("a", F, [2]), ("b", F, [3])], [("y", F, [5])])


MODELS: dict[str, Callable[[], onnx.ModelProto]] = {
    f.__name__: f
    for f in (
        relu_gemm,
        reshape_chain,
        shrink,
        trilu,
        scatter_opset10,
        instance_normalization,
        dequantize_linear,
        binarizer,
        softmax_opset11,
        add_broadcast_opset6,
        resize_opset10,
        if_known,
        loop_unrolled,
        sequence_concat,
    )
}


def main(argv: Sequence[str]) -> int:
    if len(argv) != 2 or argv[0] not in MODELS:
        print(f"usage: make_model.py {{{','.join(MODELS)}}} OUT.onnx", file=sys.stderr)
        return 2
    model = MODELS[argv[0]]()
    onnx.checker.check_model(model)
    onnx.save(model, argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
