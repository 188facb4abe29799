"""The levels below nn: linalg on tensors, linalg on memrefs and loops (docs/pipeline.md stages
2, 3 and 4), registered into `LEVELS`.

- "linalg": random linalg.generic programs (arith and math bodies; identity, broadcast,
  permutation and reduction maps), linalg.fill, linalg.matmul, tensor.empty / collapse_shape /
  expand_shape / extract_slice / insert_slice, nn.weight; run by xDSL's interpreter with the
  fixes of `interpreters.py` and `arith_interpreter.py`.
- "memref": the stage-3 @main ABI (inputs, outputs, weights, workspace) with linalg ops on
  memref.alloc buffers or on views of the workspace, copies and strided subviews; run by the
  interpreter on memrefs (`buffer_interpreter.py`).
- "loops": scf.for nests with memref.load/store and arith/math under the same ABI; run as
  native code through the llvm lowering tail and the JIT (`native.py`), with the interpreter
  (`buffer_interpreter.run_buffers`, which runs scf) as the second oracle. A loops module stays
  at this level while the llvm conversions rewrite it, since its executor lowers the rest.

- "vector": scf.for loops over 4-, 8- or 16-lane chunks of f32 buffers under the same ABI,
  with vector.load/maskedload, broadcast, fma, arith on vectors and vector.store/maskedstore
  (`vector_programs.py`); run by the interpreter with numpy vector ops
  (`vector_interpreter.py`) until an llvm conversion has begun, then as native code, so that
  a conversion's output is checked against an oracle that never goes through Terrace's own
  vector lowering.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from hypothesis import strategies as st
from xdsl.dialects import func
from xdsl.dialects.builtin import MemRefType, ModuleOp, TensorType
from xdsl.ir import Operation

from .buffer_interpreter import run_buffers
from .interpreters import run_linalg
from .levels import Level, Program, register_level
from .native import run_native
from .vector_interpreter import run_vectors

_LINALG_DIALECTS = {"builtin", "func", "linalg", "tensor", "arith", "math"}
_MEMREF_DIALECTS = {"builtin", "func", "linalg", "memref", "arith", "math"}
_LOOPS_DIALECTS = {"builtin", "func", "scf", "memref", "arith", "math", "cf", "llvm", "ptr"}

LINALG_PASSES = ("linalg-generalize-named-ops", "linalg-fuse-elementwise", "bufferize")
MEMREF_PASSES = (
    "contraction-microkernel",
    "conv-depthwise-kernel",
    "conv-grouped-kernel",
    "linalg-interchange-reductions",
    "linalg-collapse-dimensions",
    "parallelize-outer-loops",
    "memory-plan",
    "outline-kernels",
    "convert-linalg-to-loops",
)
VECTOR_PASSES = ("convert-vector-to-llvm",)
LOOPS_PASSES = (
    "convert-memref-to-llvm",
    "convert-scf-parallel-to-gomp",
    "convert-scf-structured-to-cf",
    "convert-scf-to-cf",
    "convert-cf-to-llvm",
    "convert-math-to-llvm",
    "convert-arith-to-llvm",
    "convert-func-to-llvm",
    "reconcile-unrealized-casts",
)


def _dialects(module: ModuleOp) -> set[str]:
    return {op.name.split(".", 1)[0] for op in module.walk()} - {"nn"}


def _main(module: ModuleOp) -> Operation | None:
    for op in module.ops:
        if isinstance(op, func.FuncOp) and op.sym_name.data == "main":
            return op
    return None


def _has_weights_only_from_nn(module: ModuleOp) -> bool:
    """nn.weight is the one nn op stage 2 keeps."""
    return all(op.name == "nn.weight" for op in module.walk() if op.name.startswith("nn."))


def accepts_linalg(module: ModuleOp) -> bool:
    main = _main(module)
    if not isinstance(main, func.FuncOp) or not _has_weights_only_from_nn(module):
        return False
    types = [*main.function_type.inputs.data, *main.function_type.outputs.data]
    return _dialects(module) <= _LINALG_DIALECTS and all(isinstance(t, TensorType) for t in types)


def _is_abi_main(module: ModuleOp) -> bool:
    main = _main(module)
    return isinstance(main, func.FuncOp) and "terrace.num_inputs" in main.attributes


def accepts_memref(module: ModuleOp) -> bool:
    if not _is_abi_main(module):
        return False
    main = _main(module)
    assert isinstance(main, func.FuncOp)
    memrefs = all(isinstance(t, MemRefType) for t in main.function_type.inputs.data)
    return memrefs and _dialects(module) <= _MEMREF_DIALECTS


def accepts_loops(module: ModuleOp) -> bool:
    """Stage 4, or stage 4 part-way down the llvm conversions (func may already be llvm)."""
    return accepts_loops_with(module, set())


def accepts_loops_with(module: ModuleOp, extra: set[str]) -> bool:
    """Stage 4 with the `extra` dialects too."""
    dialects = _dialects(module)
    if "linalg" in dialects or "tensor" in dialects or "affine" in dialects:
        return False
    return dialects <= _LOOPS_DIALECTS | {"builtin"} | extra


# -- executors -------------------------------------------------------------------------------


def execute_linalg(module: ModuleOp, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """xDSL's interpreter with Terrace's fixes, on a copy of the module."""
    return run_linalg(module, inputs)


def execute_memref(module: ModuleOp, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """The interpreter on memrefs; it also checks that inputs and weights stay unwritten."""
    return run_buffers(module, inputs)


def execute_loops(module: ModuleOp, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Native code through the llvm lowering tail and the JIT."""
    return run_native(module, inputs)


_NOT_INTERPRETED = {"llvm", "ptr", "cf"}


def accepts_vector(module: ModuleOp) -> bool:
    """Vector code on memrefs, or vector code part-way down the llvm conversions."""
    return accepts_loops_with(module, {"vector"})


def execute_vector(module: ModuleOp, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """The interpreter with numpy vector ops while no llvm conversion has run (no llvm, ptr or
    cf op), native code through the llvm lowering tail and the JIT after."""
    if _dialects(module) & _NOT_INTERPRETED:
        return run_native(module, inputs)
    return run_vectors(module, inputs)


def interpret_loops(module: ModuleOp, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """The second oracle of the loops level: xDSL's interpreter (scf, memref, arith, math)."""
    return run_buffers(module, inputs)


# -- strategies (imported lazily: hypothesis strategies are built on first use) ---------------


def _linalg_programs() -> st.SearchStrategy[Program]:
    from .linalg_programs import linalg_programs

    return linalg_programs()


def _memref_programs() -> st.SearchStrategy[Program]:
    from .memref_programs import memref_programs

    return memref_programs()


def _loop_programs() -> st.SearchStrategy[Program]:
    from .loop_programs import loop_programs

    return loop_programs()


def _vector_programs() -> st.SearchStrategy[Program]:
    from .vector_programs import vector_programs

    return vector_programs()


register_level(
    Level(
        name="linalg",
        summary="linalg on tensors (stage 2): generics, fills, matmuls, reshapes and slices, "
        "run by xDSL's interpreter with Terrace's fixes",
        programs=_linalg_programs,
        execute=execute_linalg,
        accepts=accepts_linalg,
        default_pipeline="linalg-generalize-named-ops,bufferize",
        passes=LINALG_PASSES,
    )
)
register_level(
    Level(
        name="memref",
        summary="linalg on memrefs with the @main ABI (stage 3): allocs or workspace views, "
        "copies, subviews, run by the interpreter on memrefs",
        programs=_memref_programs,
        execute=execute_memref,
        accepts=accepts_memref,
        default_pipeline="memory-plan",
        passes=MEMREF_PASSES,
    )
)
register_level(
    Level(
        name="loops",
        summary="scf.for nests with memref.load/store and arith/math (stage 4), run as native "
        "code through the llvm lowering and the JIT",
        programs=_loop_programs,
        execute=execute_loops,
        accepts=accepts_loops,
        default_pipeline=",".join(LOOPS_PASSES),
        passes=LOOPS_PASSES,
    )
)
register_level(
    Level(
        name="vector",
        summary="scf.for loops over 4/8/16-lane f32 chunks: vector loads (masked at the edges), "
        "broadcasts, fma, arith on vectors, stores; interpreted with numpy vector ops, native "
        "code once an llvm conversion has run",
        programs=_vector_programs,
        execute=execute_vector,
        accepts=accepts_vector,
        default_pipeline="convert-vector-to-llvm",
        passes=VECTOR_PASSES,
    )
)
