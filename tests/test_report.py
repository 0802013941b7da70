"""The night report and the doctor's summary: self-contained HTML holding the night's numbers."""

from __future__ import annotations

import base64
import os
import re
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kneeemg.cli import main
from kneeemg.errors import InputError
from kneeemg.report import DoctorInput, ReportInput, render_doctor, render_report, write_report
from kneeemg.report.render import PAGE_START, diary_html, tried_lines
from kneeemg.simulate import simulate_night, write_simulated
from kneeemg.diary import validate_day
from kneeemg.store import Store
from kneeemg.words import plural

VOID = {"meta", "img", "br", "hr", "link", "input", "source", "wbr", "col", "area", "base", "embed", "track"}
HOSTILE = "<script>alert('x')</script> long day & \"quotes\""


class _Checker(HTMLParser):
    """Collects text, images and tag-nesting errors of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.images: list[str] = []
        self.tags: set[str] = set()
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        if tag == "img":
            self.images.append(dict(attrs).get("src", ""))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:]}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def check_page(text: str) -> _Checker:
    """Parse ``text``; fail on unbalanced tags, external resources or scripts."""
    assert text.startswith("<!DOCTYPE html>")
    c = _Checker()
    c.feed(text)
    c.close()
    assert not c.errors and not c.stack, (c.errors, c.stack)
    assert "script" not in c.tags and "link" not in c.tags and "iframe" not in c.tags
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", text, re.I)  # nothing from the network
    assert not re.search(r"url\(|@import", text, re.I)
    for src in c.images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    return c


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    """Three six-minute nights, the diary of the last one (with a hostile note) and a profile."""
    folder = tmp_path_factory.mktemp("rep")
    db = folder / "h.db"
    for i in range(3):
        night = simulate_night(hours=0.1, n_channels=2, seed=300 + i)
        path = write_simulated(night, folder / f"n{i}.kemg")["recording"]
        assert main(["import", str(path), "--db", str(db), "--date", f"2026-11-{18 + i}"]) == 0
    assert main(["diary", "--db", str(db), "--date", "2026-11-19", "--water-glasses", "9", "--symptom", "tingling"]) == 0
    assert main(["diary", "--db", str(db), "--date", "2026-11-20", "--caffeine-drinks", "5", "--notes", HOSTILE,
                 "--symptom", "tingling", "--exercise", "light"]) == 0
    assert main(["diary", "--db", str(db), "--profile", "--age", "47", "--medications", "diuretic",
                 "--twitching-since", "2026-10-01"]) == 0
    out = folder / "report.html"
    assert main(["report", "--db", str(db), "--out", str(out)]) == 0
    return folder, db, out.read_text(encoding="utf-8")


def test_report_is_self_contained_valid_html(history):
    _, _, text = history
    page = check_page(text)
    assert len(page.images) == 6  # per hour, timeline, traces, intervals, quality, trend
    assert "<meta name=\"viewport\"" in text and "max-width" in text  # phone layout


def test_report_holds_the_nights_numbers(history):
    _, db, text = history
    with Store(db) as s:
        n = s.night()
        events = s.events(n.id)
    m = n.metrics
    words = " ".join(check_page(text).text)
    assert "Your night of 2026-11-20" in words
    # six minutes: too short to give a rate, as in the nights list and the trend
    assert f"Your knee twitched {m['counts']['twitch']} times; with less than 1 usable hour, the night is too short" in words
    assert m["counts"]["twitch"] == sum(e.kind == "twitch" for e in events) > 0
    assert f"{m['counts']['spasm']} spasm" in words and f"the longest {m['longest_spasm_s']:.1f} s" in words
    for side, c in m["sides"].items():
        assert f"{side}: {c['twitch']} twitches" in words
    lm = m["leg_movements"]
    assert f"{lm['count']} leg movement" in words and "computed from the thigh" in words
    for ref in m["references"]:
        assert ref["name"] in words
    assert "The nights of the 14 days up to this one" in words


def test_report_escapes_user_text(history):
    _, _, text = history
    assert "<script>" not in text
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; long day &amp; &quot;quotes&quot;" in text
    assert HOSTILE in " ".join(check_page(text).text)  # shown as typed


def test_report_shows_guidance_with_sources(history):
    _, _, text = history
    assert "Make an appointment with a doctor" in text  # a diuretic is a reason to see a doctor
    assert "Source:" in text and "not a diagnosis" in text


def test_traces_are_the_detector_filtered_signal_around_the_events(history):
    _, db, _ = history
    from kneeemg.report.model import report_input

    with Store(db) as s:
        inp = report_input(s)
        events = s.events(s.night().id)
    assert inp.snippets and not inp.snippets_note
    cramps = [e for e in events if e.kind == "cramp"]
    assert [sn.title.split(":")[0] for sn in inp.snippets if not sn.title.startswith("Typical")] == \
        (["Longest cramp"] if cramps else []) + ["Largest spasm"]  # a night's cramp is always shown
    assert sum(sn.title.startswith("Typical twitch") for sn in inp.snippets) == 3
    biggest = max((e for e in events if e.kind == "spasm"), key=lambda e: e.peak_uv)
    sn = next(sn for sn in inp.snippets if sn.title.startswith("Largest spasm"))
    inside = sn.signal_uv[int(sn.event_start_s * sn.fs_hz) : int(sn.event_stop_s * sn.fs_hz) + 1]
    # the detector's peak |filtered| of the event, found again in the trace (same filters, settled)
    assert np.max(np.abs(inside)) == pytest.approx(biggest.peak_uv, rel=0.1)
    assert f"peak {biggest.peak_uv:.0f} µV" in sn.title


def test_missing_recording_is_said_instead_of_traces(history, tmp_path):
    folder, db, _ = history
    src = folder / "n2.kemg"
    moved = tmp_path / "away.kemg"
    src.rename(moved)
    try:
        out = write_report(tmp_path / "r.html", db=db)
    finally:
        moved.rename(src)
    text = out.read_text(encoding="utf-8")
    check_page(text)
    assert "is no longer there, so the traces cannot be shown" in text
    assert text.count("data:image/png;base64,") == 5


def test_traces_are_not_taken_from_another_recording_under_the_same_name(tmp_path):
    db = tmp_path / "h.db"
    path = write_simulated(simulate_night(hours=0.1, n_channels=2, seed=310), tmp_path / "n.kemg")["recording"]
    assert main(["import", str(path), "--db", str(db), "--date", "2026-11-20"]) == 0
    other = write_simulated(simulate_night(hours=0.1, n_channels=2, seed=311), tmp_path / "other.kemg")["recording"]
    other.replace(path)  # the same length, rate and channels: only the content tells
    from kneeemg.report.model import report_input

    with Store(db) as s:
        inp = report_input(s)
    assert not inp.snippets and "is no longer the one that was imported (its content changed)" in inp.snippets_note


@pytest.mark.parametrize("ratio, shown", [(1.00005, True), (1.01, False)])
def test_traces_allow_a_rate_read_a_little_differently(tmp_path, ratio, shown):
    # a CSV's rate was rounded to 1000 Hz when imported; read again it is 1000.05 Hz: the same samples
    import sqlite3

    db = tmp_path / "h.db"
    path = write_simulated(simulate_night(hours=0.1, n_channels=1, seed=312), tmp_path / "n.kemg")["recording"]
    assert main(["import", str(path), "--db", str(db), "--date", "2026-11-20"]) == 0
    with sqlite3.connect(db) as con:
        con.execute("UPDATE nights SET fs_hz = fs_hz * ?", (ratio,))
    from kneeemg.report.model import report_input

    with Store(db) as s:
        inp = report_input(s)
    assert bool(inp.snippets) == shown and (shown or "no longer matches" in inp.snippets_note)


def test_report_of_an_earlier_night_by_date(history, tmp_path):
    _, db, _ = history
    out = write_report(tmp_path / "r.html", db=db, night="2026-11-19")
    text = out.read_text(encoding="utf-8")
    assert "Your night of 2026-11-19" in text and "tingling" in text and "glasses of water" in text


def test_doctor_version(history):
    folder, db, _ = history
    out = folder / "doctor.html"
    assert main(["report", "--doctor", "--db", str(db), "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    words = " ".join(check_page(text).text)
    for needle in ("since 2026-10-01", "diuretic", "tingling (2 days, first on 2026-11-19, last on 2026-11-20)", "2026-11-18", "2026-11-19", "47",
                   "3 nights recorded from 2026-11-18 to 2026-11-20", "Habits in the diary (as logged)",
                   "Water: 1 logged day, 1 of them with 8 or more glasses (median 9)", "Exercise: light on 1 day",
                   "Make an appointment with a doctor", "hours recorded were usable", HOSTILE):
        assert needle in words, needle
    assert "<script>" not in text


def test_doctor_how_long_and_empty_diary():
    rows = [{"date": "2026-11-20", "usable_hours": 7.5, "twitches": 150, "twitch_per_hour": 20.0, "spasms": 1, "cramps": 0,
             "rolling7_twitch_per_hour": 20.0}]
    inp = DoctorInput(profile={"twitching_since": "2026-10-01", "sex": "female"}, days=[], trend=rows,
                      trend_words="Too few nights.", guidance=None, today=date(2026, 11, 20))
    words = " ".join(check_page(render_doctor(inp)).text)
    assert "since 2026-10-01 (50 days)" in words and "female" in words
    assert "Nothing recorded in the diary of these days" in words and "None reported in the diary" in words
    assert "median 20 (from 20 to 20)" in words
    # a diary of symptoms alone: the habits were not recorded, but the diary was kept
    noted = DoctorInput(profile={}, days=[{"date": "2026-11-20", "symptoms": ["swelling"]}], trend=rows, today=date(2026, 11, 20))
    noted_words = " ".join(check_page(render_doctor(noted)).text)
    assert "swelling (on 2026-11-20)" in noted_words and "Nothing recorded in the diary" not in noted_words
    assert "Nothing about water, caffeine, alcohol, exercise, sleep or stress in the diary of these days" in noted_words
    assert "Twitching since 2026-10-01 (50 days)" in words and "Age not given" in words
    bare = " ".join(check_page(render_doctor(DoctorInput(profile={}, days=[], trend=rows, today=date(2026, 11, 20)))).text)
    assert "Twitching since not given in the profile" in bare and "-, -" not in bare


def test_doctor_summary_leaves_nights_too_short_to_give_a_rate_out_of_the_rates(tmp_path):
    # one-hour nights of 2 twitches, and 3-minute nights of 7 to 15 twitches (140 to 300 an hour),
    # which had made the median and the range
    from kneeemg.guidance import TriageConfig
    from kneeemg.report.model import doctor_input
    from signals import add

    with Store(tmp_path / "h.db") as s:
        for i in range(10):
            add(s, 2, f"2026-11-{i + 1:02d}", seed=i) if i % 2 else add(s, 7 + i, f"2026-11-{i + 1:02d}", seed=i, minutes=3)
        page = render_doctor(doctor_input(s, today=date(2026, 11, 20)))
    words = _shown_text(page)
    assert "median 2.0 (from 2.0 to 2.0)" in words
    assert "5 nights with less than 1 usable hour each are too short to give a rate and are left out of these rates" in words
    assert "2026-11-01 too short for a rate, 2026-11-02 2" in page  # the trend chart's words
    # with the guidance's min_usable_hours changed (report --set), the trend counts nights the same way
    with Store(tmp_path / "h.db") as s:
        page = render_doctor(doctor_input(s, today=date(2026, 11, 20), config=TriageConfig(min_usable_hours=0.05)))
        assert all(r["twitch_per_hour"] is not None for r in s.trend(28, config=TriageConfig(min_usable_hours=0.05)))
        half = " ".join(check_page(render_doctor(doctor_input(s, today=date(2026, 11, 20),
                                                              config=TriageConfig(min_usable_hours=2.0)))).text)
    words = _shown_text(page)
    assert "too short" not in words and "from 2.0 to" in words and "2026-11-01 too short" not in page
    assert "10 nights with less than 2 usable hours each are too short to give a rate" in " ".join(half.split())


def test_a_nights_report_shows_its_own_numbers_when_another_import_of_its_recording_counts(tmp_path):
    # the whole recording (20 twitches), then its left channel (8): the left import counts in
    # trends, but the whole night's report shows the whole night's numbers on its own date
    from kneeemg.metrics import night_metrics
    from kneeemg.report.model import report_input
    from signals import add, hand_made

    with Store(tmp_path / "h.db") as s:
        add(s, 5, "2026-11-19")
        whole, _ = add(s, 20, "2026-11-20", key="the-recording")
        res = hand_made(8, seed=1)
        left, _ = s.add_night(res, night_metrics(res, date="2026-11-20"), "hand-made", "the-recording",
                              settings=dict(res.config.as_dict(), import_channels=["left"]))
        assert [r["twitches"] for r in s.trend()] == [5, 8]
        for night, twitches in ((whole, 20), (left, 8)):
            inp = report_input(s, night)
            assert [r["twitches"] for r in inp.trend] == [5, twitches] and inp.trend[-1]["night_id"] == night
            assert "2026-11-20 " + str(twitches) in render_report(inp)  # the chart's words


def test_the_report_of_one_recording_of_a_night_in_two_files_says_the_night_counts_them_together(tmp_path):
    # a night in two files (60 and 24 minutes): each report showed its own file's numbers under
    # "Your night of 2026-11-10" (30 an hour; the second "about 30 an hour" in 24 minutes) beside
    # a trend and a guidance that count the date once, with 42 twitches in 1.4 hours, unsaid
    from kneeemg.report.model import report_input
    from signals import add

    with Store(tmp_path / "h.db") as s:
        add(s, 40, "2026-11-09", seed=1)
        first, _ = add(s, 30, "2026-11-10", key="first-file", seed=2)
        second, _ = add(s, 12, "2026-11-10", key="second-file", seed=3, minutes=24)
        pages = {night: _shown_text(render_report(report_input(s, night))) for night in (first, second)}
        alone = _shown_text(render_report(report_input(s, 1)))
    together = ("2026-11-10 is 2 recordings, one night in trends and guidance: 42 twitches in 1.4 usable hours, 30 an "
                "hour. This report's numbers, but for its guidance and trend, are of this recording alone.")
    assert "Your knee twitched 30 times (about 30 an hour)." in pages[first] and together in pages[first]
    assert ("Your knee twitched 12 times; with less than 1 usable hour, this recording is too short to give a rate."
            in pages[second] and together in pages[second])
    assert "is 2 recordings" not in alone and "this recording" not in alone


def test_doctor_summary_gives_left_and_right_and_the_signal_quality():
    rows = [{"date": "2026-11-19", "usable_hours": 6.0, "twitches": 30, "twitch_per_hour": 5.0, "spasms": 2, "cramps": 1,
             "rolling7_twitch_per_hour": 5.0, "recording_hours": 8.0, "lost_hours": 0.25,
             "excluded_s": {"movement": 600.0, "flat": 3600.0},
             "sides": {"left": {"twitch": 20, "spasm": 2, "cramp": 1}, "right": {"twitch": 10, "spasm": 0, "cramp": 0}},
             "longest_spasm_s": 4.25, "longest_cramp_s": 95.0},
            {"date": "2026-11-20", "usable_hours": 7.0, "twitches": 7, "twitch_per_hour": 1.0, "spasms": 1, "cramps": 0,
             "rolling7_twitch_per_hour": 3.0, "recording_hours": 8.0, "lost_hours": 0.0,
             "excluded_s": {"movement": 1200.0}, "sides": {}, "longest_spasm_s": 6.5, "longest_cramp_s": 0.0}]
    words = " ".join(check_page(render_doctor(DoctorInput(profile={}, days=[], trend=rows, today=date(2026, 11, 20)))).text)
    assert ("Left and right thigh, over the 1 night recorded on both: left: 20 twitches, 2 spasms, 1 cramp; "
            "right: 10 twitches, 0 spasms, 0 cramps.") in words
    assert "Signal: 13.0 of the 16.0 hours recorded were usable (81 %)" in words
    assert "The longest spasm lasted 6.5 s (2026-11-20); the longest cramp lasted 1 min 35 s (2026-11-19)." in words
    assert "Set aside: flat 1 h 00 min, movement 30 min 00 s (each" in words and "Lost on the way from the sensor: 15 min 00 s." in words
    one_leg = [dict(r, sides={}, excluded_s={}, lost_hours=0.0) for r in rows]
    words = " ".join(check_page(render_doctor(DoctorInput(profile={}, days=[], trend=one_leg, today=date(2026, 11, 20)))).text)
    assert "Left and right" not in words and "Set aside" not in words and "Lost on the way" not in words
    assert "(81 %)" in words


def test_the_busiest_hour_is_the_tallest_bar_of_the_chart():
    # the chart draws twitches per usable hour: 76 in 3392 s is busier than 79 in 3599 s
    hours = [{"hour": 0, "clock": "+0 h", "usable_s": 3599.0, "twitch": 79, "twitch_per_usable_hour": 79.02},
             {"hour": 1, "clock": "+1 h", "usable_s": 3392.0, "twitch": 76, "twitch_per_usable_hour": 80.66},
             {"hour": 2, "clock": "+2 h", "usable_s": 120.0, "twitch": 9, "twitch_per_usable_hour": 270.0}]  # drawn pale
    m = {"counts": {"twitch": 164, "spasm": 0, "cramp": 0}, "per_usable_hour": {"twitch": 82.0}, "per_clock_hour": hours}
    words = _shown_text(render_report(ReportInput(date="2026-11-20", recording_s=7200.0, usable_s=7111.0, lost_s=0.0,
                                                  labels=("quad",), metrics=m)))
    assert "The busiest was the hour from 1 to 2 h into the night, with 76 twitches, 81 per usable hour." in words


@pytest.mark.parametrize("drawn, beyond, said", [
    (3, 19, "3 intervals up to 100 s are drawn; 19 intervals between leg movements were longer (not drawn)."),
    (1, 2, "1 interval up to 100 s is drawn; 2 intervals between leg movements were longer (not drawn)."),
])
def test_the_leg_movement_intervals_beyond_the_histogram_are_counted(drawn, beyond, said):
    lm = {"count": drawn + beyond + 1, "in_series": 0, "periodic_series": 0, "plm_index": 0.0,
          "imi_histogram": {"bin_s": 2.0, "edges_s": [float(x) for x in range(0, 102, 2)],
                            "counts": [0] * 20 + [drawn - 2 if drawn > 2 else 0] + [0] * 28 + [min(drawn, 2)],
                            "beyond_s": beyond}}
    m = {"counts": {"twitch": 0, "spasm": 23, "cramp": 0}, "per_usable_hour": {"spasm": 7.7}, "leg_movements": lm}
    words = _shown_text(render_report(ReportInput(date="2026-11-20", recording_s=10800.0, usable_s=10800.0, lost_s=0.0,
                                                  labels=("quad",), metrics=m)))
    assert said in words


def test_render_report_from_plain_inputs_without_history():
    """The renderer needs no database: a detection result and its metrics are enough."""
    from kneeemg.dsp.detector import detect
    from kneeemg.metrics import night_metrics
    from signals import bursts

    x, _ = bursts(seconds=14.0, n_channels=2, seed=3)
    res = detect(x, 1000.0, labels=["left", "right"])
    m = night_metrics(res, date="2026-11-01").as_dict()
    inp = ReportInput(date="2026-11-01", recording_s=res.recording_s, usable_s=res.usable_s, lost_s=0.0,
                      labels=res.labels, metrics=m, events=res.events, excluded=res.excluded, epoch_s=res.epoch_s,
                      epoch_flags=res.epoch_flags, floor_uv=res.floor_uv, snippets_note="No recording file for this night.")
    page = check_page(render_report(inp))
    words = " ".join(page.text)
    assert f"Your knee twitched {m['counts']['twitch']} times" in words
    assert "No recording file for this night." in words and "No diary entry for this day" in words
    assert "No guidance could be given." in words
    one_leg = render_report(ReportInput(date="2026-11-01", recording_s=res.recording_s, usable_s=res.usable_s, lost_s=0.0,
                                        labels=("VM", "RF"), metrics=dict(m, sides={}), events=res.events))
    per = {c: {k: sum(e.channel == c and e.kind == k for e in res.events) for k in ("twitch", "spasm")} for c in (0, 1)}
    assert (f"By channel: VM: {plural(per[0]['twitch'], 'twitch')}, {plural(per[0]['spasm'], 'spasm')}"
            in " ".join(check_page(one_leg).text))


def test_a_night_from_a_sleep_lab_s_leg_channels_says_its_leg_movements_come_from_the_shin(tmp_path):
    from dataclasses import replace

    import pyedflib

    from kneeemg.report.model import night_site
    from signals import bursts

    x, _ = bursts(seconds=14.0, n_channels=2, seed=3)
    path = tmp_path / "lab.edf"
    with pyedflib.EdfWriter(str(path), 3, file_type=pyedflib.FILETYPE_EDFPLUS) as w:
        w.setSignalHeaders([{"label": label, "dimension": "uV", "sample_frequency": 1000, "physical_min": -3000.0,
                             "physical_max": 3000.0, "digital_min": -32768, "digital_max": 32767, "transducer": "",
                             "prefilter": ""} for label in ("ECG", "Leg L", "Leg R")])
        w.writeSamples([np.ascontiguousarray(x[:, c]) for c in (0, 0, 1)])
    db = tmp_path / "h.db"
    assert main(["import", str(path), "--db", str(db), "--date", "2026-11-20"]) == 0
    assert main(["report", "--db", str(db), "--out", str(tmp_path / "r.html")]) == 0
    words = " ".join(check_page((tmp_path / "r.html").read_text()).text)
    assert "Leg movements (computed from the shin)" in words and "computed from the thigh" not in words
    assert "The recording lasted 14 s; 12 s of it was usable." in words and "sensor on" not in words
    assert "computed from the shin as a sleep lab records them, but over all usable time" in words
    # 14 s: too short for a rate, of twitches or of periodic leg movements
    assert ("(no rate of periodic movements: with less than 1 usable hour, the night is too short to give a rate; "
            "periodicity index") in words and "periodic movements per usable hour" not in words
    assert "and a number over all usable time, awake time included, cannot tell whether you reach them" in words
    assert "Made by kneeemg from a recording of the shin's EMG. Guidance, not a diagnosis" in words
    # the doctor's summary says what its nights were recorded with: here the shin alone, then also the thigh
    assert main(["report", "--doctor", "--db", str(db), "--out", str(tmp_path / "d.html")]) == 0
    words = " ".join(check_page((tmp_path / "d.html").read_text()).text)
    assert "by kneeemg from night recordings of the shin's EMG (a sleep lab's leg channels), and the person's" in words
    assert "thigh" not in words
    own = write_simulated(simulate_night(hours=0.05, n_channels=2, seed=4), tmp_path / "n.kemg")["recording"]
    assert main(["import", str(own), "--db", str(db), "--date", "2026-11-21"]) == 0
    assert main(["report", "--doctor", "--db", str(db), "--out", str(tmp_path / "d2.html")]) == 0
    words = " ".join(check_page((tmp_path / "d2.html").read_text()).text)
    assert ("by kneeemg from a surface EMG sensor on the front of the thigh (quadriceps) worn at night and night "
            "recordings of the shin's EMG (a sleep lab's leg channels), and the person's own diary") in words
    assert "Left and right leg, over the 2 nights recorded on both" in words
    with Store(db, create=False) as s:  # the site follows the night: its file's labels, or kneeemg's own sensor
        night = s.night("2026-11-20")
        assert night_site(night) == "shin" and night_site(s.night("2026-11-21")) == "thigh"
        assert night_site(replace(night, labels=["ch0"])) is None
        assert night_site(replace(night, labels=["ch0"], source=str(tmp_path / "n.kemg"))) == "thigh"
        assert night_site(replace(night, labels=["VM", "RF"])) == "thigh"


def test_long_channel_labels_are_shortened_in_the_figures_without_a_warning():
    # such labels had cut the figures' tick labels and legends, and matplotlib warned
    # "constrained_layout not applied" on stderr
    import warnings

    from kneeemg.dsp.detector import detect
    from kneeemg.metrics import night_metrics
    from signals import bursts

    labels = ["Vastus medialis obliquus (left, distal)", "Vastus medialis obliquus (right, distal)",
              "WWWWWWWWWWWWWWWWWWWWWWW", "Rectus femoris (left)"]
    x, _ = bursts(seconds=14.0, n_channels=4, seed=3)
    res = detect(x, 1000.0, labels=labels)
    inp = ReportInput(date="2026-11-01", recording_s=res.recording_s, usable_s=res.usable_s, lost_s=0.0, labels=res.labels,
                      metrics=night_metrics(res, date="2026-11-01").as_dict(), events=res.events, excluded=res.excluded,
                      epoch_s=res.epoch_s, epoch_flags=res.epoch_flags, floor_uv=res.floor_uv)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        render_report(inp)
    from kneeemg.report.plots import LABEL_CHARS, short_labels

    # at most LABEL_CHARS characters, start and end kept, told apart by number when they read alike
    assert short_labels(labels) == ["1 Vast…distal)", "2 Vast…distal)", "WWWWWW…WWWWWWW", "Rectus… (left)"]
    assert all(len(x) <= LABEL_CHARS for x in short_labels(labels)) and short_labels(["left", "right"]) == ["left", "right"]


@settings(max_examples=60, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40))
def test_diary_text_comes_back_exactly_as_typed(note):
    page = _Checker()
    page.feed(diary_html({"notes": note}))
    page.close()
    assert page.tags == {"table", "tr", "td"} and not page.errors
    assert page.text[-1] == note


def test_tried_lines_count_only_what_was_recorded():
    days = [{"date": "2026-11-01", "water_glasses": 10, "caffeine_drinks": 0}, {"date": "2026-11-02", "caffeine_drinks": 3},
            {"date": "2026-11-03", "warmed_up": False, "exercise": "hard"}]
    lines = tried_lines(days)
    assert "Water: 1 logged day, 1 of them with 8 or more glasses (median 10)" in lines
    assert "Caffeine: 2 logged days, 1 of them with at most one drink (most on one day: 3)" in lines
    assert "Warming up before exercise: 1 logged day, warmed up on 0" in lines and "Exercise: hard on 1 day" in lines
    assert not any(line.startswith(("Sleep", "Stress", "Alcohol")) for line in lines)
    assert tried_lines([]) == []
    even = tried_lines([{"date": f"2026-11-0{i}", "water_glasses": w} for i, w in enumerate((4, 9), 1)])
    assert "(median 6.5)" in even[0]  # of an even number of days, between the middle two


def test_doctor_summary_from_a_diary_alone(tmp_path, capsys):
    # a warning sign noted before any night was recorded: the appointment needs the summary
    db = str(tmp_path / "h.db")
    (tmp_path / "h.db").touch()  # an empty history
    assert main(["report", "--doctor", "--db", db, "--out", str(tmp_path / "none.html")]) == 2  # nothing recorded yet
    assert "no nights" in capsys.readouterr().err and not (tmp_path / "none.html").exists()
    noted = (date.today() - timedelta(days=2)).isoformat()
    assert main(["diary", "--db", db, "--date", noted, "--symptoms", "fever"]) == 0
    assert main(["report", "--doctor", "--db", db, "--out", str(tmp_path / "d.html")]) == 0
    words = " ".join(check_page((tmp_path / "d.html").read_text(encoding="utf-8")).text)
    for needle in ("No nights recorded.", f"fever (on {noted})", "See a doctor soon"):
        assert needle in words, needle
    assert "night hours twitches" not in words  # no empty table of nights


def test_the_doctors_summary_does_not_replace_the_night_report(history, tmp_path, monkeypatch):
    _, db, _ = history
    monkeypatch.chdir(tmp_path)
    assert main(["report", "--db", str(db)]) == 0 and main(["report", "--doctor", "--db", str(db)]) == 0
    assert "summary for the doctor" not in (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "summary for the doctor" in (tmp_path / "doctor.html").read_text(encoding="utf-8")


def test_report_errors_are_clear_and_keep_the_old_file(history, tmp_path, capsys):
    _, db, _ = history
    assert main(["report", "--db", str(tmp_path / "missing.db"), "--out", str(tmp_path / "r.html")]) == 4
    assert "does not exist" in capsys.readouterr().err and not (tmp_path / "missing.db").exists()
    (tmp_path / "empty.db").touch()  # an empty file reads as an empty history
    assert main(["report", "--db", str(tmp_path / "empty.db"), "--out", str(tmp_path / "r.html")]) == 2
    assert "no nights" in capsys.readouterr().err
    old = tmp_path / "old.html"
    old.write_text(PAGE_START + "previous report")
    with pytest.raises(InputError, match="no night"):
        write_report(old, db=db, night="2020-01-01")
    assert old.read_text() == PAGE_START + "previous report"
    with pytest.raises(InputError, match="does not exist"):
        write_report(tmp_path / "missing" / "r.html", db=db)


def test_report_never_replaces_the_database_or_a_recording(history, capsys):
    folder, db, _ = history
    before_db, before_rec = db.read_bytes(), (folder / "n0.kemg").read_bytes()
    assert main(["report", "--db", str(db), "--out", str(db)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is the file being read" in err
    assert main(["report", "--db", str(db), "--out", str(folder / "n0.kemg")]) == 2
    assert "is not a kneeemg report" in capsys.readouterr().err
    assert db.read_bytes() == before_db and (folder / "n0.kemg").read_bytes() == before_rec
    assert main(["report", "--db", str(db), "--out", str(folder / "report.html")]) == 0  # an earlier report is replaced
    page = folder / "mine.html"
    page.write_text("<!DOCTYPE html>\n<html><body>My own page</body></html>\n")
    assert main(["report", "--db", str(db), "--out", str(page)]) == 2  # someone's own page is not
    assert "is not a kneeemg report" in capsys.readouterr().err and "My own page" in page.read_text()
    link = folder / "link.html"
    link.symlink_to(folder / "report.html")
    assert main(["report", "--db", str(db), "--out", str(link)]) == 0  # through a link, the report it points to
    assert link.is_symlink() and (folder / "report.html").read_text().startswith(PAGE_START)


def _shown_text(html_text: str) -> str:
    """The words of a page as people see them (the stylesheet left out)."""
    return " ".join(check_page(re.sub(r"<style>.*?</style>", "", html_text, flags=re.S)).text)


def test_an_earlier_nights_report_ignores_later_nights(history, tmp_path):
    """Everything in the report of 2026-11-19 (guidance, trend, its direction) is as of that night:
    it is the same whether or not the night of 2026-11-20 and its diary were stored after it.
    (Without them 2026-11-19 is the latest night, whose report triages as of today; its
    guidance as of that night is what ``guidance_dict(until=)`` gives.)"""
    import shutil

    from kneeemg.report.model import guidance_dict, report_input

    _, db, _ = history
    cut = tmp_path / "until-19.db"
    with Store(db) as s:  # a consistent copy of the history (WAL checkpointed into the file)
        s._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        shutil.copy(db, cut)
    with Store(cut) as s:
        s._db.execute("DELETE FROM nights WHERE date > '2026-11-19'")
        s._db.execute("DELETE FROM diary WHERE date > '2026-11-19'")
        s._db.commit()
        alone = report_input(s, "2026-11-19")
        alone_then = guidance_dict(s, until="2026-11-19")
    with Store(db) as s:
        full = report_input(s, "2026-11-19")
        latest = report_input(s)
    assert [r["date"] for r in full.trend] == ["2026-11-18", "2026-11-19"]
    strip = [{k: v for k, v in r.items() if k != "night_id"} for r in full.trend]
    assert strip == [{k: v for k, v in r.items() if k != "night_id"} for r in alone.trend]
    assert full.trend_words == alone.trend_words
    assert full.guidance == alone_then
    assert latest.guidance != full.guidance  # the 2026-11-20 diary (5 caffeine drinks) counts for that night only
    assert latest.trend[-1]["date"] == "2026-11-20"


def test_the_latest_nights_report_counts_a_warning_sign_noted_after_it(history, tmp_path):
    import shutil
    from datetime import date

    from kneeemg.report.model import doctor_input, guidance_dict, report_input

    _, db, _ = history
    copy = tmp_path / "later.db"
    with Store(db) as s:
        s._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        shutil.copy(db, copy)
    assert main(["diary", "--db", str(copy), "--date", date.today().isoformat(), "--symptoms", "swelling"]) == 0
    with Store(copy) as s:
        latest, earlier = report_input(s), report_input(s, "2026-11-19")
        assert latest.guidance["level"] == "see_doctor_asap"  # as `kneeemg triage` says
        assert earlier.guidance["level"] != "see_doctor_asap"  # an older night's report is as of then
        # a warning sign noted before the first of the nights still counts once more nights are stored
        s.save_day(validate_day({"date": "2026-11-15", "symptoms": ["fever"]}))
        s._db.execute("DELETE FROM diary WHERE date > '2026-11-15'")
        s._db.commit()
        assert guidance_dict(s, until="2026-11-20")["level"] == "see_doctor_asap"
        assert "fever" in " ".join(str(d.get("symptoms")) for d in doctor_input(s, today=date(2026, 12, 1)).days)


def test_traces_use_the_nights_detector_settings_whatever_it_was_imported_with(tmp_path, monkeypatch):
    import kneeemg.report.traces as traces

    path = write_simulated(simulate_night(hours=0.05, n_channels=2, seed=311), tmp_path / "n.kemg")["recording"]
    db = str(tmp_path / "h.db")
    assert main(["import", str(path), "--db", db, "--channels", "left", "right", "--mains", "60"]) == 0
    seen = []
    real = traces.event_snippet
    monkeypatch.setattr(traces, "event_snippet", lambda rec, e, title, cfg: seen.append(cfg) or real(rec, e, title, cfg))
    with Store(db) as s:
        traces.night_snippets(s.night(), s.events(s.night().id))
    assert seen and all(cfg.mains_hz == 60 for cfg in seen)  # not the defaults


def test_traces_of_a_night_imported_with_resample_or_fs(tmp_path):
    # the file was opened again without them: "sampled at 250 Hz" or "no longer matches the night"
    from kneeemg.io import export_edf, open_recording
    from kneeemg.io.array import ArrayRecording
    from kneeemg.io.base import RecordingInfo
    from kneeemg.report.model import report_input

    sim = write_simulated(simulate_night(hours=0.05, n_channels=1, seed=313), tmp_path / "n.kemg")["recording"]
    with open_recording(sim, resample_hz=500) as rec:
        x = rec.read()[:, 0]
    np.savetxt(tmp_path / "n.csv", x, fmt="%.3f", header="EMG", comments="")
    slow = x[::2]  # 250 Hz, which only --resample makes readable
    export_edf(ArrayRecording(slow[:, None], RecordingInfo(250.0, ("left",), len(slow))), tmp_path / "slow.edf")
    for i, argv in enumerate((["n.kemg", "--resample", "2000"], ["slow.edf", "--resample", "1000"],
                              ["n.csv", "--fs", "500"])):
        db = tmp_path / f"h{i}.db"
        assert main(["import", str(tmp_path / argv[0]), *argv[1:], "--db", str(db), "--date", "2026-11-20"]) == 0
        with Store(db) as s:
            inp = report_input(s)
        assert inp.snippets and not inp.snippets_note, (argv, inp.snippets_note)


def test_doctor_summary_names_conditions_symptoms_and_deficiencies_in_words():
    rows = [{"date": "2026-11-20", "usable_hours": 7.5, "twitches": 150, "twitch_per_hour": 20.0, "spasms": 1, "cramps": 0,
             "rolling7_twitch_per_hour": 20.0}]
    profile = {"conditions": ["als", "peroneal_nerve_injury"], "known_deficiencies": ["vitamin_b12", "vitamin_d"],
               "medications": ["diuretic", "magnesium_citrate"]}  # as the diary keeps a typed "Magnesium citrate"
    days = [{"date": "2026-11-20", "symptoms": ["skin_color_change", "back_pain"], "sleep_hours": 6.5, "stress": 2}]
    inp = DoctorInput(profile=profile, days=days, trend=rows, trend_words="Too few nights.", guidance=None,
                      today=date(2026, 11, 21))
    words = _shown_text(render_doctor(inp))
    assert "Known conditions ALS (amyotrophic lateral sclerosis), a peroneal nerve injury" in " ".join(words.split())
    assert "vitamin B12, vitamin D" in words and "diuretic, magnesium citrate" in words
    assert "change of skin colour (on 2026-11-20)" in words and "back pain (on 2026-11-20)" in words
    assert not re.findall(r"\b[a-z0-9]+_[a-z0-9_]+\b", words)  # no ids or field names shown


def test_no_ids_or_field_names_are_shown_in_the_report():
    from kneeemg.diary import DAY_FIELDS
    from kneeemg.dsp.detector import detect
    from kneeemg.metrics import night_metrics
    from signals import bursts

    x, _ = bursts(seconds=14.0, n_channels=2, seed=3)
    res = detect(x, 1000.0, labels=["left", "right"])
    m = night_metrics(res, date="2026-11-01").as_dict()
    m["excluded_s"] = {"dc_jump": 12.0, "noise_rise": 3.0, "flat": 80.0}
    diary = {"date": "2026-11-01", "symptoms": ["skin_color_change", "twitching_elsewhere", "severe_pain"],
             "exercise": "light", "stimulants": ["amphetamine", "pre_workout_powder"], "notes": "long day"}
    for f in DAY_FIELDS:  # every other field of the diary, with a value
        if f.kind in ("int", "float"):
            diary.setdefault(f.name, f.lo + 1)
        elif f.kind == "bool":
            diary.setdefault(f.name, True)
    inp = ReportInput(date="2026-11-01", recording_s=res.recording_s, usable_s=res.usable_s, lost_s=0.0,
                      labels=res.labels, metrics=m, events=res.events, excluded=res.excluded, diary=diary,
                      snippets_note="No recording file for this night.")
    words = _shown_text(render_report(inp))
    assert "DC jump 12 s" in words and "noise rise 3.0 s" in words and "last caffeine, hours before bed" in words
    assert "come from the electrodes" not in words  # said only of spikes and steps
    m["excluded_s"] = {"spike": 2.0, "step": 1.0}
    words = _shown_text(render_report(inp))
    assert "electrical spike 2.0 s, offset step 1.0 s" in words and "come from the electrodes, not the muscle" in words
    assert "change of skin colour" in words and "glasses of water" in words
    assert "amphetamine, pre workout powder" in words  # a free list's words as typed, in lower case
    assert not re.findall(r"\b[a-z0-9]+_[a-z0-9_]+\b", words)
    assert "each channel's time added up" in words  # two channels' excluded time is said to be added up


def test_plurals_in_the_report():
    rows = [{"date": "2026-11-20", "usable_hours": 1.0, "twitches": 1, "twitch_per_hour": 1.0, "spasms": 1, "cramps": 0,
             "rolling7_twitch_per_hour": 1.0}]
    days = [{"date": "2026-11-20", "sleep_hours": 7.0, "stress": 2, "symptoms": ["tingling"]}]
    doctor = _shown_text(render_doctor(DoctorInput(profile={"twitching_since": "2026-11-19"}, days=days, trend=rows,
                                                   today=date(2026, 11, 20))))
    assert "over 1 logged night" in doctor and "over 1 logged day" in doctor and "(on 2026-11-20)" in doctor
    assert not re.search(r"\b1 (logged )?(days|nights)\b", doctor)
    m = {"counts": {"twitch": 1, "spasm": 1, "cramp": 0}, "per_usable_hour": {"twitch": 1.0, "spasm": 1.0, "cramp": 0.0},
         "sides": {"left": {"twitch": 0, "spasm": 0, "cramp": 0}, "right": {"twitch": 1, "spasm": 1, "cramp": 0}},
         "clusters": {"count": 0, "twitches_in_clusters": 1, "definition": "3 or more"},
         "per_clock_hour": [{"hour": 0, "clock": "+0 h", "twitch": 1}, {"hour": 1, "clock": "+1 h", "twitch": 0}],
         "leg_movements": {"count": 1, "in_series": 0, "periodic_series": 0, "plm_index": 0.0}}
    night = _shown_text(render_report(ReportInput(date="2026-11-20", recording_s=7200.0, usable_s=3600.0, lost_s=0.0,
                                                  labels=("left", "right"), metrics=m)))
    assert "right: 1 twitch, 1 spasm, 0 cramps" in night and "left: 0 twitches, 0 spasms, 0 cramps" in night
    assert "in 0 periodic series " in night and "1 leg movement," in night
    assert "The twitch was on the right channel." in night and "with 1 twitch." in night
    assert "The busiest was the hour from 0 to 1 h into the night" in night  # the chart's "+0 h" bar
    assert "holding 1 twitch." in night
    assert not re.search(r"seriess|\b1 (twitches|spasms|cramps|days|nights)\b", night)


def test_doctor_takes_no_night_and_report_has_a_description(history, tmp_path, capsys):
    _, db, _ = history
    out = tmp_path / "d.html"
    assert main(["report", "--doctor", "2026-11-19", "--db", str(db), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--doctor" in err and "NIGHT" in err and not out.exists()
    with pytest.raises(InputError, match="takes no NIGHT"):
        write_report(out, db=db, night=3, doctor=True)
    with pytest.raises(SystemExit):
        main(["report", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "Writes one night's report" in help_text and "--doctor takes no NIGHT" in help_text


def test_a_night_too_short_to_give_a_rate_shows_none_in_its_report_as_in_the_nights_list():
    # 21 twitches in 30 usable minutes: `kneeemg nights`, trends and the doctor's summary show -
    # for the rate; the night's report had "about 42 an hour" and 42, 12 in its table
    m = {"counts": {"twitch": 21, "spasm": 6, "cramp": 0}, "per_usable_hour": {"twitch": 42.023, "spasm": 12.0, "cramp": 0.0}}

    def page(**kw):
        return render_report(ReportInput(date="2026-11-03", recording_s=1800.0, usable_s=1799.0, lost_s=0.0,
                                         labels=("left", "right"), metrics=m, **kw))

    short = page()
    words = _shown_text(short)
    assert "Your knee twitched 21 times; with less than 1 usable hour, the night is too short to give a rate." in words
    assert "42" not in words and "<td class='num'>12</td>" not in short
    assert "<td class='num'>21</td><td class='num'>-</td>" in short
    assert ("in µV. With less than 1 usable hour, the night is too short to give a rate, as in the trend and the "
            "guidance.") in words
    half = _shown_text(page(min_usable_hours=0.5))  # report --set min_usable_hours=0.5, as for nights and trends
    assert "Your knee twitched 21 times (about 42 an hour)." in half and "too short" not in half


def test_a_short_night_is_timed_in_the_report_as_in_the_terminal():
    from kneeemg.words import duration_text

    inp = ReportInput(date="2026-11-01", recording_s=90.0, usable_s=89.0, lost_s=0.0, labels=("left",),
                      metrics={}, events=[], excluded=[], diary=None, snippets_note="")
    words = _shown_text(render_report(inp))
    assert "sensor on for 1 min 30 s; 1 min 29 s of it was usable" in words
    assert duration_text(90.0) == "1 min 30 s" and duration_text(8 * 3600 + 299) == "8 h 05 min"


def test_charts_show_hours_without_signal_and_nights_on_a_calendar():
    import base64

    from kneeemg.report import plots

    hours = [{"hour": 0, "clock": "+0 h", "usable_s": 3600.0, "twitch_per_usable_hour": 20.0},
             {"hour": 1, "clock": "+1 h", "usable_s": 0.0, "twitch_per_usable_hour": None},
             {"hour": 2, "clock": "+2 h", "usable_s": 36.0, "twitch_per_usable_hour": 100.0}]
    rows = [{"date": d, "twitch_per_hour": r, "rolling7_twitch_per_hour": r} for d, r in
            (("2025-12-30", 10.0), ("2026-01-02", None), ("2026-01-02", 12.0), ("2026-01-09", 30.0))]
    for png in (plots.per_hour(hours), plots.trend(rows)):
        assert base64.b64decode(png.split(",", 1)[-1])[:8] == b"\x89PNG\r\n\x1a\n"


def test_charts_say_their_numbers_to_a_screen_reader(history):
    _, db, text = history
    alts = re.findall(r'<img alt="([^"]*)"', text)
    with Store(db) as s:
        n = s.night()
    hour0 = n.metrics["per_clock_hour"][0]
    assert any(f"hour by hour: {hour0['clock']} {hour0['twitch_per_usable_hour']:.0f}" in a for a in alts)
    assert any("night by night: 2026-11-18 " in a and "2026-11-20 " in a for a in alts)


def test_already_tried_includes_the_logged_anxiety():
    from kneeemg.report.render import tried_lines

    lines = tried_lines([{"date": "2026-11-19", "stress": 2, "anxiety": 4}, {"date": "2026-11-20", "anxiety": 3}])
    assert "Stress: 2.0 of 5 on average over 1 logged day" in lines
    assert "Anxiety: 3.5 of 5 on average over 2 logged days" in lines


def test_a_share_is_never_rounded_to_all_or_nothing():
    from kneeemg.report.render import _percent

    assert _percent(25.9 / 26.0) == "99.6 %" and _percent(1.0) == "100 %" and _percent(0.81) == "81 %"
    assert _percent(0.001) == "0.1 %" and _percent(0.0) == "0 %"


def test_traces_of_a_night_whose_file_name_is_not_utf8(tmp_path):
    night = simulate_night(hours=0.1, n_channels=1, seed=301)
    written = write_simulated(night, tmp_path / "n.kemg")["recording"]
    odd = Path(os.fsdecode(os.fsencode(tmp_path) + b"/n\xe4cht.kemg"))
    written.rename(odd)
    db = tmp_path / "h.db"
    assert main(["import", str(odd), "--db", str(db), "--date", "2026-11-20"]) == 0
    from kneeemg.report.model import report_input

    with Store(db) as s:
        assert "\\xe4" in s.night().source  # stored as UTF-8 text
        inp = report_input(s)
    assert inp.snippets and not inp.snippets_note


def test_thresholds_set_on_the_command_line_change_the_level_in_the_report_and_the_doctors_summary(tmp_path, capsys):
    """Three one-hour nights at 9 events an hour: below the default frequent rate (10), at or
    above a rate of 8 set with --set."""
    from test_store import add  # a hand-made night of known counts

    from kneeemg.guidance import TriageConfig

    db = tmp_path / "h.db"
    with Store(db) as s:
        for day in (18, 19, 20):
            add(s, 9, f"2026-11-{day}", seed=day)
    out = tmp_path / "r.html"
    for doctor in ([], ["--doctor"]):
        assert main(["report", *doctor, "--db", str(db), "--out", str(out)]) == 0
        default = _shown_text(out.read_text(encoding="utf-8"))
        assert "Keep an eye on it" in default and "Make an appointment with a doctor" not in default
        assert main(["report", *doctor, "--db", str(db), "--out", str(out), "--set", "frequent_rate_per_h=8"]) == 0
        changed = _shown_text(out.read_text(encoding="utf-8"))
        assert "Make an appointment with a doctor" in changed and "Keep an eye on it" not in changed
        assert "3 nights between 2026-11-07 and 2026-11-20 had 8 or more twitches" in changed
        assert main(["report", *doctor, "--db", str(db), "--out", str(out), "--set", "frequent_rate=8"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "'frequent_rate'" in err and "did you mean frequent_rate_per_h?" in err
        assert _shown_text(out.read_text(encoding="utf-8")) == changed  # the report written before is kept
    write_report(out, db=db, night="2026-11-19", config=TriageConfig(frequent_rate_per_h=8.0, frequent_min_nights=2))
    assert "2 nights between 2026-11-06 and 2026-11-19 had 8 or more" in _shown_text(out.read_text(encoding="utf-8"))



@pytest.fixture
def drawn(monkeypatch):
    """The matplotlib figures the report's plot functions draw, in order, each drawn again on
    an Agg canvas of its own (``fig.canvas.get_renderer()`` measures them)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from kneeemg.report import plots

    figures = []
    png = plots._png

    def keep(fig):
        text = png(fig)
        FigureCanvasAgg(fig).draw()
        figures.append(fig)
        return text

    monkeypatch.setattr(plots, "_png", keep)
    return figures


def _event(kind: str, channel: int, onset_s: float):
    from kneeemg.events import Event

    return Event(onset_sample=int(onset_s * 1000), offset_sample=int(onset_s * 1000) + 80, fs_hz=1000.0, channel=channel,
                 kind=kind, peak_uv=80.0, rms_uv=20.0, snr_db=12.0)


@pytest.mark.parametrize("recording_s, unit, ticks", [
    (90.0, "seconds", ["0", "20", "40", "60", "80"]),
    (720.0, "minutes", ["0", "2", "4", "6", "8", "10", "12"]),
    (8 * 3600.0, "hours", ["0", "2", "4", "6", "8"]),
])
def test_time_axes_are_in_minutes_for_a_short_night_and_in_hours_for_a_long_one(drawn, recording_s, unit, ticks):
    # a 12-minute night's axes read "0.000 0.025 ... 0.200" hours from the start
    from kneeemg.report import plots

    plots.timeline([_event("twitch", 0, recording_s / 2)], [], ["left"], recording_s)
    flags = np.zeros((int(recording_s // 30), 1), np.uint8)
    plots.quality(30.0, flags, np.full(flags.shape, 3.0), ["left"])
    for ax in (drawn[0].axes[0], drawn[1].axes[1]):  # the timeline, the excluded epochs under the noise floor
        lo, hi = ax.get_xlim()
        assert ax.get_xlabel().startswith(f"{unit} from the start")
        assert hi == pytest.approx(recording_s / {"seconds": 1, "minutes": 60, "hours": 3600}[unit])
        assert [t.get_text() for t in ax.get_xticklabels() if lo <= t.get_position()[0] <= hi] == ticks
    # drawn in the axis' unit: an event half-way through the night half-way along the axis
    assert drawn[0].axes[0].collections[0].get_offsets()[0, 0] == pytest.approx(np.mean(drawn[0].axes[0].get_xlim()))
    assert plots.time_unit(119.9) == (1.0, "seconds") and plots.time_unit(7199.0) == (60.0, "minutes")
    assert plots.time_unit(7200.0) == (3600.0, "hours")


@pytest.mark.parametrize("counts, rows", [((3, 2, 1), [["twitch (3)", "spasm (2)", "cramp (1)"]]),
                                          ((12345, 1234, 123), [["twitch (12345)", "spasm (1234)"], ["cramp (123)"]])])
def test_the_timeline_legend_reads_row_by_row(drawn, counts, rows):
    # in two rows, matplotlib's column-by-column filling had put spasm under twitch, cramp on the right
    from kneeemg.report import plots

    events = [_event(kind, 0, 60.0 + i) for kind, n in zip(plots.KIND_COLOURS, counts) for i in range(n)]
    plots.timeline(events, [], ["left"], 8 * 3600.0)
    fig = drawn[0]
    assert _legend_rows(fig, fig.legends[0]) == rows


def _legend_rows(fig, legend):
    """A legend's texts in rows, top first, each left to right (a text half its height below
    the last starts a row); checks that a second row starts under the first."""
    renderer = fig.canvas.get_renderer()
    boxes = {t.get_text(): t.get_window_extent(renderer) for t in legend.get_texts()}
    seen: list[list[str]] = []
    for name, box in sorted(boxes.items(), key=lambda item: -item[1].y1):
        if not seen or boxes[seen[-1][-1]].y1 - box.y1 > box.height / 2:
            seen.append([])
        seen[-1].append(name)
    rows = [sorted(row, key=lambda name: boxes[name].x0) for row in seen]
    assert boxes[rows[-1][0]].x0 == pytest.approx(boxes[rows[0][0]].x0, abs=1)
    return rows


def test_the_signal_quality_legends_read_row_by_row(drawn):
    # in two columns, matplotlib's column-by-column filling had put the second channel under the first
    from kneeemg.dsp import _kernels as K
    from kneeemg.report import plots

    flags = np.repeat(np.array([[K.FLAG_FLAT], [K.FLAG_SATURATION], [K.FLAG_MOVEMENT]], np.uint8), 10, axis=0)
    plots.quality(30.0, np.repeat(flags, 3, axis=1), np.full((30, 3), 3.0), ["left", "right", "middle"])
    fig = drawn[0]
    floors, excluded = fig.legends
    assert _legend_rows(fig, floors) == [["left", "right"], ["middle"]]
    assert _legend_rows(fig, excluded) == [["flat", "movement"], ["saturation"]]  # the reasons in alphabetical order


def test_every_figure_keeps_its_text_legible_and_within_it(drawn):
    """Long channel names, five-digit counts, a 14-hour night and long trace titles: no text
    smaller than plots.SMALL_PT, none beyond the figure's edges, the hours' labels apart."""
    from matplotlib.text import Text

    from kneeemg.dsp.result import REASONS
    from kneeemg.report import plots
    from kneeemg.report.traces import Snippet

    labels = ["Vastus medialis obliquus (left, distal)", "Vastus medialis obliquus (right, distal)", "Rectus femoris (left)"]
    hours = [{"hour": i, "clock": f"{(22 + i) % 24:02d}:00", "usable_s": 300.0 if i == 3 else 3600.0,
              "twitch_per_usable_hour": None if i == 1 else 40.0 + i} for i in range(14)]
    plots.per_hour(hours)
    rng = np.random.default_rng(5)
    events = [_event(kind, i % 3, t) for kind, n in (("twitch", 12345), ("spasm", 1234), ("cramp", 123))
              for i, t in enumerate(rng.uniform(0, 8 * 3600, n))]
    plots.timeline(events, [], labels, 8 * 3600.0)
    title = "Longest cramp: Vastus medialis obliquus (right, distal), 14.2 s, peak 1375 µV, at 7:59:03 into the night"
    plots.traces([Snippet(title, rng.normal(0, 30, 3000).astype(np.float32), 1000.0, 1.0, 2.0)] * 2)
    plots.imi_histogram({"edges_s": list(range(0, 102, 2)), "counts": [0] * 49 + [1], "bin_s": 2.0})
    flags = np.array([[bit] * 3 for bit, _ in REASONS for _ in range(40)], np.uint16)  # every reason
    plots.quality(30.0, flags, rng.uniform(2, 9, flags.shape), labels)
    plots.trend([{"date": f"2026-12-{d:02d}", "twitch_per_hour": 10.0 + d, "rolling7_twitch_per_hour": 12.0}
                 for d in range(1, 29)])
    assert len(drawn) == 6
    for fig in drawn:
        renderer = fig.canvas.get_renderer()
        box = fig.get_tightbbox(renderer)  # everything drawn, inches
        width, height = fig.get_size_inches()
        assert width == plots.WIDTH_IN and box.x0 >= -0.01 and box.y0 >= -0.01, box
        assert box.x1 <= width + 0.01 and box.y1 <= height + 0.01, box
        sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
        assert min(sizes) >= plots.SMALL_PT
    ax = drawn[0].axes[0]  # the hours' labels, turned 45°, at least a line apart across their slant
    ticks = [t for t in ax.get_xticklabels() if t.get_text()]
    x = ax.transData.transform([(t.get_position()[0], 0) for t in ticks])[:, 0]
    assert np.diff(x).min() * np.sin(np.pi / 4) >= plots.TEXT_PT * plots.DPI / 72


def test_a_cramp_s_length_is_written_alike_in_the_words_and_the_table():
    # one cramp read "the longest 31 s" in the words and "median length 30.9 s" in the table
    m = {"counts": {"twitch": 0, "spasm": 1, "cramp": 1}, "per_usable_hour": {"twitch": 0.0, "spasm": 0.5, "cramp": 0.5},
         "longest_spasm_s": 4.25, "longest_cramp_s": 30.94,
         "duration_s": {"spasm": {"median": 4.25}, "cramp": {"median": 30.94}},
         "amplitude_uv": {"spasm": {"median": 80.0}, "cramp": {"median": 120.0}}}
    words = " ".join(_shown_text(render_report(ReportInput(date="2026-11-20", recording_s=7200.0, usable_s=7200.0,
                                                           lost_s=0.0, labels=("left",), metrics=m))).split())
    assert "1 cramp longer than ten seconds (the longest 31 s)" in words
    assert "cramps 1 0.5 120 µV 31 s" in words and "spasms 1 0.5 80 µV 4.2 s" in words


def test_the_noise_floor_plot_leaves_out_excluded_epochs(monkeypatch):
    # an electrode pop's floor (35,000 µV in an excluded epoch) squashed a 4 µV night flat at 0
    import matplotlib.axes

    from kneeemg.report import plots

    drawn = []
    plot = matplotlib.axes.Axes.plot

    def spy(self, *args, **kwargs):
        drawn.append(np.asarray(args[1], dtype=float))
        return plot(self, *args, **kwargs)

    monkeypatch.setattr(matplotlib.axes.Axes, "plot", spy)
    floor = np.full((600, 1), 4.0, np.float32)
    flags = np.zeros((600, 1), np.uint16)
    floor[300:302], flags[290:302] = 35000.0, 4
    plots.quality(1.0, flags, floor, ["ch0"])
    assert np.nanmax(drawn[0]) == 4.0 and np.isnan(drawn[0][290:302]).all()


def test_a_demo_night_says_why_it_has_no_traces():
    # the demo keeps no recording file: "put it back" would send the user looking for one
    from types import SimpleNamespace

    from kneeemg.demo import DEMO_SOURCE
    from kneeemg.report.traces import _open_night_file

    rec, note = _open_night_file(SimpleNamespace(source=f"{DEMO_SOURCE}, seed 0"))
    assert rec is None and note.startswith("This night was simulated by `kneeemg demo`, which keeps no recording file")
    rec, note = _open_night_file(SimpleNamespace(source="/nowhere/night.kemg"))
    assert rec is None and "is no longer there" in note
