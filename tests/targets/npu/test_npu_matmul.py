"""MatMul, Gemm and QLinearMatMul on TNPU-1 (a 1x1 conv with M pixels): the npu target against
onnxruntime, the partition's reasons, and the layer programs against numpy."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import terrace
from terrace.runtime.npu_sim.layer import run_conv
from terrace.targets.npu.isa import NpuConfig
from terrace.targets.npu.layers import reference
from terrace.targets.npu.matmul import from_activation, matmul_geometry, to_activation
from terrace.targets.npu.partition import partition
from terrace.targets.npu.pipeline import compile_conv

from onnx_models import assert_close_to_reference, run_onnxruntime

RNG = np.random.default_rng(11)


def _float_model() -> onnx.ModelProto:
    """x (5, 40) -> MatMul B (40, 24) -> Add bias (24,) -> Relu -> Gemm (transB, C (1, 20))
    -> Gemm of a K = 12 operand (stays on the CPU) -> y (5, 7)."""

    def tensor(name: str, shape: tuple[int, ...]) -> onnx.TensorProto:
        return numpy_helper.from_array(RNG.uniform(-0.5, 0.5, shape).astype(np.float32), name)

    inits = [
        tensor("b0", (40, 24)),
        tensor("bias0", (24,)),
        tensor("b1", (20, 24)),
        tensor("c1", (1, 20)),
        tensor("w_small", (12, 7)),
    ]
    nodes = [
        helper.make_node("MatMul", ["x", "b0"], ["m0"], name="fc0"),
        helper.make_node("Add", ["m0", "bias0"], ["a0"], name="bias_add"),
        helper.make_node("Relu", ["a0"], ["r0"], name="relu0"),
        helper.make_node("Gemm", ["r0", "b1", "c1"], ["g1"], name="fc1", transB=1),
        helper.make_node("Slice", ["g1", "starts", "ends", "axes"], ["s1"], name="slice"),
        helper.make_node("Gemm", ["s1", "w_small"], ["y"], name="fc_small"),
    ]
    inits += [
        numpy_helper.from_array(np.array([0], np.int64), "starts"),
        numpy_helper.from_array(np.array([12], np.int64), "ends"),
        numpy_helper.from_array(np.array([1], np.int64), "axes"),
    ]
    graph = helper.make_graph(
        nodes,
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [5, 40])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [5, 7])],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_matmul_and_gemm_run_on_the_npu() -> None:
    model = _float_model()
    compiled = terrace.compile(model, target="npu", cache=False)
    x = RNG.standard_normal((5, 40)).astype(np.float32)
    (y,) = compiled(x)
    (expected,) = run_onnxruntime(model, {"x": x})
    assert_close_to_reference(y, expected)
    where = {p.node: (p.device, p.reason) for p in compiled.placements}  # type: ignore[attr-defined]
    # each nn op by the value it computes (m0: fc0's MatMul, a0: bias_add, r0: relu0, ...)
    assert where["m0"] == ("npu", "matmul layer mapped")
    assert where["a0"] == ("npu", "bias add fused into the matmul of @npu_region_0")
    assert where["r0"] == ("npu", "ReLU fused into the matmul of @npu_region_0")
    assert where["g1"] == ("npu", "matmul layer mapped")
    assert where["y"] == ("cpu", "K 12 < 16: the 16-lane GEMM would run 12/16 full")
    assert [r.name for r in compiled.last_runs] == ["npu_region_0", "npu_region_1"]  # type: ignore[attr-defined]


def test_gemm_the_npu_cannot_take_says_why() -> None:
    model = _float_model()
    fc1 = model.graph.node[3]
    fc1.attribute.append(helper.make_attribute("alpha", 2.0))
    where = {p.node: p for p in partition(model, "f32", NpuConfig()).placements}
    assert (where["fc1"].device, where["fc1"].reason) == (
        "cpu",
        "Gemm with alpha or beta other than 1",
    )
    model.graph.node[0].input[1] = "x"  # x @ x: B is not a constant
    model.graph.input[0].type.tensor_type.shape.dim[1].dim_value = 5
    where = {p.node: p for p in partition(model, "f32", NpuConfig()).placements}
    assert where["fc0"].reason == "B is not a constant initializer"


def _qlinear_model(zero_point: int) -> onnx.ModelProto:
    """x (f32, (9, 48)) -> QuantizeLinear -> QLinearMatMul B int8 (48, 40) -> int8 y."""
    b = RNG.integers(-128, 128, (48, 40)).astype(np.int8)
    inits = [
        numpy_helper.from_array(np.array(0.05, np.float32), "x_scale"),
        numpy_helper.from_array(np.array(0, np.int8), "zero"),
        numpy_helper.from_array(np.array(zero_point, np.int8), "b_zero"),
        numpy_helper.from_array(b, "b"),
        numpy_helper.from_array(np.array(0.02, np.float32), "b_scale"),
        numpy_helper.from_array(np.array(0.9, np.float32), "y_scale"),
        numpy_helper.from_array(np.array(-4, np.int8), "y_zero"),
    ]
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "x_scale", "zero"], ["q"], name="quantize"),
        helper.make_node(
            "QLinearMatMul",
            ["q", "x_scale", "zero", "b", "b_scale", "b_zero", "y_scale", "y_zero"],
            ["y"],
            name="qfc",
        ),
    ]
    graph = helper.make_graph(
        nodes,
        "qmlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [9, 48])],
        [helper.make_tensor_value_info("y", TensorProto.INT8, [9, 40])],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_qlinear_matmul_runs_in_i8_against_onnxruntime() -> None:
    model = _qlinear_model(0)
    compiled = terrace.compile(model, target="npu", cache=False)
    x = (RNG.standard_normal((9, 48)) * 3).astype(np.float32)
    (y,) = compiled(x)
    (expected,) = run_onnxruntime(model, {"x": x})
    assert y.dtype == np.int8
    np.testing.assert_array_equal(y, expected)
    assert len(np.unique(y)) > 50  # the requantized range is used
    where = {p.node: (p.device, p.reason) for p in compiled.placements}  # type: ignore[attr-defined]
    assert where["qfc"] == ("npu", "i8 matmul layer mapped")


def test_qlinear_matmul_with_a_weight_zero_point_stays_on_the_cpu() -> None:
    where = {p.node: p for p in partition(_qlinear_model(2), "f32", NpuConfig()).placements}
    assert (where["qfc"].device, where["qfc"].reason) == (
        "cpu",
        "non-zero input or weight zero point (out of scope for TNPU-1 v1)",
    )


@pytest.mark.parametrize(("m", "k", "n"), [(1, 2048, 1000), (49, 64, 33), (300, 16, 16)])
@pytest.mark.parametrize("dtype", ["i8", "f32"])
def test_matmul_layers_against_numpy(m: int, k: int, n: int, dtype: str) -> None:
    """ResNet-50's classifier (1 x 2048 x 1000), a ragged shape and a tall one: the program on
    the simulator (race detector on) against numpy's product, exact in i8 (int32
    accumulators), within rtol 1e-4 in f32."""
    layer = matmul_geometry(m, k, n, dtype)
    assert not isinstance(layer, str)
    if dtype == "i8":
        from dataclasses import replace

        layer = replace(layer, accumulators=True)
        a = RNG.integers(-128, 128, (m, k)).astype(np.int8)
        b = RNG.integers(-128, 128, (k, n)).astype(np.int8)
    else:
        a = RNG.standard_normal((m, k)).astype(np.float32)
        b = (RNG.standard_normal((k, n)) / np.sqrt(k)).astype(np.float32)
    program, _ = compile_conv(layer, NpuConfig())
    weight = np.ascontiguousarray(b.T)[:, :, None, None]
    out, _ = run_conv(program, layer, NpuConfig(), to_activation(a), weight, check_races=True)
    y = from_activation(out)
    if dtype == "i8":
        np.testing.assert_array_equal(y, a.astype(np.int64) @ b.astype(np.int64))
    else:
        np.testing.assert_allclose(y, a.astype(np.float64) @ b, rtol=1e-4, atol=1e-5)
        conv = reference(layer, to_activation(a), weight)
        np.testing.assert_allclose(from_activation(conv), a.astype(np.float64) @ b, rtol=1e-9)
