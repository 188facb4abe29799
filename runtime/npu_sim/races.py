"""The race detector (debug mode): the timed schedule must be equivalent to program order.

For every pair of conflicting accesses (same resource, overlapping ranges, at least one a write)
by instructions A before B in program order on different modules, the schedule must have
`end(A) <= start(B)`. Same-module pairs are ordered by the in-order module itself.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ...targets.npu.isa import Instruction
from .errors import NpuSimError
from .functional import Effect
from .timing import Timing


def check_races(program: Sequence[Instruction], effects: Sequence[Effect], timing: Timing) -> None:
    """Raise `NpuSimError` naming the first race found (the later instruction of the pair)."""
    rows: dict[str, list[tuple[int, int, int, bool]]] = {}
    for index, effect in enumerate(effects):
        for access in effect.accesses:
            rows.setdefault(access.resource, []).append((index, access.lo, access.hi, access.write))
    for resource, accesses in rows.items():
        _check_resource(program, resource, np.array(accesses, dtype=np.int64), timing)


def _check_resource(
    program: Sequence[Instruction], resource: str, accesses: np.ndarray, timing: Timing
) -> None:
    index, lo, hi, write = accesses.T
    module = np.array([int(program[i].module) for i in index])
    start = np.array(timing.start)[index]
    end = np.array(timing.end)[index]
    for b in range(len(accesses)):
        earlier = index < index[b]
        conflict = (
            earlier
            & (module != module[b])
            & (lo < hi[b])
            & (lo[b] < hi)
            & ((write == 1) | (write[b] == 1))
        )
        late = conflict & (end > start[b])
        if late.any():
            a = int(np.flatnonzero(late)[0])
            first, second = int(index[a]), int(index[b])
            raise NpuSimError(
                second,
                program[second],
                f"race on {resource} [{max(lo[a], lo[b])}, {min(hi[a], hi[b])}): it starts at "
                f"cycle {start[b]} while instruction {first} ({program[first].opcode.name}, "
                f"{program[first].module.name.lower()} module) runs until {end[a]}; "
                "a token is missing",
            )
