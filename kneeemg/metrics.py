"""Night metrics: what a night's events and excluded time add up to.

See ``docs/metrics.md`` for every definition. The leg-movement numbers follow the WASM
2016 rules but are computed from the thigh; the published references they are shown
against come from tibialis anterior recordings in sleep labs, and are labelled so.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, Sequence

import numpy as np

from .events import KINDS, Event, ExcludedInterval

#: A cluster: at least this many twitches in a row on one channel ...
CLUSTER_MIN_TWITCHES = 3
#: ... each at most this many seconds after the previous one.
CLUSTER_MAX_GAP_S = 10.0
#: Inter-movement interval histogram: bin width and range, s.
IMI_BIN_S = 2.0
IMI_MAX_S = 100.0

#: Published references, with where they come from.
REFERENCES = (
    {"name": "PLMS index, 90th percentile of healthy sleepers", "value": 25.0, "unit": "per hour",
     "note": "from tibialis anterior recordings in polysomnography, not from the thigh"},
    {"name": "PLMS index considered abnormal in adults", "value": 15.0, "unit": "per hour",
     "note": "from tibialis anterior recordings in polysomnography, not from the thigh"},
)


@dataclass(frozen=True)
class NightMetrics:
    """Everything measured about one night (JSON-ready through :meth:`as_dict`)."""

    date: str | None
    start_time: str | None
    recording_s: float
    usable_s: float
    lost_s: float
    channels: tuple[str, ...]
    counts: dict[str, int]
    per_usable_hour: dict[str, float | None]
    per_clock_hour: list[dict[str, Any]]
    longest_spasm_s: float
    longest_cramp_s: float
    amplitude_uv: dict[str, dict[str, float]]
    duration_s: dict[str, dict[str, float]]
    clusters: dict[str, Any]
    leg_movements: dict[str, Any]
    sides: dict[str, dict[str, int]] = field(default_factory=dict)
    excluded_s: dict[str, float] = field(default_factory=dict)
    references: tuple[dict[str, Any], ...] = REFERENCES

    @property
    def usable_hours(self) -> float:
        return self.usable_s / 3600.0

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["references"] = list(self.references)
        return d

    def as_case_night(self) -> dict[str, Any]:
        """The night as the guidance's case-file input."""
        return {
            "date": self.date,
            "usable_hours": round(self.usable_hours, 3),
            "twitches": self.counts["twitch"],
            "spasms": self.counts["spasm"],
            "cramps": self.counts["cramp"],
            "longest_cramp_s": self.longest_cramp_s,
            "periodic_series": self.leg_movements["periodic_series"],
            "twitch_rate_per_hour": self.per_usable_hour["twitch"],
            "clusters": self.clusters["count"],
            "plm_index_thigh": self.leg_movements["plm_index"],
        }


def _percentiles(values: Sequence[float]) -> dict[str, float]:
    if not len(values):
        return {}
    p = np.percentile(values, [10, 50, 90])
    return {"p10": round(float(p[0]), 3), "median": round(float(p[1]), 3), "p90": round(float(p[2]), 3), "max": round(float(np.max(values)), 3)}


def clusters(twitches: Sequence[Event], min_count: int = CLUSTER_MIN_TWITCHES, max_gap_s: float = CLUSTER_MAX_GAP_S) -> list[list[Event]]:
    """Runs of at least ``min_count`` twitches on one channel, each within ``max_gap_s`` of the previous."""
    out: list[list[Event]] = []
    for ch in sorted({e.channel for e in twitches}):
        run: list[Event] = []
        for e in sorted((e for e in twitches if e.channel == ch), key=lambda e: e.onset_s):
            if run and e.onset_s - run[-1].offset_s > max_gap_s:
                if len(run) >= min_count:
                    out.append(run)
                run = []
            run.append(e)
        if len(run) >= min_count:
            out.append(run)
    return sorted(out, key=lambda r: r[0].onset_s)


def _side(label: str) -> str | None:
    low = label.lower()
    if low in ("l", "left") or low.startswith(("left", "l_", "l-")) or low.endswith(("_l", "-l", " left")):
        return "left"
    if low in ("r", "right") or low.startswith(("right", "r_", "r-")) or low.endswith(("_r", "-r", " right")):
        return "right"
    return None


def night_date(start_time: datetime | None) -> str | None:
    """The evening a night began: a start after midnight and before noon counts for the day before."""
    if start_time is None:
        return None
    day = start_time.date() - timedelta(days=1) if start_time.hour < 12 else start_time.date()
    return day.isoformat()


def compute_metrics(
    events: Sequence[Event],
    leg_movements: Sequence[Event],
    series_members: Sequence[Sequence[int]],
    excluded: Sequence[ExcludedInterval],
    recording_s: float,
    usable_s: float,
    labels: Sequence[str],
    usable_by_hour_s: Sequence[float],
    start_time: datetime | None = None,
    lost_s: float = 0.0,
    date: str | None = None,
) -> NightMetrics:
    """Night metrics from plain pieces (see :func:`night_metrics` for a DetectionResult).

    Parameters
    ----------
    events : twitches, spasms and cramps
    leg_movements : WASM leg movements (thigh)
    series_members : indices into ``leg_movements`` of each periodic series
    excluded : excluded intervals
    recording_s, usable_s, lost_s : float, s
    labels : channel labels
    usable_by_hour_s : usable seconds in each hour of the recording (from its start)
    start_time : datetime, optional
    date : str, optional
        The evening the night began (derived from ``start_time`` when omitted).
    """
    usable_h = usable_s / 3600.0
    counts = {k: sum(1 for e in events if e.kind == k) for k in KINDS}
    rates = {k: (round(v / usable_h, 3) if usable_h > 0 else None) for k, v in counts.items()}
    n_hours = max(1, math.ceil(recording_s / 3600.0 - 1e-9))
    hours = []
    for h in range(n_hours):
        in_h = [e for e in events if h * 3600 <= e.onset_s < (h + 1) * 3600]
        usable = float(usable_by_hour_s[h]) if h < len(usable_by_hour_s) else 0.0
        row = {"hour": h, "clock": (start_time + timedelta(hours=h)).strftime("%H:%M") if start_time else f"+{h} h",
               "usable_s": round(usable, 1)}
        for k in KINDS:
            row[k] = sum(1 for e in in_h if e.kind == k)
        row["twitch_per_usable_hour"] = round(row["twitch"] / (usable / 3600.0), 2) if usable > 0 else None
        hours.append(row)
    twitches = [e for e in events if e.kind == "twitch"]
    cl = clusters(twitches)
    # leg movements: periodic series, periodicity index, inter-movement intervals
    in_series = sum(len(m) for m in series_members)
    intervals = []
    for ch in sorted({m.channel for m in leg_movements}):
        on = sorted(m.onset_s for m in leg_movements if m.channel == ch)
        intervals += list(np.diff(on))
    series_intervals = sum(max(0, len(m) - 1) for m in series_members)
    hist, edges = np.histogram(intervals, bins=np.arange(0.0, IMI_MAX_S + IMI_BIN_S, IMI_BIN_S))
    lm = {
        "count": len(leg_movements),
        "periodic_series": len(series_members),
        "in_series": in_series,
        "plm_index": round(in_series / usable_h, 2) if usable_h > 0 else None,
        "periodicity_index": round(series_intervals / len(intervals), 3) if intervals else None,
        "imi_histogram": {"bin_s": IMI_BIN_S, "edges_s": [float(x) for x in edges], "counts": [int(x) for x in hist],
                          "beyond_s": int(sum(1 for i in intervals if i >= IMI_MAX_S))},
        "note": "WASM 2016 rules computed from the thigh",
    }
    sides: dict[str, dict[str, int]] = {}
    for c, lab in enumerate(labels):
        side = _side(lab)
        if side:
            sides.setdefault(side, {k: 0 for k in KINDS})
            for e in events:
                if e.channel == c:
                    sides[side][e.kind] += 1
    if set(sides) != {"left", "right"}:
        sides = {}
    excl: dict[str, float] = {}
    for iv in excluded:
        excl[iv.reason] = round(excl.get(iv.reason, 0.0) + iv.duration_s, 3)
    longest = {k: max((e.duration_s for e in events if e.kind == k), default=0.0) for k in ("spasm", "cramp")}
    return NightMetrics(
        date=date or night_date(start_time),
        start_time=start_time.isoformat() if start_time else None,
        recording_s=round(recording_s, 3), usable_s=round(usable_s, 3), lost_s=round(lost_s, 3),
        channels=tuple(labels), counts=counts, per_usable_hour=rates, per_clock_hour=hours,
        longest_spasm_s=round(longest["spasm"], 3), longest_cramp_s=round(longest["cramp"], 3),
        amplitude_uv={k: _percentiles([e.peak_uv for e in events if e.kind == k]) for k in KINDS},
        duration_s={k: _percentiles([e.duration_s for e in events if e.kind == k]) for k in KINDS},
        clusters={"count": len(cl), "twitches_in_clusters": sum(len(c) for c in cl),
                  "definition": f">= {CLUSTER_MIN_TWITCHES} twitches on one channel, each <= {CLUSTER_MAX_GAP_S:g} s after the previous"},
        leg_movements=lm, sides=sides, excluded_s=excl,
    )


def night_metrics(result: Any, start_time: datetime | None = None, date: str | None = None) -> NightMetrics:
    """Night metrics of a :class:`~kneeemg.dsp.DetectionResult` (from ``detect`` or ``replay``)."""
    source = getattr(result, "source", None)
    if start_time is None and source is not None:
        start_time = source.start_time
    # usable seconds per hour of the recording, from the per-epoch flags
    lengths = result._epoch_lengths()
    usable_any = (result.epoch_flags == 0).any(axis=1) if result.epoch_flags.size else np.zeros(0, bool)
    epoch_start_s = (result.first_epoch + np.arange(len(lengths))) * result.epoch_samples / result.fs_hz
    n_hours = max(1, math.ceil(result.recording_s / 3600.0 - 1e-9))
    by_hour = np.zeros(n_hours)
    np.add.at(by_hour, np.minimum((epoch_start_s // 3600).astype(int), n_hours - 1), usable_any * lengths / result.fs_hz)
    return compute_metrics(
        result.events, result.leg_movements, [s.members for s in result.plm_series], result.excluded,
        result.recording_s, result.usable_s, result.labels, by_hour, start_time, getattr(result, "lost_s", 0.0), date,
    )
