"""`npu-partition` (NPU.md section 8.2) on the nn dialect: each conv, matmul or gemm
`npu-annotate` placed on TNPU-1, with the single-consumer chain after it that its epilogue
takes (a residual `nn.add` of an equal-shaped tensor for a conv, a bias `nn.add` of a constant
row for a matmul, then `nn.relu`), is outlined to
`func.func @npu_region_N {terrace.target = "npu"}` and called in its place. Every other nn op
says why it stays on the CPU (`npu.device`, `npu.reason`): the partition report in the IR.

The chains are single-consumer, so the regions are acyclic by construction (MergeCompilerRegions,
simplified). Batch norm is folded before (`nn-fold-batchnorm`); the NCHW <-> NCHW16c packing at
the boundaries is the runtime's (docs/npu.md, "The npu target").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeGuard

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import Float32Type, ModuleOp, StringAttr, TensorType
from xdsl.ir import Block, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from ...dialects.nn.constants import CONSTANT_OPS
from ...dialects.nn.elementwise import AddOp, ReluOp, SumOp
from ...dialects.nn.neural import ConvOp, GemmOp, MatMulOp
from .npu_annotate import is_row
from .partition import cpu_reason
from .regions import REGION_ATTR


@dataclass(frozen=True)
class NpuPartitionPass(ModulePass):
    """Outlines every nn.conv, nn.matmul and nn.gemm marked `npu.device = "npu"` (run
    npu-annotate first), with a following nn.add (the layer its only user; for a conv an f32
    residual of equal shape, for a matmul or a gemm without C a constant bias row) and
    nn.relu, into
    `func.func private @npu_region_N` with `terrace.target = "npu"`, replaced by a call. The
    region's weights are copied in (they are named references). Every nn op left in the
    caller gets `npu.device = "cpu"` and `npu.reason`; the region's ops say what they fused
    into."""

    name = "npu-partition"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        del ctx
        functions = [f for f in op.body.block.ops if isinstance(f, func.FuncOp)]
        count = sum(1 for f in functions if REGION_ATTR in f.attributes)
        for function in functions:
            if REGION_ATTR in function.attributes:
                continue
            anchor: Operation = function  # the regions follow their caller, in order
            layer_ops = [c for c in function.walk() if isinstance(c, ConvOp | MatMulOp | GemmOp)]
            for layer_op in layer_ops:
                if layer_op.attributes.get("npu.device") != StringAttr("npu"):
                    continue
                anchor = _outline(anchor, _chain(layer_op), f"npu_region_{count}")
                count += 1
            for nn_op in function.walk():
                if _is_nn(nn_op) and "npu.device" not in nn_op.attributes:
                    nn_op.attributes["npu.device"] = StringAttr("cpu")
                    nn_op.attributes["npu.reason"] = StringAttr(cpu_reason(_op_type(nn_op)))


def _is_nn(op: Operation) -> bool:
    return op.name.startswith("nn.") and not isinstance(op, tuple(CONSTANT_OPS))


def _op_type(op: Operation) -> str:
    return str(getattr(op, "ONNX_TYPE", op.name))


def _only_user(value: SSAValue) -> Operation | None:
    uses = list(value.uses)
    return uses[0].operation if len(uses) == 1 else None


def _chain(layer_op: ConvOp | MatMulOp | GemmOp) -> list[Operation]:
    """The layer op and the epilogue ops it takes: a residual add (conv) or a bias add of a
    constant row (matmul, gemm without C), then a ReLU."""
    chain: list[Operation] = [layer_op]
    result = layer_op.results[0]
    user = _only_user(result)
    if _is_add(user) and _fuses(layer_op, user, result):
        chain.append(user)
        user = _only_user(user.results[0])
    if isinstance(user, ReluOp):
        chain.append(user)
    return chain


def _is_add(op: Operation | None) -> TypeGuard[AddOp | SumOp]:
    """An nn.add, or an nn.sum of two operands (ONNX's Sum, as ResNet-50's residuals)."""
    return isinstance(op, AddOp) or (isinstance(op, SumOp) and len(op.operands) == 2)


def _other(add: Operation, value: SSAValue) -> SSAValue:
    first, second = add.operands
    return second if value == first else first


def _fuses(layer_op: Operation, add: AddOp | SumOp, value: SSAValue) -> bool:
    other = _other(add, value)
    kind = add.results[0].type
    if other == value or not isinstance(kind, TensorType):
        return False
    if not isinstance(kind.element_type, Float32Type):
        return False
    if isinstance(layer_op, ConvOp):  # a residual: an equal-shaped tensor, not a constant
        return other.type == kind == value.type and not _is_constant(other)
    if isinstance(layer_op, GemmOp) and layer_op.C is not None:
        return False
    shape = kind.get_shape()
    return _is_constant(other) and is_row([max(0, d) for d in _dims(other)], shape[-1])


def _dims(value: SSAValue) -> tuple[int, ...]:
    kind = value.type
    return tuple(kind.get_shape()) if isinstance(kind, TensorType) else ()


def _is_constant(value: SSAValue) -> bool:
    return isinstance(value.owner, tuple(CONSTANT_OPS))


def clone_constants(
    constants: list[SSAValue], block: Block, mapping: dict[SSAValue, SSAValue]
) -> list[Operation]:
    """Each constant's defining op cloned at the end of `block`, its result mapped in
    `mapping`; returns the originals."""
    owners: list[Operation] = []
    for value in constants:
        owner = value.owner
        assert isinstance(owner, Operation)
        copy = owner.clone()
        block.add_op(copy)
        mapping[value] = copy.results[0]
        owners.append(owner)
    return owners


def _outline(anchor: Operation, chain: list[Operation], name: str) -> func.FuncOp:
    """The region made of `chain`, inserted after `anchor`; the chain becomes its call. The
    chain's constant operands are copied in (they are named references), its other operands
    from outside become the region's arguments, in order."""
    inside = {r for op in chain for r in op.results}
    inputs: list[SSAValue] = []
    constants: list[SSAValue] = []
    argument: dict[tuple[int, int], int] = {}  # (op, operand) -> the region's argument
    for index, op in enumerate(chain):
        for position, operand in enumerate(op.operands):
            if operand in inside or operand in constants:
                continue
            if _is_constant(operand):
                constants.append(operand)
                continue
            # a residual is an argument of its own even where it is the conv's input too:
            # the launch binds each argument to a DRAM segment (npu-outline-launch)
            if not index and operand in inputs:
                argument[index, position] = inputs.index(operand)
                continue
            argument[index, position] = len(inputs)
            inputs.append(operand)
    result = chain[-1].results[0]
    function = func.FuncOp(name, ([v.type for v in inputs], [result.type]), visibility="private")
    function.attributes[REGION_ATTR] = StringAttr("npu")
    block = function.body.block
    mapping: dict[SSAValue, SSAValue] = {}
    clone_constants(constants, block, mapping)
    kind = "conv" if isinstance(chain[0], ConvOp) else "matmul"
    for index, fused in enumerate(chain):
        copy = fused.clone(value_mapper=mapping)
        for position in range(len(fused.operands)):
            if (index, position) in argument:
                copy.operands[position] = block.args[argument[index, position]]
        if index:
            what = "ReLU"
            if _is_add(fused):
                what = "residual add" if kind == "conv" else "bias add"
            copy.attributes["npu.device"] = StringAttr("npu")
            copy.attributes["npu.reason"] = StringAttr(f"{what} fused into the {kind} of @{name}")
        block.add_op(copy)
        mapping[fused.results[0]] = copy.results[0]
    block.add_op(func.ReturnOp(mapping[result]))
    Rewriter.insert_op(function, InsertPoint.after(anchor))
    call = func.CallOp(name, list(inputs), [result.type])
    Rewriter.insert_op(call, InsertPoint.before(chain[-1]))
    result.replace_all_uses_with(call.res[0])
    for fused in reversed(chain):
        Rewriter.erase_op(fused)
    for value in constants:
        owner = value.owner
        if isinstance(owner, Operation) and not value.uses:
            Rewriter.erase_op(owner)
    return function
