"""Every target from artifacts: the light models and the transformer block compiled for
aarch64 and riscv64 (the C harness under qemu-user), wasm32 (Node.js) and x86_64-avx2 (loaded
in this process) give the host's outputs within 1e-4 of the largest |output|.

The default run (`make test`) takes the CI_MODELS and the transformer block on each target;
`make cross` (TERRACE_CROSS_FULL=1) takes all nine light models. A missing cross tool fails the
test with the Debian package to install, except where apt itself is missing: then the test is
skipped, saying so.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import numpy as np
import onnx
import pytest

import terrace
from terrace.benchmarks.workloads import transformer_block
from terrace.compiler import compile_artifact
from terrace.errors import IndexOutOfRangeError
from terrace.targets import Target, get_target
from terrace.tools.cli import main

from onnx_models import (
    LIGHT_MODELS,
    assert_close_to_reference,
    float_model,
    gather_model,
    light_model,
    randomize_weights,
)

CROSS_TAGS = ("aarch64", "riscv64", "wasm32", "x86_64-avx2")
CI_MODELS = ("light_bvlc_alexnet", "light_squeezenet", "light_zfnet512")
"""The cheapest light models to compile and to run under qemu (measured: docs/targets.md)."""
TRANSFORMER = "transformer_block"
FULL = os.environ.get("TERRACE_CROSS_FULL", "") not in ("", "0")
MODELS = (*(LIGHT_MODELS if FULL else CI_MODELS), TRANSFORMER)
THREADS = 2
"""Threads of the qemu runs: exercises libgomp's parallel loops without crowding 2 cores."""


@cache
def model_named(name: str) -> onnx.ModelProto:
    if name == TRANSFORMER:
        # a short sequence keeps the qemu runs short; the shapes of every op stay the same kind
        return transformer_block(sequence=16)
    return randomize_weights(light_model(name), seed=1)


@cache
def inputs_of(name: str) -> tuple[np.ndarray, ...]:
    graph = model_named(name).graph
    initializers = {tensor.name for tensor in graph.initializer}
    rng = np.random.default_rng(5)
    values: list[np.ndarray] = []
    for value in graph.input:
        if value.name in initializers:
            continue
        shape = [d.dim_value for d in value.type.tensor_type.shape.dim]
        values.append(rng.uniform(-1, 1, shape).astype(np.float32))
    return tuple(values)


@contextmanager
def verified_per_stage() -> Iterator[None]:
    """Verifies the IR once per stage, as `terrace compile` does: these tests are about each
    target's code, and per-pass verification (tests/conftest.py) doubles a compile's time."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TERRACE_VERIFY_EACH_PASS", "0")
        yield


@cache
def host_outputs(name: str) -> tuple[np.ndarray, ...]:
    with verified_per_stage():
        compiled = terrace.compile(model_named(name), cache=False)
    return tuple(compiled(*inputs_of(name)))


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, str], Path]:
    """The artifact folder of (model, tag), compiled once per module."""
    base = tmp_path_factory.mktemp("artifacts")

    @cache
    def compiled(name: str, tag: str) -> Path:
        folder = base / f"{name}-{tag}"
        with verified_per_stage():
            compile_artifact(model_named(name), folder, tag, cache=False)
        return folder

    return compiled


def require_tools(target: Target) -> None:
    """Skips, loudly, only where a tool is missing and apt cannot install it."""
    tools = [getattr(target, "linker", None), target.runner.tool]
    missing = [t for t in tools if t is not None and shutil.which(t.program) is None]
    if missing and shutil.which("apt-get") is None:
        packages = " ".join(t.apt_package for t in missing)
        pytest.skip(
            f"NOT TESTED: {target.tag} needs {packages}, and this machine has no apt-get to "
            "install them (`make system-packages` on Debian)"
        )


@pytest.mark.parametrize("tag", CROSS_TAGS)
@pytest.mark.parametrize("name", MODELS)
def test_artifact_gives_the_hosts_outputs(
    artifact: Callable[[str, str], Path], name: str, tag: str
):
    target = get_target(tag)
    require_tools(target)
    outputs = target.run_artifact(artifact(name, tag), inputs_of(name), num_threads=THREADS)
    expected = host_outputs(name)
    assert len(outputs) == len(expected)
    for ours, host in zip(outputs, expected, strict=True):
        assert ours.dtype == host.dtype
        assert_close_to_reference(ours, host)


@pytest.mark.parametrize("tag", CROSS_TAGS)
def test_index_checks_and_the_command_line_on_every_target(
    tag: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    target = get_target(tag)
    require_tools(target)
    model = gather_model("ids")
    onnx.save(model, tmp_path / "gather.onnx")
    np.save(tmp_path / "ids.npy", np.array([3, -4], dtype=np.int64))
    feed = f"ids={tmp_path / 'ids.npy'}"
    saved = tmp_path / "rows.npz"
    args = ["run", str(tmp_path / "gather.onnx"), "--target", tag, "--input", feed]
    assert main([*args, "--output", str(saved)]) == 0
    np.testing.assert_array_equal(np.load(saved)["y"], [[9, 10, 11], [0, 1, 2]])
    folder = tmp_path / "artifact"
    compile_artifact(model, folder, tag, cache=False)
    with pytest.raises(IndexOutOfRangeError, match="node 'lookup' \\(Gather\\): index 4 "):
        target.run_artifact(folder, [np.array([0, 4], dtype=np.int64)])
    # the same from the command line: one line, exit status 1
    np.save(tmp_path / "ids.npy", np.array([-5, 0], dtype=np.int64))
    assert main(["run", str(folder), "--input", feed]) == 1
    assert (
        "terrace: error: node 'lookup' (Gather): index -5 is out of range"
        in capsys.readouterr().err
    )


def test_a_model_with_hundreds_of_weights_runs_on_riscv64(tmp_path: Path):
    """@main takes a pointer per weight; called with 600 of them, RISC-V's frame lowering
    aborted the process ("LLVM ERROR: Incomplete scavenging after 2nd pass", densenet121):
    the packed entry now inlines @main, so no call passes them on the stack."""
    count = 600
    rng = np.random.default_rng(3)
    weights = {f"w{i}": rng.uniform(-1, 1, 4).astype(np.float32) for i in range(count)}
    node = onnx.helper.make_node("Sum", ["x", *weights], ["y"])
    model = float_model([node], {"x": [4]}, {"y": [4]}, weights, "many_weights")
    target = get_target("riscv64")
    require_tools(target)
    compile_artifact(model, tmp_path, "riscv64", cache=False)
    x = np.arange(4, dtype=np.float32)
    (y,) = target.run_artifact(tmp_path, [x])
    expected = x + np.sum(list(weights.values()), axis=0, dtype=np.float32)
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)
