"""Recording: ordering, duplicates, gaps, sessions, the clock fit, failures, crash safety,
the C sensor simulator over a real pseudo-terminal, and LSL."""

from __future__ import annotations

import asyncio
import errno
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kneeemg.errors import DeviceError
from kneeemg.protocol import Command, DataFrame, InfoFrame, encode_frame, serial_encode
from kneeemg.playback import replay
from kneeemg.record import ClockFit, Recorder, check_signal, record_link, record_serial
from kneeemg.transport import MemoryLink

FIRMWARE = Path(__file__).resolve().parent.parent / "firmware"
UPC = 0.0715
INFO = InfoFrame(1000.0, UPC, ("left", "right"), 7, (1, 0, 0))
PER = 37  # samples per frame


def counts(n=3700, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(-3000, 3000, (n, 2)).astype(np.int32)


def frames(c, per=PER):
    return [DataFrame(a, a * 1000, c[a : a + per]) for a in range(0, len(c), per)]


def recorded(path):
    from kneeemg.io.native import NativeRecording

    with NativeRecording(path) as rec:  # the file as written, however short (open_recording refuses under 0.25 s)
        return rec.read(), rec.info


async def recording(link, out_dir, info=INFO, **options):
    """``record_link`` started on ``link`` (a task), once connected, with the sensor's ``info`` frame sent."""
    task = asyncio.ensure_future(record_link(link, out_dir, **options))
    while link.state.value != "connected":
        await asyncio.sleep(0.01)
    link.inject(info)
    return task


async def stream_then_lose(link, task, frames_, left_out=(), damaged=()):
    """Send ``frames_`` (but those ``left_out``; those ``damaged`` with a broken last byte),
    wait past the reorder window, pull the link and return the recording's outcome."""
    for i, f in enumerate(frames_):
        if i in damaged:
            link.inject(encode_frame(f)[:-1] + b"\x00")
        elif i not in left_out:
            link.inject(f)
        await asyncio.sleep(0)
    await asyncio.sleep(0.7)
    link.lose()
    return await task


class FakeClock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


def bounded_shuffle(n, keys):
    """Frame order when frame i may arrive up to len-window frames late: sort by i + key."""
    return sorted(range(n), key=lambda i: (i + keys[i], i))


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_any_permutation_and_duplication_within_the_window_gives_the_same_timeline(tmp_path_factory, data):
    c = counts()
    fr = frames(c)
    keys = data.draw(st.lists(st.floats(0, 10), min_size=len(fr), max_size=len(fr)))  # 10 frames < 0.5 s window
    dups = set(data.draw(st.lists(st.integers(0, len(fr) - 1), max_size=8)))
    path = tmp_path_factory.mktemp("r") / "n.kemg"
    clock = FakeClock()
    rec = Recorder(path, clock=clock)
    rec.feed_frame(INFO)
    for i in bounded_shuffle(len(fr), keys):
        rec.feed_frame(fr[i])
        if i in dups:
            rec.feed_frame(fr[i])
    rec.close()
    x, info = recorded(path)
    assert info.gaps == [] and rec.samples_lost == 0 and rec.duplicates == len(dups)
    np.testing.assert_allclose(x, c * UPC, rtol=1e-6)


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_missing_frames_become_exact_gaps_whatever_the_order(tmp_path_factory, data):
    c = counts()
    fr = frames(c)
    lost = set(data.draw(st.lists(st.integers(1, len(fr) - 2), max_size=12)))
    keys = data.draw(st.lists(st.floats(0, 8), min_size=len(fr), max_size=len(fr)))
    path = tmp_path_factory.mktemp("r") / "n.kemg"
    rec = Recorder(path, clock=FakeClock())
    rec.feed_frame(INFO)
    for i in bounded_shuffle(len(fr), keys):
        if i not in lost:
            rec.feed_frame(fr[i])
    rec.close()
    x, info = recorded(path)
    missing = np.zeros(len(c), bool)
    for i in lost:
        missing[i * PER : (i + 1) * PER] = True
    marked = np.zeros(info.n_samples, bool)
    for g in info.gaps:
        marked[g.start_sample : g.start_sample + g.n_samples] = True
    assert info.n_samples == len(c)
    np.testing.assert_array_equal(marked, missing)
    np.testing.assert_allclose(x[~missing], c[~missing] * UPC, rtol=1e-6)
    assert rec.samples_lost == missing.sum()


def test_frames_that_partly_repeat_written_samples_add_only_the_new_ones(tmp_path):
    # a sensor that resends from an earlier sample: each frame repeats the last 7 samples of the one before
    c = counts()
    path = tmp_path / "n.kemg"
    rec = Recorder(path, clock=FakeClock())
    rec.feed_frame(INFO)
    for a in range(0, len(c), PER - 7):
        rec.feed_frame(DataFrame(a, a * 1000, c[a : a + PER]))
    rec.close()
    x, info = recorded(path)
    assert info.gaps == [] and rec.samples_lost == 0 and info.n_samples == len(c)
    np.testing.assert_allclose(x, c * UPC, rtol=1e-6)


def test_a_frame_without_samples_does_not_take_the_place_of_the_frame_that_has_them(tmp_path):
    # a frame lost, then a frame of no samples at the next index (a flush with nothing in it), then that frame
    c = counts()
    fr = frames(c)
    path = tmp_path / "n.kemg"
    rec = Recorder(path, clock=FakeClock())
    rec.feed_frame(INFO)
    for f in fr[:40] + [DataFrame(41 * PER, 0, c[:0])] + fr[41:]:
        rec.feed_frame(f)
    rec.close()
    x, info = recorded(path)
    assert [(g.start_sample, g.n_samples) for g in info.gaps] == [(40 * PER, PER)] and rec.duplicates == 0
    kept = np.ones(len(c), bool)
    kept[40 * PER : 41 * PER] = False
    np.testing.assert_allclose(x[kept], c[kept] * UPC, rtol=1e-6)


@pytest.mark.parametrize("jump", [2**24, 10**12])
@pytest.mark.parametrize("where", ["middle", "end"])
def test_a_stray_frame_far_ahead_is_dropped_and_the_night_goes_on(tmp_path, jump, where):
    # a valid frame whose first_sample jumps ahead (a bit error that passed the CRC): nothing follows it
    c = counts()
    fr = frames(c)
    k = 40 if where == "middle" else len(fr)
    rec = Recorder(tmp_path / "n.kemg", clock=FakeClock())
    rec.feed_frame(INFO)
    for f in fr[:k] + [DataFrame(jump, 0, c[:PER])] + fr[k:]:
        rec.feed_frame(f)
    rec.close()
    x, info = recorded(tmp_path / "n.kemg")
    assert info.gaps == [] and rec.samples_lost == 0 and rec.status().frames_bad == 1
    np.testing.assert_allclose(x, c * UPC, rtol=1e-6)


@pytest.mark.parametrize("order", [(0, 1, 2), (1, 0, 2)])
def test_a_long_gap_confirmed_by_the_frames_after_it_is_recorded_exactly(tmp_path, order):
    # the sensor paused (or was out of range) for ten minutes, then goes on: its counter says exactly how long
    c = counts()
    fr = frames(c)
    lost = 600_000 + 11
    after = [DataFrame(f.first_sample + lost, 0, f.counts) for f in fr[50:53]]
    clock = FakeClock()
    rec = Recorder(tmp_path / "n.kemg", clock=clock)
    rec.feed_frame(INFO)
    chunks, process = [], rec._detection.process
    rec._detection.process = lambda x: (chunks.append(len(x)), process(x))
    for f in fr[:50]:
        rec.feed_frame(f)
    clock.t += lost / 1000
    for i in order:  # the first two after the gap may come in either order
        rec.feed_frame(after[i])
    rec.close()
    x, info = recorded(tmp_path / "n.kemg")
    assert [(g.start_sample, g.n_samples) for g in info.gaps] == [(50 * PER, lost)]
    assert rec.samples_lost == lost and rec.status().frames_bad == 0 and info.n_samples == 53 * PER + lost
    assert sum(chunks) == info.n_samples and max(chunks) < lost / 4  # the held gap went to the detector in pieces
    np.testing.assert_allclose(x[:50 * PER], c[:50 * PER] * UPC, rtol=1e-6)
    np.testing.assert_allclose(x[-3 * PER:], c[50 * PER:53 * PER] * UPC, rtol=1e-6)


def _record_jump(path, jump, meanwhile, pace=1.0):
    """A recording of 50 frames, then ``meanwhile(clock)`` (host time passing), then the
    other frames ``jump`` samples further on: (recorder, counts, samples, info)."""
    c = counts()
    fr = frames(c)
    clock = FakeClock()
    rec = Recorder(path, clock=clock, pace=pace)
    rec.feed_frame(INFO)
    for f in fr[:50]:
        rec.feed_frame(f)
    meanwhile(clock)
    for f in fr[50:]:
        rec.feed_frame(DataFrame(f.first_sample + jump, f.timestamp_us, f.counts))
    rec.close()
    x, info = recorded(path)
    return rec, c, x, info


def _one_second(clock):
    clock.t += 1.0


@pytest.mark.parametrize("jump", [2**24, 10**12])
def test_a_counter_jump_that_time_cannot_account_for_goes_on_after_the_time_that_passed(tmp_path, jump):
    # Two frames agree on a jump of hours (or of 31 years) one second after the frame before:
    # the sensor cannot have made those samples, its counter skipped. The recording goes on
    # after the second that passed (as after a new session), not after a gap the size of the
    # jump (which had run the detector through it for hours), and the clock fit stays sane.
    rec, c, x, info = _record_jump(tmp_path / "n.kemg", jump, _one_second)
    assert [(g.start_sample, g.n_samples) for g in info.gaps] == [(50 * PER, 1000)]
    assert rec.samples_lost == 1000 and info.n_samples == len(c) + 1000 and rec.status().frames_bad == 0
    np.testing.assert_allclose(x[50 * PER + 1000:], c[50 * PER:] * UPC, rtol=1e-6)
    assert len(rec.clocks) == 2 and rec.clocks[1]["first_sample"] == 50 * PER + 1000


def _skip_with_a_late_frame(path, since_s, late_after):
    """Frames 0-48, ``since_s`` of host time, then the sensor's counter skips 2**24 samples
    ahead (frames 50- confirm it at once) while frame 49, from before the skip, is held up in
    the link: it comes after ``late_after`` of the frames after the skip. (recorder, counts)."""
    c = counts()
    fr = frames(c)
    clock = FakeClock()
    rec = Recorder(path, clock=clock)
    rec.feed_frame(INFO)
    for f in fr[:49]:
        rec.feed_frame(f)
    clock.t += since_s
    after = [DataFrame(f.first_sample + 2**24, f.timestamp_us, f.counts) for f in fr[50:]]
    for f in after[:late_after] + [fr[49]] + after[late_after:]:
        rec.feed_frame(f)
    rec.close()
    return rec, c


def test_a_frame_held_up_across_a_counter_skip_fills_the_gap_the_skip_left(tmp_path):
    # The skip is confirmed (two frames after it) 0.1 s after frame 48: the recording goes on
    # 100 samples later, and that gap is still open when frame 49 comes (within the window).
    # Frame 49 follows frame 48 by its counter: its samples are kept, right after frame 48's.
    rec, c = _skip_with_a_late_frame(tmp_path / "n.kemg", 0.1, late_after=2)
    x, info = recorded(tmp_path / "n.kemg")
    assert [(g.start_sample, g.n_samples) for g in info.gaps] == [(50 * PER, 100 - PER)]
    assert rec.samples_lost == 100 - PER and rec.duplicates == 0 and rec.status().late == 0
    np.testing.assert_allclose(x[:50 * PER], c[:50 * PER] * UPC, rtol=1e-6)
    np.testing.assert_allclose(x[49 * PER + 100:], c[50 * PER:] * UPC, rtol=1e-6)
    assert rec.clocks[1]["first_sample"] == 49 * PER + 100


def test_a_frame_held_up_across_a_counter_skip_is_cut_to_the_gap_the_skip_left(tmp_path):
    # 20 ms after frame 48 the recording goes on after the skip: only 20 of frame 49's 37
    # samples fit before it; they are kept, the rest is counted as late. The frames after
    # the skip stay where the skip put them.
    rec, c = _skip_with_a_late_frame(tmp_path / "n.kemg", 0.02, late_after=2)
    x, info = recorded(tmp_path / "n.kemg")
    assert info.gaps == [] and rec.samples_lost == 0 and rec.status().late == 1
    np.testing.assert_allclose(x[:49 * PER + 20], c[:49 * PER + 20] * UPC, rtol=1e-6)
    np.testing.assert_allclose(x[49 * PER + 20:], c[50 * PER:] * UPC, rtol=1e-6)


@pytest.mark.parametrize("gap", [100, 20])  # frame 49 fits the gap, or is longer (cut, counted once)
def test_a_frame_that_comes_after_its_gap_was_written_is_counted_late_not_as_a_duplicate(tmp_path, gap):
    # once the gap is written (a window of frames after it), frame 49's place is taken: it
    # is dropped and counted as late, its samples being part of the gap counted lost
    rec, c = _skip_with_a_late_frame(tmp_path / "n.kemg", gap / 1000, late_after=20)
    x, info = recorded(tmp_path / "n.kemg")
    assert [(g.start_sample, g.n_samples) for g in info.gaps] == [(49 * PER, gap)]
    assert rec.samples_lost == gap and rec.duplicates == 0 and rec.status().late == 1
    np.testing.assert_allclose(x[49 * PER + gap:], c[50 * PER:] * UPC, rtol=1e-6)
    # the same without a skip: a frame after the window of its gap
    fr = frames(c)
    rec = Recorder(tmp_path / "m.kemg", clock=FakeClock())
    rec.feed_frame(INFO)
    for f in fr[:49] + fr[50:70] + [fr[49], fr[48]]:
        rec.feed_frame(f)
    rec.close()
    assert rec.status().late == 1 and rec.duplicates == 1 and rec.samples_lost == PER


def test_a_gap_while_the_host_slept_is_recorded_whole(tmp_path, monkeypatch, caplog):
    # The host's monotonic clock stops while it sleeps; the wall clock and the sensor go on:
    # a jump of an hour that the wall clock accounts for is a real gap, recorded exactly.
    import time

    wall = time.time
    rec, _, _, info = _record_jump(tmp_path / "n.kemg", 3_600_000,
                                   lambda clock: monkeypatch.setattr(time, "time", lambda: wall() + 3600.0))
    assert [(g.start_sample, g.n_samples) for g in info.gaps] == [(50 * PER, 3_600_000)]
    # and it is told: how long the computer slept (once), in the status and in a warning
    assert len(rec.asleep) == 1 and rec.asleep[0][2] == pytest.approx(3600.0, abs=1.0)
    assert rec.status().asleep_s == pytest.approx(3600.0, abs=1.0)
    assert "this computer was asleep for about 1 h 00 min, between " in caplog.text


def test_a_slow_link_is_not_taken_for_the_computer_asleep(tmp_path):
    # host time passing by both clocks (a link that stalled 30 s, a reconnect) is no sleep
    rec, *_ = _record_jump(tmp_path / "n.kemg", 30_000, lambda clock: setattr(clock, "t", clock.t + 30.0))
    assert rec.asleep == [] and rec.status().asleep_s == 0.0


@pytest.mark.parametrize("pace, gap", [(1.0, 1000), (40.0, 20_000), (math.inf, 20_000)])
def test_a_virtual_sensor_that_streams_faster_than_real_time_keeps_its_gaps(tmp_path, pace, gap):
    # 20 s of samples lost in 1 s of host time: a counter skip for a real sensor, a real gap
    # for a virtual one that streams 40 times as fast as real time (or as fast as it can)
    *_, info = _record_jump(tmp_path / "n.kemg", 20_000, _one_second, pace=pace)
    assert [(g.start_sample, g.n_samples) for g in info.gaps] == [(50 * PER, gap)]


@pytest.mark.parametrize("expected_s, expected_samples, free, words", [
    (None, None, 150e6, "has 150 MB free, room for about 5 h 09 min of this signal (2 channels at 1000 Hz) instead of the 10 h 00 min of a night"),
    (3600.0, None, 20e6, "has 20 MB free, room for about 41 min 15 s of this signal (2 channels at 1000 Hz) instead of the 1 h 00 min asked for"),
    (None, 60_000, 0.4e6, "has 0.4 MB free, room for about 50 s of this signal (2 channels at 1000 Hz) instead of the 1 min 00 s asked for"),
    (3600.0, None, 30e6, None),  # room enough: nothing said
])
def test_a_disk_without_room_for_the_night_is_warned_of_as_the_recording_starts(tmp_path, monkeypatch, caplog,
                                                                                 expected_s, expected_samples, free, words):
    import kneeemg.record.recorder as recorder
    from collections import namedtuple

    usage = namedtuple("usage", "total used free")
    seen = []
    monkeypatch.setattr(recorder.shutil, "disk_usage", lambda p: (seen.append(Path(p)), usage(1e12, 1e12 - free, free))[1])
    rec = Recorder(tmp_path / "n.kemg", expected_s=expected_s, expected_samples=expected_samples)
    rec.feed_frame(INFO)
    for f in frames(counts(370)):
        rec.feed_frame(f)
    rec.close()
    assert seen == [tmp_path] and recorded(tmp_path / "n.kemg")[1].n_samples == 370  # recorded all the same
    said = [r.getMessage() for r in caplog.records if "free" in r.getMessage()]
    if words is None:
        assert said == []
    else:
        assert said == [f"the disk of {tmp_path} {words}: free some space, or the recording stops when the disk is full "
                        "(keeping what it has)"]


def test_the_status_says_when_the_sensor_reports_its_battery_low(tmp_path):
    from kneeemg.protocol import STATUS_BATTERY_LOW

    fr = frames(counts(370))
    rec = Recorder(tmp_path / "n.kemg", clock=FakeClock())
    rec.feed_frame(INFO)
    rec.feed_frame(fr[0])
    assert not rec.status().battery_low
    rec.feed_frame(replace(fr[1], status=STATUS_BATTERY_LOW))
    assert rec.status().battery_low
    rec.close()


def test_serial_bytes_garbage_and_split_frames(tmp_path):
    c = counts()
    fr = frames(c)
    rec = Recorder(tmp_path / "n.kemg")
    rec.feed_bytes(b"\x01\x02noise\x00" + serial_encode(INFO))
    for i, f in enumerate(fr):
        if i in (10, 11, 40):
            continue
        data = serial_encode(f)
        rec.feed_bytes(data[: len(data) // 2])  # frames split across reads
        rec.feed_bytes(data[len(data) // 2 :])
    rec.close()
    x, info = recorded(tmp_path / "n.kemg")
    assert [(g.start_sample, g.n_samples) for g in info.gaps] == [(370, 74), (1480, 37)]
    assert rec.status().samples_lost == 111 and rec.status().frames_bad == 1


@pytest.mark.parametrize("start", [10**6, 2**32 + 5])  # far into the sensor's session; past the uint32 wrap
def test_joining_a_sensor_that_streams_already_starts_the_recording_there(tmp_path, start):
    c = counts()
    rec = Recorder(tmp_path / "n.kemg")
    rec.feed_frame(INFO)
    for a in range(0, len(c), PER):
        rec.feed_frame(DataFrame(start + a, (start + a) * 1000 % 2**32, c[a : a + PER]))
    rec.close()
    x, info = recorded(tmp_path / "n.kemg")
    np.testing.assert_allclose(x, c * UPC)  # nothing invented before the first frame
    assert info.gaps == [] and rec.status().samples_lost == 0
    assert rec.clock_summary()["sessions"][0]["device_first_sample"] == start
    # the first frame lost (within the reordering window) is still a gap at the start
    rec = Recorder(tmp_path / "m.kemg")
    rec.feed_frame(INFO)
    for f in frames(c)[1:]:
        rec.feed_frame(f)
    rec.close()
    assert [(g.start_sample, g.n_samples) for g in recorded(tmp_path / "m.kemg")[1].gaps] == [(0, PER)]


def test_a_hole_with_nothing_after_it_is_declared_lost_after_the_window(tmp_path):
    c = counts(740)
    fr = frames(c)
    clock = FakeClock()
    rec = Recorder(tmp_path / "n.kemg", clock=clock)
    rec.feed_frame(INFO)
    for f in fr[:5] + fr[6:8]:  # frame 5 missing, two frames after it: less than the window
        rec.feed_frame(f)
    rec.tick()
    assert rec.next_sample == 5 * PER  # still waiting for frame 5
    clock.t += 0.6
    rec.tick()
    assert rec.next_sample == 8 * PER and rec.samples_lost == PER
    rec.close()


# after 2 s without data, the sensor starts again from sample 0 in a new session; after a
# reboot it announces two (power-on, then the one START begins), with no data between
@pytest.mark.parametrize("sessions", [(1,), (1, 2)])
def test_a_new_session_continues_after_the_host_time_that_passed(tmp_path, sessions):
    c = counts(740)
    fr = frames(c)
    clock = FakeClock()
    rec = Recorder(tmp_path / "n.kemg", clock=clock)
    rec.feed_frame(INFO)
    for f in fr[:10]:
        rec.feed_frame(f)
    clock.t += 2.0
    for session in sessions:
        rec.feed_frame(InfoFrame(1000.0, UPC, ("left", "right"), 7, (1, 0, 0), session_id=session))
    assert rec.status().data_age_s == pytest.approx(2.0)  # the last data is still 2 s old
    for f in fr[:10]:
        rec.feed_frame(f)
    rec.close()
    x, info = recorded(tmp_path / "n.kemg")
    assert [(g.start_sample, g.n_samples) for g in info.gaps] == [(370, 2000)]  # one gap, however announced
    np.testing.assert_allclose(x[2370:], c[:370] * UPC, rtol=1e-6)
    clock_file = json.loads((tmp_path / "n.kemg.clock.json").read_text())
    assert [s["first_sample"] for s in clock_file["sessions"]] == [0] + [2370] * len(sessions)


def test_a_new_session_after_the_host_slept_continues_after_the_wall_clock_s_time(tmp_path, monkeypatch):
    # The host's monotonic clock stops while it sleeps; the wall clock and the sensor go on. A
    # sensor that restarted meanwhile is continued after the hour that passed, not after 2 s.
    import time

    c = counts(740)
    fr = frames(c)
    clock, wall = FakeClock(), [1.8e9]
    monkeypatch.setattr(time, "time", lambda: wall[0])
    rec = Recorder(tmp_path / "n.kemg", clock=clock)
    rec.feed_frame(INFO)
    for f in fr[:10]:
        rec.feed_frame(f)
    clock.t += 2.0
    wall[0] += 3600.0
    rec.feed_frame(InfoFrame(1000.0, UPC, ("left", "right"), 7, (1, 0, 0), session_id=1))
    for f in fr[:10]:
        rec.feed_frame(f)
    rec.close()
    _, info = recorded(tmp_path / "n.kemg")
    assert [(g.start_sample, g.n_samples) for g in info.gaps] == [(370, 3_600_000)]


def test_the_device_clock_is_unwrapped_frame_to_frame_wherever_it_started(tmp_path):
    # the device's 32-bit microsecond clock counts from its boot: here the session starts half a
    # wrap after it, and the ADC runs 0.2 % slow against that clock, over 10 minutes of frames
    fs, per = 1000.0, 1000
    clock = FakeClock()
    rec = Recorder(tmp_path / "n.kemg", clock=clock)
    rec.feed_frame(INFO)
    zero = np.zeros((per, 2), dtype=np.int32)
    for k in range(600):
        a = k * per
        device_us = 2**31 - 1_000_000 + a / fs * 1e6 * 1.002
        clock.t = device_us * 1e-6 + 0.05
        rec.feed_frame(DataFrame(a, int(device_us) % 2**32, zero))
    rec.close()
    fit = rec.clock_summary()["sessions"][0]["fit"]
    assert abs(fit["drift_ppm"]) < 10 and fit["residual_ms"] < 1


def test_the_clock_mapping_is_saved_during_the_night_not_only_at_the_end(tmp_path):
    c = counts(37 * 100)
    clock = FakeClock()
    rec = Recorder(tmp_path / "n.kemg", clock=clock)
    saved = tmp_path / "n.kemg.clock.json"

    def on_disk():
        return [s["fit"]["n_points"] for s in json.loads(saved.read_text())["sessions"]]

    rec.feed_frame(INFO)
    for k in range(180):  # three minutes, a frame a second
        rec.feed_frame(DataFrame(k * 37, k * 37_000, c[:37]))  # (a frame of 37 samples a second: data comes slowly)
        clock.t += 1.0
        if k == 0:
            assert on_disk() == [1]  # with the first data: a kill loses nothing of it
    assert on_disk() == [121]  # a minute at most behind
    rec.feed_frame(replace(INFO, session_id=1))  # the sensor restarted
    rec.feed_frame(DataFrame(0, 5_000_000, c[:37]))
    assert on_disk() == [180, 1]
    assert not list(tmp_path.glob("*.tmp"))  # written beside, then renamed
    rec.close()
    assert on_disk() == [180, 1]


def test_clock_fit_recovers_drift_under_delivery_jitter():
    rng = np.random.default_rng(4)
    fit = ClockFit(bin_s=10.0)
    drift_ppm, offset = 40.0, 1234.5
    for k in range(0, 8 * 3600 * 27, 9):  # 8 h of frames, every ninth of 27 per second
        device_s = k / 27.0
        delay = 0.0075 + rng.exponential(0.03)  # BLE: never early, often late
        fit.add(device_s, offset + device_s * (1 + drift_ppm * 1e-6) + delay)
    s = fit.summary()
    assert abs(s["drift_ppm"] - drift_ppm) < 0.5
    assert abs(fit.host_time(3600.0) - (offset + 3600.0 * (1 + drift_ppm * 1e-6) + 0.0075)) < 0.005
    assert ClockFit.unwrap_us(5, 2**32 + 3.0) == 2**32 + 5


def test_signal_check_names_the_problem():
    rng = np.random.default_rng(1)
    x = np.column_stack([rng.normal(0, 3, 3000), np.full(3000, 500.0), rng.normal(0, 3, 3000)])
    x[:, 2] += 400 * np.sin(2 * np.pi * 50 * np.arange(3000) / 1000)
    chk = check_signal(x, 1000.0, ("left", "right", "third"), lead_off=["right"])
    assert not chk.ok and 2 < chk.floor_uv[0] < 4
    assert any("right: the electrode is off" in p for p in chk.problems)
    assert any(p.startswith("third: strong mains hum") for p in chk.problems)
    assert not any(p.startswith("left") for p in chk.problems)


def test_the_checks_noise_floor_is_the_detectors_not_the_hum():
    from kneeemg.dsp import detect

    rng = np.random.default_rng(2)
    t = np.arange(5000) / 1000
    x = rng.normal(0, 3, (5000, 2)) + 1500.0
    x[:, 1] += 40 * np.sin(2 * np.pi * 60 * t) + 8 * np.sin(2 * np.pi * 180 * t)  # hum and a harmonic
    chk = check_signal(x, 1000.0, ("left", "right"), lead_off=[])
    assert chk.ok and chk.mains_uv[1] > 30 > chk.mains_uv[0]
    floors = np.nanmedian(detect(x, 1000.0).floor_uv, axis=0)
    assert np.allclose(chk.floor_uv, floors, rtol=0.1)  # the hum is not noise: both channels near 3 µV x 0.9
    assert np.all((2.3 < np.array(chk.floor_uv)) & (np.array(chk.floor_uv) < 3.0))


def test_a_full_disk_stops_with_a_clear_message_and_keeps_what_was_written(tmp_path):
    c = counts(7400)
    fr = frames(c)
    rec = Recorder(tmp_path / "n.kemg")
    rec.feed_frame(INFO)
    for f in fr[:120]:  # 4.4 s: written and flushed
        rec.feed_frame(f)
    real = rec.writer._fh

    class Full:
        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name):
            return getattr(real, name)

    rec.writer._fh = Full()
    with pytest.raises(DeviceError, match="No space left on device.*saved"):
        for f in fr[120:]:
            rec.feed_frame(f)
    rec.writer._fh = real
    with pytest.raises(DeviceError):
        rec.close()
    x, info = recorded(tmp_path / "n.kemg")
    assert info.n_samples >= 4000
    np.testing.assert_allclose(x, c[: info.n_samples] * UPC, rtol=1e-6)


def _run(coro, timeout_s=30.0):
    return asyncio.run(asyncio.wait_for(coro, timeout_s))


def test_record_link_over_the_memory_link(tmp_path):
    c = counts(5550)
    fr = frames(c)
    link = MemoryLink()
    events = []

    async def main():
        task = await recording(link, tmp_path, info=encode_frame(INFO), no_data_timeout_s=5.0, on_event=events.append,
                               status_interval_s=0.05)
        return await stream_then_lose(link, task, fr, left_out=(20,), damaged=(7,))  # frame 7 damaged on the way

    out = _run(main())
    assert out.stop_reason == "link lost"
    assert [f.command for f in link.sent][:2] == [Command.REQUEST_INFO, Command.START]
    x, info = recorded(out.path)
    assert [(g.start_sample, g.n_samples) for g in info.gaps] == [(7 * PER, PER), (20 * PER, PER)]
    assert out.status.frames_bad == 1 and out.status.samples_lost == 2 * PER
    assert out.result is not None and out.result.lost_s == pytest.approx(0.074)
    # 74 of the first second's samples lost: not usable time, live as in replay, while the rest of that epoch is
    assert out.result.epoch_lost[0] == 2 * PER and out.result.usable_s == pytest.approx(replay(out.path).usable_s)
    assert (out.path.parent / (out.path.name + ".clock.json")).exists()


@pytest.mark.parametrize("lead", ["frame", "session"])
def test_the_live_detection_is_that_of_a_replay_of_the_file_it_wrote(tmp_path, lead):
    # samples lost before the first one (held at the first sample, as the reader holds them):
    # the first frame lost, or host time that passed in a new session before any data

    rng = np.random.default_rng(21)
    x = rng.normal(0, 4, (6000, 2)) + [-1876.0, 950.0]  # electrode offsets
    x[3000:3800, 1] += rng.normal(0, 80, 800)  # a spasm
    c = np.round(x / UPC).astype(np.int32)
    fr = frames(c)
    link = MemoryLink()

    async def main():
        task = await recording(link, tmp_path, no_data_timeout_s=5.0)
        if lead == "session":
            link.inject(replace(INFO, session_id=1))
            await asyncio.sleep(0.3)
            link.inject(replace(INFO, session_id=2))
        return await stream_then_lose(link, task, fr, left_out=(0, 60) if lead == "frame" else (60,))

    out = _run(main())
    assert out.status.samples_lost >= (2 if lead == "frame" else 1) * PER
    again = replay(out.path)
    assert [(e.onset_sample, e.offset_sample, e.channel, e.kind, e.peak_uv) for e in out.result.events] == \
        [(e.onset_sample, e.offset_sample, e.channel, e.kind, e.peak_uv) for e in again.events]
    assert any(e.kind == "spasm" for e in again.events)
    np.testing.assert_array_equal(out.result.epoch_flags, again.epoch_flags)
    np.testing.assert_array_equal(out.result.floor_uv, again.floor_uv)


def test_a_sensor_that_restarts_mid_recording_is_started_again(tmp_path):
    c = counts(1110)
    fr = frames(c)
    link = MemoryLink()

    async def main():
        task = await recording(link, tmp_path, no_data_timeout_s=5.0)
        link.inject(replace(INFO, session_id=1))  # the answer to START: a new session, before any data
        for f in fr[:10]:
            link.inject(f)
            await asyncio.sleep(0)
        link.inject(replace(INFO, session_id=2))  # rebooted: its power-on session; it waits for START
        await asyncio.sleep(0.2)
        assert [f.command for f in link.sent] == [Command.REQUEST_INFO, Command.START, Command.START]
        link.inject(replace(INFO, session_id=3))  # START's new session: no START again
        return await stream_then_lose(link, task, fr[:10])

    out = _run(main())
    assert [f.command for f in link.sent][:3] == [Command.REQUEST_INFO, Command.START, Command.START]
    assert sum(f.command == Command.START for f in link.sent) == 2 and out.status.samples == 2 * 10 * PER


@pytest.mark.parametrize("rate", [250.0, 8000.0])
def test_a_sensor_at_a_rate_the_detector_does_not_take_is_refused_with_what_to_do(tmp_path, rate):
    # the sensor was set to another of its rates (SET_RATE), which it keeps until it is switched off
    rec = Recorder(tmp_path / "n.kemg", clock=FakeClock())
    with pytest.raises(DeviceError, match=f"samples at {rate:g} Hz.*switch the sensor off and on") as err:
        rec.feed_frame(replace(INFO, fs_hz=rate))
    assert "resample" not in str(err.value) and not (tmp_path / "n.kemg").exists()


@pytest.mark.parametrize("change", ["rate", "channels", "sensor"])
def test_a_sensor_that_changes_mid_recording_fails_with_that_reason_and_keeps_the_frames(tmp_path, change):
    c = counts(1110)
    link = MemoryLink()

    async def main():
        task = await recording(link, tmp_path, no_data_timeout_s=5.0)
        for f in frames(c)[:10]:
            link.inject(f)
            await asyncio.sleep(0)
        await asyncio.sleep(0.3)
        if change == "rate":
            link.inject(replace(INFO, fs_hz=2000.0))
        elif change == "channels":  # its data frames have another channel count than its info frame said
            link.inject(DataFrame(10 * PER, 0, np.zeros((PER, 3), np.int32)))
        else:  # another sensor took the port (a USB name after a re-plug): its samples went on in this file
            link.inject(replace(INFO, device_id=INFO.device_id + 1, session_id=INFO.session_id + 1))
            for f in frames(c)[10:20]:
                link.inject(f)
        return await task

    said = {"rate": "changed to 2000 Hz and 2 channels mid-recording.*start a new recording",
            "channels": r"changed to 3 channels mid-recording \(it was 2\).*start a new recording",
            "sensor": r"another sensor \(0x0*8\) answered in place of sensor 0x0*7; recording stopped.*by-id"}[change]
    with pytest.raises(DeviceError, match=said):
        _run(main())
    (path,) = list(tmp_path.rglob("*.kemg"))
    x, _ = recorded(path)
    assert len(x) == 10 * PER  # what came before, and nothing of what came after
    time.sleep(0.2)
    assert not [t for t in threading.enumerate() if t.name == "kneeemg-live-detector"]  # no detector left waiting


def test_lsl_outlets_carry_the_emg(tmp_path):
    pylsl = pytest.importorskip("pylsl")
    c = counts(3700)
    link = MemoryLink()
    got = []

    async def main():
        task = await recording(link, tmp_path, lsl=True, no_data_timeout_s=5.0)
        link.inject(frames(c)[0])
        await asyncio.sleep(0.1)
        streams = await asyncio.to_thread(pylsl.resolve_byprop, "source_id", "kneeemg-00000007", 1, 5.0)
        assert streams, "the EMG outlet was not found"
        inlet = pylsl.StreamInlet(streams[0])
        await asyncio.to_thread(inlet.open_stream, 5.0)
        assert inlet.info().type() == "EMG" and inlet.info().channel_count() == 2
        for f in frames(c)[1:]:
            link.inject(f)
        await asyncio.sleep(1.2)  # past the reorder window and a flush
        for _ in range(20):
            chunk, _ = inlet.pull_chunk(timeout=0.0)
            got.extend(chunk)
            await asyncio.sleep(0.05)
        link.lose()
        return await task

    _run(main())
    got = np.array(got)
    assert len(got) > 1000
    expected = (c * UPC).astype(np.float32)
    [k] = [i for i in range(len(c)) if np.array_equal(expected[i], got[0])]  # where the inlet joined
    np.testing.assert_array_equal(got, expected[k : k + len(got)])


@pytest.fixture(scope="module")
def sensor_sim():
    if shutil.which("make") is None or shutil.which(os.environ.get("CC", "gcc")) is None:
        pytest.skip("gcc and make are needed to build the host sensor simulator")
    subprocess.run(["make", "-s", "-C", str(FIRMWARE), "host"], check=True)
    return FIRMWARE / "build" / "kneeemg-sensor-sim"


def _pty():
    master, slave = os.openpty()
    name = os.ttyname(slave)
    os.close(slave)
    return master, name


def test_sensor_sim_over_a_pty_with_faults(sensor_sim, tmp_path):
    from kneeemg.simulate import simulate_night

    night = simulate_night(hours=20 / 3600, n_channels=2, seed=9)
    sent = np.round(night.read() / UPC).astype(np.int32)
    raw = tmp_path / "in.i32"
    sent.astype("<i4").tofile(raw)
    master, name = _pty()
    sim = subprocess.Popen([str(sensor_sim), "--fd", str(master), "--input", str(raw), "--channels", "2", "--fs", "1000",
                            "--uv-per-count", str(UPC), "--speed", "0", "--drop", "0.05", "--corrupt", "0.05",
                            "--duplicate", "0.05", "--reorder", "0.05", "--seed", "3", "--log", str(tmp_path / "sim.log")],
                           pass_fds=(master,))
    try:
        path, result = record_serial(name, tmp_path, duration_s=60, no_data_timeout_s=1.5)
    finally:
        sim.wait(timeout=30)
        os.close(master)
    x, info = recorded(path)
    fates = [line.split() for line in (tmp_path / "sim.log").read_text().splitlines()]
    dropped = np.zeros(len(sent), bool)
    for first, n, fate in fates:
        if fate in ("dropped", "corrupted"):
            dropped[int(first) : int(first) + int(n)] = True
    for first, n, fate in fates:  # a duplicate of a corrupted frame may still have come through
        if fate in ("sent", "duplicated", "reordered"):
            dropped[int(first) : int(first) + int(n)] = False
    assert {"dropped", "corrupted", "duplicated", "reordered"} <= {f[2] for f in fates}
    lost = np.zeros(info.n_samples, bool)
    for g in info.gaps:
        lost[g.start_sample : g.start_sample + g.n_samples] = True
    assert info.n_samples <= len(sent)
    np.testing.assert_array_equal(lost, dropped[: info.n_samples])  # every loss marked exactly, nothing else
    np.testing.assert_allclose(x[~lost], sent[: info.n_samples][~lost] * UPC, rtol=1e-6)  # the rest, sample by sample
    assert result is not None and result.lost_s == pytest.approx(lost.sum() / 1000.0)


def _record_in_subprocess(name, out_dir):
    code = textwrap.dedent(f"""
        from kneeemg.record import record
        out = record({name!r}, {str(out_dir)!r}, duration_s=60, link_options={{"give_up_s": 0.5}})
        print(out.stop_reason, out.status.samples)
    """)
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)


def _wait_for_recording(out_dir, seconds):
    """Wait until the recording file appears (with the first frame), then ``seconds``; when it appeared."""
    deadline = time.time() + 30
    while not list(out_dir.glob("night-*.kemg")) and time.time() < deadline:
        time.sleep(0.05)
    appeared = time.time()
    time.sleep(seconds)
    return appeared


def test_record_killed_with_sigkill_loses_at_most_two_seconds(sensor_sim, tmp_path):
    master, name = _pty()
    sim = subprocess.Popen([str(sensor_sim), "--fd", str(master), "--channels", "2", "--seconds", "60", "--speed", "1"],
                           pass_fds=(master,))
    proc = _record_in_subprocess(name, tmp_path)
    try:
        created = _wait_for_recording(tmp_path, 4.0)
        os.kill(proc.pid, signal.SIGKILL)
        killed_at = time.time()
        proc.wait()
        [path] = tmp_path.glob("night-*.kemg")
    finally:
        sim.kill()
        sim.wait()
        os.close(master)
    x, info = recorded(path)
    streamed_s = killed_at - created  # the file is created with the first frame
    assert info.n_samples / 1000.0 >= streamed_s - 2.0
    assert np.isfinite(x).all()
    clock = json.loads((path.parent / (path.name + ".clock.json")).read_text())  # saved during the night
    assert clock["sessions"][0]["fit"]["n_points"] > 0


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGHUP"])  # SIGHUP: the terminal it runs in was closed
def test_sigterm_closes_the_recording_cleanly(sensor_sim, tmp_path, sig):
    master, name = _pty()
    sim = subprocess.Popen([str(sensor_sim), "--fd", str(master), "--channels", "2", "--seconds", "60", "--speed", "1"],
                           pass_fds=(master,))
    proc = _record_in_subprocess(name, tmp_path)
    try:
        _wait_for_recording(tmp_path, 2.0)
        proc.send_signal(getattr(signal, sig))
        out, _ = proc.communicate(timeout=20)
    finally:
        sim.kill()
        sim.wait()
        os.close(master)
    assert proc.returncode == 0 and out.split()[0] == {"SIGTERM": "terminated", "SIGHUP": "hangup"}[sig]
    [path] = tmp_path.glob("night-*.kemg")
    x, info = recorded(path)
    assert info.n_samples == int(out.split()[1]) + sum(g.n_samples for g in info.gaps) and info.n_samples >= 1000
    clock = json.loads((path.parent / (path.name + ".clock.json")).read_text())
    assert abs(clock["sessions"][0]["fit"]["drift_ppm"]) < 20000  # real time: device and host clocks agree


# ---------------------------------------------------------------- stopping, the output folder, a vanishing file
K = [sys.executable, "-m", "kneeemg"]


class StreamingOnStartLink(MemoryLink):
    """A sensor that answers START with its info and a burst of queued frames; a stop
    request (Ctrl-C) arrives while START is being sent."""

    def __init__(self, c, stop):
        super().__init__()
        self.burst, self.stop = frames(c), stop

    async def send_bytes(self, frame):
        await super().send_bytes(frame)
        if self.sent[-1].command == Command.START:
            self.inject(INFO)
            for f in self.burst:
                self.inject(f)
            self.stop.set()


def test_a_stop_as_the_sensor_starts_streaming_is_not_lost(tmp_path):
    from kneeemg.record import StoppedBeforeRecording

    async def main():
        stop = asyncio.Event()
        link = StreamingOnStartLink(counts(37 * 400), stop)
        return await record_link(link, tmp_path, stop=stop, no_data_timeout_s=10.0, status_interval_s=0.05)

    t0 = time.monotonic()
    with pytest.raises(StoppedBeforeRecording, match="nothing was recorded"):
        _run(main())
    assert time.monotonic() - t0 < 3.0  # not after the burst and the 10 s no-data timeout
    assert list(tmp_path.iterdir()) == []  # nothing half-written


class SlowOpenLink(MemoryLink):
    """A sensor that takes long to find (a Bluetooth scan)."""

    def __init__(self, open_s=10.0):
        super().__init__()
        self.open_s, self.open_called = open_s, False

    async def open(self):
        self.open_called = True
        await asyncio.sleep(self.open_s)
        await super().open()


def _sigint_after(seconds):
    timer = threading.Timer(seconds, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    return timer


@pytest.mark.parametrize("phase", ["connecting", "waiting for the first frame"])
def test_ctrl_c_before_any_signal_stops_at_once_and_leaves_nothing(tmp_path, monkeypatch, phase):
    import kneeemg.transport
    from kneeemg.record import StoppedBeforeRecording, record

    link = SlowOpenLink(10.0 if phase == "connecting" else 0.0)  # then: connected, the sensor silent
    monkeypatch.setattr(kneeemg.transport, "open_link", lambda url, **kw: link)
    timer = _sigint_after(0.5)
    t0 = time.monotonic()
    try:
        with pytest.raises(StoppedBeforeRecording, match="stopped by Ctrl-C before") as err:
            record("memory://", tmp_path, duration_s=30, no_data_timeout_s=20.0)
    finally:
        timer.cancel()
    assert time.monotonic() - t0 < 3.0 and err.value.exit_code == 130
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("after_s", [0.5, 2.0])
def test_ctrl_c_of_the_record_command_stops_promptly_and_keeps_the_recording(tmp_path, after_s):
    proc = subprocess.Popen(K + ["record", "--virtual", "--out", str(tmp_path), "--duration", "30"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_recording(tmp_path, after_s)
        proc.send_signal(signal.SIGINT)
        sent = time.monotonic()
        out, err = proc.communicate(timeout=15)
    finally:
        proc.kill()
    assert time.monotonic() - sent < 5.0
    assert proc.returncode == 0, err
    assert "(stopped by Ctrl-C)" in out
    [path] = tmp_path.glob("night-*.kemg")
    x, info = recorded(path)
    assert info.n_samples >= 1000 * (after_s - 0.5) and info.n_samples > 0 and np.isfinite(x).all()


def test_a_stop_while_the_detector_compiles_is_prompt_and_keeps_every_frame(tmp_path, monkeypatch):
    import kneeemg.record.recorder as recorder_module
    from kneeemg.record import StopRequest

    compiled = threading.Event()

    class Compiling(recorder_module.StreamingDetector):
        def process(self, chunk_uv):
            compiled.wait(40)  # a cold cache: the first call compiles the kernels, half a minute
            return super().process(chunk_uv)

    monkeypatch.setattr(recorder_module, "StreamingDetector", Compiling)
    c = counts(37 * 120)
    link, stop, checks = MemoryLink(), StopRequest(), []

    async def main():
        task = await recording(link, tmp_path, stop=stop, no_data_timeout_s=10.0, status_interval_s=0.05,
                               on_check=checks.append)
        for f in frames(c):  # 4.4 s of signal while the detector is busy
            link.inject(f)
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.7)  # past the reorder window
        stop.request("interrupted")
        asked = time.monotonic()
        return await task, time.monotonic() - asked

    try:
        out, took = _run(main(), timeout_s=60.0)
    finally:
        compiled.set()
    assert took < 15.0  # not when the compiling is over (40 s here)
    assert out.stop_reason == "interrupted" and out.result is None
    x, info = recorded(out.path)  # closed as on any stop, with all that came
    assert info.gaps == [] and info.n_samples == len(c)
    np.testing.assert_allclose(x, c * UPC, rtol=1e-6)
    assert json.loads((out.path.parent / (out.path.name + ".clock.json")).read_text())["sessions"][0]["fit"]
    assert checks == [out.signal_check] and out.signal_check is not None


def test_ctrl_c_while_the_first_recording_compiles_the_detector_is_prompt(tmp_path):
    out_dir = tmp_path / "nights"
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba-cache"))  # empty: the kernels are compiled
    proc = subprocess.Popen(K + ["record", "--virtual", "--link", "serial", "--out", str(out_dir), "--duration", "120"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        _wait_for_recording(out_dir, 4.0)  # past the detector's 2 s warm-up: its first kernels compile
        proc.send_signal(signal.SIGINT)
        sent = time.monotonic()
        out, err = proc.communicate(timeout=45)
    finally:
        proc.kill()
    assert time.monotonic() - sent < 15.0, err
    assert proc.returncode == 0, err
    assert "(stopped by Ctrl-C)" in out and "signal check: good" in out
    [path] = out_dir.glob("night-*.kemg")
    x, info = recorded(path)
    assert info.n_samples >= 3000 and np.isfinite(x).all()  # recorded on while the detector compiled


@pytest.mark.parametrize("ends", ["while streaming", "as the waiting frames are written"])
def test_the_signal_check_is_reported_once_when_the_recording_ends_first(tmp_path, ends):
    fr = frames(counts(37 * 100))
    if ends == "as the waiting frames are written":  # a missing frame: the last ones wait for it until the end
        fr = fr[:79] + fr[80:86]
    link, checks = MemoryLink(), []

    async def main():
        task = await recording(link, tmp_path, no_data_timeout_s=5.0, status_interval_s=60.0, on_check=checks.append)
        for f in fr:
            link.inject(f)
        await asyncio.sleep(0.1)
        link.lose()  # before the status loop looks again
        return await task

    out = _run(main())
    assert out.stop_reason == "link lost" and out.status.samples >= 3000
    assert out.signal_check is not None and checks == [out.signal_check]


@pytest.mark.parametrize("how", ["folder deleted", "file replaced"])
def test_a_recording_file_that_vanishes_stops_the_recording_and_is_saved_again(tmp_path, how):
    c = counts(9250)
    fr = frames(c)
    out = tmp_path / "nights"
    out.mkdir()
    path = out / "n.kemg"
    clock = FakeClock()
    rec = Recorder(path, clock=clock)
    rec.feed_frame(INFO)
    for f in fr[:100]:  # 3.7 s
        rec.feed_frame(f)
    if how == "folder deleted":
        shutil.rmtree(out)  # on Linux, writing to the open file would go on succeeding
    else:
        path.unlink()
        path.write_bytes(b"someone else's file")
    with pytest.raises(DeviceError) as err:
        for f in fr[100:]:
            clock.t += PER / 1000.0
            rec.feed_frame(f)
    message = str(err.value)
    assert "\n" not in message and message.startswith(f"cannot write {path}")
    assert "recording stopped" in message and "keep the output folder" in message
    saved = path if how == "folder deleted" else out / "n-recovered.kemg"
    assert ("saved again" if how == "folder deleted" else f"saved as {saved}") in message
    assert rec.next_sample < 6000  # noticed within about a second of signal
    with pytest.raises(DeviceError):
        rec.close()
    x, info = recorded(saved)
    assert info.n_samples >= 3700 and f"first {info.n_samples / 1000:.0f} s" in message
    np.testing.assert_allclose(x, c[: info.n_samples] * UPC, rtol=1e-6)
    if how == "file replaced":
        assert path.read_bytes() == b"someone else's file"  # never overwritten


def test_the_file_is_checked_about_once_a_second_not_per_frame(tmp_path, monkeypatch):
    import kneeemg.record.recorder as recorder_module

    stats = []
    real_stat = os.stat

    def counting_stat(p, *args, **kwargs):
        stats.append(p)
        return real_stat(p, *args, **kwargs)

    monkeypatch.setattr(recorder_module.os, "stat", counting_stat)
    clock = FakeClock()
    rec = Recorder(tmp_path / "n.kemg", clock=clock)
    rec.feed_frame(INFO)
    for f in frames(counts(10_027)):  # 271 frames, 10 s
        clock.t += PER / 1000.0
        rec.feed_frame(f)
        rec.tick()
    checks = [p for p in stats if Path(p) == tmp_path / "n.kemg"]
    assert 8 <= len(checks) <= 12
    rec.close()


def test_the_record_command_fails_when_its_folder_is_deleted(tmp_path, capsys):
    from kneeemg.cli import main

    out = tmp_path / "nights"
    out.mkdir()

    def delete_the_folder():
        _wait_for_recording(out, 2.5)
        shutil.rmtree(out)

    deleter = threading.Thread(target=delete_the_folder)
    deleter.start()
    code = main(["record", "--virtual", "--link", "serial", "--out", str(out), "--duration", "20"])
    deleter.join()
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 3 and len(err) == 1, err
    assert err[0].startswith("kneeemg: error: cannot write ") and "saved again" in err[0]
    [path] = out.glob("night-*.kemg")
    assert recorded(path)[1].n_samples >= 2000


def _unwritable_folder(tmp_path):
    if os.geteuid() != 0:
        folder = tmp_path / "read-only"
        folder.mkdir()
        folder.chmod(0o555)
        return folder
    folder = Path("/sys/kernel")  # even root cannot create files in sysfs
    try:
        (folder / "kneeemg-probe").touch()
    except OSError:
        return folder
    pytest.skip("no folder that root cannot write to")


def test_an_unwritable_output_folder_is_reported_before_the_sensor_is_contacted(tmp_path, monkeypatch, capsys):
    import kneeemg.transport
    from kneeemg.cli import main
    from kneeemg.errors import InputError
    from kneeemg.record import record

    folder = _unwritable_folder(tmp_path)
    link = SlowOpenLink(0.0)
    monkeypatch.setattr(kneeemg.transport, "open_link", lambda url, **kw: link)
    with pytest.raises(InputError, match=f"--out {folder}: cannot write in the folder .*choose another --out"):
        record("memory://", folder, duration_s=5)
    assert not link.open_called
    assert main(["record", "--virtual", "--out", str(folder), "--duration", "2"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"kneeemg: error: --out {folder}: cannot write in the folder (Permission denied); "
                   "choose another --out"]


@pytest.mark.parametrize("option", ["--serial", "--ble"])
def test_an_empty_port_or_address_is_refused_in_one_line(tmp_path, capsys, option):
    from kneeemg.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["record", option, "", "--out", str(tmp_path / "out"), "--duration", "1"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and len(err.splitlines()) == 1
    assert f"argument {option}: an empty {'port name' if option == '--serial' else 'address'}; give the sensor's" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("args", "url"), [(["--ble"], "ble://"), (["--ble", "AA:BB:CC:DD:EE:FF"], "ble://AA:BB:CC:DD:EE:FF"),
                                         (["--serial", "/dev/ttyACM0"], "serial:///dev/ttyACM0")],
                         ids=["ble-alone", "ble-address", "serial"])
def test_ble_alone_records_from_the_first_sensor_found(tmp_path, capsys, monkeypatch, args, url):
    from kneeemg.cli import main
    from kneeemg.errors import DeviceError

    asked = []

    def fake_record(u, out_dir, **kwargs):
        asked.append(u)
        raise DeviceError("no sensor found")

    monkeypatch.setattr("kneeemg.record.record", fake_record)
    assert main(["record", *args, "--out", str(tmp_path / "out")]) == DeviceError.exit_code
    assert asked == [url]
    assert "an empty address" not in capsys.readouterr().err


def test_a_missing_output_folder_is_created_and_a_file_is_refused(tmp_path, capsys):
    from kneeemg.cli import main

    c = counts(1850)
    link = MemoryLink()

    async def main_():
        task = asyncio.ensure_future(record_link(link, tmp_path / "new" / "nights", no_data_timeout_s=5.0))
        while link.state.value != "connected" and not task.done():
            await asyncio.sleep(0.01)
        link.inject(INFO)
        for f in frames(c):
            link.inject(f)
        await asyncio.sleep(0.7)
        link.lose()
        return await task

    outcome = _run(main_())
    assert outcome.path.parent == tmp_path / "new" / "nights"
    assert recorded(outcome.path)[1].n_samples == len(c)
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a folder")
    assert main(["record", "--virtual", "--out", str(a_file), "--duration", "2"]) == 2
    assert main(["record", "--virtual", "--out", str(a_file / "nights"), "--duration", "2"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"kneeemg: error: --out {a_file} is a file, not a folder; give a folder (it is created when missing)",
                   f"kneeemg: error: --out {a_file / 'nights'} cannot be made: {a_file} is a file, not a folder; "
                   "give a folder (it is created when missing)"]
    assert a_file.read_text() == "not a folder"


def test_record_import_adds_the_night_to_the_history_when_it_ends(tmp_path, capsys):
    import sqlite3

    from kneeemg.cli import main
    from kneeemg.store import Store

    db = tmp_path / "h.db"
    assert main(["record", "--virtual", "--link", "serial", "--out", str(tmp_path / "n"), "--duration", "2",
                 "--import", "--db", str(db)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    [path] = (tmp_path / "n").glob("night-*.kemg")
    with Store(db, create=False) as s:
        [night] = s.nights()
    assert f"{path}: imported as night 1 of {night.date} into {db}" in out
    assert night.source == str(path.resolve()) and night.recording_s == pytest.approx(2.0, abs=0.01)
    # checked before the sensor is contacted: a history that is another program's file, and --db alone
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as con:
        con.execute("CREATE TABLE t (x)")
    assert main(["record", "--virtual", "--out", str(tmp_path / "m"), "--duration", "2", "--import", "--db", str(other)]) == 4
    assert main(["record", "--virtual", "--out", str(tmp_path / "m"), "--duration", "2", "--db", str(db)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [f"kneeemg: error: {other} is an SQLite file of another program (it has tables but no kneeemg schema); "
                   "use another --db", "kneeemg: error: --db names the history --import adds the night to; give --import with it"]
    assert not (tmp_path / "m").exists()


def test_the_record_command_says_why_it_stopped_and_how_long_in_plain_words(tmp_path, capsys):
    from kneeemg.cli import main

    assert main(["record", "--virtual", "--link", "serial", "--out", str(tmp_path), "--duration", "3"]) == 0
    out = capsys.readouterr().out
    assert "(--duration reached)" in out and "stopped:" not in out
    assert "recorded 3.0 s" in out and "0 h 00 min" not in out


@pytest.mark.parametrize("seconds, words", [(20.2, "20 s"), (750.0, "12 min 30 s"), (7 * 3600 + 310.0, "7 h 05 min"),
                                            (4.46, "4.5 s")])
def test_the_summary_gives_short_recordings_in_seconds(seconds, words):
    from rich.console import Console

    from kneeemg.cli.render import print_summary

    console = Console(record=True, width=200)
    summary = {"recording_s": seconds, "usable_s": seconds, "usable_fraction": 1.0, "channels": ["left"],
               "counts": {"twitch": 0}, "per_usable_hour": {}}
    print_summary(console, summary, title="Night")
    assert f"recorded {words}, usable {words} (100.0 %)" in console.export_text()


def test_a_record_that_fails_before_recording_leaves_no_folder_it_made(tmp_path, capsys):
    from kneeemg.cli import main

    out = tmp_path / "nights" / "week1"
    assert main(["record", "--serial", str(tmp_path / "no-such-port"), "--out", str(out), "--duration", "5"]) == 3
    assert "cannot open serial port" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # both folders it made are gone
    (tmp_path / "nights").mkdir()
    (tmp_path / "nights" / "old.kemg").write_bytes(b"kept")
    assert main(["record", "--serial", str(tmp_path / "no-such-port"), "--out", str(out), "--duration", "5"]) == 3
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["nights", "old.kemg"]  # what was there stays


def test_a_port_that_no_sensor_answers_on_is_not_sent_stop(tmp_path):
    link = MemoryLink()  # opens, but what answers (if anything) is no sensor of ours: never an info frame

    with pytest.raises(DeviceError, match="no sensor answered on memory://"):
        _run(record_link(link, tmp_path, duration_s=0.3, status_interval_s=0.05))
    assert [f.command for f in link.sent] == [Command.REQUEST_INFO, Command.START]  # no STOP: it would stop a sensor another program is recording
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("what", ["crc", "text"])
def test_a_port_that_streams_no_valid_frame_fails_after_the_timeout_and_leaves_nothing(tmp_path, what):
    link = MemoryLink()  # a sensor whose every frame fails its check, or another device's text (a GPS)
    junk = encode_frame(INFO)[:-1] + b"\x00" if what == "crc" else b"$GPGGA,123519,4807.038,N,01131.000,E,1,08*47\r\n"

    async def main():
        task = asyncio.ensure_future(record_link(link, tmp_path, no_data_timeout_s=0.5, status_interval_s=0.05))
        while not task.done():
            if link.state.value == "connected":
                link.inject(junk)
            await asyncio.sleep(0.01)
        return await task

    t0 = time.monotonic()
    with pytest.raises(DeviceError, match=r"no sensor answered on memory://: bytes arrived but not one valid kneeemg "
                                          r"frame \(\d+ bad frames, \d+ stray bytes\); check the port .* kneeemg sensor$"):
        _run(main())
    assert time.monotonic() - t0 < 5
    assert list(tmp_path.iterdir()) == []


def test_a_sensor_whose_data_frames_all_fail_their_check_fails_after_the_timeout(tmp_path):
    link = MemoryLink()
    bad = encode_frame(frames(counts(37))[0])[:-1] + b"\x00"

    async def main():
        task = await recording(link, tmp_path, no_data_timeout_s=0.5, status_interval_s=0.05)
        while not task.done():
            link.inject(bad)
            await asyncio.sleep(0.01)
        return await task

    with pytest.raises(DeviceError, match=r"answered but sent no signal before the recording ended \(no data; \d+ bad "
                                          r"frames\); nothing was recorded"):
        _run(main())
    assert list(tmp_path.iterdir()) == []


def test_two_recordings_started_in_the_same_second_get_names_of_their_own(tmp_path, monkeypatch):
    import kneeemg.record.live as live
    from datetime import datetime

    class SameSecond(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime(2026, 11, 20, 23, 15, 2, tzinfo=tz)

    monkeypatch.setattr(live, "datetime", SameSecond)
    links = [MemoryLink(), MemoryLink()]
    c = counts(740)

    async def main():
        tasks = [asyncio.ensure_future(record_link(link, tmp_path, no_data_timeout_s=5.0)) for link in links]
        while any(link.state.value != "connected" for link in links):  # both have their name before either file exists
            await asyncio.sleep(0.01)
        for link in links:
            link.inject(INFO)
        return await asyncio.gather(*(stream_then_lose(link, task, frames(c)) for link, task in zip(links, tasks)))

    outcomes = _run(main())
    assert sorted(o.path.name for o in outcomes) == ["night-20261120-231502-2.kemg", "night-20261120-231502.kemg"]
    for o in outcomes:
        assert recorded(o.path)[1].n_samples == len(c)
        assert json.loads((o.path.parent / (o.path.name + ".clock.json")).read_text())["sessions"]


def test_a_recording_name_that_is_taken_is_numbered_and_the_files_there_are_kept(tmp_path):
    for name in ("night-x.kemg", "night-x-2.kemg"):
        (tmp_path / name).write_bytes(b"kept")
    rec = Recorder(tmp_path / "night-x.kemg", numbered=True)
    rec.feed_frame(INFO)
    rec.close()
    assert rec.path == tmp_path / "night-x-3.kemg" and rec.path.exists()
    assert [(tmp_path / n).read_bytes() for n in ("night-x.kemg", "night-x-2.kemg")] == [b"kept", b"kept"]


def test_a_second_record_on_a_port_in_use_is_refused_and_the_first_carries_on(tmp_path):
    from kneeemg.record import record
    from kneeemg.transport.ptysim import PtySensor

    c = counts(3700)
    with PtySensor(c, speed=1.0) as sensor:
        first = _record_in_subprocess(sensor.port, tmp_path / "first")
        try:
            _wait_for_recording(tmp_path / "first", 0.5)
            with pytest.raises(DeviceError, match="it is in use by another program \\(another kneeemg record\\?\\)"):
                record(sensor.port, tmp_path / "second", duration_s=5)
            out, _ = first.communicate(timeout=30)
        finally:
            first.kill()
    assert not (tmp_path / "second").exists()
    assert out.split()[-1] == str(len(c))  # every sample, until the sensor's signal ran out


def test_a_serial_sensor_that_vanishes_is_waited_for_until_the_recording_ends(tmp_path, capsys, caplog):
    from kneeemg.cli import main
    from kneeemg.transport.ptysim import PtySensor

    c = counts(3700)
    with PtySensor(c, speed=0) as sensor:  # it closes its end when the signal runs out, as a pulled cable does
        code = main(["record", "--serial", sensor.port, "--out", str(tmp_path), "--duration", "3"])
    captured = capsys.readouterr()
    assert f"lost the connection to serial://{sensor.port}" in caplog.text and "); reconnecting" in caplog.text
    assert "/dev/serial/by-id/" in caplog.text  # the advice to use a name that survives a re-plug
    assert "(--duration reached)" in captured.out and "The recording" in captured.out  # the summary as ever
    assert code == 0  # the recording went on (reconnecting) until the duration asked for
    [path] = tmp_path.glob("night-*.kemg")
    assert recorded(path)[1].n_samples == len(c)


def test_a_sensor_that_goes_silent_is_no_data_and_an_early_end(tmp_path):
    link = MemoryLink()

    async def main():
        task = await recording(link, tmp_path, no_data_timeout_s=0.5, status_interval_s=0.05)
        for f in frames(counts(740)):
            link.inject(f)
        return await task  # then nothing more comes

    out = _run(main())
    assert out.stop_reason == "no data" and out.ended_early and out.status.samples == 740


class ShortLivedLink(MemoryLink):
    """A sensor that sends 0.111 s of signal after START, then is gone."""

    async def send_bytes(self, frame):
        await super().send_bytes(frame)
        if self.sent[-1].command == Command.START:
            self.inject(INFO)
            for f in frames(counts(111)):
                self.inject(f)
            asyncio.get_running_loop().call_later(0.7, self.lose)


def test_a_recording_too_short_to_analyse_says_so_and_is_kept(tmp_path, monkeypatch, capsys):
    import kneeemg.transport
    from kneeemg.cli import main

    monkeypatch.setattr(kneeemg.transport, "open_link", lambda url, **kw: ShortLivedLink())
    assert main(["record", "--serial", "/dev/ttyACM9", "--out", str(tmp_path)]) == 3  # the sensor went away
    out = capsys.readouterr().out
    assert "the recording is 0.11 s long, too short to analyse (replay and import need at least 0.25 s)" in out
    assert "The recording" not in out  # no summary of what cannot be analysed
    [path] = tmp_path.glob("night-*.kemg")
    assert recorded(path)[1].n_samples == 111  # what was recorded is kept


def test_a_recording_onto_a_full_disk_leaves_no_file_and_says_nothing_was_saved(tmp_path, monkeypatch):
    import builtins

    import kneeemg.io.native as native

    class Full:  # a disk with no room left: nothing handed to it reaches the file
        def __init__(self, real):
            self.real = real

        def write(self, data):
            return len(data)

        def flush(self):
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name):
            return getattr(self.real, name)

    def clock_onto_full_disk(self, text):
        self.touch()  # created, but nothing fits in it
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(native, "open", lambda path, mode: Full(builtins.open(path, mode)), raising=False)
    monkeypatch.setattr(Path, "write_text", clock_onto_full_disk)
    link = MemoryLink()

    async def main():
        task = await recording(link, tmp_path, no_data_timeout_s=5.0)
        for f in frames(counts(3700)):
            link.inject(f)
            await asyncio.sleep(0)
        return await task

    with pytest.raises(DeviceError, match=r"No space left on device\); recording stopped, nothing was saved -- free"):
        _run(main())
    assert list(tmp_path.iterdir()) == []  # no empty file for import to fail on


def test_a_sensor_gone_before_its_first_signal_leaves_no_file(tmp_path):
    link = MemoryLink()

    async def main():
        task = await recording(link, tmp_path, no_data_timeout_s=5.0)  # the file is created, with its header
        await asyncio.sleep(0.2)
        link.lose()
        return await task

    with pytest.raises(DeviceError, match="answered but sent no signal before the recording ended \\(link lost\\); "
                                          "nothing was recorded"):
        _run(main())
    assert list(tmp_path.iterdir()) == []  # not a file that holds only a header


@pytest.mark.parametrize("pace", [0.0, -1.0, float("nan")])
def test_a_pace_that_is_not_above_zero_is_refused(tmp_path, pace):
    from kneeemg.errors import ConfigError

    with pytest.raises(ConfigError, match="must be above 0"):
        Recorder(tmp_path / "n.kemg", pace=pace)
    assert not list(tmp_path.iterdir())


def test_the_status_line_gives_the_recorded_time_as_the_summary_does(tmp_path, capsys):
    # it said "recorded 2 s" above a summary of 1.5 s, and would say "recorded 25200 s" at dawn
    from kneeemg.cli import main

    assert main(["record", "--virtual", "--out", str(tmp_path), "--duration", "1.5"]) == 0
    out = capsys.readouterr().out
    status = next(x for x in out.splitlines() if "| data age" in x)
    assert "| received 1.5 s, lost 0.0 s," in status and "The recording (left, right): recorded 1.5 s" in out


def test_liblsl_s_own_info_lines_stay_out_of_the_terminal_unless_asked_for(tmp_path, monkeypatch):
    # `record --lsl` began with liblsl's "Loaded default config" and its git/build line
    pytest.importorskip("pylsl")
    from kneeemg.record.lsl import quiet_liblsl_log

    env = {k: v for k, v in os.environ.items() if k != "LSLAPICFG"} | {"HOME": str(tmp_path)}

    def stderr(*extra):
        run = subprocess.run(K + [*extra, "record", "--virtual", "--duration", "1", "--lsl", "--out", str(tmp_path / "r")],
                             capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
        assert run.returncode == 0, run.stderr
        return run.stderr

    assert "INFO|" not in stderr()
    assert "INFO|" in stderr("-v")  # asked for: liblsl says what it is
    monkeypatch.setenv("LSLAPICFG", str(tmp_path / "mine.cfg"))
    assert quiet_liblsl_log() is False  # the user's own liblsl configuration rules


def test_a_virtual_night_longer_than_8_hours_is_refused_before_it_is_made(tmp_path, capsys):
    # the simulated night is made whole in memory: 48 h of it ran out of memory with a traceback
    from kneeemg.cli import main as cli

    assert cli(["record", "--virtual", "--link", "serial", "--out", str(tmp_path / "r"), "--duration", "36000"]) == 2
    err = capsys.readouterr().err
    assert "is more than the virtual sensor streams" in err and "at most 28800 seconds (8 h)" in err
    assert not (tmp_path / "r").exists()
