"""Night metrics on hand-made events with known answers."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from kneeemg.events import Event, ExcludedInterval
from kneeemg.metrics import clusters, compute_metrics, night_date, night_metrics


def ev(t, dur, kind="twitch", ch=0, peak=100.0):
    return Event(int(t * 1000), int((t + dur) * 1000), 1000.0, ch, kind, peak, peak / 3, 20.0)


def test_counts_rates_clusters_and_longest():
    events = [ev(10, 0.01), ev(15, 0.01), ev(20, 0.02), ev(100, 0.01), ev(3700, 2.0, "spasm"), ev(4000, 30.0, "cramp"),
              ev(5000, 0.01, ch=1), ev(5005, 0.01, ch=1), ev(5009, 0.01, ch=1), ev(5018, 0.01, ch=1)]
    m = compute_metrics(events, [], [], [ExcludedInterval(0, 600, 0, "flat")], recording_s=7200, usable_s=6600,
                        labels=("left", "right"), usable_by_hour_s=[3000, 3600], start_time=datetime(2026, 11, 20, 23, 30))
    assert m.counts == {"twitch": 8, "spasm": 1, "cramp": 1}
    assert m.per_usable_hour["twitch"] == pytest.approx(8 / (6600 / 3600), rel=1e-3)
    assert [h["twitch"] for h in m.per_clock_hour] == [4, 4] and m.per_clock_hour[1]["clock"] == "00:30"
    assert m.per_clock_hour[0]["twitch_per_usable_hour"] == pytest.approx(4 / (3000 / 3600), rel=1e-3)
    assert m.longest_cramp_s == pytest.approx(30.0) and m.longest_spasm_s == pytest.approx(2.0)
    assert m.clusters["count"] == 2 and m.clusters["twitches_in_clusters"] == 7
    assert m.sides == {"left": {"twitch": 4, "spasm": 1, "cramp": 1}, "right": {"twitch": 4, "spasm": 0, "cramp": 0}}
    assert m.date == "2026-11-20" and m.excluded_s == {"flat": 600}
    case = m.as_case_night()
    assert case["twitches"] == 8 and case["cramps"] == 1 and case["usable_hours"] == pytest.approx(6600 / 3600, abs=1e-3)


def test_leg_movement_series_and_periodicity():
    lms = [ev(t, 1.0, "lm") for t in (100, 120, 140, 160, 180, 400, 405)]
    m = compute_metrics([], lms, [(0, 1, 2, 3, 4)], [], 3600, 3600, ("ch0",), [3600])
    lm = m.leg_movements
    assert lm["count"] == 7 and lm["in_series"] == 5 and lm["plm_index"] == 5.0
    assert lm["periodicity_index"] == pytest.approx(4 / 6, abs=1e-3)  # 4 of the 6 intervals lie inside the series
    counts = lm["imi_histogram"]["counts"]
    assert counts[10] == 4 and counts[2] == 1 and lm["imi_histogram"]["beyond_s"] == 1


def test_clusters_need_three_close_twitches():
    assert clusters([ev(0, 0.01), ev(5, 0.01)]) == []
    assert len(clusters([ev(0, 0.01), ev(5, 0.01), ev(14, 0.01), ev(40, 0.01)])[0]) == 3


def test_night_date_is_the_evening_it_began():
    assert night_date(datetime(2026, 11, 21, 1, 0)) == "2026-11-20"
    assert night_date(datetime(2026, 11, 20, 22, 0)) == "2026-11-20"
    assert night_date(None) is None


def test_from_a_detection_result():
    from kneeemg.dsp import detect
    from kneeemg.simulate import simulate_night

    night = simulate_night(hours=0.2, n_channels=2, seed=3)
    res = detect(night.read(), night.info.fs_hz, labels=night.info.labels)
    m = night_metrics(res, date="2026-11-20")
    assert m.counts == res.counts() and m.usable_s == pytest.approx(res.usable_s, abs=1e-3)
    assert sum(h["usable_s"] for h in m.per_clock_hour) == pytest.approx(res.usable_s, abs=0.5)
    assert set(m.sides) == {"left", "right"}
    assert np.isfinite(m.per_usable_hour["twitch"])
