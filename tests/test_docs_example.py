"""The README's pass-writing example works as documented: loaded as a plugin into terrace-opt."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLUGIN = ROOT / "docs" / "examples" / "simplify_leaky_relu.py"

PROGRAM = """
func.func @main(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %0 = nn.leaky_relu %x {alpha = 0.0 : f64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %1 = nn.leaky_relu %0 {alpha = 0.1 : f64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %1 : tensor<2x3xf32>
}
"""


def test_readme_plugin_rewrites_only_zero_slope(tmp_path: Path):
    source = tmp_path / "input.mlir"
    source.write_text(PROGRAM)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "terrace.tools.terrace_opt",
            str(source),
            "--load-pass-plugin",
            str(PLUGIN),
            "-p",
            "simplify-leaky-relu",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "%0 = nn.relu %x" in result.stdout
    assert result.stdout.count("nn.leaky_relu") == 1


def test_readme_mentions_the_example():
    readme = (ROOT / "README.md").read_text()
    assert "simplify-leaky-relu" in readme
    assert PLUGIN.read_text().split("from terrace.dialects import nn")[0].count("import") > 0
