"""memref to bare `!llvm.ptr` pointers: views, reshapes, copies and allocations here, loads,
stores, subviews and function signatures through xDSL's convert-memref-to-ptr patterns, then the
ptr dialect to llvm (pointer offsets as `getelementptr i8`, not integer round trips)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from xdsl.builder import ImplicitBuilder
from xdsl.context import Context
from xdsl.dialects import arith, builtin, func, llvm, memref, ptr, scf
from xdsl.dialects.builtin import (
    FixedBitwidthType,
    FunctionType,
    IndexType,
    MemRefType,
    ModuleOp,
    NoneAttr,
    ShapedType,
    i1,
    i64,
)
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.transforms import convert_memref_to_ptr as to_ptr
from xdsl.transforms import convert_ptr_to_llvm as ptr_to_llvm
from xdsl.transforms.convert_ptr_type_offsets import ConvertTypeOffsetOp
from xdsl.utils.hints import isa

from .llvm_common import declare_external_function, op_error
from .op_dispatch import OpClasses, dispatch_walker
from .vector_to_llvm import VECTOR_MEMORY_PATTERNS

# helpers


def _memref_type(value: SSAValue) -> MemRefType[Attribute]:
    type_ = value.type
    assert isa(type_, MemRefType[Attribute])
    return type_


def _is_contiguous(type_: MemRefType[Attribute]) -> bool:
    """Row-major without gaps (the offset may be anything: the pointer includes it)."""
    if isinstance(type_.layout, NoneAttr):
        return True
    shape = type_.get_shape()
    strides = type_.get_strides()
    if strides is None:
        return False
    dense = ShapedType.strides_for_shape(shape)
    return all(
        size == 1 or stride == want
        for size, stride, want in zip(shape, strides, dense, strict=True)
    )


def _element_bytes(op: memref.CopyOp | memref.AllocOp, type_: MemRefType[Attribute]) -> int:
    element = type_.element_type
    if not isinstance(element, FixedBitwidthType):
        raise op_error(op, f"element type {element} has no fixed size")
    return element.size


def _index_constant(value: int, rewriter: PatternRewriter) -> SSAValue:
    return rewriter.insert(arith.ConstantOp.from_int_and_width(value, IndexType())).result


def _llvm_pointer(memref_value: SSAValue, rewriter: PatternRewriter) -> SSAValue:
    pointer = rewriter.insert(ptr.ToPtrOp(memref_value)).res
    cast = builtin.UnrealizedConversionCastOp.get([pointer], [llvm.LLVMPointerType()])
    return rewriter.insert(cast).results[0]


PARALLEL_COPY_ELEMENTS = 1 << 15
"""Strided copies of at least this many elements run their outer dims as one scf.parallel
(convert-scf-parallel-to-gomp, later in the pipeline, puts it on threads)."""


def _copy_loop_nest(
    source: SSAValue, destination: SSAValue, shape: Sequence[int], rewriter: PatternRewriter
) -> None:
    """for i0, i1, ...: destination[i...] = source[i...] (strided copies); all dims but the
    innermost in one scf.parallel when the copy is large."""
    zero = _index_constant(0, rewriter)
    one = _index_constant(1, rewriter)
    bounds = [_index_constant(size, rewriter) for size in shape]
    parallel = len(shape) > 1 and math.prod(shape) >= PARALLEL_COPY_ELEMENTS
    outer = Block()
    body = outer
    indices: list[SSAValue] = []
    if parallel:
        block = Block(arg_types=[IndexType()] * (len(shape) - 1))
        with ImplicitBuilder(outer):
            count = len(shape) - 1
            scf.ParallelOp([zero] * count, bounds[:-1], [one] * count, Region(block))
        indices.extend(block.args)
        body = block
    for bound in bounds[len(indices) :]:
        block = Block(arg_types=[IndexType()])
        with ImplicitBuilder(body):
            scf.ForOp(zero, bound, one, [], Region(block))
            if body is not outer:
                _terminate(body)
        indices.append(block.args[0])
        body = block
    with ImplicitBuilder(body):
        value = memref.LoadOp.get(source, indices).res
        memref.StoreOp.get(value, destination, indices)
        scf.YieldOp()
    for nested in list(outer.ops):
        nested.detach()
        rewriter.insert(nested)


def _terminate(block: Block) -> None:
    """The terminator of a loop body: scf.reduce for scf.parallel, scf.yield for scf.for."""
    parent = block.parent_op()
    scf.ReduceOp() if isinstance(parent, scf.ParallelOp) else scf.YieldOp()


# patterns


class LowerViewToOffsetPointer(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: memref.ViewOp, rewriter: PatternRewriter, /) -> None:
        if op.sizes:
            raise op_error(op, "views with dynamic sizes are not supported")
        # view(%buffer, %bytes) -> %buffer + %bytes
        base = rewriter.insert(ptr.ToPtrOp(op.source)).res
        shifted = rewriter.insert(ptr.PtrAddOp(base, op.byte_shift)).result
        rewriter.replace(op, ptr.FromPtrOp(shifted, op.result.type))


class LowerReshapeToSamePointer(RewritePattern):
    """collapse_shape and expand_shape of contiguous memrefs keep the pointer."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if not isinstance(op, memref.CollapseShapeOp | memref.ExpandShapeOp):
            return
        if not _is_contiguous(_memref_type(op.src)):
            raise op_error(op, f"reshape of non-contiguous {op.src.type}")
        pointer = rewriter.insert(ptr.ToPtrOp(op.src)).res
        rewriter.replace(op, ptr.FromPtrOp(pointer, op.result.type))


class LowerCopy(RewritePattern):
    """Contiguous copies become `llvm.memcpy`; strided ones a loop nest of loads and stores."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: memref.CopyOp, rewriter: PatternRewriter, /) -> None:
        source_type = _memref_type(op.source)
        destination_type = _memref_type(op.destination)
        shape = source_type.get_shape()
        if -1 in shape:
            raise op_error(op, "copies of dynamic shapes are not supported")
        if not (_is_contiguous(source_type) and _is_contiguous(destination_type)):
            _copy_loop_nest(op.source, op.destination, shape, rewriter)
            rewriter.erase(op)
            return
        byte_count = source_type.element_count() * _element_bytes(op, source_type)
        source = _llvm_pointer(op.source, rewriter)
        destination = _llvm_pointer(op.destination, rewriter)
        size = rewriter.insert(llvm.ConstantOp(builtin.IntegerAttr(byte_count, i64), i64))
        volatile = rewriter.insert(llvm.ConstantOp(builtin.IntegerAttr(0, i1), i1))
        operands = [destination, source, size.result, volatile.result]
        rewriter.replace(op, llvm.CallIntrinsicOp("llvm.memcpy.p0.p0.i64", operands, []))


@dataclass
class LowerAllocToMalloc(RewritePattern):
    """alloc -> malloc (memory-plan normally leaves none)."""

    module: ModuleOp

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: memref.AllocOp, rewriter: PatternRewriter, /) -> None:
        type_ = _memref_type(op.memref)
        if op.dynamic_sizes:
            raise op_error(op, "allocations of dynamic shapes are not supported")
        pointer_type = llvm.LLVMPointerType()
        declare_external_function(self.module, "malloc", [i64], pointer_type)
        byte_count = max(type_.element_count() * _element_bytes(op, type_), 1)
        size = rewriter.insert(llvm.ConstantOp(builtin.IntegerAttr(byte_count, i64), i64))
        call = rewriter.insert(llvm.CallOp("malloc", size.result, return_type=pointer_type))
        assert call.returned is not None
        pointer = builtin.UnrealizedConversionCastOp.get([call.returned], [ptr.PtrType()])
        rewriter.insert(pointer)
        rewriter.replace(op, ptr.FromPtrOp(pointer.results[0], type_))


@dataclass
class LowerDeallocToFree(RewritePattern):
    module: ModuleOp

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: memref.DeallocOp, rewriter: PatternRewriter, /) -> None:
        declare_external_function(
            self.module, "free", [llvm.LLVMPointerType()], llvm.LLVMVoidType()
        )
        pointer = _llvm_pointer(op.memref, rewriter)
        rewriter.replace(op, llvm.CallOp("free", pointer))


class LowerPtrAddToGep(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ptr.PtrAddOp, rewriter: PatternRewriter, /) -> None:
        # ptr + bytes -> getelementptr i8, keeping the pointer's provenance for alias analysis
        cast = builtin.UnrealizedConversionCastOp.get([op.addr], [llvm.LLVMPointerType()])
        rewriter.insert(cast)
        # llvm.getelementptr takes integers; convert-arith-to-llvm folds this cast on 64 bits
        offset = rewriter.insert(arith.IndexCastOp(op.offset, i64)).result
        gep = llvm.GEPOp.from_mixed_indices(cast.results[0], [offset], builtin.i8)
        back = builtin.UnrealizedConversionCastOp.get([gep.result], [ptr.PtrType()])
        rewriter.replace(op, [gep, back])


def _pointer_values(op: Operation) -> list[SSAValue]:
    """The results and block arguments of `op` typed `ptr.ptr`."""
    values: list[SSAValue] = [r for r in op.results if isinstance(r.type, ptr.PtrType)]
    for region in op.regions:
        for block in region.blocks:
            values.extend(a for a in block.args if isinstance(a.type, ptr.PtrType))
    return values


def _llvm_function_type(function_type: FunctionType) -> FunctionType:
    def convert(type_: Attribute) -> Attribute:
        return llvm.LLVMPointerType() if isinstance(type_, ptr.PtrType) else type_

    inputs = [convert(t) for t in function_type.inputs]
    outputs = [convert(t) for t in function_type.outputs]
    return FunctionType.from_lists(inputs, outputs)


class LowerPtrTypes(RewritePattern):
    """ptr.ptr -> !llvm.ptr in results, block arguments and function signatures: the only
    places the patterns above leave it. (xDSL's recursive RewritePtrTypes rebuilds and
    type-checks every attribute of every op, which dominated this pass's time.)"""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        for value in _pointer_values(op):
            rewriter.replace_value_with_new_type(value, llvm.LLVMPointerType())
        if not isinstance(op, func.FuncOp):
            return
        function_type = _llvm_function_type(op.function_type)
        if function_type != op.function_type:
            op.function_type = function_type
            rewriter.handle_operation_modification(op)


class FoldIdentityCast(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(
        self, op: builtin.UnrealizedConversionCastOp, rewriter: PatternRewriter, /
    ) -> None:
        # ptr -> llvm.ptr casts become llvm.ptr -> llvm.ptr once the ptr types are rewritten
        if [value.type for value in op.inputs] != [result.type for result in op.outputs]:
            return
        rewriter.replace(op, [], list(op.inputs))


class RejectRemainingMemrefOp(RewritePattern):
    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if op.dialect_name() != "memref":
            return
        raise op_error(op, "no lowering to the llvm dialect")


# the pattern lists, each pattern under the op classes it rewrites


def memref_patterns(module: ModuleOp) -> list[tuple[OpClasses, RewritePattern]]:
    return [
        (memref.ViewOp, LowerViewToOffsetPointer()),
        ((memref.CollapseShapeOp, memref.ExpandShapeOp), LowerReshapeToSamePointer()),
        (memref.CopyOp, LowerCopy()),
        (memref.AllocOp, LowerAllocToMalloc(module)),
        (memref.DeallocOp, LowerDeallocToFree(module)),
        (memref.StoreOp, to_ptr.ConvertStorePattern()),
        (memref.LoadOp, to_ptr.ConvertLoadPattern()),
        (memref.SubviewOp, to_ptr.ConvertSubviewPattern()),
        (memref.CastOp, to_ptr.ConvertCastOp()),
        (memref.ReinterpretCastOp, to_ptr.ConvertReinterpretCastOp()),
        *VECTOR_MEMORY_PATTERNS,
    ]


SIGNATURE_PATTERNS: list[tuple[OpClasses, RewritePattern]] = [
    (func.FuncOp, to_ptr.LowerMemRefFuncOpPattern()),
    (func.CallOp, to_ptr.LowerMemRefFuncCallPattern()),
    (func.ReturnOp, to_ptr.LowerMemRefFuncReturnPattern()),
]

PTR_TO_LLVM_PATTERNS: list[tuple[OpClasses, RewritePattern]] = [
    (ptr.TypeOffsetOp, ConvertTypeOffsetOp()),
    (ptr.PtrAddOp, LowerPtrAddToGep()),
    (ptr.StoreOp, ptr_to_llvm.ConvertStoreOp()),
    (ptr.LoadOp, ptr_to_llvm.ConvertLoadOp()),
    (ptr.ToPtrOp, ptr_to_llvm.ConvertToPtrOp()),
    (ptr.FromPtrOp, ptr_to_llvm.ConvertFromPtrOp()),
    (Operation, LowerPtrTypes()),
]


# the pass


@dataclass(frozen=True)
class ConvertMemrefToLlvmPass(ModulePass):
    """Lower memrefs to bare `!llvm.ptr` values with static address arithmetic.

    Input: memrefs with static shapes (stage 3/4 of docs/pipeline.md): function arguments,
    `memref.view` of an i8 buffer at a byte offset, collapse_shape / expand_shape of contiguous
    memrefs, subview, copy, load, store, alloc / dealloc. The pointer of a memref points at its
    first element (its offset included).
    Output: func signatures with `!llvm.ptr` for memrefs; `llvm.getelementptr i8` for offsets,
    `llvm.load` / `llvm.store`, `llvm.memcpy` for contiguous copies, scf.for nests for strided
    ones, malloc / free calls; index arithmetic stays in arith on `index` (for
    convert-arith-to-llvm). Other memref ops are errors naming the op.
    """

    name = "convert-memref-to-llvm"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        dispatch_walker(memref_patterns(op)).rewrite_module(op)
        dispatch_walker(SIGNATURE_PATTERNS).rewrite_module(op)
        dispatch_walker(PTR_TO_LLVM_PATTERNS).rewrite_module(op)
        fold_casts = [(builtin.UnrealizedConversionCastOp, FoldIdentityCast())]
        dispatch_walker(fold_casts).rewrite_module(op)
        PatternRewriteWalker(RejectRemainingMemrefOp()).rewrite_module(op)
