"""The reference's kernel table (`dialects/nn/reference/core.py`) is checked op by op: every nn op
has cases against onnxruntime, in the test module of its family (the dialect module that
declares it), so that a new op's kernel cannot go untested."""

from __future__ import annotations

import test_nn_reference_constants
import test_nn_reference_elementwise
import test_nn_reference_neural
import test_nn_reference_reduction
import test_nn_reference_shape

from terrace.dialects.nn import ALL_OPS, ONNX_OPS, RangeCheckOp, WeightOp

FAMILY_CASES = {
    "constants": test_nn_reference_constants.CASES,
    "elementwise": test_nn_reference_elementwise.CASES,
    "neural": test_nn_reference_neural.CASES,
    "reduction": test_nn_reference_reduction.CASES,
    "shape": test_nn_reference_shape.CASES,
}

NEWER_THAN_OPSET = {"CumProd", "BitCast"}
"""Ops onnxruntime lacks at opset 21: test_nn_to_linalg_cumulative.py and
test_nn_to_linalg_cast.py (tests/lowering/nn_to_linalg/) check their reference kernels against
onnx's reference evaluator."""


def test_every_op_has_cases_in_its_familys_module() -> None:
    covered = {ONNX_OPS[case.op_type] for cases in FAMILY_CASES.values() for case in cases}
    newer = {ONNX_OPS[op_type] for op_type in NEWER_THAN_OPSET if op_type in ONNX_OPS}
    assert covered == set(ALL_OPS) - {WeightOp, RangeCheckOp} - newer
    misplaced = [
        (family, case.op_type)
        for family, cases in FAMILY_CASES.items()
        for case in cases
        if ONNX_OPS[case.op_type].__module__.rsplit(".", 1)[1] != family
    ]
    assert not misplaced, misplaced
