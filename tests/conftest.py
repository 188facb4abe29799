"""Tests verify the IR after every pass (the compiler verifies once per stage by default), so
that a pass that breaks the IR is named by the failing test; the conformance suite runs first."""

import os

os.environ.setdefault("TERRACE_VERIFY_EACH_PASS", "1")

import pytest

FIRST = "tests/test_onnx_conformance.py"
"""The conformance suite takes minutes in worker processes of its own: started first, the rest
of the tests run beside it on the other pytest-xdist worker instead of after it."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: not item.nodeid.startswith(FIRST))
