"""The cache blocks (kc, mc, nc) as tuning knobs: the analytical rule from the caches, the
footprints it keeps within their budgets, the space's block variants and their neighbours,
the config's text and JSON forms, and a search that finds a planted block optimum."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from terrace.passes.apply_tuning import parse_config
from terrace.tuning.analytical import (
    cache_blocks,
    default_config,
    estimate_seconds,
    stream_level,
)
from terrace.tuning.config import GemmShape, KernelConfig
from terrace.tuning.measure import FakeRunner
from terrace.tuning.search import Scheduler, TaskState
from terrace.tuning.space import Space
from terrace.tuning.target_info import CacheLevel, TargetInfo
from terrace.tuning.tasks import Task

ZEN4 = TargetInfo("x86_64", "x86_64-unknown-linux-gnu", "znver4", "", 512, 32)
AVX2 = TargetInfo("x86_64-avx2", "x86_64-unknown-linux-gnu", "x86-64-v3", "", 256, 16)
F32 = 4


def test_zen4_blocks_for_large_k():
    """6 x 64 reads 256 bytes of B per 24-cycle K step, which L3 serves: B may stream from L3
    (half of the table's 8 MiB), the A panel sit in half of L2. K = 4096: a 6 x 4096 panel
    (96 KiB) fits, K stays whole; the 4096 x nc B block may take 4 MiB, 256 columns, so
    N = 1024 is 4 blocks. K = 65536 (1.5 MiB of A panel) is split by the L1 rule: a 6-row
    panel in 16 KiB, 682 steps, 680 (a multiple of 8), equalized to 97 blocks of 680."""
    shape = GemmShape(1024, 1024, 4096)
    config = default_config(shape, ZEN4)
    assert config == KernelConfig(6, 4, 16)
    assert stream_level(config, ZEN4) == 3
    assert cache_blocks(shape, config, ZEN4) == (4096, 1026, 256)
    assert cache_blocks(GemmShape(256, 256, 65536), config, ZEN4) == (680, 258, 256)


def test_a_tile_l3_cannot_feed_streams_from_l2_and_blocks_k_by_l1():
    """With the generic unit (two FMA pipes) a 2 x 2-vector tile reads 128 bytes of B per
    2-cycle step, more than the 16 bytes a cycle L3 gives: B's block must live in half of
    L2 and the A panel in half of L1 (kc = 16 KiB / 8 bytes = 2048, K = 4096 in 2 blocks)."""
    generic = replace(ZEN4, cpu="generic")
    config = KernelConfig(2, 2, 16)
    assert stream_level(config, generic) == 2
    kc, mc, nc = cache_blocks(GemmShape(512, 512, 4096), config, generic)
    assert (kc, mc) == (2048, 512)
    assert kc * nc * F32 <= 512 * 1024 and nc % 32 == 0


def test_b_read_as_rows_streams_from_l2():
    """Light resnet50's 3x3 convolution at 56 x 56 (M 64, N 3136, K 576) on AVX2's 6 x 16:
    B is its im2col rows, 16 floats per K step at a stride of 3136. Its stream (64 bytes per
    6 cycles) is one L3 could feed contiguously, but as rows its block goes to half of L2:
    512 KiB / (576 x 4 bytes) = 227 columns, 224 in whole tiles, 14 blocks of 224; the 6 x 576
    A panel (13.5 KiB) fits half of L1, K stays whole. The same B as compile-time panels (a
    weight) streams from L3: 4 MiB / 2304 bytes = 1820 columns, 1808, 2 blocks of 1568. In
    order `nm` the stream is A's panels, contiguous: from L3."""
    config = KernelConfig(6, 2, 8)
    rows = GemmShape(64, 3136, 576, b_panels=False)
    assert stream_level(config, AVX2, b_rows=True) == 2
    assert stream_level(config, AVX2) == 3
    assert stream_level(replace(config, order="nm"), AVX2, b_rows=True) == 3
    assert cache_blocks(rows, config, AVX2) == (576, 66, 224)
    assert cache_blocks(replace(rows, b_panels=True), config, AVX2) == (576, 66, 1568)


def test_small_k_is_one_block_and_order_nm_blocks_m():
    """K = 64 is one block; in order `nm` the reused micro-panel is B's (kc x 64) and the
    streamed block A's (mc x kc)."""
    shape = GemmShape(512, 512, 64)
    assert cache_blocks(shape, KernelConfig(6, 4, 16), ZEN4) == (64, 516, 512)
    kc, mc, nc = cache_blocks(GemmShape(512, 512, 1024), KernelConfig(6, 4, 16, "nm"), ZEN4)
    assert kc == 1024 and mc % 6 == 0 and nc == 512


def test_blocks_given_are_kept_and_clipped_to_the_problem():
    shape = GemmShape(100, 64, 300)
    config = KernelConfig(4, 2, 16, "mn", kc=128, nc=32)
    assert cache_blocks(shape, config, ZEN4) == (128, 100, 32)
    assert cache_blocks(shape, replace(config, kc=1000, nc=4096), ZEN4)[::2] == (300, 64)


@settings(max_examples=60, deadline=None)
@given(
    l1=st.sampled_from([16, 32, 48, 64]),
    l2=st.sampled_from([256, 512, 1024, 2048]),
    m=st.integers(1, 2000),
    n=st.integers(16, 2000),
    k=st.integers(1, 5000),
    order=st.sampled_from(["mn", "nm"]),
    b_panels=st.booleans(),
)
def test_footprints_stay_within_their_cache_budgets(
    l1: int, l2: int, m: int, n: int, k: int, order: str, b_panels: bool
):
    """The reused micro-panel fits half of L2 (half of L1 when K is split), the streamed
    block half of its stream level (where a block of one tile's width fits at all); blocks
    are whole tiles, kc at most K."""
    caches = (
        CacheLevel(1, l1 * 1024, 8, 64),
        CacheLevel(2, l2 * 1024, 8, 64),
        CacheLevel(3, 8 * 1024 * 1024, 16, 64),
    )
    info = replace(ZEN4, caches=caches)
    shape = GemmShape(m, n, k, b_panels)
    config = replace(default_config(shape, info), order=order)
    kc, mc, nc = cache_blocks(shape, config, info)
    assert 1 <= kc <= k and mc % config.mr == 0 and nc % config.nr == 0
    resident = config.mr if order == "mn" else config.nr
    assert resident * kc * F32 <= (l1 if kc < k else l2) * 1024 // 2
    streamed = kc * nc if order == "mn" else mc * kc
    unit = config.nr if order == "mn" else config.mr
    budget = info.cache(stream_level(config, info, b_rows=not b_panels)).size // 2
    if unit * kc * F32 <= budget:
        assert streamed * F32 <= budget


def test_space_holds_block_variants_and_their_steps_stay_in_it():
    shape = GemmShape(256, 256, 4096)
    space = Space(shape, ZEN4)
    default = default_config(shape, ZEN4)
    members = set(space.configs())
    kc, _, nc = cache_blocks(shape, default, ZEN4)
    variants = {c for c in members if (c.mr, c.nr_vectors, c.lanes, c.order) == (6, 4, 16, "mn")}
    assert {c.kc for c in variants} == {kc // 2, 0}  # twice K is no block
    # with the analytical kc (all of K) nc is all of N; half of it is the one variant
    assert (kc, nc) == (4096, 256)
    assert {c.nc for c in variants if c.kc == 0} == {nc // 2, 0}
    blocked = replace(default, kc=kc // 2)
    assert space.is_valid(blocked) and not space.is_valid(replace(default, kc=kc // 2 + 8))
    steps = space.block_neighbours(blocked)
    assert replace(default, kc=0) in steps and all(s in members for s in steps)
    assert all((s.mr, s.nr_vectors) == (6, 4) for s in steps)
    assert all(c.kc == c.mc == c.nc == 0 for c in space.tile_neighbours(blocked))


def test_estimate_charges_the_sums_of_many_k_blocks():
    shape = GemmShape(256, 256, 4096)
    default = default_config(shape, ZEN4)
    tiny = replace(default, kc=8)
    assert estimate_seconds(shape, tiny, ZEN4) > estimate_seconds(shape, default, ZEN4)


def test_config_text_and_json_carry_the_blocks():
    config = KernelConfig(6, 4, 16, "nm", 256, 96, 0)
    assert config.text() == "6,4,16,nm,256,96,0"
    assert parse_config(config.text()) == config
    assert parse_config("6,4,16,mn") == KernelConfig(6, 4, 16)
    assert KernelConfig.from_json(config.to_json()) == config
    # a record written before the blocks existed: the analytical blocks
    old = {"mr": 6, "nr_vectors": 4, "lanes": 16, "order": "mn"}
    assert KernelConfig.from_json(old) == KernelConfig(6, 4, 16)
    with pytest.raises(ValueError, match="kc,mc,nc"):
        parse_config("6,4,16,mn,256")


def test_seeded_beam_finds_a_planted_block_optimum():
    """The tile is the analytical one, the best kc is half of the analytical: the block
    steps of the best config find it within a few rounds."""
    shape = GemmShape(256, 256, 4096)
    space = Space(shape, ZEN4)
    default = default_config(shape, ZEN4)
    kc = cache_blocks(shape, default, ZEN4)[0]
    optimum = replace(default, kc=kc // 2 // 8 * 8)
    assert space.is_valid(optimum)

    def time_of(task: Task, config: KernelConfig) -> float:
        tile = (config.mr, config.nr_vectors, config.lanes, config.order)
        off = tile != (default.mr, default.nr_vectors, default.lanes, default.order)
        return 1e-3 * (1 + 0.2 * off + 0.1 * (config != optimum))

    task = Task("k", "a", {"epilogue": []}, shape, default)
    state = TaskState(task, space)
    runner = FakeRunner({}, noise=0.0, time_of=time_of)
    Scheduler([state], runner, lambda *_: None, trials=48).run()
    best = state.best()
    assert best is not None and best[0] == optimum
