"""Shapes of motor-unit potentials, shared by the detector's templates, the simulator and
the accuracy benchmark (numpy only, so importing it costs nothing)."""

from __future__ import annotations

import numpy as np


def hermite_rodriguez(n_samples: int, order: int) -> np.ndarray:
    """The first (``order=1``, biphasic) or second (``order=2``, triphasic) derivative of a
    Gaussian over ``n_samples`` samples spanning ±3 standard deviations, peak 1.

    These Hermite-Rodriguez functions describe motor-unit action potentials well (Lo Conte
    et al., IEEE Trans Biomed Eng 1994).
    """
    t = np.linspace(-3.0, 3.0, n_samples)
    g = np.exp(-0.5 * t * t)
    w = -t * g if order == 1 else (1.0 - t * t) * g
    return w / np.max(np.abs(w))
