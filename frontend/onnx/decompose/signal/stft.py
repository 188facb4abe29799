"""STFT as a Gather of the frames, the window's weights, and DFT (onnx_fourier.py), following
onnx's reference: n_frames = 1 + (signal_length - frame_length) // frame_step; frame f holds
the window's length of samples from f * frame_step (zeros past the end), weighted by the
window (ones without one), and its frame_length-point DFT (one-sided by default) is row f of
the result [batch, n_frames, bins, 2]. frame_step and frame_length must be known when
compiling.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper

from ...emitter import Emitter, NodeError, known_value
from ...registry import decomposition
from .dft import dft


@decomposition("STFT", since=17)
def stft(node: onnx.NodeProto, emitter: Emitter) -> None:
    onesided = 1
    for attribute in node.attribute:
        if attribute.name != "onesided" or attribute.type != onnx.AttributeProto.INT:
            raise NodeError(f"attribute '{attribute.name}' not supported")
        onesided = attribute.i
    signal, step_name, window, length_name = [*node.input, "", "", ""][:4]
    dims = emitter.shape(signal)
    if len(dims) != 3 or dims[2] not in (1, 2):
        raise NodeError(f"signal of shape {list(dims)} ([batch, length, 1 or 2] expected)")
    step = int(known_value(emitter, step_name, "frame_step").reshape(-1)[0])
    window_size = emitter.shape(window)[0] if window else 0
    frame_length = window_size or dims[1]
    if length_name:
        frame_length = int(known_value(emitter, length_name, "frame_length").reshape(-1)[0])
    window_size = window_size or frame_length
    frames = 1 + (dims[1] - frame_length) // step if step > 0 else 0
    if frames < 1 or frame_length < 1:
        raise NodeError(f"no frame of {frame_length} samples every {step} in {dims[1]}")
    padded_length = max(dims[1], (frames - 1) * step + window_size)
    if padded_length > dims[1]:
        padding = np.array([0, 0, 0, 0, padded_length - dims[1], 0], np.int64)
        signal = emitter.emit("Pad", [signal, emitter.constant(padding)])
    starts = np.arange(frames)[:, None] * step + np.arange(window_size)[None, :]
    framed = emitter.emit("Gather", [signal, emitter.constant(starts)], {"axis": 1})
    if window:
        weights = emitter.emit("Reshape", [window, emitter.constant(np.array([1, 1, -1, 1]))])
        framed = emitter.emit("Mul", [framed, weights])
    length = emitter.constant(np.array(frame_length, np.int64))
    if emitter.opset >= 20:
        axis = emitter.constant(np.array(2, np.int64))
        transform = helper.make_node("DFT", [framed, length, axis], [node.output[0]])
    else:
        transform = helper.make_node("DFT", [framed, length], [node.output[0]], axis=2)
    transform.attribute.append(helper.make_attribute("onesided", onesided))
    dft(transform, emitter)


def make_onesided_explicit(graph: onnx.GraphProto) -> None:
    """Gives the graph's STFT nodes without `onesided` its default, 1: onnx's shape inference
    reads a missing one as 0 and so refuses the one-sided output shape the schema defines."""
    for node in graph.node:
        if node.op_type != "STFT" or node.domain not in ("", "ai.onnx"):
            continue
        if all(attribute.name != "onesided" for attribute in node.attribute):
            node.attribute.append(helper.make_attribute("onesided", 1))
