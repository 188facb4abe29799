"""Runs stage-2 IR (linalg on tensors) through xDSL's interpreter: the package's oracle
executor (`terrace.fuzz.interpreters`), re-exported under the name the tests import."""

from __future__ import annotations

from terrace.fuzz.interpreters import (
    from_shaped,
    make_interpreter,
    numpy_dtype,
    run_linalg,
    to_shaped,
    view,
)

__all__ = ["from_shaped", "make_interpreter", "numpy_dtype", "run_linalg", "to_shaped", "view"]
