"""`npu-outline-launch` (NPU.md section 8.10): the host side of each NPU region, in xDSL's
upstream `accfg` dialect.

Each `func.call @npu_region_N(...)` whose region has a program (convert-linalg-to-npu's
`npu.program` attribute) becomes

    %s = accfg.setup "tnpu" [from %previous] to ("insn_count" = ..., "uop_count" = ...,
                                                 "input" = %x, ["residual" = %r])
                 attrs {npu.program = @prog, npu.region = @npu_region_N}
    %t = "accfg.launch"(%s) ...          // FINISH retires: the token
    "accfg.await"(%t)
    %y = npu.result @npu_region_N_tnpu from %s : ... -> tensor<...>

The setup writes what one launch needs (the program's size, its input tensors bound to the
DRAM segments of the same names); each setup continues from the state of the previous one in
the same function, so accfg's own passes can drop fields that did not change. The region and
its program stay (the program is what the host loads; the region the CPU's meaning of it).
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import accfg, arith, func
from xdsl.dialects.builtin import ModuleOp, StringAttr, SymbolRefAttr, i32
from xdsl.ir import SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter
from xdsl.utils.exceptions import DiagnosticException

from ...dialects.npu import ProgramOp, ResultOp, program_of
from .linalg_to_npu import PROGRAM_ATTR
from .regions import npu_regions

ACCELERATOR = "tnpu"
REGION_SYMBOL = "npu.region"
"""On a setup: the region launched, whose weights the launch binds (regions of one layer
share a program)."""
OPERAND_FIELDS = ("input", "residual")
"""The region's operands in order, by the DRAM segment each is bound to."""


@dataclass(frozen=True)
class NpuOutlineLaunchPass(ModulePass):
    """Replaces every call of an NPU region that has a program by `accfg.setup "tnpu"`
    (instruction and uop counts, the operands by segment name, the program's symbol as the
    setup's `npu.program` attribute), `accfg.launch`, `accfg.await` and `npu.result` (the
    program's output tensor). Input: convert-linalg-to-npu's output (the program passes may
    have run). A call of a region without a program is an error naming it."""

    name = "npu-outline-launch"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        del ctx
        regions = {r.sym_name.data: r for r in npu_regions(op)}
        programs = {p.sym_name.data: p for p in op.body.block.ops if isinstance(p, ProgramOp)}
        for caller in op.body.block.ops:
            if not isinstance(caller, func.FuncOp) or caller.sym_name.data in regions:
                continue
            state: SSAValue | None = None
            for call in [c for c in caller.walk() if isinstance(c, func.CallOp)]:
                region = regions.get(call.callee.root_reference.data)
                if region is None:
                    continue
                state = _launch(call, region, programs, state)


def _launch(
    call: func.CallOp,
    region: func.FuncOp,
    programs: dict[str, ProgramOp],
    previous: SSAValue | None,
) -> SSAValue:
    name = region.sym_name.data
    attr = region.attributes.get(PROGRAM_ATTR)
    if not isinstance(attr, StringAttr) or attr.data not in programs:
        raise DiagnosticException(
            f"npu-outline-launch: @{name} has no npu.program (run convert-linalg-to-npu first)"
        )
    if len(call.arguments) > len(OPERAND_FIELDS) or len(call.res) != 1:
        raise DiagnosticException(
            f"npu-outline-launch: @{name} takes {len(call.arguments)} operands and gives "
            f"{len(call.res)} results; a TNPU-1 layer takes its input (and a residual) and "
            "gives one output"
        )
    program = program_of(programs[attr.data])
    counts = [
        arith.ConstantOp.from_int_and_width(len(program.instructions), i32),
        arith.ConstantOp.from_int_and_width(len(program.uops), i32),
    ]
    values = [counts[0].result, counts[1].result, *call.arguments]
    fields = ["insn_count", "uop_count", *OPERAND_FIELDS[: len(call.arguments)]]
    setup = accfg.SetupOp(values, fields, ACCELERATOR, previous)
    setup.attributes[PROGRAM_ATTR] = SymbolRefAttr(attr.data)
    setup.attributes[REGION_SYMBOL] = SymbolRefAttr(name)  # its weights; programs are shared
    launch = accfg.LaunchOp([], [], setup)
    wait = accfg.AwaitOp(launch)
    result = ResultOp(attr.data, setup.out_state, call.res[0].type)
    Rewriter.insert_op([*counts, setup, launch, wait, result], InsertPoint.before(call))
    call.res[0].replace_all_uses_with(result.result)
    Rewriter.erase_op(call)
    return setup.out_state


def launched_by(module: ModuleOp, setup: accfg.SetupOp) -> tuple[ProgramOp, func.FuncOp] | str:
    """The program a setup launches and the region it launches it for, or what is missing."""
    program = setup.attributes.get(PROGRAM_ATTR)
    region = setup.attributes.get(REGION_SYMBOL)
    if not isinstance(program, SymbolRefAttr) or not isinstance(region, SymbolRefAttr):
        return f"accfg.setup has no {PROGRAM_ATTR} and {REGION_SYMBOL} symbols: nothing to launch"
    name, region_name = program.root_reference.data, region.root_reference.data
    programs = [
        p for p in module.body.block.ops if isinstance(p, ProgramOp) and p.sym_name.data == name
    ]
    regions = [r for r in npu_regions(module) if r.sym_name.data == region_name]
    if len(programs) != 1 or len(regions) != 1:
        return f"no npu.program @{name} with the region @{region_name} it was made for"
    return programs[0], regions[0]
