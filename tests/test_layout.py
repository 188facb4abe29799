"""The tree's coverage rules, as tests: every nn op has reference semantics, a lowering (or is
listed as import-only) and a FileCheck case in the file of the lowering module that lowers it;
every registered decomposition of the importer has a test; the reference and the lowering are
split by the dialect's op families; tests/ and filecheck/ mirror the source tree.

The lowering rules are structural: the nn ops of the cases in filecheck/lowering/nn_to_linalg/
are parsed, and each op's instance is offered to convert-nn-to-linalg's patterns one by one; the
pattern that rewrites it names the lowering module (`cast.py`, `shape.py`, ...) whose FileCheck
file must hold a case of the op."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import onnx.defs
import pytest
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation
from xdsl.pattern_rewriter import PatternRewriter

from terrace.dialects.context import parse_module
from terrace.dialects.nn import ALL_OPS, RangeCheckOp, WeightOp
from terrace.dialects.nn.base import NnOperation
from terrace.dialects.nn.interpreter import NnFunctions
from terrace.dialects.nn.reference import KERNELS, ONNX_KERNEL_OPS
from terrace.frontend.onnx.registry import registered
from terrace.lowering.nn_to_linalg.patterns import conversion_patterns

ROOT = Path(__file__).resolve().parent.parent

IMPORT_ONLY = {WeightOp}
"""nn ops that convert-nn-to-linalg keeps: `nn.weight` is bound to the weight store by
bufferize."""

FAMILIES = ("constants", "elementwise", "neural", "reduction", "shape")

LOWERING_CASES = ROOT / "filecheck" / "lowering" / "nn_to_linalg"


def _text(folder: str, pattern: str) -> str:
    return "\n".join(p.read_text() for p in sorted((ROOT / folder).rglob(pattern)))


@pytest.mark.parametrize("op", ALL_OPS, ids=lambda op: op.name)
def test_every_nn_op_has_reference_semantics(op: type) -> None:
    if op in (WeightOp, RangeCheckOp):  # the interpreter reads the weight store, or checks
        assert hasattr(NnFunctions, f"_impl_{op.__name__}")
        return
    assert issubclass(op, NnOperation)
    assert op in KERNELS or op in ONNX_KERNEL_OPS, f"{op.name} has no reference kernel"


@functools.cache
def _cases() -> dict[type[Operation], list[tuple[str, str]]]:
    """The FileCheck cases of filecheck/lowering/nn_to_linalg/ holding an instance of each nn op:
    (file stem, the case's text), each `// -----` split parsed with Terrace's dialects."""
    cases: dict[type[Operation], list[tuple[str, str]]] = {}
    for path in sorted(LOWERING_CASES.glob("*.mlir")):
        for text in path.read_text().split("\n// -----\n"):
            for op_type in {
                type(op) for op in parse_module(text).walk() if op.dialect_name() == "nn"
            }:
                cases.setdefault(op_type, []).append((path.stem, text))
    return cases


def _lowering_module(op_type: type[Operation]) -> str | None:
    """The lowering module (its name in lowering/nn_to_linalg/) of the pattern that rewrites an
    instance of `op_type` from its first FileCheck case; None when no pattern does."""
    _, text = _cases()[op_type][0]
    module: ModuleOp = parse_module(text)
    op = next(op for op in module.walk() if type(op) is op_type)
    for pattern in conversion_patterns():
        rewriter = PatternRewriter(op)
        pattern.match_and_rewrite(op, rewriter)
        if rewriter.has_done_action:
            return type(pattern).__module__.rsplit(".", 1)[1]
    return None


@pytest.mark.parametrize("op", ALL_OPS, ids=lambda op: op.name)
def test_every_nn_op_has_a_lowering_or_is_import_only(op: type[Operation]) -> None:
    assert op in _cases(), f"no FileCheck case in {LOWERING_CASES} has an instance of {op.name}"
    lowered_by = _lowering_module(op)
    if op in IMPORT_ONLY:
        assert lowered_by is None, f"import-only {op.name} is lowered by {lowered_by}.py"
        return
    assert lowered_by is not None, f"no convert-nn-to-linalg pattern lowers {op.name}"


@pytest.mark.parametrize("op", ALL_OPS, ids=lambda op: op.name)
def test_every_nn_op_has_a_filecheck_case_in_its_lowering_file(op: type[Operation]) -> None:
    files = {stem for stem, _ in _cases().get(op, [])}
    if op in IMPORT_ONLY:
        assert files, f"no FileCheck case in {LOWERING_CASES} keeps {op.name}"
        return
    lowered_by = _lowering_module(op)
    assert lowered_by in files, f"{op.name} is lowered by {lowered_by}.py, its cases are in {files}"


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


TEST_DATA_FOLDERS = {"fuzz_plugins", "npu_asm", "Inputs", "Output", "__pycache__"}
"""Folders of tests/ and filecheck/ that hold test inputs and helpers, not tests of a source
folder: wrong rewrites for the fuzzer, hand-written TNPU-1 programs, lit's inputs and outputs."""


@pytest.mark.parametrize("top", ["tests", "filecheck"])
def test_the_test_trees_mirror_the_source_tree(top: str) -> None:
    """tests/x/y/ and filecheck/x/y/ test the source folder x/y/ (README.md's layout)."""
    folders = [p.relative_to(ROOT / top) for p in (ROOT / top).rglob("*") if p.is_dir()]
    unmirrored = [
        str(folder)
        for folder in folders
        if not TEST_DATA_FOLDERS & set(folder.parts) and not (ROOT / folder).is_dir()
    ]
    assert not unmirrored, f"{top}/ folders with no source folder: {unmirrored}"


def test_no_module_is_named_extra_or_misc() -> None:
    # the package's own files: not a virtual environment's nor a build's copy of an old tree
    outside = {".venv", "build", "dist", ".git"}
    names = [p for p in ROOT.rglob("*.py") if not outside & set(p.relative_to(ROOT).parts)]
    assert not [p for p in names if re.search(r"(^|_)(extra|misc)(_|$)", p.stem)]
