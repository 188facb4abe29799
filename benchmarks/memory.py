"""Peak resident memory of one phase of this process (Linux): the kernel's high-water mark
(VmHWM in /proc/self/status) is reset by writing 5 to /proc/self/clear_refs, so the mark read
after a call is the process's peak RSS during that call (everything resident counts: the
interpreter, numpy, onnxruntime's libraries, the models already loaded)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def peak_rss(call: Callable[[], T]) -> tuple[T, int | None]:
    """`call()`'s result and the process's peak RSS in bytes while it ran (None where the
    platform cannot reset the mark)."""
    resettable = _reset()
    result = call()
    return result, _high_water_mark() if resettable else None


def _reset() -> bool:
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return _high_water_mark() is not None


def _high_water_mark() -> int | None:
    try:
        text = _STATUS.read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("VmHWM:"):
            kilobytes = line.split()[1]
            return int(kilobytes) * 1024
    return None
