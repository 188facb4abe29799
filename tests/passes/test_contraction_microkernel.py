"""contraction-microkernel: compiled models whose contractions become packed vector tiles,
checked against onnxruntime (tile edges in M and N, batch dims, convolution windows, strides
and padding, fused bias / relu / residual epilogues), and checks that the rewrite happened."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

import terrace
from terrace.compiler import StageTimer, lower
from terrace.targets import host_target

from onnx_models import float_graph_model as _model
from onnx_models import run_onnxruntime

RNG = np.random.default_rng(7)


def _weight(name: str, shape: Sequence[int]) -> onnx.TensorProto:
    return numpy_helper.from_array(RNG.standard_normal(shape).astype(np.float32), name)


def _check(model: onnx.ModelProto, threads: int = 1) -> None:
    compiled = terrace.compile(model, num_threads=threads)
    feeds = {
        spec.name: RNG.standard_normal(spec.shape).astype(np.float32) for spec in compiled.inputs
    }
    (expected,) = run_onnxruntime(model, feeds)
    (actual,) = compiled.run(feeds)
    scale = float(np.abs(expected).max()) or 1.0
    np.testing.assert_allclose(actual, expected, rtol=0, atol=2e-5 * scale)


def _vector_fmas(model: onnx.ModelProto) -> int:
    loops = lower(model, host_target(), "loops", StageTimer())
    return sum(op.name == "vector.fma" for op in loops.module.walk())


def _gemm(m: int, k: int, n: int) -> onnx.ModelProto:
    nodes = [
        helper.make_node("Gemm", ["x", "w", "b"], ["y"]),
        helper.make_node("Relu", ["y"], ["out"]),
    ]
    return _model(nodes, {"x": (m, k)}, [_weight("w", (k, n)), _weight("b", (n,))])


@pytest.mark.parametrize(
    ("m", "k", "n"),
    [(64, 48, 64), (37, 19, 50), (9, 130, 16), (70, 33, 97)],
    ids=["whole-tiles", "both-edges", "one-panel", "partial-last-vector"],
)
def test_gemm_bias_relu(m: int, k: int, n: int) -> None:
    model = _gemm(m, k, n)
    _check(model)
    assert _vector_fmas(model) > 0


def test_gemm_transposed_b_two_threads() -> None:
    nodes = [helper.make_node("Gemm", ["x", "w"], ["out"], transB=1, alpha=0.5)]
    _check(_model(nodes, {"x": (45, 64)}, [_weight("w", (80, 64))]), threads=2)


def test_batched_matmul_with_residual_add() -> None:
    nodes = [
        helper.make_node("MatMul", ["x", "y"], ["p"]),
        helper.make_node("Add", ["p", "r"], ["out"]),
    ]
    model = _model(nodes, {"x": (3, 20, 24), "y": (3, 24, 40), "r": (3, 20, 40)}, [])
    _check(model)
    assert _vector_fmas(model) > 0


@pytest.mark.parametrize(
    ("stride", "pads", "kernel"),
    [(1, 1, 3), (2, 1, 3), (1, 0, 1), (2, 3, 7)],
    ids=["3x3", "3x3-stride2", "1x1", "7x7-stride2"],
)
def test_conv_bias_relu(stride: int, pads: int, kernel: int) -> None:
    nodes = [
        helper.make_node(
            "Conv",
            ["x", "w", "b"],
            ["c"],
            strides=[stride, stride],
            pads=[pads] * 4,
            kernel_shape=[kernel, kernel],
        ),
        helper.make_node("Relu", ["c"], ["out"]),
    ]
    weights = [_weight("w", (24, 5, kernel, kernel)), _weight("b", (24,))]
    model = _model(nodes, {"x": (2, 5, 13, 11)}, weights)
    _check(model)
    assert _vector_fmas(model) > 0


def test_conv_batchnorm_residual() -> None:
    channels = 16
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
        helper.make_node("BatchNormalization", ["c", "s", "bias", "mean", "var"], ["n"]),
        helper.make_node("Add", ["n", "x"], ["a"]),
        helper.make_node("Relu", ["a"], ["out"]),
    ]
    weights = [_weight("w", (channels, channels, 3, 3))]
    weights += [_weight(name, (channels,)) for name in ("s", "bias", "mean")]
    weights.append(numpy_helper.from_array(RNG.uniform(0.5, 2, channels).astype(np.float32), "var"))
    _check(_model(nodes, {"x": (1, channels, 9, 9)}, weights))


def test_depthwise_convolution_is_left_to_its_own_kernel() -> None:
    """No M dim: contraction-microkernel leaves it (conv-depthwise-kernel rewrites it)."""
    nodes = [helper.make_node("Conv", ["x", "w"], ["out"], group=8, kernel_shape=[3, 3])]
    model = _model(nodes, {"x": (1, 8, 20, 20)}, [_weight("w", (8, 1, 3, 3))])
    _check(model)
    pipeline = host_target().pipeline().without("conv-depthwise-kernel")
    loops = lower(model, host_target().with_pipeline(pipeline), "loops", StageTimer())
    assert not any(op.name == "vector.fma" for op in loops.module.walk())


def test_weights_packed_by_gather_match_the_transposed_reshape(monkeypatch: pytest.MonkeyPatch):
    """Compile-time packing of a weight: the general gather (any affine map) and the fast
    transpose-and-reshape (permutation maps) give the same panels, zero padded."""
    from terrace.dialects.context import parse_module
    from terrace.dialects.nn.weights import WeightStore
    from terrace.passes import contraction_weights
    from terrace.passes.contraction_microkernel import ContractionMicrokernelPass

    text = """
    #a = affine_map<(d0, d1, d2) -> (d0, d2)>
    #b = affine_map<(d0, d1, d2) -> (d1, d2)>
    #c = affine_map<(d0, d1, d2) -> (d0, d1)>
    func.func @main(%x: memref<13x24xf32>, %out: memref<13x40xf32>, %w: memref<40x24xf32>,
                    %workspace: memref<0xi8>) attributes {terrace.num_inputs = 1 : i64,
        terrace.num_outputs = 1 : i64, terrace.weights = ["w"], terrace.workspace_bytes = 0 : i64} {
      linalg.generic {indexing_maps = [#a, #b, #c],
                      iterator_types = ["parallel", "parallel", "reduction"]}
          ins(%x, %w : memref<13x24xf32>, memref<40x24xf32>) outs(%out : memref<13x40xf32>) {
      ^bb0(%l: f32, %r: f32, %s: f32):
        %p = arith.mulf %l, %r : f32
        %q = arith.addf %p, %s : f32
        linalg.yield %q : f32
      }
      func.return
    }
    """
    weight = RNG.standard_normal((40, 24)).astype(np.float32)

    def packed() -> np.ndarray:
        module = parse_module(text)
        WeightStore({"w": weight}).attach(module)
        ContractionMicrokernelPass().apply(None, module)  # type: ignore[arg-type]
        return WeightStore.of(module)["packed_rhs"]

    fast = packed()
    monkeypatch.setattr(contraction_weights, "_as_matrix", lambda *_: None)
    gathered = packed()
    np.testing.assert_array_equal(fast, gathered)
    # B = w^T as panels [N/32][K][32]: column n of panel p is w[32 p + n], zeros past N = 40
    assert fast.shape == (2, 24, 32)
    np.testing.assert_array_equal(fast[1, :, :8], weight[32:].T)
    assert not fast[1, :, 8:].any()
