"""Every hypothesis property in tests/ draws the same examples on every run (conftest.py loads a
derandomized profile; an explicit `@seed` does too), so a CI run cannot fail by chance."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import HYPOTHESIS_PROFILE
from hypothesis import settings

TESTS = Path(__file__).parent


def _properties() -> Iterator[tuple[str, Callable[..., object]]]:
    """The module-level and class-level hypothesis tests of every test module using `@given`."""
    for path in sorted(TESTS.glob("test_*.py")):
        if "@given" not in path.read_text():
            continue
        module = importlib.import_module(path.stem)
        owners: list[object] = [module]
        owners += [c for _, c in inspect.getmembers(module, inspect.isclass)]
        for owner in owners:
            for name, member in vars(owner).items():
                if getattr(member, "is_hypothesis_test", False):
                    yield f"{path.stem}::{name}", member


def _reproducible(test: Callable[..., object]) -> bool:
    if getattr(test, "_hypothesis_internal_use_seed", None) is not None:
        return True
    chosen = getattr(test, "_hypothesis_internal_use_settings", settings.default)
    return isinstance(chosen, settings) and chosen.derandomize


def test_properties_are_reproducible() -> None:
    if HYPOTHESIS_PROFILE != "reproducible":
        pytest.skip(f"the {HYPOTHESIS_PROFILE!r} profile draws fresh examples by design")
    properties = dict(_properties())
    assert "test_nn_to_linalg_shape::test_slice_property" in properties
    random = [name for name, test in properties.items() if not _reproducible(test)]
    assert random == []
