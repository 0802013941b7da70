"""Judging the signal: noise floor, mains hum and lead-off, in words a sleeper can act on."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..config import DetectorConfig, as_config

FLAT_UV = 0.2  # below this floor (µV RMS, 20-450 Hz) the channel is flat: no skin contact
NOISY_UV = 20.0  # above this the electrode is loose or the skin not prepared (2-5 µV is typical)
MAINS_UV = 200.0  # mains amplitude that calls for moving the cable


@dataclass
class SignalCheck:
    """The first seconds of signal: is every electrode in good contact?

    Attributes
    ----------
    floor_uv : list of float
        Noise floor per channel: median RMS of quarter-second blocks, 20-450 Hz with the mains hum
        notched (as the detector filters), µV.
    mains_uv : list of float
        Amplitude of the stronger of 50 and 60 Hz per channel, µV.
    lead_off : list of str
        Labels of channels whose electrode the sensor reports off.
    problems : list of str
        One plain sentence per thing to fix; empty when all is well.
    """

    floor_uv: list[float]
    mains_uv: list[float]
    lead_off: list[str]
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def noise_floor_uv(x_uv: np.ndarray, fs_hz: float, config: DetectorConfig | None = None) -> np.ndarray:
    """Median RMS of quarter-second blocks, per channel (µV), shape (n_channels,).

    The signal is filtered as the detector with ``config`` (default settings when None)
    filters it: its band (20-450 Hz) with the mains hum that stands out notched (the hum is
    judged on its own, by :func:`check_signal`), so that this is the floor the detector
    measures its events against.
    """
    from scipy import signal as sps

    from ..dsp.filters import band_edges, design, find_mains

    x = np.asarray(x_uv, dtype=np.float64)
    if len(x) < 32:
        return np.full(x.shape[1], np.nan)
    config = as_config(config)
    mains_hz, notch_hz = find_mains(x, fs_hz, high_hz=band_edges(fs_hz, config)[1])
    sos = design(fs_hz, config, mains_hz, notch_hz).sos
    y = sps.sosfiltfilt(sos, x - x.mean(axis=0), axis=0, padlen=min(len(x) - 1, 3 * 2 * len(sos)))
    blocks = np.array_split(y, max(1, len(y) // max(1, int(fs_hz / 4))))
    return np.median(np.array([np.sqrt(np.mean(b**2, axis=0)) for b in blocks]), axis=0)


def check_signal(x_uv: np.ndarray, fs_hz: float, labels: tuple[str, ...], lead_off: list[str],
                 config: DetectorConfig | None = None) -> SignalCheck:
    """Noise floor, mains amplitude and lead-off of a few seconds of signal.

    Parameters
    ----------
    x_uv : ndarray, shape (n_samples, n_channels)
        Signal, µV (a few seconds).
    fs_hz : float
    labels : tuple of str
        Channel labels, as the problems name them.
    lead_off : list of str
        Labels of channels the sensor flags as lead-off.
    config : DetectorConfig, optional
        The detector's settings, whose filters the noise floor is measured through.
    """
    from scipy import signal as sps

    floors = noise_floor_uv(x_uv, fs_hz, config)
    x = np.asarray(x_uv, dtype=np.float64)
    f, p = sps.welch(x - x.mean(axis=0), fs=fs_hz, nperseg=int(min(len(x), fs_hz)), axis=0)
    mains = []
    for c in range(x.shape[1]):
        k50, k60 = np.argmin(np.abs(f - 50)), np.argmin(np.abs(f - 60))
        power = max(p[k50, c], p[k60, c]) * (f[1] - f[0]) * 1.5  # Hann window equivalent noise bandwidth
        mains.append(float(np.sqrt(2 * power)))
    problems = [f"{lab}: the electrode is off or loose (lead-off); press it on or replace it" for lab in lead_off]
    for c, lab in enumerate(labels):
        if lab in lead_off:
            continue
        if floors[c] < FLAT_UV:
            problems.append(f"{lab}: the signal is flat; check that the electrode touches the skin")
        elif floors[c] > NOISY_UV:
            problems.append(f"{lab}: noise of {floors[c]:.0f} µV is high (2-5 µV is typical); clean the skin and re-seat the electrode")
        if mains[c] > MAINS_UV:
            problems.append(f"{lab}: strong mains hum ({mains[c]:.0f} µV); move the cable away from power cords")
    return SignalCheck([round(float(v), 2) for v in floors], [round(v, 1) for v in mains], list(lead_off), problems)
