"""convert-nn-to-linalg of cum_sum and cum_prod (lowering/nn_to_linalg), differentially: a one-node
ONNX model imported to nn, run by the nn interpreter (the numpy reference kernels) and, lowered,
by xDSL's interpreter (tests/linalg_exec.py), both checked against onnx's reference evaluator."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from node_checks import check_lowered as _check
from onnx import helper

RNG = np.random.default_rng(1)


# -- cum_sum and cum_prod ---------------------------------------------------------------------


@pytest.mark.parametrize("op_type", ["CumSum", "CumProd"])
@pytest.mark.parametrize(("exclusive", "reverse"), [(0, 0), (1, 0), (0, 1), (1, 1)])
@pytest.mark.parametrize("dtype", [np.float32, np.int64])
def test_cumulative(op_type: str, exclusive: int, reverse: int, dtype: Any):
    x = RNG.integers(1, 4, (2, 3, 4)).astype(dtype)
    node = helper.make_node(op_type, ["x", "axis"], ["y"], exclusive=exclusive, reverse=reverse)
    _check(node, {"x": x}, {"axis": np.array(-2, np.int64)}, opset=26)
