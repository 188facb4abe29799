"""The search space of a contraction (TUNING.md section 3): every micro-kernel the target's
registers allow at the unit's width and at half of it, in both tile-grid orders, less the
tiles wider than the problem. Validity is checked before anything is lowered: an invalid
config is never built.

Knobs are ordered domains (mr, nr_vectors, lanes, order); a neighbour moves one knob one step.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .analytical import estimate_seconds, fits, microkernels, ranked_microkernels
from .config import ORDERS, GemmShape, KernelConfig
from .target_info import TargetInfo

MIN_LANES = 4


@dataclass(frozen=True)
class Space:
    shape: GemmShape
    info: TargetInfo

    def lane_choices(self) -> list[int]:
        """The unit's lanes, and half of it when that is still a wide vector."""
        half = self.info.lanes // 2
        return [self.info.lanes, *([half] if half >= max(MIN_LANES, 8) else [])]

    def configs(self) -> list[KernelConfig]:
        """Every valid config, best analytical estimate first."""
        found = [
            replace(c, order=order)
            for lanes in self.lane_choices()
            for c in ranked_microkernels(self.shape, self.info, lanes)
            for order in ORDERS
        ]
        return sorted(found, key=self.estimate)

    def is_valid(self, config: KernelConfig) -> bool:
        """Exactly the members of `configs()`: the tile fits the registers, hides the FMA
        latency and keeps at most MAX_ROW_VECTORS vectors a row, at a width of the space."""
        return (
            config.lanes in self.lane_choices()
            and config.order in ORDERS
            and fits(config.mr, config.nr_vectors, self.info.vector_registers)
            and (config.mr, config.nr_vectors) in microkernels(self.info, config.lanes)
            and config.nr <= max(self.shape.n, config.lanes)
        )

    def estimate(self, config: KernelConfig) -> float:
        return estimate_seconds(self.shape, config, self.info)

    def neighbours(self, config: KernelConfig) -> list[KernelConfig]:
        """Configs one knob step away, valid ones only."""
        steps = [
            replace(config, mr=config.mr - 1),
            replace(config, mr=config.mr + 1),
            replace(config, nr_vectors=config.nr_vectors - 1),
            replace(config, nr_vectors=config.nr_vectors + 1),
            replace(config, order=ORDERS[1 - ORDERS.index(config.order)]),
            *(replace(config, lanes=lanes) for lanes in self.lane_choices()),
            # the same tile at another shape: trade rows for vectors
            replace(config, mr=config.mr + 2, nr_vectors=config.nr_vectors - 1),
            replace(config, mr=config.mr - 2, nr_vectors=config.nr_vectors + 1),
        ]
        return [c for c in dict.fromkeys(steps) if c != config and self.is_valid(c)]
