"""terrace-opt as a user meets it: run as a subprocess, checked on exit code, stdout and stderr."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from xdsl.passes import ModulePass
from xdsl.transforms.canonicalize import CanonicalizePass

from terrace.dialects.nn import ALL_OPS
from terrace.passes.registry import TERRACE_PASSES, all_passes
from terrace.tools import terrace_opt

REPO = Path(__file__).resolve().parents[2]

RELU_CHAIN = """\
func.func @f(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %y = nn.relu %x : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %z = nn.relu %y : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %z : tensor<2x3xf32>
}
"""

WEIGHTED = """\
func.func @f() -> tensor<3xf32> {
  %w = nn.weight "fc.w" : tensor<3xf32>
  func.return %w : tensor<3xf32>
}
"""

WRONG_SHAPE = """\
func.func @f(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %y = nn.relu %x : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %bad = nn.relu %y : (tensor<2x3xf32>) -> tensor<3x2xf32>
  func.return %y : tensor<2x3xf32>
}
"""

PLUGIN = '''\
"""Test passes, loaded with --load-pass-plugin."""
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp, TensorType, f32
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.transforms.canonicalize import CanonicalizePass  # imported: not this plugin's pass

from terrace.dialects.nn.constants import WeightOp
from terrace.dialects.nn.elementwise import ReluOp, SigmoidOp
from terrace.dialects.nn.weights import WeightStore


class ReluToSigmoid(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ReluOp, rewriter: PatternRewriter) -> None:
        rewriter.replace(op, SigmoidOp.create(operands=[op.X], result_types=[op.Y.type]))


class ReluToWrongShape(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ReluOp, rewriter: PatternRewriter) -> None:
        wrong = TensorType(f32, [7])
        rewriter.replace(op, ReluOp.create(operands=[op.X], result_types=[wrong]))


@dataclass(frozen=True)
class ReluToSigmoidPass(ModulePass):
    """Replaces every nn.relu with nn.sigmoid.

    A second line that --help must not show.
    """

    name = "relu-to-sigmoid"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(ReluToSigmoid()).rewrite_module(op)


@dataclass(frozen=True)
class BreakReluPass(ModulePass):
    """Gives nn.relu a wrong result type, so that the IR no longer verifies."""

    name = "break-relu"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(ReluToWrongShape(), apply_recursively=False).rewrite_module(op)


@dataclass(frozen=True)
class ScaleWeightsPass(ModulePass):
    """Adds a scaled copy of every weight to the module's store."""

    name = "scale-weights"
    factor: float = 2.0

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for weight in op.walk():
            if isinstance(weight, WeightOp):
                store = WeightStore.of(weight)
                store.add(weight.ref.data + ".scaled", store[weight.ref.data] * self.factor)
'''


Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def run(tmp_path: Path) -> Run:
    def run_terrace_opt(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "terrace.tools.terrace_opt", *args],
            input=stdin,
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=120,
        )

    return run_terrace_opt


@pytest.fixture
def plugin(tmp_path: Path) -> Path:
    path = tmp_path / "my_passes.py"
    path.write_text(PLUGIN)
    return path


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text)
    return path


def assert_one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("terrace-opt: error: ")
    return lines[0]


def first_doc_line(pass_class: type[ModulePass]) -> str:
    doc = pass_class.__doc__
    assert doc is not None
    return doc.strip().splitlines()[0].strip()


# -- --help ----------------------------------------------------------------------------------


def test_help_teaches_with_an_example_and_lists_every_pass(run: Run) -> None:
    result = run("--help")
    assert result.returncode == 0, result.stderr
    assert "terrace-opt model.mlir -p 'nn-canonicalize,cse'" in result.stdout
    listed = {m.group(1) for m in re.finditer(r"^    (\S+)", result.stdout, re.MULTILINE)}
    assert set(all_passes()) <= listed


def test_help_shows_first_docstring_line_of_each_pass(run: Run) -> None:
    help_text = run("--help").stdout
    for name, factory in TERRACE_PASSES.items():
        try:
            summary = re.escape(first_doc_line(factory()))
        except ImportError:  # a pass still being written shows why it is missing
            summary = r"\(unavailable: "
        assert re.search(rf"^    {name} +{summary}", help_text, re.MULTILINE), name
    canonicalize = re.escape(first_doc_line(CanonicalizePass))
    assert re.search(rf"^    canonicalize +{canonicalize}$", help_text, re.MULTILINE)


def test_help_lists_terrace_passes_before_xdsl_passes(run: Run) -> None:
    help_text = run("--help").stdout
    assert help_text.index("Terrace passes:") < help_text.index("xDSL passes:")
    assert help_text.index("    nn-canonicalize ") < help_text.index("    canonicalize ")


def test_help_lists_plugin_passes_with_options(run: Run, plugin: Path) -> None:
    help_text = run("--load-pass-plugin", str(plugin), "--help").stdout
    summary = "Replaces every nn.relu with nn.sigmoid."
    assert re.search(rf"^    relu-to-sigmoid +{re.escape(summary)}$", help_text, re.MULTILINE)
    assert "A second line" not in help_text
    assert "{factor: float = 2.0}" in help_text


def test_unavailable_pass_is_listed_with_the_reason(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken() -> type[ModulePass]:
        raise ImportError("cannot import name 'HalfWrittenPass'")

    monkeypatch.setitem(TERRACE_PASSES, "half-written", broken)
    assert terrace_opt.main(["--list-passes"]) == 0
    listing = capsys.readouterr().out
    assert re.search(r"^    half-written +\(unavailable: cannot import name", listing, re.M)

    assert terrace_opt.main(["-p", "half-written"]) == 1
    assert "pass 'half-written' is unavailable" in capsys.readouterr().err


# -- user mistakes: one line, exit code 1 ----------------------------------------------------


def test_unknown_pass_suggests_close_names(run: Run, tmp_path: Path) -> None:
    source = write(tmp_path, "in.mlir", RELU_CHAIN)
    line = assert_one_line_error(run(str(source), "-p", "nn-canonicalise"))
    assert "unknown pass 'nn-canonicalise'" in line
    assert "did you mean nn-canonicalize" in line


def test_unknown_option_names_the_valid_ones(run: Run, tmp_path: Path, plugin: Path) -> None:
    source = write(tmp_path, "in.mlir", WEIGHTED)
    args = (str(source), "--load-pass-plugin", str(plugin), "-p", "scale-weights{factr=3.0}")
    line = assert_one_line_error(run(*args))
    assert "pass 'scale-weights' has no option 'factr'; did you mean factor?" in line


def test_bad_option_value_is_one_line(run: Run, tmp_path: Path, plugin: Path) -> None:
    source = write(tmp_path, "in.mlir", WEIGHTED)
    args = (str(source), "--load-pass-plugin", str(plugin), "-p", "scale-weights{factor=big}")
    assert "bad options for pass 'scale-weights'" in assert_one_line_error(run(*args))


def test_missing_input_file(run: Run) -> None:
    line = assert_one_line_error(run("no_such.mlir"))
    assert "cannot read no_such.mlir" in line


def test_parse_error_names_the_line(run: Run, tmp_path: Path) -> None:
    broken = RELU_CHAIN.replace("nn.relu %y :", "nn.relu %y, :")
    result = run(str(write(tmp_path, "in.mlir", broken)))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "in.mlir:3:" in result.stderr
    assert "operand expected" in result.stderr


def test_parse_error_in_a_later_chunk_names_the_file_line(run: Run, tmp_path: Path) -> None:
    broken = RELU_CHAIN + "// -----\n" + RELU_CHAIN.replace("nn.relu %y :", "nn.relu %y, :")
    result = run(str(write(tmp_path, "in.mlir", broken)), "--split-input-file")
    assert result.returncode == 1
    assert "in.mlir:9:" in result.stderr  # line 3 of the second chunk, which starts at line 6


def test_non_tensor_operand_is_a_parse_error_at_the_op(run: Run, tmp_path: Path) -> None:
    scalar = RELU_CHAIN.replace("(tensor<2x3xf32>) -> tensor<2x3xf32>\n  %z", "(f32) -> f32\n  %z")
    result = run(str(write(tmp_path, "in.mlir", scalar)))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "in.mlir:2:" in result.stderr
    assert "should be of base attribute tensor" in result.stderr


def test_verification_error_names_the_op(run: Run, tmp_path: Path) -> None:
    result = run(str(write(tmp_path, "in.mlir", WRONG_SHAPE)))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "in.mlir does not verify: nn.relu: result #0 has type tensor<3x2xf32>" in result.stderr
    assert "at: %bad = nn.relu %y" in result.stderr


def test_verify_diagnostics_prints_the_error_and_succeeds(run: Run, tmp_path: Path) -> None:
    result = run(str(write(tmp_path, "in.mlir", WRONG_SHAPE)), "--verify-diagnostics")
    assert result.returncode == 0
    assert "nn.relu: result #0 has type tensor<3x2xf32>" in result.stdout


@pytest.mark.parametrize(
    ("plugin_text", "expected"),
    [
        ("x = 1\n", "defines no ModulePass subclass with a `name`"),
        ("def broken(:\n", "SyntaxError"),
        ("raise RuntimeError('no GPU here')\n", "RuntimeError: no GPU here"),
    ],
)
def test_bad_plugin_is_one_line(run: Run, tmp_path: Path, plugin_text: str, expected: str) -> None:
    bad = write(tmp_path, "bad_plugin.py", plugin_text)
    source = write(tmp_path, "in.mlir", RELU_CHAIN)
    line = assert_one_line_error(run(str(source), "--load-pass-plugin", str(bad)))
    assert expected in line


def test_missing_plugin_module_is_one_line(run: Run, tmp_path: Path) -> None:
    source = write(tmp_path, "in.mlir", RELU_CHAIN)
    line = assert_one_line_error(run(str(source), "--load-pass-plugin", "no_such_plugin_module"))
    assert "cannot import plugin no_such_plugin_module" in line


# -- passes, plugins and what runs between them ----------------------------------------------


def test_plugin_pass_from_a_file_is_usable_with_p(run: Run, tmp_path: Path, plugin: Path) -> None:
    source = write(tmp_path, "in.mlir", RELU_CHAIN)
    result = run(str(source), "--load-pass-plugin", str(plugin), "-p", "relu-to-sigmoid")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("nn.sigmoid") == 2
    assert "nn.relu" not in result.stdout


def test_plugin_pass_from_a_module_name(run: Run, tmp_path: Path, plugin: Path) -> None:
    del plugin  # my_passes.py sits in the working directory, which is on sys.path with -m
    source = write(tmp_path, "in.mlir", RELU_CHAIN)
    result = run(str(source), "--load-pass-plugin", "my_passes", "-p", "relu-to-sigmoid,cse")
    assert result.returncode == 0, result.stderr
    assert "nn.sigmoid" in result.stdout


def test_ir_is_verified_after_every_pass(run: Run, tmp_path: Path, plugin: Path) -> None:
    source = write(tmp_path, "in.mlir", RELU_CHAIN)
    result = run(str(source), "--load-pass-plugin", str(plugin), "-p", "break-relu,cse")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "IR after pass 'break-relu' does not verify: nn.relu: result #0" in result.stderr


def test_print_ir_after_all_prints_after_each_pass(run: Run, tmp_path: Path, plugin: Path) -> None:
    source = write(tmp_path, "in.mlir", RELU_CHAIN)
    args = ("--load-pass-plugin", str(plugin), "--print-ir-after-all")
    result = run(str(source), *args, "-p", "relu-to-sigmoid,cse")
    assert result.returncode == 0, result.stderr
    dumps = re.split(r"^// -----// IR Dump After (.*) //----- //$", result.stderr, flags=re.M)
    # re.split gives [before, header1, ir1, header2, ir2]
    assert dumps[1::2] == [
        "ReluToSigmoidPass (relu-to-sigmoid)",
        "CommonSubexpressionElimination (cse)",
    ]
    after_rewrite = dumps[2]
    assert "nn.sigmoid" in after_rewrite and "nn.relu" not in after_rewrite
    assert "func.func @f" in dumps[4]
    assert "IR Dump" not in result.stdout


def test_time_passes_prints_a_table(run: Run, tmp_path: Path, plugin: Path) -> None:
    source = write(tmp_path, "in.mlir", RELU_CHAIN)
    args = ("--load-pass-plugin", str(plugin), "--time-passes", "-p", "relu-to-sigmoid,cse")
    result = run(str(source), *args)
    assert result.returncode == 0, result.stderr
    rows = dict(
        (m.group(2), float(m.group(1)))
        for m in re.finditer(r"^\s+(\d+\.\d+)\s+(\S+)\s*$", result.stderr, re.M)
    )
    assert set(rows) == {"relu-to-sigmoid", "cse", "(verify)", "Total"}
    parts = rows["relu-to-sigmoid"] + rows["cse"] + rows["(verify)"]
    assert rows["Total"] == pytest.approx(parts, abs=2e-4)
    assert "nn.sigmoid" in result.stdout  # the table does not replace the output


def test_output_file(run: Run, tmp_path: Path) -> None:
    source = write(tmp_path, "in.mlir", RELU_CHAIN)
    result = run(str(source), "-o", "out.mlir")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert (
        "%z = nn.relu %y : (tensor<2x3xf32>) -> tensor<2x3xf32>"
        in (tmp_path / "out.mlir").read_text()
    )


def test_split_input_file_keeps_the_separators(run: Run) -> None:
    result = run("--split-input-file", stdin=RELU_CHAIN + "// -----\n" + WEIGHTED)
    assert result.returncode == 0, result.stderr
    first, second = result.stdout.split("// -----\n")
    assert "nn.relu" in first and "nn.weight" not in first
    assert 'nn.weight "fc.w"' in second


def test_weights_round_trip_through_a_pass(run: Run, tmp_path: Path, plugin: Path) -> None:
    source = write(tmp_path, "in.mlir", WEIGHTED)
    np.savez(tmp_path / "in.npz", **{"fc.w": np.array([1.0, 2.0, 3.0], dtype=np.float32)})
    result = run(
        str(source),
        *("--load-pass-plugin", str(plugin), "-p", "scale-weights{factor=3.0}"),
        *("--weights", "in.npz", "--weights-out", "out.npz"),
    )
    assert result.returncode == 0, result.stderr
    with np.load(tmp_path / "out.npz") as saved:
        assert sorted(saved.files) == ["fc.w", "fc.w.scaled"]
        np.testing.assert_array_equal(saved["fc.w"], [1.0, 2.0, 3.0])
        np.testing.assert_array_equal(saved["fc.w.scaled"], [3.0, 6.0, 9.0])


def test_missing_weights_file(run: Run, tmp_path: Path) -> None:
    source = write(tmp_path, "in.mlir", WEIGHTED)
    line = assert_one_line_error(run(str(source), "--weights", "none.npz"))
    assert "cannot read weights from none.npz" in line


# -- the FileCheck suite covers the dialect --------------------------------------------------


def test_nn_filecheck_round_trips_every_op() -> None:
    """filecheck/dialects/nn/ (a file per module of dialects/nn/) has a CHECK line for every nn
    op."""
    folder = REPO / "filecheck" / "dialects" / "nn"
    text = "\n".join(path.read_text() for path in sorted(folder.glob("*.mlir")))
    checked = set(re.findall(r"^// CHECK.*?\b(nn\.\w+) ", text, re.MULTILINE))
    assert {op.name for op in ALL_OPS} <= checked
