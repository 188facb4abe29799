"""Loading an npu artifact folder (`terrace compile MODEL --target npu -o OUT/`,
targets/npu/artifact.py writes it): its CPU segments are host artifacts (runtime/artifact.py),
its NPU layers `.tnpu` programs run on the simulator, all joined as a `HeterogeneousModel`.
Unlike a host artifact, loading one imports onnx (the partition's records)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import TerraceRuntimeError
from ..abi import TensorSpec
from ..model import CompiledModel

NPU_FORMAT = "terrace-npu-artifact"
NPU_FORMAT_VERSION = 1
"""Bumped whenever the folder's layout changes: `load` refuses other versions."""
MANIFEST = "manifest.json"
WEIGHTS = "npu_weights.npz"
HOST_STEP = "host"
"""A step of the manifest that runs a host artifact (its folder); the others are NPU_STEP."""
NPU_STEP = "npu"


def is_npu_artifact(folder: Path) -> bool:
    try:
        data = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("format") == NPU_FORMAT  # pyright: ignore[reportUnknownMemberType]


def load_npu_artifact(folder: Path, num_threads: int | None = None) -> CompiledModel:
    """The artifact as a model that runs its CPU segments with the host's code and its NPU
    layers on the simulator. A damaged folder is one `TerraceRuntimeError`."""
    data: dict[str, Any] = json.loads((folder / MANIFEST).read_text())
    if data.get("format_version") != NPU_FORMAT_VERSION:
        raise TerraceRuntimeError(
            f"{folder}: npu artifact format version {data.get('format_version')}; this "
            f"Terrace reads version {NPU_FORMAT_VERSION}: compile the model again"
        )
    try:
        return _load(folder, data, num_threads)
    except (KeyError, TypeError, ValueError, OSError) as error:
        raise TerraceRuntimeError(f"{folder / MANIFEST} is damaged: {error!r}") from None


def _load(folder: Path, data: dict[str, Any], num_threads: int | None) -> CompiledModel:
    from ...targets.npu.binary import read_tnpu
    from ...targets.npu.isa import NpuConfig, NpuIsaError
    from ...targets.npu.layers import ConvLayer
    from ...targets.npu.partition import NpuLayer, Placement
    from ..artifact import load
    from ..model import CompileStats
    from .hetero import CpuStep, HeterogeneousModel, NpuStep

    raw: dict[str, Any] = dict(data["npu_config"])
    for key, value in raw.items():
        raw[key] = tuple(value) if isinstance(value, list) else value  # JSON has no tuples
    config = NpuConfig(**raw)
    weights = np.load(folder / WEIGHTS, allow_pickle=False)
    steps: list[CpuStep | NpuStep] = []
    for step in data["steps"]:
        if step["kind"] == HOST_STEP:
            model = load(folder / step["folder"], num_threads)
            steps.append(CpuStep(model, list(step["inputs"]), list(step["outputs"])))
            continue
        if step["kind"] != NPU_STEP:
            raise ValueError(f"unknown step kind {step['kind']!r}")
        values: dict[str, Any] = dict(step["layer"])
        values["pads"] = tuple(values["pads"])
        if values.get("clip") is not None:
            values["clip"] = tuple(values["clip"])
        layer = ConvLayer(**values)
        try:
            program = read_tnpu((folder / step["program"]).read_bytes(), config)
        except NpuIsaError as error:
            raise TerraceRuntimeError(f"{folder / step['program']}: {error}") from None
        bias = weights[step["bias"]] if step["bias"] else None
        planned = NpuLayer(
            step["name"],
            layer,
            step["input"],
            step["output"],
            weights[step["weight"]],
            bias,
            step["residual"],
            matmul=bool(step["matmul"]),
        )
        steps.append(NpuStep(planned, program))
    placements = [Placement(**p) for p in data["placements"]]
    inputs = [_spec(s) for s in data["inputs"]]
    outputs = [_spec(s) for s in data["outputs"]]
    output_values = data.get("output_values")  # absent: each output is its own value
    return HeterogeneousModel(
        inputs,
        outputs,
        steps,
        placements,
        config,
        CompileStats({}),
        output_values=None if output_values is None else [str(v) for v in output_values],
    )


def _spec(data: dict[str, Any]) -> TensorSpec:
    return TensorSpec(data["name"], np.dtype(data["dtype"]), tuple(data["shape"]))
