"""convert-nn-to-linalg, contractions and pooling: differential tests on random inputs.

Each case is a one-node ONNX model, imported to nn, lowered, and run through the stage-2
executor (which generalizes named ops first); the oracle is the nn reference on the nn module,
or onnxruntime where onnx's reference kernel departs from the ONNX spec (grouped or
output_shape ConvTranspose, ceil_mode windows that overhang by more than one element).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import onnx
import onnxruntime
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper
from xdsl.dialects.builtin import ModuleOp
from xdsl.utils.exceptions import DiagnosticException

from terrace.dialects.context import terrace_context
from terrace.dialects.nn.interpreter import run_function
from terrace.frontend.onnx import import_model
from terrace.lowering.nn_to_linalg import ConvertNnToLinalgPass

from linalg_exec import run_linalg

RNG = np.random.default_rng(0)
FEW = settings(
    max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)


def _model(op_type: str, shapes: Sequence[Sequence[int]], **attributes: Any) -> onnx.ModelProto:
    names = [f"in{index}" for index in range(len(shapes))]
    node = helper.make_node(op_type, names, ["out"], name=f"{op_type.lower()}_node", **attributes)
    graph = helper.make_graph(
        [node],
        "single",
        [
            helper.make_tensor_value_info(name, TensorProto.FLOAT, list(dims))
            for name, dims in zip(names, shapes, strict=True)
        ],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, None)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    return onnx.shape_inference.infer_shapes(model)


def _lower(module: ModuleOp) -> ModuleOp:
    lowered = module.clone()
    ConvertNnToLinalgPass().apply(terrace_context(), lowered)
    lowered.verify()
    return lowered


def check(
    op_type: str, shapes: Sequence[Sequence[int]], oracle: str = "reference", **attributes: Any
) -> ModuleOp:
    """Lowers the one-node model and compares the executed result with the oracle's."""
    model = _model(op_type, shapes, **attributes)
    module = import_model(model).module
    inputs = [RNG.standard_normal(dims).astype(np.float32) for dims in shapes]
    if oracle == "reference":
        (expected,) = run_function(module, inputs)
    else:
        session = onnxruntime.InferenceSession(
            model.SerializeToString(), providers=["CPUExecutionProvider"]
        )
        feeds = {f"in{index}": array for index, array in enumerate(inputs)}
        expected = np.asarray(session.run(None, feeds)[0])
    lowered = _lower(module)
    (actual,) = run_linalg(lowered, inputs)
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-5)
    return lowered


def _op_names(module: ModuleOp) -> set[str]:
    return {op.name for op in module.walk()}


# -- matmul and gemm -----------------------------------------------------------------------------


def test_plain_matmul_is_linalg_matmul() -> None:
    lowered = check("MatMul", [(2, 3), (3, 4)])
    assert "linalg.matmul" in _op_names(lowered)


@pytest.mark.parametrize(
    "shapes",
    [
        [(2, 1, 2, 3), (3, 3, 2)],  # batch broadcast both ways
        [(2, 2, 3), (3, 2)],
        [(3,), (2, 3, 4)],  # 1-d lhs promoted then squeezed
        [(2, 3), (3,)],
        [(3,), (3,)],
    ],
)
def test_matmul_batched_broadcast_and_vectors(shapes: list[tuple[int, ...]]) -> None:
    lowered = check("MatMul", shapes)
    assert "linalg.generic" in _op_names(lowered)


@pytest.mark.parametrize(
    ("shapes", "attributes"),
    [
        ([(2, 3), (3, 4)], {}),
        ([(3, 2), (4, 3), (4,)], {"transA": 1, "transB": 1, "alpha": 0.5, "beta": 2.0}),
        ([(2, 3), (4, 3), (2, 1)], {"transB": 1, "beta": -1.5}),
        ([(3, 2), (3, 4), (1,)], {"transA": 1}),
        ([(2, 3), (3, 4), (2, 4)], {"alpha": 3.0, "beta": 0.0}),
    ],
)
def test_gemm(shapes: list[tuple[int, ...]], attributes: dict[str, Any]) -> None:
    check("Gemm", shapes, **attributes)


# -- conv ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("equation", "shapes"),
    [
        ("ij,jk->ik", [(2, 3), (3, 4)]),
        ("bij, bjk -> bik", [(2, 2, 3), (2, 3, 4)]),
        ("i,i", [(5,), (5,)]),
        ("ij->ji", [(2, 3)]),
        ("ij->i", [(2, 3)]),
        ("->", [()]),
        ("...ii->...i", [(2, 3, 3)]),
        ("ij,jk,kl->il", [(2, 3), (3, 2), (2, 2)]),
        ("...j,j->...", [(2, 1, 3), (3,)]),
        ("ba", [(2, 3)]),
    ],
)
def test_einsum(equation: str, shapes: list[tuple[int, ...]]) -> None:
    check("Einsum", shapes, equation=equation)


def test_conv_2d_group_1_is_named_conv_with_padding_and_bias() -> None:
    lowered = check("Conv", [(1, 2, 5, 5), (3, 2, 3, 3), (3,)], pads=[1, 0, 2, 1], strides=[2, 1])
    names = _op_names(lowered)
    assert {"linalg.conv_2d_nchw_fchw", "tensor.insert_slice"} <= names


@pytest.mark.parametrize(
    ("shapes", "attributes"),
    [
        ([(1, 4, 5, 5), (4, 1, 3, 3)], {"group": 4, "dilations": [2, 1], "auto_pad": "SAME_LOWER"}),
        ([(2, 4, 6), (6, 2, 3), (6,)], {"group": 2, "strides": [2], "auto_pad": "SAME_UPPER"}),
        ([(1, 2, 3, 3, 3), (2, 2, 2, 2, 2)], {"auto_pad": "VALID"}),
        ([(1, 2, 4, 3, 3), (2, 1, 2, 1, 2), (2,)], {"group": 2, "pads": [1, 0, 0, 0, 1, 1]}),
        ([(1, 1, 7), (2, 1, 2)], {"dilations": [3], "strides": [2], "pads": [0, 2]}),
    ],
)
def test_conv_grouped_1d_3d(shapes: list[tuple[int, ...]], attributes: dict[str, Any]) -> None:
    check("Conv", shapes, **attributes)


@st.composite
def conv_cases(draw: st.DrawFn) -> tuple[list[tuple[int, ...]], dict[str, Any]]:
    rank = draw(st.integers(1, 2))
    group = draw(st.sampled_from([1, 2]))
    in_channels = group * draw(st.integers(1, 2))
    out_channels = group * draw(st.integers(1, 2))
    kernel = [draw(st.integers(1, 3)) for _ in range(rank)]
    dilations = [draw(st.integers(1, 2)) for _ in range(rank)]
    strides = [draw(st.integers(1, 2)) for _ in range(rank)]
    spatial = [
        draw(st.integers((k - 1) * d + 1, (k - 1) * d + 3))
        for k, d in zip(kernel, dilations, strict=True)
    ]
    attributes: dict[str, Any] = {"group": group, "dilations": dilations, "strides": strides}
    auto_pad = draw(st.sampled_from(["NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"]))
    attributes["auto_pad"] = auto_pad
    if auto_pad == "NOTSET":
        attributes["pads"] = [draw(st.integers(0, 2)) for _ in range(2 * rank)]
    shapes = [(1, in_channels, *spatial), (out_channels, in_channels // group, *kernel)]
    if draw(st.booleans()):
        shapes.append((out_channels,))
    return shapes, attributes


@FEW
@given(conv_cases())
def test_conv_attribute_combinations(case: tuple[list[tuple[int, ...]], dict[str, Any]]) -> None:
    shapes, attributes = case
    check("Conv", shapes, **attributes)


# -- conv_transpose ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shapes", "attributes", "oracle"),
    [
        (
            [(1, 2, 3, 3), (2, 3, 3, 3), (3,)],
            {"strides": [2, 2], "pads": [1, 0, 0, 1], "output_padding": [1, 0]},
            "reference",
        ),
        # pads beyond (K-1)*dilation crop the zero-inserted input
        ([(1, 2, 4), (2, 2, 3)], {"strides": [2], "pads": [3, 2]}, "reference"),
        ([(1, 2, 4), (2, 1, 3)], {"strides": [3], "output_shape": [10], "dilations": [2]}, "ort"),
        ([(1, 2, 3), (2, 2, 2)], {"strides": [2], "auto_pad": "SAME_UPPER"}, "ort"),
        ([(1, 2, 3), (2, 2, 3)], {"strides": [2], "auto_pad": "SAME_LOWER"}, "ort"),
        ([(1, 4, 3, 2), (4, 1, 2, 2), (2,)], {"group": 2, "strides": [1, 2]}, "ort"),
        ([(1, 2, 2, 2, 2), (2, 1, 2, 2, 2)], {"strides": [2, 1, 1], "pads": [0] * 6}, "reference"),
    ],
)
def test_conv_transpose(
    shapes: list[tuple[int, ...]], attributes: dict[str, Any], oracle: str
) -> None:
    check("ConvTranspose", shapes, oracle=oracle, **attributes)


@st.composite
def conv_transpose_cases(draw: st.DrawFn) -> tuple[list[tuple[int, ...]], dict[str, Any]]:
    rank = draw(st.integers(1, 2))
    group = draw(st.sampled_from([1, 2]))
    in_channels = group * draw(st.integers(1, 2))
    group_out = draw(st.integers(1, 2))
    kernel = [draw(st.integers(1, 3)) for _ in range(rank)]
    dilations = [draw(st.integers(1, 2)) for _ in range(rank)]
    strides = [draw(st.integers(1, 3)) for _ in range(rank)]
    spatial = [draw(st.integers(1, 3)) for _ in range(rank)]
    output_padding = [draw(st.integers(0, s - 1)) for s in strides]
    pads = [draw(st.integers(0, 2)) for _ in range(2 * rank)]
    for index in range(rank):
        full = strides[index] * (spatial[index] - 1) + output_padding[index]
        full += (kernel[index] - 1) * dilations[index] + 1
        assume(full - pads[index] - pads[rank + index] >= 1)
    shapes = [(1, in_channels, *spatial), (in_channels, group_out, *kernel)]
    if draw(st.booleans()):
        shapes.append((group_out * group,))
    attributes = {
        "group": group,
        "dilations": dilations,
        "strides": strides,
        "output_padding": output_padding,
        "pads": pads,
    }
    return shapes, attributes


@FEW
@given(conv_transpose_cases())
def test_conv_transpose_attribute_combinations(
    case: tuple[list[tuple[int, ...]], dict[str, Any]],
) -> None:
    shapes, attributes = case
    # onnx's reference slices grouped weights along the wrong axis: onnxruntime is the oracle
    check("ConvTranspose", shapes, oracle="ort", **attributes)


# -- pooling -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "attributes"),
    [
        ((1, 2, 5, 5), {"kernel_shape": [2, 3], "strides": [2, 1], "pads": [1, 0, 0, 1]}),
        ((1, 2, 5, 5), {"kernel_shape": [2, 2], "strides": [2, 2], "ceil_mode": 1}),
        (
            (1, 2, 6),
            {"kernel_shape": [3], "strides": [2], "dilations": [2], "auto_pad": "SAME_UPPER"},
        ),
        ((1, 1, 3, 3, 4), {"kernel_shape": [2, 2, 2], "ceil_mode": 1, "strides": [2, 2, 2]}),
        ((1, 2, 4, 4), {"kernel_shape": [3, 3], "auto_pad": "VALID"}),
    ],
)
def test_max_pool(shape: tuple[int, ...], attributes: dict[str, Any]) -> None:
    check("MaxPool", [shape], **attributes)


def test_max_pool_pads_with_lowest_not_zero() -> None:
    model = _model("MaxPool", [(1, 1, 3, 3)], kernel_shape=[2, 2], pads=[1, 1, 1, 1])
    lowered = _lower(import_model(model).module)
    inputs = [-1 - RNG.random((1, 1, 3, 3)).astype(np.float32)]  # all negative: 0 would win
    (actual,) = run_linalg(lowered, inputs)
    padded = np.pad(inputs[0], ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
    windows = np.lib.stride_tricks.sliding_window_view(padded, (2, 2), axis=(2, 3))
    np.testing.assert_array_equal(actual, windows.max(axis=(4, 5)))


@pytest.mark.parametrize(
    ("shape", "attributes"),
    [
        ((1, 2, 5, 5), {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]}),
        (
            (1, 2, 5, 5),
            {
                "kernel_shape": [3, 3],
                "strides": [2, 2],
                "pads": [1, 1, 1, 1],
                "count_include_pad": 1,
            },
        ),
        (
            (1, 2, 5, 5),
            {
                "kernel_shape": [2, 2],
                "strides": [2, 2],
                "ceil_mode": 1,
                "count_include_pad": 1,
                "pads": [1, 0, 0, 0],
            },
        ),
        ((1, 2, 6), {"kernel_shape": [3], "strides": [2], "auto_pad": "SAME_LOWER"}),
        ((1, 2, 4, 4), {"kernel_shape": [2, 2]}),
        ((1, 1, 3, 4, 3), {"kernel_shape": [2, 2, 2], "pads": [1, 0, 1, 0, 1, 0]}),
    ],
)
def test_average_pool(shape: tuple[int, ...], attributes: dict[str, Any]) -> None:
    check("AveragePool", [shape], **attributes)


def test_average_pool_uniform_windows_divide_by_a_constant() -> None:
    lowered = check("AveragePool", [(1, 2, 4, 4)], kernel_shape=[2, 2], strides=[2, 2])
    assert "tensor.insert_slice" not in _op_names(lowered)  # no padding, no count tensor


@pytest.mark.parametrize(
    ("op_type", "shape", "attributes"),
    [
        # Hugging Face's EfficientNet pooler: AvgPool2d(1280, ceil_mode=True) over 7x7
        (
            "AveragePool",
            (1, 3, 7, 7),
            {"kernel_shape": [64, 64], "strides": [64, 64], "ceil_mode": 1},
        ),
        ("MaxPool", (1, 2, 4, 5), {"kernel_shape": [9, 9], "strides": [9, 9], "ceil_mode": 1}),
        # explicit pads that count, and windows that reach past them
        (
            "AveragePool",
            (1, 2, 3, 4),
            {
                "kernel_shape": [5, 6],
                "strides": [4, 5],
                "pads": [2, 2, 2, 2],
                "ceil_mode": 1,
                "count_include_pad": 1,
            },
        ),
        (
            "AveragePool",
            (1, 2, 3, 4),
            {"kernel_shape": [5, 6], "strides": [4, 5], "pads": [2, 2, 2, 2], "ceil_mode": 1},
        ),
        (
            "MaxPool",
            (1, 1, 5),
            {"kernel_shape": [4], "dilations": [2], "pads": [3, 0], "strides": [3]},
        ),
    ],
)
def test_pool_windows_larger_than_the_input(
    op_type: str, shape: tuple[int, ...], attributes: dict[str, Any]
) -> None:
    check(op_type, [shape], oracle="ort", **attributes)


def test_pool_walks_only_the_window_offsets_that_reach_the_input() -> None:
    model = _model(
        "AveragePool", [(1, 3, 7, 7)], kernel_shape=[1280, 1280], strides=[1280, 1280], ceil_mode=1
    )
    text = str(_lower(import_model(model).module))
    assert "tensor<7x7xf32>" in text  # the window loops' bounds
    # no tensor of a window's size or padded to cover one: the input is read as it is
    assert not re.search(r"x12[0-9][0-9]x|x12[0-9][0-9]xf32", text)
    assert "tensor.insert_slice" not in text
    x = RNG.random((1, 3, 7, 7)).astype(np.float32)
    (actual,) = run_linalg(_lower(import_model(model).module), [x])
    np.testing.assert_allclose(actual, x.mean(axis=(2, 3), keepdims=True), rtol=1e-6)


@st.composite
def pool_cases(draw: st.DrawFn) -> tuple[str, tuple[int, ...], dict[str, Any]]:
    op_type = draw(st.sampled_from(["MaxPool", "AveragePool"]))
    rank = draw(st.integers(1, 2))
    kernel = [draw(st.integers(1, 3)) for _ in range(rank)]
    dilations = [draw(st.integers(1, 2)) for _ in range(rank)]
    strides = [draw(st.integers(1, 3)) for _ in range(rank)]
    spatial = [
        draw(st.integers((k - 1) * d + 1, (k - 1) * d + 3))
        for k, d in zip(kernel, dilations, strict=True)
    ]
    auto_pad = draw(st.sampled_from(["NOTSET", "NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"]))
    attributes: dict[str, Any] = {
        "kernel_shape": kernel,
        "strides": strides,
        "dilations": dilations,
        "auto_pad": auto_pad,
    }
    if auto_pad == "NOTSET":
        # a pad at least as wide as the window would give windows of padding only
        attributes["pads"] = [
            draw(st.integers(0, (k - 1) * d // 2))
            for k, d in zip(kernel * 2, dilations * 2, strict=True)
        ]
        attributes["ceil_mode"] = draw(st.integers(0, 1))
    else:
        # onnxruntime sizes SAME outputs from undilated kernels and rejects negative SAME pads
        assume(auto_pad == "VALID" or dilations == [1] * rank)
        assume(auto_pad == "VALID" or all(k >= s for k, s in zip(kernel, strides, strict=True)))
    if op_type == "AveragePool":
        attributes["count_include_pad"] = draw(st.integers(0, 1))
    return op_type, (1, 2, *spatial), attributes


@FEW
@given(pool_cases())
def test_pool_attribute_combinations(case: tuple[str, tuple[int, ...], dict[str, Any]]) -> None:
    op_type, shape, attributes = case
    # onnx's reference shifts ceil_mode windows when they overhang by 2 or more and ignores
    # dilations in SAME pads: onnxruntime is the oracle
    # nn sizes ceil_mode outputs as onnxruntime does (onnx's inference keeps a window that starts
    # in the end padding), so the lowering agrees with onnxruntime's shapes and values
    model = _model(op_type, [shape], **attributes)
    assert import_model(model).outputs[0].shape == _onnxruntime_shape(model, shape)
    check(op_type, [shape], oracle="ort", **attributes)


def _onnxruntime_shape(model: onnx.ModelProto, shape: tuple[int, ...]) -> tuple[int, ...]:
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # the declared-shape mismatch warning is expected here
    session = onnxruntime.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    (result,) = session.run(None, {"in0": np.zeros(shape, dtype=np.float32)})
    return tuple(np.asarray(result).shape)


# -- errors --------------------------------------------------------------------------------------


def test_unsupported_integer_gemm_scaling_names_the_node() -> None:
    from terrace.dialects.context import parse_module

    module = parse_module(
        """
        func.func @main(%a: tensor<2x3xi32>, %b: tensor<3x4xi32>) -> tensor<2x4xi32> {
          %y = nn.gemm %a, %b {alpha = 2.0 : f64} : (tensor<2x3xi32>, tensor<3x4xi32>)
              -> tensor<2x4xi32> loc("gemm_node")
          func.return %y : tensor<2x4xi32>
        }
        """
    )
    with pytest.raises(DiagnosticException, match="nn.gemm.*gemm_node"):
        ConvertNnToLinalgPass().apply(terrace_context(), module)
