"""Known events on real background: the ground truth of the accuracy benchmark.

Real quiet EMG (from :func:`kneeemg.bench.realdata.quiet_stretches`) is joined into a
background; events of known time and shape are added to it at a chosen SNR:

========================  ==========  =====================================================
source                    duration    shape
========================  ==========  =====================================================
``fasciculation``         5-20 ms     biphasic or triphasic potential (Gaussian derivative)
``jerk``                  50-250 ms   cut from a real contraction, tapered
``spasm``                 0.7-8 s     cut from real contractions (tiled when short), tapered
``cramp``                 12-30 s     real contractions tiled end to end, tapered
========================  ==========  =====================================================

Durations keep clear of the kind boundaries (0.5 s and 10 s) so that a kind is decided by
the event, not by a few milliseconds of offset error.

SNR is ``20 * log10(rms_event / rms_background)``, both measured after the same zero-phase
20-450 Hz band-pass: the event over its own samples, the background over the event's span
widened by ``REF_PAD_S`` on each side. It is the same quantity as the detector's
``Event.snr_db`` (burst RMS over noise floor).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from ..config import DetectorConfig, as_config
from ..errors import InputError
from ..events import Event
from ..shapes import hermite_rodriguez
from ..words import plural
from .realdata import band

#: Background around an event used as the SNR reference, s each side.
REF_PAD_S = 0.5
#: Raised-cosine ramp at each end of cut activity, s (at most a tenth of the event).
TAPER_S = 0.010
#: Cross-fade between joined background stretches or tiled bursts, s.
CROSSFADE_S = 0.050
#: Event sources and their duration ranges, s.
SOURCES: dict[str, tuple[float, float]] = {
    "fasciculation": (0.005, 0.020),
    "jerk": (0.050, 0.250),
    "spasm": (0.7, 8.0),
    "cramp": (12.0, 30.0),
}


def kind_of(duration_s: float, config: DetectorConfig | None = None) -> str:
    """The kind a burst of ``duration_s`` seconds has under the detector's duration rules."""
    cfg = as_config(config)
    if duration_s < cfg.twitch_max_s:
        return "twitch"
    return "spasm" if duration_s <= cfg.spasm_max_s else "cramp"


def fasciculation(n_samples: int, phases: int = 2) -> np.ndarray:
    """A fasciculation-like potential of exactly ``n_samples`` samples, peak 1.

    ``phases=2`` is the first derivative of a Gaussian (biphasic), ``phases=3`` the
    second (triphasic). The Gaussian's width is a sixth of the support, so the ends are
    within 0.5 % of the peak.
    """
    if n_samples < 3 or phases not in (2, 3):
        raise InputError("a fasciculation needs at least 3 samples and 2 or 3 phases")
    return hermite_rodriguez(n_samples, phases - 1)


def taper(x: np.ndarray, n_ramp: int) -> np.ndarray:
    """``x`` with raised-cosine ramps of ``n_ramp`` samples at both ends (a copy)."""
    y = np.array(x, dtype=float)
    n_ramp = min(n_ramp, len(y) // 2)
    if n_ramp > 0:
        r = 0.5 - 0.5 * np.cos(np.pi * (np.arange(n_ramp) + 0.5) / n_ramp)
        y[:n_ramp] *= r
        y[len(y) - n_ramp :] *= r[::-1]
    return y


def join(pieces: Sequence[np.ndarray], n_samples: int, n_fade: int) -> np.ndarray:
    """Join pieces end to end with equal-power sine/cosine cross-fades, cut to ``n_samples``.

    Pieces are reused in turn when they are too short together.
    """
    if not pieces or n_samples <= 0:
        raise InputError("nothing to join: no pieces, or a zero length asked for")
    out = np.zeros(0)
    k = 0
    while len(out) < n_samples:
        p = np.asarray(pieces[k % len(pieces)], dtype=float)
        k += 1
        f = min(n_fade, len(out), len(p) // 2)
        if f > 0:
            w = np.sin(0.5 * np.pi * (np.arange(f) + 0.5) / f)
            mid = out[len(out) - f :] * w[::-1] + p[:f] * w
            out = np.concatenate([out[: len(out) - f], mid, p[f:]])
        else:
            out = np.concatenate([out, p])
        if k > 10_000:
            raise InputError("pieces too short to join; give longer pieces")
    return out[:n_samples]


def build_background(stretches: Sequence[np.ndarray], n_samples: int, fs_hz: float, rng: np.random.Generator) -> np.ndarray:
    """Real quiet stretches joined into a background of ``n_samples`` samples, µV.

    Stretches are drawn in random order (reused when needed). Each is scaled to the same
    20-450 Hz RMS, the median of all the stretches' levels: a night's background level
    changes slowly, while these stretches, from ten people and two muscles, differ up to
    tenfold, and joining them unscaled would make level steps that no night has.
    """
    if not stretches:
        raise InputError("no quiet stretches to build a background from; check the data directory")
    levels = np.array([float(np.sqrt(np.mean(band(s, fs_hz) ** 2))) for s in stretches])
    if not (levels > 0).all():
        raise InputError("a quiet stretch is flat (zero RMS); remove it from the background material")
    target = float(np.median(levels))
    lengths = np.array([len(s) for s in stretches])
    picks: list[int] = []
    total = 0
    while total < n_samples + len(picks) * CROSSFADE_S * fs_hz:
        i = int(rng.integers(len(stretches)))
        picks.append(i)
        total += lengths[i]
    return join([np.asarray(stretches[i], dtype=float) * (target / levels[i]) for i in picks], n_samples,
                round(CROSSFADE_S * fs_hz))


def cut_activity(bursts: Sequence[np.ndarray], n_samples: int, fs_hz: float, rng: np.random.Generator) -> np.ndarray:
    """``n_samples`` of real contraction, tapered: a random window of one burst, or bursts tiled.

    Tiled bursts are each scaled to the same RMS first: they come from different people
    and sessions and differ up to tenfold in level.
    """
    if not bursts:
        raise InputError("no contraction bursts to cut events from; check the data directory")
    long_enough = [b for b in bursts if len(b) >= n_samples]
    if long_enough:
        b = long_enough[int(rng.integers(len(long_enough)))]
        a = int(rng.integers(len(b) - n_samples + 1))
        x = b[a : a + n_samples]
    else:  # tiled, each burst at the same RMS: a sustained burst does not jump tenfold in level
        order = rng.permutation(len(bursts))
        x = join([_unit_rms(bursts[i]) for i in order], n_samples, round(CROSSFADE_S * fs_hz))
    n_ramp = min(round(TAPER_S * fs_hz), max(1, n_samples // 10))
    return taper(x, n_ramp)


def _unit_rms(x: np.ndarray) -> np.ndarray:
    """``x`` scaled to an RMS of 1 (a flat piece is an error)."""
    x = np.asarray(x, dtype=float)
    rms = float(np.sqrt(np.mean(x * x)))
    if not rms > 0:
        raise InputError("a contraction burst is flat (zero RMS); remove it from the event material")
    return x / rms


@dataclass
class Trial:
    """One benchmark signal: background plus inserted events.

    Attributes
    ----------
    signal_uv : ndarray, shape (n_samples, 1)
    fs_hz : float
    truth : list of Event
        The inserted events (kind by the duration rules, ``snr_db`` as inserted).
    sources : list of str
        Source of each truth event (``"fasciculation"``, ``"jerk"``, ``"spasm"``, ``"cramp"``).
    snr_db : float
    background_uv : ndarray, shape (n_samples,)
        The background alone.
    """

    signal_uv: np.ndarray
    fs_hz: float
    truth: list[Event]
    sources: list[str]
    snr_db: float
    background_uv: np.ndarray = field(repr=False)

    @property
    def duration_s(self) -> float:
        return len(self.signal_uv) / self.fs_hz


def place(lengths: Sequence[int], n_total: int, min_gap: int, margin_start: int, rng: np.random.Generator) -> np.ndarray:
    """Onsets for events of the given lengths, in the given order, without overlap.

    Events are at least ``min_gap`` samples apart, the first starts at or after
    ``margin_start`` and the last ends at least ``min_gap`` before ``n_total``; the spare
    time is shared out at random.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    spare = n_total - margin_start - int(lengths.sum()) - min_gap * len(lengths)
    if spare < 0:
        raise InputError(f"{plural(len(lengths), 'event')} {'does' if len(lengths) == 1 else 'do'} not fit in {plural(n_total, 'sample')}; use a longer background or fewer events")
    shares = rng.dirichlet(np.ones(len(lengths) + 1)) * spare
    extra = np.floor(np.cumsum(shares[:-1])).astype(np.int64)
    starts = margin_start + extra + np.concatenate(([0], np.cumsum(lengths[:-1] + min_gap)))
    return starts


def insert_events(
    background_uv: np.ndarray,
    fs_hz: float,
    waveforms: Sequence[np.ndarray],
    onsets: Sequence[int],
    snr_db: float,
) -> tuple[np.ndarray, list[Event]]:
    """Add each waveform at its onset, scaled to ``snr_db`` over the local background.

    Parameters
    ----------
    background_uv : ndarray, shape (n_samples,)
    waveforms : sequence of ndarray
        Event shapes (any scale).
    onsets : sequence of int
        First sample of each event.
    snr_db : float

    Returns
    -------
    signal_uv : ndarray, shape (n_samples, 1)
    truth : list of Event
        One per waveform, onset/offset exactly where it was added, ``peak_uv`` and
        ``rms_uv`` of the scaled, band-passed waveform, ``snr_db`` as asked.
    """
    bg = np.asarray(background_uv, dtype=float)
    bg_band = band(bg, fs_hz)
    out = bg.copy()
    pad = round(REF_PAD_S * fs_hz)
    truth = []
    for w, on in zip(waveforms, onsets):
        w = np.asarray(w, dtype=float)
        on, off = int(on), int(on) + len(w)
        if on < 0 or off > len(bg):
            raise InputError(f"event at samples {on}-{off} lies outside the background of {len(bg)} samples")
        ref = float(np.sqrt(np.mean(bg_band[max(0, on - pad) : min(len(bg), off + pad)] ** 2)))
        wb = event_band(w, fs_hz)
        gain = ref * 10 ** (snr_db / 20.0) / float(np.sqrt(np.mean(wb**2)))
        out[on:off] += gain * w
        truth.append(Event(on, off, fs_hz, 0, kind_of(len(w) / fs_hz), float(np.max(np.abs(wb))) * gain,
                           float(np.sqrt(np.mean(wb**2))) * gain, float(snr_db), "ch0"))
    return out[:, None], truth


def event_band(w: np.ndarray, fs_hz: float) -> np.ndarray:
    """The 20-450 Hz band of an event over its own samples (zero-padded so the filter has room)."""
    pad = round(0.2 * fs_hz)
    return band(np.concatenate([np.zeros(pad), w, np.zeros(pad)]), fs_hz)[pad : pad + len(w)]


#: Events per minute of each source in a trial.
RATES_PER_MIN: dict[str, float] = {"fasciculation": 6.0, "jerk": 6.0, "spasm": 3.0, "cramp": 0.5}


def make_trial(
    stretches: Sequence[np.ndarray],
    bursts: Sequence[np.ndarray],
    duration_s: float,
    fs_hz: float,
    snr_db: float,
    rng: np.random.Generator,
    min_gap_s: float = 1.5,
    margin_start_s: float = 5.0,
) -> Trial:
    """A background of ``duration_s`` seconds with events of every source at ``snr_db``.

    Event counts follow :data:`RATES_PER_MIN` (at least one of each), durations are drawn
    log-uniformly from :data:`SOURCES`, the order is random, and events are at least
    ``min_gap_s`` apart and start after ``margin_start_s`` (the detector's warm-up).
    """
    n = round(duration_s * fs_hz)
    background = build_background(stretches, n, fs_hz, rng)
    sources: list[str] = []
    for name, rate in RATES_PER_MIN.items():
        sources += [name] * max(1, round(rate * duration_s / 60.0))
    order = rng.permutation(len(sources))
    sources = [sources[i] for i in order]
    gap, margin = round(min_gap_s * fs_hz), round(margin_start_s * fs_hz)
    for _ in range(100):  # redraw durations until the events fit
        lengths = [_draw_length(name, fs_hz, rng) for name in sources]
        if sum(lengths) + gap * len(lengths) + margin <= n:
            break
    else:
        raise InputError(f"{plural(len(sources), 'event')} {'does' if len(sources) == 1 else 'do'} not fit in {duration_s:g} s; use a longer trial")
    waves = []
    for name, m in zip(sources, lengths):
        if name == "fasciculation":
            waves.append(fasciculation(m, phases=int(rng.integers(2, 4))) * rng.choice([-1.0, 1.0]))
        else:
            waves.append(cut_activity(bursts, m, fs_hz, rng))
    onsets = place(lengths, n, gap, margin, rng)
    signal, truth = insert_events(background, fs_hz, waves, onsets, snr_db)
    return Trial(signal, fs_hz, truth, sources, float(snr_db), background)


def _draw_length(source: str, fs_hz: float, rng: np.random.Generator) -> int:
    """A log-uniform duration from the source's range, in samples."""
    lo, hi = SOURCES[source]
    return max(3, round(float(np.exp(rng.uniform(np.log(lo), np.log(hi)))) * fs_hz))
