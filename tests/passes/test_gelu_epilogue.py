"""GELU (erf form, and the tanh approximation) after a MatMul + bias runs in the micro-kernel's
fused epilogue (contraction-microkernel), erf and tanh expanded in f32 on vectors: compiled to
native code and checked against onnx's reference evaluator, with M and N whole tiles (the
epilogue on registers) and not (the staging buffer's copy-back loop); and after depthwise and
grouped convolutions, whose kernels take the same epilogue."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

import terrace
from terrace.compiler import StageTimer, lower
from terrace.targets import get_target, host_target
from terrace.targets.llvm import LlvmTarget
from terrace.tuning.analytical import default_config
from terrace.tuning.config import GemmShape
from terrace.tuning.target_info import target_info


def _mlp_gelu(m: int, k: int, n: int, approximate: str) -> tuple[onnx.ModelProto, np.ndarray]:
    rng = np.random.default_rng(m * 1000 + n)
    weight = (rng.standard_normal((k, n)) / np.sqrt(k)).astype(np.float32)
    bias = rng.standard_normal(n).astype(np.float32)
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["y"]),
        helper.make_node("Add", ["y", "b"], ["z"]),
        helper.make_node("Gelu", ["z"], ["out"], approximate=approximate),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [m, k])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [m, n])],
        [numpy_helper.from_array(weight, "w"), numpy_helper.from_array(bias, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
    # wide enough to reach both pieces of erf and tanh, and their saturation
    x = (rng.standard_normal((m, k)) * 3).astype(np.float32)
    return model, x


@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize(("m", "n"), [(12, 64), (7, 40)])
def test_matmul_gelu_matches_onnx_reference(m: int, n: int, approximate: str):
    model, x = _mlp_gelu(m, 24, n, approximate)
    (expected,) = ReferenceEvaluator(model).run(None, {"x": x})
    (actual,) = terrace.compile(model, cache=False).run({"x": x})
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-5)


def _whole_tiles(target: LlvmTarget, k: int) -> tuple[int, int]:
    """An (M, N) whose untuned tile (the analytical default, which depends on the shape)
    divides both: two tiles each way, found from 12 x 64 on."""
    info = target_info(target)
    m, n = 12, 64
    for _ in range(4):
        tile = default_config(GemmShape(m, n, k), info)
        if m % tile.mr == 0 and n % tile.nr == 0:
            return m, n
        m, n = 2 * tile.mr, 2 * tile.nr
    raise AssertionError(f"no whole-tile shape found for {target.tag}")


@pytest.mark.parametrize("tag", ["host", "x86_64-avx2"])
@pytest.mark.parametrize(("approximate", "function"), [("none", "math.erf"), ("tanh", "math.tanh")])
def test_gelu_is_in_the_epilogue_on_vectors(approximate: str, function: str, tag: str):
    """Whole tiles (of the target's own tile: 512- or 256-bit vectors): the GELU is applied to
    the accumulators' vectors; no elementwise loop is left after the contraction."""
    target = host_target() if tag == "host" else get_target(tag)
    assert isinstance(target, LlvmTarget)
    m, n = _whole_tiles(target, 24)
    model, _ = _mlp_gelu(m, 24, n, approximate)
    module = lower(model, target, "loops", StageTimer()).module
    applied = [op for op in module.walk() if op.name == function]
    assert applied and all("vector<" in str(op.results[0].type) for op in applied)


@pytest.mark.parametrize(("group", "kernel"), [(16, 3), (4, 1)], ids=["depthwise", "grouped"])
def test_conv_gelu_matches_onnx_reference(group: int, kernel: int):
    """The depthwise and grouped-conv kernels take the same epilogue (find_fusion)."""
    rng = np.random.default_rng(group)
    weight = rng.standard_normal((16, 16 // group, kernel, kernel)).astype(np.float32)
    bias = rng.standard_normal(16).astype(np.float32)
    conv = helper.make_node(
        "Conv",
        ["x", "w", "b"],
        ["c"],
        group=group,
        kernel_shape=[kernel] * 2,
        pads=[kernel // 2] * 4,
    )
    graph = helper.make_graph(
        [conv, helper.make_node("Gelu", ["c"], ["out"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16, 9, 11])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 16, 9, 11])],
        [numpy_helper.from_array(weight, "w"), numpy_helper.from_array(bias, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
    x = (rng.standard_normal((1, 16, 9, 11)) * 2).astype(np.float32)
    (expected,) = ReferenceEvaluator(model).run(None, {"x": x})
    (actual,) = terrace.compile(model, cache=False).run({"x": x})
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-5)
