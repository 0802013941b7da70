"""kneeemg: count knee twitches, spasms and cramps in overnight surface EMG.

The package is layered:

- :mod:`kneeemg.dsp` -- numba kernels (filters, envelope, noise floor, burst detector)
  and the thin public wrappers around them (:func:`kneeemg.detect`,
  :class:`kneeemg.StreamingDetector`).
- :mod:`kneeemg.simulate` -- seeded synthetic nights with their ground truth.
- :mod:`kneeemg.io` -- recording formats (crash-safe native format, EDF/BDF, CSV, WFDB).
- :mod:`kneeemg.playback` -- run the detector over a recording, chunk by chunk
  (:func:`kneeemg.replay`).

Nothing is computed at import time; heavy modules are imported on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from .errors import KneeEmgError

__version__ = "0.1.0"

_LAZY = {
    "DetectorConfig": "kneeemg.config",
    "Event": "kneeemg.events",
    "detect": "kneeemg.dsp.detector",
    "StreamingDetector": "kneeemg.dsp.detector",
    "DetectionResult": "kneeemg.dsp.detector",
    "simulate_night": "kneeemg.simulate",
    "open_recording": "kneeemg.io",
    "replay": "kneeemg.playback",
}

__all__ = ["KneeEmgError", "__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'kneeemg' has no attribute {name!r}")
