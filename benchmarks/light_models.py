"""The light models onnx's wheel ships (light_resnet50, light_squeezenet, ...), which come
without weights: every weight is a ConstantOfShape fill. `randomize_weights` turns those fills
into random initializers, so the models compute something worth comparing and timing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

LIGHT_DIR = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light"
LIGHT_MODELS = sorted(p.stem for p in LIGHT_DIR.glob("light_*.onnx"))


def light_model(name: str) -> onnx.ModelProto:
    return onnx.load(str(LIGHT_DIR / f"{name}.onnx"))


def randomize_weights(model: onnx.ModelProto, seed: int = 0) -> onnx.ModelProto:
    """Replaces every ConstantOfShape weight fill by a random initializer of that shape.

    Conv and Gemm weights get a fan-in scaled uniform init; 1-d parameters (biases, batchnorm
    scales, means and variances) values in [0.5, 1.5], so variances stay positive.
    """
    rng = np.random.default_rng(seed)
    result = onnx.ModelProto()
    result.CopyFrom(model)
    # IR version 4 lets initializers exist without being listed as graph inputs
    result.ir_version = max(result.ir_version, 4)
    graph = result.graph
    shapes = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    kept: list[onnx.NodeProto] = []
    for node in graph.node:
        if node.op_type != "ConstantOfShape" or node.input[0] not in shapes:
            kept.append(node)
            continue
        shape = [int(d) for d in shapes[node.input[0]]]
        graph.initializer.append(numpy_helper.from_array(_random(rng, shape), node.output[0]))
    del graph.node[:]
    graph.node.extend(kept)
    return result


def _random(rng: np.random.Generator, shape: list[int]) -> np.ndarray:
    if len(shape) <= 1:
        return rng.uniform(0.5, 1.5, shape).astype(np.float32)
    fan_in = int(np.prod(shape[1:]))
    bound = np.sqrt(3.0 / fan_in)
    return rng.uniform(-bound, bound, shape).astype(np.float32)
