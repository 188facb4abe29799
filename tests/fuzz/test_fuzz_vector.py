"""The vector level of the fuzzer (terrace.fuzz.vector_programs, vector_interpreter): the vector
lowering checked by differential execution against an interpreter that never goes through it,
the interpreter against native code, the generator's coverage of the vector ops, and
deliberately wrong vector rewrites (tests/fuzz_plugins/wrong_vector_rewrites.py) that must be
caught with a reproducer."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from terrace.dialects.context import parse_module
from terrace.fuzz.checker import compare_all, fuzz
from terrace.fuzz.data import input_sets
from terrace.fuzz.levels import available_levels, level_for_pass
from terrace.fuzz.native import run_native
from terrace.fuzz.reproducer import load_reproducer, recheck
from terrace.fuzz.vector_interpreter import run_vectors
from terrace.targets import host_target

PLUGIN = str(Path(__file__).resolve().parents[1] / "fuzz_plugins" / "wrong_vector_rewrites.py")
_VECTOR = available_levels()["vector"]


def _settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.generate],
    )


# (pipeline, examples): the program runs in the interpreter before, as native code after
CASES = [
    ("convert-vector-to-llvm", 12),
    ("convert-memref-to-llvm,convert-vector-to-llvm", 6),
    (host_target().pipeline().after("loops").spec(), 6),
]
IDS = ["vector-to-llvm", "memref-and-vector-to-llvm", "llvm-lowering"]


@pytest.mark.parametrize(("pipeline", "examples"), CASES, ids=IDS)
def test_vector_lowering_preserves_outputs(pipeline: str, examples: int, tmp_path: Path):
    report = fuzz(
        pipeline, level="vector", examples=examples, seed=0, reproducer_dir=tmp_path, input_draws=2
    )
    assert not report.findings, report.summary()
    assert report.examples == examples and report.unsupported == 0, report.summary()


def test_vector_level_is_registered():
    assert list(available_levels())[-1] == "vector"
    assert level_for_pass("convert-vector-to-llvm") is _VECTOR


@seed(3)
@_settings(10)
@given(st.data())
def test_native_code_agrees_with_the_vector_interpreter(data: st.DataObject):
    """The vector level's two executors on the programs as generated."""
    program = data.draw(_VECTOR.programs())
    inputs = data.draw(input_sets(program.inputs, program.edges))
    interpreted = run_vectors(program.module(), inputs)
    native = run_native(program.module(), inputs)
    problem = compare_all(interpreted, native, program.accumulations)
    assert problem is None, f"{problem}\n{program.text}"


def test_programs_cover_the_vector_ops():
    """A generator that never emits an op proves nothing about its lowering."""
    seen: Counter[str] = Counter()

    @seed(0)
    @_settings(40)
    @given(st.data())
    def count(data: st.DataObject) -> None:
        text = data.draw(_VECTOR.programs()).text
        for name in re.findall(r"\b(vector\.\w+|math\.fma|iter_args)\b", text):
            seen[name] += 1
        for width in re.findall(r"vector<(\d+)xf32>", text):
            seen[f"lanes {width}"] += 1
        seen["non-prefix mask"] += bool(re.search(r"dense<\[false", text))
        seen["non-splat constant"] += bool(re.search(r"dense<\[-?\d\.\d+, ", text))

    count()
    expected = [
        "vector.load",
        "vector.store",
        "vector.maskedload",
        "vector.maskedstore",
        "vector.broadcast",
        "vector.fma",
        "math.fma",
        "iter_args",
        "lanes 4",
        "lanes 8",
        "lanes 16",
        "non-prefix mask",
        "non-splat constant",
    ]
    assert all(seen[name] >= 3 for name in expected), seen


MASKED = """
func.func @main(%in0: memref<2x6xf32>, %out0: memref<2x6xf32>, %ws: memref<64xi8>) attributes {
    terrace.num_inputs = 1 : i64, terrace.num_outputs = 1 : i64, terrace.weights = [],
    terrace.workspace_bytes = 64 : i64, terrace.output_types = [memref<2x6xf32>]} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %m = arith.constant dense<[true, true, false, false]> : vector<4xi1>
  %half = arith.constant dense<[0.5, 1.0, 2.0, 4.0]> : vector<4xf32>
  scf.for %i = %c0 to %c2 step %c1 {
    %v = vector.load %in0[%i, %c0] : memref<2x6xf32>, vector<4xf32>
    %s = memref.load %in0[%i, %c1] : memref<2x6xf32>
    %b = vector.broadcast %s : f32 to vector<4xf32>
    %f = vector.fma %b, %v, %half : vector<4xf32>
    vector.store %f, %out0[%i, %c0] : memref<2x6xf32>, vector<4xf32>
    %t = vector.maskedload %in0[%i, %c4], %m, %half
        : memref<2x6xf32>, vector<4xi1>, vector<4xf32> into vector<4xf32>
    %u = arith.subf %t, %half : vector<4xf32>
    vector.maskedstore %out0[%i, %c4], %m, %u : memref<2x6xf32>, vector<4xi1>, vector<4xf32>
  }
  func.return
}
"""


def test_vector_interpreter_semantics():
    """Lane order, broadcast, fma and masked lanes in the oracle, checked against numpy."""
    x = np.arange(12, dtype=np.float32).reshape(2, 6) - 5
    half = np.array([0.5, 1.0, 2.0, 4.0], np.float32)
    want = np.empty_like(x)
    want[:, :4] = x[:, 1:2] * x[:, :4] + half
    want[:, 4:] = x[:, 4:] - half[:2]
    [interpreted] = run_vectors(parse_module(MASKED), [x])
    np.testing.assert_array_equal(interpreted, want)
    [native] = run_native(parse_module(MASKED), [x])
    np.testing.assert_array_equal(native, want)


def test_vector_interpreter_rejects_lanes_out_of_bounds():
    unmasked = MASKED.replace(
        "%t = vector.maskedload %in0[%i, %c4], %m, %half\n"
        "        : memref<2x6xf32>, vector<4xi1>, vector<4xf32> into vector<4xf32>",
        "%t = vector.load %in0[%i, %c4] : memref<2x6xf32>, vector<4xf32>",
    )
    with pytest.raises(AssertionError, match="out of the innermost extent"):
        run_vectors(parse_module(unmasked), [np.zeros((2, 6), np.float32)])


# (the wrong pass, the pipeline it runs in, examples allowed to catch it)
WRONG = [
    ("wrong-fma-addend", "wrong-fma-addend", 30),
    ("wrong-mask-last-lane", "wrong-mask-last-lane,convert-vector-to-llvm", 30),
]


@pytest.mark.parametrize(("culprit", "pipeline", "examples"), WRONG, ids=[c[0] for c in WRONG])
def test_wrong_vector_rewrite_is_caught_with_a_reproducer(
    culprit: str, pipeline: str, examples: int, tmp_path: Path
):
    report = fuzz(
        pipeline,
        level="vector",
        examples=examples,
        seed=0,
        plugins=[PLUGIN],
        reproducer_dir=tmp_path,
        input_draws=2,
        shrink_seconds=6,
    )
    assert report.findings, report.summary()
    finding = report.findings[0]
    assert finding.kind == "mismatch" and finding.culprit == culprit, report.summary()
    [path] = report.reproducers
    reproducer = load_reproducer(path)
    assert reproducer.pipeline.split(",")[-1] == culprit
    again = recheck(path)
    assert again is not None and again.culprit == culprit
