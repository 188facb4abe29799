"""Tasks (TUNING.md section 2): the contractions of a model that contraction-microkernel
rewrites, deduplicated by full key, each with its weight (how many times it occurs), its GEMM
shape and its analytical default.

The model is lowered through bufferization and apply-tuning (the analytical choice), exactly as
a compile does, so a task's key is the key the compile's apply-tuning computes. The inputs are
drawn once with a fixed seed and the numpy reference of the nn dialect computes the outputs
every candidate is validated against.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import onnx
from xdsl.dialects.builtin import DictionaryAttr, ModuleOp, StringAttr

from ..compiler import StageTimer, lower
from ..dialects.context import terrace_context
from ..passes.apply_tuning import CONFIG_ATTR, descriptor, gemm_shape
from ..passes.contraction_match import find_fusion, match_contraction
from ..passes.contraction_microkernel import ContractionMicrokernelPass
from ..targets.target import Target
from .analytical import default_config
from .config import GemmShape, KernelConfig, task_keys
from .target_info import TargetInfo


@dataclass
class Task:
    key: str
    anchor_key: str
    desc: dict[str, Any]
    shape: GemmShape
    default: KernelConfig
    weight: int = 1

    @property
    def name(self) -> str:
        s = self.shape
        epilogue = "+".join(op for stage in self.desc["epilogue"] for op in stage["ops"][:-1])
        return f"gemm {s.m}x{s.n}x{s.k}" + (f" +{epilogue}" if epilogue else "")


@dataclass
class ModelTasks:
    """A model's tasks and what validating its candidates needs."""

    tasks: list[Task]
    inputs: list[np.ndarray]
    reference: list[np.ndarray] = field(default_factory=list[np.ndarray])


def _memref_module(model: onnx.ModelProto, target: Target) -> ModuleOp:
    """The model through bufferize and apply-tuning (the compile's own passes)."""
    lowered = lower(model, target, "linalg", StageTimer())
    ctx = terrace_context()
    for module_pass in target.pipeline().stage("memrefs").passes:
        if isinstance(module_pass, ContractionMicrokernelPass):
            break
        module_pass.apply(ctx, lowered.module)
    return lowered.module


def extract_tasks(model: onnx.ModelProto, target: Target, info: TargetInfo) -> list[Task]:
    module = _memref_module(model, target)
    rewriter = next(
        (p for p in target.pipeline().passes() if isinstance(p, ContractionMicrokernelPass)),
        ContractionMicrokernelPass(),
    )
    found: dict[str, Task] = {}
    for function in module.ops:
        body = function.regions[0].blocks.first if function.regions else None
        if body is None:
            continue
        ops = list(body.ops)
        for at, op in enumerate(ops):
            contraction = match_contraction(op)
            config = op.attributes.get(CONFIG_ATTR)
            if contraction is None or not isinstance(config, DictionaryAttr):
                continue
            shape = GemmShape(contraction.m_size, contraction.n_size, contraction.k_size)
            if shape.m * shape.n * shape.k < rewriter.min_work or shape.n < info.lanes:
                continue
            desc = descriptor(function, find_fusion(ops, at, contraction, True))  # pyright: ignore[reportArgumentType]
            key, anchor = task_keys(desc)
            key_attr = config.data.get("key")
            assert isinstance(key_attr, StringAttr) and key_attr.data == key
            if key in found:
                found[key].weight += 1
                continue
            # the descriptor's shape knows whether B is a weight (the compile's default)
            desc_shape = gemm_shape(desc)
            found[key] = Task(key, anchor, desc, desc_shape, default_config(desc_shape, info))
    return list(found.values())


def random_inputs(model: onnx.ModelProto, seed: int = 0) -> list[np.ndarray]:
    """Inputs of the graph's shapes: small integers in float32, so that sums are exact."""
    from ..frontend.onnx import import_model

    imported = import_model(model)
    rng = np.random.default_rng(seed)
    return [rng.integers(-3, 4, size=spec.shape).astype(spec.dtype) for spec in imported.inputs]


def reference_outputs(model: onnx.ModelProto, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """The nn dialect's numpy reference on `inputs` (the oracle of every candidate)."""
    from ..compiler import NN_PIPELINE, parse_pipeline
    from ..dialects.nn.interpreter import run_function
    from ..frontend.onnx import import_model

    imported = import_model(model)
    ctx = terrace_context()
    for module_pass in parse_pipeline(NN_PIPELINE):
        module_pass.apply(ctx, imported.module)
    return run_function(imported.module, inputs)
