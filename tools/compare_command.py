"""`terrace compare MODEL`: every intermediate tensor on Terrace and on onnxruntime, per ONNX
node, naming the first node past the tolerance (docs/compare.md).

As Polygraphy does, the outputs of the chosen nodes are added to the graph's outputs before
compiling, so both runtimes compute and return them; the nodes are then compared in the
graph's (topological) order. onnxruntime is imported only here: it is a test dependency of
Terrace, not a runtime one.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import onnx

from ..errors import TerraceError, first_line

DESCRIPTION = """\
Runs the model on Terrace and on onnxruntime with every intermediate tensor exposed as an extra
output (inputs from --input, the others random with --seed), and reports per ONNX node the max
abs error and the max relative error (relative to the largest |onnxruntime value| of that
tensor), naming the first node, in graph order, past the tolerance: max abs > atol + rtol *
max |reference|. Exit status 0 when every tensor is within it, 1 otherwise (or when
onnxruntime cannot run the model: then Terrace's outputs alone are shown).

examples:
  terrace compare model.onnx
  terrace compare model.onnx --input x=x.npy --nodes 'conv|relu' --rtol 1e-3
  terrace compare model.onnx --json > diff.json
"""


@dataclass(frozen=True)
class TensorDiff:
    """One exposed tensor: the node that computes it and how far Terrace is from onnxruntime."""

    node: str
    op_type: str
    output: str
    shape: list[int]
    max_abs: float
    max_rel: float
    within: bool
    problem: str = ""
    """Why the tensor could not be compared number by number (shapes differ, NaN placement)."""


@dataclass(frozen=True)
class Comparison:
    diffs: list[TensorDiff]
    rtol: float
    atol: float

    @property
    def first_divergent(self) -> TensorDiff | None:
        return next((d for d in self.diffs if not d.within), None)


class ReferenceFailed(TerraceError):
    """onnxruntime cannot run the model; `outputs` are Terrace's alone."""

    def __init__(self, message: str, outputs: dict[str, np.ndarray]):
        super().__init__(message)
        self.outputs = outputs


# -- exposing intermediates ----------------------------------------------------------------


def expose_intermediates(
    model: onnx.ModelProto, nodes: str | None = None
) -> tuple[onnx.ModelProto, list[tuple[str, str, str]]]:
    """A copy of `model` whose graph also outputs every tensor the chosen nodes compute (all
    nodes, or those whose name or op type matches the regular expression `nodes`), and the
    (node, op type, output) triples in graph order, the model's own outputs among them.
    Tensors of a type ONNX's shape inference cannot tell are left out."""
    pattern = re.compile(nodes) if nodes else None
    inferred = onnx.shape_inference.infer_shapes(model)
    known = {v.name: v for v in [*inferred.graph.value_info, *inferred.graph.output]}
    exposed = onnx.ModelProto()
    exposed.CopyFrom(model)
    graph = exposed.graph
    outputs = {o.name for o in graph.output}
    triples: list[tuple[str, str, str]] = []
    for index, node in enumerate(graph.node):
        label = node.name or f"{node.op_type}_{index}"
        if pattern is not None and not (pattern.search(label) or pattern.search(node.op_type)):
            continue
        for name in node.output:
            info = known.get(name)
            # an optional output left out, a sequence or optional value, or one whose type
            # ONNX's shape inference does not know (a graph output needs one)
            if not name or info is None or not info.type.HasField("tensor_type"):
                continue
            triples.append((label, node.op_type, name))
            if name not in outputs:
                outputs.add(name)
                graph.output.append(info)
    return exposed, triples


# -- running both -----------------------------------------------------------------------------


def compare(
    model: onnx.ModelProto,
    feeds: dict[str, np.ndarray],
    nodes: str | None = None,
    rtol: float = 1e-4,
    atol: float = 1e-6,
    seed: int = 0,
) -> Comparison:
    """Terrace against onnxruntime on every exposed tensor; inputs missing from `feeds` are
    drawn at random. Raises ReferenceFailed (with Terrace's outputs) when onnxruntime cannot
    run the model."""
    from .. import compile as compile_model

    exposed, triples = expose_intermediates(model, nodes)
    if not triples:
        raise TerraceError(f"--nodes '{nodes}' matches no node's name or op type")
    compiled = compile_model(exposed)
    feeds = _complete_feeds(compiled.inputs, feeds, seed)
    names = [spec.name for spec in compiled.outputs]
    ours = dict(zip(names, compiled.run(feeds), strict=True))
    theirs = _run_onnxruntime(exposed, feeds, ours)
    diffs = [
        _diff(node, op_type, output, ours[output], theirs[output], rtol, atol)
        for node, op_type, output in triples
        if output in ours and output in theirs
    ]
    return Comparison(diffs, rtol, atol)


def _complete_feeds(
    specs: Sequence[Any], feeds: dict[str, np.ndarray], seed: int
) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    known = {spec.name for spec in specs}
    unknown = sorted(set(feeds) - known)
    if unknown:
        raise TerraceError(f"--input {unknown[0]}: the model has no input of that name")
    complete = dict(feeds)
    for spec in specs:
        if spec.name in complete:
            continue
        dtype = np.dtype(spec.dtype)
        if dtype == np.bool_:
            complete[spec.name] = rng.integers(0, 2, spec.shape).astype(np.bool_)
        elif np.issubdtype(dtype, np.integer):
            complete[spec.name] = rng.integers(0, 4, spec.shape).astype(dtype)
        else:
            complete[spec.name] = rng.uniform(-1, 1, spec.shape).astype(dtype)
    return complete


def _run_onnxruntime(
    model: onnx.ModelProto, feeds: dict[str, np.ndarray], ours: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    try:
        import onnxruntime as ort
    except ImportError:
        message = "onnxruntime is not installed (pip install onnxruntime)"
        raise ReferenceFailed(message, ours) from None
    options = ort.SessionOptions()
    options.log_severity_level = 3
    # onnxruntime's graph optimizations may fuse away an exposed tensor's producer
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    try:
        session = ort.InferenceSession(
            model.SerializeToString(), options, providers=["CPUExecutionProvider"]
        )
        names = [o.name for o in session.get_outputs()]
        values = session.run(names, feeds)
    except Exception as error:  # onnxruntime raises its own exception types
        message = f"onnxruntime cannot run the model: {first_line(error)}"
        raise ReferenceFailed(message, ours) from None
    return {name: np.asarray(value) for name, value in zip(names, values, strict=True)}


def _diff(
    node: str,
    op_type: str,
    output: str,
    ours: np.ndarray,
    theirs: np.ndarray,
    rtol: float,
    atol: float,
) -> TensorDiff:
    shape = [int(d) for d in theirs.shape]

    def failed(problem: str) -> TensorDiff:
        return TensorDiff(node, op_type, output, shape, np.inf, np.inf, False, problem)

    if ours.shape != theirs.shape:
        return failed(f"shape {list(ours.shape)} on Terrace, {shape} on onnxruntime")
    if ours.size == 0:
        return TensorDiff(node, op_type, output, shape, 0.0, 0.0, True)
    a, b = ours.astype(np.float64), theirs.astype(np.float64)
    if not np.array_equal(np.isnan(a), np.isnan(b)):
        return failed("NaN at different places")
    finite = np.isfinite(b)
    if not np.array_equal(a[~finite & ~np.isnan(b)], b[~finite & ~np.isnan(b)]):
        return failed("infinities differ")
    if not finite.any():
        return TensorDiff(node, op_type, output, shape, 0.0, 0.0, True)
    max_abs = float(np.max(np.abs(a[finite] - b[finite])))
    scale = float(np.max(np.abs(b[finite])))
    max_rel = max_abs / scale if scale > 0 else (0.0 if max_abs == 0 else np.inf)
    within = max_abs <= atol + rtol * scale
    return TensorDiff(node, op_type, output, shape, max_abs, max_rel, within)


# -- the command ------------------------------------------------------------------------------


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:  # pyright: ignore[reportPrivateUsage]
    parser = commands.add_parser(
        "compare",
        help="every intermediate tensor on Terrace and onnxruntime, per ONNX node",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("model", help="path of an .onnx file")
    parser.add_argument(
        "--input",
        action="append",
        default=[],
        metavar="NAME=FILE.npy",
        help="the value of a graph input (repeatable; the others are random)",
    )
    parser.add_argument("--nodes", metavar="REGEX", help="only nodes whose name or op matches")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--rtol", type=float, default=1e-4, help="default: 1e-4")
    parser.add_argument("--atol", type=float, default=1e-6, help="default: 1e-6")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random inputs")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..frontend.onnx_graph import load_model
    from .cli import _load_inputs as load_inputs  # pyright: ignore[reportPrivateUsage]

    model = load_model(args.model)
    if args.nodes:
        try:
            re.compile(args.nodes)
        except re.error as error:
            raise TerraceError(f"--nodes '{args.nodes}': {error}") from None
    feeds = load_inputs(args.input)
    try:
        result = compare(model, feeds, args.nodes, args.rtol, args.atol, args.seed)
    except ReferenceFailed as failure:
        _print_reference_failure(failure, args.json)
        return 1
    if args.json:
        print(json.dumps(_as_json(result), indent=2))
    else:
        _print_table(result)
    return 0 if result.first_divergent is None else 1


def _as_json(result: Comparison) -> dict[str, Any]:
    first = result.first_divergent
    return {
        "rtol": result.rtol,
        "atol": result.atol,
        "tensors": [_finite_json(asdict(d)) for d in result.diffs],
        "first_divergent": None if first is None else _finite_json(asdict(first)),
    }


def _finite_json(entry: dict[str, Any]) -> dict[str, Any]:
    # JSON has no infinity: an uncomparable tensor's errors are null
    return {
        k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in entry.items()
    }


def _print_table(result: Comparison) -> None:
    width = max(12, *(len(d.node) for d in result.diffs))
    kinds = max(7, *(len(d.op_type) for d in result.diffs))
    print(f"{'node':<{width}}  {'op':<{kinds}}  {'max abs':>9}  {'max rel':>9}  output")
    for d in result.diffs:
        mark = "" if d.within else "  PAST TOLERANCE" + (f" ({d.problem})" if d.problem else "")
        numbers = f"{d.max_abs:9.2e}  {d.max_rel:9.2e}"
        print(f"{d.node:<{width}}  {d.op_type:<{kinds}}  {numbers}  {d.output}{d.shape}{mark}")
    first = result.first_divergent
    tolerance = f"rtol {result.rtol:g}, atol {result.atol:g}"
    if first is None:
        print(f"all {len(result.diffs)} tensors within tolerance ({tolerance})")
        return
    past = sum(1 for d in result.diffs if not d.within)
    print(
        f"first node past tolerance ({tolerance}): '{first.node}' ({first.op_type}), output "
        f"'{first.output}': max abs {first.max_abs:.3g}, max rel {first.max_rel:.3g}"
        f"{f' ({first.problem})' if first.problem else ''}; {past} of "
        f"{len(result.diffs)} tensors past it"
    )


def _print_reference_failure(failure: ReferenceFailed, as_json: bool) -> None:
    print(f"terrace compare: {failure}", file=sys.stderr)
    if as_json:
        outputs = {
            name: {"shape": list(value.shape), "dtype": str(value.dtype)}
            for name, value in failure.outputs.items()
        }
        print(json.dumps({"error": str(failure), "terrace_outputs": outputs}, indent=2))
        return
    print("Terrace's outputs alone:")
    for name, value in failure.outputs.items():
        flat = value.reshape(-1).astype(np.float64) if value.dtype.kind in "fiub" else None
        summary = (
            ""
            if flat is None or flat.size == 0
            else f"  min {flat.min():.4g}  max {flat.max():.4g}"
        )
        print(f"  {name}: {value.dtype}{list(value.shape)}{summary}")
