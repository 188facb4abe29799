"""Upsample (deprecated since opset 10): Resize with asymmetric coordinates (nearest: floor),
the scales known."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper

from ...emitter import Emitter, NodeError, known_value
from ...registry import decomposition


@decomposition("Upsample", since=1)
def upsample(node: onnx.NodeProto, emitter: Emitter) -> None:
    mode, scales = "nearest", None
    for attribute in node.attribute:
        value = helper.get_attribute_value(attribute)
        if attribute.name == "mode" and isinstance(value, bytes):
            mode = value.decode()
        elif attribute.name == "scales":  # an attribute before opset 9
            scales = np.array(value, np.float32)
        else:
            raise NodeError(f"attribute '{attribute.name}' not supported")
    if mode not in ("nearest", "linear"):
        raise NodeError(f"mode '{mode}' (nearest or linear expected)")
    if scales is None:
        scales = known_value(emitter, node.input[1], "scales").astype(np.float32)
    if len(scales) != len(emitter.shape(node.input[0])) or np.any(scales < 1):
        raise NodeError(f"scales {scales.tolist()} (one at least 1 per dim expected)")
    attributes = {
        "mode": mode,
        "coordinate_transformation_mode": "asymmetric",
        "nearest_mode": "floor",
    }
    inputs = [node.input[0], "", emitter.constant(scales)]
    emitter.emit("Resize", inputs, attributes, output=node.output[0])
