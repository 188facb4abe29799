"""`npu-partition` (NPU.md section 8.2) on the nn dialect: each conv `npu-annotate` placed on
TNPU-1, with the single-consumer chain after it that its epilogue takes (a residual `nn.add`
of an equal-shaped tensor, then `nn.relu`), is outlined to
`func.func @npu_region_N {terrace.target = "npu"}` and called in its place. Every other nn op
says why it stays on the CPU (`npu.device`, `npu.reason`): the partition report in the IR.

The chains are single-consumer, so the regions are acyclic by construction (MergeCompilerRegions,
simplified). Batch norm is folded before (`nn-fold-batchnorm`); the NCHW <-> NCHW16c packing at
the boundaries is the runtime's (docs/npu.md, "The npu target").
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import Float32Type, ModuleOp, StringAttr
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from ...dialects.nn.constants import CONSTANT_OPS
from ...dialects.nn.elementwise import AddOp, ReluOp
from ...dialects.nn.neural import ConvOp
from .partition import cpu_reason
from .regions import REGION_ATTR


@dataclass(frozen=True)
class NpuPartitionPass(ModulePass):
    """Outlines every nn.conv marked `npu.device = "npu"` (run npu-annotate first), with a
    following residual nn.add (f32, equal shapes, the conv its only user) and nn.relu, into
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
            for conv in [c for c in function.walk() if isinstance(c, ConvOp)]:
                device = conv.attributes.get("npu.device")
                if device != StringAttr("npu"):
                    continue
                anchor = _outline(anchor, _chain(conv), f"npu_region_{count}")
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


def _chain(conv: ConvOp) -> list[Operation]:
    """The conv and the epilogue ops it takes: a residual add, then a ReLU."""
    chain: list[Operation] = [conv]
    user = _only_user(conv.Y)
    if isinstance(user, AddOp) and _residual_ok(user, conv.Y):
        chain.append(user)
        user = _only_user(user.C)
    if isinstance(user, ReluOp):
        chain.append(user)
    return chain


def _residual_ok(add: AddOp, value: SSAValue) -> bool:
    other = add.B if value == add.A else add.A
    if other == value or other.type != add.C.type or value.type != add.C.type:
        return False
    return isinstance(add.C.type.element_type, Float32Type)


def _outline(anchor: Operation, chain: list[Operation], name: str) -> func.FuncOp:
    """The region made of `chain`, inserted after `anchor`; the chain becomes its call."""
    conv = chain[0]
    assert isinstance(conv, ConvOp)
    inputs: list[SSAValue] = [conv.X]
    for add in chain[1:]:
        if isinstance(add, AddOp):
            inputs.append(add.B if chain[chain.index(add) - 1].results[0] == add.A else add.A)
    result = chain[-1].results[0]
    function = func.FuncOp(name, ([v.type for v in inputs], [result.type]), visibility="private")
    function.attributes[REGION_ATTR] = StringAttr("npu")
    block = function.body.block
    mapping: dict[SSAValue, SSAValue] = dict(zip(inputs, block.args, strict=True))
    weights = [conv.W, *([conv.B] if conv.B is not None else [])]
    for weight in weights:
        owner = weight.owner
        assert isinstance(owner, Operation)  # npu-annotate placed it: a constant op
        copy = owner.clone()
        block.add_op(copy)
        mapping[weight] = copy.results[0]
    conv_label = f"@{name}"
    for index, fused in enumerate(chain):
        copy = fused.clone(value_mapper=mapping)
        if index:
            what = "residual add" if isinstance(fused, AddOp) else "ReLU"
            copy.attributes["npu.device"] = StringAttr("npu")
            copy.attributes["npu.reason"] = StringAttr(
                f"{what} fused into the conv of {conv_label}"
            )
        block.add_op(copy)
        mapping[fused.results[0]] = copy.results[0]
    block.add_op(func.ReturnOp(mapping[result]))
    Rewriter.insert_op(function, InsertPoint.after(anchor))
    call = func.CallOp(name, list(inputs), [result.type])
    Rewriter.insert_op(call, InsertPoint.before(chain[-1]))
    result.replace_all_uses_with(call.res[0])
    for fused in reversed(chain):
        Rewriter.erase_op(fused)
    for weight in weights:
        owner = weight.owner
        if isinstance(owner, Operation) and not weight.uses:
            Rewriter.erase_op(owner)
    return function
