"""Pass-directed generation (fuzz/pass_targets.py, fuzz/nn_programs.py): the fuzzer learns
which ops a pass rewrites by trying it, and draws programs that hold them, at the element types
(integers and f16 included) and in the pairs it rewrites them."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from terrace.fuzz.checker import fuzz, parse_pipeline
from terrace.fuzz.data import input_sets
from terrace.fuzz.levels import LEVELS, Program, available_levels
from terrace.fuzz.nn_programs import Focus, nn_programs
from terrace.fuzz.pass_targets import learn_focus

PLUGINS = Path(__file__).resolve().parents[1] / "fuzz_plugins"
WRONG = str(PLUGINS / "wrong_rewrites.py")
WRONG_NN = str(PLUGINS / "wrong_nn_rewrites.py")


def _focus(pipeline: str, plugin: str | None = None) -> Focus | None:
    plugins = [plugin] if plugin else []
    return learn_focus(parse_pipeline(pipeline, plugins), f"{pipeline}\n{plugins}")


def test_the_ops_a_pass_rewrites_are_learnt():
    swap = _focus("wrong-swap-sub", WRONG)
    assert swap is not None and swap.op_names() == ["nn.sub"]
    # every element type: the rewrite does not depend on it
    assert {str(d) for d in swap.motifs[0].dtypes} == {
        "float16",
        "float32",
        "float64",
        "int32",
        "int64",
    }
    # integers only: the probes at float types were never rewritten
    negation = _focus("wrong-int-neg-as-bitwise-not", WRONG_NN)
    assert negation is not None and negation.op_names() == ["nn.neg"]
    assert {str(d) for m in negation.motifs for d in m.dtypes} == {"int32", "int64"}


def test_pairs_of_ops_a_rewrite_takes_in_are_learnt():
    fold = _focus("nn-fold-batchnorm")
    assert fold is not None
    assert ("nn.conv", "nn.batch_normalization") in {m.ops for m in fold.motifs}
    transposes = _focus("wrong-transpose-composed-backwards", WRONG_NN)
    assert transposes is not None
    assert ("nn.transpose", "nn.transpose") in {m.ops for m in transposes.motifs}
    assert transposes.op_names() == ["nn.transpose"]


def test_a_conversion_is_fuzzed_with_the_default_mix():
    assert _focus("convert-nn-to-linalg") is None


def test_directed_programs_hold_the_motif_and_return_its_result():
    focus = _focus("wrong-transpose-composed-backwards", WRONG_NN)
    assert focus is not None
    programs: list[Program] = []

    @hypothesis_seed(0)
    @settings(max_examples=30, database=None, deadline=None)
    @given(st.data())
    def draw(data: st.DataObject) -> None:
        programs.append(data.draw(nn_programs(focus=focus)))

    draw()
    chained = [p for p in programs if "nn.transpose %" in p.text and _transpose_of_transpose(p)]
    assert all("nn.transpose" in p.op_names for p in programs)
    assert len(chained) >= len(programs) // 2, [p.text for p in programs[:3]]


def _transpose_of_transpose(program: Program) -> bool:
    module = program.module()
    for op in module.walk():
        producer = op.operands[0].owner if op.operands else None
        if op.name == "nn.transpose" and getattr(producer, "name", "") == "nn.transpose":
            return True
    return False


def test_integer_and_f16_programs_run_in_the_reference():
    """The default mix draws f16, f32, i32 and i64 programs (and f64), and each one runs in the
    numpy reference (a program the oracle cannot run is a generator bug)."""
    dtypes: set[str] = set()
    level = available_levels()["nn"]

    @hypothesis_seed(1)
    @settings(max_examples=40, database=None, deadline=None)
    @given(st.data())
    def run(data: st.DataObject) -> None:
        program = data.draw(level.programs())
        inputs = data.draw(input_sets(program.inputs, program.edges))
        dtypes.update(str(spec.dtype) for spec in program.inputs)
        results = level.execute(program.module(), inputs)
        assert results

    with np.errstate(all="ignore"):
        run()
    assert {"float16", "float32", "int32", "int64"} <= dtypes, dtypes


def test_an_oracle_that_fails_on_a_generated_program_is_a_finding(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    nn = available_levels()["nn"]

    def broken(module: object, inputs: object) -> list[np.ndarray]:
        raise ValueError("window shape cannot be larger than input array shape")

    monkeypatch.setitem(LEVELS, "nn", replace(nn, execute=broken))
    report = fuzz(
        "nn-canonicalize", level="nn", examples=5, seed=0, reproducer_dir=tmp_path, shrink_seconds=2
    )
    [finding] = report.findings
    assert finding.kind == "oracle-error" and "window shape" in finding.message
    assert report.reproducers and report.reproducers[0].exists()
