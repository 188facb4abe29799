"""The npu target on nn IR (NPU.md sections 8 and 10): the imported model through the nn passes,
npu-annotate, npu-partition, the region passes and npu-outline-launch, then `@main`'s host side
cut into steps: each run of nn ops between two launches is a CPU segment (a module of its own,
compiled for this machine by `compile_host`), each `accfg.setup "tnpu"` / `accfg.launch` /
`accfg.await` / `npu.result` an NPU step (the setup's program on the simulator, its `input` and
`residual` fields bound to those DRAM segments). `runtime/npu_sim/hetero.py` runs the steps over
numpy buffers shared by name; the partition report is the passes' `npu.device` and
`npu.reason` attributes (docs/npu.md, "The npu target").
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray
from xdsl.dialects import accfg, arith, func
from xdsl.dialects.builtin import ModuleOp, StringAttr, TensorType
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.utils.exceptions import DiagnosticException

from ...dialects.context import terrace_context
from ...dialects.nn.base import numpy_dtype_of
from ...dialects.nn.canonicalization import constant_array
from ...dialects.nn.constants import CONSTANT_OPS, WeightOp
from ...dialects.nn.elementwise import AddOp, SumOp
from ...dialects.nn.neural import ConvOp, GemmOp, MatMulOp
from ...dialects.nn.weights import WeightStore
from ...dialects.npu import ProgramOp, ResultOp, program_of
from ...errors import CompilationError
from ...frontend.onnx import ImportedModel
from ...frontend.onnx.importer import TensorSpec
from ...runtime.abi import TensorSpec as EntrySpec
from ...runtime.model import CompiledModel, CompileStats
from ...runtime.npu_sim.hetero import CpuStep, HeterogeneousModel, NpuStep
from .binary import NpuProgram
from .isa import NpuConfig
from .npu_outline_launch import NpuOutlineLaunchPass, launched_by
from .npu_partition import clone_constants
from .partition import NpuLayer, Placement
from .pipeline import npu_pipeline
from .regions import region_layer

HostCompiler = Callable[[ImportedModel], CompiledModel]
"""Compiles one CPU segment (an nn module with its weights) for this machine."""


def npu_host_passes(config: NpuConfig) -> tuple[ModulePass, ...]:
    """NPU.md section 8 in order, from nn IR to the host's launch sequence."""
    return (*npu_pipeline(tiny=config == NpuConfig.tiny()), NpuOutlineLaunchPass())


@dataclass
class SplitPlan:
    """The model's steps in order before the host compiles its parts: each CPU segment as an
    nn module (`ImportedModel`, its inputs and outputs named), each launch as an NPU step."""

    parts: list[ImportedModel | NpuStep]
    inputs: list[EntrySpec]
    outputs: list[EntrySpec]
    placements: list[Placement]
    output_values: list[str]
    """The value each output is (an output may be another's value, or an input)."""
    constants: dict[str, NDArray[np.generic]]
    """Outputs that are constants: no step computes them."""


def plan_on_nn(imported: ImportedModel, config: NpuConfig) -> SplitPlan:
    """`imported` (after the nn passes) through the npu passes, cut into steps."""
    module = imported.module
    ctx = terrace_context()
    for npu_pass in npu_host_passes(config):
        try:
            npu_pass.apply(ctx, module)
        except DiagnosticException as error:
            raise CompilationError(f"{npu_pass.name}: {error}") from None
    main = _main(module)
    names = _Names(main, imported)
    placements = list(_placements(module, main, names))
    programs: dict[ProgramOp, NpuProgram] = {}  # one program object per shared program
    parts: list[ImportedModel | NpuStep] = []
    for part in _parts(main):
        if isinstance(part, accfg.SetupOp):
            parts.append(_npu_step(module, part, names, programs))
        else:
            segment = _segment(part, names)
            if segment.outputs:  # a run nothing reads (dead code) is left out
                parts.append(segment)
    return SplitPlan(
        parts,
        [EntrySpec(s.name, s.dtype, s.shape) for s in imported.inputs],
        [EntrySpec(s.name, s.dtype, s.shape) for s in imported.outputs],
        placements,
        [names.name(v) for v in names.returned],
        names.constants,
    )


def compile_on_nn(
    imported: ImportedModel, config: NpuConfig, compile_host: HostCompiler
) -> HeterogeneousModel:
    """`imported` (after the nn passes) split between TNPU-1 and the host by the npu passes,
    each CPU segment compiled by `compile_host`."""
    started = time.perf_counter()
    plan = plan_on_nn(imported, config)
    steps: list[CpuStep | NpuStep] = []
    host_seconds = 0.0
    for part in plan.parts:
        if isinstance(part, NpuStep):
            steps.append(part)
            continue
        began = time.perf_counter()
        inputs, outputs = [s.name for s in part.inputs], [s.name for s in part.outputs]
        steps.append(CpuStep(compile_host(part), inputs, outputs))
        host_seconds += time.perf_counter() - began
    total = time.perf_counter() - started
    stats = CompileStats({"host segments": host_seconds, "npu layers": total - host_seconds})
    return HeterogeneousModel(
        plan.inputs,
        plan.outputs,
        steps,
        plan.placements,
        config,
        stats,
        output_values=plan.output_values,
        constants=plan.constants,
    )


def _main(module: ModuleOp) -> func.FuncOp:
    for op in module.body.block.ops:
        if isinstance(op, func.FuncOp) and op.sym_name.data == "main":
            return op
    raise CompilationError("the npu target's module has no @main")


class _Names:
    """A name per value the steps pass between them: the model's input names for `@main`'s
    arguments, the value's own name (the ONNX tensor's) where it has one and is free, else
    `%N`. Constants that `@main` returns are held as values, not computed."""

    def __init__(self, main: func.FuncOp, imported: ImportedModel) -> None:
        self._names: dict[SSAValue, str] = {}
        self._taken: set[str] = set()
        for arg, spec in zip(main.body.block.args, imported.inputs, strict=True):
            self._names[arg] = spec.name
            self._taken.add(spec.name)
        self._taken.update(spec.name for spec in imported.outputs)
        returns = main.body.block.last_op
        assert isinstance(returns, func.ReturnOp)
        self.returned = list(returns.arguments)
        self.constants: dict[str, NDArray[np.generic]] = {}
        for value, spec in zip(self.returned, imported.outputs, strict=True):
            if value not in self._names:
                self._names[value] = spec.name
            array = constant_array(value)
            if array is not None:
                self.constants[self._names[value]] = np.asarray(array, spec.dtype)

    def name(self, value: SSAValue) -> str:
        found = self._names.get(value)
        if found is not None:
            return found
        hint = value.name_hint
        name = hint if hint is not None and hint not in self._taken else f"%{len(self._names)}"
        self._names[value] = name
        self._taken.add(name)
        return name


def _is_constant(op: Operation) -> bool:
    return isinstance(op, (*CONSTANT_OPS, arith.ConstantOp))


def _parts(main: func.FuncOp) -> Iterator[list[Operation] | accfg.SetupOp]:
    """`@main`'s body in order: runs of CPU ops, and each launch by its setup (its launch,
    await and npu.result, and the constants between, belong to no CPU run)."""
    run: list[Operation] = []
    for op in main.body.block.ops:
        if isinstance(op, accfg.SetupOp):
            if run:
                yield run
                run = []
            yield op
        elif not (
            _is_constant(op)
            or isinstance(op, accfg.LaunchOp | accfg.AwaitOp | ResultOp | func.ReturnOp)
        ):
            run.append(op)
    if run:
        yield run


def _segment(ops: list[Operation], names: _Names) -> ImportedModel:
    """A run of CPU ops as a module of its own: `@main` takes what the run reads from before
    it and returns what later steps (or the model's outputs) read; the constants it reads are
    copied in, with their weights."""
    inside = {r for op in ops for inner in op.walk() for r in inner.results}
    outer = {op for op in ops}
    inputs: list[SSAValue] = []
    constants: list[SSAValue] = []
    for op in ops:
        for inner in op.walk():
            for operand in inner.operands:
                if operand in inside or operand in inputs or operand in constants:
                    continue
                owner = operand.owner
                is_constant = isinstance(owner, Operation) and _is_constant(owner)
                (constants if is_constant else inputs).append(operand)
    outputs = [
        r
        for op in ops
        for r in op.results
        if any(_top(use.operation, outer) is None for use in r.uses)
    ]
    function = func.FuncOp("main", ([v.type for v in inputs], [v.type for v in outputs]))
    block = function.body.block
    mapping: dict[SSAValue, SSAValue] = {}
    for value, arg in zip(inputs, block.args, strict=True):
        mapping[value] = arg
        arg.name_hint = value.name_hint
    store = WeightStore()
    for owner in clone_constants(constants, block, mapping):
        if isinstance(owner, WeightOp):
            store.set(owner.ref.data, WeightStore.of(owner)[owner.ref.data])
    for op in ops:
        block.add_op(op.clone(value_mapper=mapping))
    block.add_op(func.ReturnOp(*[mapping[v] for v in outputs]))
    module = ModuleOp([function])
    store.attach(module)
    return ImportedModel(
        module, store, [_spec(v, names) for v in inputs], [_spec(v, names) for v in outputs]
    )


def _top(op: Operation, ops: set[Operation]) -> Operation | None:
    """The op of `ops` that holds `op` (itself, or an op whose region it is in), or None."""
    current: Operation | None = op
    while current is not None and current not in ops:
        current = current.parent_op()
    return current


def _spec(value: SSAValue, names: _Names) -> TensorSpec:
    kind = value.type
    if not isinstance(kind, TensorType) or any(d < 0 for d in kind.get_shape()):
        raise CompilationError(
            f"value {names.name(value)} passes between TNPU-1 and the host with a shape that is "
            "not static; give --input-shape"
        )
    return TensorSpec(names.name(value), numpy_dtype_of(value), tuple(kind.get_shape()))


@dataclass(frozen=True)
class _Region:
    function: func.FuncOp
    program: ProgramOp


def _region_of(module: ModuleOp, setup: accfg.SetupOp) -> _Region:
    launched = launched_by(module, setup)
    if isinstance(launched, str):
        raise CompilationError(launched)
    return _Region(launched[1], launched[0])


def _npu_step(
    module: ModuleOp, setup: accfg.SetupOp, names: _Names, programs: dict[ProgramOp, NpuProgram]
) -> NpuStep:
    """The launch of `setup` as an NPU step: the region's layer, weights and bias, the
    setup's `input` and `residual` fields, the output its npu.result reads."""
    region = _region_of(module, setup)
    fields = dict(zip((n.data for n in setup.param_names), setup.values, strict=True))
    results = [use.operation for use in setup.out_state.uses if isinstance(use.operation, ResultOp)]
    if len(results) != 1:
        raise CompilationError(f"@{region.program.sym_name.data}: its launch has no npu.result")
    layer = region_layer(region.function, "npu target")
    (layer_op,) = [o for o in region.function.walk() if isinstance(o, ConvOp | MatMulOp | GemmOp)]
    weight, bias = _weights(layer_op, region.function)
    name = region.function.sym_name.data
    residual = fields.get("residual")
    planned = NpuLayer(
        name,
        replace(layer, bias=bias is not None) if not isinstance(layer_op, ConvOp) else layer,
        names.name(fields["input"]),
        names.name(results[0].result),
        weight,
        bias,
        None if residual is None else names.name(residual),
        matmul=not isinstance(layer_op, ConvOp),
    )
    if region.program not in programs:
        programs[region.program] = program_of(region.program)
    return NpuStep(planned, programs[region.program])


def _weights(
    op: ConvOp | MatMulOp | GemmOp, region: func.FuncOp
) -> tuple[NDArray[np.float32], NDArray[np.float32] | None]:
    """The layer's weights as TNPU-1 takes them (OIHW; a matmul's B as (N, K, 1, 1)) and its
    bias: the conv's B, the gemm's C or a fused add's constant row."""
    if isinstance(op, ConvOp):
        weight = np.asarray(_constant(op.W), np.float32)
        bias = None if op.B is None else np.asarray(_constant(op.B), np.float32)
        return weight, bias
    b = np.asarray(_constant(op.B), np.float32)
    transposed = isinstance(op, GemmOp) and op.int_attr("transB")
    weight = b if transposed else b.T  # (N, K)
    n = weight.shape[0]
    row: SSAValue | None = op.C if isinstance(op, GemmOp) else None
    for add in (o for o in region.walk() if isinstance(o, AddOp | SumOp)):
        first, second = add.operands
        row = second if op.results[0] == first else first
    bias = None if row is None else _row(np.asarray(_constant(row), np.float32), n)
    return np.ascontiguousarray(weight[:, :, None, None]), bias


def _row(value: NDArray[np.float32], n: int) -> NDArray[np.float32]:
    return np.ascontiguousarray(np.broadcast_to(value.reshape(-1), (n,)))


def _constant(value: SSAValue) -> NDArray[np.generic]:
    array = constant_array(value)
    if array is None:
        raise CompilationError("an NPU layer's weights are not constants")
    return array


def _placements(module: ModuleOp, main: func.FuncOp, names: _Names) -> Iterator[Placement]:
    """Every nn op of the model in order, where it runs and why (npu-annotate's and
    npu-partition's attributes); a region's ops where its launch stands."""
    for op in main.body.block.ops:
        if isinstance(op, accfg.SetupOp):
            region = _region_of(module, op).function
            for inner in region.body.block.ops:
                yield from _placement(inner, names, region)
            continue
        yield from _placement(op, names, None)


def _placement(op: Operation, names: _Names, region: func.FuncOp | None) -> Iterator[Placement]:
    device = op.attributes.get("npu.device")
    reason = op.attributes.get("npu.reason")
    if not isinstance(device, StringAttr) or not isinstance(reason, StringAttr):
        return
    layer = None
    if region is not None and isinstance(op, ConvOp | MatMulOp | GemmOp):
        layer = region_layer(region, "npu target")
    node = op.results[0].name_hint if op.results else None
    yield Placement(
        node or names.name(op.results[0]) if op.results else op.name,
        str(getattr(op, "ONNX_TYPE", op.name)),
        device.data,
        reason.data,
        layer,
    )
