"""memory-plan: the planned function computes what the tensor function computes, and no two
buffers that are live at the same time share a byte of the workspace."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from test_bufferize import CONV_POOL, MLP, PAD_SLICE, REDUCE_GATHER, _load, _random_inputs
from xdsl.dialects import arith, func, memref
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation, SSAValue

from terrace.dialects.context import terrace_context
from terrace.passes.bufferize import BufferizePass
from terrace.passes.memory_plan import MemoryPlan, MemoryPlanPass, plan

from memref_exec import ProgramStep, elementwise_program, run_buffers, run_tensors

# ---------------------------------------------------------------------------------------------
# Helpers.


def _bufferized(text: str, weights=None) -> ModuleOp:
    module = _load(text, weights)
    BufferizePass().apply(terrace_context(), module)
    return module


def _main(module: ModuleOp) -> func.FuncOp:
    return next(op for op in module.ops if isinstance(op, func.FuncOp))


def _live_ranges(module: ModuleOp) -> dict[memref.AllocOp, tuple[int, int]]:
    """Each alloc's (first, last) top-level position, found independently of the pass: a value
    aliases an alloc when it is the alloc or any memref result of an op taking an alias."""
    block = _main(module).body.block
    top_ops = list(block.ops)
    ranges: dict[memref.AllocOp, tuple[int, int]] = {}
    for first, alloc in enumerate(top_ops):
        if not isinstance(alloc, memref.AllocOp):
            continue
        aliases: set[SSAValue] = {alloc.memref}
        last = first
        for position, op in enumerate(top_ops[first + 1 :], start=first + 1):
            nested: list[Operation] = list(op.walk())
            if not any(operand in aliases for inner in nested for operand in inner.operands):
                continue
            last = position
            aliases.update(r for r in op.results if isinstance(r.type, memref.MemRefType))
        ranges[alloc] = (first, last)
    return ranges


def _assert_sound(module: ModuleOp, memory_plan: MemoryPlan, alignment: int = 64) -> None:
    ranges = _live_ranges(module)
    buffers = {buffer.alloc: buffer for buffer in memory_plan.buffers}
    assert set(buffers) == set(ranges)
    for alloc, (first, last) in ranges.items():
        buffer = buffers[alloc]
        assert buffer.offset % alignment == 0
        assert buffer.offset + buffer.size <= memory_plan.peak_bytes
        for other, (other_first, other_last) in ranges.items():
            if other is alloc or last < other_first or other_last < first:
                continue
            placed = buffers[other]
            disjoint = (
                buffer.offset + buffer.size <= placed.offset
                or placed.offset + placed.size <= buffer.offset
            )
            assert disjoint, f"buffers live together overlap: {buffer} and {placed}"


def _plan_and_compare(text: str, weights=None, alignment: int = 64) -> ModuleOp:
    """bufferize + memory-plan on `text`: checks the plan, the IR and the results against the
    tensor function. Returns the planned module."""
    module = _load(text, weights)
    inputs = _random_inputs(module)
    expected = run_tensors(module, inputs)
    BufferizePass().apply(terrace_context(), module)
    memory_plan = plan(module, alignment)
    _assert_sound(module, memory_plan, alignment)
    MemoryPlanPass(alignment=alignment).apply(terrace_context(), module)
    module.verify()
    main = _main(module)
    assert main.attributes["terrace.workspace_bytes"].value.data == memory_plan.peak_bytes
    assert main.args[-1].type.get_shape() == (memory_plan.peak_bytes,)
    assert not [op for op in module.walk() if isinstance(op, memref.AllocOp | memref.DeallocOp)]
    views = [op for op in module.walk() if isinstance(op, memref.ViewOp)]
    assert len(views) == len(memory_plan.buffers)
    for view, buffer in zip(views, memory_plan.buffers, strict=True):
        offset = view.byte_shift.owner
        assert isinstance(offset, arith.ConstantOp)
        assert offset.value.value.data == buffer.offset
    actual = run_buffers(module, inputs)
    for want, got in zip(expected, actual, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    return module


def _chain(length: int) -> str:
    steps = [ProgramStep("binary", (n - 1, n - 1), "arith.mulf") for n in range(1, length + 1)]
    return elementwise_program(steps, [length])


# ---------------------------------------------------------------------------------------------
# Tests.


def test_chain_reuses_buffers_and_runs():
    module = _bufferized(_chain(6))
    memory_plan = plan(module)
    # five intermediates of 24 bytes; two slots suffice for a chain
    assert len(memory_plan.buffers) == 5
    assert memory_plan.peak_bytes == 64 + 24 < memory_plan.naive_bytes == 5 * 64
    _plan_and_compare(_chain(6))


def test_alignment_option():
    module = _bufferized(_chain(4))
    assert plan(module, alignment=8).peak_bytes == 24 + 24
    _plan_and_compare(_chain(4), alignment=8)


def test_models_run_after_planning():
    rng = np.random.default_rng(4)
    _plan_and_compare(
        MLP,
        {
            "fc.weight": rng.standard_normal((3, 4)).astype(np.float32),
            "fc.bias": rng.standard_normal(4).astype(np.float32),
        },
    )
    _plan_and_compare(
        CONV_POOL, {"conv.weight": rng.standard_normal((3, 2, 3, 3)).astype(np.float32)}
    )
    _plan_and_compare(PAD_SLICE)
    _plan_and_compare(REDUCE_GATHER)


def test_a_use_through_a_view_keeps_the_buffer_live():
    # %v1's buffer is read by the third step through the reshaped %v2 only
    steps = [
        ProgramStep("binary", (0, 0)),
        ProgramStep("reshape", (1,)),
        ProgramStep("binary", (2, 2)),
        ProgramStep("binary", (3, 3)),
    ]
    module = _plan_and_compare(elementwise_program(steps, [4]))
    assert _main(module).attributes["terrace.workspace_bytes"].value.data == 64 + 24


def test_no_buffers_no_workspace():
    text = """
    func.func @main(%x: tensor<3xf32>) -> tensor<3xf32> {
      func.return %x : tensor<3xf32>
    }
    """
    module = _plan_and_compare(text)
    assert _main(module).attributes["terrace.workspace_bytes"].value.data == 0


_STEPS = st.lists(
    st.tuples(
        st.sampled_from(["binary", "binary", "binary", "accumulate", "reshape"]),
        st.integers(0, 100),
        st.integers(0, 100),
        st.sampled_from(["arith.addf", "arith.subf", "arith.mulf", "arith.maximumf"]),
        st.sampled_from([(2, 3), (4, 5), (1, 40)]),
    ),
    min_size=1,
    max_size=9,
)


@st.composite
def _programs(draw: st.DrawFn) -> str:
    """Chains and diamonds: each step reads one or two values among the previous ones."""
    drawn = draw(_STEPS)
    shape = drawn[0][4]
    steps = [
        ProgramStep(kind, (a % number, b % number), op_name)
        for number, (kind, a, b, op_name, _) in enumerate(drawn, start=1)
    ]
    results = draw(st.lists(st.integers(0, len(steps)), min_size=1, max_size=2))
    return elementwise_program(steps, results, shape)


@settings(max_examples=30, deadline=None)
@given(_programs())
def test_random_programs_never_overlap_live_buffers(text: str):
    _plan_and_compare(text)
