"""The TNPU-1 simulator (docs/npu.md, "Simulator"): a functional core vectorized per
instruction, an analytic cycle model, deadlock and race detectors, stats and a Chrome trace."""

from .errors import NpuSimError
from .simulator import UOP_SEGMENT, SimResult, simulate

__all__ = ["UOP_SEGMENT", "NpuSimError", "SimResult", "simulate"]
