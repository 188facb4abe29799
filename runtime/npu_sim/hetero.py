"""A model split between the host JIT and the TNPU-1 simulator: CPU segments are compiled
sub-models, NPU layers are `.tnpu` programs run on the simulator, all over numpy buffers shared
by name, in one call (docs/npu.md, "The npu target")."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...targets.npu.binary import NpuProgram
from ...targets.npu.isa import NpuConfig
from ...targets.npu.matmul import from_activation, to_activation
from ...targets.npu.partition import NpuLayer, Placement
from ..abi import EntryAbi, TensorSpec
from ..model import CompiledModel, CompileStats
from .layer import run_conv


@dataclass
class CpuStep:
    model: CompiledModel
    inputs: list[str]
    outputs: list[str]


@dataclass
class NpuStep:
    layer: NpuLayer
    program: NpuProgram


@dataclass
class LayerRun:
    """What the last call's NPU layers did (cycles from the cycle model)."""

    name: str
    description: str
    cycles: int
    stats: dict[str, Any] = field(default_factory=lambda: dict[str, Any]())


class HeterogeneousModel(CompiledModel):
    """Called like any `CompiledModel`; `placements` is the partition report and `last_runs`
    the NPU layers' simulation of the last call."""

    def __init__(  # noqa: PLR0913 - the model's parts
        self,
        inputs: Sequence[TensorSpec],
        outputs: Sequence[TensorSpec],
        steps: Sequence[CpuStep | NpuStep],
        placements: Sequence[Placement],
        config: NpuConfig,
        stats: CompileStats,
        *,
        output_values: Sequence[str] | None = None,
        constants: dict[str, np.ndarray] | None = None,
    ) -> None:
        """`output_values` names the value each output is (default: the output's own name);
        `constants` are values no step computes (outputs folded at compile time)."""
        self.abi = EntryAbi(tuple(inputs), tuple(outputs), (), 0)
        self.num_threads = None
        self.stats = stats
        self.steps = list(steps)
        self.placements = list(placements)
        self.config = config
        self.last_runs: list[LayerRun] = []
        self.output_values = list(output_values or [spec.name for spec in outputs])
        self.constants = dict(constants or {})

    def _invoke(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        """The steps in order; `inputs` are checked by `CompiledModel.__call__`/`run`."""
        values = self.run_values(inputs)
        return [values[name] for name in self.output_values]

    def run_values(self, inputs: list[np.ndarray]) -> dict[str, np.ndarray]:
        """Every value the steps compute, by its ONNX name (a CPU segment's inner values
        excepted), for `inputs` in the model's input order (unchecked: `__call__` checks)."""
        values = dict(self.constants)
        values.update((spec.name, v) for spec, v in zip(self.abi.inputs, inputs, strict=True))
        self.last_runs = []
        for step in self.steps:
            if isinstance(step, CpuStep):
                results = step.model.run({name: values[name] for name in step.inputs})
                values.update(zip(step.outputs, results, strict=True))
                continue
            layer = step.layer
            residual = values[layer.residual] if layer.residual else None
            x = values[layer.input]
            out, result = run_conv(
                step.program,
                layer.layer,
                self.config,
                to_activation(x) if layer.matmul else x,
                layer.weight,
                layer.bias,
                residual,
            )
            out = from_activation(out) if layer.matmul else out
            # an i8 layer (QLinearConv) hands on int8, as the CPU path would
            values[layer.output] = out if layer.layer.dtype == "i8" else out.astype(np.float32)
            stats = result.stats(layer.layer.macs)
            self.last_runs.append(
                LayerRun(layer.name, layer.layer.describe(), result.cycles, stats)
            )
        return values

    def partition_report(self) -> str:
        """Which op ran where, and why."""
        return "\n".join(f"{p.node} ({p.op_type}): {p.device}, {p.reason}" for p in self.placements)
