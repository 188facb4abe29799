"""`terrace npu-report`: the partition (which op runs where and why) and the per-layer table."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from terrace.targets.npu.isa import NpuConfig
from terrace.targets.npu.partition import NpuLayer, partition
from terrace.tools.npu_report import model_report


def _model() -> onnx.ModelProto:
    rng = np.random.default_rng(0)
    inits = [
        numpy_helper.from_array(rng.standard_normal((32, 3, 3, 3)).astype(np.float32), "w0"),
        numpy_helper.from_array(rng.standard_normal((32, 32, 3, 3)).astype(np.float32), "w1"),
        *(numpy_helper.from_array(np.ones(32, np.float32), n) for n in ("s", "b", "m", "v")),
    ]
    nodes = [
        helper.make_node(
            "Conv", ["x", "w0"], ["c0"], name="stem", kernel_shape=[3, 3], pads=[1, 1, 1, 1]
        ),
        helper.make_node(
            "Conv", ["c0", "w1"], ["c1"], name="body", kernel_shape=[3, 3], pads=[1, 1, 1, 1]
        ),
        helper.make_node("BatchNormalization", ["c1", "s", "b", "m", "v"], ["n1"], name="bn"),
        helper.make_node("Relu", ["n1"], ["r1"], name="relu"),
        helper.make_node(
            "MaxPool", ["r1"], ["y"], name="pool", kernel_shape=[2, 2], strides=[2, 2]
        ),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 16, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 32, 8, 8])],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_partition_says_where_and_why() -> None:
    placements = {p.node: p for p in partition(_model(), "i8", NpuConfig()).placements}
    assert (placements["stem"].device, placements["stem"].reason) == (
        "cpu",
        "Cin 3 < 16: the 16-lane GEMM would run 3/16 full",
    )
    body = placements["body"]
    assert body.device == "npu" and body.layer is not None
    assert body.layer.bias and body.layer.relu  # the batch norm folds into a bias, ReLU fuses
    assert placements["bn"].reason == "folded into body"
    assert placements["relu"].reason == "fused into body"
    assert placements["pool"].device == "cpu"


def test_report_table_and_json(tmp_path: Path) -> None:
    path = tmp_path / "m.onnx"
    onnx.save(_model(), path)
    text = model_report(str(path), "i8", 16, True, str(tmp_path / "rows.json"))
    assert "body (Conv): npu, conv layer mapped" in text
    row = next(line for line in text.splitlines() if "conv 3x3/1 32->32" in line).split()
    macs = 16 * 16 * 32 * 32 * 9  # 2.4 MMAC
    assert row[0] == "body" and row[6] == f"{macs / 1e6:.1f}"
    assert "total: 1 layers" in text


def test_a_constant_of_shape_weight_is_a_constant() -> None:
    """The light models fill weights with ConstantOfShape: such a conv still maps, with the
    fill as its weights, and the report lists the constant apart."""
    model = _model()
    graph = model.graph
    shape = numpy_helper.from_array(np.array([32, 32, 3, 3], np.int64), "w1_shape")
    fill = helper.make_node(
        "ConstantOfShape",
        ["w1_shape"],
        ["w1"],
        name="fill",
        value=numpy_helper.from_array(np.array([0.25], np.float32)),
    )
    kept = [t for t in graph.initializer if t.name != "w1"]
    del graph.initializer[:]
    graph.initializer.extend([*kept, shape])
    graph.node.insert(0, fill)
    split = partition(model, "f32", NpuConfig())
    where = {p.node: p for p in split.placements}
    assert where["body"].device == "npu"
    (layer,) = [s for s in split.steps if isinstance(s, NpuLayer)]
    factor = 1 / np.sqrt(1 + 1e-5)  # the batch norm (scale 1, variance 1) folds in
    assert layer.weight.shape == (32, 32, 3, 3)
    np.testing.assert_allclose(layer.weight, 0.25 * factor, rtol=1e-6)
    assert where["fill"].reason.startswith("a constant")


def _cycles_and_macs(path: Path) -> tuple[int, int]:
    rows = json.loads(path.read_text())
    return sum(r["cycles"] for r in rows), sum(r["useful_macs"] for r in rows)


@pytest.mark.slow
def test_resnet50_report_maps_its_52_convs_and_the_classifier(tmp_path: Path) -> None:
    """NPU.md section 9.5's targets on ResNet-50 in i8: aggregate utilization >= 70% of 256
    MAC/cycle at 16 B/cycle, and double buffering >= 1.2x faster than single buffering at
    8 B/cycle (the cycle model: docs/npu.md's measurements table)."""
    text = model_report("resnet50", "i8", 16, True, str(tmp_path / "i8_16.json"))
    assert "  n0 (Conv): cpu, Cin 3 < 16" in text
    assert "(Gemm): npu, matmul layer mapped" in text
    assert "total: 53 layers, 3.97 GMAC" in text
    cycles, macs = _cycles_and_macs(tmp_path / "i8_16.json")
    assert macs / (256 * cycles) >= 0.70
    model_report("resnet50", "i8", 8, True, str(tmp_path / "double.json"))
    model_report("resnet50", "i8", 8, False, str(tmp_path / "single.json"))
    double, _ = _cycles_and_macs(tmp_path / "double.json")
    single, _ = _cycles_and_macs(tmp_path / "single.json")
    assert single / double >= 1.2


def test_roofline_plot_points_sit_under_the_roof(tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    path = tmp_path / "m.onnx"
    onnx.save(_model(), path)
    rows_path, plot = tmp_path / "rows.json", tmp_path / "roof.svg"
    # 2 B/cycle puts the ridge (512 / 2 = 256 ops per byte) right of the layer: memory bound
    model_report(str(path), "i8", 2, True, str(rows_path), str(plot))
    svg = ET.parse(plot).getroot()
    ns = {"s": "http://www.w3.org/2000/svg"}
    roof = svg.find("s:polyline[@class='roof']", ns)
    assert roof is not None
    corners = [tuple(map(float, p.split(","))) for p in roof.attrib["points"].split()]
    assert len(corners) == 3 and corners[1][1] == corners[2][1]  # slope, then the flat peak
    circles = svg.findall("s:circle[@class='layer']", ns)
    assert len(circles) == 1
    title = circles[0].find("s:title", ns)
    assert title is not None
    assert (title.text or "").startswith("body: conv 3x3/1 32->32 @16x16 i8, ")
    cx, cy = float(circles[0].attrib["cx"]), float(circles[0].attrib["cy"])
    (x0, y0), (x1, y1), _ = corners
    assert x0 <= cx <= x1  # left of the ridge, as its AI (2 x 2.4 MMAC / DRAM bytes) is
    roof_y = y0 + (y1 - y0) * (cx - x0) / (x1 - x0)  # SVG y grows downwards
    assert cy >= roof_y - 0.5


@pytest.mark.parametrize(
    ("batch", "reason"),
    [
        (2, "batch > 1 (out of scope for TNPU-1 v1)"),
        ("N", "its input or output shape is not static and 4-D (fix the model's input shapes)"),
    ],
)
def test_a_conv_without_a_static_batch_1_shape_stays_on_the_cpu(
    batch: int | str, reason: str
) -> None:
    model = _model()
    for value in (*model.graph.input, *model.graph.output):
        dim = value.type.tensor_type.shape.dim[0]
        if isinstance(batch, int):
            dim.dim_value = batch
        else:
            dim.dim_param = batch
    where = {p.node: p for p in partition(model, "i8", NpuConfig()).placements}
    assert (where["body"].device, where["body"].reason) == ("cpu", reason)
