"""Upstream MLIR 22 reads every stage Terrace prints below nn, and Terrace reads upstream's
output back (docs/mlir.md): the light models and the FileCheck inputs, each stage."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from xdsl.dialects.builtin import ModuleOp

from terrace import compile as compile_model
from terrace.compiler import StageTimer, lower
from terrace.dialects.context import parse_module, terrace_context
from terrace.dialects.nn.weights import WeightStore
from terrace.fuzz.compiled import execute_compiled
from terrace.lowering.ml_program_to_nn_weight import ConvertMlProgramToNnWeightPass
from terrace.lowering.nn_to_linalg import ConvertNnToLinalgPass
from terrace.targets import host_target
from terrace.tools.cli import DEMO_MODEL, main
from terrace.tools.mlir_interop import (
    UpstreamRejected,
    UpstreamToolMissing,
    check_upstream,
    read_back,
    stage_snapshots,
    upstream_form,
    upstream_tool,
)
from terrace.tools.printing import module_text

from onnx_models import LIGHT_MODELS, light_model, randomize_weights
from upstream_mlir import require_upstream_mlir

ROOT = Path(__file__).resolve().parents[2]


def _is_npu_assembly(path: Path) -> bool:
    """TNPU-1 programs in the npu dialect: an accelerator's instruction stream, which no stage
    hands to upstream MLIR (docs/npu.md), like the nn dialect above linalg."""
    return "npu." in path.read_text() and ("npu" in path.parts or path.stem == "npu")


FILECHECK_FILES = sorted(
    p
    for p in (ROOT / "filecheck").rglob("*.mlir")
    if not p.stem.endswith("_invalid") and not _is_npu_assembly(p)
)


@pytest.fixture(autouse=True)
def upstream() -> None:
    require_upstream_mlir()


def _op_counts(module: ModuleOp) -> Counter[str]:
    return Counter(op.name for op in module.walk())


def _check_both_ways(text: str, stage: str, produced_by: str) -> None:
    """Upstream verifies `text`; its output reads back with the same ops."""
    ours = parse_module(text)
    back = read_back(check_upstream(text, stage, produced_by), stage)
    assert _op_counts(back) == _op_counts(ours)


# -- weights below nn ------------------------------------------------------------------------


def test_emit_linalg_prints_weights_as_extern_globals_upstream_reads(tmp_path: Path):
    out, weights = tmp_path / "demo.mlir", tmp_path / "demo.npz"
    args = ["compile", str(DEMO_MODEL), "--emit", "linalg", "-o", str(out)]
    assert main([*args, "--weights", str(weights)]) == 0
    text = out.read_text()
    assert "nn.weight" not in text
    declaration = r'ml_program\.global private @"?([^"(]+)"?\(#ml_program\.extern'
    declared = set(re.findall(declaration, text))
    assert declared and declared <= set(WeightStore.load(weights))
    for name in declared:  # every weight is loaded by name: no array is spelled out
        assert f'global_load_const @"{name}"' in text or f"global_load_const @{name} " in text
    assert "dense<[" not in text
    _check_both_ways(text, "linalg", "linalg-generalize-named-ops")


def test_upstream_linalg_output_continues_down_terraces_pipeline():
    """Upstream's printing of the linalg stage, read back and its weights turned back into
    nn.weight, compiles with Terrace and computes what the model computes."""
    lowered = lower(str(DEMO_MODEL), host_target(), "linalg", StageTimer())
    store = WeightStore.of(lowered.module)
    text = module_text(upstream_form(lowered.module))
    module = read_back(check_upstream(text, "linalg", "linalg-generalize-named-ops"))
    ConvertMlProgramToNnWeightPass().apply(terrace_context(), module)
    store.attach(module)
    x = np.random.default_rng(0).uniform(0, 1, lowered.imported.inputs[0].shape)
    x = x.astype(np.float32)
    (got,) = execute_compiled(module, [x])
    (want,) = compile_model(str(DEMO_MODEL), cache=False)(x)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_terrace_opt_reads_upstreams_output_and_continues(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    """docs/mlir.md's commands: compile, mlir-opt-22, then terrace-opt on upstream's text."""
    from terrace.tools.terrace_opt import main as terrace_opt

    printed, weights = tmp_path / "demo.mlir", tmp_path / "demo.npz"
    args = ["compile", str(DEMO_MODEL), "--emit", "linalg", "-o", str(printed)]
    assert main([*args, "--weights", str(weights)]) == 0
    upstream = tmp_path / "upstream.mlir"
    upstream.write_text(check_upstream(printed.read_text(), "linalg", "compile"))
    pipeline = "convert-ml-program-to-nn-weight,bufferize"
    assert terrace_opt([str(upstream), "--weights", str(weights), "-p", pipeline]) == 0
    out = capsys.readouterr().out
    assert "terrace.weights = [" in out and "ml_program" not in out and "nn.weight" not in out


# -- every stage of the light models ---------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("name", LIGHT_MODELS)
def test_light_model_every_stage_both_ways(name: str):
    model = randomize_weights(light_model(name), seed=1)
    stages = []
    for snapshot in stage_snapshots(model):
        _check_both_ways(snapshot.text, snapshot.stage, snapshot.produced_by)
        stages.append(snapshot.stage)
    assert stages == ["linalg", "loops", "llvm"]


# -- the FileCheck inputs --------------------------------------------------------------------


def _below_nn(module: ModuleOp) -> bool:
    return not any(op.name.startswith("nn.") and op.name != "nn.weight" for op in module.walk())


@pytest.mark.parametrize("path", FILECHECK_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_filecheck_inputs_every_stage_both_ways(path: Path):
    """Each case of a FileCheck file: as it is when it is below nn, else lowered to linalg."""
    checked = 0
    for number, chunk in enumerate(path.read_text().split("// -----")):
        module = parse_module(chunk)
        where = f"{path.name} case {number}"
        if not _below_nn(module):
            ConvertNnToLinalgPass().apply(terrace_context(), module)
            where += " lowered by convert-nn-to-linalg"
        if not _below_nn(module):
            continue  # an nn op convert-nn-to-linalg declines (its test checks it stays)
        _check_both_ways(module_text(upstream_form(module)), "FileCheck input", where)
        checked += 1
    assert checked, f"{path.name}: no case was checked"


# -- errors ------------------------------------------------------------------------------------


def test_rejected_module_names_stage_pass_and_upstream_diagnostic():
    text = 'func.func @f() -> tensor<2xf32> {\n  %w = nn.weight "w" : tensor<2xf32>\n'
    text += "  func.return %w : tensor<2xf32>\n}\n"
    with pytest.raises(UpstreamRejected) as caught:
        check_upstream(text, "linalg", "convert-nn-to-linalg")
    message = str(caught.value)
    assert "the linalg stage (the output of pass 'convert-nn-to-linalg')" in message
    assert "<stdin>:2:" in message and "nn.weight" in message


def test_missing_tools_name_the_apt_package(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.setenv("TERRACE_MLIR_TOOLS_DIR", str(tmp_path))
    with pytest.raises(UpstreamToolMissing, match="apt-get install mlir-22-tools"):
        upstream_tool("mlir-opt")
    assert main(["mlir-check", str(DEMO_MODEL), "--stage", "linalg"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "apt-get install mlir-22-tools" in err


def test_mlir_check_command_reports_each_stage(capsys: pytest.CaptureFixture[str]):
    assert main(["mlir-check", str(DEMO_MODEL)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["linalg", "loops", "llvm"]
    assert all("upstream mlir-opt 22 verifies it" in line for line in lines)
