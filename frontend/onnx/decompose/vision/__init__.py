"""ONNX's image ops: GridSample, RoiAlign and the deprecated Upsample."""

from . import grid_sample, roi_align, upsample

__all__ = ["grid_sample", "roi_align", "upsample"]
