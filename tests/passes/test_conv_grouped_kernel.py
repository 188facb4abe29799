"""conv-grouped-kernel: compiled grouped 1x1 convolutions checked against the nn reference
(the importer's IR run by the reference interpreter) and onnxruntime: group counts, channels
per group that the row blocks do not divide, pixel counts below, at and past a tile with a
partial last vector, batches, fused bias / batchnorm / relu / residual epilogues, one and two
threads; and checks that the rewrite happened (and that grouped convs with a window, and
f16, stay on their other paths)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import onnx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

import terrace
from terrace.compiler import StageTimer, lower
from terrace.dialects.nn.interpreter import run_function
from terrace.frontend.onnx import import_model
from terrace.targets import host_target

from onnx_models import assert_close_to_reference, run_onnxruntime


def _model(
    groups: int,
    group_in: int,
    group_out: int,
    size: tuple[int, int],
    *,
    seed: int = 0,
    batch: int = 1,
    after: Sequence[str] = (),
    bias: bool = True,
    residual: bool = False,
    kernel: int = 1,
    element: int = TensorProto.FLOAT,
) -> onnx.ModelProto:
    """x (batch, groups * group_in, *size) -> grouped Conv (+ bias) -> each op of `after`
    (Relu, BatchNormalization) in turn (+ x when `residual`, which needs group_in ==
    group_out)."""
    rng = np.random.default_rng(seed)
    dtype = np.float16 if element == TensorProto.FLOAT16 else np.float32
    channels, out_channels = groups * group_in, groups * group_out
    shape = (out_channels, group_in, kernel, kernel)
    weights = [numpy_helper.from_array(rng.standard_normal(shape).astype(dtype), "w")]
    inputs = ["x", "w"]
    if bias:
        weights.append(
            numpy_helper.from_array(rng.standard_normal(out_channels).astype(dtype), "b")
        )
        inputs.append("b")
    pads = [kernel // 2] * 4
    nodes = [helper.make_node("Conv", inputs, ["h0"], group=groups, pads=pads)]
    for index, op_type in enumerate(after):
        extra: list[str] = []
        if op_type == "BatchNormalization":
            for name, low in (("scale", 0.5), ("shift", -1.0), ("mean", -1.0), ("var", 0.5)):
                values = rng.uniform(low, low + 1.0, out_channels).astype(dtype)
                weights.append(numpy_helper.from_array(values, f"{name}{index}"))
                extra.append(f"{name}{index}")
        nodes.append(helper.make_node(op_type, [f"h{index}", *extra], [f"h{index + 1}"]))
    last = f"h{len(after)}"
    final = "Add" if residual else "Identity"
    nodes.append(helper.make_node(final, [last, "x"] if residual else [last], ["out"]))
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", element, [batch, channels, *size])],
        [helper.make_tensor_value_info("out", element, None)],
        weights,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    return onnx.shape_inference.infer_shapes(model)


def _check(model: onnx.ModelProto, threads: int = 1, target: str | None = None) -> None:
    """Compiled Terrace against the nn reference on the imported model and onnxruntime."""
    compiled = terrace.compile(model, target, num_threads=threads, cache=False)
    rng = np.random.default_rng(3)
    feeds = {s.name: rng.standard_normal(s.shape).astype(s.dtype) for s in compiled.inputs}
    (actual,) = compiled.run(feeds)
    imported = import_model(model)
    (reference,) = run_function(imported.module, [feeds[s.name] for s in imported.inputs])
    (expected,) = run_onnxruntime(model, feeds)
    assert_close_to_reference(np.asarray(reference), expected)
    assert_close_to_reference(actual, np.asarray(reference))


def _ops(model: onnx.ModelProto) -> list[str]:
    return [op.name for op in lower(model, host_target(), "loops", StageTimer()).module.walk()]


CASES = {
    "shufflenet-28": dict(groups=4, group_in=34, group_out=34, size=(28, 28), after=["Relu"]),
    "7x7-partial-tile": dict(groups=4, group_in=9, group_out=13, size=(7, 7)),
    "one-pixel": dict(groups=3, group_in=2, group_out=5, size=(1, 1)),
    "exact-tiles": dict(groups=2, group_in=4, group_out=6, size=(8, 8), bias=False),
    "batch-2-batchnorm": dict(
        groups=2, group_in=5, group_out=7, size=(5, 9), batch=2, after=["BatchNormalization"]
    ),
    "residual-relu": dict(
        groups=4, group_in=6, group_out=6, size=(9, 11), after=["Relu"], residual=True
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=list(CASES))
def test_matches_the_reference(case: dict[str, object]) -> None:
    _check(_model(**case))  # pyright: ignore[reportArgumentType]


def test_two_threads() -> None:
    _check(_model(4, 17, 17, (14, 14), after=["Relu"]), threads=2)


def test_avx2_tiles() -> None:
    """AVX2's 16 registers: 6 rows of 2 vectors of 8 lanes (this host runs AVX2 code)."""
    _check(_model(2, 7, 11, (5, 13), after=["Relu"]), target="x86_64-avx2")


@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
@given(
    groups=st.integers(2, 5),
    group_in=st.integers(1, 9),
    group_out=st.integers(1, 9),
    height=st.integers(1, 9),
    width=st.integers(1, 23),
    relu=st.booleans(),
)
def test_any_group_count_and_size(
    groups: int, group_in: int, group_out: int, height: int, width: int, relu: bool
) -> None:
    after = ["Relu"] if relu else []
    _check(_model(groups, group_in, group_out, (height, width), after=after))


def test_the_kernel_replaces_the_generic_and_fuses_bias_and_relu() -> None:
    """One scf.parallel of vector FMAs; the bias fill and the relu leave no loops of their
    own (a loop nest per op would bring scf.for loops outside the parallel one)."""
    names = _ops(_model(4, 8, 8, (6, 6), after=["Relu"]))
    assert "vector.fma" in names
    assert names.count("scf.parallel") == 1
    assert "linalg.generic" not in names


def test_a_grouped_conv_with_a_window_is_left_to_the_microkernel() -> None:
    """A 3x3 grouped conv keeps the expanded (n, g, ...) form whose group is an outer loop
    of contraction-microkernel's tiles; the 1x1 one has no expanded view."""
    windowed = _ops(_model(2, 8, 8, (12, 12), kernel=3))
    pointwise = _ops(_model(2, 8, 8, (12, 12), kernel=1))
    assert "vector.fma" in windowed and "memref.expand_shape" in windowed
    assert "memref.expand_shape" not in pointwise


def test_float16_stays_on_loops() -> None:
    model = _model(2, 3, 3, (4, 4), element=TensorProto.FLOAT16)
    assert "vector.fma" not in _ops(model)
    compiled = terrace.compile(model, cache=False)
    x = np.random.default_rng(4).standard_normal((1, 6, 4, 4)).astype(np.float16)
    (actual,) = compiled.run({"x": x})
    (expected,) = run_onnxruntime(model, {"x": x})
    np.testing.assert_allclose(actual, expected, rtol=0, atol=2e-2 * float(np.abs(expected).max()))
