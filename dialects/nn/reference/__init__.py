"""numpy reference semantics of every nn op: the oracle for differential testing.

A kernel takes the op (for its attributes and result types) and numpy inputs and returns the
results, with ONNX's semantics at `CANONICAL_OPSET`. One module per op family of the dialect
(elementwise, neural, shape, reduction, constants), each registering its kernels into
`KERNELS` with `@kernel`; `core.py` holds the table and `evaluate`. An op without a kernel of
its own (Resize, whose ONNX definition is mostly coordinate arithmetic) runs onnx's numpy
reference kernel on the op's equivalent ONNX node (`onnx_kernel`); the windowed ops (Conv,
ConvTranspose, the pools) and LRN have kernels here (onnx 1.23's LRN sums the window only for
the first N channels: it loops over the batch size). Float16 inputs are computed in float32
wherever a kernel takes several rounding steps, as onnxruntime does.
"""

from . import constants, elementwise, neural, reduction, shape
from .core import KERNELS, Kernel, evaluate, kernel, onnx_kernel
from .shape import ONNX_KERNEL_OPS, first_out_of_range

__all__ = [
    "KERNELS",
    "ONNX_KERNEL_OPS",
    "Kernel",
    "constants",
    "elementwise",
    "evaluate",
    "first_out_of_range",
    "kernel",
    "neural",
    "onnx_kernel",
    "reduction",
    "shape",
]
