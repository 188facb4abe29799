"""func to the llvm dialect, and the packed entry `@terrace_main` of the runtime ABI."""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.builder import ImplicitBuilder
from xdsl.context import Context
from xdsl.dialects import func, llvm
from xdsl.dialects.builtin import (
    ArrayAttr,
    DictionaryAttr,
    IndexType,
    IntegerAttr,
    IntegerType,
    ModuleOp,
    StringAttr,
    UnitAttr,
)
from xdsl.ir import Attribute, Block, Region
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    PatternRewriter,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.rewriter import InsertPoint, Rewriter

from .llvm_common import convert_index_types, op_error
from .op_dispatch import OpClasses, dispatch_walker

ENTRY_NAME = "terrace_main"
ABI_ATTRIBUTES = ("terrace.num_inputs", "terrace.num_outputs", "terrace.weights")
NO_INLINE = "no_inline"

# helpers


def _llvm_type(type_: Attribute, op: func.FuncOp | func.CallOp, bitwidth: int) -> Attribute:
    if isinstance(type_, IndexType):
        return IntegerType(bitwidth)
    if type_.name.startswith("memref"):
        raise op_error(op, "memref types remain: run convert-memref-to-llvm first")
    return type_


def _function_type(op: func.FuncOp, bitwidth: int) -> llvm.LLVMFunctionType:
    inputs = [_llvm_type(t, op, bitwidth) for t in op.function_type.inputs]
    outputs = [_llvm_type(t, op, bitwidth) for t in op.function_type.outputs]
    if len(outputs) > 1:
        raise op_error(op, f"@{op.sym_name.data} returns {len(outputs)} values; at most 1")
    return llvm.LLVMFunctionType(inputs, outputs[0] if outputs else None)


def _is_abi_entry(op: func.FuncOp) -> bool:
    return all(name in op.attributes for name in ABI_ATTRIBUTES)


def _abi_pointer_count(op: llvm.FuncOp) -> int:
    """N + M + K + 1: inputs, outputs, weights and the workspace."""
    num_inputs = op.attributes["terrace.num_inputs"]
    num_outputs = op.attributes["terrace.num_outputs"]
    weights = op.attributes["terrace.weights"]
    assert isinstance(num_inputs, IntegerAttr) and isinstance(num_outputs, IntegerAttr)
    assert isinstance(weights, ArrayAttr)
    return num_inputs.value.data + num_outputs.value.data + len(weights.data) + 1


def build_packed_entry(main: llvm.FuncOp) -> llvm.FuncOp:
    """`llvm.func @terrace_main(%packed: !llvm.ptr)`: loads the N + M + K + 1 pointers that
    %packed points to and calls @main with them."""
    pointer = llvm.LLVMPointerType()
    count = _abi_pointer_count(main)
    if count != len(main.function_type.inputs):
        raise op_error(
            main,
            f"@{main.sym_name.data} takes {len(main.function_type.inputs)} arguments, "
            f"its terrace.* attributes promise {count}",
        )
    block = Block(arg_types=[pointer])
    with ImplicitBuilder(block):
        arguments = []
        for slot in range(count):
            address = llvm.GEPOp.from_mixed_indices(block.args[0], [slot], pointer)
            arguments.append(llvm.LoadOp(address, pointer).dereferenced_value)
        llvm.CallOp(main.sym_name.data, *arguments)
        llvm.ReturnOp()
    return llvm.FuncOp(
        ENTRY_NAME,
        llvm.LLVMFunctionType([pointer]),
        linkage=llvm.LinkageAttr("external"),
        body=Region(block),
    )


# patterns


@dataclass
class LowerFunc(RewritePattern):
    """func.func -> llvm.func with the same body; the ABI entry's pointers get `noalias`, as
    the runtime passes distinct buffers."""

    index_bitwidth: int

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: func.FuncOp, rewriter: PatternRewriter, /) -> None:
        function_type = _function_type(op, self.index_bitwidth)
        private = op.sym_visibility == StringAttr("private") and not op.is_declaration
        linkage = llvm.LinkageAttr("internal" if private else "external")
        properties: dict[str, Attribute | None] = {}
        if _is_abi_entry(op):
            noalias = DictionaryAttr({"llvm.noalias": UnitAttr()})
            properties["arg_attrs"] = ArrayAttr([noalias] * len(function_type.inputs))
        attributes = dict(op.attributes)
        if attributes.pop(NO_INLINE, None) is not None:
            # func.func's discardable `no_inline` (outline-kernels' kernels) is llvm.func's own
            properties[NO_INLINE] = UnitAttr()
        lowered = llvm.FuncOp(
            op.sym_name,
            function_type,
            linkage=linkage,
            body=rewriter.move_region_contents_to_new_regions(op.body),
            other_props=properties,
            extra_attrs=attributes,
        )
        rewriter.replace(op, lowered)


class LowerReturn(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: func.ReturnOp, rewriter: PatternRewriter, /) -> None:
        value = op.arguments[0] if op.arguments else None
        rewriter.replace(op, llvm.ReturnOp(value))


@dataclass
class LowerCall(RewritePattern):
    index_bitwidth: int

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: func.CallOp, rewriter: PatternRewriter, /) -> None:
        if len(op.res) > 1:
            raise op_error(op, f"call returns {len(op.res)} values; at most 1")
        return_type = _llvm_type(op.res[0].type, op, self.index_bitwidth) if op.res else None
        call = llvm.CallOp(op.callee, *op.arguments, return_type=return_type)
        rewriter.replace(op, call, [call.returned] if call.returned else [])


# the pattern list, each pattern under the op classes it rewrites


def func_to_llvm_patterns(index_bitwidth: int) -> list[tuple[OpClasses, RewritePattern]]:
    return [
        (func.FuncOp, LowerFunc(index_bitwidth)),
        (func.ReturnOp, LowerReturn()),
        (func.CallOp, LowerCall(index_bitwidth)),
    ]


# the pass


@dataclass(frozen=True)
class ConvertFuncToLlvmPass(ModulePass):
    """Lower func.func / return / call to the llvm dialect and add the packed entry.

    Input: functions whose signatures hold no memrefs (convert-memref-to-llvm made them
    `!llvm.ptr`), at most one result. Output: `llvm.func`s (public functions external,
    private ones internal) keeping their discardable attributes, a `no_inline` unit attribute
    becoming the llvm.func property of that name; `index` becomes
    `i{index_bitwidth}`. When a function carries `terrace.num_inputs`, `terrace.num_outputs`
    and `terrace.weights` (the stage-3 `@main`), its pointer arguments are marked `noalias`
    and `llvm.func @terrace_main(%packed: !llvm.ptr)` is added: it loads N + M + K + 1
    pointers from %packed (inputs, outputs, weights, workspace) and calls it.
    Options: index_bitwidth (default 64).
    """

    name = "convert-func-to-llvm"

    index_bitwidth: int = 64

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        patterns = func_to_llvm_patterns(self.index_bitwidth)
        dispatch_walker(patterns).rewrite_module(op)
        convert_index_types(op, self.index_bitwidth)
        entries = [
            function
            for function in op.ops
            if isinstance(function, llvm.FuncOp) and "terrace.num_inputs" in function.attributes
        ]
        # a module lowered before already has its entry: applying the pass twice adds none
        if any(isinstance(f, llvm.FuncOp) and f.sym_name.data == ENTRY_NAME for f in op.ops):
            return
        for main in entries:
            Rewriter.insert_op(build_packed_entry(main), InsertPoint.after(main))
