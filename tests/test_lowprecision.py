"""Low-precision element types (float8 x4, float8e8m0, float4e2m1, int4, uint4, int2, uint2):
Cast, CastLike, QuantizeLinear and DequantizeLinear to and from them, compared byte for byte
with onnx's reference evaluator on edge values (zeros of both signs, subnormals, the largest
finite value, overflow, infinities, NaN, every rounding tie and the values beside it), both
saturate modes, from float32 and float16; ops that only move their bytes; other ops refused."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

import terrace
from terrace.errors import InputError, UnsupportedModelError

FLOAT_TYPES = [
    TensorProto.FLOAT8E4M3FN,
    TensorProto.FLOAT8E4M3FNUZ,
    TensorProto.FLOAT8E5M2,
    TensorProto.FLOAT8E5M2FNUZ,
    TensorProto.FLOAT8E8M0,
    TensorProto.FLOAT4E2M1,
]
INTEGER_TYPES = [TensorProto.INT4, TensorProto.UINT4, TensorProto.INT2, TensorProto.UINT2]
OPSET = 25


def _dtype(code: int) -> np.dtype[np.generic]:
    return helper.tensor_dtype_to_np_dtype(code)


def _model(
    nodes: list[onnx.NodeProto],
    inputs: dict[str, np.ndarray],
    outputs: list[str],
    initializers: dict[str, np.ndarray] | None = None,
) -> onnx.ModelProto:
    graph = helper.make_graph(
        nodes,
        "g",
        [
            helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape)
            for n, a in inputs.items()
        ],
        [helper.make_tensor_value_info(n, TensorProto.UNDEFINED, None) for n in outputs],
        initializer=[numpy_helper.from_array(a, n) for n, a in (initializers or {}).items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])


def _bits(array: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(array).view(f"u{array.dtype.itemsize}")


def _check(model: onnx.ModelProto, inputs: dict[str, np.ndarray]) -> None:
    """Same dtype, shape and bits (any NaN matching any NaN) as onnx's reference."""
    expected = ReferenceEvaluator(model).run(None, inputs)
    actual = terrace.compile(model, cache=False).run(inputs)
    for name, want, got in zip(model.graph.output, expected, actual, strict=True):
        want = np.asarray(want)
        assert got.dtype == want.dtype and got.shape == want.shape, name.name
        nan = np.isnan(want.astype(np.float32)) if want.dtype.kind == "f" else False
        same = (_bits(got) == _bits(want)) | (nan & np.isnan(got.astype(np.float32)))
        bad = np.flatnonzero(~same)
        assert bad.size == 0, (
            name.name,
            inputs,
            bad[:8],
            got.ravel()[bad[:8]],
            want.ravel()[bad[:8]],
        )


def _edge_values(code: int) -> np.ndarray:
    """Every finite value of the type, the midpoints between neighbours (the ties) and the
    floats just beside them, overflow and tiny values, infinities, both zeros and NaN."""
    every = np.arange(256, dtype=np.uint8).view(_dtype(code)).astype(np.float64)
    finite = np.unique(np.abs(every[np.isfinite(every)]))
    top = finite[-1]
    middles = (finite[:-1] + finite[1:]) / 2
    special = [top * 1.0625, top * 1.125, top * 2, 1e30, 2.0**-140, 1e-45, np.inf]
    magnitudes = np.concatenate([finite, middles, special]).astype(np.float32)
    beside = [np.nextafter(magnitudes, np.float32(v)) for v in (0, np.inf)]
    magnitudes = np.unique(np.concatenate([magnitudes, *beside]))
    return np.concatenate([magnitudes, -magnitudes, [np.nan]]).astype(np.float32)


@pytest.mark.parametrize("code", FLOAT_TYPES + INTEGER_TYPES, ids=TensorProto.DataType.Name)
def test_cast_to_and_from_low_precision_matches_onnx(code: int):
    if code in INTEGER_TYPES:
        wide = np.arange(-40, 40, 0.25, dtype=np.float32)
        x32 = np.concatenate([wide, [1e9, -1e9, 1e30, np.inf, -np.inf, np.nan, -0.0]])
        x32 = x32.astype(np.float32)
        codes = np.arange(1 << (4 if code in (TensorProto.INT4, TensorProto.UINT4) else 2))
    else:
        x32 = _edge_values(code)
        codes = np.arange(256)
    inputs = {
        "x32": x32,
        "x16": x32.astype(np.float16),
        "i8": np.arange(-128, 128, dtype=np.int8),
        "y": codes.astype(np.uint8).view(_dtype(code)),
    }
    nodes: list[onnx.NodeProto] = []
    for source in ("x32", "x16", "i8"):
        for saturate in (0, 1):
            output = f"{source}_saturate{saturate}"
            nodes.append(helper.make_node("Cast", [source], [output], to=code, saturate=saturate))
    for to in (TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.INT32):
        nodes.append(helper.make_node("Cast", ["y"], [f"y_{to}"], to=to))
    outputs = [node.output[0] for node in nodes]
    _check(_model(nodes, inputs, outputs), inputs)


@pytest.mark.parametrize("round_mode", ["up", "down", "nearest"])
def test_cast_to_e8m0_rounds_as_round_mode_says(round_mode: str):
    x = _edge_values(TensorProto.FLOAT8E8M0)
    nodes = [
        helper.make_node(
            "Cast", ["x"], [f"y{s}"], to=TensorProto.FLOAT8E8M0, saturate=s, round_mode=round_mode
        )
        for s in (0, 1)
    ]
    inputs = {"x": x[x >= 0]}
    _check(_model(nodes, inputs, ["y0", "y1"]), inputs)


def test_cast_between_low_precision_types_and_castlike():
    y = np.arange(256, dtype=np.uint8).view(_dtype(TensorProto.FLOAT8E5M2))
    x = _edge_values(TensorProto.FLOAT8E4M3FNUZ)
    like = np.zeros((0,), _dtype(TensorProto.FLOAT8E4M3FNUZ))
    nodes = [
        helper.make_node("Cast", ["y"], ["to_e4m3fn"], to=TensorProto.FLOAT8E4M3FN),
        helper.make_node("Cast", ["y"], ["to_int4"], to=TensorProto.INT4),
        helper.make_node("CastLike", ["x", "like"], ["like_fnuz"], saturate=0),
        helper.make_node("CastLike", ["y", "x"], ["back"]),
    ]
    inputs = {"y": y, "x": x, "like": like}
    _check(_model(nodes, inputs, [n.output[0] for n in nodes]), inputs)


@pytest.mark.parametrize(
    ("code", "saturate"),
    [(t, s) for t in FLOAT_TYPES[:4] for s in (0, 1)]
    + [(t, 1) for t in [TensorProto.FLOAT4E2M1, *INTEGER_TYPES]],
    ids=lambda v: TensorProto.DataType.Name(v) if v > 1 else f"saturate{v}",
)
def test_quantize_and_dequantize_match_onnx(code: int, saturate: int):
    x = np.array([[0.0, 2.5, -4.8, 8.6], [-30.0, 1e6, -1e-9, np.nan], [-0.0, 3.0, 7.0, -7.5]])
    if code in INTEGER_TYPES:
        x[1, 3] = 5.0  # NaN to an integer is undefined in numpy (x86 gives INT_MIN)
    scale = np.array([2.0, 3.0, 0.5], np.float32)
    zero = np.array([0, 1, 0], np.float32).astype(_dtype(code))
    if code in FLOAT_TYPES[:4]:
        zero = np.zeros(3, _dtype(code))
    attributes = {"axis": 0} | ({"saturate": saturate} if code in FLOAT_TYPES else {})
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "scale", "zero"], ["q"], **attributes),
        helper.make_node("DequantizeLinear", ["q", "scale", "zero"], ["d"], axis=0),
        helper.make_node("DequantizeLinear", ["q_in", "scale", "zero"], ["d_in"], axis=0),
    ]
    q_in = np.arange(12).astype(np.uint8).reshape(3, 4).view(_dtype(code))
    inputs = {"x": x.astype(np.float32), "q_in": q_in}
    model = _model(nodes, inputs, ["q", "d", "d_in"], {"scale": scale, "zero": zero})
    _check(model, inputs)


def test_ops_that_move_bytes_keep_the_type():
    x = np.arange(24, dtype=np.uint8).reshape(2, 3, 4).view(_dtype(TensorProto.FLOAT8E4M3FN))
    nodes = [
        helper.make_node("Reshape", ["x", "shape"], ["r"]),
        helper.make_node("Transpose", ["r"], ["t"], perm=[1, 0]),
        helper.make_node("Identity", ["t"], ["i"]),
        helper.make_node("Cast", ["i"], ["f"], to=TensorProto.FLOAT),
    ]
    inputs = {"x": x}
    model = _model(nodes, inputs, ["i", "f"], {"shape": np.array([6, 4])})
    _check(model, inputs)
    compiled = terrace.compile(model, cache=False)
    assert compiled.outputs[0].dtype == x.dtype
    with pytest.raises(InputError):
        compiled.run({"x": x.view(np.uint8)})


def test_other_ops_on_low_precision_values_are_unsupported():
    x = np.zeros((2, 3), _dtype(TensorProto.FLOAT8E5M2))
    nodes = [helper.make_node("IsNaN", ["x"], ["y"])]
    with pytest.raises(UnsupportedModelError, match="unsupported element type FLOAT8E5M2"):
        terrace.compile(_model(nodes, {"x": x}, ["y"]), cache=False)
