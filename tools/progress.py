"""The progress line of the long commands (conformance, fuzz, bench, a large compile) on stderr.

On a terminal it is one line redrawn in place (carriage return, erase to the end of the line):
a bar when the total is known, the count, the elapsed seconds, an estimate of the time left
and the latest detail; messages that must stay (a failure, a phase of a benchmark) print
above it. Anywhere else (a log, CI, a pipe) it prints plain lines, each complete, so a log
never holds a control character: a step's line when `plain_every` steps have passed since the
last one, and the last step's. No dependency: an in-place line needs only these two escapes
(rich would draw the same line).
"""

from __future__ import annotations

import shutil
import sys
import time
from typing import TextIO

_ERASE = "\r\x1b[K"
_BAR = 24


class ProgressLine:
    def __init__(
        self,
        label: str,
        total: int | None = None,
        *,
        unit: str = "",
        stream: TextIO | None = None,
        plain_every: int = 1,
        tty: bool | None = None,
    ):
        self.label = label
        self.total = total
        self.unit = unit
        self.stream = stream or sys.stderr
        self.plain_every = max(plain_every, 1)
        self.tty = self.stream.isatty() if tty is None else tty
        self.started = time.perf_counter()
        self._first: tuple[float, int] | None = None
        """When the first step was reported, and its count: the rate of the steps is measured
        from there, so that setup before it (a fuzzer learning its targets) is not a step."""
        self.done = 0
        self._last_plain = 0
        self._drawn = False

    # -- what the commands call ------------------------------------------------------------

    def update(self, done: int, detail: str = "") -> None:
        """`done` steps of `total` are finished; `detail` says what the last one found."""
        self.done = done
        if self._first is None:
            self._first = (time.perf_counter(), done)
        if self.tty:
            self._draw(self._line(detail))
            return
        finished = self.total is not None and done >= self.total
        if done - self._last_plain >= self.plain_every or finished:
            self._last_plain = done
            self._write(self._line(detail) + "\n")

    def note(self, message: str) -> None:
        """A line that stays, printed above the progress line."""
        if self.tty and self._drawn:
            self._write(_ERASE)
        self._write(message + "\n")
        if self.tty and self._drawn:
            self._draw(self._line(""))

    def close(self) -> None:
        """Ends the redrawn line (a terminal's next output starts on a line of its own)."""
        if self.tty and self._drawn:
            self._write("\n")
            self._drawn = False

    def erase(self) -> None:
        """Removes the redrawn line (what it said was transient)."""
        if self.tty and self._drawn:
            self._write(_ERASE)
            self._drawn = False

    # -- drawing --------------------------------------------------------------------------

    def _line(self, detail: str) -> str:
        """`label: [bar] done/total unit, detail, elapsed, time left` (the bar on a terminal)."""
        elapsed = time.perf_counter() - self.started
        count = f"{self.done}/{self.total}" if self.total else (str(self.done) if self.done else "")
        if self.total and self.tty:
            filled = round(min(self.done / self.total, 1.0) * _BAR)
            count = "[" + "#" * filled + "." * (_BAR - filled) + "] " + count
        head = " ".join(p for p in (count, self.unit if count else "") if p)
        timing = f"{elapsed:.1f} s"
        left = self._seconds_left()
        if left is not None:
            timing += f", ~{left:.0f} s left"
        fields = ", ".join(p for p in (head, detail, timing) if p)
        return f"{self.label}: {fields}"

    def _seconds_left(self) -> float | None:
        if not self.total or self._first is None or self.done >= self.total:
            return None
        since, first_done = self._first
        steps = self.done - first_done
        if steps <= 0:
            return None
        return (time.perf_counter() - since) / steps * (self.total - self.done)

    def _draw(self, line: str) -> None:
        width = shutil.get_terminal_size((100, 20)).columns
        self._write(_ERASE + line[: max(width - 1, 10)])
        self._drawn = True

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()


class StatusLine:
    """Phases without a count (a benchmark's compile, warm-up, timed rounds): on a terminal each
    phase replaces the last on one redrawn line, elsewhere each is a plain line."""

    def __init__(self, label: str = "", *, stream: TextIO | None = None, tty: bool | None = None):
        self.progress = ProgressLine(label, stream=stream, tty=tty)

    def __call__(self, message: str) -> None:
        if not self.progress.tty:
            self.progress.note(message)
            return
        self.progress.update(0, message)

    def close(self) -> None:
        self.progress.close()


class CompileProgress:
    """The progress of one compile, told each step as it starts (`StageTimer.listener`: a
    stage, or "stage: pass"). Quiet for the first `quiet_for` seconds (default: 1 s on a
    terminal, 30 s in a log), so a small model's compile prints nothing; after that, on a
    terminal one redrawn line names the pass that runs now, erased when the compile ends, and
    elsewhere a plain line per stage (a stage's passes are too many for a log)."""

    def __init__(
        self,
        label: str,
        *,
        stream: TextIO | None = None,
        tty: bool | None = None,
        quiet_for: float | None = None,
    ):
        self.progress = ProgressLine(label, stream=stream, tty=tty)
        self.quiet_for = quiet_for if quiet_for is not None else 1.0 if self.progress.tty else 30.0
        self._stage: str | None = None

    def __call__(self, step: str) -> None:
        stage = step.split(":", 1)[0]
        new_stage = stage != self._stage
        self._stage = stage
        elapsed = time.perf_counter() - self.progress.started
        if elapsed < self.quiet_for:
            return
        if self.progress.tty:
            self.progress.update(0, step)
        elif new_stage:
            self.progress.note(f"{self.progress.label}: {stage}, {elapsed:.1f} s")

    def close(self) -> None:
        """Erases the redrawn line: the command's own output follows on a clean line."""
        self.progress.erase()
