"""The test cases of onnx's backend suite, as the onnx wheel ships them.

Node cases (about 1,900) are generated in memory by `onnx.backend.test.case.node`: the wheel
holds their definitions, not their data files. Model cases are folders (or, for the "real"
models, the light models beside them) under `onnx/backend/test/data`. Each case is plain
picklable data, so worker processes receive it whole; `load` gives the model and data sets.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import numpy_helper

DATA_DIR = Path(onnx.__file__).resolve().parent / "backend" / "test" / "data"
MODEL_KINDS = ("pytorch-converted", "pytorch-operator", "simple", "real")
"""The model test folders run, as onnx's runner names them ("real" runs the light models)."""

KINDS = ("node", *MODEL_KINDS)
DEFAULT_RTOL = 1e-3
DEFAULT_ATOL = 1e-7

FLOAT32_FFT_OPS = ("DFT",)
"""Ops whose expected outputs onnx computes with numpy's float32 fft (numpy 2): an exact 0
comes out as rounding noise of the largest outputs, beyond the default atol. Their cases allow
an absolute error of one float32 ulp of the largest expected output."""

DataSet = tuple[list[Any], list[Any]]
"""Inputs and expected outputs: arrays, or lists of arrays (sequences), or None (optionals)."""


@dataclass(frozen=True)
class LoadedCase:
    model: onnx.ModelProto
    data_sets: list[DataSet]


@dataclass(frozen=True)
class ConformanceCase:
    """One test: its name as onnx's runner gives it (without the `_cpu` suffix), its kind,
    the op it tests (for model tests, the kind) at which opset, and its tolerances."""

    name: str
    kind: str
    op: str
    opset: int
    rtol: float = DEFAULT_RTOL
    atol: float = DEFAULT_ATOL
    model_bytes: bytes = b""
    data_sets: list[DataSet] = field(default_factory=list[DataSet])
    model_path: str = ""
    data_dirs: tuple[str, ...] = ()
    dummy_input_outputs: tuple[str, ...] = ()

    def load(self) -> LoadedCase:
        if self.model_bytes:
            model = onnx.ModelProto()
            model.ParseFromString(self.model_bytes)
            return LoadedCase(model, self.data_sets)
        model = onnx.load(self.model_path)
        if self.dummy_input_outputs:
            return LoadedCase(model, [_dummy_data_set(model, self.dummy_input_outputs)])
        return LoadedCase(model, [_read_data_set(model, Path(d)) for d in self.data_dirs])


def collect(kinds: Sequence[str] = KINDS) -> list[ConformanceCase]:
    """Every case of the given kinds: model cases first (they take longest), then node cases,
    each group sorted by name."""
    cases: list[ConformanceCase] = []
    for kind in MODEL_KINDS:
        if kind in kinds:
            cases += sorted(_model_cases(kind), key=lambda c: c.name)
    if "node" in kinds:
        cases += sorted(_node_cases(), key=lambda c: c.name)
    return cases


# -- node cases ----------------------------------------------------------------------------


def _node_cases() -> list[ConformanceCase]:
    from onnx.backend.test.case import node

    # Generating the expected outputs divides by zero and overflows on purpose.
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        test_cases = node.collect_testcases()
    tested_nodes: dict[str, onnx.NodeProto] = node._existing_names  # pyright: ignore[reportPrivateUsage]
    cases: list[ConformanceCase] = []
    for case in test_cases:
        assert case.model is not None and case.data_sets is not None
        base_name = case.name.split("_expanded")[0]
        tested = tested_nodes.get(base_name)
        op = tested.op_type if tested is not None else case.model.graph.node[0].op_type
        data_sets = [
            ([_normalized(x) for x in inputs], [_normalized(y) for y in outputs])
            for inputs, outputs in case.data_sets
        ]
        cases.append(
            ConformanceCase(
                name=case.name,
                kind="node",
                op=op,
                opset=default_opset(case.model),
                rtol=case.rtol,
                atol=_fft_atol(data_sets, case.atol) if op in FLOAT32_FFT_OPS else case.atol,
                model_bytes=case.model.SerializeToString(),
                data_sets=data_sets,
            )
        )
    return cases


def _fft_atol(data_sets: list[DataSet], atol: float) -> float:
    largest = max(
        (float(np.abs(y).max()) for _, outputs in data_sets for y in outputs if np.size(y)),
        default=0.0,
    )
    return max(atol, float(np.spacing(np.float32(largest))))


def _normalized(value: Any) -> Any:
    if isinstance(value, onnx.TensorProto):
        return numpy_helper.to_array(value)
    if isinstance(value, list):
        return [_normalized(item) for item in value]
    return value


# -- model cases ---------------------------------------------------------------------------


def _model_cases(kind: str) -> list[ConformanceCase]:
    cases: list[ConformanceCase] = []
    for folder in (DATA_DIR / kind).iterdir():
        if not folder.is_dir():
            continue
        settings = _settings(folder)
        rtol = float(settings.get("rtol", DEFAULT_RTOL))
        atol = float(settings.get("atol", DEFAULT_ATOL))
        model_file = folder / "model.onnx"
        if model_file.is_file():
            data_dirs = tuple(str(d) for d in sorted(folder.glob("test_data_set*")))
            path, dummy_outputs = model_file, ()
        else:
            # the "real" models: a light model beside its expected outputs, fed dummy inputs
            path = DATA_DIR.parent.parent.parent.parent / str(settings["url"])
            data_dirs, dummy_outputs = (), _light_outputs(path)
        cases.append(
            ConformanceCase(
                name=folder.name,
                kind=kind,
                op=kind,
                opset=default_opset(onnx.load(str(path), load_external_data=False)),
                rtol=rtol,
                atol=atol,
                model_path=str(path),
                data_dirs=data_dirs,
                dummy_input_outputs=dummy_outputs,
            )
        )
    return cases


def _settings(folder: Path) -> dict[str, Any]:
    data = folder / "data.json"
    return json.loads(data.read_text()) if data.is_file() else {}


def _light_outputs(model_path: Path) -> tuple[str, ...]:
    prefix = model_path.with_suffix("")
    return tuple(str(p) for p in sorted(prefix.parent.glob(f"{prefix.name}_output_*.pb")))


def _dummy_data_set(model: onnx.ModelProto, output_files: Sequence[str]) -> DataSet:
    """The inputs onnx's runner feeds the light models (`Runner.generate_dummy_data`: a ramp
    from 0 to 1, dynamic dimensions as 1) and their shipped expected outputs."""
    initialized = {t.name for t in model.graph.initializer}
    inputs: list[Any] = []
    for value in model.graph.input:
        if value.name in initialized:
            continue
        dims = value.type.tensor_type.shape.dim
        shape = tuple(d.dim_value if d.HasField("dim_value") else 1 for d in dims)
        count = int(np.prod(shape))
        inputs.append((np.arange(count).reshape(shape) / count).astype(np.float32))
    outputs = [_read_tensor(Path(f)) for f in output_files]
    return inputs, outputs


def _read_data_set(model: onnx.ModelProto, folder: Path) -> DataSet:
    inputs = [
        _read_value(folder / f"input_{i}.pb", model.graph.input[i].type)
        for i in range(len(list(folder.glob("input_*.pb"))))
    ]
    outputs = [
        _read_value(folder / f"output_{i}.pb", model.graph.output[i].type)
        for i in range(len(list(folder.glob("output_*.pb"))))
    ]
    return inputs, outputs


def _read_value(path: Path, value_type: onnx.TypeProto) -> Any:
    """A data file as onnx's runner reads it: by the graph's declared type."""
    if value_type.HasField("sequence_type"):
        sequence = onnx.SequenceProto()
        sequence.ParseFromString(path.read_bytes())
        return numpy_helper.to_list(sequence)
    if value_type.HasField("optional_type"):
        optional = onnx.OptionalProto()
        optional.ParseFromString(path.read_bytes())
        return numpy_helper.to_optional(optional)
    return _read_tensor(path)


def _read_tensor(path: Path) -> np.ndarray:
    tensor = onnx.TensorProto()
    tensor.ParseFromString(path.read_bytes())
    return numpy_helper.to_array(tensor)


def default_opset(model: onnx.ModelProto) -> int:
    """The model's opset of the default domain (0 when it imports none)."""
    for entry in model.opset_import:
        if entry.domain in ("", "ai.onnx"):
            return entry.version
    return 0
