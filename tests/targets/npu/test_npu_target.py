"""`terrace.compile(model, target="npu")`: convolutions on the TNPU-1 simulator, the rest on
the host JIT, in one call, against onnxruntime."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import terrace
from terrace.targets import get_target
from terrace.tools.cli import main

from onnx_models import assert_close_to_reference, run_onnxruntime


def _residual_model() -> onnx.ModelProto:
    """stem conv (Cin 3: CPU) -> BN -> Relu -> conv -> BN -> Add(stem) -> Relu -> MaxPool."""
    rng = np.random.default_rng(1)

    def tensor(
        name: str, shape: tuple[int, ...], low: float = -0.3, high: float = 0.3
    ) -> onnx.TensorProto:
        return numpy_helper.from_array(rng.uniform(low, high, shape).astype(np.float32), name)

    inits = [
        tensor("w0", (32, 3, 3, 3)),
        tensor("w1", (32, 32, 3, 3), -0.1, 0.1),
        *(tensor(f"{p}{n}", (32,), 0.5, 1.5) for p in ("s", "b", "m", "v") for n in ("0", "1")),
    ]
    nodes = [
        helper.make_node(
            "Conv", ["x", "w0"], ["c0"], name="stem", kernel_shape=[3, 3], pads=[1, 1, 1, 1]
        ),
        helper.make_node("BatchNormalization", ["c0", "s0", "b0", "m0", "v0"], ["n0"], name="bn0"),
        helper.make_node("Relu", ["n0"], ["r0"], name="relu0"),
        helper.make_node(
            "Conv", ["r0", "w1"], ["c1"], name="body", kernel_shape=[3, 3], pads=[1, 1, 1, 1]
        ),
        helper.make_node("BatchNormalization", ["c1", "s1", "b1", "m1", "v1"], ["n1"], name="bn1"),
        helper.make_node("Add", ["n1", "r0"], ["a1"], name="add"),
        helper.make_node("Relu", ["a1"], ["r1"], name="relu1"),
        helper.make_node(
            "MaxPool", ["r1"], ["y"], name="pool", kernel_shape=[2, 2], strides=[2, 2]
        ),
    ]
    graph = helper.make_graph(
        nodes,
        "residual",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 20, 20])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 32, 10, 10])],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_the_npu_target_is_listed() -> None:
    target = get_target("npu")
    assert target.tag == "npu" and target.runs_in_process()


def test_split_model_matches_onnxruntime() -> None:
    model = _residual_model()
    compiled = terrace.compile(model, target="npu", cache=False)
    x = np.random.default_rng(2).standard_normal((1, 3, 20, 20)).astype(np.float32)
    (y,) = compiled(x)
    (expected,) = run_onnxruntime(model, {"x": x})
    assert_close_to_reference(y, expected)
    # the report names each nn op by the value it computes (the ONNX tensor's name): the
    # batch norms are folded into the convs by then, so n0 and n1 are conv results
    where = {line.split(" ")[0]: line for line in compiled.partition_report().splitlines()}  # type: ignore[attr-defined]
    assert where["n0"].startswith("n0 (Conv): cpu, Cin 3 < 16")
    assert where["n1"].endswith("(Conv): npu, conv layer mapped")
    assert where["a1"].endswith("npu, residual add fused into the conv of @npu_region_0")
    assert where["r1"].endswith("npu, ReLU fused into the conv of @npu_region_0")
    assert where["y"].startswith("y (MaxPool): cpu,")
    runs = compiled.last_runs  # type: ignore[attr-defined]
    assert [r.name for r in runs] == ["npu_region_0"] and runs[0].cycles > 0
    # the host runs the accfg launch sequence: CPU segment, launch, CPU segment
    assert [type(s).__name__ for s in compiled.steps] == ["CpuStep", "NpuStep", "CpuStep"]  # type: ignore[attr-defined]


def test_i8_timing_fuses_the_residual_add() -> None:
    """npu-report's i8 mode (a float model's layers timed as i8 programs): the residual add
    fuses as in f32, rescaled on the ALU; a broadcasting add still says why it does not."""
    from terrace.targets.npu.isa import NpuConfig
    from terrace.targets.npu.partition import partition

    split = partition(_residual_model(), "i8", NpuConfig())
    where = {p.node: p for p in split.placements}
    assert where["body"].device == "npu" and where["bn1"].device == "npu"
    assert (where["add"].device, where["add"].reason) == ("npu", "residual add fused into body")
    assert where["relu1"].reason == "fused into body"


def test_npu_layers_hand_on_their_outputs_in_npu_layout(monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo CNN's four conv layers run back to back on the NPU: their outputs stay
    NCHW16c between them, and only the last one, which the CPU's pooling reads, is unpacked."""
    from terrace.runtime.npu_sim import hetero

    compiled = terrace.compile(DEMO_MODEL, target="npu")
    unpacked: list[tuple[int, ...]] = []
    original = hetero.unpack_activation

    def unpack(packed: np.ndarray, channels: int) -> np.ndarray:
        unpacked.append(packed.shape)
        return original(packed, channels)

    monkeypatch.setattr(hetero, "unpack_activation", unpack)
    x = np.random.default_rng(5).standard_normal((1, 3, 64, 64)).astype(np.float32)
    (y,) = compiled(x)
    kinds = [type(s).__name__ for s in compiled.steps]  # type: ignore[attr-defined]
    assert kinds[:6] == ["CpuStep", "NpuStep", "NpuStep", "NpuStep", "NpuStep", "CpuStep"]
    assert len(unpacked) == 1  # the fourth conv's output, for the global average pool
    (expected,) = run_onnxruntime(onnx.load(DEMO_MODEL), {"image": x})
    assert_close_to_reference(y, expected)


def test_wrong_input_shape_is_one_clear_error() -> None:
    compiled = terrace.compile(_residual_model(), target="npu", cache=False)
    with pytest.raises(terrace.InputError, match=r"input 'x': expected float32\[1, 3, 20, 20\]"):
        compiled(np.zeros((1, 3, 8, 8), np.float32))
    with pytest.raises(terrace.InputError, match="unknown input 'image'; the model's inputs are x"):
        compiled.run({"image": np.zeros((1, 3, 20, 20), np.float32)})
    with pytest.raises(terrace.InputError, match="expected a numpy array"):
        compiled([[0.0]])  # type: ignore[arg-type]


DEMO_MODEL = Path(terrace.__file__).parent / "models" / "demo_cnn.onnx"


def test_terrace_run_on_the_npu_target_matches_onnxruntime(tmp_path: Path) -> None:
    x = np.random.default_rng(3).standard_normal((1, 3, 64, 64)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    args = ["run", str(DEMO_MODEL), "--target", "npu", "--input", f"image={tmp_path / 'x.npy'}"]
    assert main([*args, "--output", str(tmp_path / "y.npz")]) == 0
    (expected,) = run_onnxruntime(onnx.load(DEMO_MODEL), {"image": x})
    assert_close_to_reference(np.load(tmp_path / "y.npz")["probabilities"], expected)


def test_no_emit_for_the_npu_target(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compile", str(DEMO_MODEL), "--target", "npu", "--emit", "llvm"]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "no single LLVM pipeline" in error


def test_npu_artifact_writes_loads_and_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`terrace compile --target npu -o OUT/` writes the .tnpu programs with a host artifact
    per CPU segment; `terrace.runtime.load(OUT)` and `terrace run OUT/` run it, with the same
    outputs as the in-process compile and onnxruntime's."""
    from terrace.runtime import load
    from terrace.targets.npu.binary import read_tnpu
    from terrace.targets.npu.isa import NpuConfig

    out = tmp_path / "out"
    assert main(["compile", str(DEMO_MODEL), "--target", "npu", "-o", str(out)]) == 0
    assert "npu_weights.npz" in capsys.readouterr().out
    programs = sorted(out.glob("npu_*.tnpu"))
    # four convs with their epilogues and the classifier; the two blocks have the same
    # layers, so their launches share two programs (their weights are bound at launch)
    manifest = json.loads((out / "manifest.json").read_text())
    launches = [s["program"] for s in manifest["steps"] if s["kind"] == "npu"]
    assert len(launches) == 5 and len(set(launches)) == 3
    assert sorted(p.name for p in programs) == sorted(set(launches))
    assert all(read_tnpu(p.read_bytes(), NpuConfig()).instructions for p in programs)
    assert len([d for d in out.iterdir() if d.is_dir()]) == 3  # the CPU segments
    loaded = load(out)
    x = np.random.default_rng(9).standard_normal((1, 3, 64, 64)).astype(np.float32)
    (y,) = loaded(x)
    (in_process,) = terrace.compile(DEMO_MODEL, target="npu")(x)
    np.testing.assert_array_equal(y, in_process)
    (expected,) = run_onnxruntime(onnx.load(DEMO_MODEL), {"image": x})
    assert_close_to_reference(y, expected)
    assert "logits (Gemm): npu, matmul layer mapped" in loaded.partition_report()  # type: ignore[attr-defined]
    np.save(tmp_path / "x.npy", x)
    args = ["run", str(out), "--input", f"image={tmp_path / 'x.npy'}"]
    assert main([*args, "--output", str(tmp_path / "y.npz")]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "y.npz")["probabilities"], y)


def test_a_damaged_npu_artifact_is_one_clear_error(tmp_path: Path) -> None:
    from terrace.compiler import compile_artifact
    from terrace.errors import TerraceRuntimeError
    from terrace.runtime import load

    out = tmp_path / "out"
    compile_artifact(DEMO_MODEL, out, "npu")
    program = sorted(out.glob("npu_*.tnpu"))[0]
    program.write_bytes(b"TNPX" + program.read_bytes()[4:])
    with pytest.raises(TerraceRuntimeError, match=r"npu_\d+\.tnpu: not a \.tnpu file: magic"):
        load(out)


@pytest.mark.slow
def test_light_resnet50_f32_on_the_npu() -> None:
    from terrace.benchmarks.light_models import light_model, randomize_weights

    model = randomize_weights(light_model("light_resnet50"))
    compiled = terrace.compile(model, target="npu")
    x = np.random.default_rng(0).standard_normal((1, 3, 224, 224)).astype(np.float32)
    (y,) = compiled(x)
    (expected,) = run_onnxruntime(model, {model.graph.input[0].name: x})
    assert_close_to_reference(y, expected)
    assert y.argmax() == expected.argmax()
    placements = compiled.placements  # type: ignore[attr-defined]
    assert sum(p.device == "npu" and p.op_type == "Conv" for p in placements) == 52
    assert sum(p.device == "npu" and p.op_type == "Sum" for p in placements) == 16
    assert [p.device for p in placements if p.op_type == "Gemm"] == ["npu"]  # the classifier
    # NPU.md's partition: CPU (conv1, max pool) -> NPU (the 52 convs, the 16 adds) -> CPU
    # (average pool, flatten) -> NPU (the classifier) -> CPU (softmax)
    kinds = [type(s).__name__ for s in compiled.steps]  # type: ignore[attr-defined]
    assert kinds == ["CpuStep", *["NpuStep"] * 52, "CpuStep", "NpuStep", "CpuStep"]


def _quantized_model(hidden_zero_point: int) -> onnx.ModelProto:
    """x -> QuantizeLinear -> QLinearConv 3x3 (bias) -> QLinearConv 1x1 -> int8 output; the
    second conv's input zero point is `hidden_zero_point` (0: TNPU-1 can run it)."""
    rng = np.random.default_rng(5)

    def const(name: str, value: np.ndarray) -> onnx.TensorProto:
        return numpy_helper.from_array(value, name)

    inits = [
        const("sx", np.array(0.05, np.float32)),
        const("zero", np.array(0, np.int8)),
        const("w1", rng.integers(-127, 128, (32, 16, 3, 3)).astype(np.int8)),
        const("sw1", np.array(0.01, np.float32)),
        const("s1", np.array(0.2, np.float32)),
        const("z1", np.array(hidden_zero_point, np.int8)),
        const("b1", rng.integers(-2000, 2000, 32).astype(np.int32)),
        const("w2", rng.integers(-127, 128, (32, 32, 1, 1)).astype(np.int8)),
        const("sw2", np.array(0.02, np.float32)),
        const("s2", np.array(0.3, np.float32)),
        const("z2", np.array(-5, np.int8)),
    ]
    first = ["q", "sx", "zero", "w1", "sw1", "zero", "s1", "z1", "b1"]
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "sx", "zero"], ["q"], name="quant"),
        helper.make_node(
            "QLinearConv", first, ["q1"], name="qconv1", kernel_shape=[3, 3], pads=[1, 1, 1, 1]
        ),
        helper.make_node(
            "QLinearConv",
            ["q1", "s1", "z1", "w2", "sw2", "zero", "s2", "z2"],
            ["q2"],
            name="qconv2",
            kernel_shape=[1, 1],
        ),
    ]
    graph = helper.make_graph(
        nodes,
        "quantized",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16, 20, 20])],
        [helper.make_tensor_value_info("q2", TensorProto.INT8, [1, 32, 20, 20])],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def test_quantized_convs_run_on_the_npu_bit_exact() -> None:
    model = _quantized_model(hidden_zero_point=0)
    compiled = terrace.compile(model, target="npu", cache=False)
    x = (np.random.default_rng(6).standard_normal((1, 16, 20, 20)) * 3).astype(np.float32)
    (y,) = compiled(x)
    (expected,) = run_onnxruntime(model, {"x": x})
    assert y.dtype == np.int8
    np.testing.assert_array_equal(y, expected)
    assert len(np.unique(y)) > 100  # the requantized range is used, not one saturated value
    assert [r.name for r in compiled.last_runs] == ["qconv1", "qconv2"]  # type: ignore[attr-defined]


def test_a_quantized_conv_with_a_zero_point_stays_on_the_cpu() -> None:
    model = _quantized_model(hidden_zero_point=3)
    compiled = terrace.compile(model, target="npu", cache=False)
    where = {p.node: p for p in compiled.placements}  # type: ignore[attr-defined]
    assert (where["qconv1"].device, where["qconv1"].reason) == ("npu", "i8 conv layer mapped")
    assert where["qconv2"].reason == (
        "non-zero input or weight zero point (out of scope for TNPU-1 v1)"
    )
    x = (np.random.default_rng(7).standard_normal((1, 16, 20, 20)) * 3).astype(np.float32)
    (expected,) = run_onnxruntime(model, {"x": x})
    np.testing.assert_array_equal(compiled(x)[0], expected)


def test_input_shapes_fix_a_dynamic_model_and_input_values_are_refused() -> None:
    model = _residual_model()
    for value in (*model.graph.input, *model.graph.output):
        value.type.tensor_type.shape.dim[0].dim_param = "N"
    with pytest.raises(terrace.ModelImportError, match="dynamic dimension 'N' at axis 0"):
        terrace.compile(model, target="npu", cache=False)
    compiled = terrace.compile(model, target="npu", input_shapes={"x": [1, 3, 20, 20]}, cache=False)
    x = np.random.default_rng(4).standard_normal((1, 3, 20, 20)).astype(np.float32)
    (expected,) = run_onnxruntime(model, {"x": x})
    assert_close_to_reference(compiled(x)[0], expected)
    assert [r.name for r in compiled.last_runs] == ["npu_region_0"]  # type: ignore[attr-defined]
    with pytest.raises(terrace.CompilationError, match="does not bind input values"):
        terrace.compile(model, target="npu", input_values={"x": x}, cache=False)


def test_npu_annotate_agrees_with_the_partition() -> None:
    """The nn-dialect pass and the ONNX-level partition apply one rule: on the demo CNN (and
    the residual model) they place the same convs, in the same order."""
    from terrace.compiler import StageTimer, lower
    from terrace.dialects.context import terrace_context
    from terrace.dialects.nn.neural import ConvOp
    from terrace.targets.npu.isa import NpuConfig
    from terrace.targets.npu.npu_annotate import NpuAnnotatePass
    from terrace.targets.npu.partition import partition

    for model in (onnx.load(DEMO_MODEL), _residual_model()):
        module = lower(model, get_target(None), "nn", StageTimer()).module
        NpuAnnotatePass().apply(terrace_context(), module)
        annotated = [
            (op.attributes["npu.device"], op.attributes["npu.reason"])
            for op in module.walk()
            if isinstance(op, ConvOp)
        ]
        placements = partition(model, "f32", NpuConfig()).placements
        convs = [(p.device, p.reason) for p in placements if p.op_type == "Conv"]
        assert [(d.data, r.data) for d, r in annotated] == convs  # type: ignore[attr-defined]
        assert {d for d, _ in convs} == {"cpu", "npu"}


@pytest.mark.slow
# inception's classifier takes its B from a node, not an initializer: a constant once imported,
# so npu-annotate places it too (56 convs and the classifier)
@pytest.mark.parametrize(("name", "layers"), [("light_squeezenet", 25), ("light_inception_v1", 57)])
def test_other_light_models_on_the_npu(name: str, layers: int) -> None:
    """Concats of conv branches (inception), fire modules (squeezenet): every conv but the
    stem runs on the simulator, and the model still matches onnxruntime."""
    from terrace.benchmarks.light_models import light_model, randomize_weights

    model = randomize_weights(light_model(name))
    compiled = terrace.compile(model, target="npu")
    (spec,) = compiled.abi.inputs
    x = np.random.default_rng(0).standard_normal(spec.shape).astype(np.float32)
    (y,) = compiled(x)
    (expected,) = run_onnxruntime(model, {spec.name: x})
    assert_close_to_reference(y, expected)
    assert y.argmax() == expected.argmax()
    assert len(compiled.last_runs) == layers  # type: ignore[attr-defined]


def test_a_conv_result_the_graph_outputs_is_not_fused_away() -> None:
    """body's raw result c1 is also a graph output: batch norm (not folded), add and ReLU
    stay on the CPU (fusing them would leave that output unproduced)."""
    model = _residual_model()
    model.graph.output.append(helper.make_tensor_value_info("c1", TensorProto.FLOAT, None))
    compiled = terrace.compile(model, target="npu", cache=False)
    where = {p.node: p for p in compiled.placements}  # type: ignore[attr-defined]
    assert where["c1"].device == "npu" and where["n1"].device == "cpu"
    assert where["a1"].device == "cpu"
    x = np.random.default_rng(8).standard_normal((1, 3, 20, 20)).astype(np.float32)
    y, c1 = compiled(x)
    expected_y, expected_c1 = run_onnxruntime(model, {"x": x})
    assert_close_to_reference(y, expected_y)
    assert_close_to_reference(c1, expected_c1)


def test_a_uint8_quantized_conv_stays_on_the_cpu() -> None:
    from terrace.targets.npu.isa import NpuConfig
    from terrace.targets.npu.partition import partition

    model = _quantized_model(hidden_zero_point=0)
    model.graph.initializer.append(numpy_helper.from_array(np.array(0, np.uint8), "zero_u8"))
    quantize, first = model.graph.node[0], model.graph.node[1]
    quantize.input[2] = "zero_u8"  # x is quantized to uint8, with a zero point of 0
    first.input[2] = "zero_u8"
    where = {p.node: p for p in partition(model, "f32", NpuConfig()).placements}
    assert (where["qconv1"].device, where["qconv1"].reason) == (
        "cpu",
        "uint8 QLinearConv: TNPU-1 v1 computes int8 (zero zero points)",
    )


def test_a_conv_without_kernel_shape_takes_it_from_its_weights() -> None:
    model = _residual_model()
    body = next(n for n in model.graph.node if n.name == "body")
    kept = [a for a in body.attribute if a.name != "kernel_shape"]
    del body.attribute[:]
    body.attribute.extend(kept)
    compiled = terrace.compile(model, target="npu", cache=False)
    where = {p.node: p for p in compiled.placements}  # type: ignore[attr-defined]
    assert where["n1"].reason == "conv layer mapped"
    layer = where["n1"].layer
    assert (layer.kh, layer.kw) == (3, 3)
    x = np.random.default_rng(9).standard_normal((1, 3, 20, 20)).astype(np.float32)
    (expected,) = run_onnxruntime(model, {"x": x})
    assert_close_to_reference(compiled(x)[0], expected)
