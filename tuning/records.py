"""The records database (TUNING.md section 7): an append-only JSONL file, one measured config
per line, keyed by the task's workload descriptor and the target's fingerprint.

A line that does not parse (a writer killed mid-line) is skipped with a warning naming its
line number; the rest of the database stays usable. Appends are one `write` of a whole line
followed by fsync, by the tuner alone (the single writer). Lookup takes the best validated
record (its fastest repeat; a finalist's interleaved re-measurement inside the whole model,
`meta.in_model`, or else as its kernel, `meta.confirmation`, when the task has them) for (key,
target fingerprint, space), else for (anchor key, ...); records of another fingerprint or
space are never applied, only offered as search seeds.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .config import KernelConfig

VERSION = 1
ENV_VAR = "TERRACE_TUNING_DB"


class DatabaseWarning(UserWarning):
    """A line of the database that was skipped."""


@dataclass(frozen=True)
class Result:
    median_s: float | None
    min_s: float | None = None
    repeats_s: tuple[float, ...] = ()
    iqr_s: float | None = None
    build_s: float = 0.0
    error: str | None = None
    """None, or `build_error`, `crash`, `timeout`, `wrong_result` (with `detail`)."""
    detail: str = ""
    validated: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None and self.validated and self.median_s is not None

    @property
    def seconds(self) -> float:
        """The decision statistic: the fastest repeat mean (docs/tuning.md: on a shared
        machine other processes only ever add time, so the minimum is the steadier estimate
        of a kernel's own cost; the median is kept beside it)."""
        if self.min_s is not None:
            return self.min_s
        return self.median_s if self.median_s is not None else float("inf")


@dataclass(frozen=True)
class Record:
    key: str
    anchor_key: str
    desc: Mapping[str, Any]
    target: Mapping[str, Any]
    target_fp: str
    space: str
    config: KernelConfig
    pipeline: str
    result: Result
    meta: Mapping[str, Any] = field(default_factory=dict[str, Any])

    def to_json(self) -> dict[str, Any]:
        return {
            "v": VERSION,
            "task": {"key": self.key, "anchor_key": self.anchor_key, "desc": dict(self.desc)},
            "target": {"fp": self.target_fp, **self.target},
            "space": self.space,
            "config": self.config.to_json(),
            "pipeline": self.pipeline,
            "result": {**asdict(self.result), "repeats_s": list(self.result.repeats_s)},
            "meta": dict(self.meta),
        }

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> Record:
        task, target, result = data["task"], dict(data["target"]), data["result"]
        fp = str(target.pop("fp"))
        return Record(
            key=str(task["key"]),
            anchor_key=str(task["anchor_key"]),
            desc=task["desc"],
            target=target,
            target_fp=fp,
            space=str(data["space"]),
            config=KernelConfig.from_json(data["config"]),
            pipeline=str(data["pipeline"]),
            result=Result(
                median_s=_float_or_none(result.get("median_s")),
                min_s=_float_or_none(result.get("min_s")),
                repeats_s=tuple(float(t) for t in result.get("repeats_s", [])),
                iqr_s=_float_or_none(result.get("iqr_s")),
                build_s=float(result.get("build_s", 0.0)),
                error=result.get("error"),
                detail=str(result.get("detail", "")),
                validated=bool(result.get("validated", False)),
            ),
            meta=data.get("meta", {}),
        )


def _float_or_none(value: Any) -> float | None:
    return None if value is None else float(value)


class Database:
    """The records of one JSONL file, loaded once and indexed by (key, fp, space)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.records: list[Record] = []
        self._by_key: dict[tuple[str, str, str], list[Record]] = {}
        self._by_anchor: dict[tuple[str, str, str], list[Record]] = {}
        if self.path.exists():
            self._load()

    def _load(self) -> None:
        with self.path.open(encoding="utf-8", errors="replace") as lines:
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                try:
                    record = Record.from_json(json.loads(line))
                except (ValueError, KeyError, TypeError, AttributeError) as error:
                    warnings.warn(
                        f"{self.path}:{number}: skipped a record that does not parse ({error})",
                        DatabaseWarning,
                        stacklevel=3,
                    )
                    continue
                self._index(record)

    def _index(self, record: Record) -> None:
        self.records.append(record)
        space = (record.target_fp, record.space)
        self._by_key.setdefault((record.key, *space), []).append(record)
        self._by_anchor.setdefault((record.anchor_key, *space), []).append(record)

    def append(self, records: Iterable[Record]) -> None:
        """Writes each record as one line (whole-line writes, then fsync); after a writer that
        was killed mid-line, the first record starts a new line instead of joining it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as out:
            if out.tell() > 0 and not _ends_with_newline(self.path):
                out.write("\n")
            for record in records:
                out.write(json.dumps(record.to_json(), sort_keys=True) + "\n")
                out.flush()
                self._index(record)
            os.fsync(out.fileno())

    def for_task(self, key: str, fp: str, space: str) -> list[Record]:
        return list(self._by_key.get((key, fp, space), []))

    def best(self, key: str, fp: str, space: str, anchor_key: str = "") -> Record | None:
        """The fastest validated record (`Result.seconds`) by full key, else by anchor key."""
        found = _fastest(self._by_key.get((key, fp, space), []))
        if found is None and anchor_key:
            found = _fastest(self._by_anchor.get((anchor_key, fp, space), []))
        return found

    def seeds(self, key: str, space: str) -> list[KernelConfig]:
        """Best configs of this task measured on other targets (search seeds only)."""
        by_fp: dict[str, list[Record]] = {}
        for record in self.records:
            if record.key == key and record.space == space:
                by_fp.setdefault(record.target_fp, []).append(record)
        found = (_fastest(records) for records in by_fp.values())
        return [r.config for r in found if r is not None]

    def compact(self, out: str | Path) -> int:
        """Writes the best record per (key, fp, space) to `out`; returns how many."""
        best = [_fastest(records) for records in self._by_key.values()]
        kept = [r for r in best if r is not None]
        Path(out).write_text(
            "".join(json.dumps(r.to_json(), sort_keys=True) + "\n" for r in kept),
            encoding="utf-8",
        )
        return len(kept)


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as data:
        data.seek(-1, os.SEEK_END)
        return data.read(1) == b"\n"


def _fastest(records: Iterable[Record]) -> Record | None:
    """The fastest validated record: among the finalists timed inside the whole model
    (`meta.in_model`, `terrace tune --check-in-model`) when the task has them, since that is
    where the config runs; else among the confirmation records (the finalists measured side
    by side); else among all. Each tier compares times of one kind (a whole model's, or a
    kernel's), measured in one sitting."""
    valid = [r for r in records if r.result.ok]
    in_model = [r for r in valid if r.meta.get("in_model")]
    confirmed = [r for r in valid if r.meta.get("confirmation")]
    return min(in_model or confirmed or valid, key=lambda r: r.result.seconds, default=None)


# -- the compile-time index ----------------------------------------------------------------


@dataclass(frozen=True)
class BestIndex:
    """The best config per (key, fp, space) and per (anchor key, fp, space): all that a
    compile looks up. Built once per database version and kept in the compile cache folder
    under the file's sha256, so a compile reads a few hundred bytes instead of parsing every
    record (Database: ~0.1 ms a record)."""

    by_key: Mapping[str, KernelConfig]
    by_anchor: Mapping[str, KernelConfig]

    @staticmethod
    def of(database: Database) -> BestIndex:
        by_key: dict[str, KernelConfig] = {}
        by_anchor: dict[str, KernelConfig] = {}
        for (key, fp, space), records in database._by_key.items():  # pyright: ignore[reportPrivateUsage]
            best = _fastest(records)
            if best is not None:
                by_key[_slot(key, fp, space)] = best.config
        for (anchor, fp, space), records in database._by_anchor.items():  # pyright: ignore[reportPrivateUsage]
            best = _fastest(records)
            if best is not None:
                by_anchor[_slot(anchor, fp, space)] = best.config
        return BestIndex(by_key, by_anchor)

    def lookup(
        self, key: str, anchor_key: str, fp: str, space: str
    ) -> tuple[KernelConfig, str] | None:
        """(config, "record") by full key, else (config, "anchor-record"), else None."""
        found = self.by_key.get(_slot(key, fp, space))
        if found is not None:
            return found, "record"
        found = self.by_anchor.get(_slot(anchor_key, fp, space))
        return (found, "anchor-record") if found is not None else None

    def to_json(self) -> dict[str, Any]:
        return {
            "by_key": {k: c.to_json() for k, c in self.by_key.items()},
            "by_anchor": {k: c.to_json() for k, c in self.by_anchor.items()},
        }

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> BestIndex:
        return BestIndex(
            {k: KernelConfig.from_json(c) for k, c in data["by_key"].items()},
            {k: KernelConfig.from_json(c) for k, c in data["by_anchor"].items()},
        )


def _slot(key: str, fp: str, space: str) -> str:
    return f"{key} {fp} {space}"


def load_best_index(path: str | Path, cache_dir: Path | None) -> BestIndex:
    """The index of the database at `path`: read from `cache_dir` when this version of the
    file (its sha256) was indexed before, else built from the records and written there
    (atomically; a folder that cannot be written only costs the next compile a parse)."""
    data = Path(path).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    stored = cache_dir / "tuning-index" / f"{digest}.json" if cache_dir is not None else None
    if stored is not None and stored.is_file():
        try:
            return BestIndex.from_json(json.loads(stored.read_text(encoding="utf-8")))
        except (ValueError, KeyError, TypeError):
            pass  # a damaged index: rebuild it
    index = BestIndex.of(Database(path))
    if stored is not None:
        try:
            stored.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(
                "w", dir=stored.parent, suffix=".tmp", delete=False, encoding="utf-8"
            ) as out:
                json.dump(index.to_json(), out)
            os.replace(out.name, stored)
        except OSError:
            pass
    return index
