"""Mutated ONNX models for fuzzing Terrace's front door.

Real models (the bundled demo CNN, the nine light models and the small pytorch-converted models
of onnx's backend test data) are damaged by mutation operators: byte-level ones on the
serialized file (bit flips, truncation, inserted, deleted or zeroed bytes), here, and
protobuf-aware ones (`onnx_proto_mutations.py`: wrong attribute types, dangling names, cycles,
absurd shapes, short initializers, dtype, opset and domain changes, op swaps, empty graphs),
structural ones first. A mutant is fully described by its base model's name and
a list of (operator, seed) steps, so any failure is reproduced by `build_mutant(base, steps)`.
The property they are checked against lives in `onnx_checks.py`.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import onnx
from hypothesis import strategies as st

from .onnx_proto_mutations import STRUCTURAL

PACKAGE_DIR = Path(__file__).resolve().parent.parent
ONNX_DATA_DIR = Path(onnx.__file__).parent / "backend" / "test" / "data"
DEMO_MODEL = PACKAGE_DIR / "models" / "demo_cnn.onnx"

HEAVY_LIGHT_MODELS = ("light_densenet121", "light_inception_v2")
"""Light models that take a second or more to import: drawn rarely, to keep campaigns short."""


# -- base models -------------------------------------------------------------------------------


def base_model_names() -> list[str]:
    """Every base model: the demo CNN, the light models, the pytorch-converted models."""
    light = sorted(p.stem for p in (ONNX_DATA_DIR / "light").glob("light_*.onnx"))
    converted = sorted(
        p.parent.name for p in (ONNX_DATA_DIR / "pytorch-converted").glob("*/*.onnx")
    )
    return ["demo_cnn", *light, *converted]


@cache
def _base_bytes(name: str) -> bytes:
    if name == "demo_cnn":
        return DEMO_MODEL.read_bytes()
    if name.startswith("light_"):
        return (ONNX_DATA_DIR / "light" / f"{name}.onnx").read_bytes()
    return (ONNX_DATA_DIR / "pytorch-converted" / name / "model.onnx").read_bytes()


def base_model(name: str) -> onnx.ModelProto:
    """A fresh copy of the base model `name`, safe to mutate."""
    return onnx.load_from_string(_base_bytes(name))


def _draw_base(rng: random.Random) -> str:
    names = base_model_names()
    light = [n for n in names if n.startswith("light_")]
    roll = rng.random()
    if roll < 0.25:
        return "demo_cnn"
    if roll < 0.55:
        cheap = [n for n in light if n not in HEAVY_LIGHT_MODELS]
        return rng.choice(light if rng.random() < 0.05 else cheap)
    return rng.choice([n for n in names if n != "demo_cnn" and n not in light])


# -- byte-level mutations: each maps a serialized model to damaged bytes ---------------------


ByteLevel = Callable[[random.Random, bytes], tuple[bytes, str]]


def bit_flips(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    mutable = bytearray(data)
    positions = [rng.randrange(len(mutable)) for _ in range(rng.randint(1, 8))] if data else []
    for position in positions:
        mutable[position] ^= 1 << rng.randrange(8)
    return bytes(mutable), f"bits flipped at {positions}"


def truncate(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    cut = rng.randrange(len(data) + 1)
    return data[:cut], f"cut to {cut} of {len(data)} bytes"


def insert_bytes(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    position = rng.randrange(len(data) + 1)
    extra = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
    return data[:position] + extra + data[position:], f"{len(extra)} bytes inserted at {position}"


def delete_bytes(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    position = rng.randrange(len(data) + 1)
    length = rng.randint(1, 32)
    return data[:position] + data[position + length :], f"{length} bytes deleted at {position}"


def zero_span(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    position = rng.randrange(len(data) + 1)
    length = min(rng.randint(1, 64), len(data) - position)
    zeros = bytes(length)
    return data[:position] + zeros + data[
        position + length :
    ], f"{length} bytes zeroed at {position}"


BYTE_LEVEL: dict[str, ByteLevel] = {
    "bit_flips": bit_flips,
    "truncate": truncate,
    "insert_bytes": insert_bytes,
    "delete_bytes": delete_bytes,
    "zero_span": zero_span,
}

OPERATORS = sorted([*STRUCTURAL, *BYTE_LEVEL])


# -- mutants -------------------------------------------------------------------------------


Step = tuple[str, int]
"""One mutation: an operator's name and the seed of its choices."""


@dataclass(frozen=True)
class Mutant:
    """A damaged model: a ModelProto after structural steps, or bytes after a byte-level one."""

    base: str
    steps: tuple[Step, ...]
    descriptions: tuple[str, ...]
    model: onnx.ModelProto | None
    data: bytes | None

    def describe(self) -> str:
        """The mutation list, and the call that rebuilds this mutant."""
        done = "; ".join(
            f"{name}: {text}" for (name, _), text in zip(self.steps, self.descriptions, strict=True)
        )
        return f"{done}  [build_mutant({self.base!r}, {list(self.steps)!r})]"

    def as_proto(self) -> onnx.ModelProto | None:
        """The mutant as a ModelProto, or None when its bytes do not parse."""
        if self.model is not None:
            return self.model
        try:
            return onnx.load_from_string(self.data or b"")
        except Exception:  # any protobuf failure: not a model
            return None


def build_mutant(base: str, steps: Sequence[Step]) -> Mutant:
    """Applies the steps to the base model: structural ones first, in order, then byte-level
    ones on the serialized result."""
    ordered = [s for s in steps if s[0] in STRUCTURAL] + [s for s in steps if s[0] in BYTE_LEVEL]
    model = base_model(base)
    descriptions: list[str] = []
    data: bytes | None = None
    for name, seed in ordered:
        rng = random.Random(seed)
        if name in STRUCTURAL:
            descriptions.append(_apply_structural(name, rng, model))
            continue
        if data is None:
            data = model.SerializeToString()
        data, text = BYTE_LEVEL[name](rng, data)
        descriptions.append(text)
    return Mutant(base, tuple(ordered), tuple(descriptions), None if data else model, data)


def _apply_structural(name: str, rng: random.Random, model: onnx.ModelProto) -> str:
    try:
        return STRUCTURAL[name](rng, model)
    except Exception as error:  # an earlier step broke what this one reads: skip it
        return f"no-op: {type(error).__name__}"


def draw_steps(rng: random.Random) -> list[Step]:
    """One to three mutations; about a third of mutants also get byte-level damage."""
    structural = sorted(STRUCTURAL)
    steps = [(rng.choice(structural), rng.randrange(2**32)) for _ in range(rng.randint(0, 2))]
    if not steps or rng.random() < 0.35:
        steps.append((rng.choice(sorted(BYTE_LEVEL)), rng.randrange(2**32)))
    return steps


def mutated_models(seed: int, count: int, bases: Sequence[str] | None = None) -> Iterator[Mutant]:
    """`count` mutants, the same ones for the same seed; of `bases` only when given (else the
    heavy light models are drawn rarely)."""
    rng = random.Random(seed)
    for _ in range(count):
        base = rng.choice(list(bases)) if bases else _draw_base(rng)
        yield build_mutant(base, draw_steps(rng))


@st.composite
def mutants(draw: st.DrawFn, max_steps: int = 3) -> Mutant:
    """Hypothesis strategy: a base model and a list of mutations; shrinks towards fewer steps
    and the first operators and seeds."""
    base = draw(st.sampled_from(base_model_names()))
    step = st.tuples(st.sampled_from(OPERATORS), st.integers(0, 2**32 - 1))
    steps = draw(st.lists(step, min_size=1, max_size=max_steps))
    return build_mutant(base, steps)
