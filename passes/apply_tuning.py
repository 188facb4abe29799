"""apply-tuning: attaches each contraction's tuning config as a `terrace.config` attribute,
which contraction-microkernel reads in preference to its own options (TUNING.md section 3).

For every contraction contraction-microkernel would rewrite, the pass builds the workload
descriptor (the GEMM form's loops and maps, operand shapes, which operands are weights, the
fused prologue and epilogue ops) and its sha256 keys, then chooses, in order: the forced
`config` (for the task `task`, or every task when `task` is empty: how the tuner builds one
candidate, and how a record is replayed by hand), the best validated record of the database
`db` for (key, `target-fp`, space), the best for (anchor key, ...), else the analytical default
for the vector unit the options describe (terrace.tuning.analytical). The attribute names the
choice (`source`) and the task key, so printed IR shows what was applied.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import DictionaryAttr, IntegerAttr, MemRefType, ModuleOp, StringAttr
from xdsl.ir import Attribute, Operation
from xdsl.passes import ModulePass
from xdsl.utils.hints import isa

from ..tuning.analytical import default_config, resolved
from ..tuning.config import SPACE, GemmShape, KernelConfig, task_keys
from ..tuning.records import BestIndex, load_best_index
from ..tuning.target_info import F32_BITS, GENERIC_L3, CacheLevel, TargetInfo
from .contraction_match import Fusion, find_fusion, indexing_maps, match_contraction, root
from .contraction_weights import is_weight

CONFIG_ATTR = "terrace.config"

# helpers


def _shape(value: Any) -> list[int]:
    type_ = value.type
    return list(type_.get_shape()) if isa(type_, MemRefType[Attribute]) else []


def _stage_desc(op: Operation, chain: int | None) -> dict[str, Any]:
    body = [o.name for o in op.regions[0].block.ops]
    maps = [str(m) for m in indexing_maps(op)]  # pyright: ignore[reportArgumentType]
    return {"ops": body, "maps": maps, "chain": chain}


def descriptor(function: func.FuncOp, fusion: Fusion) -> dict[str, Any]:
    """The workload descriptor of a fused contraction: what its code depends on, and no SSA
    names, weight names or values, or locations."""
    c = fusion.contraction
    return {
        "anchor": "contraction",
        "gemm": [c.m_size, c.n_size, c.k_size],
        "ranges": list(c.ranges),
        "out_loops": list(c.out_loops),
        "m_dim": c.m_dim,
        "n_dims": list(c.n_dims),
        "k_loops": list(c.k_loops),
        "maps": [str(c.lhs_map), str(c.rhs_map)],
        "shapes": [_shape(c.lhs), _shape(c.rhs), _shape(c.out)],
        "dtypes": ["f32", "f32", "f32"],
        "weights": [is_weight(function, root(c.lhs)), is_weight(function, root(c.rhs))],
        "prologue": None if fusion.prologue is None else _stage_desc(fusion.prologue.op, None),
        "epilogue": [_stage_desc(s.op, s.chain) for s in fusion.epilogue],
    }


def gemm_shape(desc: dict[str, Any]) -> GemmShape:
    m, n, k = desc["gemm"]
    weights = desc.get("weights", [False, False])
    return GemmShape(int(m), int(n), int(k), b_panels=bool(weights[1]))


def parse_config(text: str) -> KernelConfig:
    """`mr,nr_vectors,lanes,order[,kc,mc,nc]` (the `config` option) as a config."""
    parts = text.split(",")
    if len(parts) not in (4, 7):
        raise ValueError(f"config '{text}': expected mr,nr_vectors,lanes,order[,kc,mc,nc]")
    blocks = [int(part) for part in parts[4:]]
    return KernelConfig(int(parts[0]), int(parts[1]), int(parts[2]), parts[3], *blocks)


def config_attr(config: KernelConfig, source: str, key: str) -> DictionaryAttr:
    """The attribute of a config whose blocks are resolved (no 0 left)."""
    return DictionaryAttr(
        {
            "mr": IntegerAttr(config.mr, 64),
            "nr_vectors": IntegerAttr(config.nr_vectors, 64),
            "lanes": IntegerAttr(config.lanes, 64),
            "order": StringAttr(config.order),
            "kc": IntegerAttr(config.kc, 64),
            "mc": IntegerAttr(config.mc, 64),
            "nc": IntegerAttr(config.nc, 64),
            "source": StringAttr(source),
            "key": StringAttr(key),
        }
    )


@cache
def _open(path: str, mtime_ns: int) -> BestIndex:
    """The database's best-record index, loaded once per file version in a process, and
    from the compile cache folder when a compile indexed this version before."""
    del mtime_ns  # part of the cache key only
    from ..runtime.cache import default_cache_dir

    return load_best_index(path, default_cache_dir())


def open_database(path: str) -> BestIndex | None:
    try:
        mtime = os.stat(path).st_mtime_ns
    except OSError:
        return None
    return _open(str(Path(path).resolve()), mtime)


# the pass


@dataclass(frozen=True)
class ApplyTuningPass(ModulePass):
    """Attach a `terrace.config` to every contraction (the module docstring says which).

    Input: linalg on memrefs (after bufferize, before contraction-microkernel).
    Output: the same IR; contractions carry `terrace.config = {mr, nr_vectors, lanes, order,
    kc, mc, nc, source, key}`, `source` one of `forced`, `record`, `anchor-record`,
    `analytical`; the cache blocks a config leaves at 0 are the analytical ones for its tile.
    Options: db (a records file, "" for none), target-fp (the target fingerprint records must
    match), cpu, lanes and vector-registers (the vector unit of the analytical default),
    l1d-bytes and l2-bytes (the caches of its blocks), task and config
    (`mr,nr_vectors,lanes,order[,kc,mc,nc]` forced on the task with key `task`, or on every
    contraction when `task` is empty).
    """

    name = "apply-tuning"

    db: str = ""
    target_fp: str = ""
    cpu: str = "generic"
    lanes: int = 16
    vector_registers: int = 32
    l1d_bytes: int = 32 * 1024
    l2_bytes: int = 1024 * 1024
    task: str = ""
    config: str = ""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        info = TargetInfo(
            tag="",
            triple="",
            cpu=self.cpu,
            features="",
            vector_bits=self.lanes * F32_BITS,
            vector_registers=self.vector_registers,
            caches=(
                CacheLevel(1, self.l1d_bytes, 8, 64),
                CacheLevel(2, self.l2_bytes, 8, 64),
                CacheLevel(3, GENERIC_L3, 16, 64),
            ),
        )
        database = open_database(self.db) if self.db else None
        forced = parse_config(self.config) if self.config else None
        for function in op.ops:
            if not isinstance(function, func.FuncOp) or not function.body.blocks:
                continue
            ops = list(function.body.block.ops)
            for at, candidate in enumerate(ops):
                contraction = match_contraction(candidate)
                if contraction is None:
                    continue
                desc = descriptor(function, find_fusion(ops, at, contraction, True))
                key, anchor = task_keys(desc)
                config, source = default_config(gemm_shape(desc), info), "analytical"
                if database is not None:
                    config, source = self._record(database, key, anchor) or (config, source)
                if forced is not None and self.task in ("", key):
                    config, source = forced, "forced"
                config = resolved(gemm_shape(desc), config, info)
                candidate.attributes[CONFIG_ATTR] = config_attr(config, source, key)

    def _record(self, index: BestIndex, key: str, anchor: str) -> tuple[KernelConfig, str] | None:
        return index.lookup(key, anchor, self.target_fp, SPACE)
