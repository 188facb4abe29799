"""Bad models end in one clear line: from the API as a ModelImportError, from the CLI as a
non-zero exit with no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from terrace.errors import ModelImportError, UnsupportedModelError
from terrace.frontend.onnx import import_model
from terrace.tools.cli import DEMO_MODEL

FLOAT = TensorProto.FLOAT


def _value(name: str, shape: list[int] | None = None) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, FLOAT, shape if shape is not None else [2, 3])


def _model(
    nodes: list[onnx.NodeProto], inputs: list[onnx.ValueInfoProto], outputs: list[str], **kw
):
    graph = helper.make_graph(nodes, "g", inputs, [_value(o) for o in outputs], **kw)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "terrace.tools.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def _assert_one_line_failure(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0]


def test_missing_file(tmp_path: Path):
    with pytest.raises(ModelImportError, match="no such model file"):
        import_model(tmp_path / "absent.onnx")
    _assert_one_line_failure(_cli("import", str(tmp_path / "absent.onnx")), "no such model file")


def test_truncated_file(tmp_path: Path):
    data = DEMO_MODEL.read_bytes()
    path = tmp_path / "truncated.onnx"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelImportError):
        import_model(path)
    _assert_one_line_failure(_cli("import", str(path)), "truncated.onnx")


def test_garbage_file(tmp_path: Path):
    path = tmp_path / "garbage.onnx"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(ModelImportError):
        import_model(path)
    _assert_one_line_failure(_cli("import", str(path)), "garbage.onnx")


def test_unknown_ops_are_all_listed(tmp_path: Path):
    nodes = [
        helper.make_node("Relu", ["x"], ["a"], name="ok"),
        helper.make_node("NonZero", ["a"], ["b"], name="first_bad"),
        helper.make_node("Custom", ["b"], ["y"], name="second_bad", domain="com.example"),
    ]
    model = _model(nodes, [_value("x")], ["y"])
    model.opset_import.append(helper.make_opsetid("com.example", 1))
    with pytest.raises(UnsupportedModelError) as raised:
        import_model(model)
    message = str(raised.value)
    assert "2 nodes" in message
    assert "first_bad (NonZero, opset 17)" in message
    assert "second_bad (Custom" in message and "com.example" in message
    assert "ok (" not in message
    path = tmp_path / "unknown.onnx"
    onnx.save(model, str(path))
    _assert_one_line_failure(_cli("import", str(path)), "first_bad", "second_bad")


def test_unsupported_attribute_is_listed():
    node = helper.make_node("Relu", ["x"], ["y"], name="r", bogus=3)
    with pytest.raises(UnsupportedModelError, match="r \\(Relu, opset 17\\): attribute 'bogus'"):
        import_model(_model([node], [_value("x")], ["y"]))


def test_cycle():
    nodes = [
        helper.make_node("Add", ["x", "b"], ["a"], name="n1"),
        helper.make_node("Relu", ["a"], ["b"], name="n2"),
        helper.make_node("Relu", ["a"], ["y"], name="n3"),
    ]
    with pytest.raises(ModelImportError, match="cycle through nodes n1, n2"):
        import_model(_model(nodes, [_value("x")], ["y"]))


def test_missing_input(tmp_path: Path):
    node = helper.make_node("Add", ["x", "nowhere"], ["y"], name="adder")
    model = _model([node], [_value("x")], ["y"])
    with pytest.raises(ModelImportError, match="'adder' \\(Add\\) reads 'nowhere'"):
        import_model(model)
    path = tmp_path / "missing.onnx"
    onnx.save(model, str(path))
    _assert_one_line_failure(_cli("import", str(path)), "nowhere")


def test_duplicate_graph_input():
    node = helper.make_node("Relu", ["x"], ["y"], name="r")
    with pytest.raises(ModelImportError, match="graph input 'x' is declared twice"):
        import_model(_model([node], [_value("x"), _value("x")], ["y"]))


def test_value_defined_twice():
    nodes = [
        helper.make_node("Relu", ["x"], ["y"], name="r1"),
        helper.make_node("Neg", ["x"], ["y"], name="r2"),
    ]
    with pytest.raises(ModelImportError, match="'r2' \\(Neg\\) defines 'y', which is already"):
        import_model(_model(nodes, [_value("x")], ["y"]))


def test_dynamic_input_needs_a_shape():
    node = helper.make_node("Relu", ["x"], ["y"], name="r")
    model = _model([node], [_value("x", ["N", 3])], ["y"])  # pyright: ignore
    with pytest.raises(ModelImportError, match="dynamic dimension 'N'"):
        import_model(model)
    imported = import_model(model, {"x": [4, 3]})
    assert imported.inputs[0].shape == (4, 3)


def test_non_constant_shape_input_is_named():
    node = helper.make_node("Reshape", ["x", "s"], ["y"], name="reshaper")
    inputs = [_value("x"), helper.make_tensor_value_info("s", TensorProto.INT64, [2])]
    with pytest.raises(UnsupportedModelError, match="reshaper \\(Reshape.*'s' \\(shape\\) must be"):
        import_model(_model([node], inputs, ["y"]))


def test_shape_subgraph_is_folded_to_a_static_reshape():
    # the pattern exporters emit: Shape -> Gather -> Unsqueeze -> Concat -> Reshape
    nodes = [
        helper.make_node("Shape", ["x"], ["shape"]),
        helper.make_node("Gather", ["shape", "zero"], ["batch"], axis=0),
        helper.make_node("Unsqueeze", ["batch", "axes"], ["batch1"]),
        helper.make_node("Concat", ["batch1", "minus_one"], ["target"], axis=0),
        helper.make_node("Reshape", ["x", "target"], ["y"], name="flatten"),
    ]
    initializers = [
        numpy_helper.from_array(np.array(0, np.int64), "zero"),
        numpy_helper.from_array(np.array([0], np.int64), "axes"),
        numpy_helper.from_array(np.array([-1], np.int64), "minus_one"),
    ]
    model = _model(nodes, [_value("x", [2, 3, 4])], ["y"], initializer=initializers)
    model.graph.output[0].CopyFrom(_value("y", [2, 12]))
    imported = import_model(model)
    names = [op.name for op in imported.module.walk() if op.name.startswith("nn.")]
    assert names == ["nn.reshape"]
    assert "shape = array<i64: 2, -1>" in str(imported.module)


def test_cli_import_writes_ir_and_weights(tmp_path: Path):
    out, weights = tmp_path / "m.mlir", tmp_path / "m.npz"
    result = _cli("import", str(DEMO_MODEL), "-o", str(out), "--weights", str(weights))
    assert result.returncode == 0, result.stderr
    text = out.read_text()
    assert 'nn.weight "stem.weight" : tensor<16x3x3x3xf32>' in text
    with np.load(weights) as data:
        assert data["stem.weight"].shape == (16, 3, 3, 3)
    assert "dense<[" not in text  # no weight is spelled out in the IR


def test_cli_bad_input_shape_flag():
    result = _cli("import", str(DEMO_MODEL), "--input-shape", "image=1,x")
    _assert_one_line_failure(result, "--input-shape")


def test_external_data_is_loaded(tmp_path: Path):
    model = onnx.load(str(DEMO_MODEL))
    path = tmp_path / "external.onnx"
    onnx.save(
        model,
        str(path),
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location="external.bin",
        size_threshold=0,
    )
    assert (tmp_path / "external.bin").stat().st_size > 30_000
    imported = import_model(path)
    original = onnx.load(str(DEMO_MODEL))
    expected = numpy_helper.to_array(
        next(t for t in original.graph.initializer if t.name == "stem.weight")
    )
    np.testing.assert_array_equal(imported.weights["stem.weight"], expected)


def test_missing_external_data_is_one_line(tmp_path: Path):
    model = onnx.load(str(DEMO_MODEL))
    path = tmp_path / "external.onnx"
    onnx.save(model, str(path), save_as_external_data=True, location="gone.bin", size_threshold=0)
    (tmp_path / "gone.bin").unlink()
    _assert_one_line_failure(_cli("import", str(path)), "external.onnx")


# -- regressions found by the ONNX fuzzer (tests/fuzz/test_fuzz_onnx.py) ---------------------------


def _conv_model(weight: TensorProto) -> onnx.ModelProto:
    node = helper.make_node("Conv", ["x", "w"], ["y"], name="conv")
    return _model([node], [_value("x", [1, 3, 4, 4])], ["y"], initializer=[weight])


def test_initializer_shorter_than_its_shape():
    weight = numpy_helper.from_array(np.ones((2, 3, 3, 3), np.float32), "w")
    weight.raw_data = weight.raw_data[:100]
    with pytest.raises(ModelImportError, match="initializer 'w' has shape .* 100 bytes of raw"):
        import_model(_conv_model(weight))


def test_initializer_whose_dtype_no_longer_fits_its_data():
    weight = numpy_helper.from_array(np.ones((2, 3, 3, 3), np.float32), "w")
    weight.data_type = TensorProto.BOOL  # the same bytes now hold 4x the elements
    with pytest.raises(ModelImportError, match="initializer 'w' has shape"):
        import_model(_conv_model(weight))


def test_unknown_element_types():
    weight = numpy_helper.from_array(np.ones((2, 3, 3, 3), np.float32), "w")
    weight.data_type = 999
    with pytest.raises(ModelImportError, match="initializer 'w' has an unknown element type 999"):
        import_model(_conv_model(weight))
    model = _model([helper.make_node("Relu", ["x"], ["y"])], [_value("x")], ["y"])
    model.graph.input[0].type.tensor_type.elem_type = 999
    with pytest.raises(ModelImportError, match="value 'x' has an unknown element type 999"):
        import_model(model)


@pytest.mark.parametrize(
    ("dims", "message"),
    [
        ([2**40], "more than 2147483648"),
        ([2**62, 2**62], "more than 2147483648"),
        ([-7, 2], "non-negative"),  # onnx's inference says so first
        ([1] * 40, "rank 40"),
    ],
)
def test_constant_of_shape_with_absurd_shape_is_refused_before_allocating(dims, message):
    nodes = [
        helper.make_node("ConstantOfShape", ["shape"], ["c"], name="fill"),
        helper.make_node("Add", ["x", "c"], ["y"], name="add"),
    ]
    shape = numpy_helper.from_array(np.array(dims, np.int64), "shape")
    model = _model(nodes, [_value("x", [1])], ["y"], initializer=[shape])
    model.graph.output[0].type.tensor_type.ClearField("shape")
    with pytest.raises(
        ModelImportError, match=f"ConstantOfShape.*fill.*{message}|fill \\(Const.*{message}"
    ):
        import_model(model)


def test_constant_of_shape_value_must_have_one_element():
    empty = numpy_helper.from_array(np.zeros((0,), np.float32), "value")
    nodes = [
        helper.make_node("ConstantOfShape", ["shape"], ["c"], name="fill", value=empty),
        helper.make_node("Add", ["x", "c"], ["y"]),
    ]
    shape = numpy_helper.from_array(np.array([2, 3], np.int64), "shape")
    model = _model(nodes, [_value("x")], ["y"], initializer=[shape])
    with pytest.raises(UnsupportedModelError, match="'value' has 0 elements, expected one"):
        import_model(model)


def test_graph_input_with_2_to_the_40_elements():
    model = _model([helper.make_node("Relu", ["x"], ["y"])], [_value("x", [2**20, 2**20])], ["y"])
    with pytest.raises(ModelImportError, match="graph input 'x' has 1099511627776 elements"):
        import_model(model)


def test_expand_to_2_to_the_40_elements_is_refused_at_import():
    nodes = [helper.make_node("Expand", ["x", "shape"], ["y"], name="expand")]
    shape = numpy_helper.from_array(np.array([2**20, 2**20], np.int64), "shape")
    model = _model(nodes, [_value("x", [1, 1])], ["y"], initializer=[shape])
    model.graph.output[0].CopyFrom(_value("y", [2**20, 2**20]))
    with pytest.raises(UnsupportedModelError, match="expand \\(Expand.*more than 2147483648"):
        import_model(model)


def test_a_newline_in_a_name_stays_on_one_line():
    model = _model([helper.make_node("Relu", ["x"], ["y"])], [_value("x")], ["y"])
    model.graph.output[0].name = "y\nmore"
    with pytest.raises(ModelImportError) as raised:
        import_model(model)
    assert "\n" not in str(raised.value)
    assert "'y\\nmore' is never defined" in str(raised.value)


def test_a_name_that_is_not_utf8(tmp_path: Path):
    model = _model([helper.make_node("Relu", ["x"], ["yyy"])], [_value("x")], ["yyy"])
    path = tmp_path / "latin1.onnx"
    path.write_bytes(model.SerializeToString().replace(b"yyy", b"y\xdfy"))
    with pytest.raises(ModelImportError, match="is not UTF-8 text"):
        import_model(path)
    _assert_one_line_failure(_cli("import", str(path)), "UTF-8")


def test_external_data_in_a_model_proto_is_refused():
    weight = numpy_helper.from_array(np.ones((2, 3, 3, 3), np.float32), "w")
    weight.ClearField("raw_data")
    weight.data_location = TensorProto.EXTERNAL
    entry = weight.external_data.add()
    entry.key, entry.value = "location", "weights.bin"
    with pytest.raises(ModelImportError, match="initializer 'w' keeps its data in an external"):
        import_model(_conv_model(weight))


def test_input_shape_past_int64_is_one_line():
    result = _cli("import", str(DEMO_MODEL), "--input-shape", f"image=1,3,{2**70},2")
    _assert_one_line_failure(result, "the shape given for 'image'")


def test_an_unexpected_exception_is_one_internal_error_line(monkeypatch, capsys):
    from terrace.frontend import onnx as frontend
    from terrace.tools import cli

    def broken(*_: object) -> None:
        raise KeyError("deep inside\nsecond line")

    monkeypatch.setattr(frontend, "import_model", broken)
    assert cli.main(["import", str(DEMO_MODEL)]) == cli.INTERNAL_ERROR
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("terrace: internal error: KeyError:")
    assert lines[0].endswith("(please report)")


def test_types_that_onnx_schemas_refuse_are_refused():
    # nn's verifiers take Pad on int8 and ignore declared output types; onnx's do not
    node = helper.make_node("Pad", ["x", "pads"], ["y"], name="pad")
    pads = numpy_helper.from_array(np.array([0, 1, 0, 1], np.int64), "pads")
    x = helper.make_tensor_value_info("x", TensorProto.INT8, [2, 3])
    model = _model([node], [x], ["y"], initializer=[pads])
    with pytest.raises(ModelImportError, match="invalid ONNX model: .*Pad"):
        import_model(model)
    relu = helper.make_node("Relu", ["x"], ["y"])
    model = _model([relu], [_value("x")], ["y"])
    model.graph.output[0].type.tensor_type.elem_type = TensorProto.INT8
    with pytest.raises(ModelImportError, match="Inferred elem type differs"):
        import_model(model)


@pytest.mark.parametrize("version", [0, 999])
def test_an_opset_onnx_does_not_define(version: int):
    model = _model([helper.make_node("Relu", ["x"], ["y"])], [_value("x")], ["y"])
    model.opset_import[0].version = version
    with pytest.raises(ModelImportError, match=f"imports opset {version} of the default"):
        import_model(model)
