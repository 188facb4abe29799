"""conv-depthwise-kernel: compiled depthwise convolutions checked against onnxruntime (row
widths below, at and past the vector width, partial last vectors, strides 1 and 2, dilation,
asymmetric and large padding, kernels 1 to 7, batches, fused bias / relu / clip / residual
epilogues and an unfused sigmoid, f16 left to the generic path, two threads, the lanes and fma
options), and checks that the rewrite happened."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import terrace
from terrace import compiler
from terrace.compiler import StageTimer, compile_artifact, lower
from terrace.passes.conv_depthwise_kernel import ConvDepthwiseKernelPass
from terrace.targets import get_target, host_target
from terrace.targets.target import Pipeline, Stage, Target

from onnx_models import run_onnxruntime

RNG = np.random.default_rng(11)


def _model(
    channels: int,
    size: tuple[int, int],
    kernel: tuple[int, int],
    *,
    batch: int = 1,
    after: Sequence[str] = (),
    bias: bool = True,
    residual: bool = False,
    element: int = TensorProto.FLOAT,
    **attributes: object,
) -> onnx.ModelProto:
    """x (batch, channels, *size) -> depthwise Conv (+ bias) -> each op of `after` in turn
    (+ x when `residual`)."""
    dtype = np.float16 if element == TensorProto.FLOAT16 else np.float32
    w = RNG.standard_normal((channels, 1, *kernel)).astype(dtype)
    weights = [numpy_helper.from_array(w, "w")]
    inputs = ["x", "w"]
    if bias:
        weights.append(numpy_helper.from_array(RNG.standard_normal(channels).astype(dtype), "b"))
        inputs.append("b")
    nodes = [helper.make_node("Conv", inputs, ["h0"], group=channels, **attributes)]
    for index, op_type in enumerate(after):
        extra: list[str] = []
        if op_type == "Clip":
            for name, value in (("low", 0.0), ("high", 6.0)):
                weights.append(numpy_helper.from_array(np.array(value, dtype), name))
                extra.append(name)
        nodes.append(helper.make_node(op_type, [f"h{index}", *extra], [f"h{index + 1}"]))
    last = f"h{len(after)}"
    if residual:
        nodes.append(helper.make_node("Add", [last, "x"], ["out"]))
    else:
        nodes.append(helper.make_node("Identity", [last], ["out"]))
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", element, [batch, channels, *size])],
        [helper.make_tensor_value_info("out", element, None)],
        weights,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    return onnx.shape_inference.infer_shapes(model)


def _check(model: onnx.ModelProto, threads: int = 1) -> None:
    compiled = terrace.compile(model, num_threads=threads, cache=False)
    feeds = {
        spec.name: RNG.standard_normal(spec.shape).astype(spec.dtype) for spec in compiled.inputs
    }
    (expected,) = run_onnxruntime(model, feeds)
    (actual,) = compiled.run(feeds)
    scale = float(np.abs(expected).max()) or 1.0
    tolerance = 2e-3 if expected.dtype == np.float16 else 2e-5
    np.testing.assert_allclose(actual, expected, rtol=0, atol=tolerance * scale)


def _ops(model: onnx.ModelProto) -> list[str]:
    loops = lower(model, host_target(), "loops", StageTimer())
    return [op.name for op in loops.module.walk()]


def _rewritten(model: onnx.ModelProto) -> bool:
    """Whether the model's loops hold the kernel's vector FMAs (nothing else in these models
    has any) and no padded copy of the input."""
    names = _ops(model)
    return "vector.fma" in names and "memref.copy" not in names


CASES = {
    "3x3-pad1-56": dict(channels=8, size=(56, 56), kernel=(3, 3), pads=[1, 1, 1, 1]),
    "3x3-stride2-112": dict(
        channels=4, size=(112, 112), kernel=(3, 3), pads=[1, 1, 1, 1], strides=[2, 2]
    ),
    "5x5-7x7-narrow": dict(channels=16, size=(7, 7), kernel=(5, 5), pads=[2, 2, 2, 2]),
    "5x5-stride2-odd": dict(
        channels=6, size=(15, 15), kernel=(5, 5), pads=[2, 2, 2, 2], strides=[2, 2]
    ),
    "7x7-convnext": dict(channels=4, size=(20, 20), kernel=(7, 7), pads=[3, 3, 3, 3]),
    "no-pad-valid": dict(channels=3, size=(18, 33), kernel=(3, 3)),
    "asymmetric-pads": dict(channels=3, size=(10, 17), kernel=(3, 5), pads=[0, 2, 2, 1]),
    "dilation-2": dict(
        channels=5, size=(12, 21), kernel=(3, 3), pads=[2, 2, 2, 2], dilations=[2, 2]
    ),
    "same-upper-stride2": dict(
        channels=4, size=(9, 19), kernel=(3, 3), auto_pad="SAME_UPPER", strides=[2, 2]
    ),
    "row-stride-3": dict(
        channels=2, size=(13, 16), kernel=(3, 3), pads=[1, 1, 1, 1], strides=[3, 1]
    ),
    "pad-wider-than-kernel": dict(channels=2, size=(5, 6), kernel=(2, 2), pads=[3, 3, 3, 3]),
    "1x1": dict(channels=7, size=(6, 40), kernel=(1, 1)),
    "one-column": dict(channels=3, size=(9, 1), kernel=(3, 1), pads=[1, 0, 1, 0]),
    "batch-3": dict(channels=5, size=(11, 11), kernel=(3, 3), pads=[1, 1, 1, 1], batch=3),
}


@pytest.mark.parametrize("case", CASES.values(), ids=list(CASES))
def test_matches_onnxruntime(case: dict[str, object]) -> None:
    model = _model(**case)  # pyright: ignore[reportArgumentType]
    _check(model)
    assert _rewritten(model)


@pytest.mark.parametrize(
    ("after", "residual"),
    [(("Relu",), False), (("Clip",), False), (("Relu",), True), (("Sigmoid",), False)],
    ids=["relu", "relu6", "relu-residual", "sigmoid-unfused"],
)
def test_epilogues(after: tuple[str, ...], residual: bool) -> None:
    model = _model(
        12, (14, 30), (3, 3), pads=[1, 1, 1, 1], after=after, residual=residual, bias=True
    )
    _check(model)
    names = _ops(model)
    assert "vector.fma" in names
    # relu and clip run on the accumulators (vector maximumf); the sigmoid is not fused and
    # stays a scalar loop of its own
    vector_max = any(
        op.name == "arith.maximumf" and "vector" in str(op.results[0].type)
        for op in lower(model, host_target(), "loops", StageTimer()).module.walk()
    )
    assert vector_max == ("Relu" in after or "Clip" in after)
    assert ("math.exp" in names) == ("Sigmoid" in after)


def test_without_bias_two_threads() -> None:
    model = _model(48, (28, 28), (3, 3), pads=[1, 1, 1, 1], bias=False, after=("Relu",))
    _check(model, threads=2)
    assert "scf.parallel" in _ops(model)


def test_float16_stays_generic() -> None:
    model = _model(4, (9, 9), (3, 3), pads=[1, 1, 1, 1], element=TensorProto.FLOAT16)
    _check(model)
    assert "vector.fma" not in _ops(model)


def _host_with(replacement: ConvDepthwiseKernelPass) -> Target:
    """The host target, its conv-depthwise-kernel replaced by `replacement`."""
    pipeline = host_target().pipeline()
    stages = (
        Stage(s.name, tuple(replacement if p.name == replacement.name else p for p in s.passes))
        for s in pipeline.stages
    )
    return host_target().with_pipeline(Pipeline(tuple(stages)))


@pytest.mark.parametrize("fma", [True, False])
def test_lanes_and_fma_options(monkeypatch: pytest.MonkeyPatch, fma: bool) -> None:
    """4 lanes (a 128-bit vector unit), with and without fused multiply-adds: the kernel's
    vectors follow the option and the results still match."""
    model = _model(3, (10, 13), (3, 3), pads=[1, 1, 1, 1], strides=[1, 2], after=("Relu",))
    target = _host_with(ConvDepthwiseKernelPass(lanes=4, fma=fma))
    module = lower(model, target, "loops", StageTimer()).module
    vector_types = {str(r.type) for op in module.walk() for r in op.results}
    assert "vector<4xf32>" in vector_types and "vector<16xf32>" not in vector_types
    assert any(op.name == "vector.fma" for op in module.walk()) == fma
    monkeypatch.setattr(compiler, "get_target", lambda tag=None: target)
    _check(model)


@pytest.mark.parametrize("tag", ["aarch64", "wasm32", "x86_64-avx2"])
def test_other_vector_units(tag: str, tmp_path: Path) -> None:
    """The kernel with each target's lanes (4 on NEON and wasm simd128, 8 on AVX2), run as
    that target's artifact (qemu-user, Node.js, the host): partial vectors, stride 2 shuffles
    and border rows, against onnxruntime."""
    target = get_target(tag)
    tools = [getattr(target, "linker", None), target.runner.tool]
    missing = [t.apt_package for t in tools if t is not None and shutil.which(t.program) is None]
    if missing and shutil.which("apt-get") is None:  # as tests/targets/test_cross_targets.py
        pytest.skip(f"NOT TESTED: {tag} needs {missing}, and this machine has no apt-get")
    assert not missing, f"{tag} needs {missing} (`make system-packages`)"
    model = _model(6, (11, 21), (3, 3), pads=[1, 1, 1, 1], strides=[2, 2], after=("Relu",))
    x = RNG.standard_normal((1, 6, 11, 21)).astype(np.float32)
    compile_artifact(model, tmp_path, tag, cache=False)
    (actual,) = target.run_artifact(tmp_path, [x], num_threads=2)
    (expected,) = run_onnxruntime(model, {"x": x})
    np.testing.assert_allclose(actual, expected, rtol=0, atol=2e-5 * float(np.abs(expected).max()))
