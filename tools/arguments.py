"""Command-line arguments that several `terrace` subcommands share."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from ..errors import TerraceError


def add_target_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--target",
        metavar="TAG",
        help="the target to compile for (default: this machine; `terrace targets` lists them)",
    )


def add_input_shape(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--input-shape",
        action="append",
        default=[],
        metavar="NAME=D0,D1,...",
        help="static shape for a graph input with dynamic dimensions (repeatable)",
    )


def input_shapes(entries: Sequence[str]) -> dict[str, list[int]]:
    """`--input-shape` entries as shapes by input name."""
    shapes: dict[str, list[int]] = {}
    for entry in entries:
        name, _, dims = entry.rpartition("=")
        try:
            shapes[name] = [int(d) for d in dims.split(",")]
        except ValueError:
            raise TerraceError(f"--input-shape '{entry}': expected NAME=D0,D1,...") from None
        if not name:
            raise TerraceError(f"--input-shape '{entry}': expected NAME=D0,D1,...")
    return shapes
