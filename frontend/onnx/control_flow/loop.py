"""Loop and If with what decides their control flow known at import time.

If: the branch its (known) condition picks is converted in its place.

Loop, unrolled: possible when the trip count is known at import time and the condition
each step computes is too.

Step i binds the body's iteration number to i, its condition to the condition so far and its
loop-carried inputs to the values so far, converts a copy of the body (onnx_scan.run_body), and
stops when the trip count is reached or the body's condition is false. The final loop-carried
values are the node's first outputs; each scan output stacks its steps along a new axis 0.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper

from ..emitter import Emitter, NodeError, RunTimeValueError
from ..registry import decomposition
from .scan import run_body, stack
from .sequences import forward

MAX_STEPS = 4096
"""The most steps a Loop is unrolled to."""


@decomposition("Loop", since=1)
def loop(node: onnx.NodeProto, emitter: Emitter) -> None:
    if emitter.opset < 11:
        raise NodeError("Loop before opset 11 is not supported")
    attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    if set(attributes) != {"body"}:
        raise NodeError(f"attribute '{sorted(set(attributes) - {'body'})[0]}' not supported")
    body = attributes["body"]
    assert isinstance(body, onnx.GraphProto)
    trip_name, condition_name, *initial = [*node.input, "", ""][: max(len(node.input), 2)]
    trips = _known_scalar(trip_name, emitter, "trip count") if trip_name else MAX_STEPS
    condition = _known_scalar(condition_name, emitter, "condition") if condition_name else True
    carried = list(initial)
    scan_count = len(body.output) - 1 - len(carried)
    outputs: list[list[str]] = [[] for _ in range(scan_count)]
    step = 0
    while step < int(trips) and bool(condition):
        if step == MAX_STEPS:
            raise NodeError(f"a Loop of more than {MAX_STEPS} steps")
        bound = {
            body.input[0].name: emitter.constant(np.array(step, np.int64)),
            body.input[1].name: emitter.constant(np.array(bool(condition))),
            **dict(zip([v.name for v in body.input[2:]], carried, strict=True)),
        }
        results = run_body(body, bound, f"{node.name or 'Loop'}/step{step}/", emitter)
        condition = _known_scalar(results[0], emitter, "condition")
        carried = results[1 : 1 + len(carried)]
        for collected, result in zip(outputs, results[1 + len(carried) :], strict=True):
            collected.append(result)
        step += 1
    for value, name in zip(carried, node.output[: len(carried)], strict=True):
        if name:
            forward(emitter, value, name)
    for collected, name in zip(outputs, node.output[len(carried) :], strict=True):
        if not name:
            continue
        if not collected:
            raise NodeError("a Loop of no steps with scan outputs")
        stack(collected, 0, name, emitter)


def _known_scalar(name: str, emitter: Emitter, what: str) -> int | bool:
    value = emitter.value(name)
    if value is None:
        raise RunTimeValueError(name, f"the {what} is known only at run time")
    scalar = value.reshape(-1)[0].item()
    assert isinstance(scalar, int | bool)
    return scalar


@decomposition("If", since=1)
def if_(node: onnx.NodeProto, emitter: Emitter) -> None:
    attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    if set(attributes) != {"then_branch", "else_branch"}:
        raise NodeError("If needs a then_branch and an else_branch")
    condition = _known_scalar(node.input[0], emitter, "condition")
    branch = attributes["then_branch" if condition else "else_branch"]
    assert isinstance(branch, onnx.GraphProto)
    results = run_body(branch, {}, f"{node.name or 'If'}/{bool(condition)}/", emitter)
    for value, name in zip(results, node.output, strict=True):
        if name:
            forward(emitter, value, name)
