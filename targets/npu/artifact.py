"""`terrace compile MODEL --target npu -o OUT/`: a split model as a folder (docs/npu.md,
"Artifacts"), which `terrace.runtime.load(OUT)` runs again (runtime/npu_sim/artifact.py):

- `cpu_N/`: each CPU segment as a host artifact of its own (runtime/artifact.py's folder);
- `npu_N.tnpu`: each NPU layer's program, the `.tnpu` container for the artifact's NpuConfig;
- `npu_weights.npz`: the NPU layers' weights and biases (named `npu_N.weight`, `npu_N.bias`),
  bound to the programs' `weight` and `bias` segments at launch, as the `.tnpu` format says;
- `manifest.json`, written last: the format, the inputs and outputs, the NpuConfig, the steps
  in order (CPU folder or NPU program, with the values each reads and writes and the layer it
  computes) and the partition report.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import onnx

from ...errors import CompilationError
from ...runtime.npu_sim.artifact import (
    HOST_STEP,
    MANIFEST,
    NPU_FORMAT,
    NPU_FORMAT_VERSION,
    NPU_STEP,
    WEIGHTS,
)
from ...runtime.npu_sim.hetero import NpuStep
from .binary import write_tnpu
from .isa import NpuConfig

if TYPE_CHECKING:
    from .host import SplitPlan
    from .partition import Placement


def write_npu_artifact(
    model: onnx.ModelProto,
    folder: Path,
    config: NpuConfig,
    dtype: str,
    write_host: Callable[[onnx.ModelProto, Path], None],
) -> list[str]:
    """Writes the split `model` (static shapes, int8 parts: the ONNX-graph partition) into
    `folder`; `write_host` writes a CPU segment's sub-model as a host artifact folder. Returns
    the files and folders written."""
    from .partition import CpuSegment, partition
    from .pipeline import compile_conv
    from .target import sub_model, value_specs

    split = partition(model, dtype, config)
    specs = value_specs(split.model)
    graph = split.model.graph
    initializers = {t.name for t in graph.initializer}
    parts: list[tuple[Any, list[str], list[str]] | NpuStep] = []
    for step in split.steps:
        if isinstance(step, CpuSegment):
            if step.outputs:
                parts.append((sub_model(split.model, step), step.inputs, step.outputs))
            continue
        parts.append(NpuStep(step, compile_conv(step.layer, config)[0]))
    inputs = [specs[i.name] for i in graph.input if i.name not in initializers]
    outputs = [specs[o.name] for o in graph.output]
    return write_parts(folder, config, parts, (inputs, outputs, split.placements), write_host, None)


def write_plan(
    plan: SplitPlan, folder: Path, config: NpuConfig, write_host: Callable[[Any, Path], None]
) -> list[str]:
    """Writes the nn-level split (`host.plan_on_nn`) into `folder`; `write_host` writes a CPU
    segment (an nn module) as a host artifact folder."""
    if plan.constants:
        raise CompilationError(
            f"outputs {', '.join(plan.constants)} are constants: an npu artifact does not "
            "hold them (v1)"
        )
    parts: list[tuple[Any, list[str], list[str]] | NpuStep] = [
        part
        if isinstance(part, NpuStep)
        else (part, [s.name for s in part.inputs], [s.name for s in part.outputs])
        for part in plan.parts
    ]
    report = (plan.inputs, plan.outputs, plan.placements)
    return write_parts(folder, config, parts, report, write_host, plan.output_values)


def write_parts(  # noqa: PLR0913 - the artifact's parts
    folder: Path,
    config: NpuConfig,
    parts: list[tuple[Any, list[str], list[str]] | NpuStep],
    report: tuple[list[Any], list[Any], list[Placement]],
    write_host: Callable[[Any, Path], None],
    output_values: list[str] | None,
) -> list[str]:
    """The folder: each CPU part `(source, inputs, outputs)` by `write_host`, each distinct
    NPU program once, the weights, and the manifest last. `report` is the inputs, outputs and
    placements; `output_values` the value each output is (None: its own name)."""
    folder.mkdir(parents=True, exist_ok=True)
    _remove_old(folder)
    steps: list[dict[str, Any]] = []
    weights: dict[str, np.ndarray] = {}
    written: list[str] = []
    programs: dict[int, str] = {}  # steps that share a program share its file
    for index, part in enumerate(parts):
        if not isinstance(part, NpuStep):
            source, inputs, outputs = part
            name = f"cpu_{index}"
            write_host(source, folder / name)
            steps.append({"kind": HOST_STEP, "folder": name, "inputs": inputs,
                          "outputs": outputs})  # fmt: skip
            written.append(f"{name}/")
            continue
        name, step = f"npu_{index}", part.layer
        if id(part.program) not in programs:
            programs[id(part.program)] = f"{name}.tnpu"
            (folder / f"{name}.tnpu").write_bytes(write_tnpu(part.program, config))
            written.append(f"{name}.tnpu")
        weights[f"{name}.weight"] = step.weight
        if step.bias is not None:
            weights[f"{name}.bias"] = step.bias
        steps.append(
            {
                "kind": NPU_STEP,
                "name": step.name,
                "program": programs[id(part.program)],
                "layer": asdict(step.layer),
                "input": step.input,
                "output": step.output,
                "residual": step.residual,
                "matmul": step.matmul,
                "weight": f"{name}.weight",
                "bias": f"{name}.bias" if step.bias is not None else None,
            }
        )
    np.savez(folder / WEIGHTS, allow_pickle=False, **weights)
    written.append(WEIGHTS)
    inputs, outputs, placements = report
    manifest: dict[str, Any] = {
        "format": NPU_FORMAT,
        "format_version": NPU_FORMAT_VERSION,
        "npu_config": asdict(config),
        "inputs": [_spec(spec) for spec in inputs],
        "outputs": [_spec(spec) for spec in outputs],
        "steps": steps,
        "placements": [
            {"node": p.node, "op_type": p.op_type, "device": p.device, "reason": p.reason}
            for p in placements
        ],
    }
    if output_values is not None:
        manifest["output_values"] = output_values
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
    return written


def _spec(spec: Any) -> dict[str, Any]:
    return {"name": spec.name, "dtype": str(np.dtype(spec.dtype)), "shape": list(spec.shape)}


def _remove_old(folder: Path) -> None:
    """An earlier artifact's manifest goes first, so that a failed write leaves no artifact."""
    (folder / MANIFEST).unlink(missing_ok=True)
    for old in folder.glob("cpu_*"):
        if old.is_dir():
            shutil.rmtree(old)
    for old in folder.glob("npu_*.tnpu"):
        old.unlink()
