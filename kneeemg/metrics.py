"""Night metrics: what a night's events and excluded time add up to.

See ``docs/metrics.md`` for every definition. The leg-movement numbers follow the WASM
2016 rules but are computed from the channels recorded (the thigh, with kneeemg's sensor);
the published references they are shown against come from tibialis anterior recordings in
sleep labs, and are labelled so.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping, Sequence

import numpy as np

from .diary import iso_date
from .diary import night_date as diary_night_date
from .errors import InputError
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
        """The night as the guidance's case-file input (see :func:`case_night`)."""
        return case_night(self.as_dict())


def case_night(metrics: Mapping[str, Any], date: str | None = None) -> dict[str, Any]:
    """A night in the triage case-file shape, from :meth:`NightMetrics.as_dict` output.

    Parameters
    ----------
    metrics : mapping
        A night's metrics as stored (``NightMetrics.as_dict()``).
    date : str, optional
        Overrides the date in ``metrics``.

    Returns
    -------
    dict
        ``date``, ``usable_hours``, ``twitches``, ``spasms``, ``cramps``, ``longest_cramp_s``,
        ``periodic_series``, ``twitch_rate_per_hour``, ``clusters``, ``plm_index_thigh`` and,
        when the channels are labelled left and right, ``twitches_left`` and ``twitches_right``.
        Rates are None when the night had no usable time.
    """
    counts = metrics.get("counts") or {}
    lm = metrics.get("leg_movements") or {}
    out = {
        "date": date or metrics.get("date"),
        "usable_hours": round(float(metrics.get("usable_s") or 0.0) / 3600.0, 3),
        "twitches": int(counts.get("twitch", 0)),
        "spasms": int(counts.get("spasm", 0)),
        "cramps": int(counts.get("cramp", 0)),
        "longest_cramp_s": float(metrics.get("longest_cramp_s") or 0.0),
        "periodic_series": int(lm.get("periodic_series", 0)),
        "twitch_rate_per_hour": (metrics.get("per_usable_hour") or {}).get("twitch"),
        "clusters": int((metrics.get("clusters") or {}).get("count", 0)),
        "plm_index_thigh": lm.get("plm_index"),
    }
    sides = metrics.get("sides") or {}
    if "left" in sides and "right" in sides:
        out["twitches_left"] = int(sides["left"].get("twitch", 0))
        out["twitches_right"] = int(sides["right"].get("twitch", 0))
    return out


def _percentiles(values: Sequence[float]) -> dict[str, float]:
    if not len(values):
        return {}
    p = np.percentile(values, [10, 50, 90])
    return {"p10": round(float(p[0]), 3), "median": round(float(p[1]), 3), "p90": round(float(p[2]), 3), "max": round(float(np.max(values)), 3)}


def clusters(twitches: Sequence[Event], min_count: int = CLUSTER_MIN_TWITCHES, max_gap_s: float = CLUSTER_MAX_GAP_S) -> list[list[Event]]:
    """Clusters of twitches: bursts of twitches close together on one channel.

    A cluster is a run of at least ``min_count`` twitches on one channel in which each
    twitch starts at most ``max_gap_s`` seconds after the previous one ended. Every twitch
    belongs to at most one cluster.

    Parameters
    ----------
    twitches : sequence of Event
    min_count : int
        Fewest twitches in a cluster (at least 2).
    max_gap_s : float
        Longest gap from the end of one twitch to the start of the next, s (>= 0).

    Returns
    -------
    list of list of Event
        Each cluster's twitches in onset order; clusters in order of their first onset.
    """
    if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 2:
        raise InputError(f"clusters: min_count={min_count!r} must be a whole number of at least 2")
    if not max_gap_s >= 0 or not math.isfinite(max_gap_s):
        raise InputError(f"clusters: max_gap_s={max_gap_s!r} must be a number of seconds >= 0")
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


_LEFT = {"l", "lt", "left"}
_RIGHT = {"r", "rt", "right"}


def side_of(label: str) -> str | None:
    """``"left"``, ``"right"`` or None from a channel label.

    The label is split into words at anything that is not a letter or digit and at a change
    from lower to upper case (``"quad_L"``, ``"L-VM"``, ``"Left thigh"``, ``"vmRight"``); a
    word L, Lt or Left (R, Rt, Right) names the side. ``"VL"`` (vastus lateralis) is one word
    and names no side.
    """
    words = {w.lower() for w in re.split(r"[^A-Za-z0-9]+|(?<=[a-z])(?=[A-Z])", label) if w}
    left, right = bool(words & _LEFT), bool(words & _RIGHT)
    if left == right:
        return None
    return "left" if left else "right"


def night_date(start_time: datetime | None) -> str | None:
    """The evening a night began (see :func:`kneeemg.diary.night_date`), or None without a start time."""
    return None if start_time is None else diary_night_date(start_time)


def hour_clocks(start_time: datetime, n_hours: int) -> list[str]:
    """The clock time at which each hour of a night begins ("23:30").

    A start time with a time zone (a recorder's, in UTC) is counted on in real hours (in UTC)
    and each hour shown on the computer's local clock, so a change to or from summer time
    during the night shows; the hour that comes twice when clocks go back is told apart by its
    offset from UTC ("02:00 UTC+2", "02:00 UTC+1"). A start time without a zone (EDF headers
    have none) is the recorder's own clock, taken as it is: its hours are counted on it without
    any summer-time change.
    """
    if start_time.tzinfo is None:
        starts = [start_time + timedelta(hours=h) for h in range(n_hours)]
    else:
        utc = start_time.astimezone(timezone.utc)
        starts = [(utc + timedelta(hours=h)).astimezone() for h in range(n_hours)]
    shown = [f"{at:%H:%M}" for at in starts]
    return [f"{text} UTC{at.utcoffset().total_seconds() / 3600:+g}" if shown.count(text) > 1 and at.tzinfo else text
            for text, at in zip(shown, starts)]


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
    origin_s: float = 0.0,
    cluster_min_twitches: int = CLUSTER_MIN_TWITCHES,
    cluster_max_gap_s: float = CLUSTER_MAX_GAP_S,
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
    origin_s : float
        Time of the recording's first sample on the events' clock, s (0 unless the
        detector was started at a later sample).
    cluster_min_twitches, cluster_max_gap_s : int, float
        The cluster definition (see :func:`clusters`).
    """
    if recording_s < 0 or usable_s < 0 or usable_s > recording_s + 1e-6:
        raise InputError(f"night metrics: usable_s={usable_s} and recording_s={recording_s} must satisfy "
                         "0 <= usable_s <= recording_s")
    usable_h = usable_s / 3600.0
    counts = {k: sum(1 for e in events if e.kind == k) for k in KINDS}
    rates = {k: (round(v / usable_h, 3) if usable_h > 0 else None) for k, v in counts.items()}
    n_hours = max(1, math.ceil(recording_s / 3600.0 - 1e-9))
    per_hour = [{k: 0 for k in KINDS} for _ in range(n_hours)]
    for e in events:
        if e.kind in KINDS:
            per_hour[min(n_hours - 1, max(0, int((e.onset_s - origin_s) // 3600)))][e.kind] += 1
    hours = []
    clocks = hour_clocks(start_time, n_hours) if start_time else [f"+{h} h" for h in range(n_hours)]
    for h in range(n_hours):
        usable = float(usable_by_hour_s[h]) if h < len(usable_by_hour_s) else 0.0
        row = {"hour": h, "clock": clocks[h],
               "usable_s": round(usable, 1), **per_hour[h]}
        row["twitch_per_usable_hour"] = round(row["twitch"] / (usable / 3600.0), 2) if usable > 0 else None
        hours.append(row)
    twitches = [e for e in events if e.kind == "twitch"]
    cl = clusters(twitches, cluster_min_twitches, cluster_max_gap_s)
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
        "note": "WASM 2016 rules computed from the channels recorded (sleep labs use the shin muscle)",
    }
    sides: dict[str, dict[str, int]] = {}
    for c, lab in enumerate(labels):
        side = side_of(lab)
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
                  "min_twitches": cluster_min_twitches, "max_gap_s": cluster_max_gap_s,
                  "definition": f">= {cluster_min_twitches} twitches on one channel, each starting <= {cluster_max_gap_s:g} s "
                                "after the previous one ended"},
        leg_movements=lm, sides=sides, excluded_s=excl,
    )


def night_metrics(
    result: Any,
    start_time: datetime | None = None,
    lost_s: float | None = None,
    date: str | None = None,
    cluster_min_twitches: int = CLUSTER_MIN_TWITCHES,
    cluster_max_gap_s: float = CLUSTER_MAX_GAP_S,
) -> NightMetrics:
    """Night metrics of a :class:`~kneeemg.dsp.DetectionResult` (from ``detect`` or ``replay``).

    Parameters
    ----------
    result : DetectionResult
    start_time : datetime, optional
        Wall-clock start of the recording; taken from ``result.source`` (set by replay)
        when omitted. Needed for clock-hour labels and the night's date.
    lost_s : float, optional
        Seconds lost while recording; ``result.lost_s`` when omitted.
    date : str, optional
        The evening the night began (ISO date); derived from ``start_time`` when omitted.
    cluster_min_twitches, cluster_max_gap_s : int, float
        The cluster definition (see :func:`clusters`).
    """
    source = getattr(result, "source", None)
    if start_time is None and source is not None:
        start_time = getattr(source, "start_time", None)
    if start_time is not None and not isinstance(start_time, datetime):
        raise InputError(f"start_time={start_time!r} is not a datetime; give a datetime.datetime (or leave it out)")
    if date is not None:
        date = iso_date(date, "date")
    if lost_s is None:
        lost_s = float(getattr(result, "lost_s", 0.0) or 0.0)
    return compute_metrics(
        result.events, result.leg_movements, [s.members for s in result.plm_series], result.excluded,
        result.recording_s, result.usable_s, result.labels, usable_by_hour(result), start_time, lost_s, date,
        origin_s=result.start_sample / result.fs_hz,
        cluster_min_twitches=cluster_min_twitches, cluster_max_gap_s=cluster_max_gap_s,
    )


def usable_by_hour(result: Any) -> np.ndarray:
    """Seconds in which at least one channel was usable, per hour from the start of ``result``.

    Returns
    -------
    ndarray, shape (n_hours,)
        ``n_hours`` is the recording length rounded up to whole hours (at least 1). An epoch
        counts in the hour it starts in.
    """
    lengths = result._epoch_lengths()
    flags = np.asarray(result.epoch_flags)
    usable_any = (flags == 0).any(axis=1) if flags.size else np.zeros(len(lengths), bool)
    start_s = result.start_sample / result.fs_hz
    epoch_start_s = (result.first_epoch + np.arange(len(lengths))) * result.epoch_samples / result.fs_hz - start_s
    n_hours = max(1, math.ceil(result.recording_s / 3600.0 - 1e-9))
    by_hour = np.zeros(n_hours)
    hour = np.clip((np.maximum(epoch_start_s, 0.0) // 3600).astype(int), 0, n_hours - 1)
    np.add.at(by_hour, hour, usable_any * lengths / result.fs_hz)
    return by_hour


def rates_if_long_enough(summary: Mapping[str, Any]) -> dict[str, Any]:
    """``summary`` (:meth:`~kneeemg.dsp.DetectionResult.summary`) with its rates set to None
    when its usable time is too short to give one (:func:`kneeemg.guidance.features.gives_rate`:
    less than 1 h, as the nights list, trends, reports and guidance judge): a 20 s recording
    with one twitch is not 180 twitches an hour. The counts stay."""
    from .guidance.features import gives_rate

    out = dict(summary)
    if not gives_rate(summary["usable_s"]):
        out["per_usable_hour"] = {k: None for k in summary["per_usable_hour"]}
        if "leg_movements_thigh" in summary:
            out["leg_movements_thigh"] = {**summary["leg_movements_thigh"], "plm_per_usable_hour": None}
    return out
