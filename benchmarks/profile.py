"""`terrace profile`'s measurement: time per kernel call, grouped by the ONNX nodes the calls
compute, next to the latency of the same model compiled without instrumentation.

The model is compiled twice (both through the compile cache): as its target compiles it, and
with instrument-kernels after outline-kernels (`instrumented`), which brackets each kernel call
of @main with timestamps. The two are timed in alternating rounds (after a warm-up each), so
that the sum of the profile's parts can be checked against the latency of the code users run.

Grouping: a kernel call's location names the ONNX nodes it computes (several when fused, such
as Conv + Relu; the packing of a convolution's input is a call of its own at the same nodes).
Calls whose node sets overlap form one group, a row of the profile, so that a node's time and
its FLOPs are counted once. What no kernel does is reported as two rows of its own: @main's
code between the calls (views, the stores of the marks), and the call's Python side (shape
checks, output allocation, ctypes). Each row's time is the mean over the middle half of the
runs (`middle_runs`), so that the rows add up to a typical call.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import onnx
from xdsl.passes import ModulePass

from ..errors import CompilationError
from ..frontend.onnx.graph import node_label
from ..passes.instrument_kernels import InstrumentKernelsPass
from ..passes.outline_kernels import OutlineKernelsPass
from ..runtime.model import CompiledModel
from ..runtime.profile import KernelCall, ProfiledModel, ProfiledRun, install_hook
from ..targets import Target
from ..targets.target import Pipeline, Stage
from .flops import flops_per_node

ROUNDS = 3
PAUSE_SECONDS = 0.2
"""Before each block of runs: the other build's OpenMP threads stop spinning
(benchmarks/measure.py, ENGINE_SWITCH_PAUSE)."""

MAIN_ROW = "@main between kernels"
PYTHON_ROW = "call overhead (Python, ctypes)"
UNOWNED_ROW = "(no ONNX node: copies into outputs)"


@dataclass(frozen=True)
class Node:
    """An ONNX node as the profile names it: its label (name, or op type#index) and op type."""

    label: str
    op_type: str

    def describe(self) -> str:
        """`Conv conv1`, or `Conv#3` for a node without a name."""
        if self.label.startswith(f"{self.op_type}#"):
            return self.label
        return f"{self.op_type} {self.label}"


@dataclass(frozen=True)
class Row:
    """One line of the profile: a group of ONNX nodes and the kernel calls that compute them
    (or one of the rows outside kernels, with no nodes and no calls)."""

    name: str
    seconds: float
    """Its calls' summed time, the mean over the typical runs (`middle_runs`)."""
    nodes: tuple[Node, ...] = ()
    calls: tuple[int, ...] = ()
    """Positions of its calls in the entry's order of kernel calls."""
    kernels: tuple[str, ...] = ()
    flops: int | None = None
    bytes: int = 0
    """Bytes of the buffers its calls pass (each call's operands once): the roofline's traffic."""

    def gflops(self) -> float | None:
        if self.flops is None or self.seconds <= 0:
            return None
        return self.flops / self.seconds / 1e9

    def intensity(self) -> float | None:
        """FLOPs per byte of traffic."""
        if self.flops is None or self.bytes <= 0:
            return None
        return self.flops / self.bytes


@dataclass(frozen=True)
class Profile:
    """A profiled model: its rows (kernel groups in the order they first run, then the rows
    outside kernels), the raw runs, and the uninstrumented model's latencies."""

    calls: tuple[KernelCall, ...]
    rows: tuple[Row, ...]
    runs: tuple[ProfiledRun, ...]
    plain_seconds: tuple[float, ...]
    """Latencies of the model compiled as its target compiles it (no instrumentation)."""

    @property
    def total_seconds(self) -> float:
        """The sum of the rows: the profile's account of one typical call."""
        return sum(row.seconds for row in self.rows)

    @property
    def plain_median(self) -> float:
        return float(np.median(self.plain_seconds))

    @property
    def instrumented_median(self) -> float:
        return float(np.median([(r.call_end - r.call_start) / 1e9 for r in self.runs]))

    def kernel_rows(self) -> tuple[Row, ...]:
        return tuple(row for row in self.rows if row.calls)


def instrumented(target: Target) -> Target:
    """`target` with instrument-kernels run right after its outline-kernels pass."""
    stages: list[Stage] = []
    found = False
    for stage in target.pipeline().stages:
        passes: list[ModulePass] = []
        for module_pass in stage.passes:
            passes.append(module_pass)
            if isinstance(module_pass, OutlineKernelsPass):
                passes.append(InstrumentKernelsPass())
                found = True
        stages.append(Stage(stage.name, tuple(passes)))
    if not found:
        raise CompilationError(
            f"target '{target.tag}' does not outline kernels (no outline-kernels pass in its "
            "pipeline): there are no kernel calls to time"
        )
    return target.with_pipeline(Pipeline(tuple(stages)))


def profile_compiled(
    plain: CompiledModel,
    profiled: CompiledModel,
    inputs: Sequence[np.ndarray],
    runs: int,
    graph_nodes: Mapping[str, Node],
    flops: Mapping[str, int],
) -> Profile:
    """Times `plain` and the instrumented `profiled` (the same model and threads) in ROUNDS
    alternating blocks of `runs` runs in all, after a warm-up each and one untimed call at the
    start of each block (as `terrace bench` does), and groups the calls."""
    install_hook()
    model = ProfiledModel(profiled)
    plain(*inputs)
    model.run(inputs)
    plain_seconds: list[float] = []
    profiled_runs: list[ProfiledRun] = []
    for round_index in range(ROUNDS):
        share = runs // ROUNDS + (round_index < runs % ROUNDS)
        time.sleep(PAUSE_SECONDS)
        plain(*inputs)  # untimed: the threads wake up, the caches refill
        for _ in range(share):
            started = time.perf_counter()
            plain(*inputs)
            plain_seconds.append(time.perf_counter() - started)
        time.sleep(PAUSE_SECONDS)
        model.run(inputs)  # untimed, likewise
        profiled_runs.extend(model.run(inputs) for _ in range(share))
    rows = _rows(model.calls, profiled_runs, graph_nodes, flops)
    return Profile(model.calls, rows, tuple(profiled_runs), tuple(plain_seconds))


def graph_nodes(model: onnx.ModelProto) -> tuple[dict[str, Node], dict[str, int]]:
    """The model's nodes by label (as the importer names them), and the FLOPs of the counted
    ones (benchmarks/flops.py) by label."""
    nodes: dict[str, Node] = {}
    flops: dict[str, int] = {}
    counts = flops_per_node(model)
    for index, (node, count) in enumerate(zip(model.graph.node, counts, strict=True)):
        label = node_label(node, index)
        nodes[label] = Node(label, node.op_type)
        if count is not None:
            flops[label] = count
    return nodes, flops


def with_input_shapes(
    model: onnx.ModelProto, shapes: Mapping[str, Sequence[int]]
) -> onnx.ModelProto:
    """A copy of `model` whose graph inputs have the static `shapes` (for shape inference, so
    that the FLOPs of a model with dynamic dimensions can be counted)."""
    fixed = onnx.ModelProto()
    fixed.CopyFrom(model)
    for value in fixed.graph.input:
        shape = shapes.get(value.name)
        if shape is None:
            continue
        dims = value.type.tensor_type.shape.dim
        del dims[:]
        for size in shape:
            dims.add().dim_value = size
    return fixed


def random_inputs(model: CompiledModel, seed: int) -> list[np.ndarray]:
    """Inputs of the model's shapes and dtypes: floats in [-1, 1), integers in [0, 10), bools."""
    rng = np.random.default_rng(seed)
    inputs: list[np.ndarray] = []
    for spec in model.inputs:
        if spec.dtype.kind == "f":
            inputs.append(rng.uniform(-1, 1, spec.shape).astype(spec.dtype))
        elif spec.dtype.kind == "b":
            inputs.append(rng.integers(0, 2, spec.shape).astype(spec.dtype))
        else:
            inputs.append(rng.integers(0, 10, spec.shape).astype(spec.dtype))
    return inputs


# -- grouping --------------------------------------------------------------------------------


def _rows(
    calls: Sequence[KernelCall],
    runs: Sequence[ProfiledRun],
    nodes: Mapping[str, Node],
    flops: Mapping[str, int],
) -> tuple[Row, ...]:
    typical = middle_runs(runs)
    durations = np.array([[end - start for start, end in r.kernel_spans()] for r in typical])
    durations = durations.reshape(len(typical), len(calls))
    kernel_total = durations.sum(axis=1)
    rows = [_group_row(calls, members, durations, nodes, flops) for members in group_calls(calls)]
    entry = np.array([r.entry_end - r.entry_start for r in typical])
    call = np.array([r.call_end - r.call_start for r in typical])
    rows.append(Row(MAIN_ROW, float(np.mean(entry - kernel_total)) / 1e9))
    rows.append(Row(PYTHON_ROW, float(np.mean(call - entry)) / 1e9))
    return tuple(rows)


def middle_runs(runs: Sequence[ProfiledRun]) -> list[ProfiledRun]:
    """The runs whose call time lies in the middle half (between the quartiles, the median
    run at least). Rows are means over these: means add up, so the rows sum to the mean
    time of a typical call. Per-row medians would not: on a busy machine each row's median
    leaves out the slowdowns every run has somewhere, and their sum fell below the fastest
    run."""
    ordered = sorted(runs, key=lambda r: r.call_end - r.call_start)
    quarter = len(ordered) // 4
    return ordered[quarter : len(ordered) - quarter]


def group_calls(calls: Sequence[KernelCall]) -> list[list[int]]:
    """The calls, partitioned so that calls sharing an ONNX node are in one part (the calls of
    no node in one part of their own), parts in the order of their first call."""
    owner: dict[str, int] = {}  # node -> part
    parts: list[list[int]] = []
    unowned: list[int] = []
    for index, call in enumerate(calls):
        if not call.nodes:
            unowned.append(index)
            continue
        touched = sorted({owner[n] for n in call.nodes if n in owner})
        if not touched:
            parts.append([])
            touched = [len(parts) - 1]
        target, *merged = touched
        for part in merged:  # this call joins earlier groups: one group now
            parts[target].extend(parts[part])
            parts[part] = []
        parts[target].append(index)
        for node, part in owner.items():
            if part in merged:
                owner[node] = target
        for node in call.nodes:
            owner[node] = target
    groups = [sorted(part) for part in parts if part]
    return [*groups, unowned] if unowned else groups


def _group_row(
    calls: Sequence[KernelCall],
    members: Sequence[int],
    durations: np.ndarray,
    nodes: Mapping[str, Node],
    flops: Mapping[str, int],
) -> Row:
    described: list[Node] = []
    for index in members:
        for label in calls[index].nodes:
            node = _node(label, nodes)
            if node not in described:
                described.append(node)
    counted = [flops[node.label] for node in described if node.label in flops]
    kernels = tuple(dict.fromkeys(calls[index].kernel for index in members))
    name = " + ".join(node.describe() for node in described) if described else UNOWNED_ROW
    seconds = float(np.mean(durations[:, list(members)].sum(axis=1))) / 1e9
    return Row(
        name,
        seconds,
        tuple(described),
        tuple(members),
        kernels,
        sum(counted) if counted else None,
        sum(calls[index].bytes for index in members),
    )


def _node(label: str, nodes: Mapping[str, Node]) -> Node:
    """The graph node a location names: that node, or the node whose decomposition made it
    (the importer names those `LABEL/...`; a node's own name may hold slashes too), else a
    node of unknown type."""
    candidate = label
    while candidate not in nodes:
        if "/" not in candidate:
            return Node(label, "?")
        candidate = candidate.rsplit("/", 1)[0]
    return nodes[candidate]
