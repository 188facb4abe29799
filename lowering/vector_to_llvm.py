"""vector to the llvm dialect: the register ops here (broadcast, fma), the memory ops (load,
store) as patterns that convert-memref-to-llvm applies with the other memref accesses.

Loads and stores keep the element's alignment: a vector of a memref is only as aligned as its
first element, and LLVM would otherwise assume the vector type's own (64 bytes for
`vector<16xf32>`) and may emit aligned moves.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import builtin, llvm, vector
from xdsl.dialects.builtin import (
    DenseArrayBase,
    FixedBitwidthType,
    MemRefType,
    ModuleOp,
    VectorType,
    i32,
)
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern, op_type_rewrite_pattern
from xdsl.transforms.convert_memref_to_ptr import build_target_ptr
from xdsl.utils.hints import isa

from .llvm_common import intrinsic_name, op_error
from .op_dispatch import OpClasses, dispatch_walker

# helpers


def _llvm_address(
    base: SSAValue, indices: tuple[SSAValue, ...] | list[SSAValue], rewriter: PatternRewriter
) -> tuple[SSAValue, int]:
    """The `!llvm.ptr` of `base[indices]` and the element alignment in bytes."""
    memref_type = base.type
    assert isa(memref_type, MemRefType[Attribute])
    element = memref_type.get_element_type()
    assert isinstance(element, FixedBitwidthType)
    target = build_target_ptr(base, memref_type, list(indices), rewriter)
    cast = builtin.UnrealizedConversionCastOp.get([target], [llvm.LLVMPointerType()])
    rewriter.insert(cast)
    return cast.results[0], element.compile_time_size


# patterns


class LowerVectorLoad(RewritePattern):
    """vector.load -> llvm.load of the vector type at the element's address."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: vector.LoadOp, rewriter: PatternRewriter, /) -> None:
        address, alignment = _llvm_address(op.base, op.indices, rewriter)
        rewriter.replace(op, llvm.LoadOp(address, op.result.type, alignment=alignment))


class LowerVectorStore(RewritePattern):
    """vector.store -> llvm.store of the vector at the element's address."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: vector.StoreOp, rewriter: PatternRewriter, /) -> None:
        address, alignment = _llvm_address(op.base, op.indices, rewriter)
        rewriter.replace(op, llvm.StoreOp(op.vector, address, alignment=alignment))


def _alignment_constant(alignment: int, rewriter: PatternRewriter) -> SSAValue:
    constant = llvm.ConstantOp(builtin.IntegerAttr(alignment, i32), i32)
    rewriter.insert(constant)
    return constant.result


class LowerMaskedLoad(RewritePattern):
    """vector.maskedload -> llvm.masked.load (lanes off in the mask are not read)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: vector.MaskedLoadOp, rewriter: PatternRewriter, /) -> None:
        address, alignment = _llvm_address(op.base, op.indices, rewriter)
        aligned = _alignment_constant(alignment, rewriter)
        result_type = op.result.type
        name = intrinsic_name("llvm.masked.load", result_type) + ".p0"
        arguments = [address, aligned, op.mask, op.pass_thru]
        rewriter.replace(op, llvm.CallIntrinsicOp(name, arguments, [result_type]))


class LowerMaskedStore(RewritePattern):
    """vector.maskedstore -> llvm.masked.store (lanes off in the mask are not written)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: vector.MaskedStoreOp, rewriter: PatternRewriter, /) -> None:
        address, alignment = _llvm_address(op.base, op.indices, rewriter)
        aligned = _alignment_constant(alignment, rewriter)
        name = intrinsic_name("llvm.masked.store", op.value_to_store.type) + ".p0"
        arguments = [op.value_to_store, address, aligned, op.mask]
        rewriter.replace(op, llvm.CallIntrinsicOp(name, arguments, []))


class LowerBroadcast(RewritePattern):
    """vector.broadcast of a scalar -> insertelement into lane 0, then a zero-mask shuffle."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: vector.BroadcastOp, rewriter: PatternRewriter, /) -> None:
        result_type = op.vector.type
        assert isa(result_type, VectorType[Attribute])
        if isinstance(op.source.type, VectorType):
            raise op_error(op, "only broadcasts of a scalar are supported")
        if result_type.get_num_dims() != 1:
            raise op_error(op, "only 1-D vectors are supported")
        lanes = result_type.get_shape()[0]
        undefined = llvm.UndefOp(result_type)
        zero = llvm.ConstantOp(builtin.IntegerAttr(0, i32), i32)
        inserted = llvm.InsertElementOp(undefined.res, op.source, zero.result)
        mask = DenseArrayBase.from_list(i32, [0] * lanes)
        shuffle = llvm.ShuffleVectorOp(inserted.res, undefined.res, mask, result_type)
        rewriter.replace(op, [undefined, zero, inserted, shuffle])


class LowerFma(RewritePattern):
    """vector.fma -> llvm.intr.fma (one rounding, as the fused instruction)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: vector.FMAOp, rewriter: PatternRewriter, /) -> None:
        rewriter.replace(op, llvm.FMAOp(op.lhs, op.rhs, op.acc))


class LowerShuffle(RewritePattern):
    """vector.shuffle of two 1-D vectors -> llvm.shufflevector (the same lane picks)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: vector.ShuffleOp, rewriter: PatternRewriter, /) -> None:
        if op.v1.type != op.v2.type or not isa(op.v1.type, VectorType[Attribute]):
            raise op_error(op, "only shuffles of two vectors of one type are supported")
        if op.v1.type.get_num_dims() != 1:
            raise op_error(op, "only 1-D vectors are supported")
        mask = DenseArrayBase.from_list(i32, list(op.mask.get_values()))
        rewriter.replace(op, llvm.ShuffleVectorOp(op.v1, op.v2, mask, op.result.type))


_MEMORY_OPS = (vector.LoadOp, vector.StoreOp, vector.MaskedLoadOp, vector.MaskedStoreOp)


class RejectRemainingVectorOp(RewritePattern):
    """Memory ops are convert-memref-to-llvm's; any other vector op left is unsupported."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if op.dialect_name() == "vector" and not isinstance(op, _MEMORY_OPS):
            raise op_error(op, "no lowering to the llvm dialect")


# the pattern lists

VECTOR_MEMORY_PATTERNS: list[tuple[OpClasses, RewritePattern]] = [
    (vector.LoadOp, LowerVectorLoad()),
    (vector.StoreOp, LowerVectorStore()),
    (vector.MaskedLoadOp, LowerMaskedLoad()),
    (vector.MaskedStoreOp, LowerMaskedStore()),
]
"""Applied by convert-memref-to-llvm, where the memref operands are still typed."""

VECTOR_PATTERNS: list[tuple[OpClasses, RewritePattern]] = [
    (vector.BroadcastOp, LowerBroadcast()),
    (vector.FMAOp, LowerFma()),
    (vector.ShuffleOp, LowerShuffle()),
    (Operation, RejectRemainingVectorOp()),
]


# the pass


@dataclass(frozen=True)
class ConvertVectorToLlvmPass(ModulePass):
    """Lower the vector dialect's register ops to the llvm dialect.

    Input: 1-D vectors of scalars: `vector.broadcast` of a scalar, `vector.fma`,
    `vector.shuffle` of two vectors of one type. Vector loads
    and stores (masked ones too, to `llvm.masked.load` / `llvm.masked.store`) are lowered
    earlier by convert-memref-to-llvm (they address memrefs); arith and math on vector types
    by their own conversions.
    Output: `llvm.insertelement` + `llvm.shufflevector` (a splat), `llvm.intr.fma`,
    `llvm.shufflevector`. Any other
    vector op is an error naming it.
    """

    name = "convert-vector-to-llvm"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        dispatch_walker(VECTOR_PATTERNS).rewrite_module(op)
