"""Tests verify the IR after every pass (the compiler verifies once per stage by default), so
that a pass that breaks the IR is named by the failing test."""

import os

os.environ.setdefault("TERRACE_VERIFY_EACH_PASS", "1")
