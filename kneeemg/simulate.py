"""Seeded synthetic nights of quadriceps surface EMG, with their ground truth.

A :class:`SimulatedNight` is a :class:`~kneeemg.io.base.Recording`: it plans every event
and artefact of the night up front and renders samples on demand, block by block, so an
8-hour multi-channel night never has to sit in memory and any split of ``read`` gives the
same samples. See ``docs/simulator.md`` for the model and its parameters.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from .config import MAX_CHANNELS, MAX_FS_HZ, MIN_FS_HZ
from .errors import ConfigError, InputError
from .events import Event, ExcludedInterval
from .io.base import Recording, RecordingInfo
from .paths import ARTEFACTS_SUFFIX, TRUTH_SUFFIX
from .shapes import hermite_rodriguez

#: Samples are generated in blocks of this many seconds, each from its own seed.
BLOCK_S = 10.0
#: Planned items that are artefacts (listed in ``annotated_artefacts``), not events.
ARTEFACT_KINDS = ("flat", "saturation", "movement", "spike", "step")


@dataclass(frozen=True)
class SimConfig:
    """Every number of the simulated night (units in the names).

    Background: white noise whose RMS drifts smoothly between ``noise_min_uv`` and
    ``noise_max_uv`` over hours, an electrode DC offset, slow baseline wander and mains
    hum with harmonics. Events: fasciculation-like potentials and brief jerks (twitches),
    spasms, cramps, clusters of twitches and periodic series of spasms. Artefacts:
    movement, an electrode coming loose (flat line or rail), single-sample electrical spikes
    and small steps of the offset that recover slowly (electrode pops).

    Every number is at least 0; a ``(low, high)`` pair needs ``low <= high`` and, except
    ``mains_uv``, ``low > 0``; ``noise_min_uv`` is above 0 and at most ``noise_max_uv``.
    A :class:`~kneeemg.errors.ConfigError` names the first setting that is not.
    """

    noise_min_uv: float = 2.0
    noise_max_uv: float = 5.0
    dc_offset_max_uv: float = 2000.0
    wander_uv: float = 30.0
    mains_hz: float | None = None  # None: 50 or 60, chosen by the seed
    mains_uv: tuple[float, float] = (3.0, 40.0)
    mains_harmonic_ratio: tuple[float, ...] = (0.35, 0.15)
    twitch_rate_per_h: float = 30.0
    jerk_fraction: float = 0.3
    fasciculation_peak_uv: tuple[float, float] = (30.0, 500.0)
    fasciculation_s: tuple[float, float] = (0.005, 0.020)
    jerk_s: tuple[float, float] = (0.05, 0.25)
    jerk_rms_uv: tuple[float, float] = (20.0, 150.0)
    cluster_rate_per_h: float = 1.5
    cluster_size: tuple[int, int] = (4, 10)
    cluster_gap_s: tuple[float, float] = (0.4, 5.0)
    spasm_rate_per_h: float = 6.0
    spasm_s: tuple[float, float] = (0.5, 8.0)
    spasm_rms_uv: tuple[float, float] = (20.0, 250.0)
    periodic_series_per_night: float = 1.5
    periodic_count: tuple[int, int] = (8, 30)
    periodic_interval_s: tuple[float, float] = (15.0, 40.0)
    periodic_s: tuple[float, float] = (0.6, 3.0)
    cramps_per_night: float = 1.0
    cramp_s: tuple[float, float] = (12.0, 90.0)
    cramp_rms_uv: tuple[float, float] = (80.0, 300.0)
    movement_rate_per_h: float = 2.0
    movement_s: tuple[float, float] = (0.5, 3.0)
    movement_uv: tuple[float, float] = (300.0, 3000.0)
    loose_per_night: float = 1.0
    loose_s: tuple[float, float] = (60.0, 600.0)
    rail_uv: float = 390_000.0
    spike_rate_per_h: float = 1.0
    spike_uv: tuple[float, float] = (300.0, 3000.0)
    step_rate_per_h: float = 1.0
    step_uv: tuple[float, float] = (100.0, 150.0)
    step_recovery_s: tuple[float, float] = (0.05, 1.0)
    margin_s: float = 2.0
    quiet_start_s: float = 3.0

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "mains_hz" and value is None:
                continue
            if not isinstance(f.default, tuple):
                if not (_number(value) and value >= 0):
                    raise ConfigError(f"SimConfig {f.name}={value!r} must be a number of at least 0; e.g. {f.default or 50}")
                continue
            if not (isinstance(value, (tuple, list)) and all(_number(v) and v >= 0 for v in value)):
                raise ConfigError(f"SimConfig {f.name}={value!r} must be a tuple of numbers of at least 0; e.g. {f.default}")
            if f.name == "mains_harmonic_ratio":
                continue
            low = "0 <= low" if f.name == "mains_uv" else "0 < low"
            if len(value) != 2 or value[0] > value[1] or (value[0] == 0 and f.name != "mains_uv"):
                raise ConfigError(f"SimConfig {f.name}={value!r} must be a (low, high) pair with {low} <= high; e.g. {f.default}")
            if isinstance(f.default[0], int) and not all(v == int(v) for v in value):
                raise ConfigError(f"SimConfig {f.name}={value!r} must be whole numbers; e.g. {f.default}")
        if not 0 < self.noise_min_uv <= self.noise_max_uv:
            raise ConfigError(f"SimConfig noise_min_uv={self.noise_min_uv!r} must be above 0 and at most "
                              f"noise_max_uv={self.noise_max_uv!r}; e.g. 2 and 5")
        if self.jerk_fraction > 1:
            raise ConfigError(f"SimConfig jerk_fraction={self.jerk_fraction!r} must be 0 to 1 (a share of the twitches)")


def _number(x: object) -> bool:
    """Whether ``x`` is a finite real number (not a bool)."""
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool) and math.isfinite(x)


@dataclass
class _Item:
    """A planned event or artefact on one channel."""

    kind: str  # twitch_f, twitch_j, spasm, cramp, movement, flat, saturation, spike, step
    channel: int
    start: int  # sample
    n: int  # samples
    seed: int
    level: float  # peak (fasciculation), RMS (bursts), amplitude (movement)
    shape: int = 0  # fasciculation: 1 biphasic, 2 triphasic


@dataclass
class SimulatedNight(Recording):
    """A planned night that renders its samples on demand (a Recording).

    Use :func:`simulate_night` to make one.
    """

    info: RecordingInfo
    config: SimConfig
    seed: int
    mains_hz: float
    truth_leg_movements: list[Event] = field(default_factory=list)
    _items: list[list[_Item]] = field(default_factory=list, repr=False)
    _starts: list[np.ndarray] = field(default_factory=list, repr=False)
    _max_len: int = 0
    _chan: list[dict] = field(default_factory=list, repr=False)
    _cache: dict[int, np.ndarray] = field(default_factory=dict, repr=False)

    def read(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        start, stop = self._range(start, stop)
        fs = self.info.fs_hz
        blk = int(round(BLOCK_S * fs))
        out = np.empty((stop - start, self.info.n_channels))
        pos = start
        while pos < stop:
            b = pos // blk
            b0 = b * blk
            block = self._block(b)
            a, e = pos - b0, min(stop, b0 + blk) - b0
            out[pos - start : pos - start + (e - a)] = block[a:e]
            pos = b0 + e
        return out

    def _block(self, b: int) -> np.ndarray:
        return _render_block(self, b)

    def noise_uv(self, channel: int, t_s: np.ndarray) -> np.ndarray:
        """Background RMS of ``channel`` at times ``t_s`` (µV, white noise before filtering)."""
        p = self._chan[channel]
        c = self.config
        x = np.zeros_like(t_s, dtype=float)
        for f, ph in zip(p["drift_f"], p["drift_ph"]):
            x += np.sin(math.tau * f * t_s + ph)
        x /= len(p["drift_f"])
        return c.noise_min_uv + (c.noise_max_uv - c.noise_min_uv) * 0.5 * (1.0 + x)


_BLOCK_CACHE_SIZE = 8


def _render_block(night: SimulatedNight, b: int) -> np.ndarray:
    """Samples of block ``b`` (all channels), cached for the last few blocks read."""
    cache = night._cache
    if b in cache:
        return cache[b]
    fs = night.info.fs_hz
    blk = int(round(BLOCK_S * fs))
    b0 = b * blk
    n = min(blk, night.info.n_samples - b0)
    t = (b0 + np.arange(n)) / fs
    out = np.empty((n, night.info.n_channels))
    c = night.config
    for ch in range(night.info.n_channels):
        p = night._chan[ch]
        rng = np.random.default_rng([night.seed, ch, b, 7])
        x = rng.standard_normal(n) * night.noise_uv(ch, t)
        x += p["dc"]
        for f, a, ph in p["wander"]:
            x += a * np.sin(math.tau * f * t + ph)
        hum = p["hum_uv"] * (0.75 + 0.25 * np.sin(math.tau * t / p["hum_period_s"] + p["hum_ph"]))
        x += hum * np.sin(math.tau * night.mains_hz * t + p["hum_ph"])
        for k, r in enumerate(c.mains_harmonic_ratio, start=2):
            x += r * hum * np.sin(math.tau * k * night.mains_hz * t + k * p["hum_ph"])
        starts = night._starts[ch]
        lo = np.searchsorted(starts, b0 - night._max_len)
        hi = np.searchsorted(starts, b0 + n)
        for item in night._items[ch][lo:hi]:
            if item.start + item.n <= b0:
                continue
            a, e = max(item.start, b0), min(item.start + item.n, b0 + n)
            if item.kind == "flat":
                x[a - b0 : e - b0] = p["dc"]
            elif item.kind == "saturation":
                x[a - b0 : e - b0] = c.rail_uv
            else:
                wave = _waveform(item.kind, item.n, item.seed, item.level, item.shape, fs)
                x[a - b0 : e - b0] += wave[a - item.start : e - item.start]
        out[:, ch] = x
    if len(cache) >= _BLOCK_CACHE_SIZE:
        cache.pop(next(iter(cache)))
    cache[b] = out
    return out


@lru_cache(maxsize=64)
def _waveform(kind: str, n: int, seed: int, level: float, shape: int, fs: float) -> np.ndarray:
    """The deterministic waveform of one planned item (µV), ``n`` samples long."""
    rng = np.random.default_rng(seed)
    if kind == "twitch_f":
        return _fasciculation(n, shape, level, rng)
    if kind in ("spike", "step"):  # one sample; or a step recovering over n samples (5 time constants)
        sign = 1.0 if rng.random() < 0.5 else -1.0
        return sign * level * (np.ones(1) if kind == "spike" else np.exp(-5.0 * np.arange(n) / n))
    if kind == "movement":
        t = np.arange(n) / fs
        w = np.hanning(n)
        x = sum(rng.uniform(0.3, 1.0) * np.sin(math.tau * rng.uniform(0.7, 6.0) * t + rng.uniform(0, math.tau)) for _ in range(3))
        x = x * w
        return level * x / max(1e-9, np.max(np.abs(x)))
    return _motor_units(n, fs, level, rng, brief=(kind == "twitch_j"))


def _fasciculation(n: int, shape: int, peak_uv: float, rng: np.random.Generator) -> np.ndarray:
    """A biphasic (first Gaussian derivative) or triphasic (second) potential of n samples."""
    return hermite_rodriguez(n, shape) * peak_uv * (1 if rng.random() < 0.5 else -1)


def _muap(fs: float, rng: np.random.Generator) -> np.ndarray:
    """A motor-unit action potential: a Hermite-Rodriguez shape, 3-8 ms wide, unit peak."""
    width_s = rng.uniform(0.003, 0.008)
    n = max(5, int(round(width_s * 2 * fs)))
    return hermite_rodriguez(n, int(rng.integers(1, 3))) * (1 if rng.random() < 0.5 else -1)


def _motor_units(n: int, fs: float, rms_uv: float, rng: np.random.Generator, brief: bool) -> np.ndarray:
    """A burst built from motor-unit firing, scaled so its plateau RMS is ``rms_uv``.

    Units are recruited in order of threshold as the drive ramps up, fire at 8-30 Hz (jerks:
    20-50 Hz) with 15 % interval jitter, and are derecruited as it ramps down.
    """
    n_units = int(rng.integers(3, 9)) if brief else int(rng.integers(14, 30))
    ramp = max(1, int(n * (0.15 if not brief else 0.3)))
    drive = np.ones(n)
    drive[:ramp] = np.linspace(0.35, 1.0, ramp)
    drive[n - ramp :] = np.linspace(1.0, 0.35, ramp)
    thresholds = np.sort(rng.uniform(0.0, 0.35, n_units))
    x = np.zeros(n)
    for thr in thresholds:
        shape = _muap(fs, rng)
        amp = rng.uniform(0.5, 1.5)
        k = 0.0 if brief else rng.uniform(0.0, 0.05)
        spikes = []
        while True:
            i = int(k * fs)
            if i >= n:
                break
            d = drive[i]
            if d > thr:
                spikes.append(i)
                rate = (20.0 + 30.0 * (d - thr)) if brief else (8.0 + 22.0 * (d - thr) / (1.0 - thr))
            else:
                rate = 8.0
            k += rng.normal(1.0, 0.15) / rate if not brief else max(0.005, rng.normal(1.0, 0.15) / rate)
        train = np.zeros(n)
        train[np.asarray(spikes, dtype=int)] = amp
        x += np.convolve(train, shape, mode="same")
    x -= x.mean() * np.hanning(n)  # no DC step
    plateau = x[ramp : n - ramp] if n - 2 * ramp > 10 else x
    r = float(np.sqrt(np.mean(plateau**2))) or 1.0
    y = x * (rms_uv / r)
    y[:1] = 0.0
    y[-1:] = 0.0
    return y


def _poisson_times(rng: np.random.Generator, rate_per_s: float, t0: float, t1: float) -> np.ndarray:
    if rate_per_s <= 0 or t1 <= t0:
        return np.zeros(0)
    k = rng.poisson(rate_per_s * (t1 - t0))
    return np.sort(rng.uniform(t0, t1, k))


def _logu(rng: np.random.Generator, lo_hi: tuple[float, float]) -> float:
    lo, hi = lo_hi
    return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))


class _Planner:
    """Places items on one channel without overlaps (margins between them)."""

    def __init__(self, fs: float, n: int, margin_s: float, quiet_start_s: float) -> None:
        self.fs, self.n = fs, n
        self.margin = int(margin_s * fs)
        self.busy: list[tuple[int, int]] = [(0, int(quiet_start_s * fs))]

    def free(self, a: int, e: int, margin: int | None = None) -> bool:
        m = self.margin if margin is None else margin
        if a < 0 or e > self.n - self.margin:
            return False
        return all(e + m <= s or a >= f + m for s, f in self.busy)

    def take(self, a: int, e: int) -> None:
        self.busy.append((a, e))


def check_simulation(hours: float, n_channels: int, fs_hz: float, seed: int) -> None:
    """Raise :class:`InputError` (one line, naming the argument and its option) for settings the simulator cannot take."""
    if not (_number(hours) and 0 < hours <= 48):
        raise InputError(f"hours={hours!r} must be a number more than 0 and at most 48 (--hours)")
    if not (_number(n_channels) and n_channels == int(n_channels) and 1 <= n_channels <= MAX_CHANNELS):
        raise InputError(f"n_channels={n_channels!r} must be a whole number from 1 to {MAX_CHANNELS} (--channels)")
    if not (_number(fs_hz) and MIN_FS_HZ <= fs_hz <= MAX_FS_HZ):
        raise ConfigError(f"fs_hz={fs_hz!r} is not allowed; the simulator runs at {MIN_FS_HZ:g}-{MAX_FS_HZ:g} Hz: "
                          f"give fs_hz (--fs) in that range, e.g. 1000")
    if not (isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0):
        raise InputError(f"seed={seed!r} must be a whole number of at least 0 (--seed)")


#: File endings :func:`write_simulated` writes, the first the default format.
SIMULATED_SUFFIXES = (".kemg", ".edf", ".bdf")


def check_simulated_path(path: str | os.PathLike[str], option: str = "--out") -> Path:
    """Check, before any work, that a simulated night can be written to ``path``.

    Parameters
    ----------
    path : str or path-like
    option : str
        What the messages call ``path`` (the command-line option, or the argument's name).

    Raises
    ------
    InputError
        An empty path, an ending other than .kemg, .edf or .bdf, a folder, a folder that does not exist, or
        a ground-truth file of that name already there.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise InputError(f"{option} must be a file name (str or Path), not {type(path).__name__}")
    if str(path) == "":
        raise InputError(f"{option} is empty; name a {', '.join(SIMULATED_SUFFIXES[:-1])} or {SIMULATED_SUFFIXES[-1]} file")
    out = Path(path).expanduser()
    if out.suffix.lower() not in SIMULATED_SUFFIXES:
        raise InputError(f"{option} {out}: cannot write a {out.suffix or 'file without an ending'}; "
                         f"name a {', '.join(SIMULATED_SUFFIXES[:-1])} or {SIMULATED_SUFFIXES[-1]} file")
    if out.is_dir():
        raise InputError(f"{option} {out} is a folder; give a file name ending in {', '.join(SIMULATED_SUFFIXES)}")
    if not out.parent.is_dir():
        raise InputError(f"{option} {out}: folder {out.parent} does not exist; create it or choose another {option}")
    if not os.access(out.parent, os.W_OK | os.X_OK):
        raise InputError(f"{option} {out}: cannot write in folder {out.parent}; choose another {option}")
    for f in (out, out.with_name(out.name + TRUTH_SUFFIX), out.with_name(out.name + ARTEFACTS_SUFFIX)):
        if f.exists() or f.is_symlink():  # the recording and its ground truth: never over a file already there
            what = f"{option} {out}" if f == out else f"{option} {out}: its ground truth {f.name}"
            raise InputError(f"{what} already exists; choose another {option} or move that file away")
    return out


def simulate_night(hours: float = 8.0, n_channels: int = 1, fs_hz: float = 1000.0, seed: int = 0,
                   config: SimConfig | None = None) -> SimulatedNight:
    """Plan a seeded night; samples are rendered when read.

    Parameters
    ----------
    hours : float
        Length of the night, h (more than 0, at most 48).
    n_channels : int
        Channels, 1-64; two channels are labelled ``left`` and ``right`` (both legs).
    fs_hz : float
        Sampling rate, 500-4000 Hz.
    seed : int
        A whole number of at least 0.
    config : SimConfig, optional

    Returns
    -------
    SimulatedNight
        ``.info.annotations`` holds the true twitches, spasms and cramps,
        ``.info.annotated_artefacts`` the artefacts, ``.truth_leg_movements`` the spasms
        and cramps that are WASM leg movements (0.5-10 s).
    """
    check_simulation(hours, n_channels, fs_hz, seed)
    if config is not None and not isinstance(config, SimConfig):
        raise ConfigError(f"config must be a SimConfig (e.g. SimConfig(cramps_per_night=4.0)), not {type(config).__name__}")
    fs = float(fs_hz)
    n_channels = int(n_channels)
    c = config if config is not None else SimConfig()
    rng = np.random.default_rng([seed, 1])
    n = int(round(hours * 3600 * fs))
    dur = n / fs
    mains = float(c.mains_hz) if c.mains_hz else (50.0 if rng.random() < 0.5 else 60.0)
    labels = ("left", "right") if n_channels == 2 else tuple(f"ch{i}" for i in range(n_channels))
    items: list[list[_Item]] = []
    chan: list[dict] = []
    truth: list[Event] = []
    artefacts: list[ExcludedInterval] = []
    for ch in range(n_channels):
        r = np.random.default_rng([seed, 2, ch])
        chan.append({
            "dc": r.uniform(-c.dc_offset_max_uv, c.dc_offset_max_uv),
            "wander": [(r.uniform(0.05, 0.5), r.uniform(0.2, 1.0) * c.wander_uv, r.uniform(0, math.tau)) for _ in range(3)],
            "hum_uv": r.uniform(*c.mains_uv), "hum_period_s": r.uniform(1800, 7200), "hum_ph": r.uniform(0, math.tau),
            "drift_f": [r.uniform(1 / 14400, 1 / 3600) for _ in range(3)], "drift_ph": [r.uniform(0, math.tau) for _ in range(3)],
        })
        plan = _Planner(fs, n, c.margin_s, c.quiet_start_s)
        its: list[_Item] = []

        def add(kind: str, a: int, length: int, level: float, shape: int = 0, margin: int | None = None) -> bool:
            if not plan.free(a, a + length, margin):
                return False
            plan.take(a, a + length)
            its.append(_Item(kind, ch, a, length, int(r.integers(2**31)), level, shape))
            return True

        # artefacts first: an electrode coming loose, movements
        expected = c.loose_per_night * hours / 8.0
        for _ in range(int(expected) + int(r.random() < expected - int(expected))):
            length = int(r.uniform(*c.loose_s) * fs)
            a = int(r.uniform(0, max(1, n - length)))
            add("flat" if r.random() < 0.7 else "saturation", a, length, 0.0)
        for t0 in _poisson_times(r, c.movement_rate_per_h / 3600, 0, dur):
            add("movement", int(t0 * fs), int(r.uniform(*c.movement_s) * fs), r.uniform(*c.movement_uv))
        # cramps, periodic series, spasms
        for _ in range(r.poisson(c.cramps_per_night * hours / 8.0)):
            for _try in range(20):
                if add("cramp", int(r.uniform(0, dur) * fs), int(r.uniform(*c.cramp_s) * fs), r.uniform(*c.cramp_rms_uv)):
                    break
        for _ in range(r.poisson(c.periodic_series_per_night * hours / 8.0)):
            count = int(r.integers(c.periodic_count[0], c.periodic_count[1] + 1))
            t = r.uniform(0, dur)
            for _k in range(count):
                add("spasm", int(t * fs), int(r.uniform(*c.periodic_s) * fs), _logu(r, c.spasm_rms_uv))
                t += r.uniform(*c.periodic_interval_s)
        for t0 in _poisson_times(r, c.spasm_rate_per_h / 3600, 0, dur):
            add("spasm", int(t0 * fs), int(r.uniform(*c.spasm_s) * fs), _logu(r, c.spasm_rms_uv))
        # twitches: clusters, then single ones

        def twitch(a: int, margin: int | None = None) -> bool:
            if r.random() < c.jerk_fraction:
                return add("twitch_j", a, int(r.uniform(*c.jerk_s) * fs), _logu(r, c.jerk_rms_uv), margin=margin)
            return add("twitch_f", a, max(3, int(r.uniform(*c.fasciculation_s) * fs)), _logu(r, c.fasciculation_peak_uv),
                       shape=int(r.integers(1, 3)), margin=margin)

        for t0 in _poisson_times(r, c.cluster_rate_per_h / 3600, 0, dur):
            size = int(r.integers(c.cluster_size[0], c.cluster_size[1] + 1))
            a = int(t0 * fs)
            if not plan.free(a, a + int(size * c.cluster_gap_s[1] * fs)):
                continue
            for _k in range(size):
                twitch(a, margin=int(0.3 * fs))
                a += int(r.uniform(*c.cluster_gap_s) * fs)
        for t0 in _poisson_times(r, c.twitch_rate_per_h / 3600, 0, dur):
            twitch(int(t0 * fs))
        # electrical artefacts last, from their own draws (the rest of the night is as without them)
        ra = np.random.default_rng([seed, 3, ch])
        for kind, rate, size in (("spike", c.spike_rate_per_h, c.spike_uv), ("step", c.step_rate_per_h, c.step_uv)):
            for t0 in _poisson_times(ra, rate / 3600, 0, dur):
                # a step recovers exponentially; it lasts 5 time constants
                length = 1 if kind == "spike" else max(1, int(5 * ra.uniform(*c.step_recovery_s) * fs))
                a, level, item_seed = int(t0 * fs), ra.uniform(*size), int(ra.integers(2**31))
                if plan.free(a, a + length):
                    plan.take(a, a + length)
                    its.append(_Item(kind, ch, a, length, item_seed, level))
        its.sort(key=lambda it: it.start)
        items.append(its)
    night = SimulatedNight(
        info=RecordingInfo(fs_hz=fs, labels=labels, n_samples=n, format="simulated", device=f"simulator seed {seed}"),
        config=c, seed=seed, mains_hz=mains, _items=items, _starts=[np.array([it.start for it in its], dtype=np.int64) for its in items],
        _max_len=max([it.n for its in items for it in its] or [0]), _chan=chan,
    )
    lms: list[Event] = []
    for ch, its in enumerate(items):
        for it in its:
            if it.kind in ARTEFACT_KINDS:
                artefacts.append(ExcludedInterval(it.start / fs, (it.start + it.n) / fs, ch, it.kind))
                continue
            wave = _waveform(it.kind, it.n, it.seed, it.level, it.shape, fs)
            nz = np.flatnonzero(np.abs(wave) > 1e-6 * max(1e-12, np.max(np.abs(wave))))
            on, off = it.start + int(nz[0]), it.start + int(nz[-1]) + 1
            d = (off - on) / fs
            kind = "twitch" if d < 0.5 else ("spasm" if d <= 10.0 else "cramp")
            rms = float(np.sqrt(np.mean(wave[nz[0] : nz[-1] + 1] ** 2)))
            noise = float(night.noise_uv(ch, np.array([on / fs]))[0])
            ev = Event(on, off, fs, ch, kind, float(np.max(np.abs(wave))), rms, 20 * math.log10(rms / noise), labels[ch])
            truth.append(ev)
            if 0.5 <= d <= 10.0:
                lms.append(Event(on, off, fs, ch, "lm", ev.peak_uv, rms, ev.snr_db, labels[ch]))
    truth.sort(key=lambda e: (e.onset_sample, e.channel))
    artefacts.sort(key=lambda a: (a.start_s, a.channel))
    night.info.annotations = truth
    night.info.annotated_artefacts = artefacts
    night.truth_leg_movements = sorted(lms, key=lambda e: (e.onset_sample, e.channel))
    return night


def write_simulated(night: SimulatedNight, path: str | os.PathLike[str], chunk_s: float = 60.0) -> dict[str, Path]:
    """Write ``night`` to ``path`` (``.kemg``, ``.edf`` or ``.bdf``) with its ground truth beside it.

    Returns
    -------
    dict
        ``recording``, ``truth`` (events CSV) and ``artefacts`` (CSV) paths.

    Raises
    ------
    InputError
        Another file ending, or a folder that does not exist (see :func:`check_simulated_path`).
    """
    from .events import write_events_csv
    from .io import RecordingWriter, export_edf
    from .paths import replacing

    out = check_simulated_path(path, "path")
    suffix = out.suffix.lower()
    if suffix in (".edf", ".bdf"):
        export_edf(night, out, night.info.annotations, bdf=suffix == ".bdf")
    else:
        step = int(round(chunk_s * night.info.fs_hz))
        # written under a temporary name: an interrupted or failed run leaves no part of a night
        with replacing(out) as tmp, RecordingWriter(tmp, night.info.fs_hz, night.info.labels, device=night.info.device,
                                                    meta={"simulated": True, "seed": night.seed,
                                                          "mains_hz": night.mains_hz}) as w:
            for a in range(0, night.info.n_samples, step):
                w.write(night.read(a, min(night.info.n_samples, a + step)))
    truth = write_events_csv(night.info.annotations, out.with_name(out.name + TRUTH_SUFFIX))
    art = out.with_name(out.name + ARTEFACTS_SUFFIX)
    with art.open("w", encoding="utf-8") as fh:
        fh.write("start_s,stop_s,channel,reason\n")
        for a in night.info.annotated_artefacts:
            fh.write(f"{a.start_s:.4f},{a.stop_s:.4f},{night.info.labels[a.channel]},{a.reason}\n")
    return {"recording": out, "truth": truth, "artefacts": art}
