"""The one registry of Terrace's passes and conversions, by their command-line names, built from
the passes themselves.

A pass is a `ModulePass` subclass whose body sets `name = "..."`, in a module of passes/,
lowering/ or targets/ (a package's passes in its `__init__.py`). The registry finds them by
reading those files, without importing them: loading the registry stays cheap, and a new pass
registers itself by existing. Each factory imports its module when called. terrace-opt
registers these next to xDSL's own passes; tests/test_registry.py checks that every name
matches its class and module and has a FileCheck file.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from pathlib import Path

from xdsl.passes import ModulePass

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
PACKAGE_NAME = __name__.split(".")[0]
PASS_FOLDERS = ("passes", "lowering", "targets")

_PASS_CLASS = re.compile(
    r"^class (\w+)\(ModulePass\):\n(?:    .*\n|\n)*?    name = \"([a-z0-9-]+)\"", re.MULTILINE
)


def _factory(module: str, class_name: str) -> Callable[[], type[ModulePass]]:
    def load() -> type[ModulePass]:
        loaded = importlib.import_module(f"{PACKAGE_NAME}.{module}")
        return getattr(loaded, class_name)

    return load


def _discover() -> dict[str, Callable[[], type[ModulePass]]]:
    found: dict[str, Callable[[], type[ModulePass]]] = {}
    for folder in PASS_FOLDERS:
        for path in sorted((PACKAGE_ROOT / folder).rglob("*.py")):
            parts = path.relative_to(PACKAGE_ROOT).with_suffix("").parts
            module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            for class_name, name in _PASS_CLASS.findall(path.read_text()):
                found[name] = _factory(module, class_name)
    return dict(sorted(found.items()))


TERRACE_PASSES: dict[str, Callable[[], type[ModulePass]]] = _discover()
"""Terrace's passes by name, each a factory that imports its class."""


def all_passes() -> dict[str, Callable[[], type[ModulePass]]]:
    """xDSL's passes and Terrace's (Terrace's win on a name clash)."""
    from xdsl.transforms import get_all_passes

    return {**get_all_passes(), **TERRACE_PASSES}
