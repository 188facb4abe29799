"""The target layer: tags, pipelines as pass objects, micro-kernel shapes from the vector unit,
and no target named outside targets/."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from xdsl.passes import PassPipeline

import terrace
from terrace.errors import CompilationError, TerraceError
from terrace.passes.registry import all_passes
from terrace.targets import STAGES, get_target, host_target, target_tags
from terrace.targets.llvm import LlvmTarget
from terrace.targets.llvm.microkernel import microkernel_shape
from terrace.tools.cli import main

ROOT = Path(__file__).resolve().parents[2]
DEMO_MODEL = ROOT / "models" / "demo_cnn.onnx"
TAGS = ("x86_64", "x86_64-avx2", "aarch64", "riscv64", "wasm32")


def test_the_five_tags_are_there_and_the_host_runs_in_process():
    assert set(TAGS) <= set(target_tags())
    host = host_target()
    assert host.runs_in_process()
    assert get_target(None) is host and get_target("host") is host
    assert not get_target("wasm32").runs_in_process()


def test_an_unknown_tag_is_one_line_listing_the_tags(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(CompilationError, match="unknown target 'tpu'; targets: x86_64, .*wasm32"):
        get_target("tpu")
    assert main(["compile", str(DEMO_MODEL), "--target", "tpu"]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "aarch64" in error and "riscv64" in error


@pytest.mark.parametrize(
    ("bits", "registers", "expected"),
    [
        (512, 32, (8, 2, 16)),  # AVX-512: 8 x 32
        (256, 16, (6, 2, 8)),  # AVX2: 6 x 16, BLIS's Haswell sgemm kernel
        (128, 32, (8, 3, 4)),  # NEON, RVV at VLEN 128: 8 x 12, BLIS's ARMv8 sgemm kernel
        (128, 16, (6, 2, 4)),  # SSE, simd128: 6 x 8
    ],
)
def test_microkernel_shape_from_the_vector_unit(
    bits: int, registers: int, expected: tuple[int, int, int]
):
    shape = microkernel_shape(bits, registers)
    assert (shape.mr, shape.nr_vectors, shape.lanes) == expected
    # the tile fits: accumulators, the loads of B and the broadcast of A
    assert shape.mr * shape.nr_vectors + shape.nr_vectors + 1 <= registers


@pytest.mark.parametrize("tag", TAGS)
def test_pipeline_prints_as_a_spec_that_parses_back_to_the_same_passes(tag: str):
    pipeline = get_target(tag).pipeline()
    assert [stage.name for stage in pipeline.stages] == list(STAGES)
    parsed = PassPipeline.parse_spec(all_passes(), pipeline.spec()).passes
    assert parsed == pipeline.passes()
    assert pipeline.until("loops").passes() + pipeline.after("loops").passes() == parsed


@pytest.mark.parametrize("tag", TAGS)
def test_the_microkernel_gets_the_targets_shape(tag: str):
    target = get_target(tag)
    assert isinstance(target, LlvmTarget)
    shape = target.microkernel()
    (microkernel,) = [p for p in target.pipeline().passes() if p.name == "contraction-microkernel"]
    assert (microkernel.mr, microkernel.nr_vectors, microkernel.lanes) == (  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType]
        shape.mr,
        shape.nr_vectors,
        shape.lanes,
    )
    assert shape.lanes * 32 == target.vector_width_bits


def test_a_target_without_threads_or_fma_leaves_out_libgomp_and_fused_multiply_adds():
    wasm = get_target("wasm32")
    names = [p.name for p in wasm.pipeline().passes()]
    assert "convert-scf-parallel-to-gomp" not in names
    assert "parallelize-outer-loops" not in names
    assert "fma=false" in wasm.pipeline().spec()
    assert "convert-scf-parallel-to-gomp" in [p.name for p in host_target().pipeline().passes()]


def test_avx2_target_runs_here_and_agrees_with_the_host():
    if "avx2" not in getattr(host_target(), "features", ""):
        pytest.skip("this host has no AVX2: x86_64-avx2 code cannot run here")
    x = np.random.default_rng(0).uniform(0, 1, (1, 3, 64, 64)).astype(np.float32)
    host = terrace.compile(DEMO_MODEL, cache=False)(x)
    avx2 = terrace.compile(DEMO_MODEL, target="x86_64-avx2", cache=False)(x)
    for expected, actual in zip(host, avx2, strict=True):
        scale = float(np.abs(expected).max())
        np.testing.assert_allclose(actual, expected, atol=1e-4 * scale, rtol=0)


def test_a_non_host_target_compiled_in_process_says_how_to_run_it():
    with pytest.raises(CompilationError, match="qemu-aarch64.*terrace compile MODEL --target"):
        terrace.compile(DEMO_MODEL, target="aarch64", cache=False)


# every tag, quoted, as code would name it; and pipeline text cut apart by pass name
_TARGET_LITERAL = re.compile(r"""["'](x86_64(-avx2)?|aarch64|riscv64|wasm32|cpu)["']""")


def test_no_target_is_named_outside_targets():
    offenders: list[str] = []
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT)
        if relative.parts[0] in ("targets", "tests", ".venv", "build", "typings"):
            continue
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if _TARGET_LITERAL.search(line):
                offenders.append(f"{relative}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


def test_fuzz_runs_programs_with_another_in_process_target(tmp_path: Path):
    from terrace.fuzz.checker import fuzz

    if "avx2" not in getattr(host_target(), "features", ""):
        pytest.skip("this host has no AVX2: x86_64-avx2 code cannot run here")
    report = fuzz(
        "nn-canonicalize", examples=6, seed=0, reproducer_dir=tmp_path, target="x86_64-avx2"
    )
    assert report.examples == 6 and not report.findings and not report.errors, report.summary()
    with pytest.raises(TerraceError, match="'wasm32' does not"):
        fuzz("nn-canonicalize", examples=1, seed=0, reproducer_dir=tmp_path, target="wasm32")


def test_the_guide_shows_the_example_target_as_it_is():
    guide = (ROOT / "docs" / "targets.md").read_text()
    example = (ROOT / "targets" / "riscv64.py").read_text()
    assert f"```python\n{example}```" in guide
    assert len(example.splitlines()) < 100
