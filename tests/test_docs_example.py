"""The README's pass example works as documented: loaded as a plugin into terrace-opt."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLUGIN = ROOT / "docs" / "examples" / "erase_redundant_relu.py"

PROGRAM = """
func.func @main(%x: tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<2x3xf32>) {
  %e = nn.exp %x : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %0 = nn.relu %e : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %1 = nn.relu %x : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %0, %1 : tensor<2x3xf32>, tensor<2x3xf32>
}
"""


def test_readme_plugin_erases_only_the_relu_of_a_non_negative_value(tmp_path: Path):
    source = tmp_path / "input.mlir"
    source.write_text(PROGRAM)
    command = [sys.executable, "-m", "terrace.tools.terrace_opt", str(source)]
    command += ["--load-pass-plugin", str(PLUGIN), "-p", "erase-redundant-relu"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("nn.relu") == 1 and "nn.relu %x" in result.stdout
    assert "func.return %e, %0" in result.stdout  # the printer renumbers what is left


def test_readme_shows_the_example_as_it_is():
    readme = (ROOT / "README.md").read_text()
    source = PLUGIN.read_text()
    pattern = source[source.index("class EraseReluOfNonNegative") :]
    assert pattern.strip() in readme
