"""onnxruntime's time per ONNX node, for `terrace profile --vs-ort`: the same model, inputs and
threads, with onnxruntime's own profiler, mapped onto the nodes of the original graph.

onnxruntime rewrites the graph before it runs it (Conv + BatchNormalization + Relu become one
fused Conv; on x86 the NCHWc pass wraps convolutions in layout reorders, gives them internal
tensors and names them after the original output they replace: `relu_8_nchwc`), so its
profile names nodes of its optimized graph. The optimized graph is saved beside the profile and
each of its nodes is mapped back to the original nodes it computes (`OrtKernel.labels`):
- the writer of the original tensor it writes or is named after (`y`, `y_nchwc`), or else the
  original node a fusion is named after (`matmul_5/MatMulAddFusion`, whose output is a tensor
  of its own that a reshape turns into the Add's), and
- walking back from there, every original node whose output no longer exists in the optimized
  graph (it was fused away into this node).
What maps to no original node (the reorder of a graph input) is reported as unattributed.
Fusions differ between the two compilers, so the report compares groups: the union of the
nodes that either side computes together (`compare_groups`).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from ..errors import TerraceError
from ..frontend.onnx.graph import node_label

KERNEL_SUFFIX = "_kernel_time"
WARMUP_RUNS = 3
"""Untimed runs first: onnxruntime's second and third runs were still up to 10x slower."""
LAYOUT_SUFFIXES = ("_nchwc",)
"""What onnxruntime's layout passes append to the tensors they rewrite."""
FUSION_SEPARATOR = "/"
"""onnxruntime names a fused node `<the original node>/<the fusion>` (`matmul_5/MatMulAddFusion`,
a MatMul + Add as a Gemm between two reshapes)."""


@dataclass(frozen=True)
class OrtKernel:
    """A node of onnxruntime's optimized graph: the original nodes it computes (labels as
    `terrace profile` names them) and its mean seconds per call."""

    name: str
    labels: frozenset[str]
    seconds: float


@dataclass(frozen=True)
class OrtProfile:
    """onnxruntime's kernels, the time it could not attribute, and its latencies per call."""

    kernels: tuple[OrtKernel, ...]
    unattributed_seconds: float
    latencies: tuple[float, ...]

    @property
    def latency_median(self) -> float:
        return float(np.median(self.latencies))


@dataclass(frozen=True)
class GroupComparison:
    """Original nodes that one side or the other computes together, with both times."""

    labels: frozenset[str]
    terrace_seconds: float
    ort_seconds: float

    @property
    def ratio(self) -> float | None:
        return self.terrace_seconds / self.ort_seconds if self.ort_seconds > 0 else None


def compare_groups(
    terrace: Iterable[tuple[frozenset[str], float]], ort: OrtProfile
) -> list[GroupComparison]:
    """Terrace's rows (their node labels and seconds) and onnxruntime's kernels merged into
    groups that neither side's fusion crosses, slowest against onnxruntime first. Groups only
    one side computes are left out."""
    parent: dict[str, str] = {}

    def find(label: str) -> str:
        while parent.setdefault(label, label) != label:
            label = parent[label]
        return label

    def join(labels: Iterable[str]) -> None:
        roots = [find(label) for label in labels]
        for root in roots[1:]:
            parent[root] = roots[0]

    rows = [(labels, seconds) for labels, seconds in terrace if labels]
    for labels, _ in rows:
        join(labels)
    for kernel in ort.kernels:
        join(kernel.labels)
    groups: dict[str, list[float]] = {}
    members: dict[str, set[str]] = {}
    for labels, seconds in rows:
        root = find(next(iter(labels)))
        groups.setdefault(root, [0.0, 0.0])[0] += seconds
        members.setdefault(root, set()).update(labels)
    for kernel in ort.kernels:
        root = find(next(iter(kernel.labels)))
        groups.setdefault(root, [0.0, 0.0])[1] += kernel.seconds
        members.setdefault(root, set()).update(kernel.labels)
    compared = [
        GroupComparison(frozenset(members[root]), mine, theirs)
        for root, (mine, theirs) in groups.items()
        if mine > 0 and theirs > 0
    ]
    return sorted(compared, key=lambda group: -(group.ratio or 0.0))


def profile_onnxruntime(
    model: onnx.ModelProto, feeds: Mapping[str, np.ndarray], threads: int, runs: int
) -> OrtProfile:
    """Runs `model` `runs` times after one warm-up with onnxruntime's profiler on, with
    `threads` intra-op threads, and maps its per-node times onto the model's nodes."""
    ort = _onnxruntime()
    with tempfile.TemporaryDirectory(prefix="terrace-ort-profile-") as scratch:
        optimized_path = Path(scratch) / "optimized.onnx"
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3
        options.optimized_model_filepath = str(optimized_path)
        options.enable_profiling = True
        options.profile_file_prefix = str(Path(scratch) / "ort")
        session = ort.InferenceSession(
            model.SerializeToString(), options, providers=["CPUExecutionProvider"]
        )
        for _ in range(runs + WARMUP_RUNS):
            session.run(None, dict(feeds))
        events = json.loads(Path(session.end_profiling()).read_text())
        optimized = onnx.load(str(optimized_path), load_external_data=False)
    return _attribute(events, kernel_labels(optimized, model))


def _onnxruntime() -> Any:
    try:
        import onnxruntime
    except ImportError:
        raise TerraceError(
            "--vs-ort needs onnxruntime, the reference it times: pip install 'terrace[bench]'"
        ) from None
    return onnxruntime


def _original_writers(model: onnx.ModelProto) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Each tensor of the original graph to the label of the node that writes it, and each
    node's label to the tensors it reads."""
    writers: dict[str, str] = {}
    reads: dict[str, list[str]] = {}
    for index, node in enumerate(model.graph.node):
        label = node_label(node, index)
        reads[label] = [name for name in node.input if name]
        for output in node.output:
            if output:
                writers[output] = label
    return writers, reads


def kernel_labels(optimized: onnx.ModelProto, model: onnx.ModelProto) -> dict[str, frozenset[str]]:
    """Each node of the optimized graph, by name, to the original nodes it computes (the
    module docstring's two rules)."""
    writers, reads = _original_writers(model)
    present = {_without_suffixes(node.name) for node in optimized.graph.node}
    for node in optimized.graph.node:
        present.update(_without_suffixes(name) for name in [*node.input, *node.output])
    present.update(value.name for value in optimized.graph.input)
    present.update(tensor.name for tensor in optimized.graph.initializer)
    named = {node.name: node_label(node, i) for i, node in enumerate(model.graph.node) if node.name}
    covered: dict[str, frozenset[str]] = {}
    for node in optimized.graph.node:
        names = [*(_without_suffixes(o) for o in node.output), _without_suffixes(node.name)]
        first = next((writers[name] for name in names if name in writers), None)
        if first is None:  # a fusion that writes an internal tensor: `matmul_5/MatMulAddFusion`
            first = named.get(node.name.split(FUSION_SEPARATOR)[0])
        if first is None:
            continue
        labels = {first}
        pending = [first]
        while pending:  # back through the tensors that were fused away
            for tensor in reads.get(pending.pop(), []):
                writer = writers.get(tensor)
                if writer is not None and tensor not in present and writer not in labels:
                    labels.add(writer)
                    pending.append(writer)
        covered[node.name] = frozenset(labels)
    return covered


def _attribute(
    events: Sequence[Mapping[str, Any]], covered: Mapping[str, frozenset[str]]
) -> OrtProfile:
    """Mean seconds per call of each optimized node, over the typical runs after the warm-up:
    the middle half by latency, as `terrace profile` takes Terrace's."""
    timed = sorted(
        (event["ts"], event["ts"] + event["dur"])
        for event in events
        if event.get("cat") == "Session" and event.get("name") == "model_run"
    )[WARMUP_RUNS:]
    if not timed:
        raise TerraceError("onnxruntime's profile holds no timed run")
    by_latency = sorted(timed, key=lambda run: run[1] - run[0])
    quarter = len(by_latency) // 4
    runs = by_latency[quarter : len(by_latency) - quarter] or by_latency
    totals: dict[str, float] = {}
    unattributed = 0.0
    for event in events:
        name = str(event.get("name", ""))
        if event.get("cat") != "Node" or not name.endswith(KERNEL_SUFFIX):
            continue
        if not any(start <= event["ts"] < end for start, end in runs):
            continue  # a warm-up run, or one outside the middle half
        node = name.removesuffix(KERNEL_SUFFIX)
        if node in covered:
            totals[node] = totals.get(node, 0.0) + event["dur"] / 1e6
        else:
            unattributed += event["dur"] / 1e6
    count = len(runs)
    kernels = tuple(OrtKernel(n, covered[n], seconds / count) for n, seconds in totals.items())
    return OrtProfile(kernels, unattributed / count, tuple((e - s) / 1e6 for s, e in timed))


def _without_suffixes(name: str) -> str:
    for suffix in LAYOUT_SUFFIXES:
        name = name.removesuffix(suffix)
    return name
