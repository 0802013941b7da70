"""Signal path: filters, envelope, noise floor, burst detector (numba kernels + wrappers)."""

from .detector import StreamingDetector, detect
from .result import DetectionResult

__all__ = ["StreamingDetector", "detect", "DetectionResult"]
