"""memory-plan: every intermediate buffer becomes a view into one workspace arena.

A buffer is live from its memref.alloc to its last use in the straight-line order of the
function's block, a use through a view (collapse_shape, expand_shape, subview, ...) or inside a
nested region (a memref.load in a linalg.generic body) counting as a use of the buffer at the
top-level op that holds it. Buffers are placed largest first, each at the lowest aligned offset
of the tightest gap left by the placed buffers whose live ranges overlap its own (best fit), so
buffers that are never live together share bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import arith, func, memref
from xdsl.dialects.builtin import (
    IndexType,
    IntegerAttr,
    MemRefType,
    ModuleOp,
    PackableType,
    i8,
    i64,
)
from xdsl.ir import Attribute, Block, BlockArgument, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.utils.exceptions import DiagnosticException
from xdsl.utils.hints import isa

from .bufferize import WORKSPACE_BYTES

# ---------------------------------------------------------------------------------------------
# Helpers.


@dataclass(frozen=True)
class PlannedBuffer:
    """One memref.alloc: its size in bytes, its live range (op positions, both ends included)
    and its byte offset in the workspace."""

    alloc: memref.AllocOp
    size: int
    first: int
    last: int
    offset: int

    def live_with(self, other: PlannedBuffer) -> bool:
        return self.first <= other.last and other.first <= self.last

    def overlaps(self, other: PlannedBuffer) -> bool:
        """Whether the two share a byte of the workspace."""
        return self.offset < other.offset + other.size and other.offset < self.offset + self.size


@dataclass(frozen=True)
class MemoryPlan:
    """Where each buffer of a function lives in the workspace, and the workspace's size."""

    buffers: tuple[PlannedBuffer, ...]
    peak_bytes: int
    alignment: int

    def offset_of(self, alloc: memref.AllocOp) -> int:
        return next(buffer.offset for buffer in self.buffers if buffer.alloc is alloc)

    @property
    def naive_bytes(self) -> int:
        """The workspace size without reuse: every buffer in its own aligned slot."""
        return sum(_align(buffer.size, self.alignment) for buffer in self.buffers)


def _align(value: int, alignment: int) -> int:
    return -(-value // alignment) * alignment


def _byte_size(memref_type: MemRefType[Attribute], op: Operation) -> int:
    element = memref_type.element_type
    if isinstance(element, IndexType):
        element_bytes = 8  # the host's index width (docs/pipeline.md, stage 5)
    elif isinstance(element, PackableType):
        element_bytes = element.compile_time_size
    else:
        raise DiagnosticException(f"memory-plan: {op.name} at {op.location}: no size for {element}")
    if not memref_type.has_static_shape():
        raise DiagnosticException(f"memory-plan: {op.name} at {op.location}: dynamic shape")
    return memref_type.element_count() * element_bytes


def _top_level(op: Operation, block: Block) -> Operation:
    while op.parent_block() is not block:
        parent = op.parent_op()
        assert parent is not None
        op = parent
    return op


def _last_use(value: SSAValue, block: Block, position: dict[Operation, int]) -> int:
    """The position of the last top-level op that uses `value` or a view of it."""
    last = -1
    for use in value.uses:
        user = _top_level(use.operation, block)
        last = max(last, position[user])
        for result in use.operation.results:
            if isinstance(result.type, MemRefType):  # a view of the buffer
                last = max(last, _last_use(result, block, position))
    return last


def _place(size: int, busy: list[tuple[int, int]], alignment: int) -> int:
    """The aligned offset of the tightest gap between the `busy` byte ranges that fits `size`,
    or the first aligned offset past them all."""
    best: tuple[int, int] | None = None  # (gap size, offset)
    cursor = 0
    for start, end in sorted(busy):
        if start - cursor >= size:
            gap = (start - cursor, cursor)
            best = gap if best is None else min(best, gap)
        cursor = max(cursor, _align(end, alignment))
    return cursor if best is None else best[1]


def plan_function(function: func.FuncOp, alignment: int = 64, reserved: int = 0) -> MemoryPlan:
    """Offsets for the memref.allocs of `function`'s block; nested allocs are not planned. The
    first `reserved` bytes are taken for the whole function (views an earlier plan made)."""
    block = function.body.block
    position = {op: index for index, op in enumerate(block.ops)}
    unplaced = [
        (op, _byte_size(op.memref.type, op), position[op], _last_use(op.memref, block, position))
        for op in block.ops
        if isinstance(op, memref.AllocOp)
    ]
    # largest first, then earliest: big buffers get the low offsets and small ones fill gaps
    unplaced.sort(key=lambda entry: (-entry[1], entry[2]))
    placed: list[PlannedBuffer] = []
    for alloc, size, first, last in unplaced:
        candidate = PlannedBuffer(alloc, size, first, max(first, last), 0)
        busy = [(b.offset, b.offset + b.size) for b in placed if b.live_with(candidate)]
        busy += [(0, reserved)] if reserved else []
        offset = _place(size, busy, alignment) if size else 0
        placed.append(PlannedBuffer(alloc, size, first, max(first, last), offset))
    peak = max((b.offset + b.size for b in placed), default=reserved)
    return MemoryPlan(tuple(sorted(placed, key=lambda b: b.first)), peak, alignment)


def plan(module: ModuleOp, alignment: int = 64) -> MemoryPlan:
    """The memory plan of the module's @main (or of its only function)."""
    functions = [op for op in module.ops if isinstance(op, func.FuncOp) and not op.is_declaration]
    main = [f for f in functions if f.sym_name.data == "main"] or functions
    if len(main) != 1:
        raise DiagnosticException("memory-plan: the module has no @main and several functions")
    return plan_function(main[0], alignment)


def _workspace(function: func.FuncOp) -> BlockArgument:
    """The last argument, a 1-d memref of i8 (docs/pipeline.md, stage 3)."""
    args = function.args
    if not args or not isa(args[-1].type, MemRefType) or args[-1].type.element_type != i8:
        raise DiagnosticException(
            f"memory-plan: @{function.sym_name.data} has no workspace argument; run bufferize first"
        )
    return args[-1]


def _bytes_in_use(workspace: BlockArgument) -> int:
    """The workspace's current size when something already views it, else 0."""
    if not workspace.uses:
        return 0
    workspace_type = workspace.type
    assert isa(workspace_type, MemRefType)
    return workspace_type.get_shape()[0]


def _resize_workspace(function: func.FuncOp, size: int) -> None:
    block = function.body.block
    old = _workspace(function)
    new = block.insert_arg(MemRefType(i8, [size]), len(block.args))
    new.name_hint = old.name_hint
    old.replace_all_uses_with(new)
    block.erase_arg(old)
    function.update_function_type()
    function.attributes[WORKSPACE_BYTES] = IntegerAttr(size, i64)


# ---------------------------------------------------------------------------------------------
# Patterns.


@dataclass
class AllocToWorkspaceView(RewritePattern):
    """memref.alloc -> memref.view of the workspace at the buffer's planned byte offset."""

    plan: MemoryPlan
    workspace: SSAValue

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: memref.AllocOp, rewriter: PatternRewriter, /):
        if op.parent_block() is not self.workspace.owner:
            return
        offset = arith.ConstantOp(IntegerAttr(self.plan.offset_of(op), IndexType()))
        offset.result.name_hint = "offset"
        view = memref.ViewOp(self.workspace, offset, [], op.memref.type)
        rewriter.replace(op, [offset, view])


class EraseDealloc(RewritePattern):
    """memref.dealloc -> nothing: the workspace outlives every buffer in it."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: memref.DeallocOp, rewriter: PatternRewriter, /):
        rewriter.erase(op)


# ---------------------------------------------------------------------------------------------
# The pattern list and the pass.


@dataclass(frozen=True)
class MemoryPlanPass(ModulePass):
    """Places every intermediate buffer in one workspace arena, sharing bytes between buffers
    that are never live together.

    Input: stage 3 of docs/pipeline.md after bufferize: functions whose last argument is the
    workspace (a memref of i8) and whose buffers are memref.alloc ops with static shapes in the
    function's block. Output: each such alloc is a memref.view of the workspace at a byte offset
    (a multiple of `alignment`) chosen by a best-fit interval allocator over live ranges
    (`plan()`); the workspace argument is memref<Bxi8> with B the peak, also set as
    terrace.workspace_bytes; memref.dealloc ops are gone.
    Options: alignment: the byte alignment of every buffer (default 64).
    """

    name = "memory-plan"

    alignment: int = 64

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        if self.alignment <= 0:
            raise DiagnosticException("memory-plan: alignment must be positive")
        for function in [f for f in op.ops if isinstance(f, func.FuncOp)]:
            if function.is_declaration:
                continue
            workspace = _workspace(function)
            # a function planned before keeps its views: new buffers go above them, and the
            # workspace never shrinks below them (memory-plan applied twice is safe)
            memory_plan = plan_function(function, self.alignment, _bytes_in_use(workspace))
            patterns: list[RewritePattern] = [
                AllocToWorkspaceView(memory_plan, workspace),
                EraseDealloc(),
            ]
            PatternRewriteWalker(
                GreedyRewritePatternApplier(patterns), apply_recursively=False
            ).rewrite_region(function.body)
            _resize_workspace(function, memory_plan.peak_bytes)
