"""The search space of a contraction (TUNING.md section 3): every micro-kernel the target's
registers allow at the unit's width and at half of it, in both tile-grid orders, less the
tiles wider than the problem; each with its analytical cache blocks (0 in the config) and the
blocks at half and twice the analytical `kc` and the analytical streamed block (`nc` in order `mn`,
`mc` in `nm`), clipped to the problem. Validity is checked before anything is lowered: an
invalid config is never built.

Knobs are ordered domains (mr, nr_vectors, lanes, order, kc, the streamed block); a neighbour moves
one knob one step (a new micro-kernel starts from its analytical blocks).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cache

from .analytical import cache_blocks, estimate_seconds, ranked_microkernels
from .config import ORDERS, GemmShape, KernelConfig
from .target_info import TargetInfo

MIN_LANES = 4
MIN_KC = 64
"""Shorter K blocks than this are never worth their extra stores of the sums."""


def _k_choices(shape: GemmShape, config: KernelConfig, info: TargetInfo) -> list[int]:
    """kc: half the analytical, the analytical (0), twice it; in that order."""
    kc = cache_blocks(shape, config, info)[0]
    half, double = kc // 2 // 8 * 8, kc * 2
    return [
        *([half] if half >= MIN_KC else []),
        0,
        *([double] if double < shape.k else []),
    ]


def _streamed_choices(
    shape: GemmShape, config: KernelConfig, info: TargetInfo
) -> list[tuple[str, int]]:
    """The streamed block (`nc` in order `mn`, `mc` in `nm`) at half, the analytical (0), twice."""
    kc, mc, nc = cache_blocks(shape, config, info)
    del kc
    name, size, unit, total = (
        ("nc", nc, config.nr, -(-shape.n // config.nr) * config.nr)
        if config.order == ORDERS[0]
        else ("mc", mc, config.mr, -(-shape.m // config.mr) * config.mr)
    )
    half = size // 2 // unit * unit
    return [
        *([(name, half)] if half >= unit else []),
        (name, 0),
        *([(name, size * 2)] if size * 2 < total else []),
    ]


def _blocked(shape: GemmShape, config: KernelConfig, info: TargetInfo) -> list[KernelConfig]:
    """`config` (a micro-kernel with analytical blocks) and its block variants."""
    found: list[KernelConfig] = []
    for kc in _k_choices(shape, config, info):
        with_kc = replace(config, kc=kc)
        for name, size in _streamed_choices(shape, with_kc, info):
            found.append(replace(with_kc, **{name: size}))
    return found


@cache
def _configs(
    shape: GemmShape, info: TargetInfo, lanes: tuple[int, ...]
) -> tuple[KernelConfig, ...]:
    found = [
        variant
        for width in lanes
        for c in ranked_microkernels(shape, info, width)
        for order in ORDERS
        for variant in _blocked(shape, replace(c, order=order), info)
    ]
    return tuple(sorted(found, key=lambda c: estimate_seconds(shape, c, info)))


@cache
def _members(shape: GemmShape, info: TargetInfo, lanes: tuple[int, ...]) -> frozenset[KernelConfig]:
    return frozenset(_configs(shape, info, lanes))


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
        return list(_configs(self.shape, self.info, tuple(self.lane_choices())))

    def is_valid(self, config: KernelConfig) -> bool:
        """Whether `config` is a member of `configs()`: the tile fits the registers, hides the
        FMA latency and keeps at most MAX_ROW_VECTORS vectors a row, at a width of the space,
        with blocks of its domains."""
        return config in _members(self.shape, self.info, tuple(self.lane_choices()))

    def estimate(self, config: KernelConfig) -> float:
        return estimate_seconds(self.shape, config, self.info)

    def neighbours(self, config: KernelConfig) -> list[KernelConfig]:
        """Configs one knob step away, valid ones only."""
        return [*self.tile_neighbours(config), *self.block_neighbours(config)]

    def block_neighbours(self, config: KernelConfig) -> list[KernelConfig]:
        """The same tile with kc or the streamed block one step away, valid ones only."""
        steps = self._block_steps(config)
        return [c for c in dict.fromkeys(steps) if c != config and self.is_valid(c)]

    def tile_neighbours(self, config: KernelConfig) -> list[KernelConfig]:
        """Tiles one knob step away (with their analytical blocks), valid ones only."""
        tile = replace(config, kc=0, mc=0, nc=0)
        steps = [
            replace(tile, mr=config.mr - 1),
            replace(tile, mr=config.mr + 1),
            replace(tile, nr_vectors=config.nr_vectors - 1),
            replace(tile, nr_vectors=config.nr_vectors + 1),
            replace(tile, order=ORDERS[1 - ORDERS.index(config.order)]),
            *(replace(tile, lanes=lanes) for lanes in self.lane_choices()),
            # the same tile at another shape: trade rows for vectors
            replace(tile, mr=config.mr + 2, nr_vectors=config.nr_vectors - 1),
            replace(tile, mr=config.mr - 2, nr_vectors=config.nr_vectors + 1),
        ]
        return [c for c in dict.fromkeys(steps) if c != config and self.is_valid(c)]

    def _block_steps(self, config: KernelConfig) -> list[KernelConfig]:
        """The blocks one step along kc's domain, and along the streamed block's."""
        steps: list[KernelConfig] = []
        k_domain = _k_choices(self.shape, replace(config, kc=0), self.info)
        if config.kc in k_domain:
            at = k_domain.index(config.kc)
            steps += [replace(config, kc=k) for k in k_domain[max(at - 1, 0) : at + 2]]
        name = "nc" if config.order == ORDERS[0] else "mc"
        streamed_domain = [
            s for _, s in _streamed_choices(self.shape, replace(config, **{name: 0}), self.info)
        ]
        if getattr(config, name) in streamed_domain:
            at = streamed_domain.index(getattr(config, name))
            steps += [
                replace(config, **{name: s}) for s in streamed_domain[max(at - 1, 0) : at + 2]
            ]
        return steps
