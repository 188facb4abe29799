"""bufferize: the memref function computes what the tensor function computes (both run by xDSL's
interpreter on the same random inputs), and its signature is the stage-3 contract."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from xdsl.dialects import func, memref
from xdsl.dialects.builtin import ModuleOp, TensorType
from xdsl.utils.exceptions import DiagnosticException

from terrace.dialects.context import parse_module, terrace_context
from terrace.dialects.nn.weights import WeightStore
from terrace.passes.bufferize import BufferizePass

from memref_exec import ProgramStep, elementwise_program, run_buffers, run_tensors

ID2 = "affine_map<(d0, d1) -> (d0, d1)>"

# ---------------------------------------------------------------------------------------------
# Stage-2 inputs, written by hand.

MLP = f"""
func.func @main(%x: tensor<2x3xf32>) -> tensor<2x4xf32> {{
  %w = nn.weight "fc.weight" : tensor<3x4xf32>
  %b = nn.weight "fc.bias" : tensor<4xf32>
  %scale = arith.constant dense<[1.0, -2.0, 0.5, 3.0]> : tensor<4xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x4xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<2x4xf32>) -> tensor<2x4xf32>
  %m = linalg.matmul ins(%x, %w : tensor<2x3xf32>, tensor<3x4xf32>)
                     outs(%f : tensor<2x4xf32>) -> tensor<2x4xf32>
  %e2 = tensor.empty() : tensor<2x4xf32>
  %r = linalg.generic {{indexing_maps = [{ID2}, affine_map<(d0, d1) -> (d1)>,
                        affine_map<(d0, d1) -> (d1)>, {ID2}],
                       iterator_types = ["parallel", "parallel"]}}
      ins(%m, %b, %scale : tensor<2x4xf32>, tensor<4xf32>, tensor<4xf32>)
      outs(%e2 : tensor<2x4xf32>) {{
  ^bb0(%a: f32, %bias: f32, %s: f32, %o: f32):
    %t = arith.addf %a, %bias : f32
    %u = arith.mulf %t, %s : f32
    %v = arith.maximumf %u, %zero : f32
    linalg.yield %v : f32
  }} -> tensor<2x4xf32>
  func.return %r : tensor<2x4xf32>
}}
"""

# max pooling as the generic that xDSL's linalg.pooling_nchw_max should generalize to: in xDSL
# 0.74.0 that op's body is max(input, window element), not max(input, accumulator)
CONV_POOL = """
func.func @main(%x: tensor<1x2x5x5xf32>) -> (tensor<1x3x3x3xf32>, tensor<1x3x2x2xf32>) {
  %w = nn.weight "conv.weight" : tensor<3x2x3x3xf32>
  %zero = arith.constant 0.0 : f32
  %lowest = arith.constant -3.0e38 : f32
  %e = tensor.empty() : tensor<1x3x3x3xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x3x3x3xf32>) -> tensor<1x3x3x3xf32>
  %c = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>,
                                 strides = dense<1> : tensor<2xi64>}
      ins(%x, %w : tensor<1x2x5x5xf32>, tensor<3x2x3x3xf32>)
      outs(%f : tensor<1x3x3x3xf32>) -> tensor<1x3x3x3xf32>
  %window = tensor.empty() : tensor<2x2xf32>
  %e2 = tensor.empty() : tensor<1x3x2x2xf32>
  %f2 = linalg.fill ins(%lowest : f32) outs(%e2 : tensor<1x3x2x2xf32>) -> tensor<1x3x2x2xf32>
  %p = linalg.generic {indexing_maps = [
          affine_map<(n, c, h, w, i, j) -> (n, c, h + i, w + j)>,
          affine_map<(n, c, h, w, i, j) -> (i, j)>,
          affine_map<(n, c, h, w, i, j) -> (n, c, h, w)>],
        iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]}
      ins(%c, %window : tensor<1x3x3x3xf32>, tensor<2x2xf32>)
      outs(%f2 : tensor<1x3x2x2xf32>) {
  ^bb0(%in: f32, %unused: f32, %acc: f32):
    %m = arith.maximumf %in, %acc : f32
    linalg.yield %m : f32
  } -> tensor<1x3x2x2xf32>
  func.return %c, %p : tensor<1x3x3x3xf32>, tensor<1x3x2x2xf32>
}
"""

PAD_SLICE = f"""
func.func @main(%x: tensor<3x4xf32>) -> (tensor<5x6xf32>, tensor<2x3xf32>, tensor<3xf32>) {{
  %one = arith.constant 1.0 : f32
  %e = tensor.empty() : tensor<5x6xf32>
  %f = linalg.fill ins(%one : f32) outs(%e : tensor<5x6xf32>) -> tensor<5x6xf32>
  %p = tensor.insert_slice %x into %f[1, 1] [3, 4] [1, 1]
      : tensor<3x4xf32> into tensor<5x6xf32>
  %s = tensor.extract_slice %p[0, 1] [2, 3] [2, 2] : tensor<5x6xf32> to tensor<2x3xf32>
  %row = tensor.extract_slice %x[1, 1] [1, 3] [1, 1] : tensor<3x4xf32> to tensor<3xf32>
  %e2 = tensor.empty() : tensor<2x3xf32>
  %d = linalg.generic {{indexing_maps = [{ID2}, {ID2}], iterator_types = ["parallel", "parallel"]}}
      ins(%s : tensor<2x3xf32>) outs(%e2 : tensor<2x3xf32>) {{
  ^bb0(%a: f32, %o: f32):
    %t = arith.mulf %a, %a : f32
    linalg.yield %t : f32
  }} -> tensor<2x3xf32>
  func.return %p, %d, %row : tensor<5x6xf32>, tensor<2x3xf32>, tensor<3xf32>
}}
"""

# %f is read after the generic that accumulates into it: the generic needs a copy
INIT_READ_LATER = f"""
func.func @main(%x: tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<2x3xf32>) {{
  %two = arith.constant 2.0 : f32
  %e = tensor.empty() : tensor<2x3xf32>
  %f = linalg.fill ins(%two : f32) outs(%e : tensor<2x3xf32>) -> tensor<2x3xf32>
  %r = linalg.generic {{indexing_maps = [{ID2}, {ID2}], iterator_types = ["parallel", "parallel"]}}
      ins(%x : tensor<2x3xf32>) outs(%f : tensor<2x3xf32>) {{
  ^bb0(%a: f32, %o: f32):
    %t = arith.mulf %a, %o : f32
    linalg.yield %t : f32
  }} -> tensor<2x3xf32>
  %flat = tensor.collapse_shape %f [[0, 1]] : tensor<2x3xf32> into tensor<6xf32>
  %back = tensor.expand_shape %flat [[0, 1]] output_shape [2, 3]
      : tensor<6xf32> into tensor<2x3xf32>
  func.return %r, %back : tensor<2x3xf32>, tensor<2x3xf32>
}}
"""

# the init is an input: writing into it would clobber the caller's array
INIT_IS_INPUT = f"""
func.func @main(%x: tensor<2x3xf32>, %y: tensor<2x3xf32>) -> tensor<2x3xf32> {{
  %r = linalg.generic {{indexing_maps = [{ID2}, {ID2}], iterator_types = ["parallel", "parallel"]}}
      ins(%x : tensor<2x3xf32>) outs(%y : tensor<2x3xf32>) {{
  ^bb0(%a: f32, %o: f32):
    %t = arith.subf %a, %o : f32
    linalg.yield %t : f32
  }} -> tensor<2x3xf32>
  func.return %r : tensor<2x3xf32>
}}
"""

# a reduction (max over rows) and a data-dependent read (gather by index)
REDUCE_GATHER = """
func.func @main(%x: tensor<3x4xf32>, %idx: tensor<2xi64>) -> (tensor<3xf32>, tensor<2x4xf32>) {
  %lowest = arith.constant -3.0e38 : f32
  %e = tensor.empty() : tensor<3xf32>
  %f = linalg.fill ins(%lowest : f32) outs(%e : tensor<3xf32>) -> tensor<3xf32>
  %m = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>,
                                        affine_map<(d0, d1) -> (d0)>],
                       iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<3x4xf32>) outs(%f : tensor<3xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %t = arith.maximumf %a, %acc : f32
    linalg.yield %t : f32
  } -> tensor<3xf32>
  %e2 = tensor.empty() : tensor<2x4xf32>
  %g = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0)>,
                                        affine_map<(d0, d1) -> (d0, d1)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%idx : tensor<2xi64>) outs(%e2 : tensor<2x4xf32>) {
  ^bb0(%i: i64, %o: f32):
    %row = arith.index_cast %i : i64 to index
    %col = linalg.index 1 : index
    %v = tensor.extract %x[%row, %col] : tensor<3x4xf32>
    linalg.yield %v : f32
  } -> tensor<2x4xf32>
  func.return %m, %g : tensor<3xf32>, tensor<2x4xf32>
}
"""

# one tensor.empty as the init of two ops whose results are both live at the end
SHARED_EMPTY = f"""
func.func @main(%x: tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<2x3xf32>) {{
  %e = tensor.empty() : tensor<2x3xf32>
  %a = linalg.generic {{indexing_maps = [{ID2}, {ID2}], iterator_types = ["parallel", "parallel"]}}
      ins(%x : tensor<2x3xf32>) outs(%e : tensor<2x3xf32>) {{
  ^bb0(%i: f32, %o: f32):
    %t = arith.mulf %i, %i : f32
    linalg.yield %t : f32
  }} -> tensor<2x3xf32>
  %b = linalg.generic {{indexing_maps = [{ID2}, {ID2}], iterator_types = ["parallel", "parallel"]}}
      ins(%a : tensor<2x3xf32>) outs(%e : tensor<2x3xf32>) {{
  ^bb0(%i: f32, %o: f32):
    %t = arith.addf %i, %i : f32
    linalg.yield %t : f32
  }} -> tensor<2x3xf32>
  func.return %a, %b : tensor<2x3xf32>, tensor<2x3xf32>
}}
"""

PASSTHROUGH = """
func.func @main(%x: tensor<3xf32>) -> (tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) {
  %w = nn.weight "w" : tensor<3xf32>
  func.return %x, %w, %x : tensor<3xf32>, tensor<3xf32>, tensor<3xf32>
}
"""

# ---------------------------------------------------------------------------------------------
# Helpers.


def _load(text: str, weights: Mapping[str, np.ndarray] | None = None) -> ModuleOp:
    module = parse_module(text)
    WeightStore(weights).attach(module)
    return module


def _random_inputs(module: ModuleOp, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    main = next(op for op in module.ops if isinstance(op, func.FuncOp))
    inputs: list[np.ndarray] = []
    for input_type in main.function_type.inputs.data:
        assert isinstance(input_type, TensorType)
        shape = tuple(input_type.get_shape())
        if input_type.element_type.name == "integer_type":
            inputs.append(rng.integers(0, 3, shape).astype(np.int64))
        else:
            inputs.append(rng.standard_normal(shape).astype(np.float32))
    return inputs


def _bufferize_and_compare(text: str, weights: Mapping[str, np.ndarray] | None = None) -> ModuleOp:
    """Bufferizes `text`; asserts both forms give the same results and that the bufferized one
    leaves its inputs and weights unchanged. Returns the bufferized module."""
    module = _load(text, weights)
    inputs = _random_inputs(module)
    saved_inputs = [array.copy() for array in inputs]
    expected = run_tensors(module, inputs)
    BufferizePass().apply(terrace_context(), module)
    module.verify()
    saved_weights = {name: array.copy() for name, array in WeightStore.of(module).items()}
    actual = run_buffers(module, inputs)
    assert len(actual) == len(expected)
    for want, got in zip(expected, actual, strict=True):
        assert want.shape == got.shape and want.dtype == got.dtype
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    for before, after in zip(saved_inputs, inputs, strict=True):
        np.testing.assert_array_equal(before, after)
    for name, array in WeightStore.of(module).items():
        np.testing.assert_array_equal(saved_weights[name], array)
    return module


def _main(module: ModuleOp) -> func.FuncOp:
    return next(op for op in module.ops if isinstance(op, func.FuncOp))


def _ops(module: ModuleOp, op_type: type) -> list:
    return [op for op in module.walk() if isinstance(op, op_type)]


# ---------------------------------------------------------------------------------------------
# Tests.


def test_mlp_signature_weights_and_constants():
    rng = np.random.default_rng(1)
    weights = {
        "fc.weight": rng.standard_normal((3, 4)).astype(np.float32),
        "fc.bias": rng.standard_normal(4).astype(np.float32),
    }
    module = _bufferize_and_compare(MLP, weights)
    main = _main(module)
    names = [name.data for name in main.attributes["terrace.weights"].data]
    assert names[:2] == ["fc.weight", "fc.bias"] and len(names) == 3
    store = WeightStore.of(module)
    np.testing.assert_array_equal(store[names[2]], np.array([1.0, -2.0, 0.5, 3.0], np.float32))
    assert main.attributes["terrace.num_inputs"].value.data == 1
    assert main.attributes["terrace.num_outputs"].value.data == 1
    assert main.attributes["terrace.workspace_bytes"].value.data == 0
    assert [str(t) for t in main.function_type.inputs.data] == [
        "memref<2x3xf32>",
        "memref<2x4xf32>",
        "memref<3x4xf32>",
        "memref<4xf32>",
        "memref<4xf32>",
        "memref<0xi8>",
    ]
    assert not main.function_type.outputs.data
    assert "dense<[" not in str(module)
    # the result generic writes into %out; only the matmul's accumulator is allocated
    assert len(_ops(module, memref.AllocOp)) == 1
    assert not _ops(module, memref.CopyOp)


def test_conv_and_pooling():
    rng = np.random.default_rng(2)
    weights = {"conv.weight": rng.standard_normal((3, 2, 3, 3)).astype(np.float32)}
    module = _bufferize_and_compare(CONV_POOL, weights)
    # the conv result is both an output and the pool's input: no copy needed, nor allocation
    # but for the pooling window
    assert [op.memref.type.get_shape() for op in _ops(module, memref.AllocOp)] == [(2, 2)]


def test_pad_and_slices():
    module = _bufferize_and_compare(PAD_SLICE)
    assert _ops(module, memref.SubviewOp)


def test_init_read_later_is_copied():
    module = _bufferize_and_compare(INIT_READ_LATER)
    assert len(_ops(module, memref.CopyOp)) >= 1


def test_init_that_is_an_input_is_not_written():
    _bufferize_and_compare(INIT_IS_INPUT)


def test_reduction_and_gather():
    module = _bufferize_and_compare(REDUCE_GATHER)
    assert _ops(module, memref.LoadOp)


def test_shared_empty_gets_a_buffer_per_use():
    module = _bufferize_and_compare(SHARED_EMPTY)
    assert not _ops(module, memref.AllocOp) and not _ops(module, memref.CopyOp)


def test_results_that_are_inputs_or_weights_are_copied():
    weights = {"w": np.array([4.0, 5.0, 6.0], np.float32)}
    module = _bufferize_and_compare(PASSTHROUGH, weights)
    assert len(_ops(module, memref.CopyOp)) == 3


def test_unsupported_op_names_the_op_and_its_location():
    text = """
    func.func @main(%x: tensor<4xf32>) -> tensor<4xf32> {
      %r = nn.relu %x : (tensor<4xf32>) -> tensor<4xf32> loc("relu_node")
      func.return %r : tensor<4xf32>
    }
    """
    module = _load(text)
    with pytest.raises(DiagnosticException, match=r"nn\.relu.*relu_node"):
        BufferizePass().apply(terrace_context(), module)


_STEPS = st.lists(
    st.tuples(
        st.sampled_from(["binary", "binary", "accumulate", "reshape"]),
        st.integers(0, 100),
        st.integers(0, 100),
        st.sampled_from(["arith.addf", "arith.subf", "arith.mulf", "arith.maximumf"]),
    ),
    min_size=1,
    max_size=7,
)


@st.composite
def _programs(draw: st.DrawFn) -> str:
    steps: list[ProgramStep] = []
    for number, (kind, a, b, op_name) in enumerate(draw(_STEPS), start=1):
        steps.append(ProgramStep(kind, (a % number, b % number), op_name))
    results = draw(st.lists(st.integers(0, len(steps)), min_size=1, max_size=3))
    return elementwise_program(steps, results)


@settings(max_examples=25, deadline=None)
@given(_programs())
def test_random_elementwise_programs(text: str):
    _bufferize_and_compare(text)


def test_the_tensor_oracle_agrees_with_numpy():
    """The stage-2 run that the tests trust computes the MLP and the conv + pool of numpy."""
    rng = np.random.default_rng(3)
    fc_weight = rng.standard_normal((3, 4)).astype(np.float32)
    fc_bias = rng.standard_normal(4).astype(np.float32)
    mlp = _load(MLP, {"fc.weight": fc_weight, "fc.bias": fc_bias})
    x = rng.standard_normal((2, 3)).astype(np.float32)
    scale = np.array([1.0, -2.0, 0.5, 3.0], np.float32)
    (got,) = run_tensors(mlp, [x])
    np.testing.assert_allclose(got, np.maximum((x @ fc_weight + fc_bias) * scale, 0), rtol=1e-5)

    conv_weight = rng.standard_normal((3, 2, 3, 3)).astype(np.float32)
    image = rng.standard_normal((1, 2, 5, 5)).astype(np.float32)
    conv, pool = run_tensors(_load(CONV_POOL, {"conv.weight": conv_weight}), [image])
    windows = np.lib.stride_tricks.sliding_window_view(image[0], (3, 3), axis=(1, 2))
    want_conv = np.einsum("chwij,fcij->fhw", windows, conv_weight)[None]
    np.testing.assert_allclose(conv, want_conv, rtol=1e-4, atol=1e-5)
    pools = np.lib.stride_tricks.sliding_window_view(want_conv[0], (2, 2), axis=(1, 2))
    np.testing.assert_allclose(pool, pools.max(axis=(3, 4))[None], rtol=1e-4, atol=1e-5)
