"""requirements.lock, which `make demo` and `make test` install, pins every package to one
version that pyproject.toml's ranges (what `pip install terrace` users get) allow."""

import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"


def _locked() -> dict[str, Version]:
    pins: dict[str, Version] = {}
    for line in LOCK.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, separator, version = line.partition("==")
        assert separator and version.strip(), f"not an exact pin: {line!r}"
        pins[canonicalize_name(name)] = Version(version.strip())
    return pins


def _requirements(extras: tuple[str, ...]) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    listed = list(project["dependencies"])
    for extra in extras:
        listed += project["optional-dependencies"][extra]
    return [Requirement(text) for text in listed]


def _unmet(requirements: list[Requirement], pins: dict[str, Version]) -> list[str]:
    unmet: list[str] = []
    for requirement in requirements:
        version = pins.get(canonicalize_name(requirement.name))
        if version is None:
            unmet.append(f"{requirement.name}: not in the lock")
        elif not requirement.specifier.contains(version, prereleases=True):
            unmet.append(f"{requirement.name}: {version} is outside {requirement.specifier}")
    return unmet


def test_the_lock_satisfies_every_range_in_pyproject():
    assert _unmet(_requirements(("test", "bench")), _locked()) == []


def test_the_lock_check_catches_a_version_outside_a_range():
    pins = _locked() | {"onnx": Version("1.12.0")}
    assert _unmet(_requirements(()), pins) == ["onnx: 1.12.0 is outside <1.24,>=1.17"]
    del pins["xdsl"]
    assert "xdsl: not in the lock" in _unmet(_requirements(()), pins)


def test_the_lock_holds_every_dependency_of_what_it_holds():
    """Transitive dependencies are pinned too: nothing a locked package needs is missing."""
    pins = _locked()
    missing: list[str] = []
    for name in pins:
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue  # checked by the next test
        for text in requires:
            requirement = Requirement(text)
            if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
                continue
            if canonicalize_name(requirement.name) not in pins:
                missing.append(f"{name} needs {requirement.name}")
    assert missing == []


def test_this_environment_was_installed_from_the_lock():
    differ = {
        name: (str(version), metadata.version(name))
        for name, version in _locked().items()
        if Version(metadata.version(name)) != version
    }
    assert differ == {}, "run `make test` (or `make .venv/.installed`) to install the lock"
