"""Which nn ops a pass rewrites, learnt by trial, so that the fuzzer draws programs with them.

A pass is opaque (its patterns are built inside `apply`, and a plugin may match on anything),
so the ops it rewrites are found by running it: on small probes, one per op of
`nn_ops.CATALOG`, element type and a few attribute and shape draws (the op on a fresh input,
half of the probes the op applied twice, as transpose(transpose(x)), some after another op
when the builder adds one, as a conv's batchnorm), and on a few dozen random programs, all as
functions of one module. An op the pass erased or changed (its attributes, result types, or
operands other than the replacements of other rewritten ops) was rewritten; with the op that
produced its operand when the rewrite took that one in too (erased it or left it unused: a
conv and the batchnorm folded into it). Each rewritten op, or pair, becomes a `Motif` with the
element types it was rewritten at.

A rewrite that depends on what produced the op's operand (erase a relu of a value that is never
negative) never fires on an op fed by an input, and the random programs hold few of the pairs it
fires on. So each op the passes rewrote, but never on an input, is probed again after every op
of the catalog (`_producer_probes`); each producer it was then rewritten after makes a pair motif,
so that the programs hold every pair the passes treat apart: a wrong rewrite that also erases a
relu of tanh is fuzzed on tanh -> relu.

When no probe is rewritten (a pattern whose condition the probes missed), the op types that
the passes' `op_type_rewrite_pattern`s are annotated with give the motifs instead: each op
alone and applied twice (the patterns named in the pass class's source or held by it).

Only the leading passes that stay at the nn level are tried (a conversion rewrites every op;
for it the default mix serves as well), and a pass that rewrites nearly every op in the
catalog is fuzzed with the default mix too. Probes are drawn from a fixed seed, so the focus
of a pass is the same in every run; it is computed once per process and pipeline.
"""

from __future__ import annotations

import functools
import inspect
import re
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from types import UnionType
from typing import Any, TypeGuard, Union, get_args, get_origin

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import BlockArgument, Operation, Region, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import RewritePattern

from ..dialects.context import terrace_context
from ..dialects.nn.base import numpy_dtype_of
from ..dialects.nn.weights import WeightStore
from .nn_graph import Graph, SeededChoices
from .nn_ops import CATALOG, SPECS_BY_NAME, any_dims
from .nn_programs import DTYPE_MIX, Focus, Motif, grow, outputs

PROBES_PER_TYPE = 6
"""Probes per op and element type (different attributes and shapes)."""
PRODUCER_PROBES = 2
"""Probes per producer, consumer and element type."""
RANDOM_PROGRAMS = 40
"""Random programs tried besides the probes (they find rewrites of pairs of ops)."""
MOSTLY_EVERYTHING = 0.8
"""A pass that rewrites this share of the catalog's ops is fuzzed with the default mix."""

Key = tuple[str, np.dtype[Any]]


@dataclass(frozen=True)
class Touched:
    """An op the passes rewrote, and the op that produced its first operand when the rewrite
    took that one in too (erased it, or left it unused)."""

    op: str
    dtype: np.dtype[Any]
    producer: str | None = None
    producer_dtype: np.dtype[Any] | None = None
    on_input: bool = False
    """Whether its first operand was an input of the function (no producer to depend on)."""


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
    if not touched:
        return _annotated_focus(leading)
    touched += _producer_dependent(leading, touched)
    motifs: dict[tuple[str, ...], set[np.dtype[Any]]] = {}
    rewritten: Counter[tuple[str, np.dtype[Any]]] = Counter()
    for touch in touched:
        rewritten[touch.op, touch.dtype] += 1
        if touch.producer is not None and touch.producer_dtype is not None:
            # a motif is drawn at its first op's element type
            ops, dtype = (touch.producer, touch.op), touch.producer_dtype
        else:
            ops, dtype = (touch.op,), touch.dtype
        if all(name in SPECS_BY_NAME for name in ops) and dtype in SPECS_BY_NAME[ops[0]].dtypes:
            motifs.setdefault(ops, set()).add(dtype)
    if not motifs or len({ops[-1] for ops in motifs}) >= MOSTLY_EVERYTHING * len(CATALOG):
        return None
    chosen = [
        Motif(ops, _element_types(ops[0], dtypes, seen, rewritten))
        for ops, dtypes in sorted(motifs.items())
    ]
    return Focus(tuple(motif for motif in chosen if motif.dtypes))


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
    return tuple(sorted(chosen & set(SPECS_BY_NAME[name].dtypes), key=str))


def _producer_dependent(passes: Sequence[ModulePass], touched: list[Touched]) -> list[Touched]:
    """The rewrites of ops that were never rewritten on an input, found after each producer,
    with that producer recorded (the pair is the motif)."""
    on_input = {t.op for t in touched if t.on_input}
    consumers = sorted({t.op for t in touched} - on_input)
    if not consumers:
        return []
    module, weights = _producer_probes(tuple(consumers))
    try:
        _, found = _rewritten_in(module.clone(), weights, passes, any_producer=True)
    except Exception:  # a pass that fails on some pair: the probes of single ops still count
        return []
    return [t for t in found if t.op in consumers and t.producer is not None]


@functools.cache
def _producer_probes(consumers: tuple[str, ...]) -> tuple[ModuleOp, dict[str, np.ndarray]]:
    """Each consumer after each op of the catalog, at each of its element types."""
    functions: list[func.FuncOp] = []
    weights: dict[str, np.ndarray] = {}
    for consumer_index, consumer in enumerate(consumers):
        consumer_spec = SPECS_BY_NAME[consumer]
        for index, spec in enumerate(CATALOG):
            for dtype_index, dtype in enumerate(spec.dtypes):
                for draw in range(PRODUCER_PROBES):
                    seed = ((consumer_index * 256 + index) * 16 + dtype_index) * 4 + draw
                    graph = _graph(seed, len(functions))
                    graph.new_input(dtype, any_dims(graph.choices))
                    produced = spec.build(graph, spec.op_class, dtype)
                    if produced is None:
                        continue
                    dtype_out = numpy_dtype_of(produced)
                    if dtype_out not in consumer_spec.dtypes:
                        continue
                    graph.preferred = produced
                    result = consumer_spec.build(graph, consumer_spec.op_class, dtype_out)
                    if result is None or produced not in _operands_of(result):
                        continue  # the consumer took another value: not this pair
                    functions.append(_function(graph, [result], f"pair{len(functions)}"))
                    weights |= graph.weights
    return ModuleOp(functions), weights


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
                if result is not None and draw % 2:  # the op twice: a pass may fold pairs
                    graph.preferred = result
                    result = spec.build(graph, spec.op_class, numpy_dtype_of(result)) or result
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
    module: ModuleOp,
    weights: dict[str, np.ndarray],
    passes: Sequence[ModulePass],
    any_producer: bool = False,
) -> tuple[Counter[Key], list[Touched]]:
    WeightStore({name: array.copy() for name, array in weights.items()}).attach(module)
    everything = list(module.walk())  # held, so that no id is reused while we compare
    before = [(op, _fingerprint(op), tuple(op.operands)) for op in everything]
    before = [entry for entry in before if entry[0].name in SPECS_BY_NAME]
    seen = Counter((op.name, _dtype(operands, op)) for op, _, operands in before)
    ctx = terrace_context()
    for module_pass in passes:
        module_pass.apply(ctx, module)
    present = {id(op) for op in module.walk()}
    erased = {id(op) for op in everything if id(op) not in present}
    changed: list[Touched] = []
    for op, fingerprint, operands in before:
        now = _fingerprint(op) if id(op) not in erased else None
        if now == fingerprint:
            continue
        same_op = now is not None and now[0] == fingerprint[0] and now[2:] == fingerprint[2:]
        if same_op and _only_replaced(operands, tuple(op.operands), erased):
            continue  # another rewrite replaced its operand's producer
        changed.append(_touched(op, operands, erased, any_producer))
    return seen, changed


def _touched(
    op: Operation, operands: Sequence[SSAValue], erased: set[int], any_producer: bool
) -> Touched:
    """What the rewrite of `op` touched: with its operand's producer when the rewrite took that
    in too, or with any producer (`any_producer`: the pair probes, where it is the point)."""
    dtype = _dtype(operands, op)
    producer = operands[0].owner if operands else None
    if not isinstance(producer, Operation) or producer.name not in SPECS_BY_NAME:
        return Touched(op.name, dtype, on_input=bool(operands) and _is_input(operands[0]))
    absorbed = id(producer) in erased or not any(r.uses for r in producer.results)
    if not absorbed and not any_producer:
        return Touched(op.name, dtype)
    return Touched(op.name, dtype, producer.name, _dtype(producer.operands, producer))


def _operands_of(value: SSAValue) -> tuple[SSAValue, ...]:
    owner = value.owner
    return tuple(owner.operands) if isinstance(owner, Operation) else ()


def _is_input(value: SSAValue) -> bool:
    return isinstance(value, BlockArgument)


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


def _dtype(operands: Sequence[SSAValue], op: Operation) -> np.dtype[Any]:
    return numpy_dtype_of(operands[0] if operands else op.results[0])


# -- the op types patterns are annotated with ---------------------------------------------


def _annotated_focus(passes: Sequence[ModulePass]) -> Focus | None:
    op_types = {t for p in passes for pattern in _patterns_of(type(p)) for t in _matched(pattern)}
    specs = [s for s in CATALOG if any(issubclass(s.op_class, t) for t in op_types)]
    if not specs:
        return None
    motifs = [Motif(ops, s.dtypes) for s in specs for ops in ((s.name,), (s.name, s.name))]
    return Focus(tuple(motifs))


def _patterns_of(pass_class: type[ModulePass]) -> list[type[RewritePattern]]:
    """The RewritePattern classes that the pass class holds, and those of its module that
    its source names."""
    held = [v for v in vars(pass_class).values() if _is_pattern(v)]
    module = sys.modules.get(pass_class.__module__)
    if module is None:
        return held
    try:
        source = inspect.getsource(pass_class) + inspect.getsource(pass_class.apply)
    except (OSError, TypeError):  # no source (a class built at run time)
        return held
    named = [
        v
        for v in vars(module).values()
        if _is_pattern(v) and re.search(rf"\b{v.__name__}\b", source)
    ]
    return held + named


def _is_pattern(value: object) -> TypeGuard[type[RewritePattern]]:
    return inspect.isclass(value) and issubclass(value, RewritePattern)


def _matched(pattern: type[RewritePattern]) -> list[type[Operation]]:
    """The op types `op_type_rewrite_pattern` filters on (held in its wrapper's closure)."""
    cells = getattr(pattern.match_and_rewrite, "__closure__", None) or ()
    found: list[type[Operation]] = []
    for cell in cells:
        value: object = cell.cell_contents
        options = get_args(value) if get_origin(value) in (Union, UnionType) else (value,)
        found += [t for t in options if inspect.isclass(t) and issubclass(t, Operation)]
    return found
