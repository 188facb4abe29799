"""Kernel-wise code generation: each outlined kernel lowered, optimized and cached on its own.

After `outline-kernels` a module is `@main` (views and calls) plus private kernels, and every
pass after the memrefs stage works function by function. So each kernel is compiled apart: its
own module runs the loops and llvm stages, is translated and optimized at O3, and its bitcode
is kept under a key of its printed text (under one fixed name) and the target's fingerprint.
`@main`, with the kernels as declarations, goes the same way; the optimized kernels are then
linked into it, made internal again, and the whole is emitted as one object.

Identical kernels are thus compiled once per cache, not once per model: onnx's node cases
outline about 6,800 kernels of which about 1,000 differ (the `_expanded` variants and repeated
shapes), and a rebuilt model whose layers did not change only compiles its new kernels. Kernels
are linked `noinline` as before: O3 of each kernel alone is what whole-module O3 did to it.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from io import StringIO

import llvmlite.binding as llvm_binding
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, StringAttr
from xdsl.printer import Printer

from ...runtime.cache import KernelCache, cache_key
from . import LlvmTarget
from .codegen import llvm_ir, optimize_llvm_ir, target_machine

KERNEL_SYMBOL = "kernel"
"""The name each kernel is compiled and cached under; linking renames it."""

LowerModule = Callable[[ModuleOp], None]
"""Runs the passes after the memrefs stage on a module (the compile driver's, which names a
pass that fails)."""


@dataclass
class Kernel:
    """A kernel taken out of the module: its name there, and its function."""

    name: str
    function: func.FuncOp


def split_kernels(module: ModuleOp) -> list[Kernel]:
    """Moves each kernel (a private function with a body that calls no function) out of
    `module`, leaving a declaration in its place, and returns them."""
    kernels: list[Kernel] = []
    for op in list(module.ops):
        if not _is_kernel(op):
            continue
        assert isinstance(op, func.FuncOp)
        declaration = func.FuncOp.external(
            op.sym_name.data, op.function_type.inputs.data, op.function_type.outputs.data
        )
        module.body.block.insert_op_before(declaration, op)
        op.detach()
        kernels.append(Kernel(op.sym_name.data, op))
    return kernels


def kernel_key(kernel: Kernel, target: LlvmTarget) -> str:
    """The cache key of a kernel: its text under `KERNEL_SYMBOL`, the target's fingerprint
    and the versions (`cache_key`)."""
    kernel.function.sym_name = StringAttr(KERNEL_SYMBOL)
    text = StringIO()
    Printer(stream=text).print_op(kernel.function)
    kernel.function.sym_name = StringAttr(kernel.name)
    return cache_key(target.fingerprint(), "kernel", text.getvalue())


def compile_kernel(
    kernel: Kernel, target: LlvmTarget, lower_module: LowerModule
) -> llvm_binding.ModuleRef:
    """The kernel lowered by `lower_module`, translated and optimized: an LLVM module
    defining the public function `KERNEL_SYMBOL`."""
    function = kernel.function
    function.sym_name = StringAttr(KERNEL_SYMBOL)
    function.sym_visibility = None  # public, so that O3 keeps it
    module = ModuleOp([function])
    lower_module(module)
    return optimize_llvm_ir(llvm_ir(module, target), target)


def optimized_kernels(
    kernels: Sequence[Kernel],
    target: LlvmTarget,
    lower_module: LowerModule,
    cache: KernelCache | None,
) -> tuple[dict[str, llvm_binding.ModuleRef], int]:
    """Each kernel optimized, by its name, from the cache where it holds it; and how many
    were compiled (the misses)."""
    modules: dict[str, llvm_binding.ModuleRef] = {}
    misses = 0
    for kernel in kernels:
        key = kernel_key(kernel, target)
        cached = _cached_kernel(cache, key)
        if cached is not None:
            modules[kernel.name] = cached
            continue
        modules[kernel.name] = compiled = compile_kernel(kernel, target, lower_module)
        misses += 1
        if cache is not None:
            cache.put(key, compiled.as_bitcode())
    return modules, misses


def link_object(
    main_ir: str, kernels: dict[str, llvm_binding.ModuleRef], target: LlvmTarget
) -> tuple[bytes, str]:
    """`main_ir` optimized, each kernel linked in under its name with internal linkage (the
    kernel modules are consumed), emitted as one object; and the final LLVM IR text."""
    linked = optimize_llvm_ir(main_ir, target)
    for name, kernel in kernels.items():
        kernel.get_function(KERNEL_SYMBOL).name = name
        linked.link_in(kernel)
        linked.get_function(name).linkage = llvm_binding.Linkage.internal
    return target_machine(target).emit_object(linked), str(linked)


# helpers


def _is_kernel(op: object) -> bool:
    if not isinstance(op, func.FuncOp) or op.is_declaration:
        return False
    if op.sym_visibility != StringAttr("private"):
        return False
    return not any(isinstance(nested, func.CallOp) for nested in op.walk())


def _cached_kernel(cache: KernelCache | None, key: str) -> llvm_binding.ModuleRef | None:
    """The cached kernel of `key`, or None: absent, or damaged (skipped with a warning, and
    compiled again)."""
    code = cache.get(key) if cache is not None else None
    if code is None:
        return None
    try:
        module = llvm_binding.parse_bitcode(code)
        module.get_function(KERNEL_SYMBOL)
    except (RuntimeError, NameError) as error:
        warnings.warn(f"compile cache: skipped a damaged kernel entry ({error})", stacklevel=2)
        return None
    return module
