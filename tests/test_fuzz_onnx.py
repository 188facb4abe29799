"""The front door, fuzzed: mutated and truncated real ONNX models (terrace.fuzz.onnx_mutations,
checked by terrace.fuzz.onnx_checks) end in one clean `terrace` error line or a correct result;
never another exception, a hang or a crash. Fixed seeds, so a failure comes back the same; each
failure prints its mutation list and the `build_mutant(...)` call that rebuilds it.

Budget (2 cores, `pytest -n 2`): 2,400 in-process imports, 20 CLI runs, 30 compile-and-run
comparisons with onnxruntime, 60 hypothesis examples: about two minutes.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from terrace.fuzz.onnx_checks import (
    check_cli,
    check_compile,
    check_import,
    import_mutant,
    run_campaign,
)
from terrace.fuzz.onnx_mutations import Mutant, base_model_names, mutants, mutated_models

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
