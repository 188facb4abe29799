"""Upstream MLIR as a second oracle: a module lowered by upstream's own passes, not Terrace's.

`run_upstream(module, inputs)` takes a linalg-stage module (tensors at @main's boundary) or a
loops-stage one (the memref ABI of stage 3: inputs, outputs, weights, workspace), prints it in
the form upstream reads (`tools/mlir_interop.upstream_form`), lowers it with `mlir-opt-22`:

- linalg: one-shot-bufferize (function boundaries, identity layouts), then the loops tail;
- loops tail: convert-linalg-to-loops, lower-affine, convert-scf-to-cf, expand-strided-metadata,
  finalize-memref-to-llvm, math/arith/index/cf/func to llvm, reconcile-unrealized-casts;

translates it with `mlir-translate-22 --mlir-to-llvmir`, compiles that LLVM IR with llvmlite
(MCJIT, the same LLVM 22) and calls `_mlir_ciface_main` with memref descriptors of numpy
arrays. A copy between strided memrefs is a call to `memrefCopy`, which MLIR's C runner
library provides; here it is a small numpy function bound to that symbol. Weights (nn.weight
at the linalg stage) become trailing arguments of @main bound to the store's arrays. None of
Terrace's lowering code runs, so a wrong Terrace lowering shows up as a mismatch against it
(`terrace fuzz --oracle mlir`, docs/mlir.md).
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from functools import cache
from typing import Any

import llvmlite.binding as llvm
import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import (
    ArrayAttr,
    FunctionType,
    MemRefType,
    ModuleOp,
    TensorType,
    UnitAttr,
)
from xdsl.ir import Attribute

from ..dialects.nn.base import element_type_to_numpy
from ..dialects.nn.constants import WeightOp
from ..dialects.nn.weights import WeightStore
from ..runtime.abi import WORKSPACE_ALIGNMENT, read_abi_attributes
from ..tools.mlir_interop import run_tool, upstream_form
from ..tools.printing import module_text

BUFFERIZE = (
    "--one-shot-bufferize=bufferize-function-boundaries "
    "function-boundary-type-conversion=identity-layout-map"
)
LOOPS_TO_LLVM = (
    "--convert-linalg-to-loops",
    "--lower-affine",
    "--convert-scf-to-cf",
    "--expand-strided-metadata",
    "--lower-affine",
    "--finalize-memref-to-llvm",
    "--convert-math-to-llvm",
    "--convert-arith-to-llvm",
    "--convert-index-to-llvm",
    "--convert-cf-to-llvm",
    "--convert-func-to-llvm",
    "--reconcile-unrealized-casts",
)
OUTPUT_TYPES = "terrace.output_types"


class UpstreamOracleError(Exception):
    """The upstream oracle cannot run this module (not an answer about Terrace)."""


# -- entry ----------------------------------------------------------------------------------


def run_upstream(module: ModuleOp, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """@main of `module` (linalg or loops stage) run through upstream MLIR's lowering."""
    copy = module.clone()
    main = _main(copy)
    store = WeightStore.of(module)
    if read_abi_attributes(copy) is None:
        weights = _weights_to_arguments(main)
        arguments = [*inputs, *(store[name] for name in weights)]
        return _run_tensor_main(copy, main, arguments)
    return _run_abi_main(copy, main, inputs, store)


def upstream_llvm_ir(module: ModuleOp, stage: str) -> str:
    """LLVM IR text of `module` (with @main marked llvm.emit_c_interface) from upstream."""
    text = module_text(upstream_form(module))
    passes = [BUFFERIZE, *LOOPS_TO_LLVM] if stage == "linalg" else list(LOOPS_TO_LLVM)
    lowered = run_tool("mlir-opt", passes, text, f"the {stage} program (upstream's lowering)")
    return run_tool("mlir-translate", ["--mlir-to-llvmir"], lowered, "upstream's llvm dialect")


# -- the two ABIs -----------------------------------------------------------------------------


def _run_tensor_main(
    module: ModuleOp, main: func.FuncOp, arguments: Sequence[np.ndarray]
) -> list[np.ndarray]:
    """Tensors in, tensors out: results come back as descriptors (the C interface returns one
    through its first pointer argument, several as a struct of descriptors)."""
    result_types = [_memref_of(t) for t in main.function_type.outputs.data]
    main.attributes["llvm.emit_c_interface"] = UnitAttr()
    address = _compile(upstream_llvm_ir(module, "linalg"))
    held = [np.ascontiguousarray(a) for a in arguments]
    descriptors = [_descriptor_of(a) for a in held]
    result_classes = [_descriptor_class(len(t.get_shape())) for t in result_types]
    if not result_types:
        _call(address, descriptors)
        return []
    if len(result_types) == 1:
        result: Any = result_classes[0]()
        _call(address, [result, *descriptors])
        return [_array_of(result, result_types[0])]
    fields = [(f"r{i}", c) for i, c in enumerate(result_classes)]
    pack: Any = type("Results", (ctypes.Structure,), {"_fields_": fields})()
    _call(address, [pack, *descriptors])
    return [_array_of(getattr(pack, f"r{i}"), t) for i, t in enumerate(result_types)]


def _run_abi_main(
    module: ModuleOp, main: func.FuncOp, inputs: Sequence[np.ndarray], store: WeightStore
) -> list[np.ndarray]:
    """Stage 3's ABI: inputs, outputs (shapes from terrace.output_types), weights, workspace."""
    abi = read_abi_attributes(module)
    assert abi is not None
    recorded = main.attributes.get(OUTPUT_TYPES)
    if not isinstance(recorded, ArrayAttr):
        raise UpstreamOracleError(f"@main has no {OUTPUT_TYPES}: output shapes are unknown")
    outputs = [_poisoned(_memref_of(t)) for t in recorded.data]
    weights = [np.ascontiguousarray(store[name]) for name in abi.weights]
    workspace = np.zeros(abi.workspace_bytes + WORKSPACE_ALIGNMENT, np.uint8)
    start = -workspace.ctypes.data % WORKSPACE_ALIGNMENT
    arena = workspace[start : start + max(abi.workspace_bytes, 1)]
    main.attributes["llvm.emit_c_interface"] = UnitAttr()
    address = _compile(upstream_llvm_ir(module, "loops"))
    arrays = [*(np.ascontiguousarray(a) for a in inputs), *outputs, *weights, arena]
    _call(address, [_descriptor_of(a) for a in arrays])
    return outputs


def _weights_to_arguments(main: func.FuncOp) -> list[str]:
    """nn.weight ops become trailing arguments of @main (one per name); their names."""
    names: list[str] = []
    arguments: dict[str, Any] = {}
    for op in list(main.walk()):
        if not isinstance(op, WeightOp):
            continue
        name = op.ref.data
        if name not in arguments:
            names.append(name)
            arguments[name] = main.body.block.insert_arg(op.output.type, len(main.args))
        op.output.replace_all_uses_with(arguments[name])
        op.detach()
        op.erase()
    inputs = [arg.type for arg in main.args]
    main.function_type = FunctionType.from_lists(inputs, main.function_type.outputs.data)
    return names


# -- native code ------------------------------------------------------------------------------


_KEEP: list[llvm.ExecutionEngine] = []
"""The engine of the program being run: its code must outlive the call, and only that long
(results are copied out, and what the code allocated is on the C heap, not in the engine),
so each program's engine replaces the last one's."""


class _UnrankedMemRef(ctypes.Structure):
    _fields_ = [("rank", ctypes.c_int64), ("descriptor", ctypes.c_void_p)]  # pyright: ignore[reportUnannotatedClassAttribute]


_MEMREF_COPY_TYPE = ctypes.CFUNCTYPE(
    None, ctypes.c_int64, ctypes.POINTER(_UnrankedMemRef), ctypes.POINTER(_UnrankedMemRef)
)


def _memref_copy(element_bytes: int, source: Any, destination: Any) -> None:
    """MLIR's `memrefCopy(elemSize, src, dst)` on strided memrefs, as bytes."""
    source_view = _strided_bytes(element_bytes, source.contents)
    destination_view = _strided_bytes(element_bytes, destination.contents)
    destination_view[...] = source_view


def _strided_bytes(element_bytes: int, unranked: _UnrankedMemRef) -> np.ndarray:
    """A writable view of a ranked descriptor's elements, each as `element_bytes` raw bytes."""
    rank = int(unranked.rank)
    pointer = ctypes.POINTER(_descriptor_class(rank))
    descriptor: Any = ctypes.cast(unranked.descriptor, pointer).contents
    return _view(descriptor, rank, np.dtype((np.void, element_bytes)))


def _view(descriptor: Any, rank: int, dtype: np.dtype[Any]) -> np.ndarray:
    """The elements a ranked descriptor points at, as a numpy view (no copy)."""
    shape = tuple(int(descriptor.sizes[axis]) for axis in range(rank))
    strides = [int(descriptor.strides[axis]) for axis in range(rank)]
    if 0 in shape:
        return np.zeros(shape, dtype)
    span = 1 + sum((size - 1) * stride for size, stride in zip(shape, strides, strict=True))
    start = descriptor.aligned + descriptor.offset * dtype.itemsize
    buffer = (ctypes.c_byte * (span * dtype.itemsize)).from_address(start)
    flat = np.frombuffer(memoryview(buffer), dtype=dtype, count=span)
    byte_strides = tuple(stride * dtype.itemsize for stride in strides)
    return np.lib.stride_tricks.as_strided(flat, shape, byte_strides)


_MEMREF_COPY = _MEMREF_COPY_TYPE(_memref_copy)


def _compile(llvm_ir: str) -> int:
    """The address of `_mlir_ciface_main` in the LLVM IR, compiled by llvmlite's MCJIT."""
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    llvm.add_symbol("memrefCopy", ctypes.cast(_MEMREF_COPY, ctypes.c_void_p).value or 0)
    module = llvm.parse_assembly(llvm_ir)
    module.verify()
    machine = llvm.Target.from_default_triple().create_target_machine()
    engine = llvm.create_mcjit_compiler(module, machine)
    engine.finalize_object()
    _KEEP[:] = [engine]
    address = engine.get_function_address("_mlir_ciface_main")
    if not address:
        raise UpstreamOracleError("upstream's LLVM IR has no _mlir_ciface_main")
    return address


def _call(address: int, structures: Sequence[Any]) -> None:
    """Calls the C interface with a pointer to each structure (descriptors, results)."""
    prototype = ctypes.CFUNCTYPE(None, *([ctypes.c_void_p] * len(structures)))
    prototype(address)(*[ctypes.addressof(s) for s in structures])


@cache
def _descriptor_class(rank: int) -> type[ctypes.Structure]:
    """A ranked memref descriptor: allocated and aligned pointers, offset, sizes, strides."""
    fields: list[tuple[str, Any]] = [
        ("allocated", ctypes.c_void_p),
        ("aligned", ctypes.c_void_p),
        ("offset", ctypes.c_int64),
    ]
    if rank:
        fields += [("sizes", ctypes.c_int64 * rank), ("strides", ctypes.c_int64 * rank)]
    return type(f"MemRef{rank}", (ctypes.Structure,), {"_fields_": fields})


def _descriptor_of(array: np.ndarray) -> Any:
    """The descriptor of a C-contiguous array (the caller keeps the array alive)."""
    assert array.flags.c_contiguous
    descriptor: Any = _descriptor_class(array.ndim)()
    descriptor.allocated = descriptor.aligned = array.ctypes.data
    descriptor.offset = 0
    for axis in range(array.ndim):
        descriptor.sizes[axis] = array.shape[axis]
        descriptor.strides[axis] = array.strides[axis] // max(array.itemsize, 1)
    return descriptor


def _array_of(descriptor: Any, memref_type: MemRefType) -> np.ndarray:
    """A copy of the elements a result descriptor points at."""
    rank = len(memref_type.get_shape())
    return _view(descriptor, rank, _numpy_dtype(memref_type.get_element_type())).copy()


# -- types -----------------------------------------------------------------------------------


def _memref_of(value_type: Attribute) -> MemRefType:
    if isinstance(value_type, MemRefType):
        return value_type  # pyright: ignore[reportUnknownVariableType]
    if isinstance(value_type, TensorType):
        element = value_type.get_element_type()  # pyright: ignore[reportUnknownMemberType]
        return MemRefType(element, value_type.get_shape())  # pyright: ignore[reportUnknownArgumentType]
    raise UpstreamOracleError(f"@main has a {value_type} at its boundary, not a shaped type")


def _numpy_dtype(element_type: Attribute) -> np.dtype[Any]:
    return np.dtype(element_type_to_numpy(element_type))


def _poisoned(memref_type: MemRefType) -> np.ndarray:
    """An output buffer filled with NaN (or the largest integer), as the native executor's."""
    dtype = _numpy_dtype(memref_type.get_element_type())
    buffer = np.empty(tuple(memref_type.get_shape()), dtype)
    if np.issubdtype(dtype, np.floating):
        buffer.fill(np.nan)
    elif dtype != np.bool_:
        buffer.fill(np.iinfo(dtype).max)
    return buffer


def _main(module: ModuleOp) -> func.FuncOp:
    for op in module.ops:
        if isinstance(op, func.FuncOp) and op.sym_name.data == "main":
            return op
    raise UpstreamOracleError("the module has no func.func @main")
