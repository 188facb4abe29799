"""The README's counts of ops say what the code has: a new op or rewrite must update them."""

import re
from pathlib import Path

from terrace.dialects.nn import ALL_OPS, ONNX_OPS
from terrace.frontend.onnx.control_flow.sequences import CONTAINER_OPS
from terrace.frontend.onnx.registry import registered

REWRITES = {op_type for _, op_type in registered()}

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def _number(pattern: str) -> int:
    match = re.search(pattern, " ".join(README.split()))
    assert match is not None, f"the README no longer says {pattern!r}"
    return int(match[1])


def test_the_nn_op_count():
    assert _number(r"`nn` dialect: (\d+) ops") == len(ALL_OPS)
    assert _number(r"the nn dialect has (\d+) ops") == len(ALL_OPS)


def test_the_onnx_operator_counts():
    assert _number(r"converts (\d+) ONNX operators by name") == len(set(ONNX_OPS) | set(REWRITES))
    assert _number(r"(\d+) map to one nn op each") == len(ONNX_OPS)
    assert _number(r"and (\d+) are registered rewrites") == len(REWRITES)
    both = sorted(set(ONNX_OPS) & set(REWRITES))
    assert _number(r"(\d+), " + ", ".join(both[:-1])) == len(both)
    assert _number(r"On top of those come (\d+) sequence and optional ops") == len(CONTAINER_OPS)
