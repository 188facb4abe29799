"""A target's pipeline with its apply-tuning pass configured: reading a records database (what
`terrace compile --tuning-db` runs), or forcing one config on one task (how the tuner builds a
candidate). The result is an ordinary pipeline, so `Pipeline.spec()` prints the
`terrace-opt -p` text that reproduces it."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

from ..errors import CompilationError
from ..passes.apply_tuning import ApplyTuningPass
from ..targets.target import Pipeline, Stage, Target
from .config import KernelConfig
from .target_info import target_info


def _replace_apply_tuning(target: Target, **options: str) -> Pipeline:
    pipeline = target.pipeline()
    found = False
    stages: list[Stage] = []
    for stage in pipeline.stages:
        passes = list(stage.passes)
        for position, module_pass in enumerate(passes):
            if isinstance(module_pass, ApplyTuningPass):
                passes[position] = replace(module_pass, **options)
                found = True
        stages.append(Stage(stage.name, tuple(passes)))
    if not found:
        raise CompilationError(f"target '{target.tag}' has no apply-tuning pass to configure")
    return Pipeline(tuple(stages))


def target_fingerprint(target: Target, threads: int = 1) -> str:
    return target_info(target, threads).fingerprint()


def with_tuning_db(target: Target, path: Path, threads: int = 1) -> tuple[Target, tuple[str, ...]]:
    """`target` applying the records of `path`, and the file's digest for the cache key."""
    if not path.is_file():
        raise CompilationError(f"tuning database '{path}' does not exist")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    pipeline = _replace_apply_tuning(
        target, db=str(path.resolve()), target_fp=target_fingerprint(target, threads)
    )
    return target.with_pipeline(pipeline), (f"tuning-db:{digest}",)


def with_config(target: Target, task: str, config: KernelConfig) -> Target:
    """`target` forcing `config` on the task keyed `task` (the rest keep their defaults)."""
    return target.with_pipeline(_replace_apply_tuning(target, task=task, config=config.text()))
