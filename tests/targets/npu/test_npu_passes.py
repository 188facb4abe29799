"""The npu target's passes (npu-partition, npu-tile, convert-linalg-to-npu, npu-double-buffer,
npu-dedup-uops) against their oracles: the nn dialect's reference semantics (the interpreter)
for what the regions and their programs compute, and onnxruntime for the partitioned model;
hypothesis properties for the rewrites of npu.program."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper
from test_npu_matmul import _float_model as _mlp_model
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, StringAttr
from xdsl.ir import SSAValue

from terrace.compiler import StageTimer, lower, parse_pipeline
from terrace.dialects.context import terrace_context
from terrace.dialects.nn.constants import WeightOp
from terrace.dialects.nn.elementwise import AddOp
from terrace.dialects.nn.interpreter import run_function
from terrace.dialects.nn.neural import ConvOp, GemmOp, MatMulOp
from terrace.dialects.nn.weights import WeightStore
from terrace.dialects.npu import ProgramOp, program_of
from terrace.runtime.npu_sim.layer import run_conv
from terrace.runtime.npu_sim.simulator import simulate
from terrace.targets import get_target
from terrace.targets.npu.binary import NpuProgram
from terrace.targets.npu.conv import build_conv
from terrace.targets.npu.deps import insert_deps, verify_program
from terrace.targets.npu.double_buffer import double_buffer
from terrace.targets.npu.isa import Buffer, MemDtype, NpuConfig, Opcode
from terrace.targets.npu.layers import ConvLayer, pack_activation, pack_vector, pack_weight
from terrace.targets.npu.matmul import from_activation, to_activation
from terrace.targets.npu.pipeline import compile_conv, npu_pipeline, pipeline_spec
from terrace.targets.npu.regions import npu_regions, region_layer
from terrace.targets.npu.tiling import ranked_tilings
from terrace.targets.npu.uops import dedup_uops

from onnx_models import run_onnxruntime

DEFAULT = NpuConfig()
TINY = NpuConfig.tiny()
RNG = np.random.default_rng(7)


def _block_model(cin: int, cout: int, size: int, kernel: int, stride: int) -> onnx.ModelProto:
    """stem conv (Cin 3: CPU) -> Relu -> conv -> BN -> Add(1x1 conv of the stem) -> Relu ->
    MaxPool: two convs with a residual add fused in f32, and CPU ops around them."""

    def tensor(name: str, shape: tuple[int, ...], low: float, high: float) -> onnx.TensorProto:
        return numpy_helper.from_array(RNG.uniform(low, high, shape).astype(np.float32), name)

    pad = kernel // 2
    out = (size + 2 * pad - kernel) // stride + 1
    inits = [
        tensor("w0", (cin, 3, 3, 3), -0.3, 0.3),
        tensor("w1", (cout, cin, kernel, kernel), -0.1, 0.1),
        tensor("w2", (cout, cin, 1, 1), -0.1, 0.1),
        tensor("b2", (cout,), -0.1, 0.1),
        *(tensor(n, (cout,), 0.5, 1.5) for n in ("s", "b", "m", "v")),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w0"], ["c0"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c0"], ["r0"]),
        helper.make_node(
            "Conv",
            ["r0", "w1"],
            ["c1"],
            kernel_shape=[kernel, kernel],
            pads=[pad] * 4,
            strides=[stride, stride],
        ),
        helper.make_node("BatchNormalization", ["c1", "s", "b", "m", "v"], ["n1"]),
        helper.make_node("Conv", ["r0", "w2", "b2"], ["c2"], strides=[stride, stride]),
        helper.make_node("Add", ["n1", "c2"], ["a"]),
        helper.make_node("Relu", ["a"], ["r1"]),
        helper.make_node("MaxPool", ["r1"], ["y"], kernel_shape=[2, 2], strides=[2, 2]),
    ]
    graph = helper.make_graph(
        nodes,
        "block",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, size, size])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, cout, out // 2, out // 2])],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _nn_module(model: onnx.ModelProto) -> ModuleOp:
    return lower(model, get_target(None), "nn", StageTimer()).module


def _apply(module: ModuleOp, spec: str) -> None:
    ctx = terrace_context()
    for step in parse_pipeline(spec):
        step.apply(ctx, module)


def _program(module: ModuleOp, region: func.FuncOp) -> NpuProgram:
    name = region.attributes["npu.program"]
    assert isinstance(name, StringAttr)
    found = [p for p in module.walk() if isinstance(p, ProgramOp) and p.sym_name.data == name.data]
    assert len(found) == 1
    return program_of(found[0])


def _run_region(
    module: ModuleOp, region: func.FuncOp, inputs: list[np.ndarray], config: NpuConfig
) -> np.ndarray:
    """The region's npu.program on the simulator (race detector on), operands from `inputs`
    and the module's weight store (a matmul's in matmul.py's layout)."""
    (layer_op,) = [op for op in region.walk() if isinstance(op, ConvOp | MatMulOp | GemmOp)]
    store = WeightStore.of(layer_op)

    def weight(value: SSAValue) -> np.ndarray:
        owner = value.owner
        assert isinstance(owner, WeightOp)
        return store[owner.ref.data]

    layer = region_layer(region, "test")
    program = _program(module, region)
    if isinstance(layer_op, ConvOp):
        w = weight(layer_op.W)
        b = weight(layer_op.B) if layer_op.B is not None else None
        residual = inputs[1] if layer.residual else None
        out, _ = run_conv(program, layer, config, inputs[0], w, b, residual, check_races=True)
        return out
    b_matrix = weight(layer_op.B)
    transposed = isinstance(layer_op, GemmOp) and layer_op.int_attr("transB")
    w = np.ascontiguousarray(b_matrix if transposed else b_matrix.T)[:, :, None, None]
    adds = [op for op in region.walk() if isinstance(op, AddOp)]
    bias_value = layer_op.C if isinstance(layer_op, GemmOp) and layer_op.C else None
    bias_value = adds[0].B if adds else bias_value
    bias = None
    if bias_value is not None:
        bias = np.broadcast_to(weight(bias_value).reshape(-1), (layer.cout,)).copy()
    x = to_activation(inputs[0])
    out, _ = run_conv(program, layer, config, x, w, bias, check_races=True)
    return from_activation(out)


def _check_regions(module: ModuleOp, config: NpuConfig) -> int:
    """Each region's program against the nn interpreter's run of the region; how many."""
    regions = list(npu_regions(module))
    for region in regions:
        inputs = [
            RNG.standard_normal(list(arg.type.get_shape())).astype(np.float32)  # type: ignore[attr-defined]
            for arg in region.body.block.args
        ]
        expected = run_function(module, inputs, region.sym_name.data)[0]
        actual = _run_region(module, region, inputs, config)
        np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-5)
    return len(regions)


@pytest.mark.parametrize(
    ("shape", "tiny"),
    [((16, 32, 12, 3, 1), False), ((32, 32, 14, 3, 2), False), ((16, 32, 12, 3, 1), True)],
    ids=["3x3s1", "3x3s2", "3x3s1-tiny"],
)
def test_pipeline_regions_match_the_nn_reference(
    shape: tuple[int, int, int, int, int], tiny: bool
) -> None:
    """The model through the nn-level passes, then the whole npu pipeline as one `-p` string:
    each region's program on the simulator equals the nn interpreter's run of the region's
    body (the CPU meaning of what was outlined), and the partitioned module still computes
    what onnxruntime computes for the model."""
    model = _block_model(*shape)
    module = _nn_module(model)
    spec = pipeline_spec(npu_pipeline(tiny=tiny))
    assert spec.startswith("npu-annotate") and "convert-linalg-to-npu" in spec
    _apply(module, spec)
    # the 3x3 conv (with its batch norm, add and ReLU) and the 1x1
    assert _check_regions(module, TINY if tiny else DEFAULT) == 2
    x = RNG.standard_normal((1, 3, shape[2], shape[2])).astype(np.float32)
    (partitioned,) = run_function(module, [x], "main")
    (reference,) = run_onnxruntime(model, {"x": x})
    np.testing.assert_allclose(partitioned, reference, rtol=1e-4, atol=1e-5)


def test_pipeline_matmul_regions_match_the_nn_reference() -> None:
    """MatMul + bias Add + Relu and Gemm (transB, C) through the same passes: two regions
    whose programs equal the nn interpreter's run of them; the K = 12 Gemm stays on the CPU;
    the partitioned module still computes what onnxruntime does."""
    model = _mlp_model()
    module = _nn_module(model)
    _apply(module, pipeline_spec(npu_pipeline()))
    assert _check_regions(module, DEFAULT) == 2
    x = RNG.standard_normal((5, 40)).astype(np.float32)
    (partitioned,) = run_function(module, [x], "main")
    (reference,) = run_onnxruntime(model, {"x": x})
    np.testing.assert_allclose(partitioned, reference, rtol=1e-4, atol=1e-5)


def test_the_pipeline_spec_runs_what_the_pass_list_runs() -> None:
    """`pipeline_spec` prints the pass list as terrace-opt text; parsing it back gives the same
    passes with the same options."""
    passes = npu_pipeline(tiny=True, double_buffer=False)
    assert tuple(parse_pipeline(pipeline_spec(passes))) == passes
    names = [p.name for p in passes]
    assert "npu-double-buffer" not in names
    assert names[:4] == ["npu-annotate", "npu-partition", "npu-tile", "convert-linalg-to-npu"]


# -- properties of the npu.program rewrites ---------------------------------------------------


@st.composite
def _layers(draw: st.DrawFn) -> tuple[ConvLayer, int]:
    kernel = draw(st.sampled_from([1, 3]))
    stride = draw(st.sampled_from([1, 2]))
    pad = draw(st.integers(0, kernel // 2))
    size = draw(st.integers(max(kernel, 2), 9))
    layer = ConvLayer(
        16 * draw(st.integers(1, 3)),
        16 * draw(st.integers(1, 3)),
        size,
        size,
        kernel,
        kernel,
        stride,
        (pad, pad, pad, pad),
        "i8",
        bias=draw(st.booleans()),
        relu=draw(st.booleans()),
        out_scale=float(np.float32(draw(st.sampled_from([0.001, 0.01])))),
        accumulators=draw(st.booleans()),
    )
    return layer, draw(st.integers(0, 1000))


def _simulate(program: NpuProgram, layer: ConvLayer, seed: int, config: NpuConfig) -> bytes:
    """The program's output segment for fixed random operands (race detector on)."""
    rng = np.random.default_rng(seed)
    dram = np.zeros(program.dram_bytes(), np.uint8)

    def put(name: str, values: np.ndarray) -> None:
        segment = program.segment(name)
        data = np.ascontiguousarray(values).view(np.uint8).reshape(-1)
        dram[segment.offset : segment.offset + data.size] = data

    put(
        "input", pack_activation(rng.integers(-128, 128, (1, layer.cin, layer.h, layer.w), np.int8))
    )
    shape_w = (layer.cout, layer.cin, layer.kh, layer.kw)
    put("weight", pack_weight(rng.integers(-128, 128, shape_w, np.int8)))
    if layer.bias:
        put("bias", pack_vector(rng.integers(-(2**20), 2**20, layer.cout, np.int32)))
    simulate(program, dram, config, check_races_=True)
    out = program.segment("output")
    return dram[out.offset : out.offset + out.size].tobytes()


@settings(max_examples=25, deadline=None, database=None)
@given(_layers(), st.data())
def test_double_buffering_keeps_the_results(
    drawn: tuple[ConvLayer, int], data: st.DataObject
) -> None:
    """For any layer and any tiling that fits: the double-buffered program computes the same
    bytes as the single-buffered one, uses the upper halves whenever it has two chunks, and
    verifies (tokens, no deadlock, no race in the run)."""
    layer, seed = drawn
    tilings = ranked_tilings(layer, TINY)
    tiling = data.draw(st.sampled_from(tilings[:8]))
    single = build_conv(layer, tiling, TINY)
    moved = double_buffer(single, TINY)
    finished = insert_deps(dedup_uops(moved))
    verify_program(finished, TINY)
    baseline = insert_deps(dedup_uops(single))
    assert _simulate(finished, layer, seed, TINY) == _simulate(baseline, layer, seed, TINY)
    gemms = [i for i in single.instructions if i.opcode == Opcode.GEMM and not i["reset"]]
    if len(gemms) > 1:  # chunk 1 loads into the upper half of INP
        inp_half = TINY.rows(Buffer.INP, MemDtype.I8) // 2
        loads = [
            i["sram_base"]
            for i in finished.instructions
            if i.opcode == Opcode.LOAD and i["buffer"] == Buffer.INP
        ]
        assert max(loads) >= inp_half


@settings(max_examples=25, deadline=None, database=None)
@given(_layers(), st.data())
def test_dedup_uops_keeps_every_kernel(drawn: tuple[ConvLayer, int], data: st.DataObject) -> None:
    """npu-dedup-uops: every GEMM and ALU reads the same uops as before, the table has no
    repeated kernel, no row goes unread, the program computes the same bytes, and a second
    run changes nothing."""
    layer, seed = drawn
    tiling = data.draw(st.sampled_from(ranked_tilings(layer, TINY)[:8]))
    before = double_buffer(build_conv(layer, tiling, TINY), TINY)
    after = dedup_uops(before)
    kernels_before = [
        before.uops[i["uop_bgn"] : i["uop_end"]]
        for i in before.instructions
        if i.opcode in (Opcode.GEMM, Opcode.ALU)
    ]
    used = [
        (i["uop_bgn"], i["uop_end"])
        for i in after.instructions
        if i.opcode in (Opcode.GEMM, Opcode.ALU)
    ]
    assert [after.uops[a:b] for a, b in used] == kernels_before
    assert len(after.uops) <= len(before.uops)
    assert set().union(*(range(a, b) for a, b in used)) == set(range(len(after.uops)))
    distinct = {after.uops[a:b] for a, b in used}
    assert len({(a, b) for a, b in used}) == len(distinct)  # one place per distinct kernel
    assert dedup_uops(after) == after
    seeded = insert_deps(after)
    assert _simulate(seeded, layer, seed, TINY) == _simulate(insert_deps(before), layer, seed, TINY)


def test_compile_conv_runs_the_program_passes() -> None:
    """compile_conv is npu-tile's choice through convert-linalg-to-npu and the program passes:
    the same program as running them one by one."""
    layer = ConvLayer(32, 32, 14, 14, 3, 3, 1, (1, 1, 1, 1), "f32", bias=True, relu=True)
    program, tiling = compile_conv(layer, DEFAULT)
    by_hand = insert_deps(dedup_uops(double_buffer(build_conv(layer, tiling, DEFAULT), DEFAULT)))
    assert program == by_hand
    single, _ = compile_conv(layer, DEFAULT, double_buffer=False, tiling=tiling)
    assert single == insert_deps(dedup_uops(build_conv(layer, tiling, DEFAULT)))


# -- npu-partition as a property --------------------------------------------------------------


@st.composite
def _chains(draw: st.DrawFn) -> tuple[str, dict[str, np.ndarray], tuple[int, ...]]:
    """A random nn function: a stack of 1x1 and 3x3 convs (Cin 8 stays on the CPU), each
    followed by any of a residual add of the conv's input, a ReLU and a max pool. Returns the
    IR text, its weights and the input's shape."""
    channels, size = draw(st.sampled_from([8, 16, 32])), 6
    x_shape = (1, channels, size, size)
    lines: list[str] = []
    weights: dict[str, np.ndarray] = {}
    value = "%x"
    for index in range(draw(st.integers(1, 4))):
        cout, k = draw(st.sampled_from([16, 32])), draw(st.sampled_from([1, 3]))
        name = f"w{index}"
        weights[name] = RNG.uniform(-0.3, 0.3, (cout, channels, k, k)).astype(np.float32)
        t_in = f"tensor<1x{channels}x{size}x{size}xf32>"
        t_out = f"tensor<1x{cout}x{size}x{size}xf32>"
        t_w = f"tensor<{cout}x{channels}x{k}x{k}xf32>"
        pads = f" {{pads = array<i64: {k // 2}, {k // 2}, {k // 2}, {k // 2}>}}" if k > 1 else ""
        lines.append(f'%{name} = nn.weight "{name}" : {t_w}')
        lines.append(f"%c{index} = nn.conv {value}, %{name}{pads} : ({t_in}, {t_w}) -> {t_out}")
        result = f"%c{index}"
        if cout == channels and draw(st.booleans()):
            lines.append(f"%a{index} = nn.add {result}, {value} : ({t_out}, {t_out}) -> {t_out}")
            result = f"%a{index}"
        if draw(st.booleans()):
            lines.append(f"%r{index} = nn.relu {result} : ({t_out}) -> {t_out}")
            result = f"%r{index}"
        if size > 3 and draw(st.booleans()):
            t_pool = f"tensor<1x{cout}x{size // 2}x{size // 2}xf32>"
            attrs = "{kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>}"
            lines.append(f"%p{index} = nn.max_pool {result} {attrs} : ({t_out}) -> {t_pool}")
            result, size = f"%p{index}", size // 2
        value, channels = result, cout
    t_x = "tensor<{}xf32>".format("x".join(map(str, x_shape)))
    t_y = f"tensor<1x{channels}x{size}x{size}xf32>"
    body = "\n".join(lines)
    text = f"func.func @main(%x: {t_x}) -> {t_y} {{\n{body}\nfunc.return {value} : {t_y}\n}}"
    return text, weights, x_shape


@settings(max_examples=20, deadline=None, database=None)
@given(_chains())
def test_partition_keeps_the_meaning_and_places_every_op(
    drawn: tuple[str, dict[str, np.ndarray], tuple[int, ...]],
) -> None:
    """npu-annotate then npu-partition on random conv stacks: the module computes what it did
    (nn interpreter, main calling its regions), every nn op left in main says where it runs,
    each region holds one conv placed on the NPU, and there are as many regions as such
    convs."""
    from terrace.dialects.context import parse_module
    from terrace.targets.npu.npu_annotate import NpuAnnotatePass
    from terrace.targets.npu.npu_partition import NpuPartitionPass

    text, weights, x_shape = drawn
    module = parse_module(text)
    WeightStore(weights).attach(module)
    x = RNG.standard_normal(x_shape).astype(np.float32)
    (before,) = run_function(module, [x], "main")
    NpuAnnotatePass().apply(terrace_context(), module)
    placed = sum(
        op.attributes["npu.device"] == StringAttr("npu")
        for op in module.walk()
        if isinstance(op, ConvOp)
    )
    NpuPartitionPass().apply(terrace_context(), module)
    module.verify()
    (after,) = run_function(module, [x], "main")
    np.testing.assert_allclose(after, before, rtol=1e-6, atol=1e-6)
    regions = list(npu_regions(module))
    assert len(regions) == placed
    main = next(f for f in module.body.block.ops if isinstance(f, func.FuncOp))
    assert main.sym_name.data == "main"
    for op in main.walk():
        if op.name.startswith("nn.") and op.name != "nn.weight":
            assert op.attributes["npu.device"] == StringAttr("cpu"), op.name
    for region in regions:
        convs = [op for op in region.walk() if isinstance(op, ConvOp)]
        assert len(convs) == 1 and convs[0].attributes["npu.device"] == StringAttr("npu")
