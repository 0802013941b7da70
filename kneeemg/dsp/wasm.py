"""Periodic leg-movement series after the WASM 2016 rules (computed from the thigh).

Leg movements themselves are found by the detector kernel (onset 8 µV above resting EMG,
offset at the start of at least 0.5 s within 2 µV of resting, 0.5-10 s long). This module
groups them into periodic series: at least ``min_count`` movements in a row whose
onset-to-onset intervals all lie in ``[min_interval_s, max_interval_s]``. An interval
outside that range ends the series. Series are found per channel (per leg).
"""

from __future__ import annotations

from typing import Sequence

from ..events import Event, PeriodicSeries


def periodic_series(
    movements: Sequence[Event],
    min_count: int = 4,
    min_interval_s: float = 10.0,
    max_interval_s: float = 90.0,
) -> list[PeriodicSeries]:
    """Group leg movements into periodic series.

    Parameters
    ----------
    movements : sequence of Event
        Leg movements (any order, any channels).
    min_count : int
        Fewest movements in a series.
    min_interval_s, max_interval_s : float
        Allowed onset-to-onset interval inside a series, s.

    Returns
    -------
    list of PeriodicSeries
        ``members`` index into ``movements``; series in order of their first onset.
    """
    out: list[PeriodicSeries] = []
    channels = sorted({m.channel for m in movements})
    for ch in channels:
        idx = sorted((i for i, m in enumerate(movements) if m.channel == ch), key=lambda i: movements[i].onset_s)
        run: list[int] = []
        for i in idx:
            if run:
                gap = movements[i].onset_s - movements[run[-1]].onset_s
                if not min_interval_s <= gap <= max_interval_s:
                    if len(run) >= min_count:
                        out.append(PeriodicSeries(ch, tuple(run)))
                    run = []
            run.append(i)
        if len(run) >= min_count:
            out.append(PeriodicSeries(ch, tuple(run)))
    out.sort(key=lambda s: movements[s.members[0]].onset_s)
    return out
