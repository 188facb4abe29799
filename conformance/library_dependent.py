"""Conformance cases whose expected outputs depend on which ml_dtypes pip installed.

onnx generates its node cases in memory, so a Cast to INT4, UINT4, INT2 or UINT2 is expected
to give whatever onnx's reference gets from the installed ml_dtypes: out-of-range values keep
their low bits with ml_dtypes 0.5, and become 0 with 0.7. The ONNX spec says "rounding ... and
truncating" (the low bits), and Terrace's casts follow the spec in its own code
(frontend/onnx/lowprecision_formats.py), whatever ml_dtypes says.

For a case made only of Cast and CastLike nodes with a low-precision side, the judge computes
the outputs by Terrace's documented rules; where onnx's expected outputs differ from them, the
case is judged against those rules and against onnxruntime (both must agree with Terrace's
compiled outputs), and its outcome says so. A case that does not differ is judged as usual.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import numpy as np
import onnx
from onnx import helper

from ..frontend.onnx import lowprecision, lowprecision_formats

CAST_OPS = ("Cast", "CastLike")


@dataclass(frozen=True)
class Rejudged:
    """Outputs by Terrace's rules for a case whose onnx expectation differs from them."""

    expected: list[np.ndarray]
    note: str


def rejudge(
    model: onnx.ModelProto, inputs: Sequence[Any], expected: Sequence[Any]
) -> Rejudged | None:
    """Terrace's outputs for `model` when onnx's `expected` differ from them (see the module
    doc); None when the case is not a low-precision cast or onnx agrees."""
    ours = _cast_graph_outputs(model, inputs)
    if ours is None or len(ours) != len(expected):
        return None
    if all(_same_bytes(want, got) for want, got in zip(expected, ours, strict=True)):
        return None
    version = _version("ml_dtypes")
    note = (
        f"onnx's expected output depends on ml_dtypes ({version} installed): judged by "
        "Terrace's low-precision rules and onnxruntime"
    )
    return Rejudged(ours, note)


def onnxruntime_disagrees(
    model: onnx.ModelProto, inputs: Sequence[Any], expected: Sequence[np.ndarray]
) -> str:
    """Empty when onnxruntime's outputs of `model` equal `expected` (compared as decoded
    numbers, since onnxruntime returns no low-precision tensor to numpy), else what differs."""
    try:
        import onnxruntime  # a test dependency, not a runtime one
    except ImportError:
        return "onnxruntime is not installed, so this case cannot be judged"
    readable, fed = _readable(model, inputs)
    try:
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # not the warnings about CastLike's unused input
        session = onnxruntime.InferenceSession(readable.SerializeToString(), options)
        results = session.run(None, fed)
    except Exception as error:  # onnxruntime raises its own classes for a model it rejects
        return f"onnxruntime cannot run it: {str(error).splitlines()[0]}"
    for index, (want, got) in enumerate(zip(expected, results, strict=True)):
        values = _numbers(want)
        if not np.array_equal(values, np.asarray(got, np.float64), equal_nan=True):
            return f"output {index}: onnxruntime gives {np.asarray(got).ravel()[:8]}"
    return ""


def _cast_graph_outputs(model: onnx.ModelProto, inputs: Sequence[Any]) -> list[np.ndarray] | None:
    graph = model.graph
    if not graph.node or any(n.op_type not in CAST_OPS or n.domain for n in graph.node):
        return None
    initializers = {t.name: onnx.numpy_helper.to_array(t) for t in graph.initializer}
    names = [value.name for value in graph.input if value.name not in initializers]
    if len(names) != len(inputs) or not all(isinstance(a, np.ndarray) for a in inputs):
        return None
    values: dict[str, np.ndarray] = initializers | dict(zip(names, inputs, strict=True))
    low_precision = False
    for node in graph.node:
        attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        source = values[node.input[0]]
        if node.op_type == "Cast":
            to = int(attributes["to"])
        else:
            to = helper.np_dtype_to_tensor_dtype(values[node.input[1]].dtype)
        if to not in lowprecision.LOW_PRECISION_TYPES and not lowprecision.is_low_precision(
            source.dtype
        ):
            return None
        low_precision = True
        saturate = int(attributes.get("saturate", 1))
        round_mode = attributes.get("round_mode", b"up")
        mode = round_mode.decode() if isinstance(round_mode, bytes) else str(round_mode)
        values[node.output[0]] = lowprecision.cast(source, to, (saturate, mode))
    if not low_precision:
        return None
    return [values[output.name] for output in graph.output]


def _same_bytes(want: Any, got: np.ndarray) -> bool:
    """The same bytes for low-precision outputs; the same numbers, any NaN equal to any NaN
    (their signs are not compared, as onnx's runner does not), for the others."""
    array = np.asarray(want)
    if array.dtype != got.dtype or array.shape != got.shape:
        return False
    if not lowprecision.is_low_precision(array.dtype) and array.dtype.kind == "f":
        return bool(np.array_equal(array, got, equal_nan=True))
    return bool(np.array_equal(_as_bytes(array), _as_bytes(got)))


def _as_bytes(array: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(array).view(np.uint8)


def _numbers(array: np.ndarray) -> np.ndarray:
    """An output as float64 numbers: low-precision bytes decoded by Terrace's rules."""
    code = lowprecision.onnx_type(array.dtype)
    if code is None:
        return array.astype(np.float64)
    return lowprecision_formats.decode(_as_bytes(array), code)


def _readable(
    model: onnx.ModelProto, inputs: Sequence[Any]
) -> tuple[onnx.ModelProto, dict[str, np.ndarray]]:
    """`model` with each low-precision output cast to float64 in the graph and each
    low-precision input made an initializer (onnxruntime takes neither from numpy)."""
    readable = onnx.ModelProto()
    readable.CopyFrom(model)
    graph = readable.graph
    initialized = {t.name for t in graph.initializer}
    names = [value.name for value in graph.input if value.name not in initialized]
    fed: dict[str, np.ndarray] = {}
    kept = [value for value in graph.input if value.name not in names]
    for value, name, array in zip(
        [v for v in graph.input if v.name in names], names, inputs, strict=True
    ):
        if lowprecision.is_low_precision(array.dtype):
            graph.initializer.append(onnx.numpy_helper.from_array(array, name))
        else:
            fed[name] = array
            kept.append(value)
    del graph.input[:]
    graph.input.extend(kept)
    outputs = list(graph.output)
    del graph.output[:]
    for output in outputs:
        back = f"{output.name}_as_double"
        double = onnx.TensorProto.DOUBLE
        graph.node.append(helper.make_node("Cast", [output.name], [back], to=double))
        graph.output.append(helper.make_tensor_value_info(back, double, None))
    return readable, fed


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "none"
