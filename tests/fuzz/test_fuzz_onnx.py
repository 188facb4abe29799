"""The front door, fuzzed: mutated and truncated real ONNX models (terrace.fuzz.onnx_mutations,
checked by terrace.fuzz.onnx_checks) end in one clean `terrace` error line or a correct result;
never another exception, a hang or a crash. Fixed seeds, so a failure comes back the same; each
failure prints its mutation list and the `build_mutant(...)` call that rebuilds it.

Budget (2 cores, `pytest -n 2`): 2,400 in-process imports, 20 CLI runs, 30 compile-and-run
comparisons with onnxruntime, 60 hypothesis examples: about two minutes, marked slow. Not slow:
CI's sample of the reported run (200 mutants of the light models through `terrace fuzz --onnx`,
each in a child process, about 10 s), the child process's own tests (a segfault and a hang are
findings and the run goes on), and the regressions the campaigns found, as small graphs.
"""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest
from hypothesis import HealthCheck, given, settings
from onnx import TensorProto, helper

from terrace.errors import ModelImportError, TerraceError
from terrace.frontend.onnx import import_model
from terrace.fuzz import onnx_checks
from terrace.fuzz.onnx_checks import (
    check_cli,
    check_compile,
    check_import,
    import_mutant,
    run_campaign,
)
from terrace.fuzz.onnx_isolation import IsolatedCheck, resolve_bases
from terrace.fuzz.onnx_mutations import (
    Mutant,
    base_model_names,
    build_mutant,
    mutants,
    mutated_models,
)
from terrace.tools.cli import main

IMPORT_CHUNKS = 8
IMPORTS_PER_CHUNK = 300
IMPORT_SECONDS = 20.0
"""Per-import time budget: the slowest base model (densenet121) imports in about 2.5 s."""

CLI_RUNS = 10
COMPILE_RUNS = 15

SMALL_BASES = [n for n in base_model_names() if n.startswith("test_")]
"""The one-op pytorch-converted models: they compile in under a second."""


def _assert_no_failures(failures: list[str]) -> None:
    shown = "\n".join(failures[:10])
    assert not failures, f"{len(failures)} mutants broke the property:\n{shown}"


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(IMPORT_CHUNKS))
def test_imports_of_mutants_end_in_a_result_or_one_clean_error(seed: int):
    campaign = run_campaign(
        lambda m: check_import(m, IMPORT_SECONDS), mutated_models(seed, IMPORTS_PER_CHUNK)
    )
    print(campaign.summary())
    assert sum(campaign.counts.values()) == IMPORTS_PER_CHUNK
    _assert_no_failures(campaign.failures)
    # the mix keeps both sides of the property busy
    assert campaign.counts.get("accepted", 0) >= IMPORTS_PER_CHUNK // 20
    assert campaign.counts.get("rejected", 0) >= IMPORTS_PER_CHUNK // 2


@pytest.mark.slow
@pytest.mark.parametrize("seed", [100, 101])
def test_cli_import_of_mutants_exits_0_or_1_with_one_line(seed: int):
    campaign = run_campaign(check_cli, mutated_models(seed, CLI_RUNS))
    print(campaign.summary())
    assert sum(campaign.counts.values()) == CLI_RUNS
    _assert_no_failures(campaign.failures)


def _importable(seed: int, count: int) -> list[Mutant]:
    """The first `count` small mutants that import: the ones compile and run can say more of."""
    chosen: list[Mutant] = []
    for mutant in mutated_models(seed, 40 * count, SMALL_BASES):
        if import_mutant(mutant, IMPORT_SECONDS)[1] is not None:
            chosen.append(mutant)
        if len(chosen) == count:
            break
    return chosen


@pytest.mark.slow
@pytest.mark.parametrize("seed", [200, 201])
def test_compiled_mutants_match_onnxruntime_or_fail_cleanly(seed: int):
    chosen = _importable(seed, COMPILE_RUNS)
    assert len(chosen) == COMPILE_RUNS
    campaign = run_campaign(check_compile, chosen)
    print(campaign.summary())
    _assert_no_failures(campaign.failures)


@pytest.mark.slow
@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(mutants())
def test_hypothesis_mutants_import_cleanly(mutant: Mutant):
    outcome = check_import(mutant, IMPORT_SECONDS)
    assert not outcome.failed, f"{outcome.detail}\n{mutant.describe()}"


def test_mutants_are_reproducible():
    first = [m.describe() for m in mutated_models(7, 20)]
    again = [m.describe() for m in mutated_models(7, 20)]
    assert first == again


# -- the campaign runner: checks in a child process ---------------------------------------

BROKEN = "broken_checks:by_seed"
"""tests/fuzz_plugins/broken_checks.py: the first step's seed picks a segfault, a stall or a
giant allocation (its SEGFAULT, STALL, ALLOCATE), any other seed a real import."""
SEGFAULT, STALL, ALLOCATE = 1, 2, 3


@pytest.fixture
def plugins_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    # the spawned child starts with the parent's sys.path
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "fuzz_plugins"))


def _mutant(seed: int) -> Mutant:
    return build_mutant("light_squeezenet", [("truncate", seed)])


@pytest.mark.usefixtures("plugins_on_path")
def test_a_segfault_and_a_hang_are_findings_and_the_run_goes_on():
    with IsolatedCheck(BROKEN, seconds=1.0, grace_seconds=2.0) as check:
        crashed = check(_mutant(SEGFAULT))
        after_crash = check(_mutant(7))
        hung = check(_mutant(STALL))
        after_hang = check(_mutant(7))
        assert check.restarts == 2
    assert (crashed.kind, crashed.detail) == ("crash", "the checking process died (signal SIGSEGV)")
    assert (hung.kind, hung.detail) == ("hang", "no answer after 3 s")
    assert crashed.failed and hung.failed
    # the same mutant checked in this process: each fresh child answers as it does (but for
    # the temporary file's name)
    expected = check_import(_mutant(7))
    for outcome in (after_crash, after_hang):
        assert outcome.kind == expected.kind == "rejected"
        assert outcome.detail.split(": ", 1)[1] == expected.detail.split(": ", 1)[1]


@pytest.mark.usefixtures("plugins_on_path")
def test_the_child_has_an_address_space_limit():
    with IsolatedCheck(BROKEN, memory_bytes=2 << 30) as limited:
        assert limited(_mutant(ALLOCATE)).kind == "rejected"


def test_unknown_checks_and_bases_are_one_line_errors():
    with pytest.raises(TerraceError, match="unknown check 'nosuch'"):
        IsolatedCheck("nosuch")
    with pytest.raises(TerraceError, match="check 'no_module_here:f'"):
        IsolatedCheck("no_module_here:f")
    with pytest.raises(TerraceError, match="unknown base model 'light_nosuch'"):
        resolve_bases("light_squeezenet,light_nosuch")
    assert resolve_bases("all") is None
    assert resolve_bases("light") == [n for n in base_model_names() if n.startswith("light_")]
    assert len(resolve_bases("light") or []) == 9


def test_onnx_mode_refuses_pass_options(capsys: pytest.CaptureFixture[str]):
    assert main(["fuzz", "--onnx", "--pass", "nn-canonicalize", "--examples", "1"]) == 2
    assert "--onnx fuzzes the importer" in capsys.readouterr().err


SAMPLE_SEED = 20261207
SAMPLE_COUNT = 200


def test_terrace_fuzz_onnx_sample_of_light_model_mutants(capsys: pytest.CaptureFixture[str]):
    """CI's sample of the reported run (docs/fuzzing.md): 200 mutants of the light models,
    through the command, each checked in a child process."""
    status = main(
        [
            "fuzz",
            "--onnx",
            "--bases",
            "light",
            "--examples",
            str(SAMPLE_COUNT),
            "--seed",
            str(SAMPLE_SEED),
        ]
    )
    out = capsys.readouterr().out
    assert status == 0, out
    summary = out.splitlines()[0]
    assert f"{SAMPLE_COUNT} mutants in" in summary
    assert "failure" not in summary and "crash" not in summary and "hang" not in summary
    assert " rejected" in summary


# -- regressions: what the campaigns found, each shrunk to a small graph ----------------------


@pytest.mark.parametrize("op_type", ["Softmax", "LogSoftmax"])
@pytest.mark.parametrize("axis", [2, -3, 2**63 - 1])
def test_legacy_softmax_axis_out_of_range_is_refused(op_type: str, axis: int):
    """Found by `terrace fuzz --onnx --bases small --check compile --seed 22`: Softmax at
    opset 6 with axis 2**63-1 on a rank-2 input passed onnx's full check, and the importer's
    flattening to 2-d clamped the axis, giving other values than onnxruntime's."""
    graph = helper.make_graph(
        [helper.make_node(op_type, ["x"], ["y"], name="soft", axis=axis)],
        "legacy_softmax",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 128])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 128])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 6)])
    with pytest.raises(ModelImportError, match=rf"soft \({op_type}.*axis {axis} is out of range"):
        import_model(model)


@pytest.mark.parametrize("axis", [0, 1, -1, -2])
def test_legacy_softmax_axis_in_range_still_imports(axis: int):
    graph = helper.make_graph(
        [helper.make_node("Softmax", ["x"], ["y"], name="soft", axis=axis)],
        "legacy_softmax",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 128])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 128])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 6)])
    assert [spec.shape for spec in import_model(model).outputs] == [(2, 128)]


def _pad_model(mode: bytes, in_subgraph: bool = False) -> onnx.ModelProto:
    pad = helper.make_node("Pad", ["x"], ["y"], name="pad", pads=[0, 1, 0, 1], value=0.0)
    pad.attribute.append(helper.make_attribute("mode", mode))
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 5])
    if not in_subgraph:
        graph = helper.make_graph([pad], "pad", [x], [y])
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 6)])
    branch = helper.make_graph([pad], "branch", [], [y])
    condition = helper.make_tensor_value_info("c", TensorProto.BOOL, [])
    node = helper.make_node("If", ["c"], ["y"], name="if", then_branch=branch, else_branch=branch)
    graph = helper.make_graph([node], "if_pad", [condition, x], [y])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 6)])


@pytest.mark.parametrize("in_subgraph", [False, True])
def test_string_attribute_that_is_not_utf8_is_refused(in_subgraph: bool):
    """Found by `terrace fuzz --onnx --bases small --check compile --seed 26`: Pad's `mode`
    set to the byte 0xff passed onnx's checker, then decoding it escaped as a
    UnicodeDecodeError."""
    # the node named is the one holding the attribute, in the If's branch or not
    with pytest.raises(ModelImportError, match=r"'pad' \(Pad\): attribute 'mode' is not UTF-8"):
        import_model(_pad_model(b"\xff", in_subgraph))
    assert [spec.shape for spec in import_model(_pad_model(b"reflect")).outputs] == [(2, 5)]


def test_a_valid_model_onnxruntime_refuses_is_no_failure_when_its_output_has_no_shape():
    """Found by `terrace fuzz --onnx --bases small --check compile --seed 25`: a MaxPool whose
    pads are wider than its kernel (onnxruntime refuses: "Pad should be smaller than kernel")
    and whose graph output declares no shape. The judge ran onnx's full check, whose checker
    asks for the shape field that onnxruntime and Terrace do without, and called the model
    invalid. Terrace computes -inf for the windows wholly in the padding."""
    node = helper.make_node("MaxPool", ["x"], ["y"], name="pool", kernel_shape=[3], pads=[4, 4])
    graph = helper.make_graph(
        [node],
        "pool",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 12)])
    outcome = check_compile(Mutant("pool", (), (), model, None))
    assert outcome.kind == "accepted", outcome.detail
    assert outcome.detail.startswith("valid per onnx's full check; onnxruntime refuses it")
    # the judge still calls a model invalid when strict inference refuses it: here a declared
    # output shape that the graph does not compute
    wrong = onnx.ModelProto()
    wrong.CopyFrom(model)
    wrong.graph.output[0].type.tensor_type.shape.dim.add().dim_value = 5
    judged = onnx_checks._judge_refused_by_onnxruntime(wrong, "refused")  # pyright: ignore[reportPrivateUsage]
    assert judged.kind == "failure" and judged.detail.startswith("accepted an invalid model")
