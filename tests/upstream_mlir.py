"""Test helper: upstream MLIR 22's tools, or a loud skip where apt cannot install them."""

from __future__ import annotations

import shutil

import pytest

from terrace.tools.mlir_interop import UpstreamToolMissing, upstream_tool


def require_upstream_mlir() -> None:
    """Fails when mlir-opt / mlir-translate 22 are missing on a machine with apt (CI installs
    them with `make system-packages`); skips, saying why, only where apt is not available."""
    try:
        upstream_tool("mlir-opt")
        upstream_tool("mlir-translate")
    except UpstreamToolMissing as error:
        if shutil.which("apt-get"):
            pytest.fail(f"{error}; `make system-packages` installs it")
        pytest.skip(f"UPSTREAM MLIR NOT TESTED: {error}, and apt-get is not available here")
