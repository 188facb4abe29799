"""The `npu` target: the host (its LLVM description and JIT) plus TNPU-1. `compile_split`
partitions the model (`partition.py`), compiles each CPU segment for the host and each NPU
layer to a `.tnpu` program, and returns a model that runs them in order."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

import numpy as np
import onnx

from ...errors import CompilationError
from ..llvm import LlvmTarget
from .isa import NpuConfig

if TYPE_CHECKING:
    from pathlib import Path

    from xdsl.passes import ModulePass

    from ...runtime.abi import TensorSpec
    from ...runtime.model import CompiledModel
    from ..target import Pipeline
    from .partition import CpuSegment


@dataclass(frozen=True)
class NpuTarget(LlvmTarget):
    npu_config: NpuConfig = field(default_factory=NpuConfig)
    npu_dtype: str = "f32"

    def pipeline(self) -> Pipeline:
        """None whole-model: each CPU segment goes through the host's pipeline, each NPU layer
        through the npu pipeline (`npu_passes`). So `--emit` refuses this target."""
        raise CompilationError(
            f"target '{self.tag}' splits a model between TNPU-1 and this machine: there is no "
            "single LLVM pipeline, so no --emit text (v1); write an artifact folder "
            "(`terrace compile MODEL --target npu -o OUT/`), run it in this process "
            "(`terrace run MODEL --target npu`) and see its NPU programs with "
            "`terrace npu-report MODEL`"
        )

    def write_split_artifact(
        self,
        model: onnx.ModelProto,
        folder: Path,
        write_host: Callable[[Any, Path], None],
        *,
        input_shapes: Mapping[str, Sequence[int]] | None = None,
        input_values: Mapping[str, np.ndarray] | None = None,
    ) -> list[str]:
        """The split model as an artifact folder (targets/npu/artifact.py); `write_host`
        writes each CPU segment as a host artifact. Returns what it wrote."""
        from .artifact import write_npu_artifact, write_plan

        static = self._static(model, input_shapes, input_values)
        if _quantized(static):  # i8 layers are still partitioned on the ONNX graph
            return write_npu_artifact(static, folder, self.npu_config, self.npu_dtype, write_host)
        from ...compiler import StageTimer, lower
        from .host import plan_on_nn

        imported = lower(static, self, "nn", StageTimer()).imported
        return write_plan(
            plan_on_nn(imported, self.npu_config), folder, self.npu_config, write_host
        )

    def _static(
        self,
        model: onnx.ModelProto,
        input_shapes: Mapping[str, Sequence[int]] | None,
        input_values: Mapping[str, np.ndarray] | None,
    ) -> onnx.ModelProto:
        from ...frontend.onnx.graph import fix_input_shapes

        if input_values:
            raise CompilationError(
                f"target '{self.tag}' does not bind input values (v1): give a model whose "
                "shapes and axes are constants"
            )
        static = onnx.ModelProto()
        static.CopyFrom(model)
        fix_input_shapes(static, input_shapes or {})  # the partition needs static shapes
        return static

    def npu_passes(self) -> tuple[ModulePass, ...]:
        """TNPU-1's pipeline from nn to verified programs (`pipeline.npu_pipeline`); each NPU
        layer goes through its search, mapping and program passes (`pipeline.compile_conv`)."""
        from .pipeline import npu_pipeline

        return npu_pipeline(tiny=self.npu_config == NpuConfig.tiny())

    def fingerprint(self) -> tuple[str, ...]:
        from .pipeline import npu_pipeline, pipeline_spec

        host = (self.triple, self.cpu, self.features)
        npu = (self.npu_config.digest().hex(), self.npu_dtype, pipeline_spec(npu_pipeline()))
        return (self.tag, *host, *npu)

    def compile_split(
        self,
        model: onnx.ModelProto,
        compile_host: Callable[[Any], CompiledModel],
        *,
        input_shapes: Mapping[str, Sequence[int]] | None = None,
        input_values: Mapping[str, np.ndarray] | None = None,
    ) -> CompiledModel | None:
        """`compile_host` compiles a CPU part for this machine: an nn module
        (`ImportedModel`) or an ONNX sub-model."""
        static = self._static(model, input_shapes, input_values)
        if _quantized(static):  # i8 layers are still partitioned on the ONNX graph
            return compile_heterogeneous(static, self.npu_config, self.npu_dtype, compile_host)
        from ...compiler import StageTimer, lower
        from .host import compile_on_nn

        imported = lower(static, self, "nn", StageTimer()).imported
        return compile_on_nn(imported, self.npu_config, compile_host)


QUANTIZED_OPS = frozenset(
    {"QLinearConv", "QLinearMatMul", "ConvInteger", "QuantizeLinear", "DequantizeLinear"}
)


def _quantized(model: onnx.ModelProto) -> bool:
    """Whether the model has int8 parts, which npu-annotate does not place yet (docs/npu.md)."""
    return any(node.op_type in QUANTIZED_OPS for node in model.graph.node)


def npu_target(host: LlvmTarget) -> NpuTarget:
    """TNPU-1 attached to `host`: the host's code generation for the CPU segments."""
    values = {f.name: getattr(host, f.name) for f in fields(host)}
    values.update(
        tag="npu",
        summary="TNPU-1 (docs/npu.md) on its simulator, with this machine for the rest",
        emitters=(),
    )
    return NpuTarget(**values)


def compile_heterogeneous(
    model: onnx.ModelProto,
    config: NpuConfig,
    dtype: str,
    compile_host: Callable[[onnx.ModelProto], CompiledModel],
) -> CompiledModel:
    """The model split between the host (each CPU segment compiled by `compile_host`) and
    TNPU-1 (each NPU layer compiled to a program, once per distinct layer)."""
    from ...runtime.model import CompileStats
    from ...runtime.npu_sim.hetero import CpuStep, HeterogeneousModel, NpuStep
    from .binary import NpuProgram
    from .layers import ConvLayer
    from .partition import CpuSegment, partition
    from .pipeline import compile_conv

    started = time.perf_counter()
    split = partition(model, dtype, config)
    graph = split.model.graph
    specs = value_specs(split.model)
    initializer_names = {t.name for t in graph.initializer}
    steps: list[CpuStep | NpuStep] = []
    host_seconds = 0.0
    programs: dict[ConvLayer, NpuProgram] = {}
    for step in split.steps:
        if isinstance(step, CpuSegment):
            if not step.outputs:
                continue
            began = time.perf_counter()
            sub = sub_model(split.model, step)
            steps.append(CpuStep(compile_host(sub), step.inputs, step.outputs))
            host_seconds += time.perf_counter() - began
            continue
        if step.layer not in programs:
            programs[step.layer] = compile_conv(step.layer, config)[0]
        steps.append(NpuStep(step, programs[step.layer]))
    inputs = [specs[i.name] for i in graph.input if i.name not in initializer_names]
    outputs = [specs[o.name] for o in graph.output]
    total = time.perf_counter() - started
    stats = CompileStats({"host segments": host_seconds, "npu layers": total - host_seconds})
    return HeterogeneousModel(inputs, outputs, steps, split.placements, config, stats)


def value_specs(model: onnx.ModelProto) -> dict[str, TensorSpec]:
    from ...runtime.abi import TensorSpec

    specs: dict[str, TensorSpec] = {}
    for info in [*model.graph.value_info, *model.graph.input, *model.graph.output]:
        kind = info.type.tensor_type
        dtype = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(kind.elem_type))
        specs[info.name] = TensorSpec(info.name, dtype, tuple(d.dim_value for d in kind.shape.dim))
    return specs


def sub_model(model: onnx.ModelProto, segment: CpuSegment) -> onnx.ModelProto:
    """The CPU segment as a model of its own: its nodes, the initializers they read, the values
    it takes from before it as inputs and the ones later steps need as outputs."""
    infos = {v.name: v for v in [*model.graph.value_info, *model.graph.input, *model.graph.output]}
    used = {name for node in segment.nodes for name in node.input}
    graph = onnx.helper.make_graph(
        list(segment.nodes),
        f"{model.graph.name}_cpu",
        [infos[name] for name in segment.inputs],
        [infos[name] for name in segment.outputs],
        [t for t in model.graph.initializer if t.name in used],
    )
    sub = onnx.helper.make_model(graph, opset_imports=list(model.opset_import))
    sub.ir_version = model.ir_version
    return sub
