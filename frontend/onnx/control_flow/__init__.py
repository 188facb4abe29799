"""Control flow resolved at import: If with a known condition, Loop and Scan unrolled, and
sequences and optionals whose lengths are known. Each op registers itself with
`registry.decomposition`; importing this package registers them all."""

from . import loop, scan, sequences

__all__ = ["loop", "scan", "sequences"]
