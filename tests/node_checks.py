"""One-node ONNX models checked two ways, shared by the tests of single ops: compiled and run
against onnx's reference evaluator (`check_compiled`), or imported, run by the nn reference and,
lowered to linalg, by xDSL's interpreter, all three agreeing (`check_lowered`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator
from xdsl.context import Context

import terrace
from terrace.dialects.nn.interpreter import run_function
from terrace.frontend.onnx import import_model
from terrace.lowering.nn_to_linalg import ConvertNnToLinalgPass

from linalg_exec import run_linalg


def compiled_model(
    node: onnx.NodeProto,
    inputs: dict[str, np.ndarray],
    opset: int = 21,
    initializers: dict[str, np.ndarray] | None = None,
) -> onnx.ModelProto:
    graph = helper.make_graph(
        [node],
        "g",
        [
            helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape)
            for n, a in inputs.items()
        ],
        [helper.make_tensor_value_info(n, TensorProto.UNDEFINED, None) for n in node.output if n],
        initializer=[numpy_helper.from_array(a, n) for n, a in (initializers or {}).items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def check_compiled(
    node: onnx.NodeProto,
    inputs: dict[str, np.ndarray],
    opset: int = 21,
    initializers: dict[str, np.ndarray] | None = None,
    rtol: float = 0.0,
    atol: float = 0.0,
) -> list[Any]:
    """Runs `node` on `inputs` in Terrace and in onnx's reference; the outputs must agree
    (exactly by default) in dtype, shape and value, NaNs equal."""
    model = compiled_model(node, inputs, opset, initializers)
    expected = ReferenceEvaluator(model).run(None, inputs)
    actual = terrace.compile(model, cache=False).run(inputs)
    for want, got in zip(expected, actual, strict=True):
        want = np.asarray(want)
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_allclose(
            got.astype(np.float64), want.astype(np.float64), rtol=rtol, atol=atol
        )
        if rtol == atol == 0 and want.dtype.kind == "f":  # zeros' signs too
            numbers = ~np.isnan(want)
            assert np.array_equal(np.signbit(got[numbers]), np.signbit(want[numbers]))
    return actual


def lowered_model(
    node: onnx.NodeProto,
    inputs: dict[str, np.ndarray],
    initializers: dict[str, np.ndarray],
    opset: int,
) -> onnx.ModelProto:
    graph = helper.make_graph(
        [node],
        "g",
        [
            helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape)
            for n, a in inputs.items()
        ],
        [helper.make_tensor_value_info(n, TensorProto.UNDEFINED, None) for n in node.output],
        initializer=[numpy_helper.from_array(a, n) for n, a in initializers.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def check_lowered(
    node: onnx.NodeProto,
    inputs: dict[str, np.ndarray],
    initializers: dict[str, np.ndarray] | None = None,
    opset: int = 21,
    rtol: float = 1e-6,
) -> None:
    """nn reference == onnx's reference, and lowered == nn reference."""
    model = lowered_model(node, inputs, initializers or {}, opset)
    module = import_model(model).module
    arrays = list(inputs.values())
    expected = run_function(module, arrays)
    lowered = module.clone()
    ConvertNnToLinalgPass().apply(Context(), lowered)
    lowered.verify()
    actual = run_linalg(lowered, arrays)
    onnx_expected = ReferenceEvaluator(model).run(None, inputs)
    for want, reference, got in zip(onnx_expected, expected, actual, strict=True):
        want = np.asarray(want)
        for result in (reference, got):
            assert result.dtype == want.dtype and result.shape == want.shape
            np.testing.assert_allclose(
                result.astype(np.float64), want.astype(np.float64), rtol=rtol
            )
