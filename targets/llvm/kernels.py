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

import multiprocessing
import os
import warnings
from collections.abc import Callable, Generator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from io import StringIO
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from multiprocessing.sharedctypes import Synchronized
from typing import TYPE_CHECKING, cast

import llvmlite.binding as llvm_binding
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, StringAttr
from xdsl.printer import Printer
from xdsl.utils.exceptions import VerifyException

from ...errors import CompilationError, first_line
from ...runtime.cache import KernelCache, cache_key
from . import LlvmTarget
from .codegen import llvm_ir, optimize_llvm_ir, target_machine

if TYPE_CHECKING:  # the type checker may assume Windows, whose pipes have their own class
    from multiprocessing.connection import PipeConnection

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
    return cache_key(target.fingerprint(), "kernel", _kernel_text(kernel))


def _kernel_text(kernel: Kernel) -> str:
    """The kernel printed under `KERNEL_SYMBOL`: two kernels with the same text compile to
    the same code."""
    kernel.function.sym_name = StringAttr(KERNEL_SYMBOL)
    text = StringIO()
    Printer(stream=text).print_op(kernel.function)
    kernel.function.sym_name = StringAttr(kernel.name)
    return text.getvalue()


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
    with verified_translation(module):
        return optimize_llvm_ir(llvm_ir(module, target), target)


@contextmanager
def verified_translation(module: ModuleOp) -> Generator[None]:
    """Runs the body (the translation of an llvm-dialect `module` to LLVM IR and its O3),
    and where it fails verifies `module`: IR that does not verify is named as the cause.

    The llvm stage's IR is verified this way only, not after the stage: LLVM verifies the IR
    it parses, and xDSL's verifier on every kernel's llvm dialect took about a tenth of the
    kernels' compile time (light resnet50: 1.1 s of 19 s in one process) for a check that
    LLVM repeats."""
    try:
        yield
    except Exception:
        try:
            module.verify()
        except VerifyException as error:
            message = f"IR after the llvm stage does not verify: {first_line(error)}"
            raise CompilationError(message) from error
        raise


def optimized_kernels(
    kernels: Sequence[Kernel],
    target: LlvmTarget,
    lower_module: LowerModule,
    cache: KernelCache | None,
    jobs: int | None = None,
    alongside: Callable[[], None] | None = None,
) -> tuple[dict[str, llvm_binding.ModuleRef], int]:
    """Each kernel optimized, by its name, from the cache where it holds it; and how many
    were compiled (the misses), on `jobs` processes (`compile_jobs()` by default), while
    this process also runs `alongside` (`compile_kernels`)."""
    modules: dict[str, llvm_binding.ModuleRef] = {}
    missing: list[tuple[Kernel, str]] = []
    sizes: list[int] = []
    fingerprint = target.fingerprint()  # builds the pipeline: once, not once per kernel
    for kernel in kernels:
        # the key prints the kernel, serial work before the processes start: only for a cache
        text = _kernel_text(kernel) if cache is not None else ""
        key = cache_key(fingerprint, "kernel", text)
        cached = _cached_kernel(cache, key)
        if cached is not None:
            modules[kernel.name] = cached
        else:
            missing.append((kernel, key))
            sizes.append(_op_count(kernel))
    missed = [k for k, _ in missing]
    codes = compile_kernels(missed, target, lower_module, jobs, alongside, sizes)
    for (kernel, key), code in zip(missing, codes, strict=True):
        modules[kernel.name] = llvm_binding.parse_bitcode(code)
        if cache is not None:
            cache.put(key, code)
    return modules, len(missing)


def compile_jobs() -> int:
    """How many processes compile a model's kernels: TERRACE_COMPILE_JOBS, else the cores
    this process may use, at most 2 (the conformance suite and pytest-xdist run several
    compiles side by side already)."""
    explicit = os.environ.get("TERRACE_COMPILE_JOBS", "")
    if explicit.isdigit() and int(explicit) > 0:
        return int(explicit)
    # sched_getaffinity (Linux) counts the cores this process may use, cpu_count all of them
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(2, usable or 1))


MIN_KERNELS_PER_JOB = 4
"""Fewer kernels than this per process are compiled in this process: forking costs more."""


def compile_kernels(  # noqa: PLR0913 - the work, its costs and what runs beside it
    kernels: Sequence[Kernel],
    target: LlvmTarget,
    lower_module: LowerModule,
    jobs: int | None,
    alongside: Callable[[], None] | None = None,
    sizes: Sequence[int] | None = None,
) -> list[bytes]:
    """The bitcode of each kernel (`compile_kernel`), in order. With more than one job,
    forked processes compile kernels beside this one, which first runs `alongside` (the
    compile driver lowers `@main` there) and then compiles kernels too: the kernels are
    independent, and a fork inherits the loaded passes, so a child starts in milliseconds.

    Each process takes the next kernel not yet taken, largest first (by `sizes`, the
    kernels' numbers of ops, where given): a share fixed in advance left one process
    idle while the other still had `@main` or a large kernel to go."""
    order = list(range(len(kernels)))
    if sizes is not None:
        order.sort(key=lambda index: -sizes[index])
    jobs = min(jobs or compile_jobs(), len(kernels) // MIN_KERNELS_PER_JOB)
    # a daemonic process (a conformance worker) may not have children
    if jobs <= 1 or multiprocessing.current_process().daemon or not _can_fork():
        if alongside is not None:
            alongside()
        return [compile_kernel(k, target, lower_module).as_bitcode() for k in kernels]
    context = multiprocessing.get_context("fork")
    taken = context.Value("q", 0)
    queue = _KernelQueue(order, taken)
    children: list[tuple[BaseProcess, Connection | PipeConnection]] = []
    codes: dict[int, bytes] = {}
    try:
        for _ in range(jobs - 1):
            receive, send = context.Pipe(duplex=False)
            child = context.Process(
                target=_compile_share, args=(send, queue, kernels, target, lower_module)
            )
            child.start()
            send.close()
            children.append((child, receive))
        if alongside is not None:
            alongside()
        codes.update(_compile_taken(queue, kernels, target, lower_module))
        for child, receive in children:
            codes.update(_received(child, receive))
    finally:
        for child, receive in children:
            receive.close()
            if child.exitcode is None and len(codes) < len(kernels):  # failed: stop the rest
                child.terminate()
            child.join()
    return [codes[index] for index in range(len(kernels))]


@dataclass
class _KernelQueue:
    """The kernels' indices in the order they are taken, and how many are taken: a counter
    in memory shared with the forked children."""

    order: list[int]
    taken: Synchronized[int]

    def next(self) -> int | None:
        with self.taken.get_lock():
            position = self.taken.value
            self.taken.value = position + 1
        return self.order[position] if position < len(self.order) else None


def _compile_taken(
    queue: _KernelQueue, kernels: Sequence[Kernel], target: LlvmTarget, lower_module: LowerModule
) -> dict[int, bytes]:
    """Compiles kernels from `queue` until none is left: their bitcode by index."""
    codes: dict[int, bytes] = {}
    while (index := queue.next()) is not None:
        codes[index] = compile_kernel(kernels[index], target, lower_module).as_bitcode()
    return codes


def _can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def _compile_share(
    send: Connection | PipeConnection,
    queue: _KernelQueue,
    kernels: Sequence[Kernel],
    target: LlvmTarget,
    lower_module: LowerModule,
) -> None:
    """A forked child's work: the bitcode of the kernels it took, by index, or the error
    that stopped it."""
    try:
        send.send(_compile_taken(queue, kernels, target, lower_module))
    except Exception as error:  # the parent raises it: a pass's error names the pass
        try:
            send.send(error)
        except Exception:  # an error that does not pickle: its message
            send.send(CompilationError(first_line(error)))
    finally:
        send.close()


def _received(child: BaseProcess, receive: Connection | PipeConnection) -> dict[int, bytes]:
    try:
        answer: object = receive.recv()
    except EOFError:
        child.join()
        raise CompilationError(
            f"a kernel compile process died (exit code {child.exitcode})"
        ) from None
    if isinstance(answer, Exception):
        raise answer
    assert isinstance(answer, dict)
    return cast(dict[int, bytes], answer)


def link_object(
    main: llvm_binding.ModuleRef, kernels: dict[str, llvm_binding.ModuleRef], target: LlvmTarget
) -> tuple[bytes, str]:
    """`main` (optimized: `optimize_llvm_ir`) with each kernel linked in under its name with
    internal linkage (the modules are consumed), emitted as one object; and the final LLVM IR
    text."""
    linked = main
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


def _op_count(kernel: Kernel) -> int:
    """The kernel's size as its compile cost grows: its number of ops."""
    return sum(1 for _ in kernel.function.walk())


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
