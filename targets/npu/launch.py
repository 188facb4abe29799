"""Executing npu-outline-launch's host sequence: a module whose calls of NPU regions became
`accfg.setup "tnpu"` / `accfg.launch` / `accfg.await` / `npu.result` runs in xDSL's
interpreter, the nn ops by the nn dialect's reference, each launch on the TNPU-1 simulator
(docs/npu.md, "Passes").

A setup's state is the fields it and the setups it continues from wrote (accfg's semantics: a
field keeps its value until written again). A launch runs the program named by the setup's
`npu.program` attribute, with the fields `input` and `residual` bound to the program's DRAM
segments of those names and the weights of the region that program was made from; the await
and `npu.result` then read its output segment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from xdsl.dialects import accfg, func
from xdsl.dialects.builtin import ModuleOp
from xdsl.interpreter import (
    Interpreter,
    InterpreterFunctions,
    PythonValues,
    impl,
    register_impls,
)
from xdsl.interpreters.arith import ArithFunctions
from xdsl.interpreters.func import FuncFunctions
from xdsl.ir import SSAValue

from ...dialects.nn.constants import WeightOp
from ...dialects.nn.interpreter import NnFunctions
from ...dialects.nn.neural import ConvOp
from ...dialects.nn.weights import WeightStore
from ...dialects.npu import ProgramOp, ResultOp, program_of
from ...errors import TerraceRuntimeError
from ...runtime.npu_sim.layer import run_conv
from .isa import NpuConfig
from .npu_outline_launch import launched_by
from .regions import region_layer


class NpuLaunchError(TerraceRuntimeError):
    """A launch sequence the runtime cannot execute: it names the setup or program."""


@dataclass
class LaunchState:
    """An `!accfg.state<"tnpu">` value: the fields written so far, and the program's output
    once it has run."""

    fields: dict[str, Any]
    program: str
    launched: tuple[ProgramOp, func.FuncOp]
    """The program and the region (its weights) the setup launches."""
    output: np.ndarray | None = None


@dataclass
class Launch:
    """One launch the interpreter ran: the program and its simulated cycles."""

    program: str
    cycles: int


@register_impls
@dataclass
class NpuLaunchFunctions(InterpreterFunctions):
    """accfg's setup, launch and await and npu.result, for the programs of `module`."""

    module: ModuleOp
    config: NpuConfig
    launches: list[Launch] = field(default_factory=lambda: list[Launch]())

    @impl(accfg.SetupOp)
    def run_setup(
        self, interpreter: Interpreter, op: accfg.SetupOp, args: PythonValues
    ) -> PythonValues:
        values = args[: len(op.values)]
        fields: dict[str, Any] = {}
        if op.in_state is not None:
            fields.update(args[len(op.values)].fields)
        fields.update(zip((name.data for name in op.param_names), values, strict=True))
        del interpreter
        launched = launched_by(self.module, op)
        if isinstance(launched, str):
            raise NpuLaunchError(launched)
        return (LaunchState(fields, launched[0].sym_name.data, launched),)

    @impl(accfg.LaunchOp)
    def run_launch(
        self, interpreter: Interpreter, op: accfg.LaunchOp, args: PythonValues
    ) -> PythonValues:
        del interpreter, op
        state: LaunchState = args[-1]
        program_op, region = state.launched
        convs = [op for op in region.walk() if isinstance(op, ConvOp)]
        if len(convs) != 1:
            raise NpuLaunchError(f"@{state.program}: only conv layers launch from accfg (v1)")
        conv = convs[0]
        store = WeightStore.of(conv)

        def weight(value: SSAValue | None) -> np.ndarray | None:
            owner = None if value is None else value.owner
            return store[owner.ref.data] if isinstance(owner, WeightOp) else None

        w = weight(conv.W)
        if w is None:
            raise NpuLaunchError(f"@{state.program}: the conv's weights are not nn.weight values")
        layer = region_layer(region, "npu launch")
        residual = state.fields.get("residual") if layer.residual else None
        out, result = run_conv(
            program_of(program_op),
            layer,
            self.config,
            np.asarray(state.fields["input"]),
            w,
            weight(conv.B),
            None if residual is None else np.asarray(residual),
        )
        state.output = out.astype(np.float32) if layer.dtype == "f32" else out
        self.launches.append(Launch(state.program, result.cycles))
        return (state,)

    @impl(accfg.AwaitOp)
    def run_await(
        self, interpreter: Interpreter, op: accfg.AwaitOp, args: PythonValues
    ) -> PythonValues:
        del interpreter, op, args  # the simulator ran the launch to its FINISH
        return ()

    @impl(ResultOp)
    def run_result(
        self, interpreter: Interpreter, op: ResultOp, args: PythonValues
    ) -> PythonValues:
        del interpreter
        state: LaunchState = args[0]
        if state.output is None or state.program != op.program.root_reference.data:
            raise NpuLaunchError(f"npu.result @{op.program.root_reference.data} before its launch")
        return (state.output,)


def run_launches(
    module: ModuleOp,
    inputs: Sequence[np.ndarray],
    config: NpuConfig,
    function: str = "main",
) -> tuple[list[np.ndarray], list[Launch]]:
    """`function`'s results, the NPU launches it made on the simulator in order."""
    interpreter = Interpreter(module)
    launches = NpuLaunchFunctions(module, config)
    interpreter.register_implementations(FuncFunctions())
    interpreter.register_implementations(ArithFunctions())
    interpreter.register_implementations(NnFunctions())
    interpreter.register_implementations(launches)
    results = interpreter.call_op(function, tuple(inputs))
    return [np.asarray(r) for r in results], launches.launches
