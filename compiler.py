"""The compile driver: an ONNX model through every stage of docs/pipeline.md to a CompiledModel.

import (frontend) -> nn passes -> the target's pipeline (`terrace.targets`: linalg, memrefs, loops,
llvm dialect) -> the target's code (LLVM IR, O3 object) -> MCJIT. The IR is verified after every
pass; a pass that fails is named in a one-line `CompilationError`. Seconds are recorded per stage.

This module sits above the layers it drives (frontend, passes, targets, runtime), so that the
runtime itself imports no frontend: the target generates the code (`terrace.targets`), the
runtime loads and calls it. The disk cache is keyed by the target's fingerprint (tag,
machine, pipeline), the model's bytes, the input shapes and values and the nn pipeline (the cache
adds every version), so a hit skips the import and the whole pipeline.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import time
from collections.abc import Callable, Generator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import llvmlite.binding as llvm_binding
import numpy as np
import onnx
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass, PassPipeline
from xdsl.utils.exceptions import VerifyException

from .dialects.context import terrace_context
from .dialects.nn.weights import WeightStore
from .errors import CompilationError, TerraceError, TerraceRuntimeError, first_line
from .frontend.onnx import ImportedModel, import_model
from .frontend.onnx.graph import load_model
from .passes.registry import all_passes
from .runtime import artifact as artifact_files
from .runtime import jit
from .runtime.abi import AbiAttributes, EntryAbi, TensorSpec, read_abi_attributes
from .runtime.cache import Artifact, ArtifactCache, KernelCache, PathIndex, cache_key
from .runtime.model import CompiledModel, CompileStats
from .runtime.remembered import remember
from .targets import Target, get_target
from .targets.llvm import LlvmTarget
from .targets.llvm.codegen import optimize_llvm_ir
from .targets.llvm.kernels import (
    link_object,
    optimized_kernels,
    split_kernels,
    verified_translation,
)

NN_PIPELINE = "nn-fold-batchnorm,nn-canonicalize"
"""The nn-level passes every target runs first."""

MLIR_STAGES = ("nn", "linalg", "loops", "llvm")
"""The stages `lower` can stop after (their IR is MLIR that terrace-opt reads back)."""


@dataclass
class StageTimer:
    """Seconds per stage, summed when a stage runs in several parts (its passes)."""

    seconds: dict[str, float] = field(default_factory=dict[str, float])
    pass_seconds: list[tuple[str, float]] = field(default_factory=list[tuple[str, float]])
    listener: Callable[[str], None] | None = None
    """Told each step as it starts ("codegen", "memrefs: bufferize"): a progress line."""

    def step(self, name: str) -> None:
        if self.listener is not None:
            self.listener(name)

    @contextmanager
    def stage(self, name: str) -> Generator[None]:
        self.step(name)
        started = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - started)

    def add(self, name: str, seconds: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds

    def report(self) -> str:
        lines = [f"  {seconds:8.3f} s  {name}" for name, seconds in self.seconds.items()]
        lines.append(f"  {sum(self.seconds.values()):8.3f} s  total")
        return "\n".join(lines)


@dataclass
class Lowered:
    """A module lowered to some stage, with its weights and the ABI recorded on the way."""

    imported: ImportedModel
    module: ModuleOp
    abi: AbiAttributes | None = None


def compile(
    source: str | Path | onnx.ModelProto,
    target: str | Target | None = None,
    num_threads: int | None = None,
    *,
    input_shapes: Mapping[str, Sequence[int]] | None = None,
    input_values: Mapping[str, np.ndarray] | None = None,
    cache: bool | str | Path = True,
    tuning_db: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> CompiledModel:
    """Compiles an ONNX model (path or ModelProto) for the target tagged `target` (None: this
    machine; or a `Target`, such as one `with_pipeline`), which must run in this process
    (`terrace.targets`).

    `input_shapes` fixes dynamic input dimensions; `input_values` binds inputs that give axes,
    shapes, scales or trip counts to values (the model is compiled for them, and they leave
    its inputs; `UnsupportedModelError.value_inputs` names the ones a model needs); `cache` is
    True for the default cache folder, a folder, or False for none. `tuning_db` (default: the
    TERRACE_TUNING_DB environment variable) is a records file of `terrace tune` whose best
    configs for this target replace the analytical defaults (docs/tuning.md). `progress` is
    told each stage and pass as it starts (the CLI's progress line). Raises a `TerraceError`
    subclass."""
    timer = StageTimer(listener=progress)
    with timer.stage("load"):
        description = target if isinstance(target, Target) else get_target(target)
        remembered = _remembered_artifact(
            source, description, num_threads, input_shapes, input_values, cache, tuning_db
        )
    if remembered is not None:  # an unchanged model file compiled before: no parsing
        artifact, key, description = remembered
        return _load_compiled(artifact, key, True, description, num_threads, timer)
    with timer.stage("load"):
        model = load_model(source)
        split = description.compile_split(
            model,
            lambda sub: (
                compile_imported(sub, num_threads, cache)
                if isinstance(sub, ImportedModel)
                else compile(sub, None, num_threads, cache=cache)
            ),
            input_shapes=input_shapes,
            input_values=input_values,
        )
        if split is not None:  # a target with an accelerator: its model runs its parts
            return split
        description, tuning_key = with_tuning(description, tuning_db, num_threads or 1)
        if not description.runs_in_process():
            raise CompilationError(
                f"target '{description.tag}' runs {description.runner.describe()}, not in this "
                f"process: write an artifact with `terrace compile MODEL --target "
                f"{description.tag} -o DIR` and run it there"
            )
    artifact, key, from_cache = _cached_build(
        model, description, input_shapes, input_values, cache, timer, tuning_key, source
    )
    plain = not tuning_key and not input_values and _self_contained(model)
    if plain and isinstance(source, str | Path) and (target is None or isinstance(target, str)):
        # the next compile of this file, in any process, loads it without the compiler
        remember(cache, Path(source), target, input_shapes, key, description.machine())
    return _load_compiled(artifact, key, from_cache, description, num_threads, timer)


def compile_imported(
    imported: ImportedModel, num_threads: int | None = None, cache: bool | str | Path = True
) -> CompiledModel:
    """An nn module imported before (a CPU segment of a model split between an accelerator
    and this machine) compiled for this machine through the cache, keyed by its IR text
    (weights are references there) and its weights' bytes."""
    timer = StageTimer()
    artifact, key, from_cache = _imported_build(imported, cache, timer)
    return _load_compiled(artifact, key, from_cache, get_target(None), num_threads, timer)


def _imported_build(
    imported: ImportedModel, cache: bool | str | Path, timer: StageTimer
) -> tuple[Artifact, str, bool]:
    """`compile_imported`'s artifact, its cache key and whether the cache served it."""
    description = get_target(None)
    store = _open_cache(cache)
    weights = hashlib.sha256()
    for name in sorted(imported.weights):
        array = np.ascontiguousarray(imported.weights[name])
        weights.update(f"{name}:{array.dtype.str}:{array.shape}".encode())
        weights.update(array.tobytes())
    specs = [(s.name, s.dtype.str, s.shape) for s in (*imported.inputs, *imported.outputs)]
    key = cache_key(
        description.fingerprint(),
        "nn",
        str(imported.module),
        weights.hexdigest(),
        json.dumps(specs),
        NN_PIPELINE,
    )
    artifact = store.get(key) if store is not None else None
    return _served_or_built(
        store,
        key,
        artifact,
        lambda kernels: build(imported, description, None, timer, None, kernels),
    )


def _served_or_built(
    store: ArtifactCache | None,
    key: str,
    served: Artifact | None,
    make: Callable[[KernelCache | None], Artifact],
) -> tuple[Artifact, str, bool]:
    """(artifact, key, whether the cache served it): `served`, else `make`'s artifact (given
    the store's kernel cache), stored under `key`."""
    if served is not None:
        return served, key, True
    kernels = KernelCache(store.directory) if store is not None else None
    with fewer_collections():
        artifact = make(kernels)
    if store is not None:
        store.put(key, artifact)
    return artifact, key, False


def _load_compiled(
    artifact: Artifact,
    key: str,
    from_cache: bool,
    description: Target,
    num_threads: int | None,
    timer: StageTimer,
) -> CompiledModel:
    with timer.stage("jit load"):
        native = jit.NativeCode.load(artifact.object_code, description.jit_machine())
    stats = CompileStats(
        dict(timer.seconds),
        from_cache=from_cache,
        cache_key=key,
        folded_outputs=artifact.folded_outputs,
        onnx_folded_ops=artifact.onnx_folded_ops,
    )
    return CompiledModel(
        native, artifact.abi, artifact.weights, num_threads=num_threads, stats=stats
    )


def compile_artifact(
    source: str | Path | onnx.ModelProto | ImportedModel,
    folder: str | Path,
    target: str | None = None,
    *,
    input_shapes: Mapping[str, Sequence[int]] | None = None,
    input_values: Mapping[str, np.ndarray] | None = None,
    cache: bool | str | Path = True,
    tuning_db: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> ArtifactFiles:
    """Compiles an ONNX model for the target tagged `target` (None: this machine; any target,
    not only the host's) into the artifact folder `folder` (runtime/artifact.py): model.o,
    weights.bin, model.h, what the target's toolchain links (model.so, model.wasm) and
    manifest.json. The other arguments are `compile`'s (records tuned at one thread apply). A
    linker that is missing leaves its file out (the artifact is still complete without it) and
    says so in `notes`."""
    out = Path(folder)
    if out.exists() and not out.is_dir():
        raise TerraceError(f"cannot write an artifact to {out}: it is a file, not a folder")
    timer = StageTimer(listener=progress)
    if isinstance(source, ImportedModel):  # a split model's CPU segment, for this machine
        description = get_target(None)
        artifact, _, _ = _imported_build(source, cache, timer)
    else:
        with timer.stage("load"):
            model = load_model(source)
            description, tuning_key = with_tuning(get_target(target), tuning_db, 1)
        split = getattr(description, "write_split_artifact", None)
        if split is not None:  # a model split between an accelerator and this machine (npu)
            return _split_artifact(split, model, out, input_shapes, input_values, cache, timer)
        artifact, _, _ = _cached_build(
            model, description, input_shapes, input_values, cache, timer, tuning_key
        )
    try:
        with timer.stage("write artifact"):
            written = artifact_files.write_artifact(
                out, description.machine(), artifact.abi, artifact.weights, artifact.object_code
            )
    except OSError as error:
        raise TerraceError(f"cannot write an artifact to {out}: {error.strerror}") from None
    notes: list[str] = []
    linked: dict[str, str] = {}
    with timer.stage("link"):
        try:
            linked = description.link_artifact(out)
        except TerraceRuntimeError as error:
            notes.append(f"not linked: {error}")
    artifact_files.write_manifest(out, written, linked)
    return ArtifactFiles(out, sorted({*written.files.values(), *linked.values()}), notes, timer)


def _split_artifact(  # noqa: PLR0913 - compile_artifact's arguments
    write: Callable[..., list[str]],
    model: onnx.ModelProto,
    out: Path,
    input_shapes: Mapping[str, Sequence[int]] | None,
    input_values: Mapping[str, np.ndarray] | None,
    cache: bool | str | Path,
    timer: StageTimer,
) -> ArtifactFiles:
    """The target writes its parts; each CPU part is a host artifact folder of its own."""

    def write_host(sub: onnx.ModelProto | ImportedModel, folder: Path) -> None:
        compile_artifact(sub, folder, None, cache=cache)

    try:
        with timer.stage("write artifact"):
            files = write(
                model, out, write_host, input_shapes=input_shapes, input_values=input_values
            )
    except OSError as error:
        raise TerraceError(f"cannot write an artifact to {out}: {error.strerror}") from None
    return ArtifactFiles(out, files, [], timer)


@dataclass
class ArtifactFiles:
    """What `compile_artifact` wrote: the folder, its files besides manifest.json, what it
    could not link, and the seconds per stage."""

    folder: Path
    files: list[str]
    notes: list[str]
    timer: StageTimer


def build(
    source: str | Path | onnx.ModelProto | ImportedModel,
    target: Target,
    input_shapes: Mapping[str, Sequence[int]] | None,
    timer: StageTimer,
    input_values: Mapping[str, np.ndarray] | None = None,
    kernel_cache: KernelCache | None = None,
) -> Artifact:
    """Runs the whole pipeline: the object code, the ABI and the weights it binds. An LLVM
    target compiles each kernel apart, through `kernel_cache` where given
    (targets/llvm/kernels.py)."""
    if isinstance(target, LlvmTarget):
        lowered = _lower(source, target, "memrefs", timer, input_shapes, input_values)
        object_code, llvm_ir = _kernel_wise_object(lowered, target, timer, kernel_cache)
    else:
        lowered = lower(source, target, "llvm", timer, input_shapes, input_values)
        with timer.stage("translate"):
            llvm_ir = target.translate(lowered.module)
        with timer.stage("codegen"):
            object_code = target.object_code(llvm_ir)
    abi = _entry_abi(lowered)
    store = WeightStore.of(lowered.module)
    weights = {name: store[name] for name in abi.weights if name in store}
    imported = lowered.imported
    return Artifact(
        object_code,
        abi,
        weights,
        llvm_ir,
        dict(timer.seconds),
        imported.folded_outputs,
        imported.onnx_folded_ops,
    )


def lower(
    source: str | Path | onnx.ModelProto | ImportedModel,
    target: Target,
    until: str,
    timer: StageTimer,
    input_shapes: Mapping[str, Sequence[int]] | None = None,
    input_values: Mapping[str, np.ndarray] | None = None,
) -> Lowered:
    """Imports the model and runs the passes up to the end of stage `until` (MLIR_STAGES)."""
    if until not in MLIR_STAGES:
        raise CompilationError(f"unknown stage '{until}'; stages: {', '.join(MLIR_STAGES)}")
    return _lower(source, target, until, timer, input_shapes, input_values)


def _lower(
    source: str | Path | onnx.ModelProto | ImportedModel,
    target: Target,
    until: str,
    timer: StageTimer,
    input_shapes: Mapping[str, Sequence[int]] | None = None,
    input_values: Mapping[str, np.ndarray] | None = None,
) -> Lowered:
    with timer.stage("import"):
        imported = (
            source  # a part of a model imported before (a split target's CPU segment)
            if isinstance(source, ImportedModel)
            else import_model(source, input_shapes, input_values)
        )
    lowered = Lowered(imported, imported.module)
    ctx = terrace_context()
    _run_passes(ctx, lowered, [("nn", p) for p in parse_pipeline(NN_PIPELINE)], timer)
    if until == "nn":
        return lowered
    pipeline = target.pipeline().until(until)
    _run_passes(ctx, lowered, pipeline.staged_passes(), timer)
    return lowered


def parse_pipeline(text: str) -> tuple[ModulePass, ...]:
    try:
        return PassPipeline.parse_spec(all_passes(), text).passes
    except Exception as error:  # unknown passes, bad options, a pass module that fails to load
        raise CompilationError(f"pipeline '{text}': {first_line(error)}") from error


# -- helpers -------------------------------------------------------------------------------


def with_tuning(
    target: Target, tuning_db: str | Path | None, threads: int
) -> tuple[Target, tuple[str, ...]]:
    """The target reading the records of `tuning_db` (or TERRACE_TUNING_DB), and what the
    cache key needs of it (the file's digest: new records mean new code)."""
    path = tuning_db if tuning_db is not None else os.environ.get("TERRACE_TUNING_DB", "")
    if not path:
        return target, ()
    from .tuning.apply import with_tuning_db

    return with_tuning_db(target, Path(path), threads)


def _cached_build(
    model: onnx.ModelProto,
    description: Target,
    input_shapes: Mapping[str, Sequence[int]] | None,
    input_values: Mapping[str, np.ndarray] | None,
    cache: bool | str | Path,
    timer: StageTimer,
    tuning_key: tuple[str, ...] = (),
    source: str | Path | onnx.ModelProto | None = None,
) -> tuple[Artifact, str, bool]:
    """The model built for the target, from the disk cache when it holds it: the artifact,
    its cache key and whether the cache served it. `tuning_key` is `with_tuning`'s; a model
    read from the file `source` is remembered by its path (`PathIndex`)."""
    with timer.stage("load"):
        store = _open_cache(cache)
        key = cache_key(
            description.fingerprint(),
            model.SerializeToString(deterministic=True),
            json.dumps({k: list(v) for k, v in (input_shapes or {}).items()}, sort_keys=True),
            _values_key(input_values or {}),
            NN_PIPELINE,
            *tuning_key,
        )
        artifact = store.get(key) if store is not None else None
        if store is not None and isinstance(source, str | Path) and _self_contained(model):
            path = Path(source).resolve()
            path_key = _path_key(path, description, input_shapes, input_values, tuning_key)
            PathIndex(store.directory).put(path_key, path, key)
    return _served_or_built(
        store,
        key,
        artifact,
        lambda kernels: build(model, description, input_shapes, timer, input_values, kernels),
    )


def _remembered_artifact(
    source: str | Path | onnx.ModelProto,
    target: Target,
    num_threads: int | None,
    input_shapes: Mapping[str, Sequence[int]] | None,
    input_values: Mapping[str, np.ndarray] | None,
    cache: bool | str | Path,
    tuning_db: str | Path | None,
) -> tuple[Artifact, str, Target] | None:
    """The cached artifact of a model file unchanged since a compile stored it (`PathIndex`),
    its key and the target (tuned) that built it; None for anything else: a ModelProto, no
    cache, a target that splits models (it reads the model), a file never seen or changed."""
    store = _open_cache(cache)
    if store is None or not isinstance(source, str | Path) or not isinstance(target, LlvmTarget):
        return None
    path = Path(source).resolve()
    if not path.is_file() or not target.runs_in_process():
        return None
    tuned, tuning_key = with_tuning(target, tuning_db, num_threads or 1)
    path_key = _path_key(path, tuned, input_shapes, input_values, tuning_key)
    key = PathIndex(store.directory).get(path_key, path)
    artifact = store.get(key) if key is not None else None
    if artifact is None or key is None:
        return None
    return artifact, key, tuned


def _path_key(
    path: Path,
    target: Target,
    input_shapes: Mapping[str, Sequence[int]] | None,
    input_values: Mapping[str, np.ndarray] | None,
    tuning_key: tuple[str, ...],
) -> str:
    """What the artifact key depends on besides the model's bytes, with the model's path."""
    return cache_key(
        target.fingerprint(),
        "path",
        str(path),
        json.dumps({k: list(v) for k, v in (input_shapes or {}).items()}, sort_keys=True),
        _values_key(input_values or {}),
        NN_PIPELINE,
        *tuning_key,
    )


def _self_contained(model: onnx.ModelProto) -> bool:
    """Whether the model's file holds all of it (no external data, which could change
    without the file changing)."""
    return not any(t.data_location == onnx.TensorProto.EXTERNAL for t in model.graph.initializer)


COMPILE_GC_THRESHOLD = (100_000, 50, 100)
"""The garbage collector's thresholds while compiling: lowering allocates millions of small
IR objects that live until the pass that replaces them, and with the default thresholds
(700, 10, 10) the collector kept re-scanning them, a tenth of a cold compile's CPU time
(light resnet50: 10.5 s of passes instead of 8.2 s with collection off)."""


@contextmanager
def fewer_collections() -> Generator[None]:
    """Runs the body with the objects alive before it frozen (imported modules, the model:
    never garbage) and COMPILE_GC_THRESHOLD, restoring both after."""
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(*COMPILE_GC_THRESHOLD)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def _kernel_wise_object(
    lowered: Lowered, target: LlvmTarget, timer: StageTimer, cache: KernelCache | None
) -> tuple[bytes, str]:
    """The object code and final LLVM IR of a module lowered through the memrefs stage, its
    kernels lowered, optimized (or taken from `cache`) and linked apart from `@main`, which
    this process lowers and optimizes while forked processes start on the kernels."""
    later = target.pipeline().after("memrefs").staged_passes()
    ctx = terrace_context()
    # the kernels' passes, timed apart: one progress step for them all, not two per kernel
    kernel_passes = StageTimer()
    # @main's stages run in this process while the children compile kernels: told as they start
    main_steps = StageTimer(listener=timer.listener)
    optimized_main: list[llvm_binding.ModuleRef] = []

    # the llvm dialect's IR is not verified after its stage: LLVM verifies what it
    # translates to, and only a failure there asks xDSL's verifier (`verified_translation`)
    def lower_kernel(module: ModuleOp) -> None:
        kernel = Lowered(lowered.imported, module)
        _run_passes(ctx, kernel, later, kernel_passes, verify_last_stage=False)

    def lower_main() -> None:
        _run_passes(ctx, lowered, later, main_steps, verify_last_stage=False)
        with verified_translation(lowered.module):
            with main_steps.stage("translate"):
                main_ir = target.translate(lowered.module)
            with main_steps.stage("codegen"):
                optimized_main.append(optimize_llvm_ir(main_ir, target))

    kernels = split_kernels(lowered.module)
    timer.step("kernels")
    started = time.perf_counter()
    modules, _ = optimized_kernels(kernels, target, lower_kernel, cache, alongside=lower_main)
    elapsed = time.perf_counter() - started
    # this process's share of the kernels' passes, and @main's stages
    for stage, seconds in (*kernel_passes.seconds.items(), *main_steps.seconds.items()):
        timer.add(stage, seconds)
    spent = sum(kernel_passes.seconds.values()) + sum(main_steps.seconds.values())
    timer.add("kernel codegen", elapsed - spent)
    with timer.stage("codegen"):
        return link_object(optimized_main[0], modules, target)


def _values_key(values: Mapping[str, np.ndarray]) -> str:
    """The bound input values, as cache-key text (their bytes hashed)."""
    described = {
        name: [str(array.dtype), list(array.shape), hashlib.sha256(array.tobytes()).hexdigest()]
        for name, array in ((n, np.ascontiguousarray(v)) for n, v in values.items())
    }
    return json.dumps(described, sort_keys=True)


def _verify_each_pass() -> bool:
    """Verify after every pass (tests, debugging) instead of after every stage."""
    return os.environ.get("TERRACE_VERIFY_EACH_PASS", "") not in ("", "0")


def _run_passes(
    ctx: Context,
    lowered: Lowered,
    passes: Sequence[tuple[str, ModulePass]],
    timer: StageTimer,
    verify_last_stage: bool = True,
) -> None:
    """Runs `passes`, verifying the module after the last pass of each stage (verifying a
    large module after each of the ~20 passes took most of a cold compile) or, with
    TERRACE_VERIFY_EACH_PASS=1, after every pass. Without `verify_last_stage`, the last
    stage's IR is left to whoever consumes it to check (`verified_translation`)."""
    each = _verify_each_pass()
    for position, (stage, module_pass) in enumerate(passes):
        is_last = position + 1 == len(passes)
        is_last_of_stage = is_last or passes[position + 1][0] != stage
        if is_last and not verify_last_stage:
            is_last_of_stage = False
        timer.step(f"{stage}: {module_pass.name}")
        started = time.perf_counter()
        try:
            module_pass.apply(ctx, lowered.module)
            if each or is_last_of_stage:
                lowered.module.verify()
        except TerraceError:
            raise
        except VerifyException as error:
            message = f"IR after pass '{module_pass.name}' does not verify: {first_line(error)}"
            raise CompilationError(message) from error
        except Exception as error:  # a pass's own failure, whatever its type: name the pass
            message = f"pass '{module_pass.name}' failed: {first_line(error)}"
            raise CompilationError(message) from error
        timer.add(stage, time.perf_counter() - started)
        lowered.abi = read_abi_attributes(lowered.module) or lowered.abi


def _entry_abi(lowered: Lowered) -> EntryAbi:
    attributes = lowered.abi
    if attributes is None:
        raise CompilationError("the pipeline left no terrace.* ABI attributes on @main")
    inputs = tuple(TensorSpec(s.name, s.dtype, s.shape) for s in lowered.imported.inputs)
    outputs = tuple(TensorSpec(s.name, s.dtype, s.shape) for s in lowered.imported.outputs)
    # the status of the index checks is one more output, hidden from the user
    status = 1 if attributes.index_checks else 0
    counts = (attributes.num_inputs, attributes.num_outputs - status)
    if counts != (len(inputs), len(outputs)):
        raise CompilationError(
            f"@main takes {counts[0]} inputs and {counts[1]} outputs; "
            f"the model has {len(inputs)} and {len(outputs)}"
        )
    return EntryAbi(
        inputs, outputs, attributes.weights, attributes.workspace_bytes, attributes.index_checks
    )


def _open_cache(cache: bool | str | Path) -> ArtifactCache | None:
    if cache is False:
        return None
    return ArtifactCache(None if cache is True else cache)
