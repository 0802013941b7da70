"""Filter design (scipy) and mains detection.

The filters are designed once per recording with scipy and run by the numba kernels as
second-order sections with explicit state, exactly like
``scipy.signal.sosfilt(sos, x, zi=zi)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal as sps

from ..config import NARROW_CONTENT_HZ, DetectorConfig
from ..errors import ConfigError

#: Highest fraction of the sampling rate used as the upper band-pass corner.
MAX_UPPER_FRACTION = 0.45
#: A mains peak must stand this many dB above the spectrum around it to be notched.
MAINS_PROMINENCE_DB = 10.0
#: Low band used to recognise movement artefact and DC jumps, Hz.
LOW_BAND_HZ = (1.0, 20.0)
#: The band every EMG recording's background fills, Hz: the reference of :func:`high_band_level_db`.
REFERENCE_BAND_HZ = (30.0, 100.0)
#: A background this many dB or more below its reference band above 200 Hz, on every channel,
#: is band-limited (docs/detector.md, "Known limits"): the channels of real broadband recordings
#: lie 5-28 dB below, noise low-passed steeply at 100-200 Hz 55 dB or more.
BAND_LIMITED_DB = -40.0


def high_band_level_db(x_uv: np.ndarray, fs_hz: float, above_hz: float = NARROW_CONTENT_HZ) -> float | None:
    """How far a recording's background lies below its 30-100 Hz level above ``above_hz``, dB.

    Each channel's spectrum is the median of the periodograms of its 0.25 s segments (so
    bursts in a minority of them do not count), smoothed by a running median over 9 bins
    (36 Hz, so mains lines do not count either); a band's level is its median. The level of
    the band from ``above_hz`` to 0.9 x the Nyquist frequency is compared with that of
    :data:`REFERENCE_BAND_HZ`.

    Parameters
    ----------
    x_uv : ndarray, shape (n_samples, n_channels)
        Raw signal, µV: a few minutes are plenty.
    fs_hz : float
        Sampling rate, Hz.
    above_hz : float
        Lower edge of the high band, Hz.

    Returns
    -------
    float or None
        The highest level over the channels (the broadest channel decides), in dB below 0
        (``-inf`` when nothing at all lies above ``above_hz``); None when it cannot be told:
        fewer than 8 segments, a high band narrower than 12 Hz, or no channel with a
        background (flat).
    """
    x = np.asarray(x_uv, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    nper = int(round(fs_hz / 4))
    if len(x) < 8 * nper or 0.9 * fs_hz / 2 - above_hz < 12.0:
        return None
    if not np.all(np.isfinite(x)):  # (a channel that is not all numbers tells nothing; the detector refuses it)
        x = x[:, np.all(np.isfinite(x), axis=0)]
        if x.shape[1] == 0:
            return None
    f, pxx = sps.welch(x - x.mean(axis=0), fs=fs_hz, nperseg=nper, axis=0, average="median")
    ref_band = (f >= REFERENCE_BAND_HZ[0]) & (f <= REFERENCE_BAND_HZ[1])
    high_band = (f >= above_hz) & (f <= 0.9 * fs_hz / 2)
    levels = []
    for c in range(pxx.shape[1]):
        psd = sps.medfilt(pxx[:, c], 9)
        ref, high = float(np.median(psd[ref_band])), float(np.median(psd[high_band]))
        if ref > 0 and np.isfinite(ref) and np.isfinite(high):
            levels.append(10.0 * np.log10(high / ref) if high > 0 else -np.inf)
    return max(levels) if levels else None


@dataclass(frozen=True)
class FilterDesign:
    """The filters of one recording.

    Attributes
    ----------
    sos : ndarray, shape (n_sections, 6)
        Band-pass followed by the mains notches.
    sos_low : ndarray, shape (n_low_sections, 6)
        The 1-20 Hz band used by the artefact rules.
    band_hz : tuple of float
        Band-pass corners actually used (the upper one capped below Nyquist).
    mains_hz : float or None
        Mains fundamental that is notched, or None.
    notch_hz : tuple of float
        Every notched frequency (fundamental and harmonics).
    """

    sos: np.ndarray
    sos_low: np.ndarray
    band_hz: tuple[float, float]
    mains_hz: float | None
    notch_hz: tuple[float, ...]


def band_edges(fs_hz: float, config: DetectorConfig) -> tuple[float, float]:
    """Band-pass corners for ``fs_hz``, the upper one capped at 0.45 * fs_hz."""
    high = min(config.band_high_hz, MAX_UPPER_FRACTION * fs_hz)
    if config.band_low_hz >= high:
        raise ConfigError(
            f"band_low_hz={config.band_low_hz:g} Hz leaves no band below {high:g} Hz at {fs_hz:g} Hz; "
            "lower band_low_hz or use a higher sampling rate"
        )
    return float(config.band_low_hz), float(high)


def find_mains(x_uv: np.ndarray, fs_hz: float, max_harmonics: int = 5, high_hz: float | None = None) -> tuple[float | None, tuple[float, ...]]:
    """Find mains hum (50 or 60 Hz) and which harmonics of it stand out of the spectrum.

    Parameters
    ----------
    x_uv : ndarray, shape (n_samples, n_channels)
        Raw signal, at least about one second long.
    fs_hz : float
        Sampling rate, Hz.
    max_harmonics : int
        Most harmonics (fundamental included) to report.
    high_hz : float, optional
        Highest frequency worth notching (the band-pass upper corner).

    Returns
    -------
    (fundamental_hz or None, notch frequencies in Hz)
        A peak counts when its power exceeds the median of the spectrum 3-10 Hz around it
        by :data:`MAINS_PROMINENCE_DB`.
    """
    x = np.asarray(x_uv, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    nper = int(min(len(x), round(fs_hz)))
    if nper < 64:
        return None, ()
    f, pxx = sps.welch(x - x.mean(axis=0), fs=fs_hz, nperseg=nper, axis=0)
    psd = pxx.sum(axis=1)
    top = high_hz if high_hz is not None else MAX_UPPER_FRACTION * fs_hz

    def prominence_db(freq: float) -> float:
        k = int(np.argmin(np.abs(f - freq)))
        peak = psd[max(0, k - 1) : k + 2].max()
        near = (np.abs(f - freq) >= 3.0) & (np.abs(f - freq) <= 10.0)
        if not near.any():
            return -np.inf
        base = np.median(psd[near])
        if base > 0:
            return 10.0 * np.log10(peak / base)
        return np.inf if peak > 0 else -np.inf  # a flat signal shows no hum

    best = max((50.0, 60.0), key=prominence_db)
    if prominence_db(best) < MAINS_PROMINENCE_DB:
        return None, ()
    notches = [best]
    k = 2
    while len(notches) < max_harmonics and k * best < min(top, 0.5 * fs_hz - 5.0):
        if prominence_db(k * best) >= MAINS_PROMINENCE_DB:
            notches.append(k * best)
        k += 1
    return best, tuple(notches)


def design(fs_hz: float, config: DetectorConfig, mains_hz: float | None, notch_hz: tuple[float, ...] | None = None) -> FilterDesign:
    """Design the band-pass, the notches and the low band for ``fs_hz``.

    ``notch_hz`` lists the frequencies to notch; when None, the fundamental ``mains_hz``
    and its harmonics below the upper corner are used (at most five).
    """
    low, high = band_edges(fs_hz, config)
    parts = [sps.butter(config.filter_order, [low, high], btype="bandpass", fs=fs_hz, output="sos")]
    if mains_hz is not None and notch_hz is None:
        notch_hz = tuple(k * mains_hz for k in range(1, 6) if k * mains_hz < min(high, 0.5 * fs_hz - 5.0))
    notch_hz = tuple(notch_hz or ())
    for f0 in notch_hz:
        b, a = sps.iirnotch(f0, config.notch_q, fs=fs_hz)
        parts.append(sps.tf2sos(b, a))
    sos = np.ascontiguousarray(np.vstack(parts), dtype=np.float64)
    # the low band's 20 Hz edge still passes 14 % of 50 Hz: a hum of a few hundred µV that the
    # notches take out of the band-pass would read as movement, so the lowest notch (the
    # mains fundamental) is applied to the low band too
    low_parts = [sps.butter(2, LOW_BAND_HZ, btype="bandpass", fs=fs_hz, output="sos")]
    if notch_hz:
        b, a = sps.iirnotch(min(notch_hz), config.notch_q, fs=fs_hz)
        low_parts.append(sps.tf2sos(b, a))
    sos_low = np.ascontiguousarray(np.vstack(low_parts), dtype=np.float64)
    return FilterDesign(sos=sos, sos_low=sos_low, band_hz=(low, high), mains_hz=mains_hz, notch_hz=notch_hz)


def initial_state(sos: np.ndarray, first_sample_uv: np.ndarray) -> np.ndarray:
    """Filter state for a signal that has sat at ``first_sample_uv`` forever.

    Starting from this state avoids the step response to the electrode's DC offset.

    Returns
    -------
    ndarray, shape (n_channels, n_sections, 2)
    """
    zi = sps.sosfilt_zi(sos)  # (n_sections, 2), for a unit step
    first = np.asarray(first_sample_uv, dtype=float)
    return np.ascontiguousarray(first[:, None, None] * zi[None, :, :])
