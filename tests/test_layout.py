"""The tree's coverage rules, as tests: every nn op has reference semantics, a lowering (or is
listed as import-only) and a FileCheck case; every registered decomposition of the importer
has a test; the reference and the lowering are split by the dialect's op families."""

from __future__ import annotations

import re
from pathlib import Path

import onnx.defs
import pytest

from terrace.dialects.nn import ALL_OPS, RangeCheckOp, WeightOp
from terrace.dialects.nn.base import NnOperation
from terrace.dialects.nn.interpreter import NnFunctions
from terrace.dialects.nn.reference import KERNELS, ONNX_KERNEL_OPS
from terrace.frontend.onnx.registry import registered

ROOT = Path(__file__).resolve().parent.parent

IMPORT_ONLY = {WeightOp}
"""nn ops that convert-nn-to-linalg keeps: `nn.weight` is bound to the weight store by
bufferize."""

FAMILIES = ("constants", "elementwise", "neural", "reduction", "shape")


def _text(folder: str, pattern: str) -> str:
    return "\n".join(p.read_text() for p in sorted((ROOT / folder).rglob(pattern)))


@pytest.mark.parametrize("op", ALL_OPS, ids=lambda op: op.name)
def test_every_nn_op_has_reference_semantics(op: type) -> None:
    if op in (WeightOp, RangeCheckOp):  # the interpreter reads the weight store, or checks
        assert hasattr(NnFunctions, f"_impl_{op.__name__}")
        return
    assert issubclass(op, NnOperation)
    assert op in KERNELS or op in ONNX_KERNEL_OPS, f"{op.name} has no reference kernel"


@pytest.mark.parametrize("op", ALL_OPS, ids=lambda op: op.name)
def test_every_nn_op_has_a_lowering_or_is_import_only(op: type) -> None:
    lowering = _text("lowering/nn_to_linalg", "*.py")
    if op in IMPORT_ONLY:
        return
    assert re.search(rf"\b{op.__name__}\b", lowering), f"no lowering names {op.__name__}"


@pytest.mark.parametrize("op", ALL_OPS, ids=lambda op: op.name)
def test_every_nn_op_has_a_filecheck_case(op: type) -> None:
    name = op.name  # pyright: ignore[reportAttributeAccessIssue]
    assert re.search(rf"{re.escape(name)}\b", _text("filecheck", "*.mlir")), name


def _decompositions() -> list[tuple[str, str]]:
    return sorted(registered())


@pytest.mark.parametrize(
    "key", _decompositions(), ids=lambda key: f"{key[0] or 'ai.onnx'}.{key[1]}"
)
def test_every_registered_decomposition_has_a_test(key: tuple[str, str]) -> None:
    """A test builds a node of the op (make_node or an ONNX model builder names it)."""
    tests = _text("tests", "*.py") + _text("filecheck/frontend", "*.py")
    assert re.search(rf'"{key[1]}"', tests), f"no test builds {key[1]}"


@pytest.mark.parametrize(
    "key", _decompositions(), ids=lambda key: f"{key[0] or 'ai.onnx'}.{key[1]}"
)
def test_decompositions_say_the_opset_that_introduced_their_op(key: tuple[str, str]) -> None:
    domain, op_type = key
    versions = [
        schema.since_version
        for schema in onnx.defs.get_all_schemas_with_history()
        if schema.name == op_type and schema.domain == domain
    ]
    assert versions, f"onnx has no schema of {domain or 'ai.onnx'}.{op_type}"
    assert registered()[key].since == min(versions)


def test_decompositions_live_in_their_category() -> None:
    modules = {d.module.split(".frontend.onnx.")[1] for d in registered().values()}
    assert all(m.startswith(("decompose.", "control_flow.")) for m in modules), modules


def test_the_reference_is_split_by_the_dialects_families() -> None:
    reference = ROOT / "dialects" / "nn" / "reference"
    dialect = ROOT / "dialects" / "nn"
    assert {p.stem for p in reference.glob("*.py")} == {"__init__", "core", *FAMILIES}
    assert all((dialect / f"{family}.py").exists() for family in FAMILIES)
    for family in FAMILIES:
        source = (reference / f"{family}.py").read_text()
        kernels = re.findall(r"@kernel\(([^)]*)\)", source)
        owners = {name.split(".")[0] for group in kernels for name in group.split(", ")}
        assert owners <= {family, f"{family}_ops"}, (family, owners)


def test_no_module_is_named_extra_or_misc() -> None:
    # the package's own files: not a virtual environment's nor a build's copy of an old tree
    outside = {".venv", "build", "dist", ".git"}
    names = [p for p in ROOT.rglob("*.py") if not outside & set(p.relative_to(ROOT).parts)]
    assert not [p for p in names if re.search(r"(^|_)(extra|misc)(_|$)", p.stem)]
