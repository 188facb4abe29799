"""TNPU-1, Terrace's accelerator (docs/npu.md, NPU.md): its instruction set (`isa`), the
`.tnpu` container (`binary`), the layer compiler (`conv`, `deps`), the partition between CPU and
NPU (`partition`) and the `npu` target (`target`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..target import Target


def targets(host_arch: str) -> list[Target]:
    """`npu`: TNPU-1 beside this machine (x86-64 hosts; the host runs the CPU segments)."""
    if host_arch != "x86_64":
        return []
    from ..x86_64 import host
    from .target import npu_target

    return [npu_target(host())]
