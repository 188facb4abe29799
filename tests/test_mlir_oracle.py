"""Upstream MLIR as a second oracle (fuzz/mlir_oracle.py, docs/mlir.md): it agrees with
Terrace's lowering on the fuzzers' linalg and loops programs, and catches a wrong lowering
with a reproducer that reruns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from terrace.dialects.context import parse_module
from terrace.dialects.nn.weights import WeightStore
from terrace.fuzz.checker import FuzzError, fuzz
from terrace.fuzz.mlir_oracle import run_upstream
from terrace.fuzz.reproducer import recheck
from terrace.targets import host_target
from terrace.tools.fuzz_command import main as fuzz_main

from upstream_mlir import require_upstream_mlir

WRONG = str(Path(__file__).parent / "fuzz_plugins" / "wrong_lowerings.py")

PROGRAM = """
func.func @main(%x: tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<4x3xf32>) {
  %w = nn.weight "fc/w" : tensor<2x3xf32>
  %e = tensor.empty() : tensor<2x3xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>,
      affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>],
      iterator_types = ["parallel", "parallel"]}
      ins(%x, %w : tensor<2x3xf32>, tensor<2x3xf32>) outs(%e : tensor<2x3xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.subf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<2x3xf32>
  %z = arith.constant 0.5 : f32
  %big = tensor.empty() : tensor<4x3xf32>
  %f = linalg.fill ins(%z : f32) outs(%big : tensor<4x3xf32>) -> tensor<4x3xf32>
  %t = tensor.insert_slice %r into %f[1, 0] [2, 3] [1, 1] : tensor<2x3xf32> into tensor<4x3xf32>
  func.return %r, %t : tensor<2x3xf32>, tensor<4x3xf32>
}
"""


@pytest.fixture(autouse=True)
def upstream() -> None:
    require_upstream_mlir()


def test_upstream_runs_a_linalg_program_with_weights_and_strided_copies():
    module = parse_module(PROGRAM)
    weight = np.arange(6, dtype=np.float32).reshape(2, 3)
    WeightStore({"fc/w": weight}).attach(module)
    x = np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)
    difference, placed = run_upstream(module, [x])
    np.testing.assert_array_equal(difference, x - weight)
    expected = np.full((4, 3), 0.5, np.float32)
    expected[1:3] = x - weight
    np.testing.assert_array_equal(placed, expected)


@pytest.mark.parametrize(
    ("level", "pipeline"),
    [("linalg", "bufferize"), ("loops", host_target().pipeline().after("loops").spec())],
)
def test_upstream_agrees_with_terraces_lowering(level: str, pipeline: str, tmp_path: Path):
    report = fuzz(
        pipeline, level=level, examples=15, seed=0, oracle="mlir", reproducer_dir=tmp_path
    )
    assert report.examples == 15 and not report.errors
    assert not report.findings, report.summary()


@pytest.mark.parametrize(
    ("level", "wrong"), [("linalg", "wrong-generalize-matmul"), ("loops", "wrong-lower-subf")]
)
def test_a_wrong_lowering_is_caught_with_a_reproducer(level: str, wrong: str, tmp_path: Path):
    report = fuzz(
        wrong,
        level=level,
        examples=60,
        seed=0,
        plugins=[WRONG],
        oracle="mlir",
        reproducer_dir=tmp_path,
        shrink_seconds=5,
    )
    assert [f.kind for f in report.findings] == ["mismatch"], report.summary()
    assert report.findings[0].culprit == wrong
    (path,) = report.reproducers
    assert "// oracle: mlir" in path.read_text()
    rerun = recheck(path)  # the reproducer alone shows the mismatch again
    assert rerun is not None and rerun.kind == "mismatch" and rerun.oracle == "mlir"


def test_the_mlir_oracle_refuses_other_levels(capsys: pytest.CaptureFixture[str]):
    assert fuzz_main(["--oracle", "mlir", "--level", "nn", "--pass", "nn-canonicalize"]) == 2
    assert "the mlir oracle runs at the linalg and loops levels" in capsys.readouterr().err


def test_missing_tools_name_the_apt_package(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("TERRACE_MLIR_TOOLS_DIR", str(tmp_path))
    with pytest.raises(FuzzError, match="apt-get install mlir-22-tools"):
        fuzz("bufferize", level="linalg", examples=1, oracle="mlir")
