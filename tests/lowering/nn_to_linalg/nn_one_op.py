"""One nn op applied to its arguments, checked differentially: the module runs through the nn
interpreter (numpy reference kernels, the oracle) and, converted by convert-nn-to-linalg,
through xDSL's interpreter (tests/linalg_exec.py); the results must agree. Shared by the tests
of the elementwise and cast lowerings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp

from terrace.dialects.context import parse_module
from terrace.dialects.nn.interpreter import run_function
from terrace.lowering.nn_to_linalg import ConvertNnToLinalgPass

from linalg_exec import run_linalg, tensor_type


def lower(module: ModuleOp) -> ModuleOp:
    lowered = module.clone()
    ConvertNnToLinalgPass().apply(Context(), lowered)
    lowered.verify()
    assert not any(op.dialect_name() == "nn" for op in lowered.walk()), "nn ops left"
    return lowered


def one_op_module(
    op: str,
    inputs: Sequence[np.ndarray],
    result_shape: Sequence[int],
    result_dtype: Any,
    attributes: str = "",
) -> ModuleOp:
    """A module `@main` applying one nn op to its arguments."""
    types = [tensor_type(x.shape, x.dtype) for x in inputs]
    result = tensor_type(result_shape, result_dtype)
    arguments = ", ".join(f"%a{i}: {t}" for i, t in enumerate(types))
    operands = ", ".join(f"%a{i}" for i in range(len(inputs)))
    attribute_text = f" {{{attributes}}}" if attributes else ""
    text = (
        f"func.func @main({arguments}) -> {result} {{\n"
        f"  %r = {op} {operands}{attribute_text} : ({', '.join(types)}) -> {result}\n"
        f"  func.return %r : {result}\n}}"
    )
    return parse_module(text)


def check_one_op(
    op: str,
    inputs: Sequence[np.ndarray],
    attributes: str = "",
    rtol: float = 1e-6,
    atol: float = 1e-6,
) -> None:
    """Builds the one-op module (parsing checks its result type against onnx's inference),
    runs it before and after lowering, and compares."""
    shape = np.broadcast_shapes(*(x.shape for x in inputs))
    module = one_op_module(op, inputs, shape, _result_dtype(op, inputs, attributes), attributes)
    expected = run_function(module, inputs)[0]
    actual = run_linalg(lower(module), inputs)[0]
    assert actual.dtype == expected.dtype
    assert actual.shape == expected.shape
    if np.issubdtype(expected.dtype, np.floating):
        np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, equal_nan=True)
    else:
        np.testing.assert_array_equal(actual, expected)


BOOL_RESULTS = {"nn.equal", "nn.less", "nn.less_or_equal", "nn.greater", "nn.greater_or_equal"}

CAST_TARGETS = {1: np.float32, 11: np.float64, 10: np.float16, 3: np.int8, 6: np.int32}
CAST_TARGETS |= {7: np.int64, 2: np.uint8, 9: np.bool_}


def _result_dtype(op: str, inputs: Sequence[np.ndarray], attributes: str) -> Any:
    if op in BOOL_RESULTS or op in ("nn.is_nan", "nn.is_inf"):
        return np.bool_
    if op == "nn.cast":
        return CAST_TARGETS[int(attributes.split("=")[1].split(":")[0])]
    if op == "nn.where":
        return inputs[1].dtype
    return inputs[0].dtype


def floats(shape: Sequence[int], seed: int, dtype: Any = np.float32) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 2, shape).astype(dtype)


def ints(shape: Sequence[int], seed: int, dtype: Any = np.int32, low: int = -20) -> np.ndarray:
    return np.random.default_rng(seed).integers(low, 20, shape).astype(dtype)
