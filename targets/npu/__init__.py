"""TNPU-1, Terrace's accelerator (docs/npu.md, NPU.md): its instruction set (`isa`), the
`.tnpu` container (`binary`) and the layer compiler (`conv`)."""
