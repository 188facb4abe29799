"""The levels a program can be fuzzed at, each with its program generator and its oracle.

A `Level` pairs a hypothesis strategy of well-typed `Program`s at one terrace of the pipeline
(docs/pipeline.md) with the executor that is trusted there (the nn level runs the numpy
reference). `LEVELS` is the one registry: this module registers "nn"; `levels_lower.py`
registers the lower levels (linalg on tensors, memrefs, loops) into the same dictionary, and
`available_levels()` loads it when it is there. Any level's program can also run as native code
(`compiled.execute_compiled`), which lowers it the rest of the way with the CPU pipeline.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from hypothesis import strategies as st
from xdsl.dialects.builtin import ModuleOp

from ..dialects.context import parse_module
from ..dialects.nn.interpreter import run_function
from ..dialects.nn.weights import WeightStore
from ..runtime.abi import TensorSpec
from .data import Edges

Executor = Callable[[ModuleOp, Sequence[np.ndarray]], list[np.ndarray]]
"""Runs `@main` of a module on numpy inputs and returns its results (in order)."""


@dataclass(frozen=True)
class Program:
    """A generated program: MLIR text with one `@main`, its inputs, and its weight store."""

    text: str
    inputs: tuple[TensorSpec, ...]
    level: str
    weights: Mapping[str, np.ndarray] = field(default_factory=dict[str, np.ndarray])
    edges: Edges = Edges.FINITE
    """The input edge values every op of the program defines the same way in every executor."""
    accumulations: int = 1
    """Roughly how many roundings an output goes through (the sum of the reduction lengths
    along the program); it scales the float tolerance of comparisons."""
    op_names: frozenset[str] = frozenset()
    """The ops the program holds, for the coverage a run reports (empty: not recorded)."""

    def module(self) -> ModuleOp:
        """A fresh, verified module with a private copy of the weights attached, so that a pass
        that adds weights never touches another run's store."""
        module = parse_module(self.text)
        WeightStore({name: array.copy() for name, array in self.weights.items()}).attach(module)
        return module


@dataclass(frozen=True)
class Level:
    """One level of the pipeline, as the fuzzer sees it."""

    name: str
    summary: str
    programs: Callable[[], st.SearchStrategy[Program]]
    """Well-typed, verified programs at this level."""
    execute: Executor
    """The level's oracle."""
    accepts: Callable[[ModuleOp], bool]
    """Whether a module (say, after a pass) is still at this level, so `execute` can run it."""
    default_pipeline: str
    """The passes that apply at this level, as a textual pipeline (what `terrace fuzz --level`
    checks when no pass is named)."""
    passes: tuple[str, ...] = ()
    """Registered passes and conversions whose input is this level (fuzzed in CI)."""


LEVELS: dict[str, Level] = {}
"""Every level by name, in pipeline order (nn first)."""


def register_level(level: Level) -> None:
    LEVELS[level.name] = level


def available_levels() -> dict[str, Level]:
    """LEVELS, with the lower levels loaded when their module is present."""
    lower = f"{__package__}.levels_lower"
    if importlib.util.find_spec(lower) is not None:
        importlib.import_module(lower)
    return LEVELS


def level_of(module: ModuleOp, start: str | None = None) -> Level | None:
    """The first level, from `start` on, that accepts `module`."""
    names = list(available_levels())
    first = names.index(start) if start in names else 0
    for name in names[first:]:
        if LEVELS[name].accepts(module):
            return LEVELS[name]
    return None


def level_for_pass(pass_name: str) -> Level | None:
    """The level whose `passes` list `pass_name`."""
    for level in available_levels().values():
        if pass_name in level.passes:
            return level
    return None


# -- the nn level ---------------------------------------------------------------------------

_NN_DIALECTS = {"builtin", "func", "nn"}


def _is_nn_module(module: ModuleOp) -> bool:
    return all(op.name.split(".", 1)[0] in _NN_DIALECTS for op in module.walk())


def _nn_programs() -> st.SearchStrategy[Program]:
    from .nn_programs import nn_programs

    return nn_programs()


def _run_nn(module: ModuleOp, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    return run_function(module, inputs)


register_level(
    Level(
        name="nn",
        summary="random DAGs of nn ops with ONNX semantics, run by the numpy reference",
        programs=_nn_programs,
        execute=_run_nn,
        accepts=_is_nn_module,
        # compiler.NN_PIPELINE, the nn passes every target runs first
        default_pipeline="nn-fold-batchnorm,nn-canonicalize",
        passes=("nn-canonicalize", "nn-fold-batchnorm", "convert-nn-to-linalg"),
    )
)
