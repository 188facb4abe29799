"""bufferize: linalg on tensors to linalg on memrefs, in destination-passing style.

The rewrite is the classic dialect-conversion bufferization: each tensor op becomes memref ops
and a `bufferization.to_tensor` of its result buffer, each tensor operand is read through
`bufferization.to_buffer`, and the pairs cancel once every op is converted.

Where a value may be written in place is decided before any rewrite, on the tensor IR, by
`BufferAnalysis`: tensors that share one buffer (an allocation and its in-place updates and
reshape views) form an alias class; an op may write into its destination's buffer only when no
member of that class is read later, or read by the op itself through another operand, and the
class is not an input, a weight or a constant. Otherwise the destination is copied into a fresh
buffer first. Each tensor.empty is split per use beforehand, since its contents are undefined
and sharing it would force copies.

A slice (`tensor.extract_slice`) is copied out of a `memref.subview` into a fresh buffer, so
that every buffer downstream is contiguous with the identity layout, as later stages assume.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from xdsl.context import Context
from xdsl.dialects import arith, bufferization, func, memref, tensor
from xdsl.dialects.builtin import (
    ArrayAttr,
    DenseIntOrFPElementsAttr,
    FunctionType,
    IntegerAttr,
    MemRefType,
    ModuleOp,
    StringAttr,
    TensorType,
    i8,
    i64,
)
from xdsl.dialects.linalg.abstract_ops import LinalgStructuredOperation
from xdsl.ir import Attribute, Block, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.rewriter import InsertPoint
from xdsl.utils.exceptions import DiagnosticException
from xdsl.utils.hints import isa

from ..dialects.nn.base import dense_to_numpy
from ..dialects.nn.constants import WeightOp
from ..dialects.nn.weights import WeightStore
from ..lowering.locations import LocatedPattern

NUM_INPUTS = "terrace.num_inputs"
NUM_OUTPUTS = "terrace.num_outputs"
WEIGHTS = "terrace.weights"
WORKSPACE_BYTES = "terrace.workspace_bytes"

# ---------------------------------------------------------------------------------------------
# Helpers.


def _error(op: Operation, reason: str) -> DiagnosticException:
    return DiagnosticException(f"bufferize: cannot bufferize {op.name} at {op.location}: {reason}")


def memref_of(tensor_type: Attribute) -> MemRefType[Attribute]:
    """The contiguous identity-layout memref type holding a tensor of `tensor_type`."""
    assert isa(tensor_type, TensorType[Attribute])
    return MemRefType(tensor_type.element_type, tensor_type.get_shape())


def _enclosing_function(op: Operation) -> func.FuncOp:
    parent = op.parent_op()
    while parent is not None and not isinstance(parent, func.FuncOp):
        parent = parent.parent_op()
    assert parent is not None, f"{op.name} is not inside a func.func"
    return parent


def _int_attr(function: func.FuncOp, name: str) -> int:
    attr = function.attributes[name]
    assert isa(attr, IntegerAttr)
    return attr.value.data


def output_argument(op: Operation, index: int) -> SSAValue:
    """The `index`-th output buffer argument of the function that holds `op`."""
    function = _enclosing_function(op)
    return function.args[_int_attr(function, NUM_INPUTS) + index]


def weight_argument(op: Operation, name: str) -> SSAValue:
    """The argument of the function that holds `op` bound to the weight `name`."""
    function = _enclosing_function(op)
    names = function.attributes[WEIGHTS]
    assert isa(names, ArrayAttr[StringAttr])
    first = _int_attr(function, NUM_INPUTS) + _int_attr(function, NUM_OUTPUTS)
    return function.args[first + [n.data for n in names.data].index(name)]


def _buffer_of(value: SSAValue, rewriter: PatternRewriter, before: Operation) -> SSAValue:
    """The buffer holding tensor `value`: the operand of its to_tensor, or a to_buffer of it."""
    if isinstance(value.owner, bufferization.ToTensorOp):
        return value.owner.memref
    to_buffer = bufferization.ToBufferOp.build(
        operands=[value], result_types=[memref_of(value.type)]
    )
    rewriter.insert(to_buffer, InsertPoint.before(before))
    return to_buffer.memref


def _static_slice(op: tensor.ExtractSliceOp | tensor.InsertSliceOp) -> tuple[list[int], ...]:
    if op.offsets or op.sizes or op.strides:
        raise _error(op, "dynamic offsets, sizes or strides")
    return (
        list(op.static_offsets.get_values()),
        list(op.static_sizes.get_values()),
        list(op.static_strides.get_values()),
    )


def _subview(
    op: tensor.ExtractSliceOp | tensor.InsertSliceOp, source: SSAValue, slice_type: Attribute
) -> memref.SubviewOp:
    """A subview of `source` at `op`'s static slice, rank-reduced to `slice_type`'s shape."""
    offsets, sizes, strides = _static_slice(op)
    assert isa(source.type, MemRefType[Attribute]) and isa(slice_type, TensorType[Attribute])
    reduce_rank = slice_type.get_num_dims() < source.type.get_num_dims()
    view = memref.SubviewOp.from_static_parameters(
        source, source.type, offsets, sizes, strides, reduce_rank=reduce_rank
    )
    assert isa(view.result.type, MemRefType[Attribute])
    if tuple(view.result.type.get_shape()) != tuple(slice_type.get_shape()):
        raise _error(op, "a rank reduction that drops other than all unit dimensions")
    return view


def _top_level_user(op: Operation, block: Block) -> Operation:
    """The ancestor of `op` (or `op`) that sits directly in `block`."""
    while op.parent_block() is not block:
        parent = op.parent_op()
        assert parent is not None
        op = parent
    return op


def _split_shared_empties(function: func.FuncOp) -> None:
    """One tensor.empty per use: its contents are undefined, so users need not share it."""
    for empty in [op for op in function.walk() if isinstance(op, tensor.EmptyOp)]:
        for use in list(empty.tensor.uses)[1:]:
            clone = empty.clone()
            clone.tensor.name_hint = empty.tensor.name_hint
            assert empty.parent is not None
            empty.parent.insert_op_before(clone, empty)
            use.operation.operands[use.index] = clone.tensor


@dataclass
class _AliasClass:
    """Tensor values that live in one buffer; `root` is the value whose op creates it."""

    root: SSAValue
    read_only: bool
    members: list[SSAValue] = field(default_factory=list[SSAValue])


@dataclass
class BufferAnalysis:
    """Which results reuse their destination's buffer, and which buffers are output arguments.

    Computed on a function's tensor IR (a single block) before the rewrite.
    """

    in_place: set[SSAValue] = field(default_factory=set[SSAValue])
    """Results written into the buffer of their destination operand (no copy)."""
    outputs: dict[SSAValue, int] = field(default_factory=dict[SSAValue, int])
    """Results that create a fresh buffer, mapped to the function result they become."""
    returned_in_place: set[int] = field(default_factory=set[int])
    """Function results already in their output buffer at the return (no copy there)."""
    _classes: dict[SSAValue, _AliasClass] = field(default_factory=dict[SSAValue, _AliasClass])
    _position: dict[Operation, int] = field(default_factory=dict[Operation, int])

    @staticmethod
    def of(function: func.FuncOp) -> BufferAnalysis:
        analysis = BufferAnalysis()
        block = function.body.block
        analysis._position = {op: index for index, op in enumerate(block.ops)}
        for argument in block.args:
            analysis._new_class(argument, read_only=True)
        for op in block.ops:
            analysis._visit(op)
        return_op = block.last_op
        assert isinstance(return_op, func.ReturnOp)
        analysis._place_results(return_op)
        return analysis

    def _new_class(self, value: SSAValue, read_only: bool = False) -> None:
        self._classes[value] = _AliasClass(value, read_only, [value])

    def _join(self, value: SSAValue, alias_of: SSAValue) -> None:
        alias_class = self._classes[alias_of]
        alias_class.members.append(value)
        self._classes[value] = alias_class

    def _visit(self, op: Operation) -> None:
        if isinstance(op, tensor.EmptyOp | tensor.ExtractSliceOp):
            self._new_class(op.results[0])
        elif isinstance(op, WeightOp | arith.ConstantOp) and isinstance(
            op.results[0].type, TensorType
        ):
            self._new_class(op.results[0], read_only=True)
        elif isinstance(op, tensor.CollapseShapeOp | tensor.ExpandShapeOp):
            self._join(op.result, op.src)
        elif isinstance(op, tensor.InsertSliceOp):
            self._write(op, op.dest, 1, op.result)
        elif isinstance(op, LinalgStructuredOperation):
            first = len(op.inputs)
            for index, (init, result) in enumerate(zip(op.outputs, op.results, strict=True)):
                self._write(op, init, first + index, result)
        elif any(isinstance(result.type, TensorType) for result in op.results):
            raise _error(op, "not an op of linalg on tensors (docs/pipeline.md, stage 2)")

    def _write(self, op: Operation, destination: SSAValue, operand: int, result: SSAValue) -> None:
        if self._can_write(op, destination, operand):
            self.in_place.add(result)
            self._join(result, destination)
        else:
            self._new_class(result)

    def _can_write(self, op: Operation, destination: SSAValue, operand: int) -> bool:
        """Whether `op` may overwrite `destination`'s buffer, its operand number `operand`."""
        alias_class = self._classes[destination]
        if alias_class.read_only:
            return False
        position = self._position[op]
        block = op.parent_block()
        assert block is not None
        for member in alias_class.members:
            for use in member.uses:
                if use.operation is op and use.index == operand:
                    continue
                # a read by the op itself (another operand, a tensor.extract in its body) or later
                if self._position[_top_level_user(use.operation, block)] >= position:
                    return False
        return True

    def _place_results(self, return_op: func.ReturnOp) -> None:
        """Fresh buffers that hold a function result become its output argument."""
        for index, value in enumerate(return_op.arguments):
            alias_class = self._classes[value]
            root = alias_class.root
            if alias_class.read_only or root.type != value.type or root in self.outputs:
                continue
            self.outputs[root] = index
            self.returned_in_place.add(index)


def _fresh_buffer(
    analysis: BufferAnalysis, result: SSAValue, rewriter: PatternRewriter, before: Operation
) -> SSAValue:
    """A new buffer for `result`: its output argument when it holds a function result, else an
    allocation."""
    output = analysis.outputs.get(result)
    if output is not None:
        return output_argument(before, output)
    alloc = memref.AllocOp([], [], memref_of(result.type))
    rewriter.insert(alloc, InsertPoint.before(before))
    return alloc.memref


def _destination_buffer(
    analysis: BufferAnalysis,
    destination: SSAValue,
    result: SSAValue,
    rewriter: PatternRewriter,
    before: Operation,
) -> SSAValue:
    """The buffer `before` writes `result` into: the destination's own buffer when the analysis
    allows, else a fresh copy of it."""
    buffer = _buffer_of(destination, rewriter, before)
    if result in analysis.in_place:
        return buffer
    fresh = _fresh_buffer(analysis, result, rewriter, before)
    rewriter.insert(memref.CopyOp(buffer, fresh), InsertPoint.before(before))
    return fresh


def _weight_types(function: func.FuncOp) -> dict[str, Attribute]:
    """The tensor type of each weight name, in the order of first use."""
    weights: dict[str, Attribute] = {}
    for op in function.walk():
        if not isinstance(op, WeightOp):
            continue
        known = weights.setdefault(op.ref.data, op.output.type)
        if known != op.output.type:
            raise _error(
                op, f"weight {op.ref.data!r} is used with types {known} and {op.output.type}"
            )
    return weights


def _rewrite_signature(function: func.FuncOp) -> None:
    """(tensors...) -> (tensors...) becomes (inputs, outputs, weights, workspace) -> ()."""
    block = function.body.block
    output_types = function.function_type.outputs.data
    to_tensors: list[Operation] = []
    for argument in list(block.args):
        new_argument = block.insert_arg(memref_of(argument.type), argument.index)
        new_argument.name_hint = argument.name_hint
        to_tensor = bufferization.ToTensorOp(new_argument)
        argument.replace_all_uses_with(to_tensor.tensor)
        block.erase_arg(argument)
        to_tensors.append(to_tensor)
    first_op = block.first_op
    assert first_op is not None, "a function body ends with its return"
    block.insert_ops_before(to_tensors, first_op)
    num_inputs = len(block.args)
    for index, output_type in enumerate(output_types):
        block.insert_arg(memref_of(output_type), len(block.args)).name_hint = f"out_{index}"
    weights = _weight_types(function)
    for index, weight_type in enumerate(weights.values()):
        block.insert_arg(memref_of(weight_type), len(block.args)).name_hint = f"w_{index}"
    block.insert_arg(MemRefType(i8, [0]), len(block.args)).name_hint = "workspace"
    function.function_type = FunctionType.from_lists([a.type for a in block.args], [])
    function.attributes[NUM_INPUTS] = IntegerAttr(num_inputs, i64)
    function.attributes[NUM_OUTPUTS] = IntegerAttr(len(output_types), i64)
    function.attributes[WEIGHTS] = ArrayAttr([StringAttr(name) for name in weights])
    function.attributes[WORKSPACE_BYTES] = IntegerAttr(0, i64)


def _erase_unused_to_tensors(function: func.FuncOp) -> None:
    for op in reversed(list(function.body.block.ops)):
        if isinstance(op, bufferization.ToTensorOp) and not op.tensor.uses:
            function.body.block.erase_op(op)


def _check_bufferized(function: func.FuncOp) -> None:
    for op in function.walk():
        values = [*op.operands, *op.results]
        if isinstance(op, bufferization.ToTensorOp | bufferization.ToBufferOp) or any(
            isinstance(value.type, TensorType) for value in values
        ):
            raise _error(op, "a tensor is left after bufferization")


# ---------------------------------------------------------------------------------------------
# Patterns.


class DenseConstantToWeight(RewritePattern):
    """arith.constant dense<...> : tensor -> nn.weight of a new array in the module's store."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: arith.ConstantOp, rewriter: PatternRewriter, /):
        if not isinstance(op.value, DenseIntOrFPElementsAttr):
            return
        array = dense_to_numpy(op.value)
        name = WeightStore.of(op).add("constant", array)
        rewriter.replace(op, WeightOp(name, op.result.type))


class WeightToArgument(RewritePattern):
    """nn.weight "name" -> the function argument bound to "name"."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: WeightOp, rewriter: PatternRewriter, /):
        rewriter.replace(op, bufferization.ToTensorOp(weight_argument(op, op.ref.data)))


@dataclass
class EmptyToBuffer(RewritePattern):
    """tensor.empty -> memref.alloc, or the output argument when it becomes a result."""

    analysis: BufferAnalysis

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: tensor.EmptyOp, rewriter: PatternRewriter, /):
        if op.dynamic_sizes:
            raise _error(op, "dynamic shapes")
        buffer = _fresh_buffer(self.analysis, op.tensor, rewriter, op)
        rewriter.replace(op, bufferization.ToTensorOp(buffer))


@dataclass
class LinalgOnBuffers(RewritePattern):
    """A linalg op on tensors -> the same op on buffers, writing into its inits' buffers."""

    analysis: BufferAnalysis

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: LinalgStructuredOperation, rewriter: PatternRewriter, /):
        if not op.results:
            return
        inputs = [
            _buffer_of(value, rewriter, op) if isinstance(value.type, TensorType) else value
            for value in op.inputs
        ]
        outputs = [
            _destination_buffer(self.analysis, init, result, rewriter, op)
            for init, result in zip(op.outputs, op.results, strict=True)
        ]
        on_buffers = type(op).create(
            operands=[*inputs, *outputs],
            result_types=[],
            properties=dict(op.properties),
            attributes=dict(op.attributes),
            regions=[op.detach_region(op.body)],
        )
        on_buffers.location = op.location
        to_tensors = [bufferization.ToTensorOp(buffer) for buffer in outputs]
        rewriter.replace(op, [on_buffers, *to_tensors], [t.tensor for t in to_tensors])


class CollapseShapeToView(RewritePattern):
    """tensor.collapse_shape -> memref.collapse_shape (a view of the same buffer)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: tensor.CollapseShapeOp, rewriter: PatternRewriter, /):
        view = memref.CollapseShapeOp.build(
            operands=[_buffer_of(op.src, rewriter, op)],
            result_types=[memref_of(op.result.type)],
            properties={"reassociation": op.reassociation},
        )
        rewriter.replace(op, [view, bufferization.ToTensorOp(view.result)])


class ExpandShapeToView(RewritePattern):
    """tensor.expand_shape -> memref.expand_shape (a view of the same buffer)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: tensor.ExpandShapeOp, rewriter: PatternRewriter, /):
        if op.dynamic_output_shape:
            raise _error(op, "dynamic shapes")
        view = memref.ExpandShapeOp.build(
            operands=[_buffer_of(op.src, rewriter, op), []],
            result_types=[memref_of(op.result.type)],
            properties={
                "reassociation": op.reassociation,
                "static_output_shape": op.static_output_shape,
            },
        )
        rewriter.replace(op, [view, bufferization.ToTensorOp(view.result)])


@dataclass
class ExtractSliceToCopy(RewritePattern):
    """tensor.extract_slice -> a copy of a memref.subview into a fresh contiguous buffer."""

    analysis: BufferAnalysis

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: tensor.ExtractSliceOp, rewriter: PatternRewriter, /):
        view = _subview(op, _buffer_of(op.source, rewriter, op), op.result.type)
        rewriter.insert(view, InsertPoint.before(op))
        buffer = _fresh_buffer(self.analysis, op.result, rewriter, op)
        rewriter.replace(op, [memref.CopyOp(view, buffer), bufferization.ToTensorOp(buffer)])


@dataclass
class InsertSliceToCopy(RewritePattern):
    """tensor.insert_slice -> a copy of the source into a memref.subview of the destination."""

    analysis: BufferAnalysis

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: tensor.InsertSliceOp, rewriter: PatternRewriter, /):
        source = _buffer_of(op.source, rewriter, op)
        buffer = _destination_buffer(self.analysis, op.dest, op.result, rewriter, op)
        view = _subview(op, buffer, op.source.type)
        copy = memref.CopyOp(source, view)
        rewriter.replace(op, [view, copy, bufferization.ToTensorOp(buffer)])


class ExtractToLoad(RewritePattern):
    """tensor.extract (in a linalg.generic body) -> memref.load of the tensor's buffer."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: tensor.ExtractOp, rewriter: PatternRewriter, /):
        buffer = _buffer_of(op.tensor, rewriter, op)
        rewriter.replace(op, memref.LoadOp.get(buffer, op.indices))


@dataclass
class ReturnIntoOutputs(RewritePattern):
    """func.return %results -> copies of the results not already in their output buffers, then
    a return without operands."""

    analysis: BufferAnalysis

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: func.ReturnOp, rewriter: PatternRewriter, /):
        if not op.arguments:
            return
        copies: list[Operation] = []
        for index, value in enumerate(op.arguments):
            if index in self.analysis.returned_in_place:
                continue
            copies.append(
                memref.CopyOp(_buffer_of(value, rewriter, op), output_argument(op, index))
            )
        rewriter.replace(op, [*copies, func.ReturnOp()])


class FoldBufferOfTensor(RewritePattern):
    """to_buffer(to_tensor(%m)) -> %m."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: bufferization.ToBufferOp, rewriter: PatternRewriter, /):
        if isinstance(op.tensor.owner, bufferization.ToTensorOp):
            rewriter.replace(op, [], [op.tensor.owner.memref])


# ---------------------------------------------------------------------------------------------
# The pattern list and the pass.


def bufferize_patterns(analysis: BufferAnalysis) -> Sequence[RewritePattern]:
    return (
        WeightToArgument(),
        EmptyToBuffer(analysis),
        LinalgOnBuffers(analysis),
        CollapseShapeToView(),
        ExpandShapeToView(),
        ExtractSliceToCopy(analysis),
        InsertSliceToCopy(analysis),
        ExtractToLoad(),
        ReturnIntoOutputs(analysis),
        FoldBufferOfTensor(),
    )


@dataclass(frozen=True)
class BufferizePass(ModulePass):
    """Bufferizes linalg on tensors to linalg on memrefs in destination-passing style.

    Input: docs/pipeline.md stage 2, every func.func (normally @main) one block of linalg on
    tensors with static shapes. Output: stage 3 before memory planning:
    `@main(%inputs..., %out_0.., %w_0.., %workspace: memref<0xi8>)` without results and with
    terrace.num_inputs, terrace.num_outputs, terrace.weights (store names of the %w arguments)
    and terrace.workspace_bytes = 0. nn.weight ops become arguments (one per name), dense tensor
    constants become new weights in the module's store, tensor.empty becomes memref.alloc or the
    output buffer it flows to, linalg ops write into their inits' buffers (copied first when still
    read later), reshapes become memref views, slices are copied out of (extract_slice) or into
    (insert_slice) a memref.subview, tensor.extract becomes memref.load; results not computed in
    place are copied into their output buffers at the return.
    Options: none.
    """

    name = "bufferize"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(DenseConstantToWeight(), apply_recursively=False).rewrite_module(op)
        for function in [f for f in op.walk() if isinstance(f, func.FuncOp)]:
            if function.is_declaration:
                continue
            _split_shared_empties(function)
            analysis = BufferAnalysis.of(function)
            _rewrite_signature(function)
            patterns = GreedyRewritePatternApplier(list(bufferize_patterns(analysis)))
            # copies and views keep the location (ONNX node) of the op they bufferize
            PatternRewriteWalker(LocatedPattern(patterns)).rewrite_region(function.body)
            _erase_unused_to_tensors(function)
            _check_bufferized(function)
