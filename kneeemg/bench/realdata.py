"""Real recordings for the accuracy benchmark: the UCI lower-limb files.

The UCI "EMG dataset in Lower Limb" text files hold four EMG columns (RF, BF, VM, ST, in
mV) and the knee angle FX (degrees, sampled at 50 Hz and repeated to 1000 Hz). This module
reads them and cuts out what the benchmark needs:

* quiet stretches (goniometer still, low 20-450 Hz RMS): real background noise;
* contraction bursts of the quadriceps (VM, RF) in the ``sen`` (leg extension) files: real
  activity to cut spasms, cramps and brief jerks from;
* goniometer movements: an independent reference for when the leg moved.

The data directory layout is described in ``docs/data.md``; the files are never part of
the repository.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import RecordingFormatError

#: Sampling rate of the UCI files, Hz.
UCI_FS_HZ = 1000.0
#: EMG columns of the UCI files, in order (the fifth column is the knee angle FX).
UCI_LABELS: tuple[str, ...] = ("RF", "BF", "VM", "ST")
#: Quadriceps channels used by the benchmark.
QUADRICEPS: tuple[str, ...] = ("VM", "RF")
#: Files that repeat another file's data exactly (see the data README); skipped.
UCI_DUPLICATES: frozenset[str] = frozenset({"2Npie.txt", "2Nsen.txt"})


@dataclass
class UciFile:
    """One UCI text file.

    Attributes
    ----------
    name : str
        File name (``"3Nsen.txt"``).
    emg_uv : ndarray, shape (n_samples, 4)
        RF, BF, VM, ST in µV.
    angle_deg : ndarray, shape (n_samples,)
        Knee angle FX in degrees.
    fs_hz : float
    """

    name: str
    emg_uv: np.ndarray
    angle_deg: np.ndarray
    fs_hz: float = UCI_FS_HZ

    def channel(self, label: str) -> np.ndarray:
        """One EMG column in µV, shape (n_samples,)."""
        return self.emg_uv[:, UCI_LABELS.index(label)]

    @property
    def task(self) -> str:
        """``"sen"`` (sitting, leg extension), ``"pie"`` (standing, knee flexion) or ``"mar"`` (gait)."""
        return Path(self.name).stem[-3:]


def read_uci_text(path: str | Path) -> UciFile:
    """Read a UCI lower-limb text file through :func:`kneeemg.io.open_recording`.

    The EMG columns come in µV; the knee angle is the reader's extra signal ``FX``.

    Raises
    ------
    RecordingFormatError
        When the file is not a UCI text file with RF, BF, VM, ST and FX columns.
    """
    from ..io import open_recording

    path = Path(path)
    with open_recording(path, channels=list(UCI_LABELS)) as rec:
        emg = rec.read(0, rec.info.n_samples)
        fx = rec.info.extra.get("FX")
        fs = rec.info.fs_hz
    if fx is None or rec.info.format != "uci-text":
        raise RecordingFormatError(f"{path} has no knee-angle column FX; is it a UCI lower-limb text file?")
    return UciFile(path.name, np.ascontiguousarray(emg), np.asarray(fx[0], dtype=float), fs)


def uci_files(data_dir: str | Path, tasks: tuple[str, ...] = ("sen", "pie")) -> list[Path]:
    """Paths of the UCI files of the given tasks, duplicates left out, in name order."""
    root = Path(data_dir) / "uci-lower-limb"
    out = [p for p in sorted(root.glob("*_TXT/*.txt")) if p.stem[-3:] in tasks and p.name not in UCI_DUPLICATES]
    return out


def band(x: np.ndarray, fs_hz: float, low_hz: float = 20.0, high_hz: float = 450.0) -> np.ndarray:
    """Zero-phase 4th-order Butterworth band-pass along axis 0 (for reference levels, not detection)."""
    from scipy import signal as sps

    high = min(high_hz, 0.45 * fs_hz)
    sos = sps.butter(4, [low_hz, high], btype="band", fs=fs_hz, output="sos")
    return sps.sosfiltfilt(sos, x, axis=0)


def band_rms(x: np.ndarray, fs_hz: float) -> float:
    """RMS of the 20-450 Hz band of ``x`` (1-D), µV."""
    return float(np.sqrt(np.mean(band(x, fs_hz) ** 2)))


def _block_stats(f: UciFile, label: str, block_s: float) -> tuple[np.ndarray, np.ndarray, int]:
    """Per-block 20-450 Hz RMS (µV) and goniometer range (deg) of one channel."""
    b = max(1, round(block_s * f.fs_hz))
    y = band(f.channel(label), f.fs_hz)
    nb = len(y) // b
    rms = np.sqrt((y[: nb * b].reshape(nb, b) ** 2).mean(axis=1))
    ang = f.angle_deg[: nb * b].reshape(nb, b)
    return rms, ang.max(axis=1) - ang.min(axis=1), b


def quiet_stretches(
    f: UciFile,
    label: str,
    block_s: float = 0.25,
    max_angle_range_deg: float = 2.0,
    max_rms_ratio: float = 3.0,
    max_rms_uv: float = 15.0,
    min_len_s: float = 0.75,
    max_crest: float = 2.5,
    crest_window_s: float = 0.010,
    max_mains_fraction: float = 0.5,
) -> list[np.ndarray]:
    """Raw stretches of one channel in which the leg is still and the muscle is quiet.

    A block is quiet when the knee angle moves less than ``max_angle_range_deg`` within it
    and its 20-450 Hz RMS is below ``max_rms_ratio`` times the channel's 10th-percentile
    block RMS and below ``max_rms_uv``. Runs of quiet blocks at least ``min_len_s`` long
    are kept when they hold no transient (a motor unit firing, an electrode artefact): their
    20-450 Hz moving RMS over ``crest_window_s`` never exceeds ``max_crest`` times their
    own RMS, and when mains hum (50 or 60 Hz and their harmonics, within 2 Hz) carries at
    most ``max_mains_fraction`` of their 20-450 Hz power: a few quiet stretches are almost
    pure hum, which a detector notches away, so they are no EMG background at the level
    their RMS says. They are returned with their mean removed.

    Returns
    -------
    list of ndarray, each shape (n,), µV
    """
    rms, ang_range, b = _block_stats(f, label, block_s)
    if len(rms) == 0:
        return []
    limit = min(max_rms_ratio * float(np.percentile(rms, 10)), max_rms_uv)
    quiet = (ang_range < max_angle_range_deg) & (rms < limit)
    x = f.channel(label)
    y = band(x, f.fs_hz)
    win = max(1, round(crest_window_s * f.fs_hz))
    out: list[np.ndarray] = []
    for a, z in _runs(quiet):
        if (z - a) * b < min_len_s * f.fs_hz:
            continue
        yb = y[a * b : z * b]
        level = float(np.sqrt(np.mean(yb**2)))
        moving = np.sqrt(np.convolve(yb**2, np.full(win, 1.0 / win), mode="valid"))
        if level > 0 and moving.max() <= max_crest * level and mains_fraction(yb, f.fs_hz) <= max_mains_fraction:
            seg = x[a * b : z * b]
            out.append(seg - seg.mean())
    return out


def mains_fraction(y: np.ndarray, fs_hz: float, width_hz: float = 2.0) -> float:
    """Largest share of the 20-450 Hz power of ``y`` at 50 or at 60 Hz and their harmonics (within ``width_hz``)."""
    f = np.fft.rfftfreq(len(y), 1.0 / fs_hz)
    power = np.abs(np.fft.rfft(y * np.hanning(len(y)))) ** 2
    in_band = (f >= 20.0) & (f <= 450.0)
    total = float(power[in_band].sum())
    if total <= 0:
        return 0.0
    shares = []
    for mains in (50.0, 60.0):
        near = np.min(np.abs(f[:, None] - np.arange(mains, 450.0 + 1e-9, mains)[None, :]), axis=1) <= width_hz
        shares.append(float(power[in_band & near].sum()) / total)
    return max(shares)


def contraction_bursts(
    f: UciFile,
    label: str,
    min_snr_db: float = 20.0,
    min_len_s: float = 0.5,
    window_s: float = 0.1,
    max_dip_db: float | None = 6.0,
) -> list[np.ndarray]:
    """Band-passed (20-450 Hz) sustained quadriceps contractions of one channel.

    The 0.1 s moving RMS of the band-passed channel is compared with the channel's quiet
    level (10th percentile of 0.25 s block RMS); runs above ``10**(min_snr_db/20)`` times
    that level are contractions. Strong bursts keep the recording's own noise at least
    ``min_snr_db`` below the activity, so scaling them to a low SNR adds almost no foreign
    noise. With ``max_dip_db``, only the sustained part of each contraction is kept: the
    runs in which the moving RMS stays within ``max_dip_db`` of the contraction's median
    (a leg extension rises and falls; its edges can be 20 dB weaker than its middle, and
    tiled end to end they make a series of movements rather than one sustained burst).
    Runs shorter than ``min_len_s`` are dropped.

    Returns
    -------
    list of ndarray, each shape (n,), µV (band-passed, not tapered)
    """
    y = band(f.channel(label), f.fs_hz)
    rms, _, _ = _block_stats(f, label, 0.25)
    if len(rms) == 0:
        return []
    quiet = float(np.percentile(rms, 10))
    w = max(1, round(window_s * f.fs_hz))
    env = np.sqrt(np.convolve(y**2, np.ones(w) / w, mode="same"))
    min_len = min_len_s * f.fs_hz
    out = []
    for a, z in _runs(env > quiet * 10 ** (min_snr_db / 20.0)):
        if z - a < min_len:
            continue
        if max_dip_db is None:
            parts = [(a, z)]
        else:
            level = float(np.median(env[a:z])) * 10 ** (-max_dip_db / 20.0)
            parts = [(a + b, a + e) for b, e in _runs(env[a:z] >= level)]
        out += [y[b:e].copy() for b, e in parts if e - b >= min_len]
    return out


@dataclass(frozen=True)
class Movement:
    """One knee movement seen by the goniometer: departure from rest to return, samples."""

    onset_sample: int
    offset_sample: int
    peak_deg: float


def angle_movements(
    angle_deg: np.ndarray,
    fs_hz: float,
    peak_fraction: float = 0.5,
    rest_fraction: float = 0.1,
    min_gap_s: float = 0.3,
) -> list[Movement]:
    """Knee movements: excursions of the angle away from its resting side and back.

    The resting side is the end of the angle's range (1st or 99th percentile) near which
    the angle spends more time. A movement is a run in which the angle is more than
    ``peak_fraction`` of the range away from rest (runs closer than ``min_gap_s`` merge).
    Its onset is where the angle left the trough before the run (the last sample within
    ``rest_fraction`` of the range of that trough's deviation), its offset where it reached
    the trough after the run. A movement whose trough is the first or last sample of the
    file is left out: it was cut off and its onset or offset is unknown.

    Returns
    -------
    list of Movement, in time order
    """
    a = np.asarray(angle_deg, dtype=float)
    lo, hi = np.percentile(a, [1, 99])
    span = hi - lo
    if span < 5.0:
        return []
    near_lo = np.mean(a < lo + 0.15 * span)
    near_hi = np.mean(a > hi - 0.15 * span)
    dev = np.abs(a - (lo if near_lo >= near_hi else hi))
    merged: list[list[int]] = []
    gap = round(min_gap_s * fs_hz)
    for s, e in _runs(dev > peak_fraction * span):
        if merged and s - merged[-1][1] < gap:
            merged[-1][1] = e
        else:
            merged.append([s, e])
    band_deg = rest_fraction * span
    out = []
    for k, (s, e) in enumerate(merged):
        a0 = merged[k - 1][1] if k else 0
        z1 = merged[k + 1][0] if k + 1 < len(merged) else len(a)
        before, after = dev[a0:s], dev[e:z1]
        if len(before) == 0 or len(after) == 0:
            continue
        on_idx = np.flatnonzero(before <= before.min() + band_deg)[-1]
        off_idx = np.flatnonzero(after <= after.min() + band_deg)[0]
        if (k == 0 and on_idx == 0) or (k + 1 == len(merged) and off_idx == len(after) - 1):
            continue
        out.append(Movement(int(a0 + on_idx + 1), int(e + off_idx), float(dev[s:e].max())))
    return out


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Start and end (exclusive) indices of the runs of True in a 1-D boolean array."""
    m = np.concatenate(([False], np.asarray(mask, dtype=bool), [False]))
    d = np.flatnonzero(np.diff(m.astype(np.int8)))
    return list(zip(d[0::2].tolist(), d[1::2].tolist()))
