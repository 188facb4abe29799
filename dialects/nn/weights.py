"""The weight store: model weights as named numpy arrays, held beside the IR, never in it.

A module's `nn.weight "name"` ops refer to arrays in the store attached to that module. Passes
that fold weights (batchnorm into conv, constant folding) add new arrays under fresh names.
"""

from __future__ import annotations

import weakref
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation


class WeightStore(Mapping[str, np.ndarray]):
    """Named arrays. Names are unique; `add` picks a fresh one from a hint."""

    def __init__(self, arrays: Mapping[str, np.ndarray] | None = None):
        self._arrays: dict[str, np.ndarray] = dict(arrays or {})

    def __getitem__(self, name: str) -> np.ndarray:
        return self._arrays[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._arrays)

    def __len__(self) -> int:
        return len(self._arrays)

    def add(self, hint: str, array: np.ndarray) -> str:
        """Stores `array` under `hint`, or `hint_1`, `hint_2`, ... when taken; returns the name."""
        name = hint
        suffix = 0
        while name in self._arrays:
            suffix += 1
            name = f"{hint}_{suffix}"
        self._arrays[name] = np.ascontiguousarray(array)
        return name

    def set(self, name: str, array: np.ndarray) -> None:
        self._arrays[name] = np.ascontiguousarray(array)

    def nbytes(self) -> int:
        return sum(a.nbytes for a in self._arrays.values())

    def save(self, path: str | Path) -> None:
        # savez: names with '/' are legal zip member names and round-trip unchanged
        np.savez(path, allow_pickle=False, **self._arrays)

    @classmethod
    def load(cls, path: str | Path) -> WeightStore:
        try:
            with np.load(path, allow_pickle=False) as data:
                return cls({name: data[name] for name in data.files})
        except (OSError, ValueError, zipfile.BadZipFile) as error:
            raise ValueError(f"cannot read weights from {path}: {error}") from None

    # -- the store of a module -------------------------------------------------------------

    @staticmethod
    def of(op: Operation) -> WeightStore:
        """The store attached to the module that holds `op` (an empty one is attached when the
        module has none)."""
        module = _top_module(op)
        store = _STORES.get(module)
        if store is None:
            store = WeightStore()
            _STORES[module] = store
        return store

    def attach(self, module: ModuleOp) -> None:
        _STORES[module] = self


_STORES: weakref.WeakKeyDictionary[ModuleOp, WeightStore] = weakref.WeakKeyDictionary()


def _top_module(op: Operation) -> ModuleOp:
    top = op
    while top.parent_op() is not None:
        parent = top.parent_op()
        assert parent is not None
        top = parent
    assert isinstance(top, ModuleOp), f"{op.name} is not inside a module"
    return top
