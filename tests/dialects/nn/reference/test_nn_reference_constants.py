"""The nn reference's constant kernels (`dialects/nn/reference/constants.py`) against
onnxruntime, case by case (nn_reference_cases.py)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from nn_reference_cases import (
    Case,
    Inputs,
    check,
    ints,
)

_inputs = Inputs()
rand, positive, nonzero = _inputs.rand, _inputs.positive, _inputs.nonzero


# -- the cases, op by op ----------------------------------------------------------------------


def constant_cases() -> Iterator[Case]:
    yield Case("ConstantOfShape", [ints(2, 3)])
    yield Case("ConstantOfShape", [ints(4)], {"value": np.array([7], np.int64)})
    yield Case("ConstantOfShape", [ints(2, 1, 2)], {"value": np.array([0.25], np.float32)})
    yield Case("ConstantOfShape", [ints(3)], {"value": np.array([True])})
    yield Case("Constant", [], {"value": rand(2, 3)})
    yield Case("Constant", [], {"value": rand(4, dtype=np.float64)})
    yield Case("Constant", [], {"value": np.array([3, -1, 4], np.int64)})
    yield Case("Constant", [], {"value": np.array(2.5, np.float32)})
    yield Case("Constant", [], {"value": np.array([True, False])})


CASES: list[Case] = [case for cases in [constant_cases] for case in cases()]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name()) for c in CASES])
def test_op_matches_onnxruntime(case: Case) -> None:
    check(case)
