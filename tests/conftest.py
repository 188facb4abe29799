"""Tests verify the IR after every pass (the compiler verifies once per stage by default), so
that a pass that breaks the IR is named by the failing test; the conformance suite runs first."""

import os

os.environ.setdefault("TERRACE_VERIFY_EACH_PASS", "1")

import pytest
from hypothesis import settings

HYPOTHESIS_PROFILE = os.environ.get("TERRACE_HYPOTHESIS_PROFILE", "reproducible")
"""Properties draw the same examples on every run (a hash of the test picks the seed), so CI
never fails on one run and passes on the next; `TERRACE_HYPOTHESIS_PROFILE=explore` draws fresh
examples each run, to look for new failures locally. A failure found that way becomes an
`@example` of its property. Loaded here, before any test module builds its own `settings`,
which inherit from it."""

settings.register_profile("reproducible", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("explore", deadline=None, print_blob=True)
settings.load_profile(HYPOTHESIS_PROFILE)

FIRST = "tests/test_onnx_conformance.py"
"""The conformance suite takes minutes in worker processes of its own: started first, the rest
of the tests run beside it on the other pytest-xdist worker instead of after it."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: not item.nodeid.startswith(FIRST))
