"""Targets: where code runs, the pipeline that gets it there, and how it is run.

Every target is looked up here by its tag; nothing outside targets/ names one. A target module
(`x86_64.py`, `aarch64.py`, ...) defines `targets(host_arch)`, the targets it offers on a host of
that architecture, and is listed in `TARGET_MODULES`. `host` (and its older name `cpu`) is the
target of the machine this process runs on. docs/targets.md walks through adding one.

Importing this package loads no xDSL: the runtime looks targets up too.
"""

from __future__ import annotations

import importlib
from functools import cache

from ..errors import CompilationError
from .target import STAGES, Machine, Pipeline, Runner, Stage, Target, Tool

__all__ = [
    "STAGES",
    "Machine",
    "Pipeline",
    "Runner",
    "Stage",
    "Target",
    "Tool",
    "get_target",
    "host_target",
    "target_tags",
]

TARGET_MODULES = ("x86_64", "aarch64", "riscv64", "wasm32")
"""The modules of targets/ that define targets, in the order `terrace targets` lists them."""

HOST_ALIASES = ("host", "cpu")
"""Names of the target of this machine."""


@cache
def _targets() -> dict[str, Target]:
    from .llvm.machine import host_triple

    arch = host_triple().split("-")[0]
    found: dict[str, Target] = {}
    for name in TARGET_MODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        for target in module.targets(arch):
            found[target.tag] = target
    return found


def target_tags() -> tuple[str, ...]:
    """The tags of every target, in listing order."""
    return tuple(_targets())


@cache
def host_target() -> Target:
    """The target of this machine: the one whose code runs in this process."""
    return next(t for t in _targets().values() if t.runs_in_process())


def get_target(tag: str | None = None) -> Target:
    """The target with tag `tag` (None or a `HOST_ALIASES` name: this machine's)."""
    if tag is None or tag in HOST_ALIASES:
        return host_target()
    found = _targets().get(tag)
    if found is None:
        known = ", ".join([*target_tags(), *HOST_ALIASES])
        raise CompilationError(f"unknown target '{tag}'; targets: {known}")
    return found
