"""`terrace`: the model-level command line (import, compile, run, demo)."""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Generator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ..errors import CompilationError, TerraceError
from . import (
    bench_command,
    compare_command,
    conformance_command,
    fuzz_command,
    mlir_check_command,
    npu_command,
    profile_command,
    targets_command,
    tune_command,
)
from .arguments import add_input_shape as _add_input_shape
from .arguments import add_target_argument
from .arguments import input_shapes as _input_shapes
from .progress import CompileProgress

DEMO_MODEL = Path(__file__).resolve().parent.parent / "models" / "demo_cnn.onnx"
MLIR_EMITS = ("nn", "linalg", "loops", "llvm")
INTERNAL_ERROR = 70
"""Exit code of an unexpected exception (sysexits' EX_SOFTWARE); 1 is a user's mistake."""
EMIT_STAGES = (*MLIR_EMITS, "ll", "asm")

DESCRIPTION = """\
Terrace: an MLIR-style ML compiler in pure Python.

examples:
  terrace demo                              compile and run the bundled demo model
  terrace import model.onnx -o model.mlir --weights model.npz
  terrace compile model.onnx --emit linalg --time
  terrace compile model.onnx --emit asm -o model.s
  terrace compile model.onnx --target aarch64 --emit asm
  terrace compile model.onnx --target aarch64 -o out/   a deployable artifact folder
  terrace run out/ --input x=x.npy                    run it (here: under qemu-aarch64)
  terrace targets                           the targets, and what runs each
  terrace profile model.onnx                time per kernel and ONNX node
  terrace run model.onnx --input x=x.npy --output out.npz
  terrace-opt model.mlir --weights model.npz -p nn-fold-batchnorm,nn-canonicalize
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except TerraceError as error:
        print(f"terrace: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("terrace: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # a bug, not a user's mistake: still one line, its own exit code
        lines = str(error).strip().splitlines() or [""]
        name = type(error).__name__
        print(f"terrace: internal error: {name}: {lines[0]} (please report)", file=sys.stderr)
        return INTERNAL_ERROR


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="terrace",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    imp = commands.add_parser(
        "import",
        help="import an ONNX model and print its nn IR",
        description="Import an ONNX model as nn IR: one nn op per ONNX node, weights in a store.",
    )
    imp.add_argument("model", help="path of an .onnx file")
    imp.add_argument("-o", "--output", help="write the IR here instead of standard output")
    imp.add_argument("--weights", help="write the weight store here (.npz)")
    _add_input_shape(imp)
    imp.add_argument(
        "--print-debuginfo", action="store_true", help="print each op's ONNX node name as loc(...)"
    )
    imp.set_defaults(run=_run_import)

    compile_ = commands.add_parser(
        "compile",
        help="compile an ONNX model and print one stage of it",
        description="Compile an ONNX model for a target (--target; default: this machine) and "
        "print the stage named by --emit: "
        "nn, linalg, loops and llvm are MLIR that terrace-opt reads back (weights by name; "
        "--weights saves them), ll is LLVM IR text, asm the target's assembly after O3.",
    )
    _add_compile_arguments(compile_)
    run = commands.add_parser(
        "run",
        help="compile an ONNX model (or take an artifact folder) and run it on .npy inputs",
        description="Compile an ONNX model (through the compile cache) and run it once: in "
        "this process for the host's targets; for other targets (--target aarch64, riscv64, "
        "wasm32) as an artifact linked with the C harness and run under qemu-user or Node.js. "
        "MODEL may also be an artifact folder (`terrace compile -o`), run by its target's "
        "runner. Without --output, print each output's name, shape and a short summary.",
    )
    _add_run_arguments(run)

    demo = commands.add_parser(
        "demo",
        help="compile and run the bundled demo model",
        description="Import a model (the bundled demo CNN by default), summarize its nn IR, "
        "run it through the nn reference semantics on a random input, then compile it for "
        "the host and compare: top outputs, compile time, median latency, max abs error. "
        "The exit status is 1 when compiling fails (the reference run's outputs are still "
        "shown) or when the compiled outputs differ from the reference past --tolerance.",
    )
    demo.add_argument("model", nargs="?", default=str(DEMO_MODEL), help="an .onnx file")
    _add_input_shape(demo)
    demo.add_argument("--seed", type=int, default=0, help="seed of the random input")
    demo.add_argument("--runs", type=int, default=10, help="timed runs of the compiled model")
    demo.add_argument(
        "--tolerance",
        type=float,
        default=1e-4,
        help="largest max abs error accepted, relative to the largest |reference output| "
        "(default: 1e-4)",
    )
    add_target_argument(demo)
    demo.set_defaults(run=_run_demo)
    targets_command.register(commands)
    fuzz_command.register(commands)
    conformance_command.register(commands)
    bench_command.register(commands)
    mlir_check_command.register(commands)
    compare_command.register(commands)
    profile_command.register(commands)
    npu_command.register(commands)
    tune_command.register(commands)
    return parser


def _add_compile_arguments(compile_: argparse.ArgumentParser) -> None:
    compile_.add_argument("model", help="path of an .onnx file")
    compile_.add_argument(
        "--emit",
        choices=EMIT_STAGES,
        help="the stage to print (default: ll, or with -o and no --emit an artifact folder)",
    )
    compile_.add_argument(
        "-o",
        "--output",
        help="with --emit: write the stage here instead of standard output; without: write "
        "the deployable artifact into this folder (model.o, weights.bin, model.h, "
        "manifest.json, and model.so or model.wasm where the target's toolchain links one)",
    )
    compile_.add_argument("--weights", help="write the weight store here (.npz)")
    compile_.add_argument(
        "--time", action="store_true", help="print seconds per compile stage to stderr"
    )
    _add_input_shape(compile_)
    add_target_argument(compile_)
    add_tuning_db_argument(compile_)
    compile_.set_defaults(run=_run_compile)


def _add_run_arguments(run: argparse.ArgumentParser) -> None:
    run.add_argument("model", help="path of an .onnx file, or an artifact folder")
    run.add_argument(
        "--input",
        action="append",
        default=[],
        metavar="NAME=FILE.npy",
        help="the value of a graph input (repeatable; every input is needed)",
    )
    run.add_argument("--output", help="save the outputs here (.npz, by output name)")
    _add_input_shape(run)
    add_target_argument(run)
    add_tuning_db_argument(run)
    run.set_defaults(run=_run_run)


def add_tuning_db_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tuning-db",
        metavar="DB",
        help="apply the best records of this `terrace tune` database (default: "
        "TERRACE_TUNING_DB; without one, the analytical defaults)",
    )


def _run_import(args: argparse.Namespace) -> int:
    from ..frontend.onnx import import_model
    from .printing import module_text

    imported = import_model(args.model, _input_shapes(args.input_shape))
    text = module_text(imported.module, debuginfo=args.print_debuginfo)
    if args.output:
        Path(args.output).write_text(text)
    else:
        sys.stdout.write(text)
    if args.weights:
        imported.weights.save(args.weights)
    return 0


def _run_compile(args: argparse.Namespace) -> int:
    from ..compiler import StageTimer, lower, with_tuning
    from ..dialects.nn.weights import WeightStore
    from ..targets import get_target
    from .mlir_interop import upstream_form
    from .printing import module_text

    if args.emit is None and args.output:
        return _write_artifact(args)
    args.emit = args.emit or "ll"
    target, _ = with_tuning(get_target(args.target), args.tuning_db, 1)
    stage = "llvm" if args.emit in ("ll", "asm") else args.emit
    with _compile_progress(args.model) as progress:
        timer = StageTimer(listener=progress)
        lowered = lower(args.model, target, stage, timer, _input_shapes(args.input_shape))
        if args.emit in MLIR_EMITS:
            # below nn, the form upstream mlir-opt reads: weights as extern globals (docs/mlir.md)
            module = lowered.module if args.emit == "nn" else upstream_form(lowered.module)
            text = module_text(module)
        else:
            with timer.stage("translate"):
                text = target.translate(lowered.module)
        if args.emit == "asm":
            with timer.stage("codegen"):
                text = target.assembly(text)
    _write_text(text, args.output)
    if args.weights:
        WeightStore.of(lowered.module).save(args.weights)
    if args.time:
        print(f"compile stages (to --emit {args.emit}):", file=sys.stderr)
        print(timer.report(), file=sys.stderr)
        if lowered.abi is not None:
            workspace = lowered.abi.workspace_bytes
            print(f"workspace arena after memory planning: {workspace:,} bytes", file=sys.stderr)
    return 0


@contextmanager
def _compile_progress(model: str) -> Generator[CompileProgress]:
    """The progress line of a compile (silent for a quick one), erased when it ends."""
    line = CompileProgress(f"compiling {Path(model).name}")
    try:
        yield line
    finally:
        line.close()


def _write_artifact(args: argparse.Namespace) -> int:
    from ..compiler import compile_artifact

    if args.weights:
        raise TerraceError("--weights goes with --emit; an artifact folder holds weights.bin")
    if Path(args.output).suffix in (".ll", ".s", ".mlir"):
        raise TerraceError(
            f"-o {args.output}: without --emit, -o names an artifact folder; "
            "add --emit ll, asm or an MLIR stage to write that text"
        )
    with _compile_progress(args.model) as progress:
        written = compile_artifact(
            args.model,
            args.output,
            args.target,
            input_shapes=_input_shapes(args.input_shape),
            tuning_db=args.tuning_db,
            progress=progress,
        )
    for note in written.notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"wrote {written.folder}: {', '.join([*written.files, 'manifest.json'])}")
    if args.time:
        print("compile stages (to an artifact):", file=sys.stderr)
        print(written.timer.report(), file=sys.stderr)
    return 0


def _run_run(args: argparse.Namespace) -> int:
    from ..runtime.npu_sim.artifact import is_npu_artifact

    if Path(args.model).is_dir() and is_npu_artifact(Path(args.model)):
        names, outputs = _run_loaded(args)  # a split model: runs in this process
    elif Path(args.model).is_dir() or (args.target and not _runs_here(args.target)):
        names, outputs = _run_artifact(args)
    else:
        names, outputs = _run_in_process(args)
    if args.output:
        np.savez(args.output, allow_pickle=False, **dict(zip(names, outputs, strict=True)))
        return 0
    for name, value in zip(names, outputs, strict=True):
        print(f"{name}: {value.dtype}{list(value.shape)}  {_summary(value)}")
    return 0


def _run_loaded(args: argparse.Namespace) -> tuple[list[str], list[np.ndarray]]:
    from ..runtime import load

    model = load(args.model)
    return [spec.name for spec in model.outputs], model.run(_load_inputs(args.input))


def _runs_here(tag: str) -> bool:
    from ..targets import get_target

    return get_target(tag).runs_in_process()


def _run_in_process(args: argparse.Namespace) -> tuple[list[str], list[np.ndarray]]:
    from .. import compile as compile_model

    feeds = _load_inputs(args.input)
    with _compile_progress(args.model) as progress:
        model = compile_model(
            args.model,
            target=args.target,
            input_shapes=_input_shapes(args.input_shape),
            tuning_db=args.tuning_db,
            progress=progress,
        )
    outputs = model.run(feeds)
    names = [spec.name for spec in model.outputs]
    folded = [name for name in names if name in model.stats.folded_outputs]
    if folded:  # a constant-only model runs fine, but nothing of it was compiled
        listed = ", ".join(f"'{name}'" for name in folded)
        print(
            f"note: {listed} folded to constants at import (no compiled code computes them)",
            file=sys.stderr,
        )
    return names, outputs


def _run_artifact(args: argparse.Namespace) -> tuple[list[str], list[np.ndarray]]:
    """Runs an artifact folder (MODEL is one), or compiles MODEL for a target that does not
    run in this process into a temporary artifact: either way with the target's runner."""
    import tempfile

    from ..compiler import compile_artifact
    from ..runtime.artifact import read_manifest
    from ..targets import get_target

    feeds = _load_inputs(args.input)
    with tempfile.TemporaryDirectory(prefix="terrace-artifact-") as scratch:
        folder = Path(args.model)
        if not folder.is_dir():
            folder = Path(scratch)
            with _compile_progress(args.model) as progress:
                compile_artifact(
                    args.model,
                    folder,
                    args.target,
                    input_shapes=_input_shapes(args.input_shape),
                    progress=progress,
                )
        manifest = read_manifest(folder)
        if args.target and get_target(args.target).tag != manifest.machine.tag:
            raise TerraceError(
                f"{folder} is an artifact for {manifest.machine.tag}, not {args.target}"
            )
        inputs = _feeds_in_order([spec.name for spec in manifest.abi.inputs], feeds)
        outputs = get_target(manifest.machine.tag).run_artifact(folder, inputs)
    return [spec.name for spec in manifest.abi.outputs], outputs


def _feeds_in_order(names: Sequence[str], feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    unknown = [name for name in feeds if name not in names]
    if unknown:
        raise TerraceError(f"unknown input {', '.join(map(repr, unknown))}; inputs: {names}")
    missing = [name for name in names if name not in feeds]
    if missing:
        raise TerraceError(f"missing input {', '.join(repr(n) for n in missing)}")
    return [feeds[name] for name in names]


def _load_inputs(entries: Sequence[str]) -> dict[str, np.ndarray]:
    feeds: dict[str, np.ndarray] = {}
    for entry in entries:
        name, _, file = entry.partition("=")
        if not name or not file:
            raise TerraceError(f"--input '{entry}': expected NAME=FILE.npy")
        try:
            feeds[name] = np.load(file, allow_pickle=False)
        except (OSError, ValueError) as error:
            raise TerraceError(f"--input '{entry}': cannot read {file}: {error}") from None
    return feeds


def _summary(value: np.ndarray) -> str:
    if value.size == 0:
        return "(empty)"
    flat = value.reshape(-1)
    head = ", ".join(str(v) for v in flat[:4]) + (", ..." if flat.size > 4 else "")
    if value.dtype.kind not in "fiu":
        return f"[{head}]"
    numbers = flat.astype(np.float64)
    return f"min {numbers.min():.4g}  max {numbers.max():.4g}  mean {numbers.mean():.4g}  [{head}]"


def _write_text(text: str, output: str | None) -> None:
    if not output:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    try:
        Path(output).write_text(text)
    except OSError as error:
        raise TerraceError(f"cannot write {output}: {error.strerror}") from None


def _run_demo(args: argparse.Namespace) -> int:
    from ..dialects.nn import ConstantOfShapeOp, ConstantOp, WeightOp
    from ..dialects.nn.interpreter import run_function
    from ..frontend.onnx import import_model

    started = time.perf_counter()
    imported = import_model(args.model, _input_shapes(args.input_shape))
    import_seconds = time.perf_counter() - started
    ops = Counter(op.name for op in imported.module.walk() if op.name.startswith("nn."))
    constants = {ConstantOp.name, ConstantOfShapeOp.name, WeightOp.name}
    parameters = sum(a.size for a in imported.weights.values())
    print(f"model: {args.model}")
    nodes = f"{imported.node_count} ONNX nodes (opset {imported.opset})"
    print(f"imported {nodes} in {import_seconds:.2f} s")
    for spec in imported.inputs:
        print(f"  input  {spec.name}: {spec.dtype}{list(spec.shape)}")
    for spec in imported.outputs:
        print(f"  output {spec.name}: {spec.dtype}{list(spec.shape)}")
    print(
        f"weights: {len(imported.weights)} arrays, {parameters:,} parameters, "
        f"{imported.weights.nbytes() / 1e6:.2f} MB (held in the weight store, not the IR)"
    )
    print("nn ops:")
    for name, count in sorted(ops.items(), key=lambda item: (-item[1], item[0])):
        if name not in constants:
            print(f"  {count:5d}  {name}")
    rng = np.random.default_rng(args.seed)
    inputs = [rng.uniform(0, 1, s.shape).astype(s.dtype) for s in imported.inputs]
    started = time.perf_counter()
    outputs = run_function(imported.module, inputs)
    run_seconds = time.perf_counter() - started
    print(f"ran the nn reference semantics on a random input in {run_seconds:.2f} s")
    names = [spec.name for spec in imported.outputs]
    try:
        compiled_outputs, latencies = _compile_and_time(args, inputs)
    except TerraceError:
        # The reference run is still worth seeing; the exit status says the demo failed.
        print("the reference run's outputs (the compiled path failed):")
        _print_top(names, outputs)
        raise
    error = max(
        float(np.max(np.abs(c.astype(np.float64) - r), initial=0.0))
        for c, r in zip(compiled_outputs, outputs, strict=True)
    )
    scale = max(float(np.max(np.abs(r.astype(np.float64)), initial=0.0)) for r in outputs)
    print(
        f"median latency over {len(latencies)} runs: {np.median(latencies) * 1e3:.3f} ms "
        f"(reference: {run_seconds * 1e3:.1f} ms)"
    )
    print(f"max abs error against the nn reference: {error:.3g}")
    _print_top(names, compiled_outputs)
    if error > args.tolerance * max(scale, 1e-30):
        raise TerraceError(
            f"MISMATCH: the compiled outputs differ from the nn reference by {error:.3g}, more "
            f"than {args.tolerance:g} of the largest reference output ({scale:.3g})"
        )
    return 0


def _compile_and_time(
    args: argparse.Namespace, inputs: list[np.ndarray]
) -> tuple[list[np.ndarray], list[float]]:
    """Compiled outputs and per-run latencies; a model that does not compile raises a
    CompilationError saying so (anything but a TerraceError is a bug, reported by `main`)."""
    from .. import compile as compile_model

    started = time.perf_counter()
    try:
        with _compile_progress(args.model) as progress:
            model = compile_model(
                args.model,
                target=args.target,
                input_shapes=_input_shapes(args.input_shape),
                progress=progress,
            )
    except TerraceError as error:
        raise CompilationError(f"compiling the model failed: {error}") from error
    compile_seconds = time.perf_counter() - started
    compiled_outputs = model(*inputs)
    cached = " (from the compile cache)" if model.stats.from_cache else ""
    print(f"compiled for {args.target or 'the host'} in {compile_seconds:.2f} s{cached}")
    print(f"workspace arena after memory planning: {model.abi.workspace_bytes:,} bytes")
    latencies: list[float] = []
    for _ in range(max(args.runs, 1)):
        started = time.perf_counter()
        model(*inputs)
        latencies.append(time.perf_counter() - started)
    return compiled_outputs, latencies


def _print_top(names: Sequence[str], outputs: Sequence[np.ndarray]) -> None:
    for name, value in zip(names, outputs, strict=True):
        flat = value.reshape(-1)
        top = np.argsort(flat)[::-1][:5]
        ranked = ", ".join(f"#{i}: {flat[i]:.4f}" for i in top)
        print(f"  {name} top-5: {ranked}")


if __name__ == "__main__":
    sys.exit(main())
