"""The analytical model (terrace.tuning.analytical): the published kernels it must reproduce,
the register budget it must respect, and the machine description it reads."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from terrace.targets import get_target
from terrace.tuning.analytical import (
    default_config,
    edge_waste,
    estimate_seconds,
    fits,
    microkernels,
    ranked_microkernels,
    stream_factor,
)
from terrace.tuning.config import GemmShape, KernelConfig
from terrace.tuning.target_info import CacheLevel, TargetInfo, host_caches, target_info

ZEN4 = TargetInfo("x86_64", "x86_64-unknown-linux-gnu", "znver4", "", 512, 32)
AVX2 = TargetInfo("x86_64-avx2", "x86_64-unknown-linux-gnu", "x86-64-v3", "", 256, 16)


def test_zen4_large_gemm_gets_amd_blis_kernel():
    # AMD BLIS's Zen 4 sgemm micro-kernel is 6 x 64 (Low et al.; TUNING.md)
    assert default_config(GemmShape(512, 512, 512), ZEN4) == KernelConfig(6, 4, 16)


def test_zen4_kernel_keeps_up_with_a_stream_of_rows():
    # 6 x 64 on one 512-bit FMA pipe: 256 bytes of B per 24-cycle K step, under 12 a cycle
    assert stream_factor(KernelConfig(6, 4, 16), ZEN4) == 1.0
    assert default_config(GemmShape(64, 3136, 576, False), ZEN4) == KernelConfig(6, 4, 16)


def test_generic_avx2_gets_blis_haswell_kernel_on_rows():
    """16 registers of 256 bits, two FMA pipes (the generic table): 4 x 3 vectors does the
    most multiply-adds per load (12 per 7) but reads 96 bytes of B per 6-cycle K step, 16 a
    cycle, over the 12 a stream of B rows gets (8 cycles of stream: factor 6/8); 6 x 2 (12 per
    8, 64 bytes per 6 cycles) keeps up and wins: BLIS's Haswell sgemm kernel, 6 x 16. On a
    weight's contiguous panels L3 gives all 16 bytes a cycle and 4 x 3 stays."""
    assert stream_factor(KernelConfig(4, 3, 8), AVX2) == 0.75
    assert stream_factor(KernelConfig(6, 2, 8), AVX2) == 1.0
    # light resnet50's 3x3 convolution at 56 x 56 (im2col rows as B) and its 7 x 7 one
    assert default_config(GemmShape(64, 3136, 576, False), AVX2) == KernelConfig(6, 2, 8)
    assert default_config(GemmShape(64, 12544, 147, False), AVX2) == KernelConfig(6, 2, 8)
    assert default_config(GemmShape(1024, 1024, 1024, False), AVX2) == KernelConfig(6, 2, 8)
    assert default_config(GemmShape(1024, 1024, 1024), AVX2) == KernelConfig(4, 3, 8)


def test_one_a_panel_is_not_charged_for_its_b_stream():
    """M = 1 (a classifier): B is read once whatever the tile, so 2 x 4 vectors (the fewest
    rows that hide the FMA latency) stays ahead of 6 x 2 and its 5 rows of padding."""
    assert default_config(GemmShape(1, 1000, 2048, False), AVX2) == KernelConfig(2, 4, 8)


def test_narrow_n_gets_a_tile_no_wider_than_n():
    config = default_config(GemmShape(512, 16, 512), ZEN4)
    assert config.nr == 16


def test_padding_is_counted():
    assert edge_waste(GemmShape(64, 64, 1), 6, 64) == 66 / 64
    assert edge_waste(GemmShape(60, 64, 1), 6, 64) == 1.0


@settings(max_examples=50, deadline=None)
@given(
    registers=st.sampled_from([16, 32]),
    bits=st.sampled_from([128, 256, 512]),
    m=st.integers(1, 600),
    n=st.integers(1, 600),
)
def test_every_candidate_fits_the_registers(registers: int, bits: int, m: int, n: int):
    info = TargetInfo("t", "", "generic", "", bits, registers)
    for mr, nv in microkernels(info):
        assert mr * nv + nv + 1 <= registers
        assert mr * nv >= info.micro.fma_latency * info.micro.fma_pipes
    shape = GemmShape(m, n, 64)
    ranked = ranked_microkernels(shape, info, info.lanes)
    assert ranked, "a target with 16 registers has some micro-kernel"
    assert all(fits(c.mr, c.nr_vectors, registers) for c in ranked)
    assert default_config(shape, info) == ranked[0]


@settings(max_examples=30, deadline=None)
@given(
    registers=st.sampled_from([16, 32]),
    bits=st.sampled_from([256, 512]),
    m=st.integers(1, 300),
    n=st.integers(1, 300),
    mr=st.integers(0, 18),
    nv=st.integers(0, 6),
)
def test_validity_is_exactly_the_space(registers: int, bits: int, m: int, n: int, mr: int, nv: int):
    """The search only ever steps to configs of the space: a neighbour of a member is a member,
    and `is_valid` says yes to exactly the members."""
    from terrace.tuning.space import Space

    info = TargetInfo("t", "", "generic", "", bits, registers)
    space = Space(GemmShape(m, n, 64), info)
    members = set(space.configs())
    for lanes in space.lane_choices():
        for order in ("mn", "nm"):
            config = KernelConfig(mr, nv, lanes, order)
            assert space.is_valid(config) == (config in members)
            if config in members:
                assert set(space.neighbours(config)) <= members


def test_estimate_prefers_the_default_over_a_one_row_kernel():
    shape = GemmShape(512, 512, 512)
    default = default_config(shape, ZEN4)
    assert estimate_seconds(shape, default, ZEN4) < estimate_seconds(
        shape, KernelConfig(1, 4, 16), ZEN4
    )


def test_caches_read_from_sysfs(tmp_path: Path):
    for index, (level, kind, size) in enumerate(
        [(1, "Data", "48K"), (1, "Instruction", "32K"), (2, "Unified", "2048K")]
    ):
        folder = tmp_path / f"index{index}"
        folder.mkdir()
        for name, value in [
            ("level", str(level)),
            ("type", kind),
            ("size", size),
            ("ways_of_associativity", "12"),
            ("coherency_line_size", "64"),
        ]:
            (folder / name).write_text(value + "\n")
    assert host_caches(tmp_path) == (
        CacheLevel(1, 48 * 1024, 12, 64),
        CacheLevel(2, 2048 * 1024, 12, 64),
    )


def test_cross_target_uses_its_table_caches():
    info = target_info(get_target("aarch64"))
    assert info.lanes == 4
    assert info.cache(1).size == get_target("aarch64").l1d_bytes  # pyright: ignore


def test_fingerprint_is_the_same_in_another_process():
    code = (
        "from terrace.tuning.target_info import TargetInfo;"
        "print(TargetInfo('x86_64', 'x86_64-unknown-linux-gnu', 'znver4', '', 512, 32)"
        ".fingerprint())"
    )
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert other.stdout.strip() == ZEN4.fingerprint()
