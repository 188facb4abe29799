"""Which nn ops a pass rewrites, learnt by trial, so that the fuzzer draws programs with them.

A pass is opaque (its patterns are built inside `apply`, and a plugin may match on anything),
so the ops it rewrites are found by running it: on small probes, one per op of
`nn_ops.CATALOG`, element type and a few attribute and shape draws (each probe the op on a
fresh input, or after another op when the builder adds one, as a conv's batchnorm), and on a
few dozen random programs, all as functions of one module. An op the pass erased or changed
(its attributes, result types, or operands other than the replacements of other rewritten
ops) was rewritten; with the op that produced its operand, when that one was rewritten too
(a conv and the batchnorm folded into it). Each rewritten op, or pair, becomes a `Motif` with
the element types it was rewritten at.

Only the leading passes that stay at the nn level are tried (a conversion rewrites every op;
for it the default mix serves as well), and a pass that rewrites nearly every op in the
catalog is fuzzed with the default mix too. Probes are drawn from a fixed seed, so the focus
of a pass is the same in every run; it is computed once per process and pipeline.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation, Region, SSAValue
from xdsl.passes import ModulePass

from ..dialects.context import terrace_context
from ..dialects.nn.base import numpy_dtype_of
from ..dialects.nn.weights import WeightStore
from .nn_graph import Graph, SeededChoices
from .nn_ops import CATALOG, SPECS_BY_NAME, any_dims
from .nn_programs import DTYPE_MIX, Focus, Motif, grow, outputs

PROBES_PER_TYPE = 6
"""Probes per op and element type (different attributes and shapes)."""
RANDOM_PROGRAMS = 40
"""Random programs tried besides the probes (they find rewrites of pairs of ops)."""
MOSTLY_EVERYTHING = 0.8
"""A pass that rewrites this share of the catalog's ops is fuzzed with the default mix."""

Key = tuple[str, np.dtype[Any]]
Touched = tuple[Operation, np.dtype[Any]]

_LEVEL_CHANGING = ("bufferize", "one-shot-bufferize", "lower-affine")


def stays_in_level(module_pass: ModulePass) -> bool:
    return not module_pass.name.startswith("convert-") and module_pass.name not in _LEVEL_CHANGING


_learnt: dict[str, Focus | None] = {}


def learn_focus(passes: Sequence[ModulePass], key: str) -> Focus | None:
    """The motifs the leading nn-level passes rewrite (None: direct nothing); `key` names the
    pipeline and its plugins, for the cache."""
    if key not in _learnt:
        _learnt[key] = _learn(passes)
    return _learnt[key]


def _learn(passes: Sequence[ModulePass]) -> Focus | None:
    leading: list[ModulePass] = []
    for module_pass in passes:
        if not stays_in_level(module_pass):
            break
        leading.append(module_pass)
    if not leading:
        return None
    seen, touched = _rewritten(leading)
    motifs: dict[tuple[str, ...], set[np.dtype[Any]]] = {}
    rewritten: Counter[tuple[str, np.dtype[Any]]] = Counter()
    for op, dtype in touched:
        producer = op.operands[0].owner if op.operands else None
        pair = isinstance(producer, Operation) and any(producer is t for t, _ in touched)
        ops = (producer.name, op.name) if pair and isinstance(producer, Operation) else (op.name,)
        rewritten[op.name, dtype] += 1
        if pair and isinstance(producer, Operation):
            dtype = _dtype(producer)  # a motif is drawn at its first op's element type
        if all(name in SPECS_BY_NAME for name in ops):
            motifs.setdefault(ops, set()).add(dtype)
    if not motifs or len({ops[-1] for ops in motifs}) >= MOSTLY_EVERYTHING * len(CATALOG):
        return None
    return Focus(
        tuple(
            Motif(ops, _element_types(ops[-1], dtypes, seen, rewritten))
            for ops, dtypes in sorted(motifs.items())
        )
    )


def _element_types(
    name: str,
    dtypes: set[np.dtype[Any]],
    seen: Counter[tuple[str, np.dtype[Any]]],
    rewritten: Counter[tuple[str, np.dtype[Any]]],
) -> tuple[np.dtype[Any], ...]:
    """The element types to draw a motif at: those it was rewritten at when the pass rewrote
    most probes of one of them (it tells element types apart), else every type the op takes
    (a rewrite that depends on shapes or attributes came up by chance at some types only)."""
    all_types = {dtype for (op, dtype), count in seen.items() if op == name and count}
    rates = [rewritten[name, d] / seen[name, d] for d in all_types]
    chosen = dtypes if rates and max(rates) >= 0.5 else all_types | dtypes
    return tuple(sorted(chosen, key=str))


# -- probes -----------------------------------------------------------------------------------


@functools.cache
def _probe_module() -> tuple[ModuleOp, dict[str, np.ndarray]]:
    """The probes and random programs as functions of one module, with their weights."""
    functions: list[func.FuncOp] = []
    weights: dict[str, np.ndarray] = {}
    for index, spec in enumerate(CATALOG):
        for dtype_index, dtype in enumerate(spec.dtypes):
            for draw in range(PROBES_PER_TYPE):
                seed = (index * 16 + dtype_index) * 16 + draw
                graph = _graph(seed, len(functions))
                graph.new_input(dtype, any_dims(graph.choices))
                result = spec.build(graph, spec.op_class, dtype)
                if result is not None:
                    functions.append(_function(graph, [result], f"probe{len(functions)}"))
                    weights |= graph.weights
    for seed in range(RANDOM_PROGRAMS):
        graph = _graph(seed, len(functions))
        graph.new_input(graph.choices.choice(DTYPE_MIX), any_dims(graph.choices))
        grow(graph, graph.choices, graph.choices.integer(2, 6), None)
        functions.append(_function(graph, [], f"program{seed}"))
        weights |= graph.weights
    return ModuleOp(functions), weights


def _graph(seed: int, index: int) -> Graph:
    return Graph(SeededChoices(seed), np.random.default_rng(seed), weight_prefix=f"f{index}_")


def _function(graph: Graph, directed: Sequence[SSAValue], name: str) -> func.FuncOp:
    results = outputs(graph, directed)
    graph.block.add_op(func.ReturnOp(*results))
    signature = ([a.type for a in graph.block.args], [r.type for r in results])
    return func.FuncOp(name, signature, Region(graph.block))


# -- what a pass rewrote ----------------------------------------------------------------------


def _fingerprint(op: Operation) -> tuple[object, ...]:
    return (
        op.name,
        tuple(id(operand) for operand in op.operands),
        tuple(sorted((name, str(value)) for name, value in op.attributes.items())),
        tuple(str(t) for t in op.result_types),
    )


def _rewritten(passes: Sequence[ModulePass]) -> tuple[Counter[Key], list[Touched]]:
    """How often each nn op of the probes occurs (by element type), and the ops the passes
    rewrote, each with its first operand's element type. The probes are tried together, and
    one by one when the passes fail on the whole module (a pass that crashes on one op hides
    nothing else)."""
    template, weights = _probe_module()
    module = template.clone()
    try:
        return _rewritten_in(module, weights, passes)
    except Exception:  # a pass that fails on some probe; the others still count
        seen: Counter[Key] = Counter()
        touched: list[Touched] = []
        for function in list(template.body.ops):
            alone = ModuleOp([function.clone()])
            try:
                more_seen, more = _rewritten_in(alone, weights, passes)
            except Exception:  # that probe alone makes the pass fail: it learns nothing
                continue
            seen += more_seen
            touched += more
        return seen, touched


def _rewritten_in(
    module: ModuleOp, weights: dict[str, np.ndarray], passes: Sequence[ModulePass]
) -> tuple[Counter[Key], list[Touched]]:
    WeightStore({name: array.copy() for name, array in weights.items()}).attach(module)
    everything = list(module.walk())  # held, so that no id is reused while we compare
    before = [
        (op, _fingerprint(op), _dtype(op), tuple(op.operands))
        for op in everything
        if op.name in SPECS_BY_NAME
    ]
    seen = Counter((op.name, dtype) for op, _, dtype, _ in before)
    ctx = terrace_context()
    for module_pass in passes:
        module_pass.apply(ctx, module)
    present = {id(op) for op in module.walk()}
    erased = {id(op) for op in everything if id(op) not in present}
    changed: list[Touched] = []
    for op, fingerprint, dtype, operands in before:
        if id(op) in erased:
            changed.append((op, dtype))
            continue
        now = _fingerprint(op)
        if now == fingerprint:
            continue
        same_op = now[0] == fingerprint[0] and now[2:] == fingerprint[2:]
        if same_op and _only_replaced(operands, tuple(op.operands), erased):
            continue  # another rewrite replaced its operand's producer
        changed.append((op, dtype))
    return seen, changed


def _only_replaced(old: Sequence[SSAValue], new: Sequence[SSAValue], erased: set[int]) -> bool:
    """Whether each operand that changed was the result of an erased op."""
    if len(old) != len(new):
        return False
    for before, after in zip(old, new, strict=True):
        if before is after:
            continue
        if not isinstance(before.owner, Operation) or id(before.owner) not in erased:
            return False
    return True


def _dtype(op: Operation) -> np.dtype[Any]:
    data = op.operands[0] if op.operands else op.results[0]
    return numpy_dtype_of(data)
