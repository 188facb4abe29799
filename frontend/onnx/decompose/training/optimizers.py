"""The optimizers of the ai.onnx.preview.training domain as elementwise nn ops, following
onnx's reference (onnx/reference/ops/aionnx_preview_training/).

Inputs R (learning rate) and T (step count) are scalars, then for n tensors the n Xs, the n
gradients Gs and the optimizer's n (Adagrad, Momentum) or 2n (Adam) state tensors; outputs
are the n new Xs then the new states. With g = norm_coefficient * x + grad:

Adagrad    h' = h + g^2;  x' = x - r / (1 + t * decay_factor) * g / (sqrt(h') + epsilon)
Momentum   v' = alpha * v + (t > 0 ? beta : 1) * g;  x' = x - r * v' (standard) or
           x' = x - r * (g + alpha * v') (nesterov)
Adam       v' = alpha * v + (1 - alpha) * g;  h' = beta * h + (1 - beta) * g^2;
           x' = (1 - norm_coefficient_post) *
                (x - r' * v' / (sqrt(h') + epsilon)),
           r' = r * sqrt(1 - beta^t) / (1 - alpha^t) where t > 0, else r

The scalar step sizes are computed in float64 (as numpy does), the tensors in X's type.
Gradient (which differentiates a graph) is not supported.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import onnx

from ...emitter import Emitter, NodeError
from ...registry import TRAINING_DOMAIN, decomposition
from ..builder import Ops


@decomposition("Adagrad", since=1, domain=TRAINING_DOMAIN)
def adagrad(node: onnx.NodeProto, emitter: Emitter) -> None:
    values = _attributes(node, {"norm_coefficient": 0.0, "decay_factor": 0.0, "epsilon": 1e-6}, ())
    rate, step, groups = _groups(node, emitter, 3)
    wide = Ops(emitter, np.dtype(np.float64))
    decay, one = wide.const(values["decay_factor"]), wide.const(1.0)
    divisor = emitter.emit("Add", [one, emitter.emit("Mul", [step, decay])])
    adjusted = emitter.emit("Div", [rate, divisor])  # r / (1 + t * decay_factor)
    for index, (x, gradient, h) in enumerate(groups):
        ops = _Elementwise(emitter, emitter.dtype(x))
        regular = ops.regularized(x, gradient, values["norm_coefficient"])
        h_new = ops.add(h, ops.mul(regular, regular), node.output[len(groups) + index])
        root = ops.add(emitter.emit("Sqrt", [h_new]), ops.ops.const(values["epsilon"]))
        step_size = ops.cast(adjusted)
        update = emitter.emit("Div", [ops.mul(step_size, regular), root])
        emitter.emit("Sub", [x, update], output=node.output[index])


@decomposition("Momentum", since=1, domain=TRAINING_DOMAIN)
def momentum(node: onnx.NodeProto, emitter: Emitter) -> None:
    values = _attributes(node, {"norm_coefficient": 0.0, "alpha": 0.0, "beta": 0.0}, ("mode",))
    mode = _mode(node)
    rate, step, groups = _groups(node, emitter, 3)
    wide = Ops(emitter, np.dtype(np.float64))
    started = emitter.emit("Greater", [step, wide.const(0.0)])
    beta = emitter.emit("Where", [started, wide.const(values["beta"]), wide.const(1)])
    for index, (x, gradient, v) in enumerate(groups):
        ops = _Elementwise(emitter, emitter.dtype(x))
        regular = ops.regularized(x, gradient, values["norm_coefficient"])
        alpha = ops.ops.const(values["alpha"])
        output = node.output[len(groups) + index]
        v_new = ops.add(ops.mul(alpha, v), ops.mul(ops.cast(beta), regular), output)
        direction = v_new if mode == "standard" else ops.add(regular, ops.mul(alpha, v_new))
        update = ops.mul(ops.cast(rate), direction)
        emitter.emit("Sub", [x, update], output=node.output[index])


@decomposition("Adam", since=1, domain=TRAINING_DOMAIN)
def adam(node: onnx.NodeProto, emitter: Emitter) -> None:
    defaults = {
        "alpha": 0.9,
        "beta": 0.999,
        "epsilon": 1e-6,
        "norm_coefficient": 0.0,
        "norm_coefficient_post": 0.0,
    }
    values = _attributes(node, defaults, ())
    rate, step, groups = _groups(node, emitter, 4)
    adjusted = _adam_rate(emitter, rate, step, values["alpha"], values["beta"])
    count = len(groups)
    for index, (x, gradient, v, h) in enumerate(groups):
        ops = _Elementwise(emitter, emitter.dtype(x))
        regular = ops.regularized(x, gradient, values["norm_coefficient"])
        alpha, beta = values["alpha"], values["beta"]
        kept_v, new_v = ops.mul(ops.ops.const(alpha), v), ops.mul(ops.ops.const(1 - alpha), regular)
        v_new = ops.add(kept_v, new_v, node.output[count + index])
        squared = ops.mul(ops.ops.const(1 - beta), ops.mul(regular, regular))
        h_new = ops.add(ops.mul(ops.ops.const(beta), h), squared, node.output[2 * count + index])
        root = ops.add(emitter.emit("Sqrt", [h_new]), ops.ops.const(values["epsilon"]))
        update = ops.mul(ops.cast(adjusted), emitter.emit("Div", [v_new, root]))
        moved = emitter.emit("Sub", [x, update])
        shrink = ops.ops.const(1 - values["norm_coefficient_post"])
        emitter.emit("Mul", [shrink, moved], output=node.output[index])


def _adam_rate(emitter: Emitter, rate: str, step: str, alpha: float, beta: float) -> str:
    """r * sqrt(1 - beta^t) / (1 - alpha^t) where t > 0, else r; in float64."""
    wide = Ops(emitter, np.dtype(np.float64))
    one = wide.const(1.0)
    beta_power = emitter.emit("Pow", [wide.const(beta), step])
    alpha_power = emitter.emit("Pow", [wide.const(alpha), step])
    corrected = emitter.emit("Sqrt", [emitter.emit("Sub", [one, beta_power])])
    corrected = emitter.emit("Div", [corrected, emitter.emit("Sub", [one, alpha_power])])
    started = emitter.emit("Greater", [step, wide.const(0.0)])
    return emitter.emit("Where", [started, emitter.emit("Mul", [rate, corrected]), rate])


class _Elementwise:
    """Elementwise arithmetic in one tensor type."""

    def __init__(self, emitter: Emitter, dtype: np.dtype[np.generic]) -> None:
        if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise NodeError(f"tensors of type {dtype} (float or double expected)")
        self.emitter = emitter
        self.dtype = dtype
        self.ops = Ops(emitter, dtype)

    def cast(self, name: str) -> str:
        return self.ops.cast(name, self.dtype)

    def add(self, lhs: str, rhs: str, output: str = "") -> str:
        return self.emitter.emit("Add", [lhs, rhs], output=output)

    def mul(self, lhs: str, rhs: str) -> str:
        return self.emitter.emit("Mul", [lhs, rhs])

    def regularized(self, x: str, gradient: str, norm_coefficient: float) -> str:
        return self.add(self.mul(self.ops.const(norm_coefficient), x), gradient)


def _groups(
    node: onnx.NodeProto, emitter: Emitter, per_tensor: int
) -> tuple[str, str, list[tuple[str, ...]]]:
    """R and T as float64 scalars, and the (x, gradient, states...) of each tensor."""
    inputs: Sequence[str] = node.input
    count, extra = divmod(len(inputs) - 2, per_tensor)
    if count < 1 or extra or len(node.output) != count * (per_tensor - 1):
        raise NodeError(f"{len(inputs)} inputs and {len(node.output)} outputs do not match")
    if any(not name for name in [*inputs, *node.output]):
        raise NodeError("an input or output is omitted")
    rate, step = (Ops(emitter).cast(name, np.float64) for name in inputs[:2])
    columns = [inputs[2 + k * count : 2 + (k + 1) * count] for k in range(per_tensor)]
    return rate, step, [tuple(group) for group in zip(*columns, strict=True)]


def _attributes(
    node: onnx.NodeProto, defaults: dict[str, float], strings: tuple[str, ...]
) -> dict[str, float]:
    values = dict(defaults)
    for attribute in node.attribute:
        if attribute.name in strings and attribute.type == onnx.AttributeProto.STRING:
            continue
        if attribute.name not in defaults or attribute.type != onnx.AttributeProto.FLOAT:
            raise NodeError(f"attribute '{attribute.name}' not supported")
        values[attribute.name] = attribute.f
    return values


def _mode(node: onnx.NodeProto) -> str:
    mode = next((a.s.decode() for a in node.attribute if a.name == "mode"), "")
    if mode not in ("standard", "nesterov"):
        raise NodeError(f"mode '{mode}' (standard or nesterov expected)")
    return mode
