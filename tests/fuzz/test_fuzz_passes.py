"""Every registered pass fuzzed by differential execution (docs/fuzzing.md).

The nn-level passes and the nn-to-linalg conversion are fuzzed here, and the whole CPU pipeline
from nn programs down to native code; the lower levels' passes are fuzzed at their own levels
in test_fuzz_lower_levels.py. `TERRACE_FUZZ_EXAMPLES=500 pytest tests/fuzz/test_fuzz_passes.py`
raises the budget (the examples of the cheapest case; the others scale with it). Seeds are
fixed, so CI is reproducible.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from terrace.fuzz.checker import fuzz
from terrace.fuzz.levels import available_levels, level_for_pass
from terrace.passes.registry import TERRACE_PASSES
from terrace.targets import host_target

EXAMPLES = int(os.environ.get("TERRACE_FUZZ_EXAMPLES", "60"))

# (pipeline, share of EXAMPLES): native code costs about a second an example, the reference
# a few milliseconds
CASES = [
    ("nn-canonicalize", 1.0),
    ("nn-fold-batchnorm", 1.0),
    ("nn-fold-batchnorm,nn-canonicalize", 0.5),
    ("convert-nn-to-linalg", 0.4),
    ("nn-fold-batchnorm,nn-canonicalize," + host_target().pipeline().spec(), 0.25),
]


@pytest.mark.parametrize(("pipeline", "share"), CASES, ids=[c[0][:40] for c in CASES])
def test_pass_preserves_outputs(pipeline: str, share: float, tmp_path: Path):
    examples = max(int(EXAMPLES * share), 5)
    report = fuzz(pipeline, level="nn", examples=examples, seed=0, reproducer_dir=tmp_path)
    assert not report.findings, report.summary()
    assert report.examples == examples, report.summary()
    assert report.unsupported <= examples // 4, report.summary()


NOT_FUZZED = {
    # they translate the form of the IR for upstream mlir-opt and back; no level runs the
    # upstream form: tests/tools/test_mlir_interop.py round-trips every stage of nine models
    "convert-nn-weight-to-ml-program": "upstream form",
    "convert-ml-program-to-nn-weight": "upstream form",
    "convert-arith-to-signless": "upstream form",
    # attaches tuning records as pass options; what they select is fuzzed through
    # contraction-microkernel's options (tests/tuning/)
    "apply-tuning": "annotation only",
    # brackets kernel calls with calls of a timing hook that only `terrace profile` binds;
    # tests/tools/test_profile.py compares the instrumented build's outputs with the plain one
    "instrument-kernels": "needs the profiling hook",
    # over TNPU-1 programs (the npu dialect), which the simulator runs, not a level's executor:
    # tests/targets/npu/ and tests/runtime/npu_sim/
    "npu-annotate": "npu",
    "npu-partition": "npu",
    "npu-tile": "npu",
    "convert-linalg-to-npu": "npu",
    "npu-double-buffer": "npu",
    "npu-dedup-uops": "npu",
    "npu-insert-deps": "npu",
    "npu-verify": "npu",
    "npu-outline-launch": "npu",
}
"""Registered passes no fuzz level runs, each with where it is checked instead."""


def test_every_registered_pass_is_fuzzed_at_a_level():
    unfuzzed = [name for name in TERRACE_PASSES if level_for_pass(name) is None]
    assert sorted(unfuzzed) == sorted(NOT_FUZZED), f"passes no level fuzzes: {unfuzzed}"
    assert set(available_levels()["nn"].passes) <= {c[0] for c in CASES}


def test_nn_programs_give_each_nn_pass_something_to_rewrite(tmp_path: Path):
    """A fuzzer whose programs never match a pattern proves nothing: count the programs that
    each nn pass changes, among those drawn for it (directed at what it rewrites)."""
    from hypothesis import given, seed, settings
    from hypothesis import strategies as st

    from terrace.dialects.context import terrace_context
    from terrace.fuzz.checker import parse_pipeline
    from terrace.fuzz.nn_programs import nn_programs
    from terrace.fuzz.pass_targets import learn_focus

    changed = {"nn-canonicalize": 0, "nn-fold-batchnorm": 0}
    for name in changed:
        passes = parse_pipeline(name)
        focus = learn_focus(passes, name)
        assert focus is not None, name

        @seed(0)
        @settings(max_examples=40, deadline=None, database=None)
        @given(st.data())
        def count(data: st.DataObject) -> None:
            module = data.draw(nn_programs(focus=focus)).module()  # noqa: B023
            before = str(module)
            for module_pass in passes:  # noqa: B023
                module_pass.apply(terrace_context(), module)
            changed[name] += str(module) != before  # noqa: B023

        count()
    assert all(count >= 20 for count in changed.values()), changed
