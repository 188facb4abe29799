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
from typing import Any

import numpy as np
import onnx

from ...runtime.npu_sim.artifact import (
    HOST_STEP,
    MANIFEST,
    NPU_FORMAT,
    NPU_FORMAT_VERSION,
    NPU_STEP,
    WEIGHTS,
)
from .binary import write_tnpu
from .isa import NpuConfig


def write_npu_artifact(
    model: onnx.ModelProto,
    folder: Path,
    config: NpuConfig,
    dtype: str,
    write_host: Callable[[onnx.ModelProto, Path], None],
) -> list[str]:
    """Writes the split `model` (static shapes) into `folder`; `write_host` writes a CPU
    segment's sub-model as a host artifact folder. Returns the files and folders written."""
    from .partition import CpuSegment, partition
    from .pipeline import compile_conv
    from .target import sub_model, value_specs

    folder.mkdir(parents=True, exist_ok=True)
    _remove_old(folder)
    split = partition(model, dtype, config)
    specs = value_specs(split.model)
    initializers = {t.name for t in split.model.graph.initializer}
    steps: list[dict[str, Any]] = []
    weights: dict[str, np.ndarray] = {}
    written: list[str] = []
    for index, step in enumerate(split.steps):
        if isinstance(step, CpuSegment):
            if not step.outputs:
                continue
            name = f"cpu_{index}"
            write_host(sub_model(split.model, step), folder / name)
            steps.append({"kind": HOST_STEP, "folder": name, "inputs": step.inputs,
                          "outputs": step.outputs})  # fmt: skip
            written.append(f"{name}/")
            continue
        name = f"npu_{index}"
        program, _ = compile_conv(step.layer, config)
        (folder / f"{name}.tnpu").write_bytes(write_tnpu(program, config))
        weights[f"{name}.weight"] = step.weight
        if step.bias is not None:
            weights[f"{name}.bias"] = step.bias
        steps.append(
            {
                "kind": NPU_STEP,
                "name": step.name,
                "program": f"{name}.tnpu",
                "layer": asdict(step.layer),
                "input": step.input,
                "output": step.output,
                "residual": step.residual,
                "matmul": step.matmul,
                "weight": f"{name}.weight",
                "bias": f"{name}.bias" if step.bias is not None else None,
            }
        )
        written.append(f"{name}.tnpu")
    np.savez(folder / WEIGHTS, allow_pickle=False, **weights)
    written.append(WEIGHTS)
    graph = split.model.graph
    manifest = {
        "format": NPU_FORMAT,
        "format_version": NPU_FORMAT_VERSION,
        "npu_config": asdict(config),
        "inputs": [_spec(specs[i.name]) for i in graph.input if i.name not in initializers],
        "outputs": [_spec(specs[o.name]) for o in graph.output],
        "steps": steps,
        "placements": [
            {"node": p.node, "op_type": p.op_type, "device": p.device, "reason": p.reason}
            for p in split.placements
        ],
    }
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
