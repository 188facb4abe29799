"""What one case's run came to, and why, in words that group.

Statuses: `pass`; `unsupported` (Terrace said so before running: an op, attribute, dtype or
input form it lacks); `error` (another Terrace error: a pass or code generation failed);
`wrong-result` (it ran and the outputs differ from onnx's); `crash` (an exception that is no
`TerraceError`, or a dead worker); `timeout`. Only `unsupported` and `error` may be expected
failures: a wrong result, a crash or a timeout fails the suite whatever the list says.

A reason is `category: subject`, the same for every case that fails the same way, so reasons
count into a work list: `unsupported-op: Einsum`, `unsupported-attribute: Resize.antialias`,
`unsupported-dtype: Add float16`, `unsupported-input: sequence`, `compile-error: ...`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import onnx

from ..errors import (
    CompilationError,
    ModelImportError,
    TerraceError,
    TerraceRuntimeError,
    UnsupportedModelError,
    first_line,
)

PASS = "pass"
UNSUPPORTED = "unsupported"
ERROR = "error"
WRONG_RESULT = "wrong-result"
CRASH = "crash"
TIMEOUT = "timeout"

LISTABLE = (UNSUPPORTED, ERROR)
"""The statuses an expected failure may have."""


@dataclass(frozen=True)
class Outcome:
    name: str
    kind: str
    op: str
    opset: int
    status: str
    reason: str = ""
    seconds: float = 0.0
    compile_seconds: float = 0.0
    cpu_seconds: float = 0.0
    from_cache: bool = False
    note: str = ""
    """How a case was judged when not against onnx's expected outputs (library_dependent.py)."""
    folded: bool = False
    """Every output was folded to a constant at import: no compiled code computed any."""
    onnx_folded_ops: tuple[str, ...] = ()
    """The ops whose constant values onnx's reference kernels computed at import."""

    @property
    def passed(self) -> bool:
        return self.status == PASS

    @property
    def compiled_pass(self) -> bool:
        """A pass whose outputs compiled code computed (not all folded at import)."""
        return self.passed and not self.folded


def error_status(reason: str) -> str:
    """The status of a failure from its reason: what Terrace declined is unsupported."""
    if reason.startswith("unsupported"):
        return UNSUPPORTED
    if reason.startswith("crash"):
        return CRASH
    return ERROR


def error_reason(error: BaseException, op: str, model: onnx.ModelProto | None = None) -> str:
    """The grouping reason of a failure; `op` names the tested op where the error does not,
    `model` (the case's) tells what an import error was about."""
    message = str(error).strip()
    if isinstance(error, UnsupportedModelError):
        return "; ".join(_unique(_problem_reason(p) for p in _problems(message)))
    if isinstance(error, ModelImportError):
        return _import_reason(first_line(error), op, model)
    if isinstance(error, CompilationError):
        return f"compile-error: {op}: {_generic(first_line(error))}"
    if isinstance(error, TerraceRuntimeError):
        return f"run-error: {op}: {_generic(first_line(error))}"
    if isinstance(error, TerraceError):
        return f"error: {op}: {_generic(first_line(error))}"
    return f"crash: {op}: {type(error).__name__}: {_generic(first_line(error))}"


def compare(expected: Sequence[Any], actual: Sequence[Any], rtol: float, atol: float) -> str:
    """Empty when `actual` matches `expected` as onnx's runner checks (`assert_similar_outputs`:
    count, shapes, dtypes, `assert_allclose` with NaNs equal), else what differs."""
    if len(actual) != len(expected):
        return f"{len(actual)} outputs, expected {len(expected)}"
    for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
        difference = _compare_value(want, got, rtol, atol)
        if difference:
            return f"output {index}: {difference}"
    return ""


# -- error messages ------------------------------------------------------------------------

_UNSUPPORTED_WORDS = re.compile(r"\bunsupported\b|\bnot supported\b|is not a tensor")
# "label (Op, opset N): reason", several joined by "; " after "unsupported: N nodes: "
_PROBLEM = re.compile(r"(?P<label>.*?) \((?P<op>[\w.]+), opset (?P<opset>\d+)\): (?P<reason>.*)")
_PROBLEM_START = re.compile(r"; (?=[^;()]*? \([\w.]+, opset \d+\): )")
_QUOTED = re.compile(r"(pass '[^']*')|'[^']*'")  # pass names group; value and node names do not


def _problems(message: str) -> list[tuple[str, str]]:
    """(op, reason) per node listed in an UnsupportedModelError."""
    body = re.sub(r"^unsupported: \d+ nodes?: ", "", message.splitlines()[0])
    problems: list[tuple[str, str]] = []
    for part in _PROBLEM_START.split(body):
        match = _PROBLEM.fullmatch(part)
        if match is None:
            problems.append(("?", part))
            continue
        problems.append((match["op"], match["reason"]))
    return problems


def _problem_reason(problem: tuple[str, str]) -> str:
    op, reason = problem
    if reason == "operator not supported":
        return f"unsupported-op: {op}"
    if match := re.fullmatch(r"operator domain '(.*)' is not supported", reason):
        return f"unsupported-domain: {match[1]}"
    if match := re.fullmatch(r"attribute '(.*)' not supported", reason):
        return f"unsupported-attribute: {op}.{match[1]}"
    if match := re.search(r"unsupported element type (\S+)", reason):
        return f"unsupported-dtype: {op} {_dtype_name(match[1])}"
    if match := re.fullmatch(r"input '.*' \((.*)\) must be constant", reason):
        return f"unsupported-dynamic-input: {op}.{match[1]}"
    if re.fullmatch(r"output '.*' \(an optional output\) is not supported", reason):
        return f"unsupported-output: {op} optional output"
    return f"unsupported: {op}: {_generic(reason)}"


def _import_reason(line: str, op: str, model: onnx.ModelProto | None) -> str:
    if match := re.search(r"unsupported element type (\S+)", line):
        return f"unsupported-dtype: {op} {_dtype_name(match[1])}"
    if "is not a tensor" in line:
        return "unsupported-input: non-tensor (sequence, optional or map)"
    if "has a dynamic dimension" in line:
        # the importer reads a zero-size dimension as a dynamic one
        empty = model is not None and any(0 in _input_dims(v) for v in model.graph.input)
        return f"unsupported-shape: {'zero-size' if empty else 'dynamic'} input dimension"
    if "imports no version of the default ONNX domain" in line and model is not None:
        domains = sorted({entry.domain for entry in model.opset_import})
        return f"unsupported-domain: {', '.join(domains)}"
    if _UNSUPPORTED_WORDS.search(line):
        return f"unsupported: {op}: {_generic(line)}"
    return f"import-error: {op}: {_generic(line)}"


def _input_dims(value: onnx.ValueInfoProto) -> list[int]:
    return [d.dim_value for d in value.type.tensor_type.shape.dim if d.HasField("dim_value")]


def _dtype_name(spelling: str) -> str:
    """One name per dtype, whichever layer reported it (ONNX enum, numpy or IR spelling)."""
    return spelling.lower().rstrip(",.;")


def _generic(text: str) -> str:
    """A message without the names of values and nodes, so that like failures group."""
    return _QUOTED.sub(lambda match: match[1] or "'*'", text)


def _unique(items: Any) -> list[str]:
    seen: dict[str, None] = {}
    for item in items:
        seen.setdefault(item, None)
    return list(seen)


# -- outputs -------------------------------------------------------------------------------


def _compare_value(want: Any, got: Any, rtol: float, atol: float) -> str:
    if isinstance(want, list | tuple):
        return _compare_sequence(want, got, rtol, atol)
    if want is None or got is None:
        return "" if want is None and got is None else f"got {_describe(got)}, expected None"
    if not isinstance(got, np.ndarray):
        return f"got {type(got).__name__}, expected an array"
    want_array = np.asarray(want)
    if got.shape != want_array.shape:
        return f"shape {got.shape}, expected {want_array.shape}"
    if got.dtype != want_array.dtype:
        return f"dtype {got.dtype}, expected {want_array.dtype}"
    if want_array.dtype == object:
        return "" if np.array_equal(got, want_array) else "strings differ"
    return _compare_numbers(want_array, got, rtol, atol)


def _compare_sequence(want: Sequence[Any], got: Any, rtol: float, atol: float) -> str:
    if not isinstance(got, list | tuple):
        return f"got {_describe(got)}, expected a sequence"
    if len(got) != len(want):
        return f"sequence of {len(got)}, expected {len(want)}"
    for index, (item_want, item_got) in enumerate(zip(want, got, strict=True)):
        difference = _compare_value(item_want, item_got, rtol, atol)
        if difference:
            return f"item {index}: {difference}"
    return ""


def _compare_numbers(want: np.ndarray, got: np.ndarray, rtol: float, atol: float) -> str:
    if want.dtype.name == "bfloat16":
        rtol = max(rtol, 2**-6)  # two bfloat16 ulps, as onnx's runner allows
        want, got = want.astype(np.float32), got.astype(np.float32)
    if want.dtype == np.float16:
        # Two float16 ulps, as for bfloat16: onnx computes the expected float16 outputs of a
        # multi-step op (Attention's softmax and matmuls) rounding every step to float16, and
        # misses by two ulps where Terrace, computing in float32, rounds once.
        rtol = max(rtol, 2**-9)
    try:
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)
    except AssertionError:
        return _difference(want, got, rtol, atol)
    return ""


def _difference(want: np.ndarray, got: np.ndarray, rtol: float, atol: float) -> str:
    if want.dtype == np.bool_ or got.dtype == np.bool_:
        bad = want != got
    else:
        with np.errstate(all="ignore"):
            bad = ~np.isclose(got, want, rtol=rtol, atol=atol, equal_nan=True)
    indices = np.argwhere(bad)
    first = tuple(int(i) for i in indices[0]) if len(indices) else ()
    at = first if want.ndim else ()
    return (
        f"{int(bad.sum())} of {want.size} elements differ; "
        f"at {list(at)}: {got[at]!r}, expected {want[at]!r}"
    )


def _describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"array {value.dtype}{list(value.shape)}"
    return type(value).__name__
