"""linalg-fuse-elementwise against the program it rewrites: random nn programs (elementwise
chains are what they are made of) lowered to linalg, run by the linalg interpreter before and
after the pass on the same inputs. The pass only moves scalar ops into one loop body, in their
order, so every result must be equal bit for bit, not merely close. (Programs holding an
`llvm.frem`, which the interpreter lacks, are drawn again; through native code the fusion is
checked with the whole pipeline by the nn-level fuzz and the conformance suite.)"""

from __future__ import annotations

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from xdsl.dialects.builtin import ModuleOp

from terrace.dialects.context import terrace_context
from terrace.dialects.nn.weights import WeightStore
from terrace.fuzz.data import input_sets
from terrace.fuzz.levels import Program
from terrace.fuzz.levels_lower import execute_linalg
from terrace.fuzz.nn_programs import nn_programs
from terrace.lowering.nn_to_linalg import ConvertNnToLinalgPass
from terrace.passes.linalg_fuse_elementwise import LinalgFuseElementwisePass


def _generics(module: ModuleOp) -> int:
    return sum(1 for op in module.walk() if op.name == "linalg.generic")


def test_fused_programs_compute_the_same_bits():
    fused: list[bool] = []

    @settings(
        max_examples=40,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(program=nn_programs(), data=st.data())
    def check(program: Program, data: st.DataObject):
        ctx = terrace_context()
        module = program.module()
        ConvertNnToLinalgPass().apply(ctx, module)
        assume(not any(op.name == "llvm.frem" for op in module.walk()))
        before = module.clone()
        WeightStore(dict(WeightStore.of(module))).attach(before)
        LinalgFuseElementwisePass().apply(ctx, module)
        module.verify()
        fused.append(_generics(module) < _generics(before))
        inputs = data.draw(input_sets(program.inputs, program.edges))
        expected = execute_linalg(before, inputs)
        actual = execute_linalg(module, inputs)
        for want, got in zip(expected, actual, strict=True):
            assert want.dtype == got.dtype and want.shape == got.shape
            assert want.tobytes() == got.tobytes(), (want, got)

    check()
    # the property ran its examples, and most random nn programs hold a fusable chain (in
    # the same test: under pytest-xdist a second test may run in another process)
    assert len(fused) >= 40 and sum(fused) >= len(fused) // 3, fused
