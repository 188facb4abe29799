"""RNN, GRU and LSTM, unrolled: shapes are static, so the sequence length is known at import.

Each direction takes its weights apart once (W and R transposed per gate, the biases summed
where they are only added), multiplies the whole sequence by W in one MatMul, then for each step
t (from the end for the reverse direction) computes the gates from slice t and the state so far
(ONNX's operator docs give the formulas; `clip` clamps each gate's input before its activation).
Y stacks the states in time order, Y_h (and LSTM's Y_c) are the last states.

Activations are matched without regard to case; those that take alpha or beta consume
`activation_alpha` and `activation_beta` in order, as onnxruntime reads them, and take their
operator's defaults when the lists run out. With `sequence_lens` (unless known to be all full),
each step selects per batch row: past its length a sequence keeps its state and its Y is 0, as
in onnxruntime; a reversed sequence starts at its last element.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import helper

from ..emitter import Emitter, NodeError
from ..registry import decomposition
from .builder import Ops

_ATTRIBUTES = {
    "activation_alpha",
    "activation_beta",
    "activations",
    "clip",
    "direction",
    "hidden_size",
    "layout",
    "linear_before_reset",
    "input_forget",
}

# name: (default alpha, default beta); None where the activation takes no such parameter
_ACTIVATIONS: dict[str, tuple[float | None, float | None]] = {
    "relu": (None, None),
    "tanh": (None, None),
    "sigmoid": (None, None),
    "softsign": (None, None),
    "softplus": (None, None),
    "affine": (1.0, 0.0),
    "leakyrelu": (0.01, None),
    "thresholdedrelu": (1.0, None),
    "scaledtanh": (1.0, 1.0),
    "hardsigmoid": (0.2, 0.5),
    "elu": (1.0, None),
}

_GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}
_DEFAULT_ACTIVATIONS = {
    "RNN": ["Tanh"],
    "GRU": ["Sigmoid", "Tanh"],
    "LSTM": ["Sigmoid", "Tanh", "Tanh"],
}


@dataclass(frozen=True)
class _Activation:
    name: str
    alpha: float | None
    beta: float | None


@dataclass
class _Cell:
    """What every step of one direction reads."""

    op_type: str
    emitter: Emitter
    dtype: np.dtype[np.generic]
    hidden: int
    activations: list[_Activation]
    clip: float | None
    linear_before_reset: bool
    input_forget: bool

    @property
    def ops(self) -> Ops:
        return Ops(self.emitter, self.dtype)

    def activate(self, index: int, x: str, clipped: bool = True) -> str:
        if clipped and self.clip is not None:
            x = self.emitter.emit(
                "Clip", [x, self.ops.const(-self.clip), self.ops.const(self.clip)]
            )
        return _activate(self.activations[index], x, self)


@decomposition("RNN", "GRU", "LSTM", since=1)
def recurrent(node: onnx.NodeProto, emitter: Emitter) -> None:
    """RNN, GRU or LSTM, by the node's op type."""
    attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    unknown = set(attributes) - _ATTRIBUTES
    if node.op_type != "GRU":
        unknown |= {"linear_before_reset"} & set(attributes)
    if node.op_type != "LSTM":
        unknown |= {"input_forget"} & set(attributes)
    if unknown:
        raise NodeError(f"attribute '{sorted(unknown)[0]}' not supported")
    inputs = [*node.input, *[""] * 8]
    x, w, r, bias, lengths, initial_h = inputs[:6]
    initial_c, peepholes = inputs[6:8] if node.op_type == "LSTM" else ("", "")
    direction = _text(attributes.get("direction", b"forward"))
    if direction not in ("forward", "reverse", "bidirectional"):
        raise NodeError(f"direction '{direction}' not supported")
    directions = ["forward", "reverse"] if direction == "bidirectional" else [direction]
    layout = int(attributes.get("layout", 0))  # pyright: ignore[reportArgumentType]
    if layout == 1:
        x = emitter.emit("Transpose", [x], {"perm": [1, 0, 2]})
        initial_h = _swap_batch(initial_h, emitter)
        initial_c = _swap_batch(initial_c, emitter)
    steps, batch, _ = emitter.shape(x)
    hidden = emitter.shape(r)[-1]
    masks = _masks(lengths, steps, emitter)
    names = [_text(n) for n in attributes.get("activations", [])]  # pyright: ignore[reportGeneralTypeIssues, reportUnknownVariableType]
    per_direction = len(_DEFAULT_ACTIVATIONS[node.op_type])
    names = names or _DEFAULT_ACTIVATIONS[node.op_type] * len(directions)
    if len(names) != per_direction * len(directions):
        raise NodeError(f"{len(names)} activations for {len(directions)} directions")
    activations = _activations(
        names,
        _floats(attributes.get("activation_alpha")),
        _floats(attributes.get("activation_beta")),
    )
    dtype = emitter.dtype(x)
    clip = attributes.get("clip")
    states_h: list[str] = []
    states_c: list[str] = []
    outputs: list[str] = []
    for index, name in enumerate(directions):
        cell = _Cell(
            node.op_type,
            emitter,
            dtype,
            hidden,
            activations[index * per_direction : (index + 1) * per_direction],
            float(clip) if clip is not None else None,  # pyright: ignore[reportArgumentType]
            bool(attributes.get("linear_before_reset", 0)),
            bool(attributes.get("input_forget", 0)),
        )
        zeros = emitter.constant(np.zeros((batch, hidden), dtype))
        h = _row(initial_h, index, emitter) if initial_h else zeros
        c = _row(initial_c, index, emitter) if initial_c else zeros
        parts = _Weights.of(cell, x, w, r, bias, peepholes, index)
        order = range(steps - 1, -1, -1) if name == "reverse" else range(steps)
        hs: dict[int, str] = {}
        for step in order:
            new_h, new_c = _step(cell, parts, step, h, c)
            if not masks:
                h, c, hs[step] = new_h, new_c, new_h
                continue
            # past its length a sequence keeps its state and outputs zeros; reversed, it
            # starts at its last element
            hs[step] = emitter.emit("Where", [masks[step], new_h, zeros])
            h = emitter.emit("Where", [masks[step], new_h, h])
            if node.op_type == "LSTM":
                c = emitter.emit("Where", [masks[step], new_c, c])
        outputs.append(_stack([hs[t] for t in range(steps)], 0, emitter))  # [S, B, H]
        states_h.append(h)
        states_c.append(c)
    _bind_outputs(node, layout, outputs, states_h, states_c, emitter)


@dataclass
class _Weights:
    """One direction's weights, per gate: inputs [S, B, H] (x W^T + the biases that are only
    added), R^T [H, H], the recurrence bias (GRU's with linear_before_reset) and peepholes."""

    inputs: list[str]
    recurrence: list[str]
    recurrence_bias: list[str]
    peepholes: list[str]

    @staticmethod
    def of(
        cell: _Cell, x: str, w: str, r: str, bias: str, peepholes: str, direction: int
    ) -> _Weights:
        emitter, hidden = cell.emitter, cell.hidden
        gates = _GATES[cell.op_type]
        w_rows, r_rows = _row(w, direction, emitter), _row(r, direction, emitter)
        b_row = _row(bias, direction, emitter) if bias else ""
        inputs: list[str] = []
        recurrence: list[str] = []
        recurrence_bias: list[str] = []
        for gate in range(gates):
            span = (gate * hidden, (gate + 1) * hidden)
            w_gate = _slice(w_rows, 0, *span, emitter)
            projected = emitter.emit("MatMul", [x, _transposed(w_gate, emitter)])
            recurrence.append(_transposed(_slice(r_rows, 0, *span, emitter), emitter))
            if not b_row:
                inputs.append(projected)
                continue
            w_bias = _slice(b_row, 0, *span, emitter)
            r_bias = _slice(b_row, 0, span[0] + gates * hidden, span[1] + gates * hidden, emitter)
            if cell.op_type == "GRU" and gate == 2 and cell.linear_before_reset:
                inputs.append(emitter.emit("Add", [projected, w_bias]))
                recurrence_bias.append(r_bias)
                continue
            inputs.append(emitter.emit("Add", [projected, emitter.emit("Add", [w_bias, r_bias])]))
        holes: list[str] = []
        if peepholes:
            p_row = _row(peepholes, direction, emitter)
            holes = [_slice(p_row, 0, g * hidden, (g + 1) * hidden, emitter) for g in range(3)]
        return _Weights(inputs, recurrence, recurrence_bias, holes)

    def gate(self, cell: _Cell, gate: int, step: int, h: str) -> str:
        """x_t W^T + h R^T + biases, for one gate."""
        emitter = cell.emitter
        index = emitter.constant(np.array(step, np.int64))
        x_part = emitter.emit("Gather", [self.inputs[gate], index], {"axis": 0})
        return emitter.emit("Add", [x_part, emitter.emit("MatMul", [h, self.recurrence[gate]])])


def _step(cell: _Cell, weights: _Weights, step: int, h: str, c: str) -> tuple[str, str]:
    emitter = cell.emitter
    if cell.op_type == "RNN":
        return cell.activate(0, weights.gate(cell, 0, step, h)), c
    if cell.op_type == "GRU":
        return _gru_step(cell, weights, step, h), c
    # LSTM gates in W: i, o, f, c; peepholes: i, o, f
    i_in, o_in = weights.gate(cell, 0, step, h), weights.gate(cell, 1, step, h)
    f_in, c_in = weights.gate(cell, 2, step, h), weights.gate(cell, 3, step, h)
    if weights.peepholes:
        i_in = emitter.emit("Add", [i_in, emitter.emit("Mul", [weights.peepholes[0], c])])
        f_in = emitter.emit("Add", [f_in, emitter.emit("Mul", [weights.peepholes[2], c])])
    i = cell.activate(0, i_in)
    f = cell.activate(0, f_in)
    if cell.input_forget:
        f = emitter.emit("Sub", [cell.ops.const(1.0), i])
    candidate = cell.activate(1, c_in)
    c = emitter.emit("Add", [emitter.emit("Mul", [f, c]), emitter.emit("Mul", [i, candidate])])
    if weights.peepholes:
        o_in = emitter.emit("Add", [o_in, emitter.emit("Mul", [weights.peepholes[1], c])])
    o = cell.activate(0, o_in)
    return emitter.emit("Mul", [o, cell.activate(2, c, clipped=False)]), c


def _gru_step(cell: _Cell, weights: _Weights, step: int, h: str) -> str:
    """Gates z, r, h in W; with linear_before_reset the reset gate scales h R_h^T + Rb_h,
    else it scales h before the product."""
    emitter = cell.emitter
    z = cell.activate(0, weights.gate(cell, 0, step, h))
    reset = cell.activate(0, weights.gate(cell, 1, step, h))
    index = emitter.constant(np.array(step, np.int64))
    x_part = emitter.emit("Gather", [weights.inputs[2], index], {"axis": 0})
    if cell.linear_before_reset:
        product = emitter.emit("MatMul", [h, weights.recurrence[2]])
        if weights.recurrence_bias:
            product = emitter.emit("Add", [product, weights.recurrence_bias[0]])
        recurrent = emitter.emit("Mul", [reset, product])
    else:
        recurrent = emitter.emit("MatMul", [emitter.emit("Mul", [reset, h]), weights.recurrence[2]])
    candidate = cell.activate(1, emitter.emit("Add", [x_part, recurrent]))
    kept = emitter.emit("Mul", [z, h])
    fresh = emitter.emit("Mul", [emitter.emit("Sub", [cell.ops.const(1.0), z]), candidate])
    return emitter.emit("Add", [fresh, kept])  # (1 - z) h~ + z h


def _activate(activation: _Activation, x: str, cell: _Cell) -> str:
    emitter, name = cell.emitter, activation.name
    alpha, beta = activation.alpha, activation.beta
    if name in ("relu", "tanh", "sigmoid"):
        return emitter.emit(name.capitalize(), [x])
    if name in ("leakyrelu", "elu"):
        return emitter.emit({"leakyrelu": "LeakyRelu", "elu": "Elu"}[name], [x], {"alpha": alpha})
    if name == "softsign":  # x / (1 + |x|)
        one_plus = emitter.emit("Add", [cell.ops.const(1.0), emitter.emit("Abs", [x])])
        return emitter.emit("Div", [x, one_plus])
    if name == "softplus":  # log(exp(x) + 1)
        return emitter.emit(
            "Log", [emitter.emit("Add", [emitter.emit("Exp", [x]), cell.ops.const(1.0)])]
        )
    assert alpha is not None
    if name == "thresholdedrelu":  # x where x > alpha, else 0
        above = emitter.emit("Greater", [x, cell.ops.const(alpha)])
        return emitter.emit("Where", [above, x, cell.ops.const(0.0)])
    assert beta is not None
    if name == "scaledtanh":  # alpha tanh(beta x)
        inner = emitter.emit("Tanh", [emitter.emit("Mul", [x, cell.ops.const(beta)])])
        return emitter.emit("Mul", [inner, cell.ops.const(alpha)])
    affine = emitter.emit(
        "Add", [emitter.emit("Mul", [x, cell.ops.const(alpha)]), cell.ops.const(beta)]
    )
    if name == "affine":  # alpha x + beta
        return affine
    # hardsigmoid: max(0, min(1, alpha x + beta))
    return emitter.emit("Clip", [affine, cell.ops.const(0.0), cell.ops.const(1.0)])


def _activations(
    names: Sequence[str], alphas: list[float], betas: list[float]
) -> list[_Activation]:
    result: list[_Activation] = []
    for name in names:
        key = name.lower()
        if key not in _ACTIVATIONS:
            raise NodeError(f"activation '{name}' not supported")
        alpha, beta = _ACTIVATIONS[key]
        if alpha is not None and alphas:
            alpha = alphas.pop(0)
        if beta is not None and betas:
            beta = betas.pop(0)
        result.append(_Activation(key, alpha, beta))
    return result


def _masks(lengths: str, steps: int, emitter: Emitter) -> list[str]:
    """Per step, [B, 1] t < sequence_lens; none when every length is known to be full."""
    if not lengths:
        return []
    known = emitter.value(lengths)
    if known is not None and np.all(known == steps):
        return []
    if known is not None and np.any((known < 1) | (known > steps)):
        raise NodeError(f"sequence_lens outside [1, {steps}]")
    axes = emitter.constant(np.array([1], np.int64))
    column = emitter.emit("Unsqueeze", [lengths, axes])
    dtype = emitter.dtype(lengths)
    return [
        emitter.emit("Less", [emitter.constant(np.array(t, dtype)), column]) for t in range(steps)
    ]


def _bind_outputs(
    node: onnx.NodeProto,
    layout: int,
    outputs: list[str],
    states_h: list[str],
    states_c: list[str],
    emitter: Emitter,
) -> None:
    names = [*node.output, "", ""]
    if names[0]:
        y = _stack(outputs, 1, emitter)  # [S, D, B, H]
        if layout == 1:  # [B, S, D, H]
            emitter.emit("Transpose", [y], {"perm": [2, 0, 1, 3]}, output=names[0])
        else:
            emitter.emit("Identity", [y], output=names[0])
    for states, name in ((states_h, names[1]), (states_c, names[2])):
        if not name or node.op_type != "LSTM" and states is states_c:
            continue
        stacked = _stack(states, 0, emitter)  # [D, B, H]
        if layout == 1:  # [B, D, H]
            emitter.emit("Transpose", [stacked], {"perm": [1, 0, 2]}, output=name)
        else:
            emitter.emit("Identity", [stacked], output=name)


def _stack(parts: list[str], axis: int, emitter: Emitter) -> str:
    axes = emitter.constant(np.array([axis], np.int64))
    expanded = [emitter.emit("Unsqueeze", [part, axes]) for part in parts]
    return expanded[0] if len(expanded) == 1 else emitter.emit("Concat", expanded, {"axis": axis})


def _swap_batch(name: str, emitter: Emitter) -> str:
    """[B, D, H] (layout 1) to [D, B, H]."""
    return emitter.emit("Transpose", [name], {"perm": [1, 0, 2]}) if name else ""


def _row(name: str, index: int, emitter: Emitter) -> str:
    """name[index], folded when name is known."""
    known = emitter.value(name)
    if known is not None:
        return emitter.constant(np.ascontiguousarray(known[index]))
    position = emitter.constant(np.array(index, np.int64))
    return emitter.emit("Gather", [name, position], {"axis": 0})


def _transposed(name: str, emitter: Emitter) -> str:
    known = emitter.value(name)
    if known is not None:
        return emitter.constant(np.ascontiguousarray(known.T))
    return emitter.emit("Transpose", [name], {"perm": [1, 0]})


def _slice(name: str, axis: int, start: int, stop: int, emitter: Emitter) -> str:
    known = emitter.value(name)
    if known is not None:
        return emitter.constant(np.ascontiguousarray(np.take(known, range(start, stop), axis)))
    bounds = [emitter.constant(np.array([v], np.int64)) for v in (start, stop, axis)]
    return emitter.emit("Slice", [name, *bounds])


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _floats(value: object) -> list[float]:
    if value is None:
        return []
    assert isinstance(value, list)
    return [float(v) for v in value]  # pyright: ignore[reportUnknownArgumentType, reportUnknownVariableType]
