"""Standalone kernels (tuning/kernels.py): a task's contraction and fused ops cut out of the
model as a one-kernel model that compiles to the same code (same key), keeps the model's
weights, and is what LocalRunner builds and times for the task."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from terrace.benchmarks.workloads import workload
from terrace.targets import get_target
from terrace.tuning.config import KernelConfig
from terrace.tuning.kernels import cut, standalone_kernels
from terrace.tuning.measure import Candidate, LocalRunner, measure_candidate, measure_request
from terrace.tuning.target_info import target_info
from terrace.tuning.tasks import extract_tasks


def _residual_block() -> onnx.ModelProto:
    """conv -> batchnorm -> relu -> conv -> batchnorm -> Sum(residual) -> relu: the second
    conv's epilogue reads a tensor computed elsewhere in the graph."""
    rng = np.random.default_rng(0)

    def weight(name: str, *shape: int) -> onnx.TensorProto:
        return numpy_helper.from_array(rng.normal(0, 0.2, shape).astype(np.float32), name)

    inits = [weight("w1", 32, 32, 3, 3), weight("w2", 32, 32, 3, 3)]
    for n in ("1", "2"):
        inits += [weight(f"s{n}", 32), weight(f"b{n}", 32), weight(f"m{n}", 32)]
        inits.append(numpy_helper.from_array(np.ones(32, np.float32), f"v{n}"))
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c1"], "conv1", pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c1", "s1", "b1", "m1", "v1"], ["n1"], "bn1"),
        helper.make_node("Relu", ["n1"], ["r1"], "relu1"),
        helper.make_node("Conv", ["r1", "w2"], ["c2"], "conv2", pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c2", "s2", "b2", "m2", "v2"], ["n2"], "bn2"),
        helper.make_node("Sum", ["n2", "x"], ["s"], "sum"),
        helper.make_node("Relu", ["s"], ["y"], "relu2"),
    ]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 32, 16, 16])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 32, 16, 16])
    graph = helper.make_graph(nodes, "block", [x], [y], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])


@pytest.mark.parametrize(
    ("model", "count"), [(workload("mlp").build(), 3), (_residual_block(), 2)], ids=["mlp", "conv"]
)
def test_every_task_gets_a_kernel_that_reproduces_its_key(model: onnx.ModelProto, count: int):
    # the AVX2 target on any x86-64 host: with 8 lanes the mlp's 10-wide classifier is a task
    # too (with AVX-512's 16 it is left to LLVM)
    target = get_target("x86_64-avx2")
    info = target_info(target)
    tasks = extract_tasks(model, target, info)
    assert len(tasks) == count
    kernels = standalone_kernels(model, target, info, tasks, seed=0)
    assert kernels.keys() == {t.key for t in tasks}
    weights = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    for task in tasks:
        piece = onnx.load_from_string(kernels[task.key].model)
        assert len(piece.graph.node) < len(model.graph.node)
        assert [t.key for t in extract_tasks(piece, target, info)] == [task.key]
        # the weights are the model's own constants, not inputs and not fresh values
        assert piece.graph.initializer
        for tensor in piece.graph.initializer:
            np.testing.assert_array_equal(numpy_helper.to_array(tensor), weights[tensor.name])
        initializers = {t.name for t in piece.graph.initializer}
        assert not initializers & {i.name for i in piece.graph.input}


def test_a_cut_that_is_not_one_kernel_is_refused():
    model = onnx.shape_inference.infer_shapes(workload("mlp").build())
    assert cut(model, ["gemm_3", "relu_4"]) is not None
    assert cut(model, ["gemm_3", "gemm_7"]) is None  # two outputs: relu_4 sits between
    assert cut(model, ["no_such_node"]) is None


def test_the_runner_builds_and_validates_the_kernel_not_the_model():
    model = _residual_block()
    target = get_target()
    info = target_info(target)
    tasks = extract_tasks(model, target, info)
    kernels = standalone_kernels(model, target, info, tasks, seed=0)
    task = next(t for t in tasks if "addf" in t.name)  # the conv with the residual Sum
    runner = LocalRunner(model.SerializeToString(), target.tag, 1, [], [], kernels=kernels)
    other = next(
        c for c in (KernelConfig(4, 2, 16, "nm"), KernelConfig(2, 1, 16)) if c != task.default
    )
    request = measure_request(runner, Candidate(task, other))
    assert request.model == kernels[task.key].model != runner.model
    request = replace(request, repeats=2)
    result = measure_candidate(request)  # in this process: built, checked, timed
    assert result.ok and result.validated and len(result.repeats_s) == 2
    # a task without a kernel is measured as the whole model
    alone = LocalRunner(model.SerializeToString(), target.tag, 1, [], [])
    assert measure_request(alone, Candidate(task, other)).model == alone.model
