"""Reference kernels of the constants family (`dialects/nn/constants.py`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .. import constants
from ..base import NnOperation
from .core import kernel


@kernel(constants.ConstantOp)
def _constant(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    value = op.attr("value")
    assert isinstance(value, np.ndarray)
    return [value.copy()]


@kernel(constants.ConstantOfShapeOp)
def _constant_of_shape(op: NnOperation, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    shape = op.ints_attr("shape") or []
    value = op.attr("value")
    if not isinstance(value, np.ndarray):  # ONNX's default is a float32 zero
        return [np.zeros(shape, dtype=np.float32)]
    return [np.full(shape, value.reshape(()), dtype=value.dtype)]
