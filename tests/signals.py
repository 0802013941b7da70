"""Small hand-made test signals with known content (µV, shape (n_samples, n_channels)), and
hand-made detection results to store as nights."""

from __future__ import annotations

import numpy as np

from kneeemg.config import DetectorConfig
from kneeemg.dsp.result import DetectionResult
from kneeemg.events import Event
from kneeemg.metrics import night_metrics


def biphasic(fs_hz: float, dur_s: float, peak_uv: float) -> np.ndarray:
    """One period of a sine: a biphasic potential of ``dur_s`` seconds."""
    n = max(2, round(dur_s * fs_hz))
    return peak_uv * np.sin(np.linspace(0.0, 2.0 * np.pi, n, endpoint=False))


def bursts(fs_hz: float = 1000.0, seconds: float = 14.0, n_channels: int = 2, seed: int = 1, hum_uv: float = 0.0,
           artefacts: bool = True) -> tuple[np.ndarray, list[tuple[int, float, float, str]]]:
    """Noise (3 µV RMS), a DC offset, and events at known times.

    Returns
    -------
    x : ndarray, shape (n, n_channels)
    truth : list of (channel, onset_s, offset_s, kind)
    """
    rng = np.random.default_rng(seed)
    n = round(seconds * fs_hz)
    t = np.arange(n) / fs_hz
    x = rng.normal(0.0, 3.0, (n, n_channels)) + 800.0
    if hum_uv:
        x += hum_uv * np.sin(2 * np.pi * 50.0 * t)[:, None]
    truth: list[tuple[int, float, float, str]] = []

    def put(ch: int, t0: float, sig: np.ndarray, kind: str | None) -> None:
        i = round(t0 * fs_hz)
        x[i : i + len(sig), ch] += sig
        if kind:
            truth.append((ch, t0, t0 + len(sig) / fs_hz, kind))

    put(0, 3.0, biphasic(fs_hz, 0.010, 80.0), "twitch")
    put(0, 4.2, rng.normal(0, 40.0, round(0.15 * fs_hz)), "twitch")
    put(0, 6.0, rng.normal(0, 50.0, round(2.0 * fs_hz)), "spasm")
    if n_channels > 1:
        put(1, 3.5, biphasic(fs_hz, 0.015, -60.0), "twitch")
        put(1, 5.0, rng.normal(0, 30.0, round(0.8 * fs_hz)), "spasm")
        if artefacts:
            # electrode off: a flat line at the offset for 2 s (epochs 9 and 10)
            i0, i1 = round(9.0 * fs_hz), round(11.0 * fs_hz)
            x[i0:i1, 1] = 800.0
    if artefacts:
        # movement artefact: slow swing, mostly below 20 Hz, in epoch 11 of channel 0
        i0 = round(11.0 * fs_hz)
        m = round(0.8 * fs_hz)
        x[i0 : i0 + m, 0] += 900.0 * np.sin(np.linspace(0, 2 * np.pi * 2, m))
        # saturation: stuck at the rail for 0.3 s in epoch 12 of channel 0
        i0 = round(12.3 * fs_hz)
        x[i0 : i0 + round(0.3 * fs_hz), 0] = 8000.0
    truth.sort(key=lambda r: (r[1], r[0]))
    return x, truth


def sleep_lab_noise(n_samples, fs_hz, seed=0, rms_uv=3.0):
    """Quiet noise band-passed to 10-100 Hz, as a sleep lab filters its leg channels, µV,
    shape (n_samples,) (the filter's first 2000 samples left out)."""
    import scipy.signal as sg

    sos = sg.butter(4, [10.0, 100.0], "bandpass", fs=fs_hz, output="sos")
    x = sg.sosfilt(sos, np.random.default_rng(seed).normal(0.0, 1.0, n_samples + 2000))[2000:]
    return rms_uv * x / x.std()


def hand_made(n_twitches, minutes=60, usable_minutes=None, seed=0):
    """A DetectionResult with ``n_twitches`` twitches and one leg movement (1 kHz, 2 channels, 1 s epochs)."""
    rng = np.random.default_rng(seed)
    n_epochs = minutes * 60
    onsets = np.sort(rng.choice(np.arange(10, n_epochs - 10), size=n_twitches, replace=False))
    events = [Event(int(t) * 1000, int(t) * 1000 + 80, 1000.0, int(t) % 2, "twitch", 120.0, 40.0, 18.0, ("left", "right")[int(t) % 2])
              for t in onsets]
    flags = np.zeros((n_epochs, 2), np.uint8)
    if usable_minutes is not None:
        flags[usable_minutes * 60 :, :] = 1
    return DetectionResult(events=events, leg_movements=[Event(5000, 7000, 1000.0, 0, "lm", 30.0, 10.0, 9.0, "left")],
                           fs_hz=1000.0, n_samples=n_epochs * 1000, start_sample=0, labels=("left", "right"),
                           config=DetectorConfig(), epoch_samples=1000, first_epoch=0, epoch_flags=flags,
                           floor_uv=np.full((n_epochs, 2), 2.5, np.float32))


def add(store, n_twitches, day, key=None, **kw):
    """Store a :func:`hand_made` night of date ``day`` (``key``: its content hash, by default from the date)."""
    res = hand_made(n_twitches, **kw)
    return store.add_night(res, night_metrics(res, date=day), "hand-made", key or f"hash-{day}")
