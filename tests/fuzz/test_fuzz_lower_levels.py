"""Fuzzing at the levels below nn (terrace.fuzz.levels_lower): every pass and conversion that
works on linalg on tensors, linalg on memrefs and loops, checked by differential execution on
random programs with a modest budget; the two loop-level oracles against each other; and a
deliberately wrong rewrite (an off-by-one loop bound) that the loops level must catch."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from xdsl.context import Context
from xdsl.dialects import arith, scf
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from terrace.dialects.context import parse_module
from terrace.fuzz.checker import check_program, compare_all, fuzz
from terrace.fuzz.data import input_sets
from terrace.fuzz.levels import available_levels
from terrace.fuzz.levels_lower import interpret_loops
from terrace.fuzz.native import run_native
from terrace.targets import host_target

# (pipeline, level, examples): each check runs the program before and after on the same inputs.
# A conversion runs behind the ones its docstring requires first (convert-arith-to-llvm after
# the memref and scf lowerings, as it retypes `index` everywhere). Seed 0 draws the same
# programs for every case of a level, so a pipeline that is part of a longer one at its level
# (convert-memref-to-llvm alone; the LLVM lowering short of reconcile-unrealized-casts) has its
# programs checked by the longer one too: two examples each keep them running on their own.
LLVM_LOWERING = host_target().pipeline().after("loops")
_MEMREF = "convert-memref-to-llvm"
CASES = [
    ("linalg-generalize-named-ops", "linalg", 15),
    ("bufferize", "linalg", 25),
    ("bufferize,memory-plan", "linalg", 15),
    # small tiles and no minimum of work, so that the generator's small matmuls are rewritten
    ("contraction-microkernel{mr=2 nr-vectors=2 lanes=4 min-work=0}", "memref", 24),
    # and in cache blocks: K blocks of 2 steps (the sums stored and reloaded between them),
    # M blocks of 2 panels, N blocks of one; 60 programs draw enough products with K > 2
    # and N >= 4 that dropping the sums between K blocks is caught
    ("contraction-microkernel{mr=2 nr-vectors=2 lanes=4 min-work=0 kc=2 mc=4 nc=8}", "memref", 60),
    # 8 lanes against rows of up to 40 (partial and whole vectors); every kernel parallel
    # (one program in two is a max pool: 36 keep about 18 convolutions)
    ("conv-depthwise-kernel{lanes=8 min-parallel-work=0}", "memref", 36),
    # every op parallel, its scf.parallel run on libgomp threads by the native executor
    # (convert-scf-parallel-to-gomp is part of the lowering it runs)
    (
        "parallelize-outer-loops{min-iterations=1 min-parallel-iterations=1},"
        "convert-linalg-to-loops,lower-affine",
        "memref",
        10,
    ),
    ("linalg-interchange-reductions", "memref", 15),
    ("linalg-collapse-dimensions", "memref", 15),
    ("memory-plan", "memref", 25),
    ("outline-kernels", "memref", 15),
    ("convert-linalg-to-loops,lower-affine", "memref", 10),
    (_MEMREF, "loops", 2),
    ("convert-scf-to-cf", "loops", 6),
    (f"{_MEMREF},convert-scf-to-cf,convert-cf-to-llvm", "loops", 6),
    (f"{_MEMREF},convert-math-to-llvm", "loops", 6),
    (f"{_MEMREF},convert-scf-to-cf,convert-arith-to-llvm", "loops", 6),
    # convert-func-to-llvm also retypes `index`: it comes last but reconcile-unrealized-casts
    (LLVM_LOWERING.without("reconcile-unrealized-casts").spec(), "loops", 2),
    (LLVM_LOWERING.spec(), "loops", 8),
]


@pytest.mark.parametrize(("pipeline", "level", "examples"), CASES, ids=[c[0] for c in CASES])
def test_pass_preserves_outputs(pipeline: str, level: str, examples: int, tmp_path: Path):
    report = fuzz(
        pipeline, level=level, examples=examples, seed=0, reproducer_dir=tmp_path, input_draws=2
    )
    assert not report.findings, report.summary()
    assert report.examples >= examples // 2, report.summary()
    assert report.unsupported <= report.examples // 4, report.summary()


def test_every_lower_level_is_registered_with_its_passes():
    levels = available_levels()
    assert list(levels)[-4:] == ["linalg", "memref", "loops", "vector"]
    assert "bufferize" in levels["linalg"].passes
    assert "memory-plan" in levels["memref"].passes
    tail = [p.name for p in LLVM_LOWERING.passes()]
    assert set(levels["loops"].passes) | set(levels["vector"].passes) <= set(tail)
    assert "convert-vector-to-llvm" in levels["vector"].passes


_LOOPS = available_levels()["loops"]
_SETTINGS = settings(
    max_examples=10,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.generate],
)


@seed(1)
@_SETTINGS
@given(st.data())
def test_native_code_agrees_with_the_interpreter(data: st.DataObject):
    """The two oracles of the loops level: compiled code and xDSL's interpreter."""
    program = data.draw(_LOOPS.programs())
    inputs = data.draw(input_sets(program.inputs, program.edges))
    native = run_native(program.module(), inputs)
    interpreted = interpret_loops(program.module(), inputs)
    problem = compare_all(interpreted, native, program.accumulations)
    assert problem is None, f"{problem}\n{program.text}"


# -- a deliberately wrong rewrite --------------------------------------------------------------


@dataclass(frozen=True)
class FirstLoopOneShort(ModulePass):
    """Wrong on purpose: the first scf.for of the module runs to ub - 1."""

    name = "test-first-loop-one-short"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        loop = next((o for o in op.walk() if isinstance(o, scf.ForOp)), None)
        if loop is None:
            return
        one = arith.ConstantOp.from_int_and_width(1, loop.ub.type)
        shorter = arith.SubiOp(loop.ub, one)
        parent = loop.parent_block()
        assert parent is not None
        parent.insert_ops_before([one, shorter], loop)
        loop.operands = [loop.lb, shorter.result, loop.step, *loop.iter_args]


class Caught(Exception):
    """Stops the search at the first program that exposes the wrong rewrite."""


def test_off_by_one_loop_bound_is_caught():
    @seed(2)
    @settings(
        max_examples=30,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.generate],
    )
    @given(st.data())
    def search(data: st.DataObject):
        program = data.draw(_LOOPS.programs())
        draws = [data.draw(input_sets(program.inputs, program.edges))]
        finding = check_program(program, [FirstLoopOneShort()], draws)
        if finding is not None:
            raise Caught(finding.describe())

    # 30 loop programs must expose a loop that runs one iteration short, as a mismatch
    with pytest.raises(Caught, match="mismatch"):
        search()


def test_off_by_one_pass_changes_the_loop_it_should():
    module = parse_module(
        """
        func.func @f(%m: memref<4xf32>) {
          %c0 = arith.constant 0 : index
          %c1 = arith.constant 1 : index
          %c4 = arith.constant 4 : index
          %x = arith.constant 1.0 : f32
          scf.for %i = %c0 to %c4 step %c1 {
            memref.store %x, %m[%i] : memref<4xf32>
          }
          func.return
        }
        """
    )
    FirstLoopOneShort().apply(Context(), module)
    module.verify()
    assert "arith.subi %c4" in str(module).replace("%c4_1", "%c4")


# -- found by fuzzing ----------------------------------------------------------------------------

PLANNED_TWICE = """
func.func @main(%in0: memref<1xf32>, %out0: memref<1xf32>, %ws: memref<64xi8>) attributes {
    terrace.num_inputs = 1 : i64, terrace.num_outputs = 1 : i64, terrace.weights = [],
    terrace.workspace_bytes = 64 : i64} {
  %c0 = arith.constant 0 : index
  %t = memref.view %ws[%c0][] : memref<64xi8> to memref<1xf32>
  %k = arith.constant 0.5 : f32
  linalg.fill ins(%k : f32) outs(%t : memref<1xf32>)
  %a = memref.alloc() : memref<1xf32>
  "memref.copy"(%t, %a) : (memref<1xf32>, memref<1xf32>) -> ()
  "memref.copy"(%a, %out0) : (memref<1xf32>, memref<1xf32>) -> ()
  func.return
}
"""


def test_memory_plan_keeps_the_views_of_an_earlier_plan():
    """memory-plan on a planned function used to shrink the workspace to its own peak (0 here),
    leaving the earlier views out of the arena; new buffers go above them now."""
    from terrace.fuzz.buffer_interpreter import run_buffers
    from terrace.passes.memory_plan import MemoryPlanPass

    module = parse_module(PLANNED_TWICE)
    MemoryPlanPass().apply(Context(), module)
    module.verify()
    text = str(module)
    # the earlier view keeps bytes 0..63; the 4-byte buffer goes at the next aligned offset
    assert "terrace.workspace_bytes = 68" in text, text
    assert "arith.constant 64 : index" in text, text
    np.testing.assert_array_equal(run_buffers(module, [np.zeros(1, np.float32)])[0], [0.5])
