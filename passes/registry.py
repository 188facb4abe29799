"""The one registry of Terrace's passes and conversions, by their command-line names.

Factories import lazily so that loading the registry stays cheap. terrace-opt registers these
next to xDSL's own passes; a test checks that every name matches its class and has a FileCheck
file.
"""

from __future__ import annotations

from collections.abc import Callable

from xdsl.passes import ModulePass


def _nn_canonicalize() -> type[ModulePass]:
    from .nn_canonicalize import NnCanonicalizePass

    return NnCanonicalizePass


def _nn_fold_batchnorm() -> type[ModulePass]:
    from .nn_fold_batchnorm import NnFoldBatchnormPass

    return NnFoldBatchnormPass


def _convert_nn_to_linalg() -> type[ModulePass]:
    from ..lowering.nn_to_linalg import ConvertNnToLinalgPass

    return ConvertNnToLinalgPass


def _bufferize() -> type[ModulePass]:
    from .bufferize import BufferizePass

    return BufferizePass


def _memory_plan() -> type[ModulePass]:
    from .memory_plan import MemoryPlanPass

    return MemoryPlanPass


def _outline_kernels() -> type[ModulePass]:
    from .outline_kernels import OutlineKernelsPass

    return OutlineKernelsPass


def _parallelize_outer_loops() -> type[ModulePass]:
    from .parallelize_outer_loops import ParallelizeOuterLoopsPass

    return ParallelizeOuterLoopsPass


def _convert_scf_parallel_to_gomp() -> type[ModulePass]:
    from ..targets.llvm.scf_parallel_to_gomp import ConvertScfParallelToGompPass

    return ConvertScfParallelToGompPass


def _convert_arith_to_llvm() -> type[ModulePass]:
    from ..lowering.arith_to_llvm import ConvertArithToLlvmPass

    return ConvertArithToLlvmPass


def _convert_math_to_llvm() -> type[ModulePass]:
    from ..lowering.math_to_llvm import ConvertMathToLlvmPass

    return ConvertMathToLlvmPass


def _convert_memref_to_llvm() -> type[ModulePass]:
    from ..lowering.memref_to_llvm import ConvertMemrefToLlvmPass

    return ConvertMemrefToLlvmPass


def _convert_func_to_llvm() -> type[ModulePass]:
    from ..lowering.func_to_llvm import ConvertFuncToLlvmPass

    return ConvertFuncToLlvmPass


def _convert_cf_to_llvm() -> type[ModulePass]:
    from ..lowering.cf_to_llvm import ConvertCfToLlvmPass

    return ConvertCfToLlvmPass


def _convert_scf_structured_to_cf() -> type[ModulePass]:
    from ..lowering.scf_structured_to_cf import ConvertScfStructuredToCfPass

    return ConvertScfStructuredToCfPass


def _convert_vector_to_llvm() -> type[ModulePass]:
    from ..lowering.vector_to_llvm import ConvertVectorToLlvmPass

    return ConvertVectorToLlvmPass


def _apply_tuning() -> type[ModulePass]:
    from .apply_tuning import ApplyTuningPass

    return ApplyTuningPass


def _contraction_microkernel() -> type[ModulePass]:
    from .contraction_microkernel import ContractionMicrokernelPass

    return ContractionMicrokernelPass


def _linalg_interchange_reductions() -> type[ModulePass]:
    from .linalg_interchange_reductions import InterchangeReductionsPass

    return InterchangeReductionsPass


TERRACE_PASSES: dict[str, Callable[[], type[ModulePass]]] = {
    "nn-canonicalize": _nn_canonicalize,
    "nn-fold-batchnorm": _nn_fold_batchnorm,
    "convert-nn-to-linalg": _convert_nn_to_linalg,
    "bufferize": _bufferize,
    "memory-plan": _memory_plan,
    "outline-kernels": _outline_kernels,
    "parallelize-outer-loops": _parallelize_outer_loops,
    "convert-scf-parallel-to-gomp": _convert_scf_parallel_to_gomp,
    "convert-arith-to-llvm": _convert_arith_to_llvm,
    "convert-math-to-llvm": _convert_math_to_llvm,
    "convert-memref-to-llvm": _convert_memref_to_llvm,
    "convert-func-to-llvm": _convert_func_to_llvm,
    "convert-cf-to-llvm": _convert_cf_to_llvm,
    "convert-scf-structured-to-cf": _convert_scf_structured_to_cf,
    "convert-vector-to-llvm": _convert_vector_to_llvm,
    "apply-tuning": _apply_tuning,
    "contraction-microkernel": _contraction_microkernel,
    "linalg-interchange-reductions": _linalg_interchange_reductions,
}


def all_passes() -> dict[str, Callable[[], type[ModulePass]]]:
    """xDSL's passes and Terrace's (Terrace's win on a name clash)."""
    from xdsl.transforms import get_all_passes

    return {**get_all_passes(), **TERRACE_PASSES}
