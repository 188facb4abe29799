"""Runs stage-2 IR (linalg on tensors) through xDSL's interpreter: the package's oracle
executor (`terrace.fuzz.interpreters`, its numpy conversions in `terrace.fuzz.shaped_arrays`),
re-exported under the name the tests import."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from terrace.fuzz.interpreters import make_interpreter, run_linalg
from terrace.fuzz.shaped_arrays import from_shaped, numpy_dtype, to_shaped, view

__all__ = [
    "from_shaped",
    "make_interpreter",
    "numpy_dtype",
    "run_linalg",
    "tensor_type",
    "to_shaped",
    "view",
]

_ELEMENT_TYPES = {
    np.dtype(np.float32): "f32",
    np.dtype(np.float64): "f64",
    np.dtype(np.float16): "f16",
    np.dtype(np.int8): "i8",
    np.dtype(np.int32): "i32",
    np.dtype(np.int64): "i64",
    np.dtype(np.uint8): "ui8",
    np.dtype(np.bool_): "i1",
}


def tensor_type(shape: Sequence[int], dtype: Any) -> str:
    """The MLIR text of a tensor type of `shape` and numpy `dtype`: tensor<2x3xf32>."""
    return f"tensor<{''.join(f'{d}x' for d in shape)}{_ELEMENT_TYPES[np.dtype(dtype)]}>"
