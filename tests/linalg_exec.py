"""Runs stage-2 IR (linalg on tensors) through xDSL's interpreter: the package's oracle
executor (`terrace.fuzz.interpreters`, its numpy conversions in `terrace.fuzz.shaped_arrays`),
re-exported under the name the tests import."""

from __future__ import annotations

from terrace.fuzz.interpreters import make_interpreter, run_linalg
from terrace.fuzz.shaped_arrays import from_shaped, numpy_dtype, to_shaped, view

__all__ = ["from_shaped", "make_interpreter", "numpy_dtype", "run_linalg", "to_shaped", "view"]
