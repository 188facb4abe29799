"""scf.parallel to a libgomp parallel region, as GCC lowers `#pragma omp parallel for
schedule(static)`: the loop body is outlined into a function that runs one thread's share of
the iterations, and the loop becomes a call of `GOMP_parallel` with that function and a packed
struct of the values the body captures."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from xdsl.builder import Builder
from xdsl.context import Context
from xdsl.dialects import arith, func, llvm, scf
from xdsl.dialects.builtin import (
    FunctionType,
    IndexType,
    IntegerAttr,
    ModuleOp,
    StringAttr,
    i32,
    i64,
)
from xdsl.ir import Block, BlockArgument, Operation, OpResult, Region, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter
from xdsl.traits import ConstantLike

from ...lowering.llvm_common import declare_external_function, op_error

PARALLEL_ENTRY = "GOMP_parallel"
THREAD_NUM = "omp_get_thread_num"
NUM_THREADS = "omp_get_num_threads"
OUTLINED_SUFFIX = "_parallel_"
MIN_PARALLEL_WORK = 1 << 14
"""Operations (the loop nest's, as the pass sees them: index arithmetic, loads, stores,
vector ops) below which an scf.parallel runs on the calling thread alone. Waking the team and
joining it costs about 1 us with spinning threads on the 2-core Zen 4 (more when the machine
is busy); 2^14 operations take 3 to 6 us on one thread, so below it the second thread saves
less than its fork and join cost (docs/pipeline.md)."""

# helpers


def _outermost_parallel_loops(module: ModuleOp) -> list[scf.ParallelOp]:
    """scf.parallel ops with no scf.parallel around them; those inside stay sequential."""
    loops: list[scf.ParallelOp] = []
    for op in module.walk():
        if not isinstance(op, scf.ParallelOp):
            continue
        ancestor = op.parent_op()
        while ancestor is not None and not isinstance(ancestor, scf.ParallelOp):
            ancestor = ancestor.parent_op()
        if ancestor is None:
            loops.append(op)
    return loops


def _defined_inside(value: SSAValue, op: Operation) -> bool:
    if isinstance(value, OpResult):
        return op.is_ancestor(value.op)
    assert isinstance(value, BlockArgument)
    return op.is_ancestor(value.block)


def _captured_values(op: scf.ParallelOp) -> list[SSAValue]:
    """The values the loop (bounds included) uses but does not define, in order of first use."""
    captured: dict[SSAValue, None] = {}
    for nested in op.walk():
        for operand in nested.operands:
            if not _defined_inside(operand, op):
                captured.setdefault(operand)
    return list(captured)


def _is_constant(value: SSAValue) -> bool:
    """Operand-free constants are cloned into the outlined function rather than passed."""
    if not isinstance(value, OpResult) or value.op.operands:
        return False
    return value.op.has_trait(ConstantLike)


def _top_level_symbol(op: Operation) -> Operation:
    """The op directly in the module's body that holds `op` (its function)."""
    while True:
        parent = op.parent_op()
        if parent is None or isinstance(parent, ModuleOp):
            return op
        op = parent


def _entry_block(function: Operation) -> Block:
    if not function.regions or not function.regions[0].blocks:
        raise op_error(function, "an scf.parallel outside a function body")
    return function.regions[0].blocks[0]


def _index_constant(builder: Builder, value: int) -> SSAValue:
    return builder.insert(arith.ConstantOp(IntegerAttr(value, IndexType()))).result


def _static_value(value: SSAValue) -> int | None:
    if isinstance(value, OpResult) and isinstance(value.op, arith.ConstantOp):
        attribute = value.op.value
        if isinstance(attribute, IntegerAttr):
            return attribute.value.data
    return None


def _trip_count(builder: Builder, lower: SSAValue, upper: SSAValue, step: SSAValue) -> SSAValue:
    """ceil(max(upper - lower, 0) / step): scf.parallel steps are positive."""
    static = [_static_value(v) for v in (lower, upper, step)]
    if static[0] is not None and static[1] is not None and static[2] is not None:
        return _index_constant(builder, max(0, -(-(static[1] - static[0]) // static[2])))
    zero = _index_constant(builder, 0)
    distance = builder.insert(arith.SubiOp(upper, lower)).result
    positive = builder.insert(arith.MaxSIOp(distance, zero)).result
    return builder.insert(arith.CeilDivUIOp(positive, step)).result


def _static_trip_count(lower: SSAValue, upper: SSAValue, step: SSAValue) -> int | None:
    bounds = [_static_value(v) for v in (lower, upper, step)]
    if bounds[0] is None or bounds[1] is None or bounds[2] is None or bounds[2] <= 0:
        return None
    return max(0, -(-(bounds[1] - bounds[0]) // bounds[2]))


def _trip_count_of(op: Operation) -> int | None:
    """Iterations of an scf.for or of all dimensions of an scf.parallel (None: not static)."""
    if isinstance(op, scf.ForOp):
        return _static_trip_count(op.lb, op.ub, op.step)
    assert isinstance(op, scf.ParallelOp)
    total = 1
    for bound in zip(op.lowerBound, op.upperBound, op.step, strict=True):
        count = _static_trip_count(*bound)
        if count is None:
            return None
        total *= count
    return total


def _block_work(block: Block) -> int | None:
    """Operations one run of `block` executes, nested loops multiplied out (an scf.if counts
    its larger branch); None when a loop's trip count or another region's is not static."""
    work = 0
    for op in block.ops:
        work += 1
        if not op.regions:
            continue
        if isinstance(op, (scf.ForOp, scf.ParallelOp)):
            trips, body = _trip_count_of(op), _block_work(op.body.block)
            if trips is None or body is None:
                return None
            work += trips * body
            continue
        if not isinstance(op, scf.IfOp):
            return None
        branches = [_block_work(b) for region in op.regions for b in region.blocks]
        if any(branch is None for branch in branches):
            return None
        work += max((branch for branch in branches if branch is not None), default=0)
    return work


def parallel_work(op: scf.ParallelOp) -> int | None:
    """The operations all iterations of `op` execute (None: not known at compile time)."""
    trips, body = _trip_count_of(op), _block_work(op.body.block)
    return None if trips is None or body is None else trips * body


def _thread_range(builder: Builder, total: SSAValue) -> tuple[SSAValue, SSAValue]:
    """[begin, end) of the calling thread's share of `total` iterations: the first
    `total % threads` threads take one more than the others (OpenMP's static schedule)."""
    index = IndexType()
    thread = builder.insert(llvm.CallOp(THREAD_NUM, return_type=i32)).results[0]
    threads = builder.insert(llvm.CallOp(NUM_THREADS, return_type=i32)).results[0]
    thread = builder.insert(arith.IndexCastOp(thread, index)).result
    threads = builder.insert(arith.IndexCastOp(threads, index)).result
    share = builder.insert(arith.DivUIOp(total, threads)).result
    extra = builder.insert(arith.RemUIOp(total, threads)).result
    earlier_extras = builder.insert(arith.MinUIOp(thread, extra)).result
    start = builder.insert(arith.MuliOp(thread, share)).result
    begin = builder.insert(arith.AddiOp(start, earlier_extras)).result
    takes_extra = builder.insert(arith.CmpiOp(thread, extra, "ult")).result
    one = _index_constant(builder, 1)
    zero = _index_constant(builder, 0)
    one_more = builder.insert(arith.SelectOp(takes_extra, one, zero)).result
    size = builder.insert(arith.AddiOp(share, one_more)).result
    end = builder.insert(arith.AddiOp(begin, size)).result
    return begin, end


def _delinearize(
    builder: Builder,
    linear: SSAValue,
    trip_counts: Sequence[SSAValue],
    lowers: Sequence[SSAValue],
    steps: Sequence[SSAValue],
) -> list[SSAValue]:
    """The induction variables of the iteration numbered `linear` (row-major over the trip
    counts, the first dimension slowest); dimensions of one static iteration cost no
    division."""
    ivs: list[SSAValue] = []
    rest = linear
    for dimension in reversed(range(len(trip_counts))):
        count = trip_counts[dimension]
        if _static_value(count) == 1:
            position = _index_constant(builder, 0)
        elif all(_static_value(outer) == 1 for outer in trip_counts[:dimension]):
            position = rest
        else:
            position = builder.insert(arith.RemUIOp(rest, count)).result
            rest = builder.insert(arith.DivUIOp(rest, count)).result
        if _static_value(steps[dimension]) != 1:
            position = builder.insert(arith.MuliOp(position, steps[dimension])).result
        if _static_value(lowers[dimension]) != 0:
            position = builder.insert(arith.AddiOp(lowers[dimension], position)).result
        ivs.append(position)
    return ivs[::-1]


def _unpack(
    builder: Builder, data: SSAValue, struct: llvm.LLVMStructType, values: Sequence[SSAValue]
) -> dict[SSAValue, SSAValue]:
    mapper: dict[SSAValue, SSAValue] = {}
    for slot, value in enumerate(values):
        address = builder.insert(llvm.GEPOp.from_mixed_indices(data, [0, slot], struct))
        mapper[value] = builder.insert(llvm.LoadOp(address, value.type)).dereferenced_value
    return mapper


def _build_outlined(
    op: scf.ParallelOp, name: str, passed: Sequence[SSAValue], constants: Sequence[SSAValue]
) -> func.FuncOp:
    """`func.func private @name(%data: !llvm.ptr)`: unpacks the passed values, runs the
    thread's contiguous share of the collapsed iteration space as one scf.for around a copy of
    the body."""
    pointer = llvm.LLVMPointerType()
    block = Block(arg_types=[pointer])
    builder = Builder(InsertPoint.at_end(block))
    struct = llvm.LLVMStructType.from_type_list([value.type for value in passed])
    mapper = _unpack(builder, block.args[0], struct, passed)
    for value in constants:
        assert isinstance(value, OpResult)
        mapper[value] = builder.insert(value.op.clone()).results[value.index]

    lowers = [mapper[v] for v in op.lowerBound]
    steps = [mapper[v] for v in op.step]
    bounds = zip(op.lowerBound, op.upperBound, op.step, strict=True)
    trip_counts = [_trip_count(builder, *(mapper[v] for v in bound)) for bound in bounds]
    total = trip_counts[0]
    for count in trip_counts[1:]:
        total = builder.insert(arith.MuliOp(total, count)).result
    begin, end = _thread_range(builder, total)

    body = Block(arg_types=[IndexType()])
    body_builder = Builder(InsertPoint.at_end(body))
    ivs = _delinearize(body_builder, body.args[0], trip_counts, lowers, steps)
    for argument, iv in zip(op.body.block.args, ivs, strict=True):
        argument.replace_all_uses_with(iv)
    # the body moves rather than being cloned (cloning every op of the loop nest was most of
    # this pass's time); its uses of captured values are redirected to the unpacked ones
    for nested in list(op.body.block.ops):
        if not isinstance(nested, scf.ReduceOp):
            nested.detach()
            body.add_op(nested)
    _redirect_operands(body, mapper)
    body.add_op(scf.YieldOp())
    builder.insert(scf.ForOp(begin, end, _index_constant(builder, 1), [], Region(body)))
    builder.insert(func.ReturnOp())
    function_type = FunctionType.from_lists([pointer], [])
    return func.FuncOp(name, function_type, Region(block), visibility="private")


def _redirect_operands(block: Block, mapper: dict[SSAValue, SSAValue]) -> None:
    """Every operand in `block` (nested regions included) that `mapper` maps is replaced."""
    for nested in block.walk():
        operands = nested.operands
        if any(operand in mapper for operand in operands):
            nested.operands = [mapper.get(operand, operand) for operand in operands]


def _pack(op: scf.ParallelOp, function: Operation, values: Sequence[SSAValue]) -> SSAValue:
    """A pointer to a struct of `values`, stored just before the loop. The struct is allocated
    in the function's entry block, so a loop around the parallel one does not grow the
    stack."""
    pointer = llvm.LLVMPointerType()
    if not values:
        null = llvm.ZeroOp(result_types=[pointer])
        Rewriter.insert_op(null, InsertPoint.before(op))
        return null.res
    struct = llvm.LLVMStructType.from_type_list([value.type for value in values])
    entry = Builder(InsertPoint.at_start(_entry_block(function)))
    one = entry.insert(llvm.ConstantOp(IntegerAttr(1, i64), i64)).result
    allocated = entry.insert(llvm.AllocaOp(one, struct, alignment=8)).res
    # xDSL's translation gives an alloca a typed pointer, through which llvmlite refuses to
    # store a field; the integer round trip makes it an opaque `ptr` (LLVM folds it away).
    address = entry.insert(llvm.PtrToIntOp(allocated)).output
    data = entry.insert(llvm.IntToPtrOp(address)).output
    builder = Builder(InsertPoint.before(op))
    for slot, value in enumerate(values):
        address = builder.insert(llvm.GEPOp.from_mixed_indices(data, [0, slot], struct))
        builder.insert(llvm.StoreOp(value, address))
    return data


def _declare_runtime(module: ModuleOp) -> None:
    pointer = llvm.LLVMPointerType()
    void = llvm.LLVMVoidType()
    declare_external_function(module, PARALLEL_ENTRY, [pointer, pointer, i32, i32], void)
    declare_external_function(module, THREAD_NUM, [], i32)
    declare_external_function(module, NUM_THREADS, [], i32)


def _fresh_name(symbols: set[str], base: str) -> str:
    index = 0
    while f"{base}{OUTLINED_SUFFIX}{index}" in symbols:
        index += 1
    name = f"{base}{OUTLINED_SUFFIX}{index}"
    symbols.add(name)
    return name


def _symbol_name(op: Operation) -> str | None:
    name = op.properties.get("sym_name", op.attributes.get("sym_name"))
    return name.data if isinstance(name, StringAttr) else None


@dataclass
class ParallelOutliner:
    """Outlines the loops of one module under fresh names; each outlined function follows
    the function it comes from."""

    symbols: set[str]

    def outline(self, op: scf.ParallelOp) -> None:
        if op.initVals:
            raise op_error(op, "reductions (scf.reduce operands) have no lowering yet")
        function = _top_level_symbol(op)
        captured = _captured_values(op)
        constants = [value for value in captured if _is_constant(value)]
        passed = [value for value in captured if not _is_constant(value)]
        name = _fresh_name(self.symbols, _symbol_name(function) or "function")
        outlined_function = _build_outlined(op, name, passed, constants)
        Rewriter.insert_op(outlined_function, InsertPoint.after(function))

        data = _pack(op, function, passed)
        builder = Builder(InsertPoint.before(op))
        outlined = builder.insert(llvm.AddressOfOp(name, llvm.LLVMPointerType())).result
        # 0 threads: as many as the calling thread's OpenMP ICV says (omp_set_num_threads)
        zero = builder.insert(llvm.ConstantOp(IntegerAttr(0, i32), i32)).result
        builder.insert(llvm.CallOp(PARALLEL_ENTRY, outlined, data, zero, zero))
        Rewriter.erase_op(op)


def _module_symbols(module: ModuleOp) -> set[str]:
    names = (_symbol_name(op) for op in module.ops)
    return {name for name in names if name is not None}


# the pass


@dataclass(frozen=True)
class ConvertScfParallelToGompPass(ModulePass):
    """Run each outermost scf.parallel on libgomp's threads.

    Input: stage 5 of docs/pipeline.md before the scf and func lowerings: memrefs are
    `!llvm.ptr` already (after convert-memref-to-llvm), functions are still `func.func`, loops
    are scf. Each scf.parallel without reductions that no other scf.parallel encloses is
    outlined into `func.func private @<function>_parallel_N(%data: !llvm.ptr)` and replaced by
    the struct of the values its body captures (operand-free constants are cloned instead;
    the struct is an `llvm.alloca` in the function's entry block, filled just before the call)
    and `llvm.call @GOMP_parallel(@<function>_parallel_N, %data, 0, 0)`: libgomp runs the
    function on every thread of the team, as many as the calling thread's OpenMP thread count
    (`omp_set_num_threads`). Each thread takes a contiguous share of the iteration space
    collapsed over all dimensions (row-major, OpenMP's static schedule: sizes differ by at
    most one), found with `omp_get_thread_num` and `omp_get_num_threads`, and runs it as one
    scf.for whose body recovers the induction variables (a dimension of one static iteration
    costs no division) and holds the loop body. scf.parallel loops nested inside stay for
    convert-scf-structured-to-cf, which runs them sequentially, as it runs an outermost
    scf.parallel whose loop nest executes fewer than `min-work` operations (its iterations times
    the ops of its body, nested loops multiplied out by their static trip counts; a dynamic
    trip count counts as enough): a parallel region costs a fork and a join that such a loop
    does not earn back on a second thread. External declarations of the three libgomp
    functions are added. An scf.parallel with reductions is an error naming the op.
    Options: min-work (operations, 2^14; 0 puts every outermost scf.parallel on threads).
    """

    name = "convert-scf-parallel-to-gomp"

    min_work: int = MIN_PARALLEL_WORK

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        loops = [loop for loop in _outermost_parallel_loops(op) if self.worth_threads(loop)]
        if not loops:
            return
        outliner = ParallelOutliner(_module_symbols(op))
        for loop in loops:
            outliner.outline(loop)
        _declare_runtime(op)

    def worth_threads(self, loop: scf.ParallelOp) -> bool:
        """Whether `loop` has the work to pay for a parallel region (unknown work has)."""
        work = parallel_work(loop)
        return work is None or work >= self.min_work
