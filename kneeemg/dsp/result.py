"""The result of a detection run: events, excluded time, and a summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from ..config import DetectorConfig
from ..events import KINDS, Event, ExcludedInterval, PeriodicSeries
from . import _kernels as K
from .wasm import periodic_series

#: Epoch flag bits and the reason names they stand for, in order of precedence.
REASONS: tuple[tuple[int, str], ...] = (
    (K.FLAG_LOST, "lost"),
    (K.FLAG_FLAT, "flat"),
    (K.FLAG_SATURATION, "saturation"),
    (K.FLAG_DC_JUMP, "dc_jump"),
    (K.FLAG_MOVEMENT, "movement"),
    (K.FLAG_MAINS, "mains"),
    (K.FLAG_SETTLING, "settling"),
    (K.FLAG_NOISE_RISE, "noise_rise"),
    (K.FLAG_SPIKE, "spike"),
    (K.FLAG_STEP, "step"),
)


def reason_of(flags: int) -> str:
    """The name of the most important reason set in an epoch's ``flags``."""
    for bit, name in REASONS:
        if flags & bit:
            return name
    return ""


@dataclass
class DetectionResult:
    """Everything the detector found in one recording.

    Attributes
    ----------
    events : list of Event
        Twitches, spasms and cramps, in onset order.
    leg_movements : list of Event
        WASM leg movements (kind ``"lm"``), computed from the thigh.
    fs_hz : float
    n_samples : int
        Samples processed.
    start_sample : int
        Absolute index of the first sample.
    labels : tuple of str
    config : DetectorConfig
    epoch_samples : int
        Epoch length in samples.
    first_epoch : int
        Absolute index of the first epoch in ``epoch_flags``.
    epoch_flags : ndarray, shape (n_epochs, n_channels), uint16
        Exclusion bits per epoch and channel (0 = usable); see :data:`REASONS`.
    floor_uv : ndarray, shape (n_epochs, n_channels), float32
        Noise floor at the end of each epoch, µV.
    epoch_lost : ndarray, shape (n_epochs,), int64, or None
        Samples of each epoch lost while recording (:meth:`StreamingDetector.mark_lost`);
        never usable time. None: none lost.
    filtered : ndarray, shape (n_samples, n_channels), float32, or None
        The band-passed signal, when asked for.
    mains_hz : float or None
        The mains frequency that was notched.
    notch_hz : tuple of float
        Every notched frequency.
    """

    events: list[Event]
    leg_movements: list[Event]
    fs_hz: float
    n_samples: int
    start_sample: int
    labels: tuple[str, ...]
    config: DetectorConfig
    epoch_samples: int
    first_epoch: int
    epoch_flags: np.ndarray
    floor_uv: np.ndarray
    epoch_lost: np.ndarray | None = None
    filtered: np.ndarray | None = None
    mains_hz: float | None = None
    notch_hz: tuple[float, ...] = field(default_factory=tuple)
    #: Seconds lost while recording (gaps in the file), set by :func:`kneeemg.replay`.
    lost_s: float = 0.0
    #: What is known about the recording (``RecordingInfo``), set by replay.
    source: Any = None

    @property
    def epoch_s(self) -> float:
        return self.epoch_samples / self.fs_hz

    @property
    def recording_s(self) -> float:
        return self.n_samples / self.fs_hz

    def _epoch_lengths(self) -> np.ndarray:
        """Samples of the recording inside each epoch of ``epoch_flags``, less those lost."""
        n = len(self.epoch_flags)
        starts = (self.first_epoch + np.arange(n)) * self.epoch_samples
        ends = starts + self.epoch_samples
        lo, hi = self.start_sample, self.start_sample + self.n_samples
        lengths = np.clip(np.minimum(ends, hi) - np.maximum(starts, lo), 0, None)
        if self.epoch_lost is not None and len(self.epoch_lost) == n:
            lengths = np.clip(lengths - self.epoch_lost, 0, None)
        return lengths

    @cached_property
    def usable_s_per_channel(self) -> np.ndarray:
        """Usable seconds per channel, shape (n_channels,)."""
        lengths = self._epoch_lengths()
        return ((self.epoch_flags == 0) * lengths[:, None]).sum(axis=0) / self.fs_hz

    @cached_property
    def usable_s(self) -> float:
        """Seconds in which at least one channel was usable."""
        lengths = self._epoch_lengths()
        any_ok = (self.epoch_flags == 0).any(axis=1) if self.epoch_flags.size else np.zeros(0, bool)
        return float((any_ok * lengths).sum() / self.fs_hz)

    @cached_property
    def excluded(self) -> list[ExcludedInterval]:
        """Excluded time as intervals per channel (runs of epochs with the same reason)."""
        out: list[ExcludedInterval] = []
        E, fs = self.epoch_samples, self.fs_hz
        begin_all = self.start_sample / fs  # the stream may begin inside its first epoch
        end_all = (self.start_sample + self.n_samples) / fs
        for c in range(self.epoch_flags.shape[1] if self.epoch_flags.ndim == 2 else 0):
            run_start, run_reason = None, ""
            for k, f in enumerate(self.epoch_flags[:, c]):
                reason = reason_of(int(f))
                if reason != run_reason:
                    if run_reason:
                        out.append(ExcludedInterval(run_start, (self.first_epoch + k) * E / fs, c, run_reason))
                    run_start, run_reason = max((self.first_epoch + k) * E / fs, begin_all), reason
            if run_reason:
                out.append(ExcludedInterval(run_start, end_all, c, run_reason))
        out.sort(key=lambda iv: (iv.start_s, iv.channel))
        return out

    @cached_property
    def plm_series(self) -> list[PeriodicSeries]:
        """Periodic leg-movement series (WASM rules, computed from the thigh)."""
        cfg = self.config
        return periodic_series(self.leg_movements, cfg.plm_min_count, cfg.plm_min_interval_s, cfg.plm_max_interval_s)

    def counts(self) -> dict[str, int]:
        """Number of events of each kind."""
        return {k: sum(1 for e in self.events if e.kind == k) for k in KINDS}

    def summary(self) -> dict[str, Any]:
        """A JSON-ready summary of the night.

        Rates are per hour of usable time (time in which at least one channel was usable).
        Leg-movement numbers follow the WASM 2016 rules but are computed from the thigh,
        not from tibialis anterior as in a sleep lab.
        """
        usable_h = self.usable_s / 3600.0
        counts = self.counts()
        in_series = sum(len(s.members) for s in self.plm_series)
        reasons: dict[str, float] = {}
        for iv in self.excluded:
            reasons[iv.reason] = reasons.get(iv.reason, 0.0) + iv.duration_s
        return {
            "recording_s": round(self.recording_s, 3),
            "usable_s": round(self.usable_s, 3),
            "usable_fraction": round(self.usable_s / self.recording_s, 4) if self.n_samples else 0.0,
            "channels": list(self.labels),
            "fs_hz": self.fs_hz,
            "mains_hz": self.mains_hz,
            "counts": counts,
            "per_usable_hour": {k: (round(v / usable_h, 2) if usable_h > 0 else None) for k, v in counts.items()},
            "lost_s": round(self.lost_s, 3),
            "excluded_s_by_reason": {k: round(v, 3) for k, v in sorted(reasons.items())},
            "leg_movements_thigh": {
                "count": len(self.leg_movements),
                "periodic_series": len(self.plm_series),
                "in_series": in_series,
                "plm_per_usable_hour": round(in_series / usable_h, 2) if usable_h > 0 else None,
                "note": "WASM 2016 rules applied to the thigh, not to tibialis anterior",
            },
        }

    def plot(self, ax: Any = None) -> Any:
        """Timeline of events per channel with excluded time shaded (matplotlib).

        Returns the axes.
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(10, 1.0 + 0.6 * len(self.labels)))
        hours = 1.0 / 3600.0
        colours = {"twitch": "tab:blue", "spasm": "tab:orange", "cramp": "tab:red"}
        for iv in self.excluded:
            ax.axvspan(iv.start_s * hours, iv.stop_s * hours, ymin=0, ymax=1, color="0.85", lw=0)
        for kind, col in colours.items():
            evs = [e for e in self.events if e.kind == kind]
            ax.scatter([e.onset_s * hours for e in evs], [e.channel for e in evs], s=8 if kind == "twitch" else 24,
                       color=col, label=f"{kind} ({len(evs)})", marker="|" if kind == "twitch" else "o")
        ax.set_yticks(range(len(self.labels)), self.labels)
        ax.set_xlabel("time (h)")
        ax.set_xlim(self.start_sample / self.fs_hz * hours, (self.start_sample + self.n_samples) / self.fs_hz * hours)
        ax.legend(loc="upper right", fontsize="small", ncols=3)
        return ax
