"""The compile cache's key covers every source file of the package: an edit to any module
(the driver, the backend, a pass, the runtime) gives new keys, so a cache never serves code
that the edited sources would not generate. Checked on a copy of the package's sources, so
that edits touch no real file."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest

from terrace.runtime import cache
from terrace.runtime.cache import source_digest, source_files
from terrace.targets import host_target

ROOT = Path(__file__).resolve().parent.parent


def _declared_modules() -> set[str]:
    """The .py files of the packages pyproject.toml declares (what an install ships)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    folders = [
        ROOT.joinpath(*package.split(".")[1:])
        for package in config["tool"]["setuptools"]["packages"]
    ]
    found = {p.relative_to(ROOT).as_posix() for f in folders for p in f.glob("*.py")}
    # a declared package without __init__.py holds data and scripts, not modules
    return {name for name in found if (ROOT / name).parent.joinpath("__init__.py").is_file()}


@pytest.fixture(scope="module")
def copied_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("package")
    for source in source_files(ROOT):
        target = copy / source.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    (copy / "tests").mkdir()
    (copy / "tests" / "test_x.py").write_text("x = 1\n")
    return copy


def test_every_module_of_every_declared_package_is_hashed():
    hashed = {p.relative_to(ROOT).as_posix() for p in source_files(ROOT)}
    declared = _declared_modules()
    assert {"compiler.py", "backend.py", "errors.py", "runtime/cache.py"} <= hashed
    assert declared <= hashed, f"left out of the key: {sorted(declared - hashed)}"
    assert not any(name.startswith(("tests/", ".venv/", "docs/")) for name in hashed)


@pytest.mark.parametrize(
    "edited",
    ["compiler.py", "backend.py", "errors.py", "frontend/onnx/graph.py", "targets/llvm/codegen.py"],
)
def test_editing_a_source_file_changes_the_digest(copied_package: Path, edited: str):
    before = source_digest(copied_package)
    path = copied_package / edited
    original = path.read_bytes()
    try:
        path.write_bytes(original + b"\n# edited\n")
        assert source_digest(copied_package) != before
    finally:
        path.write_bytes(original)
    assert source_digest(copied_package) == before


def test_a_new_module_changes_the_digest_and_a_test_file_does_not(copied_package: Path):
    before = source_digest(copied_package)
    (copied_package / "tests" / "test_x.py").write_text("x = 2\n")
    assert source_digest(copied_package) == before
    added = copied_package / "passes" / "new_pass.py"
    added.write_text("PASS = 1\n")
    try:
        assert source_digest(copied_package) != before
    finally:
        added.unlink()


def test_the_compile_cache_key_follows_the_source_digest(monkeypatch: pytest.MonkeyPatch):
    target = host_target()
    cache._environment.cache_clear()  # pyright: ignore[reportPrivateUsage]
    try:
        monkeypatch.setattr(cache, "source_digest", lambda: "sources A")
        key_a = cache.cache_key(target.fingerprint(), "model")
        cache._environment.cache_clear()  # pyright: ignore[reportPrivateUsage]
        monkeypatch.setattr(cache, "source_digest", lambda: "sources B")
        assert cache.cache_key(target.fingerprint(), "model") != key_a
    finally:
        monkeypatch.undo()
        cache._environment.cache_clear()  # pyright: ignore[reportPrivateUsage]
