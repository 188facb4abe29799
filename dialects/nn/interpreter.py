"""Executes nn IR directly on numpy arrays through xDSL's interpreter.

Each nn op runs its kernel from `reference.py`; `nn.weight` reads the module's weight store,
`nn.range_check` raises on a value outside its range.
This is the oracle that every lowering is checked against.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from xdsl.dialects.builtin import ModuleOp
from xdsl.interpreter import Interpreter, InterpreterFunctions, impl, register_impls
from xdsl.interpreters.func import FuncFunctions
from xdsl.ir import Operation

from . import ALL_OPS
from .checks import RangeCheckOp
from .constants import WeightOp
from .reference import evaluate
from .weights import WeightStore


class NnFunctions(InterpreterFunctions):
    """Interpreter implementations of every nn op (registered below, one per op class)."""

    def run_weight(self, interpreter: Interpreter, op: WeightOp, args: tuple[Any, ...]):
        store = WeightStore.of(op)
        if op.ref.data not in store:
            raise KeyError(f"weight '{op.ref.data}' is not in the module's weight store")
        return (store[op.ref.data],)

    def run_range_check(self, interpreter: Interpreter, op: RangeCheckOp, args: tuple[Any, ...]):
        op.check(np.asarray(args[0]))
        return (args[0],)

    def run_reference(self, interpreter: Interpreter, op: Operation, args: tuple[Any, ...]):
        return evaluate(op, [np.asarray(a) for a in args])


_SPECIAL: dict[type[Operation], Any] = {
    WeightOp: NnFunctions.run_weight,
    RangeCheckOp: NnFunctions.run_range_check,
}
for _op_type in ALL_OPS:
    _method = _SPECIAL.get(_op_type, NnFunctions.run_reference)
    setattr(NnFunctions, f"_impl_{_op_type.__name__}", impl(_op_type)(_method))  # pyright: ignore
register_impls(NnFunctions)


def run_function(
    module: ModuleOp, inputs: Sequence[np.ndarray], function: str = "main"
) -> list[np.ndarray]:
    """Runs `function` of an nn module on numpy inputs; returns its results."""
    interpreter = Interpreter(module)
    interpreter.register_implementations(FuncFunctions())
    interpreter.register_implementations(NnFunctions())
    results = interpreter.call_op(function, tuple(inputs))
    return [np.asarray(r) for r in results]
