"""The ONNX ops that the importer converts into other nn ops, by (domain, op type): the one
list of them. Each converter declares its ops where it is written,

    @decomposition("Col2Im", since=18)
    def col2im(node: onnx.NodeProto, emitter: Emitter) -> None: ...

and the importer looks a node up here before it looks for an nn op of the same name. `since`
is the opset (of the op's domain) that introduced the op, as onnx's schemas give it
(tests/test_layout.py checks it). The modules that register are the
packages `decompose` (by ONNX category) and `control_flow` (If, Loop, Scan, sequences),
imported by `DECOMPOSITIONS`'s users through `registered()`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

import onnx

from .emitter import Emitter

Convert = Callable[[onnx.NodeProto, Emitter], None]

DEFAULT_DOMAIN = ""
ML_DOMAIN = "ai.onnx.ml"
TRAINING_DOMAIN = "ai.onnx.preview.training"


@dataclass(frozen=True)
class Decomposition:
    """How the importer converts one ONNX op: `convert` emits the nn ops it stands for."""

    op_type: str
    domain: str
    since: int
    convert: Convert
    module: str
    """The module that registered it (its ONNX category, in `decompose`)."""


DECOMPOSITIONS: dict[tuple[str, str], Decomposition] = {}
"""Every registered decomposition by (domain, op type); the default domain is ''."""


def decomposition(
    *op_types: str, since: int, domain: str = DEFAULT_DOMAIN
) -> Callable[[Convert], Convert]:
    """Registers the decorated function as the conversion of `op_types` of `domain`."""

    def register(convert: Convert) -> Convert:
        for op_type in op_types:
            key = (domain, op_type)
            if key in DECOMPOSITIONS:
                raise ValueError(f"{domain or 'ai.onnx'}.{op_type} is registered twice")
            DECOMPOSITIONS[key] = Decomposition(op_type, domain, since, convert, convert.__module__)
        return convert

    return register


def registered() -> dict[tuple[str, str], Decomposition]:
    """Every decomposition, once the modules that declare them are imported."""
    for package in ("control_flow", "decompose"):  # their decorators fill the table
        importlib.import_module(f"{__package__}.{package}")
    return DECOMPOSITIONS


def find(node: onnx.NodeProto) -> Decomposition | None:
    """The decomposition of `node`, if its op (in its domain) has one."""
    domain = DEFAULT_DOMAIN if node.domain == "ai.onnx" else node.domain
    return registered().get((domain, node.op_type))
