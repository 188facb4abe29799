"""A fuzz run's hypothesis state: the same seed draws the same programs in any process, and
shrinking stops after the run's budget.

Hypothesis mixes into its draws, now and then, numeric constants it collects from the source of
every local module imported so far (`_get_local_constants` in
`hypothesis.internal.conjecture.providers`, Hypothesis 6.131 and later). Which modules a
process has imported depends on what ran before in it (a pytest worker's earlier tests), and
their constants change with every edit of the package: so one seed drew different programs in
different processes, and the wrong rewrites caught with a fixed seed in a fresh process went
uncaught after other fuzz runs in the same one. Within `fuzz_run_state` the collected pool is
empty (hypothesis's own built-in constants stay), and the cache of constants permitted per
draw kind is cleared on the way in and out, so nothing from before leaks in.

Hypothesis stops shrinking after `MAX_SHRINKING_SECONDS` (engine.py, five minutes); the run's
own budget replaces it, so the property stays deterministic (a property that started passing
once a budget ran out made hypothesis's replay of the smallest example flaky).
"""

from __future__ import annotations

import contextlib
from collections.abc import Generator
from typing import Any


@contextlib.contextmanager
def fuzz_run_state(shrink_seconds: float) -> Generator[None]:
    """Within the block, hypothesis draws no constants collected from local source files and
    shrinks for at most `shrink_seconds`."""
    with _no_local_constants(), _shrinking_budget(shrink_seconds):
        yield


@contextlib.contextmanager
def _no_local_constants() -> Generator[None]:
    try:
        from hypothesis.internal.conjecture import providers
        from hypothesis.internal.constants_ast import Constants
    except ImportError:  # a Hypothesis without collected constants draws none anyway
        yield
        return
    module: Any = providers
    original = module._get_local_constants
    empty = Constants()
    module._get_local_constants = lambda: empty
    module.CONSTANTS_CACHE.cache.clear()
    try:
        yield
    finally:
        module._get_local_constants = original
        module.CONSTANTS_CACHE.cache.clear()


@contextlib.contextmanager
def _shrinking_budget(seconds: float) -> Generator[None]:
    from hypothesis.internal.conjecture import engine

    module: Any = engine
    original = getattr(module, "MAX_SHRINKING_SECONDS", None)
    if original is None:  # nothing to replace: hypothesis's own limits hold
        yield
        return
    module.MAX_SHRINKING_SECONDS = seconds
    try:
        yield
    finally:
        module.MAX_SHRINKING_SECONDS = original
