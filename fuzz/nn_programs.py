"""Random, well-typed nn programs: DAGs of nn ops with compatible shapes and attributes.

A program grows one op at a time from an input (`nn_graph.Graph`). Each step draws an op from
`nn_ops.CATALOG` (by family: elementwise, reductions, windows, contractions, normalization,
casts, shape ops), for an element type among f32, f64, f16, i32 and i64, and its builder picks
operands among the values built so far or makes new weights, constants or inputs of a shape
the op needs. Unless told otherwise, the mix is biased towards what the nn passes rewrite
(batch normalizations right after a conv or a gemm, ops on constants).

Directed at a `Focus` (the motifs a pass rewrites, learnt by `pass_targets.py`), every program
holds at least one motif, about half of its steps are motifs, and each motif's result is an
output of the program, so that a wrong rewrite of it shows in the results. The other outputs
are the values nothing else uses, so no op is dead code.

Shrinking works on the draws: fewer steps, earlier options, smaller sizes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import BlockArgument, Region, SSAValue

from ..dialects.nn import elementwise as ew
from ..dialects.nn.base import numpy_dtype_of
from .data import Edges
from .levels import Program
from .nn_graph import Choices, DrawnChoices, Graph
from .nn_ops import (
    CATALOG,
    F16,
    F32,
    F64,
    I32,
    I64,
    SPECS_BY_NAME,
    any_dims,
    fold_bait,
    image_dims,
    matrix_dims,
)


@dataclass(frozen=True)
class Motif:
    """Ops that a pass rewrites, chained (each consumes the one before), with the element
    types the pass rewrote them at."""

    ops: tuple[str, ...]
    dtypes: tuple[np.dtype[Any], ...]


@dataclass(frozen=True)
class Focus:
    """What directed programs hold: at least one motif each, about half their steps."""

    motifs: tuple[Motif, ...]

    def op_names(self) -> list[str]:
        return sorted({name for motif in self.motifs for name in motif.ops})


# Repeats weight the undirected mix; the simplest families come first, where shrinking goes.
_FAMILY_MIX = [
    "unary",
    "binary",
    "binary",
    "shape",
    "shape",
    "contraction",
    "contraction",
    "contraction",
    "fold",
    "reduction",
    "window",
    "normalization",
    "cast",
]
DTYPE_MIX = [F32, F32, F64, F16, I32, I64]
_FOLDED = [ew.NegOp, ew.ExpOp, ew.AbsOp, ew.AddOp]
_MAX_OUTPUTS = 4


def _random_step(graph: Graph, choices: Choices) -> None:
    data = [v for v in graph.values if _is_data(v)]
    if not data:
        return
    dtype = numpy_dtype_of(choices.choice(data))
    family = choices.choice(_FAMILY_MIX)
    if family == "fold":
        if np.issubdtype(dtype, np.floating):
            fold_bait(graph, choices.choice(_FOLDED), dtype)
        return
    specs = [s for s in CATALOG if s.family == family and dtype in s.dtypes]
    if specs:
        spec = choices.choice(specs)
        spec.build(graph, spec.op_class, dtype)


def _motif_step(graph: Graph, choices: Choices, focus: Focus) -> SSAValue | None:
    motif = choices.choice(focus.motifs)
    dtype = choices.choice(motif.dtypes)
    result: SSAValue | None = None
    for name in motif.ops:
        spec = SPECS_BY_NAME[name]
        graph.preferred = result
        if result is not None:
            dtype = numpy_dtype_of(result)
        result = spec.build(graph, spec.op_class, dtype)
        if result is None:
            break
    graph.preferred = None
    return result


def _is_data(value: SSAValue) -> bool:
    return numpy_dtype_of(value) != np.bool_


def _first_input(choices: Choices) -> tuple[int, ...]:
    shapes = [image_dims, matrix_dims, any_dims]
    return tuple(choices.choice(shapes)(choices))


def grow(graph: Graph, choices: Choices, steps: int, focus: Focus | None) -> list[SSAValue]:
    """Grows the graph by `steps` steps; returns the results of the motifs."""
    directed: list[SSAValue] = []
    forced = choices.integer(0, steps - 1) if focus else -1
    for step in range(steps):
        if focus is None or (step != forced and choices.boolean()):
            _random_step(graph, choices)
            continue
        for _ in range(3 if step == forced else 1):  # a motif that inference rejected
            result = _motif_step(graph, choices, focus)
            if result is not None:
                directed.append(result)
                break
    return directed


def outputs(graph: Graph, directed: Sequence[SSAValue]) -> list[SSAValue]:
    """The motifs' results, then the newest values nothing uses; at least one value."""
    unused = [v for v in graph.values if not v.uses and not isinstance(v, BlockArgument)]
    chosen: list[SSAValue] = []
    for value in [*directed, *reversed(unused)]:
        if value not in chosen and len(chosen) < _MAX_OUTPUTS:
            chosen.append(value)
    return chosen or [graph.values[-1]]


def program_of(graph: Graph, results: Sequence[SSAValue]) -> Program:
    graph.block.add_op(func.ReturnOp(*results))
    main = func.FuncOp(
        "main",
        ([a.type for a in graph.block.args], [r.type for r in results]),
        Region(graph.block),
    )
    module = ModuleOp([main])
    module.verify()
    return Program(
        text=str(module),
        inputs=tuple(graph.inputs),
        level="nn",
        weights=graph.weights,
        edges=Edges.FINITE if graph.float_to_int else Edges.SPECIAL,
        accumulations=graph.accumulations,
        op_names=frozenset(op.name for op in main.walk()),
    )


@st.composite
def nn_program(
    draw: st.DrawFn, max_ops: int = 6, dtype: str | None = None, focus: Focus | None = None
) -> Program:
    """One random nn program (see the module docstring)."""
    choices = DrawnChoices(draw)
    if dtype is not None:
        element = np.dtype(dtype)
    elif focus is not None:
        element = choices.choice(sorted({d for m in focus.motifs for d in m.dtypes}, key=str))
    else:
        element = choices.choice(DTYPE_MIX)
    graph = Graph(choices, np.random.default_rng(draw(st.integers(0, 2**32 - 1))))
    graph.new_input(element, _first_input(choices))
    directed = grow(graph, choices, choices.integer(1, max_ops), focus)
    return program_of(graph, outputs(graph, directed))


def nn_programs(max_ops: int = 6, focus: Focus | None = None) -> st.SearchStrategy[Program]:
    return nn_program(max_ops, focus=focus)
