"""Col2Im as one ScatterElements that adds the blocks into the padded image.

Input [N, C * K, L] (K = prod(block_shape) kernel offsets, L sliding blocks, both row-major)
is read as [N, C, K * L]; element (k, l) lands at the padded position block_start(l) +
k * dilations in every spatial dim, an index map known at import time. The image is then
cropped by the pads. image_shape and block_shape must be known at import time.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper

from ...emitter import Emitter, NodeError, known_value
from ...registry import decomposition
from ..builder import Ops


@decomposition("Col2Im", since=18)
def col2im(node: onnx.NodeProto, emitter: Emitter) -> None:
    attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    unknown = set(attributes) - {"dilations", "pads", "strides"}
    if unknown:
        raise NodeError(f"attribute '{sorted(unknown)[0]}' not supported")
    x = node.input[0]
    image = _known_ints(emitter, node.input[1], "image_shape")
    block = _known_ints(emitter, node.input[2], "block_shape")
    rank = len(image)
    dilations = _ints(attributes.get("dilations"), [1] * rank)
    pads = _ints(attributes.get("pads"), [0] * 2 * rank)
    strides = _ints(attributes.get("strides"), [1] * rank)
    if (
        len(block) != rank
        or len(dilations) != rank
        or len(strides) != rank
        or len(pads) != 2 * rank
    ):
        raise NodeError("image_shape, block_shape and the attributes differ in length")
    padded = [d + pads[i] + pads[i + rank] for i, d in enumerate(image)]
    blocks = [
        (padded[i] - dilations[i] * (block[i] - 1) - 1) // strides[i] + 1 for i in range(rank)
    ]
    batch, rows, length = emitter.shape(x)
    kernel = int(np.prod(block))
    if min(blocks) < 1 or length != int(np.prod(blocks)) or rows % kernel:
        raise NodeError(f"input {emitter.shape(x)} does not hold blocks {block} of {image}")
    channels = rows // kernel
    # padded position of (k, l), per dim: start of block l + offset k
    offsets = np.indices(block).reshape(rank, kernel, 1) * np.array(dilations)[:, None, None]
    starts = np.indices(blocks).reshape(rank, 1, length) * np.array(strides)[:, None, None]
    positions = offsets + starts  # [rank, K, L]
    flat = np.ravel_multi_index(tuple(positions.reshape(rank, -1)), padded)
    dims = [batch, channels, kernel * length]
    indices = emitter.constant(np.ascontiguousarray(np.broadcast_to(flat, dims)))
    updates = emitter.emit("Reshape", [x, Ops(emitter).ints(dims)])
    size = int(np.prod(padded))
    zeros = emitter.constant(np.zeros((batch, channels, size), emitter.dtype(x)))
    summed = emitter.emit(
        "ScatterElements", [zeros, indices, updates], {"axis": 2, "reduction": "add"}
    )
    shape = Ops(emitter).ints([batch, channels, *padded])
    if not any(pads):
        emitter.emit("Reshape", [summed, shape], output=node.output[0])
        return
    summed = emitter.emit("Reshape", [summed, shape])
    starts_, ends = pads[:rank], [pads[i] + image[i] for i in range(rank)]
    axes = list(range(2, 2 + rank))
    bounds = [Ops(emitter).ints(v) for v in (starts_, ends, axes)]
    emitter.emit("Slice", [summed, *bounds], output=node.output[0])


def _known_ints(emitter: Emitter, name: str, what: str) -> list[int]:
    known = known_value(emitter, name, what)
    return [int(v) for v in known.reshape(-1)]


def _ints(value: object, default: list[int]) -> list[int]:
    if value is None:
        return default
    assert isinstance(value, list)
    return [int(v) for v in value]  # pyright: ignore[reportUnknownArgumentType, reportUnknownVariableType]
