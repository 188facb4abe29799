"""contraction-microkernel's cache blocks (kc, mc, nc) and B read in place, by differential
execution against onnxruntime: random GEMM shapes with K not a multiple of kc, M and N not a
multiple of the tile or of the blocks, fused bias / relu / residual epilogues, one and two
threads; and the structure that shows blocks and in-place reads happened."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import onnx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx import helper, numpy_helper
from xdsl.dialects.builtin import DictionaryAttr, IntegerAttr, ModuleOp

import terrace
from terrace.compiler import StageTimer, lower
from terrace.dialects.context import terrace_context
from terrace.passes.contraction_microkernel import CONFIG_ATTR, ContractionMicrokernelPass
from terrace.targets import get_target, host_target
from terrace.targets.target import Target
from terrace.tuning.apply import with_config
from terrace.tuning.config import KernelConfig
from terrace.tuning.target_info import target_info
from terrace.tuning.tasks import extract_tasks

from onnx_models import float_graph_model as _model
from onnx_models import run_onnxruntime

TOLERANCE = 2e-5
"""max |terrace - onnxruntime| over max |onnxruntime|: the unblocked tests' bound."""


def _blocked(config: KernelConfig) -> Target:
    """The host target with `config` forced on every contraction."""
    return with_config(host_target(), "", config)


def _check(model: onnx.ModelProto, target: Target, seed: int, threads: int = 1) -> None:
    rng = np.random.default_rng(seed)
    compiled = terrace.compile(model, target, threads, cache=False)
    feeds = {
        spec.name: rng.standard_normal(spec.shape).astype(np.float32) for spec in compiled.inputs
    }
    (expected,) = run_onnxruntime(model, feeds)
    (actual,) = compiled.run(feeds)
    scale = float(np.abs(expected).max()) or 1.0
    np.testing.assert_allclose(actual, expected, rtol=0, atol=TOLERANCE * scale)


def _gemm(m: int, k: int, n: int, epilogue: str, seed: int) -> onnx.ModelProto:
    rng = np.random.default_rng(seed)
    weights = [
        numpy_helper.from_array(rng.standard_normal((k, n)).astype(np.float32), "w"),
        numpy_helper.from_array(rng.standard_normal((n,)).astype(np.float32), "b"),
    ]
    inputs: dict[str, Sequence[int]] = {"x": (m, k)}
    if epilogue == "none":
        return _model([helper.make_node("MatMul", ["x", "w"], ["out"])], inputs, weights[:1])
    nodes = [helper.make_node("Gemm", ["x", "w", "b"], ["y"])]
    if epilogue == "relu":
        nodes.append(helper.make_node("Relu", ["y"], ["out"]))
    else:
        inputs["r"] = (m, n)
        nodes.append(helper.make_node("Add", ["y", "r"], ["out"]))
    return _model(nodes, inputs, weights)


LANES = host_target().microkernel().lanes


@st.composite
def blocked_configs(draw: st.DrawFn) -> KernelConfig:
    mr = draw(st.integers(1, 6))
    nr_vectors = draw(st.integers(1, 2))
    order = draw(st.sampled_from(["mn", "nm"]))
    kc = draw(st.integers(1, 40))
    mc = mr * draw(st.integers(1, 3))
    nc = nr_vectors * LANES * draw(st.integers(1, 3))
    return KernelConfig(mr, nr_vectors, LANES, order, kc, mc, nc)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    config=blocked_configs(),
    m=st.integers(1, 40),
    k=st.integers(2, 90),
    n=st.integers(LANES, 3 * LANES + 5),
    epilogue=st.sampled_from(["none", "relu", "residual"]),
    seed=st.integers(0, 2**16),
)
def test_blocked_gemm_matches_onnxruntime(
    config: KernelConfig, m: int, k: int, n: int, epilogue: str, seed: int
) -> None:
    _check(_gemm(m, k, n, epilogue, seed), _blocked(config), seed)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    config=blocked_configs(),
    batch=st.integers(1, 3),
    m=st.integers(1, 20),
    k=st.integers(2, 50),
    n_tiles=st.integers(1, 3),
    residual=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_blocked_matmul_of_activations_reads_b_in_place(
    config: KernelConfig, batch: int, m: int, k: int, n_tiles: int, residual: bool, seed: int
) -> None:
    """Both operands are inputs (attention's scores x V): B is [batch][K][N] with N a whole
    number of tiles, read where it is; the residual add reads neither A nor B."""
    n = n_tiles * config.nr
    nodes = [helper.make_node("MatMul", ["x", "y"], ["p" if residual else "out"])]
    inputs: dict[str, Sequence[int]] = {"x": (batch, m, k), "y": (batch, k, n)}
    if residual:
        nodes.append(helper.make_node("Add", ["p", "r"], ["out"]))
        inputs["r"] = (batch, m, n)
    _check(_model(nodes, inputs, []), _blocked(config), seed, threads=2)


def test_blocked_conv_1x1_and_3x3_with_batchnorm_relu() -> None:
    """Convolutions in their implicit-GEMM form with blocks: the 1x1 reads its input in place
    (N = 8 x 8 pixels), the 3x3 packs its im2col rows; K = 24 and 216 in blocks of 20."""
    rng = np.random.default_rng(3)
    for kernel in (1, 3):
        nodes = [
            helper.make_node(
                "Conv", ["x", "w", "b"], ["c"], kernel_shape=[kernel] * 2, pads=[kernel // 2] * 4
            ),
            helper.make_node("Relu", ["c"], ["out"]),
        ]
        weights = [
            numpy_helper.from_array(
                rng.standard_normal((20, 24, kernel, kernel)).astype(np.float32), "w"
            ),
            numpy_helper.from_array(rng.standard_normal((20,)).astype(np.float32), "b"),
        ]
        model = _model(nodes, {"x": (2, 24, 8, 8)}, weights)
        _check(model, _blocked(KernelConfig(4, 1, LANES, "mn", 20, 8, LANES)), seed=kernel)


def _after_microkernels(model: onnx.ModelProto, target: Target) -> ModuleOp:
    """The model right after contraction-microkernel (before memory-plan's arena)."""
    module = lower(model, target, "linalg", StageTimer()).module
    ctx = terrace_context()
    for module_pass in target.pipeline().stage("memrefs").passes:
        module_pass.apply(ctx, module)
        if isinstance(module_pass, ContractionMicrokernelPass):
            return module
    raise AssertionError("the pipeline has no contraction-microkernel")


def _memref_ops(model: onnx.ModelProto, target: Target) -> list[str]:
    return [op.name for op in _after_microkernels(model, target).walk()]


def test_k_blocks_keep_the_sums_in_the_output_and_b_is_not_copied() -> None:
    """K = 100 in blocks of 32: four K blocks, each a parallel grid; the sums between blocks
    go to the output (no staging buffer: M and N are whole tiles); B, an input already laid
    out [K][N], is read in place: the only allocation is A's panels."""
    nodes = [
        helper.make_node("MatMul", ["x", "y"], ["p"]),
        helper.make_node("Relu", ["p"], ["out"]),
    ]
    n = 2 * LANES
    model = _model(nodes, {"x": (16, 100), "y": (100, n)}, [])
    config = KernelConfig(4, 2, LANES, "mn", 32, 0, 0)
    memrefs = _after_microkernels(model, _blocked(config))
    allocations = [op for op in memrefs.walk() if op.name == "memref.alloc"]
    assert len(allocations) == 1, [str(op.results[0].type) for op in allocations]
    assert str(allocations[0].results[0].type) == "memref<4x100x4xf32>"
    names = _memref_ops(model, _blocked(config))
    assert names.count("scf.if") >= 2, "the first K block starts at zero, the last one stores"
    unblocked = _memref_ops(model, _blocked(KernelConfig(4, 2, LANES, "mn", 100, 0, 0)))
    assert "scf.if" not in unblocked


def test_tiles_past_the_last_row_store_only_rows_of_c() -> None:
    """M = 22 output channels in 6-row panels, N = 8 x 8 pixels (whole tiles), K = 40 in
    blocks of 16, bias + residual + relu: the tiles keep their sums in the output between K
    blocks and store the rows inside C directly (no staging buffer, no copy-back), and the
    result matches onnxruntime; with 2 threads as well."""
    rng = np.random.default_rng(11)
    channels, out_channels = 40, 22
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], kernel_shape=[1, 1]),
        helper.make_node("Add", ["c", "r"], ["a"]),
        helper.make_node("Relu", ["a"], ["out"]),
    ]
    weights = [
        numpy_helper.from_array(
            rng.standard_normal((out_channels, channels, 1, 1)).astype(np.float32), "w"
        ),
        numpy_helper.from_array(rng.standard_normal((out_channels,)).astype(np.float32), "b"),
    ]
    inputs = {"x": (1, channels, 8, 8), "r": (1, out_channels, 8, 8)}
    model = _model(nodes, inputs, weights)
    for kc in (16, channels):
        config = KernelConfig(6, 1, LANES, "mn", kc, 0, 0)
        target = _blocked(config)
        allocations = [
            str(op.results[0].type)
            for op in _after_microkernels(model, target).walk()
            if op.name == "memref.alloc"
        ]
        # only A's panels when A is not packed at compile time; never a 24 x 64 staging buffer
        assert not any("24x64" in a for a in allocations), allocations
        for threads in (1, 2):
            _check(model, target, seed=kc + threads, threads=threads)


def _conv_relu(channels: int, out_channels: int, kernel: int, size: int) -> onnx.ModelProto:
    rng = np.random.default_rng(kernel)
    nodes = [
        helper.make_node(
            "Conv", ["x", "w", "b"], ["c"], kernel_shape=[kernel] * 2, pads=[kernel // 2] * 4
        ),
        helper.make_node("Relu", ["c"], ["out"]),
    ]
    shape = (out_channels, channels, kernel, kernel)
    weights = [
        numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32), "w"),
        numpy_helper.from_array(rng.standard_normal((out_channels,)).astype(np.float32), "b"),
    ]
    return _model(nodes, {"x": (1, channels, size, size)}, weights)


def _tuned_configs(model: onnx.ModelProto, target: Target) -> list[dict[str, int]]:
    """The integer entries of each contraction's `terrace.config` (apply-tuning's choice)."""
    module = lower(model, target, "linalg", StageTimer()).module
    ctx = terrace_context()
    for module_pass in target.pipeline().stage("memrefs").passes:
        if isinstance(module_pass, ContractionMicrokernelPass):
            break
        module_pass.apply(ctx, module)
    found: list[dict[str, int]] = []
    for op in module.walk():
        config = op.attributes.get(CONFIG_ATTR)
        if isinstance(config, DictionaryAttr):
            entries = config.data.items()
            found.append({k: v.value.data for k, v in entries if isinstance(v, IntegerAttr)})
    return found


def test_avx2_default_streams_convolution_rows_from_l2_and_matches_onnxruntime() -> None:
    """Untuned x86_64-avx2 (the analytical default): a 3x3 convolution's im2col rows (K 144,
    N 4096 pixels, 2.3 MiB) and a 1x1 convolution's input read in place (K 64, 1 MiB) are B
    read as rows: 6 x 16 tiles, B streamed from half of L2 in N blocks of whole tiles."""
    if "avx2" not in getattr(host_target(), "features", ""):
        pytest.skip("this host has no AVX2: x86_64-avx2 code cannot run here")
    avx2 = get_target("x86_64-avx2")
    for channels, kernel in ((16, 3), (64, 1)):
        model = _conv_relu(channels, 32, kernel, 64)
        (config,) = _tuned_configs(model, avx2)
        k = channels * kernel * kernel
        assert (config["mr"], config["nr_vectors"], config["lanes"]) == (6, 2, 8)
        assert config["kc"] == k and config["nc"] % 16 == 0 and config["nc"] < 4096
        assert k * config["nc"] * 4 <= 512 * 1024
        _check(model, avx2, seed=kernel)
    # the tuner's trial 0 is the tile the compile uses
    (task,) = extract_tasks(model, avx2, target_info(avx2))
    assert (task.default.mr, task.default.nr_vectors, task.default.lanes) == (6, 2, 8)
