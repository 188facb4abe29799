"""Checks that break the way a mutant could break the importer, for the tests of
terrace.fuzz.onnx_isolation: the first step's seed picks the failure."""

from __future__ import annotations

import ctypes
import time

import numpy as np

from terrace.fuzz.onnx_checks import Outcome, check_import
from terrace.fuzz.onnx_mutations import Mutant

SEGFAULT, STALL, ALLOCATE = 1, 2, 3


def by_seed(mutant: Mutant, seconds: float) -> Outcome:
    seed = mutant.steps[0][1]
    if seed == SEGFAULT:
        ctypes.string_at(0)  # reads address 0: SIGSEGV
    if seed == STALL:
        time.sleep(3600)
    if seed == ALLOCATE:
        try:
            np.empty(1 << 33, np.uint8)  # 8 GiB of address space, never touched
        except MemoryError:
            return Outcome("rejected", "MemoryError under the address-space limit")
        return Outcome("accepted", "allocated")
    return check_import(mutant, seconds)
