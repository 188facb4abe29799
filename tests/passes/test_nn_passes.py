"""Differential tests of the nn-level passes: each rewritten module must compute what the
unrewritten module computes, run by the nn interpreter on random inputs."""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from xdsl.dialects.builtin import ModuleOp, NameLoc
from xdsl.passes import ModulePass
from xdsl.printer import Printer
from xdsl.transforms.canonicalize import CanonicalizePass

from terrace.dialects.context import parse_module, terrace_context
from terrace.dialects.nn.base import shape_of
from terrace.dialects.nn.interpreter import run_function
from terrace.dialects.nn.weights import WeightStore
from terrace.passes.nn_canonicalize import NnCanonicalizePass
from terrace.passes.nn_fold_batchnorm import NnFoldBatchnormPass
from terrace.passes.registry import TERRACE_PASSES

# ---------------------------------------------------------------------------------------------
# Helpers.


def _load(text: str, weights: Mapping[str, np.ndarray] | None = None) -> ModuleOp:
    module = parse_module(text)
    WeightStore(weights).attach(module)
    return module


def _random_inputs(module: ModuleOp, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    main = next(op for op in module.walk() if op.name == "func.func")
    arguments = main.regions[0].blocks[0].args
    return [rng.standard_normal(shape_of(arg)).astype(np.float32) for arg in arguments]


def _apply(pass_: ModulePass, text: str, weights: Mapping[str, np.ndarray] | None = None):
    """(module after the pass, results before, results after) on the same random inputs."""
    module = _load(text, weights)
    inputs = _random_inputs(module)
    expected = run_function(module, inputs)
    pass_.apply(terrace_context(), module)
    module.verify()
    return module, expected, run_function(module, inputs)


def _assert_same(expected: Sequence[np.ndarray], actual: Sequence[np.ndarray]) -> None:
    assert len(expected) == len(actual)
    for want, got in zip(expected, actual, strict=True):
        assert want.shape == got.shape and want.dtype == got.dtype
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def _load_type(text: str):
    module = parse_module(f"func.func @f(%a: {text}) {{ func.return }}")
    func = next(op for op in module.walk() if op.name == "func.func")
    return func.regions[0].blocks[0].args[0].type


def _op_names(module: ModuleOp) -> list[str]:
    return [op.name for op in module.walk() if op.name.startswith("nn.")]


def _text(module: ModuleOp) -> str:
    return str(module)


def _printed_with_locations(module: ModuleOp) -> str:
    stream = io.StringIO()
    Printer(stream=stream, print_debuginfo=True).print_op(module)
    return stream.getvalue()


def _type(shape: Sequence[int]) -> str:
    return "tensor<" + "".join(f"{d}x" for d in shape) + "f32>"


def _ints(values: Sequence[int]) -> str:
    return "array<i64: " + ", ".join(str(v) for v in values) + ">"


# ---------------------------------------------------------------------------------------------
# nn-canonicalize: one test per rewrite.


def test_identity_and_dropout_are_removed():
    module, expected, actual = _apply(
        NnCanonicalizePass(),
        """
        func.func @main(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
          %0 = nn.identity %x : (tensor<2x3xf32>) -> tensor<2x3xf32>
          %1 = nn.dropout %0 : (tensor<2x3xf32>) -> tensor<2x3xf32>
          %2 = nn.relu %1 : (tensor<2x3xf32>) -> tensor<2x3xf32>
          func.return %2 : tensor<2x3xf32>
        }""",
    )
    _assert_same(expected, actual)
    assert _op_names(module) == ["nn.relu"]


def test_reshape_chain_becomes_one_reshape():
    module, expected, actual = _apply(
        NnCanonicalizePass(),
        """
        func.func @main(%x: tensor<2x3x4xf32>) -> tensor<4x6xf32> {
          %0 = nn.reshape %x {shape = array<i64: 24>} : (tensor<2x3x4xf32>) -> tensor<24xf32>
          %1 = nn.reshape %0 {shape = array<i64: 6, 4>} : (tensor<24xf32>) -> tensor<6x4xf32>
          %2 = nn.reshape %1 {shape = array<i64: 4, -1>} : (tensor<6x4xf32>) -> tensor<4x6xf32>
          func.return %2 : tensor<4x6xf32>
        }""",
    )
    _assert_same(expected, actual)
    assert _op_names(module) == ["nn.reshape"]


def test_reshape_keeps_an_intermediate_with_other_users():
    module, expected, actual = _apply(
        NnCanonicalizePass(),
        """
        func.func @main(%x: tensor<2x6xf32>) -> (tensor<12xf32>, tensor<3x4xf32>) {
          %0 = nn.reshape %x {shape = array<i64: 12>} : (tensor<2x6xf32>) -> tensor<12xf32>
          %1 = nn.reshape %0 {shape = array<i64: 3, 4>} : (tensor<12xf32>) -> tensor<3x4xf32>
          func.return %0, %1 : tensor<12xf32>, tensor<3x4xf32>
        }""",
    )
    _assert_same(expected, actual)
    assert _op_names(module) == ["nn.reshape", "nn.reshape"]
    second = [op for op in module.walk() if op.name == "nn.reshape"][1]
    assert second.operands[0].type == _load_type("tensor<2x6xf32>")


def test_reshape_to_the_same_type_is_removed():
    module, expected, actual = _apply(
        NnCanonicalizePass(),
        """
        func.func @main(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
          %0 = nn.reshape %x {shape = array<i64: 2, -1>} : (tensor<2x3xf32>) -> tensor<2x3xf32>
          %1 = nn.flatten %0 {axis = 1 : i64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
          func.return %1 : tensor<2x3xf32>
        }""",
    )
    _assert_same(expected, actual)
    assert _op_names(module) == []


def test_flatten_of_reshape_becomes_a_reshape():
    module, expected, actual = _apply(
        NnCanonicalizePass(),
        """
        func.func @main(%x: tensor<4x6xf32>) -> tensor<8x3xf32> {
          %0 = nn.reshape %x {shape = array<i64: 2, 2, 2, 3>} :
            (tensor<4x6xf32>) -> tensor<2x2x2x3xf32>
          %1 = nn.flatten %0 {axis = 3 : i64} : (tensor<2x2x2x3xf32>) -> tensor<8x3xf32>
          func.return %1 : tensor<8x3xf32>
        }""",
    )
    _assert_same(expected, actual)
    assert _op_names(module) == ["nn.reshape"]


def test_squeeze_and_unsqueeze_cancel():
    module, expected, actual = _apply(
        NnCanonicalizePass(),
        """
        func.func @main(%x: tensor<2x1x3xf32>) -> (tensor<2x1x3xf32>, tensor<2x3xf32>) {
          %0 = nn.squeeze %x {axes = array<i64: 1>} : (tensor<2x1x3xf32>) -> tensor<2x3xf32>
          %1 = nn.unsqueeze %0 {axes = array<i64: 1>} : (tensor<2x3xf32>) -> tensor<2x1x3xf32>
          %2 = nn.unsqueeze %0 {axes = array<i64: 0>} : (tensor<2x3xf32>) -> tensor<1x2x3xf32>
          %3 = nn.squeeze %2 : (tensor<1x2x3xf32>) -> tensor<2x3xf32>
          func.return %1, %3 : tensor<2x1x3xf32>, tensor<2x3xf32>
        }""",
    )
    _assert_same(expected, actual)
    assert _op_names(module) == ["nn.squeeze"]


@pytest.mark.parametrize("inner", [[0, 2, 1], [1, 2, 0], [2, 0, 1], None])
@pytest.mark.parametrize("outer", [[1, 0, 2], [2, 0, 1], [0, 1, 2]])
def test_transpose_chain_composes(inner: list[int] | None, outer: list[int]):
    shape = (2, 3, 4)
    inner_perm = inner if inner is not None else [2, 1, 0]
    middle = [shape[axis] for axis in inner_perm]
    final = [middle[axis] for axis in outer]
    inner_attr = "" if inner is None else f" {{perm = {_ints(inner)}}}"
    module, expected, actual = _apply(
        NnCanonicalizePass(),
        f"""
        func.func @main(%x: {_type(shape)}) -> {_type(final)} {{
          %0 = nn.transpose %x{inner_attr} : ({_type(shape)}) -> {_type(middle)}
          %1 = nn.transpose %0 {{perm = {_ints(outer)}}} : ({_type(middle)}) -> {_type(final)}
          func.return %1 : {_type(final)}
        }}""",
    )
    _assert_same(expected, actual)
    composed_is_identity = [inner_perm[axis] for axis in outer] == [0, 1, 2]
    assert _op_names(module) == ([] if composed_is_identity else ["nn.transpose"])


def test_identity_transpose_is_removed():
    module, expected, actual = _apply(
        NnCanonicalizePass(),
        """
        func.func @main(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
          %0 = nn.transpose %x {perm = array<i64: 0, 1>} : (tensor<2x3xf32>) -> tensor<2x3xf32>
          func.return %0 : tensor<2x3xf32>
        }""",
    )
    _assert_same(expected, actual)
    assert _op_names(module) == []


def test_small_constant_result_is_inline():
    module, expected, actual = _apply(
        NnCanonicalizePass(),
        """
        func.func @main(%x: tensor<2x2xf32>) -> tensor<2x2xf32> {
          %a = nn.constant {value = dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>} :
            tensor<2x2xf32>
          %b = nn.constant {value = dense<[0.5, -1.0]> : tensor<2xf32>} : tensor<2xf32>
          %0 = nn.mul %a, %b : (tensor<2x2xf32>, tensor<2xf32>) -> tensor<2x2xf32>
          %1 = nn.exp %0 : (tensor<2x2xf32>) -> tensor<2x2xf32>
          %2 = nn.add %x, %1 : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
          func.return %2 : tensor<2x2xf32>
        }""",
    )
    _assert_same(expected, actual)
    assert _op_names(module) == ["nn.constant", "nn.add"]


def test_integer_shape_arithmetic_folds():
    module, expected, actual = _apply(
        NnCanonicalizePass(),
        """
        func.func @main() -> tensor<3xi64> {
          %a = nn.constant {value = dense<[2, 3, 4]> : tensor<3xi64>} : tensor<3xi64>
          %b = nn.constant {value = dense<2> : tensor<3xi64>} : tensor<3xi64>
          %0 = nn.mul %a, %b : (tensor<3xi64>, tensor<3xi64>) -> tensor<3xi64>
          func.return %0 : tensor<3xi64>
        }""",
    )
    assert expected[0].tolist() == [4, 6, 8]
    _assert_same(expected, actual)
    assert _op_names(module) == ["nn.constant"]


def test_large_constant_result_becomes_a_new_weight():
    rng = np.random.default_rng(1)
    weights = {"fc.weight": rng.standard_normal((8, 16)).astype(np.float32)}
    original = weights["fc.weight"].copy()
    module, expected, actual = _apply(
        NnCanonicalizePass(),
        """
        func.func @main(%x: tensor<4x8xf32>) -> tensor<4x16xf32> {
          %w = nn.weight "fc.weight" : tensor<8x16xf32>
          %t = nn.transpose %w : (tensor<8x16xf32>) -> tensor<16x8xf32>
          %0 = nn.gemm %x, %t {transB = 1 : i64} :
            (tensor<4x8xf32>, tensor<16x8xf32>) -> tensor<4x16xf32>
          func.return %0 : tensor<4x16xf32>
        }""",
        weights,
    )
    _assert_same(expected, actual)
    assert _op_names(module) == ["nn.weight", "nn.gemm"]
    store = WeightStore.of(module)
    assert "fc.weight.transpose" in store
    np.testing.assert_array_equal(store["fc.weight.transpose"], original.T)
    np.testing.assert_array_equal(store["fc.weight"], original)
    assert "dense<" not in _text(module)


def test_splat_result_stays_inline_however_large():
    module, expected, actual = _apply(
        NnCanonicalizePass(),
        """
        func.func @main(%x: tensor<64x64xf32>) -> tensor<64x64xf32> {
          %a = nn.constant_of_shape {shape = array<i64: 64, 64>,
            value = dense<-3.0> : tensor<1xf32>} : tensor<64x64xf32>
          %0 = nn.abs %a : (tensor<64x64xf32>) -> tensor<64x64xf32>
          %1 = nn.add %x, %0 : (tensor<64x64xf32>, tensor<64x64xf32>) -> tensor<64x64xf32>
          func.return %1 : tensor<64x64xf32>
        }""",
    )
    _assert_same(expected, actual)
    assert _op_names(module) == ["nn.constant", "nn.add"]
    assert "dense<3.000000e+00>" in _text(module)


def test_huge_results_are_not_folded():
    module = _load(
        """
        func.func @main() -> tensor<4096x4096x2xf32> {
          %a = nn.constant {value = dense<[1.0, 2.0]> : tensor<2xf32>} : tensor<2xf32>
          %0 = nn.expand %a {shape = array<i64: 4096, 4096, 2>} :
            (tensor<2xf32>) -> tensor<4096x4096x2xf32>
          func.return %0 : tensor<4096x4096x2xf32>
        }"""
    )
    NnCanonicalizePass().apply(terrace_context(), module)
    assert _op_names(module) == ["nn.constant", "nn.expand"]


def test_folded_op_keeps_its_location():
    module = _load(
        """
        func.func @main() -> tensor<2xf32> {
          %a = nn.constant {value = dense<[1.0, -2.0]> : tensor<2xf32>} : tensor<2xf32>
          %0 = nn.neg %a : (tensor<2xf32>) -> tensor<2xf32> loc("/model/Neg")
          func.return %0 : tensor<2xf32>
        }"""
    )
    NnCanonicalizePass().apply(terrace_context(), module)
    (folded,) = [op for op in module.walk() if op.name == "nn.constant"]
    assert isinstance(folded.location, NameLoc) and folded.location.desc.data == "/model/Neg"


def test_xdsl_canonicalize_uses_the_nn_patterns():
    module, expected, actual = _apply(
        CanonicalizePass(),
        """
        func.func @main(%x: tensor<2x3xf32>) -> tensor<6xf32> {
          %0 = nn.identity %x : (tensor<2x3xf32>) -> tensor<2x3xf32>
          %1 = nn.reshape %0 {shape = array<i64: 3, 2>} : (tensor<2x3xf32>) -> tensor<3x2xf32>
          %2 = nn.reshape %1 {shape = array<i64: 6>} : (tensor<3x2xf32>) -> tensor<6xf32>
          func.return %2 : tensor<6xf32>
        }""",
    )
    _assert_same(expected, actual)
    assert _op_names(module) == ["nn.reshape"]


def test_registry_names_the_passes():
    assert TERRACE_PASSES["nn-canonicalize"]() is NnCanonicalizePass
    assert TERRACE_PASSES["nn-fold-batchnorm"]() is NnFoldBatchnormPass
    assert NnCanonicalizePass.name == "nn-canonicalize"
    assert NnFoldBatchnormPass.name == "nn-fold-batchnorm"


# ---------------------------------------------------------------------------------------------
# nn-canonicalize on random chains of data-movement ops.


@st.composite
def _shape_chains(draw: st.DrawFn) -> tuple[tuple[int, ...], list[str], tuple[int, ...]]:
    """(input shape, the chain's op lines, output shape); shapes follow numpy on a probe."""
    probe = np.empty(tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=4))))
    input_shape = probe.shape
    lines: list[str] = []
    for index in range(draw(st.integers(1, 8))):
        source = "%x" if index == 0 else f"%{index - 1}"
        kind = draw(st.sampled_from(["reshape", "transpose", "identity", "squeeze", "unsqueeze"]))
        kind, attributes, result = _chain_step(draw, kind, probe)
        lines.append(
            f"%{index} = nn.{kind} {source}{attributes} : "
            f"({_type(probe.shape)}) -> {_type(result.shape)}"
        )
        probe = result
    return input_shape, lines, probe.shape


def _chain_step(draw: st.DrawFn, kind: str, probe: np.ndarray) -> tuple[str, str, np.ndarray]:
    """(op kind, attribute text, result probe) of one step; rank stays at least 1."""
    rank = probe.ndim
    if kind == "reshape":
        new_shape = _random_factorization(draw, probe.size)
        attribute = list(new_shape)
        if draw(st.booleans()):
            attribute[draw(st.integers(0, len(attribute) - 1))] = -1
        return kind, f" {{shape = {_ints(attribute)}}}", probe.reshape(new_shape)
    if kind == "transpose":
        perm = draw(st.permutations(range(rank)))
        return kind, f" {{perm = {_ints(perm)}}}", probe.transpose(perm)
    ones = [axis for axis in range(rank) if probe.shape[axis] == 1]
    if kind == "squeeze" and len(ones) == rank:
        ones = ones[1:]  # squeezing every axis would leave a scalar
    if kind == "squeeze" and ones:
        axes = sorted(
            draw(st.lists(st.sampled_from(ones), min_size=1, max_size=len(ones), unique=True))
        )
        return kind, f" {{axes = {_ints(axes)}}}", probe.squeeze(tuple(axes))
    if kind == "unsqueeze":
        axis = draw(st.integers(0, rank))
        return kind, f" {{axes = {_ints([axis])}}}", np.expand_dims(probe, axis)
    return "identity", "", probe


def _random_factorization(draw: st.DrawFn, size: int) -> tuple[int, ...]:
    factors: list[int] = []
    remaining = size
    for prime in (2, 3):
        while remaining % prime == 0:
            factors.append(prime)
            remaining //= prime
    factors = draw(st.permutations(factors))
    groups = draw(st.integers(1, max(1, min(4, len(factors)))))
    shape = [1] * groups
    for factor in factors:
        shape[draw(st.integers(0, groups - 1))] *= factor
    return tuple(shape)


@settings(max_examples=60, deadline=None)
@given(_shape_chains())
def test_canonicalize_preserves_random_shape_chains(
    chain: tuple[tuple[int, ...], list[str], tuple[int, ...]],
):
    input_shape, lines, output_shape = chain
    body = "\n  ".join(lines)
    text = (
        f"func.func @main(%x: {_type(input_shape)}) -> {_type(output_shape)} {{\n  {body}\n"
        f"  func.return %{len(lines) - 1} : {_type(output_shape)}\n}}"
    )
    module, expected, actual = _apply(NnCanonicalizePass(), text)
    np.testing.assert_array_equal(actual[0], expected[0])
    names = _op_names(module)
    assert "nn.identity" not in names
    assert len(names) <= len(lines)
    # no two transposes in a row survive, nor a reshape or flatten of a reshape-like op
    assert "nn.transpose nn.transpose" not in " ".join(names)
    assert "nn.reshape nn.reshape" not in " ".join(names)


# ---------------------------------------------------------------------------------------------
# nn-fold-batchnorm.


def _batchnorm_weights(rng: np.random.Generator, channels: int) -> dict[str, np.ndarray]:
    return {
        "bn.scale": rng.standard_normal(channels).astype(np.float32),
        "bn.bias": rng.standard_normal(channels).astype(np.float32),
        "bn.mean": rng.standard_normal(channels).astype(np.float32),
        "bn.var": (rng.random(channels) + 0.05).astype(np.float32),
    }


def _batchnorm_lines(source: str, output_type: str, channels: int) -> str:
    param = _type([channels])
    return f"""
          %s = nn.weight "bn.scale" : {param}
          %b = nn.weight "bn.bias" : {param}
          %m = nn.weight "bn.mean" : {param}
          %v = nn.weight "bn.var" : {param}
          %y = nn.batch_normalization {source}, %s, %b, %m, %v {{epsilon = 1.0e-3 : f64}} :
            ({output_type}, {param}, {param}, {param}, {param}) -> {output_type}
          func.return %y : {output_type}"""


def _assert_folded_close(expected: Sequence[np.ndarray], actual: Sequence[np.ndarray]) -> None:
    for want, got in zip(expected, actual, strict=True):
        assert want.shape == got.shape and want.dtype == got.dtype
        scale = float(np.abs(want).max())
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-4 * scale)


def _assert_no_large_literals(module: ModuleOp) -> None:
    text = _text(module)
    for literal in re.findall(r"dense<\[[^>]*>", text):
        assert literal.count(",") < 16, literal


@pytest.mark.parametrize("group", [1, 4])
@pytest.mark.parametrize("with_bias", [False, True])
def test_batchnorm_folds_into_conv(group: int, with_bias: bool):
    rng = np.random.default_rng(group + 2 * with_bias)
    weights = {
        "conv.weight": rng.standard_normal((4, 4 // group, 3, 3)).astype(np.float32),
        "conv.bias": rng.standard_normal(4).astype(np.float32),
        **_batchnorm_weights(rng, 4),
    }
    originals = {name: array.copy() for name, array in weights.items()}
    w_type = _type([4, 4 // group, 3, 3])
    bias_operand = ", %cb" if with_bias else ""
    bias_type = ", tensor<4xf32>" if with_bias else ""
    text = f"""
        func.func @main(%x: tensor<2x4x6x6xf32>) -> tensor<2x4x3x3xf32> {{
          %w = nn.weight "conv.weight" : {w_type}
          %cb = nn.weight "conv.bias" : tensor<4xf32>
          %c = nn.conv %x, %w{bias_operand} {{group = {group} : i64, strides = array<i64: 2, 2>,
            pads = array<i64: 1, 1, 1, 1>}} :
            (tensor<2x4x6x6xf32>, {w_type}{bias_type}) -> tensor<2x4x3x3xf32>
          {_batchnorm_lines("%c", "tensor<2x4x3x3xf32>", 4)}
        }}"""
    module, expected, actual = _apply(NnFoldBatchnormPass(), text, weights)
    _assert_folded_close(expected, actual)
    assert "nn.batch_normalization" not in _op_names(module)
    assert _op_names(module).count("nn.conv") == 1
    store = WeightStore.of(module)
    bias_name = "conv.bias.bn_folded" if with_bias else "bn.bias.bn_folded"
    assert store["conv.weight.bn_folded"].dtype == np.float32
    assert store[bias_name].shape == (4,)
    assert f'"{bias_name}"' in _text(module)
    for name, array in originals.items():
        np.testing.assert_array_equal(store[name], array)
    _assert_no_large_literals(module)


@pytest.mark.parametrize("trans_b", [0, 1])
@pytest.mark.parametrize("with_c", [False, True])
def test_batchnorm_folds_into_gemm(trans_b: int, with_c: bool):
    rng = np.random.default_rng(10 + trans_b + 2 * with_c)
    b_shape = [5, 6] if trans_b else [6, 5]
    weights = {
        "fc.weight": rng.standard_normal(b_shape).astype(np.float32),
        "fc.bias": rng.standard_normal((1, 5)).astype(np.float32),
        **_batchnorm_weights(rng, 5),
    }
    c_operand = ", %fb" if with_c else ""
    c_type = ", tensor<1x5xf32>" if with_c else ""
    text = f"""
        func.func @main(%a: tensor<3x6xf32>) -> tensor<3x5xf32> {{
          %w = nn.weight "fc.weight" : {_type(b_shape)}
          %fb = nn.weight "fc.bias" : tensor<1x5xf32>
          %g = nn.gemm %a, %w{c_operand} {{transB = {trans_b} : i64, alpha = 0.5 : f64,
            beta = 2.0 : f64}} : (tensor<3x6xf32>, {_type(b_shape)}{c_type}) -> tensor<3x5xf32>
          {_batchnorm_lines("%g", "tensor<3x5xf32>", 5)}
        }}"""
    module, expected, actual = _apply(NnFoldBatchnormPass(), text, weights)
    _assert_folded_close(expected, actual)
    assert _op_names(module).count("nn.gemm") == 1
    assert "nn.batch_normalization" not in _op_names(module)
    assert "fc.weight.bn_folded" in WeightStore.of(module)
    _assert_no_large_literals(module)


def test_batchnorm_after_a_conv_on_a_computed_weight_is_left():
    rng = np.random.default_rng(5)
    text = f"""
        func.func @main(%x: tensor<1x2x4x4xf32>, %w: tensor<2x2x1x1xf32>) -> tensor<1x2x4x4xf32> {{
          %c = nn.conv %x, %w : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x4x4xf32>
          {_batchnorm_lines("%c", "tensor<1x2x4x4xf32>", 2)}
        }}"""
    module, expected, actual = _apply(NnFoldBatchnormPass(), text, _batchnorm_weights(rng, 2))
    _assert_same(expected, actual)
    assert "nn.batch_normalization" in _op_names(module)


def test_batchnorm_after_a_shared_conv_is_left():
    rng = np.random.default_rng(6)
    weights = {"w": rng.standard_normal((2, 2, 1, 1)).astype(np.float32)}
    weights.update(_batchnorm_weights(rng, 2))
    text = """
        func.func @main(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> {
          %w = nn.weight "w" : tensor<2x2x1x1xf32>
          %c = nn.conv %x, %w : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x4x4xf32>
          %r = nn.relu %c : (tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
          %s = nn.weight "bn.scale" : tensor<2xf32>
          %b = nn.weight "bn.bias" : tensor<2xf32>
          %m = nn.weight "bn.mean" : tensor<2xf32>
          %v = nn.weight "bn.var" : tensor<2xf32>
          %y = nn.batch_normalization %c, %s, %b, %m, %v :
            (tensor<1x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>)
            -> tensor<1x2x4x4xf32>
          %z = nn.add %y, %r : (tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
          func.return %z : tensor<1x2x4x4xf32>
        }"""
    module, expected, actual = _apply(NnFoldBatchnormPass(), text, weights)
    _assert_same(expected, actual)
    assert "nn.batch_normalization" in _op_names(module)


def test_folded_conv_carries_both_locations():
    rng = np.random.default_rng(7)
    weights = {"w": rng.standard_normal((2, 2, 1, 1)).astype(np.float32)}
    weights.update(_batchnorm_weights(rng, 2))
    module = _load(
        """
        func.func @main(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> {
          %w = nn.weight "w" : tensor<2x2x1x1xf32>
          %s = nn.weight "bn.scale" : tensor<2xf32>
          %b = nn.weight "bn.bias" : tensor<2xf32>
          %m = nn.weight "bn.mean" : tensor<2xf32>
          %v = nn.weight "bn.var" : tensor<2xf32>
          %c = nn.conv %x, %w : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>)
            -> tensor<1x2x4x4xf32> loc("/conv1/Conv")
          %y = nn.batch_normalization %c, %s, %b, %m, %v :
            (tensor<1x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>)
            -> tensor<1x2x4x4xf32> loc("/bn1/BatchNormalization")
          func.return %y : tensor<1x2x4x4xf32>
        }""",
        weights,
    )
    NnFoldBatchnormPass().apply(terrace_context(), module)
    printed = _printed_with_locations(module)
    assert 'loc(fused["/conv1/Conv", "/bn1/BatchNormalization"])' in printed
