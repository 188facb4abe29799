"""Records are reused by key: a conv tuned in one model is applied to the identical conv in
another model (other weights, other names, other neighbours), and a compile reads them back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from xdsl.dialects.builtin import DictionaryAttr, StringAttr

from terrace.targets import get_target
from terrace.tools.cli import main
from terrace.tuning.apply import with_tuning_db
from terrace.tuning.tasks import _memref_module  # pyright: ignore[reportPrivateUsage]


def _conv_model(seed: int, prefix: str, average_pool: bool) -> onnx.ModelProto:
    """A 3x3 conv 16 -> 32 on 1x16x14x14 with bias and relu, then something model-specific."""
    rng = np.random.default_rng(seed)
    weight = numpy_helper.from_array(
        rng.standard_normal((32, 16, 3, 3)).astype(np.float32), f"{prefix}_w"
    )
    bias = numpy_helper.from_array(rng.standard_normal(32).astype(np.float32), f"{prefix}_b")
    nodes = [
        helper.make_node("Conv", ["x", f"{prefix}_w", f"{prefix}_b"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"]),
    ]
    # the neighbour differs (not elementwise: linalg-fuse-elementwise would fold it into the
    # conv's epilogue, and that is another task)
    pool = "AveragePool" if average_pool else "MaxPool"
    nodes.append(helper.make_node(pool, ["r"], ["s"], kernel_shape=[2, 2], strides=[2, 2]))
    last = "s"
    out_shape = [1, 32, 7, 7]
    graph = helper.make_graph(
        nodes,
        f"model_{prefix}",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16, 14, 14])],
        [helper.make_tensor_value_info(last, TensorProto.FLOAT, out_shape)],
        [weight, bias],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])


def _sources(model: onnx.ModelProto, db: Path) -> list[str]:
    target, _ = with_tuning_db(get_target(), db)
    module = _memref_module(model, target)
    found: list[str] = []
    for op in module.walk():
        config = op.attributes.get("terrace.config")
        if isinstance(config, DictionaryAttr):
            source = config.data["source"]
            assert isinstance(source, StringAttr)
            found.append(source.data)
    return found


def test_a_conv_tuned_in_one_model_applies_in_another(tmp_path: Path):
    model_a, model_b = _conv_model(0, "a", True), _conv_model(1, "b", False)
    path_a = tmp_path / "a.onnx"
    onnx.save(model_a, str(path_a))
    db = tmp_path / "db.jsonl"
    assert main(["tune", str(path_a), "--runner", "fake", "--trials", "8", "--db", str(db)]) == 0
    assert _sources(model_b, db) == ["record"]
    # nothing tuned: the analytical default
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert _sources(model_b, empty) == ["analytical"]


def test_a_standalone_best_that_loses_in_the_model_gives_way_to_the_default(
    tmp_path: Path, monkeypatch
):
    """`--check-in-model`: the finalists timed in the whole model are recorded, and lookup
    applies the fastest there, even when the kernel alone said otherwise."""
    from terrace.benchmarks.workloads import workload
    from terrace.tuning.config import SPACE
    from terrace.tuning.records import BestIndex, Database, Result
    from terrace.tuning.session import TuningSession

    db = tmp_path / "db.jsonl"
    session = TuningSession(workload("mlp").build(), get_target(), db_path=db)
    state = max(session.states, key=lambda s: s.task.weight)
    default = state.task.default
    better = next(c for c in state.space.configs() if c != default)

    def timed(seconds: float) -> Result:
        return Result(seconds, seconds, (seconds,), 0.0, 0.1, validated=True)

    # alone, `better` beat the default side by side: that is what lookup applied
    session._record(state, [better, default], [timed(1e-3), timed(2e-3)], confirmation=True)  # pyright: ignore[reportPrivateUsage]
    state.measured = {better: timed(1e-3), default: timed(2e-3)}
    state.confirmed = {better, default}
    for s in session.states:
        s.in_model = s is not state
    before = BestIndex.of(Database(db)).lookup(state.task.key, "", session.fp, SPACE)
    assert before == (better, "record")

    class InModel:
        """The whole model is faster with the default on this task."""

        def confirm(self, task, configs, repeats):
            return [timed(5e-3 if c == default else 5.4e-3) for c in configs]

        def close(self) -> None:
            pass

    monkeypatch.setattr(session, "_model_runner", lambda inputs, reference: InModel())
    session.check_in_model(1, lambda line: None)
    row = session.in_model_lines[-1]
    assert row.startswith(f"| {state.task.name} | {better.describe()} |") and "| no |" in row
    assert row.endswith("| default |")
    found = BestIndex.of(Database(db)).lookup(state.task.key, "", session.fp, SPACE)
    assert found == (default, "record")
    # a resumed search keeps the kernel's times: the whole model's are not mixed into them
    again = TuningSession(workload("mlp").build(), get_target(), db_path=db)
    resumed = next(s for s in again.states if s.task.key == state.task.key)
    assert resumed.measured[better].seconds == 1e-3
