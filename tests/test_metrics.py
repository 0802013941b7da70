"""Night metrics on hand-made events with known answers, laws on random nights, and from a detection run."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kneeemg.config import DetectorConfig
from kneeemg.dsp.result import DetectionResult
from kneeemg.errors import InputError
from kneeemg.events import KINDS, Event, ExcludedInterval
from kneeemg.metrics import REFERENCES, case_night, clusters, compute_metrics, night_date, night_metrics, side_of


def ev(t, dur, kind="twitch", ch=0, peak=100.0):
    return Event(int(round(t * 1000)), int(round((t + dur) * 1000)), 1000.0, ch, kind, peak, peak / 3, 20.0)


def test_counts_rates_clusters_and_longest():
    events = [ev(10, 0.01), ev(15, 0.01), ev(20, 0.02), ev(100, 0.01), ev(3700, 2.0, "spasm"), ev(4000, 30.0, "cramp"),
              ev(5000, 0.01, ch=1), ev(5005, 0.01, ch=1), ev(5009, 0.01, ch=1), ev(5018, 0.01, ch=1)]
    m = compute_metrics(events, [], [], [ExcludedInterval(0, 600, 0, "flat")], recording_s=7200, usable_s=6600,
                        labels=("left", "right"), usable_by_hour_s=[3000, 3600], start_time=datetime(2026, 11, 20, 23, 30))
    assert m.counts == {"twitch": 8, "spasm": 1, "cramp": 1}
    assert m.per_usable_hour["twitch"] == pytest.approx(8 / (6600 / 3600), rel=1e-3)
    assert [h["twitch"] for h in m.per_clock_hour] == [4, 4] and m.per_clock_hour[1]["clock"] == "00:30"
    assert [h["usable_s"] for h in m.per_clock_hour] == [3000, 3600]
    assert m.per_clock_hour[0]["twitch_per_usable_hour"] == pytest.approx(4 / (3000 / 3600), rel=1e-3)
    assert m.longest_cramp_s == pytest.approx(30.0) and m.longest_spasm_s == pytest.approx(2.0)
    assert m.clusters["count"] == 2 and m.clusters["twitches_in_clusters"] == 7
    assert m.sides == {"left": {"twitch": 4, "spasm": 1, "cramp": 1}, "right": {"twitch": 4, "spasm": 0, "cramp": 0}}
    assert m.date == "2026-11-20" and m.start_time == "2026-11-20T23:30:00" and m.excluded_s == {"flat": 600}
    case = m.as_case_night()
    assert case == {"date": "2026-11-20", "usable_hours": pytest.approx(6600 / 3600, abs=1e-3), "twitches": 8, "spasms": 1,
                    "cramps": 1, "longest_cramp_s": 30.0, "periodic_series": 0,
                    "twitch_rate_per_hour": m.per_usable_hour["twitch"], "clusters": 2, "plm_index_thigh": 0.0,
                    "twitches_left": 4, "twitches_right": 4}


def test_distributions_are_percentiles_per_kind():
    events = [ev(10 * i, 0.01 * (i + 1), peak=10.0 * (i + 1)) for i in range(10)]  # peaks 10..100 µV, 10..100 ms
    m = compute_metrics(events, [], [], [], 600, 600, ("ch0",), [600])
    assert m.amplitude_uv["twitch"] == {"p10": 19.0, "median": 55.0, "p90": 91.0, "max": 100.0}
    assert m.duration_s["twitch"]["median"] == pytest.approx(0.055) and m.duration_s["twitch"]["max"] == pytest.approx(0.1)
    assert m.amplitude_uv["cramp"] == {} and m.longest_cramp_s == 0.0


def test_leg_movement_series_and_periodicity():
    lms = [ev(t, 1.0, "lm") for t in (100, 120, 140, 160, 180, 400, 405)]
    m = compute_metrics([], lms, [(0, 1, 2, 3, 4)], [], 3600, 3600, ("ch0",), [3600])
    lm = m.leg_movements
    assert lm["count"] == 7 and lm["in_series"] == 5 and lm["plm_index"] == 5.0 and lm["periodic_series"] == 1
    assert lm["periodicity_index"] == pytest.approx(4 / 6, abs=1e-3)  # 4 of the 6 intervals lie inside the series
    counts = lm["imi_histogram"]["counts"]
    assert len(counts) == 50 and counts[10] == 4 and counts[2] == 1 and lm["imi_histogram"]["beyond_s"] == 1
    assert "channels recorded" in lm["note"] and "shin" in lm["note"]  # (the thigh with kneeemg's sensor, the shin in a sleep lab)
    assert all("not from the thigh" in r["note"] for r in REFERENCES)
    assert {r["value"] for r in REFERENCES} == {25.0, 15.0}


def test_intervals_are_per_leg():
    # two legs moving alternately 10 s apart: 20 s intervals on each leg, never 10 s
    lms = [ev(100 + 10 * i, 1.0, "lm", ch=i % 2) for i in range(8)]
    m = compute_metrics([], lms, [], [], 3600, 3600, ("L", "R"), [3600])
    assert m.leg_movements["imi_histogram"]["counts"][10] == 6 and sum(m.leg_movements["imi_histogram"]["counts"]) == 6


def test_clusters_need_three_close_twitches():
    assert clusters([ev(0, 0.01), ev(5, 0.01)]) == []
    assert len(clusters([ev(0, 0.01), ev(5, 0.01), ev(14, 0.01), ev(40, 0.01)])[0]) == 3
    # the gap is from the end of one twitch to the start of the next
    assert clusters([ev(0, 0.5), ev(10.4, 0.01), ev(20.4, 0.01)]) != []
    assert clusters([ev(0, 0.01), ev(5, 0.01), ev(14, 0.01)], min_count=4) == []
    assert clusters([ev(0, 0.01), ev(5, 0.01), ev(14, 0.01)], max_gap_s=5.0) == []
    assert len(clusters([ev(0, 0.5), ev(5.5, 0.5), ev(11, 0.5)], max_gap_s=5.0)[0]) == 3  # "at most": a gap of exactly 5 s
    for bad in ({"min_count": 1}, {"max_gap_s": -1.0}, {"max_gap_s": float("nan")}):
        with pytest.raises(InputError):
            clusters([], **bad)


@st.composite
def nights(draw):
    n_ch = draw(st.integers(1, 3))
    recording_s = draw(st.floats(60.0, 3 * 3600.0))
    events = []
    for _ in range(draw(st.integers(0, 40))):
        onset = draw(st.floats(0.0, recording_s - 31.0)) if recording_s > 31 else 0.0
        kind = draw(st.sampled_from(KINDS))
        dur = {"twitch": 0.1, "spasm": 2.0, "cramp": 30.0}[kind]
        events.append(ev(onset, dur, kind, ch=draw(st.integers(0, n_ch - 1)), peak=draw(st.floats(1.0, 1000.0))))
    events.sort(key=lambda e: e.onset_sample)
    return events, n_ch, recording_s


@settings(max_examples=60, deadline=None)
@given(nights(), st.integers(2, 5), st.floats(0.0, 30.0))
def test_laws_on_random_nights(night, min_count, max_gap_s):
    events, n_ch, recording_s = night
    m = compute_metrics(events, [], [], [], recording_s, recording_s, tuple(f"ch{c}" for c in range(n_ch)), [3600.0] * 3,
                        cluster_min_twitches=min_count, cluster_max_gap_s=max_gap_s)
    # every event lands in exactly one clock hour
    for k in KINDS:
        assert sum(h[k] for h in m.per_clock_hour) == m.counts[k] == sum(e.kind == k for e in events)
    assert len(m.per_clock_hour) == max(1, int(np.ceil(recording_s / 3600 - 1e-9)))
    # clusters: on one channel, long enough, close enough, disjoint
    found = clusters([e for e in events if e.kind == "twitch"], min_count, max_gap_s)
    members = [id(e) for c in found for e in c]
    assert len(members) == len(set(members)) == m.clusters["twitches_in_clusters"]
    for c in found:
        assert len(c) >= min_count and len({e.channel for e in c}) == 1
        assert all(b.onset_s - a.offset_s <= max_gap_s for a, b in zip(c, c[1:]))


def test_no_usable_time_gives_no_rates():
    m = compute_metrics([ev(10, 0.1)], [], [], [ExcludedInterval(0, 600, 0, "flat")], 600, 0.0, ("ch0",), [0.0])
    assert m.per_usable_hour["twitch"] is None and m.per_clock_hour[0]["twitch_per_usable_hour"] is None
    assert m.leg_movements["plm_index"] is None and case_night(m.as_dict())["twitch_rate_per_hour"] is None
    with pytest.raises(InputError, match="usable_s"):
        compute_metrics([], [], [], [], 600, 700, ("ch0",), [600])


@pytest.mark.parametrize(
    "label, side",
    [("left", "left"), ("Right", "right"), ("quad_L", "left"), ("L-VM", "left"), ("Left thigh", "left"),
     ("vmRight", "right"), ("rt quad", "right"), ("VL", None), ("VM", None), ("ch0", None), ("LR", None), ("L R", None)],
)
def test_side_from_label(label, side):
    assert side_of(label) == side


def test_sides_need_both_legs():
    events = [ev(10, 0.1, ch=0), ev(20, 0.1, ch=1)]
    assert compute_metrics(events, [], [], [], 600, 600, ("VM", "VL"), [600]).sides == {}
    assert compute_metrics(events, [], [], [], 600, 600, ("left", "left VL"), [600]).sides == {}
    assert "twitches_left" not in compute_metrics(events, [], [], [], 600, 600, ("a", "b"), [600]).as_case_night()


def test_night_date_is_the_evening_it_began():
    assert night_date(datetime(2026, 11, 21, 1, 0)) == "2026-11-20"
    assert night_date(datetime(2026, 11, 20, 22, 0)) == "2026-11-20"
    assert night_date(None) is None


def _result(events, n_epochs, flags_rows, start_sample=0):
    """A DetectionResult made by hand: 1 kHz, 2 channels, 1 s epochs."""
    flags = np.zeros((n_epochs, 2), np.uint8)
    for row in flags_rows:
        flags[row] = 1
    return DetectionResult(events=events, leg_movements=[], fs_hz=1000.0, n_samples=n_epochs * 1000, start_sample=start_sample,
                           labels=("left", "right"), config=DetectorConfig(), epoch_samples=1000,
                           first_epoch=start_sample // 1000, epoch_flags=flags, floor_uv=np.ones((n_epochs, 2), np.float32),
                           lost_s=4.0)


def test_from_a_hand_made_result():
    # 2 h 30 min; the whole of epochs 100-399 unusable on both channels, 4000-4099 on one only
    flags_rows = [(slice(100, 400), slice(None)), (slice(4000, 4100), 0)]
    res = _result([ev(50, 0.1), ev(3650, 0.1, ch=1), ev(8000, 12.0, "cramp")], 9000, flags_rows)
    m = night_metrics(res, start_time=datetime(2026, 11, 20, 23, 0))
    assert m.usable_s == 9000 - 300 and m.lost_s == 4.0 and m.date == "2026-11-20"
    assert [h["usable_s"] for h in m.per_clock_hour] == [3300, 3600, 1800]
    assert [h["twitch"] for h in m.per_clock_hour] == [1, 1, 0] and m.per_clock_hour[2]["cramp"] == 1
    assert night_metrics(res, lost_s=1.5).lost_s == 1.5 and night_metrics(res).date is None


def test_a_result_that_starts_later():
    # the detector was started at sample 7200000 (2 h in): hours count from there
    res = _result([ev(7200 + 10, 0.1), ev(7200 + 3700, 0.1)], 4000, [], start_sample=7_200_000)
    m = night_metrics(res)
    assert [h["twitch"] for h in m.per_clock_hour] == [1, 1] and [h["usable_s"] for h in m.per_clock_hour] == [3600, 400]


def test_from_a_detection_run():
    from kneeemg.dsp import detect
    from kneeemg.simulate import simulate_night

    night = simulate_night(hours=0.2, n_channels=2, seed=3)
    res = detect(night.read(), night.info.fs_hz, labels=night.info.labels)
    m = night_metrics(res, date="2026-11-20")
    assert m.counts == res.counts() and m.usable_s == pytest.approx(res.usable_s, abs=1e-3)
    assert sum(h["usable_s"] for h in m.per_clock_hour) == pytest.approx(res.usable_s, abs=0.5)
    assert set(m.sides) == {"left", "right"}
    assert np.isfinite(m.per_usable_hour["twitch"])
    assert m.leg_movements["count"] == len(res.leg_movements)
    assert m.leg_movements["periodic_series"] == len(res.plm_series)


@pytest.mark.slow
def test_the_worked_example_in_the_docs_is_what_its_commands_give(tmp_path, monkeypatch):
    """docs/metrics.md "An example": rerun its commands and compare every number of the night with the text."""
    import re
    from pathlib import Path

    from kneeemg.cli import main
    from kneeemg.store import Store

    page = (Path(__file__).resolve().parents[1] / "docs" / "metrics.md").read_text(encoding="utf-8")
    section = page[page.index("### An example"):page.index("## References")]
    assert "kneeemg simulate --hours 8 --channels 2 --seed 1 --out n8.kemg" in section
    assert "kneeemg import n8.kemg --db h.db --date 2026-11-20" in section
    text = " ".join(section.split("```")[-1].split())
    monkeypatch.chdir(tmp_path)
    assert main(["simulate", "--hours", "8", "--channels", "2", "--seed", "1", "--out", "n8.kemg"]) == 0
    assert main(["import", "n8.kemg", "--db", "h.db", "--date", "2026-11-20"]) == 0
    with Store("h.db", create=False) as s:
        m = s.night().metrics
    lm, ex = m["leg_movements"], m["excluded_s"]
    expected = {
        r"([\d.]+) twitches \(([\d.]+) per usable hour\)": (m["counts"]["twitch"], f"{m['per_usable_hour']['twitch']:.1f}"),
        r"([\d.]+) spasms \(the longest ([\d.]+) s\)": (m["counts"]["spasm"], f"{m['longest_spasm_s']:.1f}"),
        r"([\d.]+) cramps \(the longest ([\d.]+) s\)": (m["counts"]["cramp"], f"{m['longest_cramp_s']:.1f}"),
        r"([\d.]+) clusters holding ([\d.]+) twitches": (m["clusters"]["count"], m["clusters"]["twitches_in_clusters"]),
        r"([\d.]+) twitches on the left and ([\d.]+) on the right": (m["sides"]["left"]["twitch"], m["sides"]["right"]["twitch"]),
        r"([\d.]+) leg movements of which ([\d.]+) in ([\d.]+) periodic series": (lm["count"], lm["in_series"], lm["periodic_series"]),
        r"PLM index ([\d.]+) per hour, periodicity index ([\d.]+),": (f"{lm['plm_index']:.1f}", f"{lm['periodicity_index']:.2f}"),
        r"([\d.]+) s flat, ([\d.]+) s movement, ([\d.]+) s saturation and ([\d.]+) s settling":
            tuple(f"{ex.get(k, 0):.0f}" for k in ("flat", "movement", "saturation", "settling")),
        r"with ([\d.]+) s around electrical spikes and ([\d.]+) s around offset steps":
            (f"{ex.get('spike', 0):.0f}", f"{ex.get('step', 0):.0f}"),
    }
    for pattern, values in expected.items():
        found = re.search(pattern, text)
        assert found, pattern
        assert found.groups() == tuple(str(v) for v in values), (pattern, found.groups(), values)


@pytest.mark.parametrize("tz, clock, night", [("America/New_York", "22:30", "2026-11-26"),
                                             ("Australia/Sydney", "14:30", "2026-11-27"),
                                             ("UTC", "03:30", "2026-11-26")])
def test_a_recorders_utc_start_is_read_in_local_time(monkeypatch, tz, clock, night):
    import time
    from datetime import datetime, timezone

    from kneeemg.diary import night_date

    monkeypatch.setenv("TZ", tz)
    time.tzset()
    try:
        start = datetime(2026, 11, 27, 3, 30, tzinfo=timezone.utc)  # as `kneeemg record` stores it
        m = compute_metrics([], [], [], [], 7200.0, 7200.0, ("left",), [3600.0, 3600.0], start_time=start)
        assert m.per_clock_hour[0]["clock"] == clock and m.date == night == night_date(start)
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_clock_hours_follow_a_change_from_summer_time(monkeypatch):
    import time
    from datetime import datetime, timezone
    from zoneinfo import ZoneInfo

    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    try:
        start = datetime(2026, 10, 24, 22, 0, tzinfo=timezone.utc)  # 00:00 summer time; clocks go back at 03:00
        m = compute_metrics([], [], [], [], 6 * 3600.0, 6 * 3600.0, ("left",), [3600.0] * 6, start_time=start)
        # the hour that comes twice is told apart by its offset from UTC
        clocks = ["00:00", "01:00", "02:00 UTC+2", "02:00 UTC+1", "03:00", "04:00"]
        assert [h["clock"] for h in m.per_clock_hour] == clocks
        # a start time in a zone with summer time is counted on in real hours, not on the wall clock
        # (which had skipped the repeated hour and shown every later hour an hour late)
        berlin = start.astimezone(ZoneInfo("Europe/Berlin"))
        assert [h["clock"] for h in compute_metrics([], [], [], [], 6 * 3600.0, 6 * 3600.0, ("left",), [3600.0] * 6,
                                                    start_time=berlin).per_clock_hour] == clocks
        # a start time without a zone (an EDF header's) is the recorder's clock, counted on as it is
        naive = compute_metrics([], [], [], [], 6 * 3600.0, 6 * 3600.0, ("left",), [3600.0] * 6,
                                start_time=datetime(2026, 10, 25, 0, 0))
        assert [h["clock"] for h in naive.per_clock_hour] == ["00:00", "01:00", "02:00", "03:00", "04:00", "05:00"]
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
