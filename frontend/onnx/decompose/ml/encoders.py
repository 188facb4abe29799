"""ai.onnx.ml ops that the importer rewrites into default-domain ops, exactly.

Binarizer(x)                 Where(x > threshold, 1, 0) in x's type
ArrayFeatureExtractor(x, i)  a Gather of the flattened indices along the last axis (a 1-d x
                             gives one row, as onnxruntime and onnx's reference do)
LabelEncoder(x)              numeric keys and values: a Where per key over the default, the
                             last of equal keys winning as in onnx's reference (a NaN key, which
                             runtimes match differently, and string keys are not supported)
TreeEnsemble(x)              comparisons and Wheres (tree_ensemble.py)
"""

from __future__ import annotations

import numpy as np
import onnx

from ...emitter import Emitter, NodeError, checked_attributes
from ...registry import ML_DOMAIN, decomposition

MAX_LABELS = 1024
"""The most keys a LabelEncoder is rewritten for (one Where each)."""


@decomposition("Binarizer", since=1, domain=ML_DOMAIN)
def binarizer(node: onnx.NodeProto, emitter: Emitter) -> None:
    threshold = float(checked_attributes(node, {"threshold"}).get("threshold", 0.0))  # pyright: ignore[reportArgumentType]
    x = node.input[0]
    dtype = emitter.dtype(x)
    if np.issubdtype(dtype, np.integer):
        threshold = float(np.floor(threshold))  # x > t is x > floor(t) for integers x
    else:
        threshold = float(np.float32(threshold))  # the attribute is a float32
    bound = emitter.constant(np.array(threshold, dtype))
    above = emitter.emit("Greater", [x, bound])
    one, zero = (emitter.constant(np.array(v, dtype)) for v in (1, 0))
    emitter.emit("Where", [above, one, zero], output=node.output[0])


@decomposition("ArrayFeatureExtractor", since=1, domain=ML_DOMAIN)
def array_feature_extractor(node: onnx.NodeProto, emitter: Emitter) -> None:
    checked_attributes(node, set())
    x, indices = node.input[0], node.input[1]
    dims = emitter.shape(x)
    flat = emitter.emit("Reshape", [indices, emitter.constant(np.array([-1], np.int64))])
    if len(dims) > 1:
        emitter.emit("Gather", [x, flat], {"axis": len(dims) - 1}, output=node.output[0])
        return
    gathered = emitter.emit("Gather", [x, flat], {"axis": 0})
    row = emitter.constant(np.array([1, -1], np.int64))
    emitter.emit("Reshape", [gathered, row], output=node.output[0])


def _mapping(node: onnx.NodeProto) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The keys, the values and the default (a 0-d array of the values' type)."""
    names = {
        "keys_floats",
        "keys_int64s",
        "keys_strings",
        "keys_tensor",
        "values_floats",
        "values_int64s",
        "values_strings",
        "values_tensor",
        "default_float",
        "default_int64",
        "default_string",
        "default_tensor",
    }
    attributes = checked_attributes(node, names)
    if any(name.endswith("strings") or name == "default_string" for name in attributes):
        raise NodeError("string keys or values are not supported")
    keys = _array(attributes, "keys", np.float32)
    values = _array(attributes, "values", np.float32)
    if "values_tensor" in attributes:
        default_tensor = attributes.get("default_tensor")
        if isinstance(default_tensor, onnx.TensorProto):
            default = (
                onnx.numpy_helper.to_array(default_tensor).reshape(-1)[:1].astype(values.dtype)
            )
        else:  # the spec's default: -1 for integers, -0.0 for floats
            default = np.array([-0.0 if values.dtype.kind == "f" else -1], values.dtype)
    elif "values_int64s" in attributes:
        default = np.array([attributes.get("default_int64", -1)], np.int64)
    else:
        default = np.array([attributes.get("default_float", -0.0)], np.float32)
    return keys, values, default.reshape(())


def _array(attributes: dict[str, object], kind: str, float_type: type) -> np.ndarray:
    tensor = attributes.get(f"{kind}_tensor")
    if isinstance(tensor, onnx.TensorProto):
        return onnx.numpy_helper.to_array(tensor).reshape(-1)
    if f"{kind}_int64s" in attributes:
        return np.array(attributes[f"{kind}_int64s"], np.int64)
    if f"{kind}_floats" in attributes:
        return np.array(attributes[f"{kind}_floats"], float_type)
    raise NodeError(f"no {kind}")


@decomposition("LabelEncoder", since=1, domain=ML_DOMAIN)
def label_encoder(node: onnx.NodeProto, emitter: Emitter) -> None:
    keys, values, default = _mapping(node)
    if len(keys) != len(values):
        raise NodeError(f"{len(keys)} keys for {len(values)} values")
    if len(keys) > MAX_LABELS:
        raise NodeError(f"more than {MAX_LABELS} keys")
    if keys.dtype.kind == "f" and bool(np.isnan(keys).any()):
        raise NodeError("a NaN key is not supported")
    x = node.input[0]
    if keys.dtype != emitter.dtype(x):
        raise NodeError(f"keys of {keys.dtype} for an input of {emitter.dtype(x)}")
    dims = emitter.shape(x)
    result = emitter.emit(
        "Expand", [emitter.constant(default), emitter.constant(np.array(dims, np.int64))]
    )
    for index, (key, value) in enumerate(zip(keys, values, strict=True)):
        last = index == len(keys) - 1
        matches = emitter.emit("Equal", [x, emitter.constant(np.array(key, keys.dtype))])
        result = emitter.emit(
            "Where",
            [matches, emitter.constant(np.array(value, values.dtype)), result],
            output=node.output[0] if last else "",
        )
    if not len(keys):
        emitter.emit("Identity", [result], output=node.output[0])
