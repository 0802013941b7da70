"""Tools people use today for EMG onsets and leg movements, run the same way as kneeemg.

Each baseline takes one channel of raw EMG (µV, shape (n_samples,)) and its rate and
returns bursts as ``(onset_sample, offset_sample)`` pairs (offset exclusive). Each runs
with its package's defaults unless the package requires a setting; the settings used are
in :data:`SETTINGS`. :func:`bursts_to_events` gives the bursts kinds by the same duration
rules as the detector (twitch < 0.5 s <= spasm <= 10 s < cramp), so every tool is scored
per kind like kneeemg.

NeuroKit2's ``"pelt"`` method takes about 0.2 s per second of 1 kHz signal on the benchmark
machine, so it is in :data:`SLOW` and runs in full benchmark runs only.
"""

from __future__ import annotations

import logging
import warnings
from typing import Callable, Sequence

import numpy as np

from ..events import Event
from .insert import kind_of

log = logging.getLogger(__name__)

Bursts = list[tuple[int, int]]

#: Settings each baseline runs with (package defaults unless the package needs a value).
SETTINGS: dict[str, str] = {
    "NeuroKit2 threshold": "emg_clean + emg_amplitude, emg_activation(method='threshold'), defaults",
    "NeuroKit2 mixture": "emg_clean + emg_amplitude, emg_activation(method='mixture'), defaults",
    "NeuroKit2 biosppy": "emg_clean, emg_activation(method='biosppy'), defaults",
    "NeuroKit2 silva": "emg_clean, emg_activation(method='silva'), defaults",
    "NeuroKit2 pelt": "emg_clean, emg_activation(method='pelt'), defaults",
    "BioSPPy find_onsets": "biosppy.signals.emg.emg (100 Hz high-pass, find_onsets), threshold crossings paired",
    "BioSPPy Solnik (TKEO)": "20-450 Hz band-pass, solnik_onset_detector, rest = TKEO statistics of the first 2 s, threshold mean + 15 SD, 25 ms active state",
    "psgscoring AASM LM": "psgscoring.analyze_plm (AASM rule 4.A, onset +8 µV, offset +2 µV for 0.5 s), every epoch N2",
}


def _pairs(onsets: Sequence[int], offsets: Sequence[int], n: int) -> Bursts:
    out = []
    for a, z in zip(onsets, offsets):
        a, z = int(a), min(int(z), n)
        if z > a:
            out.append((a, z))
    return out


def _neurokit(method: str) -> Callable[[np.ndarray, float], Bursts]:
    def run(x: np.ndarray, fs_hz: float) -> Bursts:
        import neurokit2 as nk

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cleaned = nk.emg_clean(x, sampling_rate=int(fs_hz))
            if method in ("threshold", "mixture"):
                amp = nk.emg_amplitude(cleaned)
                _, info = nk.emg_activation(emg_amplitude=amp, sampling_rate=int(fs_hz), method=method)
            else:
                _, info = nk.emg_activation(emg_cleaned=cleaned, sampling_rate=int(fs_hz), method=method)
        return _pairs(np.asarray(info["EMG_Onsets"]), np.asarray(info["EMG_Offsets"]), len(x))

    run.__name__ = f"neurokit_{method}"
    return run


def biosppy_find_onsets(x: np.ndarray, fs_hz: float) -> Bursts:
    """BioSPPy's ``emg()`` pipeline; its "onsets" are threshold crossings, paired here.

    ``find_onsets`` returns every crossing of its smoothed envelope (up and down). The
    direction of each crossing is read from the same envelope (BioSPPy's own ``smoother``
    with its default 50 ms window) and rising crossings are paired with the next falling one.
    """
    from biosppy.signals import emg as bemg
    from biosppy.signals import tools as st

    out = bemg.emg(signal=x, sampling_rate=fs_hz, show=False)
    filtered, crossings = np.asarray(out["filtered"]), np.asarray(out["onsets"], dtype=np.int64)
    env, _ = st.smoother(signal=np.abs(filtered), kernel="boxzen", size=int(fs_hz * 0.05), mirror=True)
    bursts: Bursts = []
    start = None
    for c in crossings:
        rising = c + 1 < len(env) and env[c + 1] > env[c]
        if rising and start is None:
            start = int(c) + 1
        elif not rising and start is not None:
            bursts.append((start, int(c) + 1))
            start = None
    if start is not None:
        bursts.append((start, len(x)))
    return bursts


def biosppy_solnik(x: np.ndarray, fs_hz: float) -> Bursts:
    """BioSPPy's Teager-Kaiser detector (Solnik et al. 2010) on the 20-450 Hz band.

    The rest statistics are those of the TKEO-conditioned first 2 s (the same quiet start
    kneeemg learns its noise floor from), passed as BioSPPy's ``rest`` dictionary, as the
    method describes (given raw rest samples, BioSPPy would compare the TKEO with the
    spread of the raw signal, a different unit). Threshold: mean + 15 SD; 25 ms active state.
    """
    from biosppy.signals import emg as bemg

    from .realdata import band

    y = band(x, fs_hz)
    n_rest = min(len(y), round(2.0 * fs_hz))
    r = y[:n_rest] - np.mean(y[:n_rest])
    tk = np.abs(r[1:-1] ** 2 - r[2:] * r[:-2])
    rest = {"mean": float(np.mean(tk)), "std_dev": float(np.std(tk, ddof=1))}
    out = bemg.solnik_onset_detector(signal=y, rest=rest, sampling_rate=fs_hz, threshold=15,
                                     active_state_duration=round(0.025 * fs_hz))
    marks = np.asarray(out["onsets"], dtype=np.int64)
    return _pairs(marks[0::2], list(marks[1::2]) + [len(x)], len(x))


def psgscoring_lm(x: np.ndarray, fs_hz: float) -> Bursts:
    """Leg movements by ``psgscoring.analyze_plm`` (AASM rules; 0.5-10 s by definition)."""
    import psgscoring

    n_epochs = int(np.ceil(len(x) / fs_hz / 30.0)) + 1
    res = psgscoring.analyze_plm(np.asarray(x, dtype=float), None, fs_hz, ["N2"] * n_epochs, leg_unit="uV",
                                 offset_aasm=True, event_list_cap=None)
    if not res.get("success"):
        raise RuntimeError(f"psgscoring failed: {res.get('error')}")
    return _pairs([round(e["onset_s"] * fs_hz) for e in res["events"]],
                  [round((e["onset_s"] + e["duration_s"]) * fs_hz) for e in res["events"]], len(x))


#: Every baseline, by the name used in tables and plots.
BASELINES: dict[str, Callable[[np.ndarray, float], Bursts]] = {
    "NeuroKit2 threshold": _neurokit("threshold"),
    "NeuroKit2 mixture": _neurokit("mixture"),
    "NeuroKit2 biosppy": _neurokit("biosppy"),
    "NeuroKit2 silva": _neurokit("silva"),
    "NeuroKit2 pelt": _neurokit("pelt"),
    "BioSPPy find_onsets": biosppy_find_onsets,
    "BioSPPy Solnik (TKEO)": biosppy_solnik,
    "psgscoring AASM LM": psgscoring_lm,
}


#: Baselines too slow for a quick run (they run in full runs only).
SLOW: frozenset[str] = frozenset({"NeuroKit2 pelt"})


def bursts_to_events(bursts: Bursts, fs_hz: float, channel: int = 0, label: str = "") -> list[Event]:
    """Bursts as events, kinds by the detector's duration rules (amplitudes not known: NaN)."""
    nan = float("nan")
    return [Event(a, z, fs_hz, channel, kind_of((z - a) / fs_hz), nan, nan, nan, label or f"ch{channel}")
            for a, z in sorted(bursts)]


def run_baseline(name: str, x: np.ndarray, fs_hz: float) -> tuple[list[Event] | None, str]:
    """Run one baseline on a 1-D signal; events (or None) and an error message ("" when it ran)."""
    try:
        bursts = BASELINES[name](np.asarray(x, dtype=float), fs_hz)
    except Exception as exc:  # a third-party tool failing is a result, not a crash
        log.info("%s failed: %s", name, exc)
        return None, f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
    return bursts_to_events(bursts, fs_hz), ""
