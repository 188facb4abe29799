"""The pass registry keeps its promises: names match classes and modules, and every pass has a
FileCheck test."""

from __future__ import annotations

from pathlib import Path

import pytest

from terrace.passes.registry import TERRACE_PASSES, all_passes

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("name", sorted(TERRACE_PASSES))
def test_registered_name_matches_class_and_module(name: str):
    pass_class = TERRACE_PASSES[name]()
    assert pass_class.name == name
    module_file = pass_class.__module__.rsplit(".", 1)[-1]
    assert module_file == name.removeprefix("convert-").replace("-", "_")
    assert (pass_class.__doc__ or "").strip(), f"{name} needs a docstring for --help"


@pytest.mark.parametrize("name", sorted(TERRACE_PASSES))
def test_every_pass_has_a_filecheck_test(name: str):
    pass_class = TERRACE_PASSES[name]()
    # filecheck/ mirrors the source tree: terrace.lowering.x -> filecheck/lowering/x.mlir
    *folders, module_file = pass_class.__module__.split(".")[1:]
    folder = Path(*folders)
    test = ROOT / "filecheck" / folder / f"{module_file}.mlir"
    package = ROOT / "filecheck" / folder / module_file  # a pass split into a package
    tests = [test] if test.is_file() else sorted(package.glob("*.mlir"))
    assert tests, f"{name} has no {test.relative_to(ROOT)} nor {package.relative_to(ROOT)}/"
    texts = [t.read_text() for t in tests]
    assert any(f"-p {name}" in text or f"-p '{name}" in text for text in texts)


def test_terrace_passes_win_name_clashes():
    passes = all_passes()
    for name, factory in TERRACE_PASSES.items():
        assert passes[name] is factory
    assert "cse" in passes and "dce" in passes


def test_the_registry_finds_every_pass_class_of_the_package():
    import importlib
    import inspect

    from xdsl.passes import ModulePass

    from terrace.passes.registry import PACKAGE_ROOT, PASS_FOLDERS

    defined: set[str] = set()
    for folder in PASS_FOLDERS:
        for path in sorted((PACKAGE_ROOT / folder).rglob("*.py")):
            parts = path.relative_to(PACKAGE_ROOT).with_suffix("").parts
            parts = parts[:-1] if parts[-1] == "__init__" else parts
            module = importlib.import_module(".".join(("terrace", *parts)))
            defined.update(
                value.name
                for value in vars(module).values()
                if inspect.isclass(value)
                and issubclass(value, ModulePass)
                and value.__module__ == module.__name__
                and isinstance(getattr(value, "name", None), str)
            )
    assert defined == set(TERRACE_PASSES)
