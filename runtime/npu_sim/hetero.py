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
from ...targets.npu.layers import pack_activation, unpack_activation
from ...targets.npu.matmul import from_activation, to_activation
from ...targets.npu.partition import NpuLayer, Placement
from ..abi import EntryAbi, TensorSpec
from ..model import CompiledModel, CompileStats
from .layer import run_conv, run_packed
from .simulator import SimResult


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
        values = self._run(inputs)
        return [values.get(name) for name in self.output_values]

    def run_values(self, inputs: list[np.ndarray]) -> dict[str, np.ndarray]:
        """Every value the steps compute, by its ONNX name (a CPU segment's inner values
        excepted), for `inputs` in the model's input order (unchecked: `__call__` checks)."""
        values = self._run(inputs)
        return {name: values.get(name) for name in values.names()}

    def _run(self, inputs: list[np.ndarray]) -> _Values:
        values = _Values(dict(self.constants))
        for spec, value in zip(self.abi.inputs, inputs, strict=True):
            values.plain[spec.name] = value
        self.last_runs = []
        for step in self.steps:
            if isinstance(step, CpuStep):
                results = step.model.run({name: values.get(name) for name in step.inputs})
                values.plain.update(zip(step.outputs, results, strict=True))
                continue
            layer = step.layer
            if layer.matmul:
                result = self._matmul(step, values)
            else:  # conv layers hand their outputs on in TNPU-1's layout (NPU.md 8.10)
                kind = np.int8 if layer.layer.dtype == "i8" else np.float32
                residual = None if not layer.residual else values.packed_as(layer.residual, kind)
                out, result = run_packed(
                    step.program,
                    layer.layer,
                    self.config,
                    values.packed_as(layer.input, None),
                    layer.weight,
                    layer.bias,
                    residual,
                )
                values.set_packed(layer.output, out, layer.layer.cout)
            stats = result.stats(layer.layer.macs)
            self.last_runs.append(
                LayerRun(layer.name, layer.layer.describe(), result.cycles, stats)
            )
        return values

    def _matmul(self, step: NpuStep, values: _Values) -> SimResult:
        layer = step.layer
        out, result = run_conv(
            step.program,
            layer.layer,
            self.config,
            to_activation(values.get(layer.input)),
            layer.weight,
            layer.bias,
        )
        out = from_activation(out)
        # an i8 layer (QLinearMatMul) hands on int8, as the CPU path would
        values.plain[layer.output] = out if layer.layer.dtype == "i8" else out.astype(np.float32)
        return result

    def partition_report(self) -> str:
        """Which op ran where, and why."""
        return "\n".join(f"{p.node} ({p.op_type}): {p.device}, {p.reason}" for p in self.placements)


class _Values:
    """The values of one call by name: plain numpy arrays (NCHW), and the outputs of NPU conv
    layers in TNPU-1's layout (NCHW16c), unpacked only when a CPU step, an output or
    `run_values` reads them; the next NPU layer takes them as they are."""

    def __init__(self, plain: dict[str, np.ndarray]) -> None:
        self.plain = plain
        self._packed: dict[str, tuple[np.ndarray, int]] = {}

    def names(self) -> list[str]:
        return [*self.plain, *(n for n in self._packed if n not in self.plain)]

    def set_packed(self, name: str, packed: np.ndarray, channels: int) -> None:
        self._packed[name] = (packed, channels)
        self.plain.pop(name, None)

    def get(self, name: str) -> np.ndarray:
        if name not in self.plain:
            packed, channels = self._packed[name]
            self.plain[name] = np.ascontiguousarray(unpack_activation(packed, channels))
        return self.plain[name]

    def packed_as(self, name: str, kind: type[np.generic] | None) -> np.ndarray:
        """The value in NCHW16c (cast to `kind` first where given and it differs)."""
        found = self._packed.get(name)
        if found is not None and (kind is None or found[0].dtype == kind):
            return found[0]
        value = self.get(name)
        return pack_activation(value if kind is None else value.astype(kind))
