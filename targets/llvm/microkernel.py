"""The register-blocked micro-kernel's shape for a vector unit (contraction-microkernel's `mr`,
`nr-vectors` and `lanes`), derived from the vector width and the number of vector registers.

A tile of C is `mr` rows by `nr-vectors` vectors, held in `mr * nr-vectors` accumulator
registers for the whole K loop; each step also loads `nr-vectors` vectors of B and broadcasts one
element of A, so the tile fits when `mr * nr + nr + 1` registers do (BLIS's rule). Among the
tiles that fit, the most accumulators win (the most multiply-adds per load), then the taller
tile (the B loads are shared by more rows). Three caps keep tiles practical: `mr` at most 8 (A
is packed in panels of `mr` rows, and taller panels pad small M), at most 4 vectors per tile row
(each is a stream of B loads), and a tile row at most 32 f32 columns (wider tiles pad small N,
the output pixels of late CNN layers).

What that gives (checked by tests/targets/test_targets.py against the published BLIS kernels):
AVX-512 (32 x 512-bit): 8 x 2 vectors = 8 x 32; AVX2 (16 x 256-bit): 6 x 2 = 6 x 16, BLIS's
Haswell sgemm kernel; NEON and RVV at 128 bits (32 registers): 8 x 3 = 8 x 12, BLIS's ARMv8
kernel; 16 registers of 128 bits (simd128): 6 x 2 = 6 x 8.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_ROWS = 8
MAX_ROW_VECTORS = 4
MAX_ROW_FLOATS = 32
F32_BITS = 32


@dataclass(frozen=True)
class MicrokernelShape:
    mr: int
    nr_vectors: int
    lanes: int

    @property
    def nr(self) -> int:
        return self.nr_vectors * self.lanes


def microkernel_shape(vector_width_bits: int, vector_registers: int) -> MicrokernelShape:
    """The tile for `vector_registers` registers of `vector_width_bits` bits (module docstring)."""
    lanes = vector_width_bits // F32_BITS
    best = MicrokernelShape(1, 1, lanes)
    most_vectors = max(min(MAX_ROW_VECTORS, MAX_ROW_FLOATS // lanes), 1)
    for nr_vectors in range(1, most_vectors + 1):
        rows = min(MAX_ROWS, (vector_registers - nr_vectors - 1) // nr_vectors)
        if rows < 1:
            break
        candidate = MicrokernelShape(rows, nr_vectors, lanes)
        if _rank(candidate) > _rank(best):
            best = candidate
    return best


def _rank(shape: MicrokernelShape) -> tuple[int, int]:
    return (shape.mr * shape.nr_vectors, shape.mr)
