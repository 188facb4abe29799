"""Kernel outlining: each linalg op and copy of a function becomes a call of its own kernel.

As IREE forms dispatch regions, each compute op of `@main` moves into a private
`func.func @kernel_N` that takes the memrefs it reads and writes; structurally identical kernels
are outlined once and called from every place that needs them. The loop lowering and the llvm
conversions then work on many small functions instead of one giant one: xDSL's
convert-scf-to-cf and the verifier walk every block of a region per branch, which is quadratic
in the number of loops of one function, and LLVM's O3 is superlinear in function size.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import arith, func, memref, scf
from xdsl.dialects.builtin import FunctionType, ModuleOp, StringAttr, UnitAttr
from xdsl.ir import Block, BlockArgument, Operation, OpResult, Region, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

KERNEL_PREFIX = "kernel_"
NO_INLINE = "no_inline"
MAX_ARGUMENTS = 64
"""An op that uses more memrefs stays in @main (a Sum of hundreds of weights): a call passing
hundreds of pointers puts them on the stack, where RISC-V's frame lowering could not address
them ("LLVM ERROR: Incomplete scavenging after 2nd pass", LLVM 22)."""

# helpers


def _is_outlined(op: Operation) -> bool:
    """linalg ops, copies and loop nests (micro-kernels) hold the loops; views, constants and
    calls stay in place."""
    return op.dialect_name() == "linalg" or isinstance(
        op, memref.CopyOp | scf.ForOp | scf.ParallelOp
    )


def _is_inside(value: SSAValue, ops: set[Operation], blocks: set[Block]) -> bool:
    if isinstance(value, OpResult):
        return value.op in ops
    assert isinstance(value, BlockArgument)
    return value.block in blocks


def _captured_values(op: Operation) -> list[SSAValue]:
    """The values `op` and its regions use but do not define, in order of first use."""
    ops = set(op.walk())
    blocks = {block for nested in ops for region in nested.regions for block in region.blocks}
    captured: dict[SSAValue, None] = {}
    for nested in op.walk():
        for operand in nested.operands:
            if not _is_inside(operand, ops, blocks):
                captured.setdefault(operand)
    return list(captured)


def _is_constant(value: SSAValue) -> bool:
    return isinstance(value, OpResult) and isinstance(value.op, arith.ConstantOp)


def _build_kernel(
    op: Operation, captured: list[SSAValue], arguments: list[SSAValue], no_inline: bool
) -> func.FuncOp:
    """A private function holding a copy of `op` (and of the `captured` constants it uses)
    that takes `arguments`. SSA names are dropped so that equal kernels print equally."""
    block = Block(arg_types=[value.type for value in arguments])
    mapper: dict[SSAValue, SSAValue] = dict(zip(arguments, block.args, strict=True))
    for value in captured:
        if not isinstance(value, OpResult) or value in mapper:
            continue
        constant = value.op.clone(clone_name_hints=False)
        block.add_op(constant)
        mapper[value] = constant.results[value.index]
    block.add_op(op.clone(value_mapper=mapper, clone_name_hints=False))
    block.add_op(func.ReturnOp())
    function_type = FunctionType.from_lists([value.type for value in arguments], [])
    kernel = func.FuncOp("kernel", function_type, Region(block), visibility="private")
    if no_inline:
        kernel.attributes[NO_INLINE] = UnitAttr()
    return kernel


StructuralKey = tuple[object, ...]
"""A kernel's structure as nested tuples of op classes, attributes and value numbers."""


def _structural_key(kernel: func.FuncOp) -> StructuralKey:
    """What the kernel's printed text says, without printing it: for each op its class, its
    properties and attributes, its result types and its operands, successors and regions;
    values and blocks numbered in order of first appearance, as the printer names them.
    Equal for kernels that differ only in the names of their values.

    Printing every kernel to compare them took a tenth of a cold compile's serial part
    (densenet121's 438 kernels). Attributes compare exactly (floats by their bits), so two
    kernels share a key only where their printed texts are equal too."""
    return _op_key(kernel, {})


def _number(item: SSAValue | Block, numbers: dict[SSAValue | Block, int]) -> int:
    return numbers.setdefault(item, len(numbers))


def _attribute_items(op: Operation) -> tuple[object, ...]:
    return (tuple(op.properties.items()), tuple(op.attributes.items()))


def _region_key(region: Region, numbers: dict[SSAValue | Block, int]) -> StructuralKey:
    return tuple(_block_key(block, numbers) for block in region.blocks)


def _block_key(block: Block, numbers: dict[SSAValue | Block, int]) -> StructuralKey:
    arguments = tuple((_number(arg, numbers), arg.type) for arg in block.args)
    return (_number(block, numbers), arguments, tuple(_op_key(op, numbers) for op in block.ops))


def _op_key(op: Operation, numbers: dict[SSAValue | Block, int]) -> StructuralKey:
    return (
        type(op),
        tuple(_number(operand, numbers) for operand in op.operands),
        tuple((_number(result, numbers), result.type) for result in op.results),
        *_attribute_items(op),
        tuple(_number(successor, numbers) for successor in op.successors),
        tuple(_region_key(region, numbers) for region in op.regions),
    )


def _erase_dead_constants(function: func.FuncOp) -> None:
    """Constants whose only users moved into kernels (fill values, scalars)."""
    for op in list(function.walk()):
        if isinstance(op, arith.ConstantOp) and not op.result.uses:
            Rewriter.erase_op(op)


@dataclass
class KernelTable:
    """The kernels of one module by structural key; names avoid the module's symbols."""

    module: ModuleOp
    taken: set[str]
    by_key: dict[StructuralKey, str]
    outlined: int = 0
    shared: int = 0

    def name_for(self, kernel: func.FuncOp) -> str:
        """The symbol to call: an existing kernel with the same structure, or `kernel`
        renamed and added at the module's end."""
        self.outlined += 1
        key = _structural_key(kernel)
        existing = self.by_key.get(key)
        if existing is not None:
            self.shared += 1
            return existing
        name = self._fresh_name()
        kernel.sym_name = StringAttr(name)
        self.module.body.block.add_op(kernel)
        self.by_key[key] = name
        return name

    def _fresh_name(self) -> str:
        index = len(self.by_key)
        while f"{KERNEL_PREFIX}{index}" in self.taken:
            index += 1
        name = f"{KERNEL_PREFIX}{index}"
        self.taken.add(name)
        return name


def outline_function(function: func.FuncOp, table: KernelTable, no_inline: bool) -> None:
    """Replaces each outlined op directly in `function`'s body by a call of its kernel."""
    for block in function.body.blocks:
        for op in list(block.ops):
            if not _is_outlined(op):
                continue
            if op.results:
                continue  # linalg on tensors: bufferize first (left as it is)
            captured = _captured_values(op)
            arguments = [value for value in captured if not _is_constant(value)]
            if len(arguments) > MAX_ARGUMENTS:
                continue
            kernel = _build_kernel(op, captured, arguments, no_inline)
            call = func.CallOp(table.name_for(kernel), arguments, [])
            call.location = op.location  # the ONNX nodes the kernel computes here
            Rewriter.insert_op(call, InsertPoint.before(op))
            Rewriter.erase_op(op)
    _erase_dead_constants(function)


# the pass


@dataclass(frozen=True)
class OutlineKernelsPass(ModulePass):
    """Move each linalg op and memref.copy of every public function into its own kernel.

    Input: stage 3 of docs/pipeline.md (linalg on memrefs, after memory-plan). Each linalg op
    and `memref.copy` directly in the body of a public `func.func` (`@main`) moves into a new
    `func.func private @kernel_N(memref args...)` that holds the op, copies of the
    `arith.constant`s it uses (fill values, scalars) and `func.return`; the op's place gets
    `func.call @kernel_N(args)`. The arguments are the other values the op and its body use (its
    memrefs, captured memrefs of `memref.load`s in its body, non-constant scalars), each once,
    in order of first use. Views (`memref.view`, `subview`, `collapse_shape`, `expand_shape`)
    and the constants they need stay in `@main`, so a kernel sees only its operand types
    (strided layouts included) and never the workspace; `@main` becomes a straight line of
    views and calls. Kernels that print the same under one name (same ops, types, attributes,
    constants and argument pattern) are outlined once and shared. Constants of `@main` left
    without users are erased. Private functions (the kernels themselves) are not outlined
    again, so the pass is idempotent. Linalg ops with tensor results, and ops that would take
    more than MAX_ARGUMENTS (64) arguments, are left in place.
    Options: no_inline (default true) marks each kernel `no_inline` (convert-func-to-llvm
    makes it the llvm.func property): inlining every kernel back into `@main` made LLVM's O3
    superlinear again (light resnet50: 9 s instead of 2 s) for no faster code, as each call
    runs a whole loop nest.
    """

    name = "outline-kernels"

    no_inline: bool = True

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        outline_kernels(op, self.no_inline)


def outline_kernels(module: ModuleOp, no_inline: bool = True) -> KernelTable:
    """Runs the pass; the table says how many ops were outlined and how many calls share a
    kernel outlined before."""
    functions = [f for f in module.ops if isinstance(f, func.FuncOp)]
    taken = {f.sym_name.data for f in functions}
    table = KernelTable(module, taken, {})
    for function in functions:
        if function.sym_visibility == StringAttr("private") or function.is_declaration:
            continue
        outline_function(function, table, no_inline)
    return table
