"""`terrace.backend`: Terrace as an `onnx.backend.base.Backend`.

Any tool that drives ONNX backends (onnx's own backend test runner, onnx's `BackendTest`) drives
Terrace through this module: `prepare` compiles a model for a target (this machine's unless
`target=` names another) and returns a `TerraceRep` to run it repeatedly; `run_model` and `run_node`
are the one-shot forms. As with `onnxruntime.backend`, the module itself can stand for the backend
(`prepare`, `run_model`, `run_node`, `supports_device` are module-level functions too).

Errors are Terrace's own: an unsupported model raises `UnsupportedModelError` from `prepare`,
listing every offending node, before anything runs.

Inputs that give axes, shapes, scales, pads or trip counts (ReduceSum's `axes`, Reshape's
`shape`, Resize's `scales`, a Loop's trip count...) must be known when compiling. When those
are all that stops a model, `prepare` returns a `SpecializingRep`: it compiles on each call
for the values of just those inputs (`terrace.compile(..., input_values=...)`), keeps one
compiled model per distinct set of values, and runs the rest of the inputs through it, as a
JIT specializes on the values it guards. Data inputs are never bound.

A model with sequence or optional inputs or outputs gets a `ContainerRep`: it takes lists of
arrays (None for an absent optional), compiles for the lengths and shapes given, and returns
lists (frontend/onnx/container_io.py); the compiled code takes and returns tensors only. A
model whose tensor inputs have dynamic dimensions (and no `input_shapes`) gets one too: it
compiles once per distinct shape it is given, as onnxruntime takes any batch size.

Both kinds of rep keep a bounded number of compiled models (`MAX_SPECIALIZATIONS`, the least
recently used goes first): a caller that feeds ever new values or shapes recompiles, but
never grows the process without limit.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Generic, TypeVar

import numpy as np
import onnx
from onnx import helper
from onnx.backend.base import Backend, BackendRep, Device, DeviceType

from .compiler import compile as compile_model
from .errors import InputError, ModelImportError, UnsupportedModelError
from .frontend.onnx.container_io import (
    flatten_inputs,
    has_containers,
    has_dynamic_dims,
    regroup,
)
from .frontend.onnx.graph import graph_inputs
from .runtime.model import CompiledModel

DEVICES = ("CPU",)
"""The ONNX device names Terrace runs on."""

MAX_SPECIALIZATIONS = 16
"""Compiled models a rep keeps, per distinct bound values or input shapes."""

Key = TypeVar("Key")
Value = TypeVar("Value")


class CompiledModels(Generic[Key, Value]):
    """At most `limit` entries; storing one more drops the least recently used."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._entries: OrderedDict[Key, Value] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def get(self, key: Key) -> Value | None:
        value = self._entries.get(key)
        if value is not None:
            self._entries.move_to_end(key)
        return value

    def put(self, key: Key, value: Value) -> None:
        self._entries[key] = value
        self._entries.move_to_end(key)
        while len(self._entries) > self.limit:
            self._entries.popitem(last=False)


class TerraceRep(BackendRep):
    """A compiled model, run on positional inputs (a sequence in graph order, or a single
    array for a one-input model) or on a mapping from input names to arrays."""

    def __init__(self, model: CompiledModel):
        self.model = model

    def run(self, inputs: Any, **kwargs: Any) -> tuple[Any, ...]:
        del kwargs  # onnx's runner passes none; options belong to `prepare`
        if isinstance(inputs, Mapping):
            feeds: dict[str, np.ndarray] = {str(k): np.asarray(v) for k, v in inputs.items()}
            return tuple(self.model.run(feeds))
        if isinstance(inputs, np.ndarray):
            return tuple(self.model(inputs))
        if not isinstance(inputs, Sequence):
            raise InputError(f"inputs must be arrays or a mapping, not {type(inputs).__name__}")
        return tuple(self.model(*[np.asarray(x) for x in inputs]))


class SpecializingRep(BackendRep):
    """A model compiled on each call for the values of its `value_inputs` (axes, shapes,
    scales, trip counts given as inputs), one compiled model per distinct set of values.

    `model` is the one the last call ran (None before the first call)."""

    MAX_SPECIALIZATIONS = MAX_SPECIALIZATIONS
    """Compiled models kept; the least recently used goes first."""

    def __init__(
        self, source: onnx.ModelProto, value_inputs: frozenset[str], options: dict[str, Any]
    ):
        self.source = source
        self.value_inputs = value_inputs
        self.options = options
        self.input_names = [v.name for v in graph_inputs(source.graph)]
        self.model: CompiledModel | None = None
        self._compiled: CompiledModels[tuple[object, ...], tuple[CompiledModel, frozenset[str]]]
        self._compiled = CompiledModels(self.MAX_SPECIALIZATIONS)

    def run(self, inputs: Any, **kwargs: Any) -> tuple[Any, ...]:
        del kwargs
        feeds = self._feeds(inputs)
        model, bound = self._specialized(feeds)
        self.model = model
        return tuple(model.run({k: v for k, v in feeds.items() if k not in bound}))

    def _feeds(self, inputs: Any) -> dict[str, np.ndarray]:
        if isinstance(inputs, Mapping):
            return {str(k): np.asarray(v) for k, v in inputs.items()}
        arrays = [inputs] if isinstance(inputs, np.ndarray) else inputs
        if not isinstance(arrays, Sequence):
            raise InputError(f"inputs must be arrays or a mapping, not {type(inputs).__name__}")
        if len(arrays) != len(self.input_names):
            names = ", ".join(self.input_names)
            raise InputError(
                f"expected {len(self.input_names)} inputs ({names}), given {len(arrays)}"
            )
        return {n: np.asarray(a) for n, a in zip(self.input_names, arrays, strict=True)}

    def _specialized(self, feeds: Mapping[str, np.ndarray]) -> tuple[CompiledModel, frozenset[str]]:
        """The model compiled for these feeds' values of the value inputs; compiling may show
        further value inputs (a Loop's trip count computed from a bound one), which join."""
        wanted = self.value_inputs
        while True:
            missing = [name for name in sorted(wanted) if name not in feeds]
            if missing:
                raise InputError(f"missing input '{missing[0]}'")
            values = {name: feeds[name] for name in sorted(wanted)}
            key = tuple((n, a.dtype.str, a.shape, a.tobytes()) for n, a in values.items())
            known = self._compiled.get(key)
            if known is not None:
                return known
            try:
                model = compile_model(self.source, input_values=values, **self.options)
            except UnsupportedModelError as error:
                if not error.value_inputs or error.value_inputs <= wanted:
                    raise
                wanted = wanted | error.value_inputs
                continue
            self._compiled.put(key, (model, wanted))
            return model, wanted


class ContainerRep(BackendRep):
    """A model with sequence or optional inputs or outputs, or tensor inputs of dynamic
    shape, compiled on each call for the lengths, shapes and presence of what it is given (one
    rep per distinct rewritten model: as onnxruntime takes any batch size, at one compile per
    distinct shape).

    `model` is the compiled model the last call ran (None before the first call)."""

    MAX_SPECIALIZATIONS = MAX_SPECIALIZATIONS
    """Reps (compiled models) kept, one per distinct rewritten model; the least recently used
    goes first."""

    def __init__(self, source: onnx.ModelProto, options: dict[str, Any]):
        self.source = source
        self.options = options
        self.input_names = [v.name for v in graph_inputs(source.graph)]
        self.model: CompiledModel | None = None
        self._reps: CompiledModels[bytes, TerraceRep | SpecializingRep]
        self._reps = CompiledModels(self.MAX_SPECIALIZATIONS)

    def run(self, inputs: Any, **kwargs: Any) -> tuple[Any, ...]:
        del kwargs
        if isinstance(inputs, Mapping):
            feeds: dict[str, Any] = {str(k): v for k, v in inputs.items()}  # pyright: ignore[reportUnknownVariableType]
        elif isinstance(inputs, Sequence) and len(inputs) == len(self.input_names):  # pyright: ignore[reportUnknownArgumentType]
            feeds = dict(zip(self.input_names, inputs, strict=True))  # pyright: ignore[reportUnknownArgumentType]
        else:
            raise InputError(f"expected {len(self.input_names)} inputs in a sequence or a mapping")
        flat, tensors = flatten_inputs(self.source, feeds)
        key = flat.SerializeToString(deterministic=True)
        rep = self._reps.get(key)
        if rep is None:
            rep = TerraceBackend.prepare_tensors(flat, self.options)
            self._reps.put(key, rep)
        results = rep.run(tensors)
        self.model = rep.model
        assert self.model is not None
        names = [spec.name for spec in self.model.outputs]
        return tuple(regroup(self.source, names, results))


class TerraceBackend(Backend):
    """Terrace's compiler and CPU runtime behind onnx's backend API.

    `prepare` takes the keyword options of `terrace.compile`: `target` (a tag of `terrace
    targets`; None: this machine), `num_threads`, `input_shapes` and `cache` (True for the
    default cache folder, a folder, or False). It returns a
    `TerraceRep`, or a `SpecializingRep` for a model that needs the values of some inputs
    when compiling (see the module's docstring)."""

    @classmethod
    def is_compatible(cls, model: onnx.ModelProto, device: str = "CPU", **kwargs: Any) -> bool:
        del model, kwargs  # compatibility shows only by importing: `prepare` says what fails
        return cls.supports_device(device)

    @classmethod
    def prepare(
        cls, model: onnx.ModelProto, device: str = "CPU", **kwargs: Any
    ) -> TerraceRep | SpecializingRep | ContainerRep:
        _check_device(device)
        options: dict[str, Any] = {
            "target": kwargs.get("target"),
            "num_threads": kwargs.get("num_threads"),
            "input_shapes": kwargs.get("input_shapes"),
            "cache": _cache_option(kwargs.get("cache", True)),
        }
        if has_containers(model) or (not options["input_shapes"] and has_dynamic_dims(model)):
            return ContainerRep(model, options)
        return cls.prepare_tensors(model, options)

    @classmethod
    def prepare_tensors(
        cls, model: onnx.ModelProto, options: dict[str, Any]
    ) -> TerraceRep | SpecializingRep:
        """`prepare` for a model whose inputs are tensors (its outputs may be sequences or
        optionals: their tensors come back flat)."""
        try:
            compiled = compile_model(model, **options)
        except UnsupportedModelError as error:
            if not error.value_inputs:
                raise
            return SpecializingRep(model, error.value_inputs, options)
        return TerraceRep(compiled)

    @classmethod
    def run_model(
        cls, model: onnx.ModelProto, inputs: Any, device: str = "CPU", **kwargs: Any
    ) -> tuple[Any, ...]:
        return cls.prepare(model, device, **kwargs).run(inputs)

    @classmethod
    def run_node(
        cls,
        node: onnx.NodeProto,
        inputs: Any,
        device: str = "CPU",
        outputs_info: Sequence[tuple[np.dtype[Any], tuple[int, ...]]] | None = None,
        **kwargs: Any,
    ) -> tuple[Any, ...]:
        """Runs one node on `inputs` (arrays for its non-empty inputs, in order, or a mapping
        by name). `opset_version` picks the default domain's opset (else the newest onnx
        knows); `outputs_info` gives the outputs' dtypes and shapes (else shape inference)."""
        opset = int(kwargs.pop("opset_version", onnx.defs.onnx_opset_version()))
        names = [name for name in node.input if name]
        arrays = _named_inputs(names, inputs)
        model = node_model(node, arrays, opset, outputs_info)
        return cls.prepare(model, device, **kwargs).run([arrays[name] for name in names])

    @classmethod
    def supports_device(cls, device: str) -> bool:
        try:
            return Device(device).type == DeviceType.CPU
        except (AttributeError, ValueError):  # a device name onnx does not know
            return False


def node_model(
    node: onnx.NodeProto,
    inputs: Mapping[str, np.ndarray],
    opset: int,
    outputs_info: Sequence[tuple[np.dtype[Any], tuple[int, ...]]] | None = None,
) -> onnx.ModelProto:
    """A model of the single node `node`, its graph inputs typed by `inputs`; output types
    from `outputs_info` or, failing that, from onnx's shape inference."""
    graph_inputs = [
        helper.make_tensor_value_info(name, _onnx_type(array.dtype), list(array.shape))
        for name, array in inputs.items()
    ]
    outputs = [name for name in node.output if name]
    graph = helper.make_graph([node], f"{node.op_type}_node", graph_inputs, [])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    if outputs_info is not None:
        typed = zip(outputs, outputs_info, strict=False)
        model.graph.output.extend(
            helper.make_tensor_value_info(name, _onnx_type(np.dtype(dtype)), list(shape))
            for name, (dtype, shape) in typed
        )
        return model
    model.graph.output.extend(helper.make_empty_tensor_value_info(name) for name in outputs)
    inferred = _inferred_types(model)
    for value in model.graph.output:
        if value.name not in inferred:
            raise ModelImportError(
                f"node '{node.name or node.op_type}': no type inferred for output '{value.name}'"
            )
        value.type.CopyFrom(inferred[value.name])
    return model


# The module is a backend too, as `onnxruntime.backend` is.
is_compatible = TerraceBackend.is_compatible
prepare = TerraceBackend.prepare
run_model = TerraceBackend.run_model
run_node = TerraceBackend.run_node
supports_device = TerraceBackend.supports_device


# -- helpers -------------------------------------------------------------------------------


def _check_device(device: str) -> None:
    if not TerraceBackend.supports_device(device):
        raise ModelImportError(f"device '{device}' is not supported; devices: {', '.join(DEVICES)}")


def _cache_option(value: object) -> bool | str | Path:
    if isinstance(value, bool | str | Path):
        return value
    raise InputError(f"cache must be a bool or a folder, not {type(value).__name__}")


def _named_inputs(names: Sequence[str], inputs: Any) -> dict[str, np.ndarray]:
    if isinstance(inputs, Mapping):
        return {name: np.asarray(inputs[name]) for name in names}
    arrays = [np.asarray(x) for x in inputs]
    if len(arrays) != len(names):
        raise InputError(f"the node reads {len(names)} inputs, given {len(arrays)}")
    return dict(zip(names, arrays, strict=True))


def _onnx_type(dtype: np.dtype[Any]) -> int:
    return helper.np_dtype_to_tensor_dtype(dtype)


def _inferred_types(model: onnx.ModelProto) -> dict[str, onnx.TypeProto]:
    try:
        inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    except (onnx.shape_inference.InferenceError, onnx.checker.ValidationError) as error:
        raise ModelImportError(f"shape inference failed: {error}") from None
    values = [*inferred.graph.value_info, *inferred.graph.output]
    return {v.name: v.type for v in values if v.type.tensor_type.elem_type}
