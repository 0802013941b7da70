"""Potential templates: the shapes of brief motor-unit potentials, as the filters see them.

A fasciculation potential is a single motor unit firing: a biphasic or triphasic wave of
about 5-20 ms. Such waves are well described by the first Hermite-Rodriguez functions, the
first and second derivatives of a Gaussian (Lo Conte et al., IEEE Trans Biomed Eng 1994).
The detector correlates the band-passed signal with a small bank of them (a matched
filter), each passed through the same band-pass and notches as the signal, so that it
finds potentials too brief or too weak to lift the 10 ms envelope above its onset level.

A template's output is compared with the RMS it has over the quiet background. That
follows from the background's autocorrelation ``R``: the output's mean square is
``sum over i, k of h[i] h[k] R(i - k)``, so the detector learns ``R`` (a few dozen lags)
instead of running every template over the whole night.

The filters' responses to a single-sample spike (an electrical artefact: a glitch of the
converter, an electrode "pop") and to a step of the signal's offset (the electrode's contact
changing) are shapes of their own (:func:`artefact_shape`): a brief burst that one of them
explains almost wholly is that artefact, not a potential.
"""

from __future__ import annotations

import numpy as np
from scipy import signal as sps

from ..shapes import hermite_rodriguez

#: Durations of the modelled potentials, s (a factor of about 1.4 apart).
WIDTHS_S = (0.005, 0.007, 0.010, 0.014, 0.020)
#: A filtered template keeps the samples that hold this share of its energy (from its start).
ENERGY_KEPT = 0.995
#: An artefact's shape keeps the samples in which the band-pass's response holds this share
#: of its energy (the rest is the high-pass's slow ringing).
ARTEFACT_ENERGY_KEPT = 0.95
#: Below this rate the spike test is off: a potential of 5 ms spans 2-4 samples there, and
#: its filtered shape is a spike's (docs/detector.md).
SPIKE_MIN_FS_HZ = 1000.0


def templates(sos: np.ndarray, fs_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """The template bank for a recording filtered by ``sos`` at ``fs_hz``.

    Returns
    -------
    tmpl : ndarray, shape (2, L_max, n_templates)
        ``tmpl[0]``: unit-energy templates, one per column, each at the end of its column
        (zeros before it), so that row ``m`` holds every template's weight for the sample
        ``L_max - 1 - m`` samples back. ``tmpl[1]``: row ``m`` holds each template's
        autocorrelation at lag ``k = L_max - 1 - m`` (doubled for ``k > 0``), so that a
        template's output mean square over a background is ``tmpl[1].T @ acf`` with the
        background's autocorrelation in the same order (see :func:`block_lag_means`).
    tlen : ndarray int64, shape (n_templates, 2)
        Each template's length and the length of the potential it models, samples.
    """
    rows, lens = [], []
    for width_s in WIDTHS_S:
        n = max(3, round(width_s * fs_hz))
        tail = round(0.05 * fs_hz)  # room for the filters' ringing
        for order in (1, 2):
            h = sps.sosfilt(sos, np.concatenate([hermite_rodriguez(n, order), np.zeros(tail)]))
            energy = np.cumsum(h * h)
            keep = int(np.searchsorted(energy, ENERGY_KEPT * energy[-1])) + 1
            h = h[:keep] / np.sqrt(energy[keep - 1])
            rows.append(h)
            lens.append((keep, n))
    l_max = max(len(h) for h in rows)
    tmpl = np.zeros((2, l_max, len(rows)))
    for j, h in enumerate(rows):
        tmpl[0, l_max - len(h) :, j] = h
        lags = np.correlate(h, h, mode="full")[len(h) - 1 :]  # lag 0, 1, ...
        lags[1:] *= 2.0
        tmpl[1, l_max - len(h) :, j] = lags[::-1]
    return tmpl, np.array(lens, dtype=np.int64)


def artefact_shape(sos: np.ndarray, fs_hz: float, kind: str, n_band: int | None = None) -> np.ndarray:
    """The response of the filters ``sos`` at ``fs_hz`` to one artefact of the raw signal,
    ``"spike"`` (one sample) or ``"step"`` (of its offset): its first samples, scaled so that
    the whole response (one second) has unit energy; the samples kept hold ``w <= 1`` of it
    (the sum of their squares), from which the detector tells the energy a window explains
    (``(y . shape)**2 / w``) and that of the artefact's whole response (``/ w**2``).

    As many samples are kept as the band-pass alone (the first ``n_band`` sections, all when
    None) needs to hold :data:`ARTEFACT_ENERGY_KEPT` of its response's energy: the notches'
    ringing is weak but slow, and counted in it would make the shape several times longer (at
    4 kHz with five notches, 95 samples instead of 23), its windows holding that much more
    noise, so that a spike of 100 µV on 3 µV noise was no longer told.

    Returns
    -------
    ndarray, shape (L,)
        Empty for a spike below :data:`SPIKE_MIN_FS_HZ` (the spike test is off there).
    """
    if kind not in ("spike", "step"):
        raise ValueError(f"kind must be 'spike' or 'step', not {kind!r}")
    if kind == "spike" and fs_hz < SPIKE_MIN_FS_HZ:
        return np.zeros(0)
    unit = np.zeros(round(fs_hz)) if kind == "spike" else np.ones(round(fs_hz))  # one second holds all but a trace
    unit[0] = 1.0
    band = sps.sosfilt(sos[: len(sos) if n_band is None else n_band], unit)
    energy = np.cumsum(band * band)
    keep = int(np.searchsorted(energy, ARTEFACT_ENERGY_KEPT * energy[-1])) + 1
    h = sps.sosfilt(sos, unit)
    return np.ascontiguousarray(h[:keep] / np.sqrt(np.sum(h * h)))


def block_lag_means(y_uv: np.ndarray, l_max: int, block: int) -> np.ndarray:
    """Mean of the lag products ``y[a] * y[a - k]`` over each block of ``block`` samples of
    ``y_uv`` (n_samples, n_channels) (zeros before the start; a last partial block is left
    out), for lags ``k`` from ``L_max - 1`` down to 0, the order of the rows of
    ``templates()[0][1]``: the blocks' autocorrelations.

    Returns
    -------
    ndarray, shape (n_blocks, n_channels, L_max), µV²
    """
    y = np.asarray(y_uv, dtype=float)
    nb = len(y) // block
    y = y[: nb * block]
    padded = np.concatenate([np.zeros((l_max - 1, y.shape[1])), y])
    out = np.empty((nb, y.shape[1], l_max))
    for m in range(l_max):  # lag l_max - 1 - m
        out[:, :, m] = (y * padded[m : m + len(y)]).reshape(nb, block, -1).mean(axis=1)
    return out
