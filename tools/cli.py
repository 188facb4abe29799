"""`terrace`: the model-level command line (import, demo)."""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import TerraceError

DEMO_MODEL = Path(__file__).resolve().parent.parent / "models" / "demo_cnn.onnx"

DESCRIPTION = """\
Terrace: an MLIR-style ML compiler in pure Python.

examples:
  terrace demo                              import and run the bundled demo model
  terrace import model.onnx -o model.mlir --weights model.npz
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

    demo = commands.add_parser(
        "demo",
        help="import and run the bundled demo model",
        description="Import a model (the bundled demo CNN by default), summarize its nn IR "
        "and run it through the nn reference semantics on a random input.",
    )
    demo.add_argument("model", nargs="?", default=str(DEMO_MODEL), help="an .onnx file")
    _add_input_shape(demo)
    demo.add_argument("--seed", type=int, default=0, help="seed of the random input")
    demo.set_defaults(run=_run_demo)
    return parser


def _add_input_shape(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--input-shape",
        action="append",
        default=[],
        metavar="NAME=D0,D1,...",
        help="static shape for a graph input with dynamic dimensions (repeatable)",
    )


def _input_shapes(entries: Sequence[str]) -> dict[str, list[int]]:
    shapes: dict[str, list[int]] = {}
    for entry in entries:
        name, _, dims = entry.rpartition("=")
        try:
            shapes[name] = [int(d) for d in dims.split(",")]
        except ValueError:
            raise TerraceError(f"--input-shape '{entry}': expected NAME=D0,D1,...") from None
        if not name:
            raise TerraceError(f"--input-shape '{entry}': expected NAME=D0,D1,...")
    return shapes


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
    for spec, value in zip(imported.outputs, outputs, strict=True):
        flat = value.reshape(-1)
        top = np.argsort(flat)[::-1][:5]
        ranked = ", ".join(f"#{i}: {flat[i]:.4f}" for i in top)
        print(f"  {spec.name} top-5: {ranked}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
