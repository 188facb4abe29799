"""Reproducers: the shrunk program of a finding as `.mlir`, its inputs and weights as `.npz`.

`<dir>/<pass>-<hash>.mlir` starts with comment lines that terrace-opt ignores:

    // RUN: terrace-opt %s -p 'nn-canonicalize' --weights %S/<pass>-<hash>.weights.npz
    // terrace fuzz: mismatch after pass 'nn-canonicalize' at level nn: result #0: ...
    // level: nn, accumulations: 4
    // oracle: mlir                       (only when upstream MLIR gave the expected results)
    // inputs: %S/<pass>-<hash>.inputs.npz (x0, x1: @main's arguments in order)
    // recheck: python -m terrace.fuzz.reproducer %s

The RUN line reruns the pipeline up to the first pass that changed the answer (`%s` is the
file, `%S` its folder, as in lit); `recheck` runs the program before and after on the saved
inputs and says whether the mismatch is still there (exit status 1 when it is).
"""

from __future__ import annotations

import argparse
import hashlib
import re
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..runtime.abi import TensorSpec
from .levels import Program

if TYPE_CHECKING:  # the checker imports this module when it writes a reproducer
    from .checker import Finding

_RUN = re.compile(r"^// RUN: terrace-opt %s (.*)$", re.MULTILINE)
_LEVEL = re.compile(r"^// level: (\S+), accumulations: (\d+)$", re.MULTILINE)
_ORACLE = re.compile(r"^// oracle: (\S+)$", re.MULTILINE)


def write_reproducer(finding: Finding, directory: Path, plugins: Sequence[str] = ()) -> Path:
    """Writes the finding's files into `directory`; returns the .mlir path."""
    directory.mkdir(parents=True, exist_ok=True)
    pipeline = _pipeline_until(finding.pipeline, finding.culprit, plugins)
    digest = hashlib.sha1(f"{pipeline}\n{finding.program.text}".encode()).hexdigest()[:10]
    stem = f"{finding.culprit}-{digest}"
    names = [spec.name for spec in finding.program.inputs]
    np.savez(
        directory / f"{stem}.inputs.npz",
        allow_pickle=False,
        **dict(zip(names, finding.inputs, strict=True)),
    )
    arguments = ["-p", pipeline]
    if finding.program.weights:
        np.savez(directory / f"{stem}.weights.npz", allow_pickle=False, **finding.program.weights)
        arguments += ["--weights", f"%S/{stem}.weights.npz"]
    for source in plugins:
        plugin = Path(source)
        arguments += ["--load-pass-plugin", str(plugin.resolve()) if plugin.exists() else source]
    message = " ".join(finding.describe().split())
    header = [
        f"// RUN: terrace-opt %s {shlex.join(arguments)}",
        f"// terrace fuzz: {message} (level {finding.program.level})",
        f"// level: {finding.program.level}, accumulations: {finding.program.accumulations}",
        *([f"// oracle: {finding.oracle}"] if finding.oracle != "level" else []),
        f"// inputs: %S/{stem}.inputs.npz ({', '.join(names)}: @main's arguments in order)",
        "// recheck: python -m terrace.fuzz.reproducer %s",
    ]
    path = directory / f"{stem}.mlir"
    path.write_text("\n".join(header) + "\n" + finding.program.text + "\n")
    return path


def _pipeline_until(pipeline: str, culprit: str, plugins: Sequence[str]) -> str:
    """The pipeline's passes up to the first `culprit` (all of it when not found)."""
    from .checker import parse_pipeline

    kept: list[str] = []
    for module_pass in parse_pipeline(pipeline, plugins):
        kept.append(str(module_pass.pipeline_pass_spec()))
        if module_pass.name == culprit:
            break
    return ",".join(kept)


@dataclass(frozen=True)
class Reproducer:
    path: Path
    arguments: list[str]
    """terrace-opt's arguments from the RUN line, with %s and %S substituted."""
    pipeline: str
    plugins: list[str]
    program: Program
    inputs: list[np.ndarray]
    oracle: str = "level"


def load_reproducer(path: str | Path) -> Reproducer:
    path = Path(path)
    text = path.read_text()
    run = _RUN.search(text)
    level = _LEVEL.search(text)
    if run is None or level is None:
        raise ValueError(f"{path} is not a terrace fuzz reproducer (no RUN or level line)")
    folder = str(path.resolve().parent)
    arguments = [a.replace("%S", folder) for a in shlex.split(run.group(1))]
    option = dict(zip(arguments[::2], arguments[1::2], strict=False))
    plugins = [arguments[i + 1] for i, a in enumerate(arguments) if a == "--load-pass-plugin"]
    weights: dict[str, np.ndarray] = {}
    if "--weights" in option:
        with np.load(option["--weights"]) as stored:
            weights = {name: stored[name] for name in stored.files}
    with np.load(path.with_name(path.name.removesuffix(".mlir") + ".inputs.npz")) as stored:
        inputs = [stored[name] for name in stored.files]
    specs = tuple(
        TensorSpec(name, array.dtype, array.shape)
        for name, array in zip([f"x{i}" for i in range(len(inputs))], inputs, strict=True)
    )
    program = Program(text, specs, level.group(1), weights, accumulations=int(level.group(2)))
    oracle = _ORACLE.search(text)
    chosen = oracle.group(1) if oracle else "level"
    return Reproducer(path, arguments, option["-p"], plugins, program, inputs, chosen)


def recheck(path: str | Path) -> Finding | None:
    """The finding the reproducer still shows, or None when the pipeline now gets it right."""
    from .checker import check_program, parse_pipeline

    reproducer = load_reproducer(path)
    passes = parse_pipeline(reproducer.pipeline, reproducer.plugins)
    return check_program(reproducer.program, passes, [reproducer.inputs], oracle=reproducer.oracle)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m terrace.fuzz.reproducer",
        description="reruns a fuzzer reproducer: exit status 1 while the mismatch is there",
    )
    parser.add_argument("reproducer", help="the .mlir file that terrace fuzz wrote")
    args = parser.parse_args(argv)
    finding = recheck(args.reproducer)
    if finding is None:
        print(f"{args.reproducer}: no longer reproduces")
        return 0
    print(f"{args.reproducer}: {finding.describe()}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
