"""Nothing imports upward (STYLE.md): dialects import no passes, lowerings, targets or frontend;
passes and lowerings import no targets and no frontend; the runtime imports no frontend, no
compiler layer. Checked on every import statement, local ones included."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

FORBIDDEN = {
    "dialects": ("passes", "lowering", "targets", "frontend", "runtime", "tools", "compiler"),
    "passes": ("targets", "frontend", "tools", "compiler", "backend"),
    "lowering": ("passes", "targets", "frontend", "tools", "compiler", "backend"),
    "runtime": ("dialects", "passes", "lowering", "frontend", "tools", "compiler", "backend"),
}
"""Per layer (a top-level folder of the package), the layers it must not import."""

EXCEPTIONS = {
    # passes over linalg reuse the nn-to-linalg lowering's helpers for the IR they both build
    ("lowering", "passes"),
}


def _imported_layers(path: Path) -> set[str]:
    """The top-level folders of the package that `path` imports, relative imports resolved."""
    return _layers_in(path.read_text(), path.relative_to(ROOT).parent.parts)


def _layers_in(source: str, package: tuple[str, ...]) -> set[str]:
    """The top-level folders of the package that `source`, a module in `package`, imports."""
    layers: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.level == 0:
                parts = (node.module or "").split(".")
                if parts[0] == "terrace" and len(parts) > 1:
                    layers.add(parts[1])
                continue
            base = package[: len(package) - (node.level - 1)]
            target = [*base, *(node.module or "").split(".")]
            if target and target[0]:
                layers.add(target[0])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "terrace" and len(parts) > 1:
                    layers.add(parts[1])
    return layers


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_no_layer_imports_upward(layer: str):
    offenders: list[str] = []
    for path in sorted((ROOT / layer).rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        for imported in sorted(_imported_layers(path) & set(FORBIDDEN[layer])):
            if (relative, imported) in EXCEPTIONS or (layer, imported) in EXCEPTIONS:
                continue
            offenders.append(f"{relative} imports {imported}/")
    assert not offenders, "\n".join(offenders)


def test_the_checker_sees_relative_and_local_imports() -> None:
    assert "dialects" in _imported_layers(ROOT / "passes" / "nn_fold_batchnorm.py")
    source = (
        "from ..dialects import nn\n"
        "import terrace.runtime.jit\n"
        "def build():\n"
        "    from ..targets.llvm import codegen\n"
        "    from . import common\n"
    )
    assert _layers_in(source, ("passes",)) == {"dialects", "runtime", "targets", "passes"}
    # three dots from lowering/nn_to_linalg/ reach the package's root
    assert _layers_in("from ...passes import x\n", ("lowering", "nn_to_linalg")) == {"passes"}
