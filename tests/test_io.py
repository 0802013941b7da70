"""Recording formats: round trips, crash safety, bad input, real files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from kneeemg.errors import ConfigError, InputError, RecordingFormatError
from kneeemg.events import Event
from kneeemg.io import RecordingWriter, export_edf, open_recording
from kneeemg.io.array import ArrayRecording
from kneeemg.io.base import RecordingInfo

FS = 1000.0


def signal_uv(n=5000, ch=2, seed=0):
    return np.random.default_rng(seed).normal(0, 50, (n, ch)) + np.arange(ch) * 300


def test_native_round_trip_with_gap(tmp_path):
    x = signal_uv()
    path = tmp_path / "night.kemg"
    with RecordingWriter(path, FS, ["left", "right"], flush_s=0.5) as w:
        w.write(x[:2000])
        w.write(x[2500:], first_sample=2500)  # 500 samples lost
    with open_recording(path) as rec:
        assert rec.info.labels == ("left", "right") and rec.info.n_samples == 5000
        assert [(g.start_sample, g.n_samples) for g in rec.info.gaps] == [(2000, 500)]
        assert rec.info.lost_s == pytest.approx(0.5)
        y = rec.read()
        np.testing.assert_allclose(y[:2000], x[:2000], atol=1e-3)
        np.testing.assert_allclose(y[2000:2500], np.repeat(y[1999:2000], 500, axis=0))  # held
        np.testing.assert_allclose(y[2500:], x[2500:], atol=1e-3)
        np.testing.assert_array_equal(rec.read(1990, 2510), y[1990:2510])  # random access across the gap
    with open_recording(path, channels=["RIGHT"]) as rec:
        assert rec.info.labels == ("right",) and rec.read(0, 10).shape == (10, 1)


def test_a_gap_longer_than_a_block_can_hold_is_written_in_pieces(tmp_path):
    from kneeemg.io.native import MAX_BLOCK_SAMPLES, NativeRecording

    x = signal_uv(20)
    n = 2 * MAX_BLOCK_SAMPLES + 5  # n_samples is a u32 (at 4 kHz, 25 days: well within the year a recording holds)
    with RecordingWriter(tmp_path / "n.kemg", 4000.0, ["left", "right"]) as w:
        w.write(x[:10])
        w.mark_gap(10, n)
        w.write(x[10:])
    with NativeRecording(tmp_path / "n.kemg") as rec:
        assert rec.info.n_samples == 20 + n and sum(g.n_samples for g in rec.info.gaps) == n
        np.testing.assert_allclose(rec.read(10 + n, 20 + n), x[10:], atol=1e-3)


def test_native_never_overwrites_and_refuses_duplicates(tmp_path):
    path = tmp_path / "a.kemg"
    with RecordingWriter(path, FS, ["c"]) as w:
        w.write(np.zeros((10, 1)))
        with pytest.raises(InputError, match="already written"):
            w.write(np.zeros((10, 1)), first_sample=5)
    size = path.stat().st_size
    with pytest.raises(InputError, match="already exists"):
        RecordingWriter(path, FS, ["c"])
    assert path.stat().st_size == size
    with pytest.raises(InputError, match="folder"):
        RecordingWriter(tmp_path / "missing" / "b.kemg", FS, ["c"])


def _six_blocks(tmp_path):
    """Six seconds of one channel written as six 1 s blocks: the samples, the file's bytes,
    the header's length and a block's length."""
    x = signal_uv(6000, 1)
    path = tmp_path / "t.kemg"
    with RecordingWriter(path, FS, ["c"], flush_s=1.0) as w:
        w.write(x)
    data = bytearray(path.read_bytes())
    header_len = 4 + 2 + 4 + int.from_bytes(data[6:10], "little") + 4
    return x, data, header_len, 2 + 1 + 1 + 8 + 4 + 2 + 2 + 4 + 4 + 4000


def test_truncated_and_corrupt_blocks(tmp_path):
    x, data, header_len, block = _six_blocks(tmp_path)
    # corrupt a byte inside the second block's payload, and cut the last block short
    data[header_len + block + 100] ^= 0xFF
    (tmp_path / "bad.kemg").write_bytes(bytes(data[:-1000]))
    with open_recording(tmp_path / "bad.kemg") as rec:
        assert len(rec.info.warnings) == 2
        assert rec.info.n_samples == 5000  # the cut block is gone
        assert [(g.start_sample, g.n_samples) for g in rec.info.gaps] == [(1000, 1000)]
        y = rec.read()
        np.testing.assert_allclose(y[:1000], x[:1000], atol=1e-3)
        np.testing.assert_allclose(y[2000:5000], x[2000:5000], atol=1e-3)


def test_a_damaged_block_length_loses_only_its_block(tmp_path):
    # one flipped bit in a block's payload_len makes it seem to run past the end of the file:
    # that block is skipped, not everything after it (which a truncated file would mean)
    x, data, header_len, block = _six_blocks(tmp_path)
    at = header_len + 2 * block + 20  # the third block's payload_len
    data[at + 3] ^= 0x10
    (tmp_path / "flip.kemg").write_bytes(bytes(data))
    with open_recording(tmp_path / "flip.kemg") as rec:
        assert rec.info.n_samples == 6000 and [(g.start_sample, g.n_samples) for g in rec.info.gaps] == [(2000, 1000)]
        assert rec.info.warnings == [f"a corrupt block at byte {header_len + 2 * block} was skipped"]
        y = rec.read()
        np.testing.assert_allclose(y[3000:], x[3000:], atol=1e-3)
    (tmp_path / "flipcut.kemg").write_bytes(bytes(data[: header_len + 2 * block + 500]))  # and nothing after it
    with open_recording(tmp_path / "flipcut.kemg") as rec:
        assert rec.info.n_samples == 2000 and "is incomplete (the recording was cut short)" in rec.info.warnings[0]


def test_a_csv_with_numpys_comment_header_or_comments_before_its_header(tmp_path):
    # np.savetxt writes the header as a comment ("# time,left,right"); other tools put notes first
    from kneeemg.io.text import csv_has_time_column

    x = signal_uv(3000, 2)
    np.savetxt(tmp_path / "np.csv", np.c_[np.arange(3000) / FS, x], delimiter=",", header="time,left,right")
    assert csv_has_time_column(tmp_path / "np.csv")
    with open_recording(tmp_path / "np.csv") as rec:
        assert rec.info.labels == ("left", "right") and rec.info.fs_hz == FS
        np.testing.assert_allclose(rec.read(), x)
    lines = ["# recorded by a tool", "# of its own", "time,emg"] + [f"{i / FS},{v}" for i, v in enumerate(x[:, 0])]
    (tmp_path / "notes.csv").write_text("\n".join(lines[:1000] + ["0.997,x"] + lines[1000:]) + "\n")
    with pytest.raises(InputError, match=r"line 1001 \('0.997,x'\) is not 2 numbers"):  # its own line number
        open_recording(tmp_path / "notes.csv")


def test_a_csv_time_column_in_whole_milliseconds_at_1024_hz(tmp_path):
    # rounded to whole ms, some times repeat (the period is 0.977 ms): the slope still gives the rate
    x = signal_uv(5120, 1)
    t = np.round(np.arange(5120) / 1024 * 1000)
    np.savetxt(tmp_path / "ms.csv", np.c_[t, x], delimiter=",", header="time_ms,emg", comments="", fmt=["%d", "%.6f"])
    with open_recording(tmp_path / "ms.csv") as rec:
        assert rec.info.fs_hz == 1024.0 and rec.info.n_samples == 5120 and rec.info.gaps == []
    (tmp_path / "back.csv").write_text("time,emg\n0,1\n0.001,2\n0.002,3\n0.001,4\n0.004,5\n")
    with pytest.raises(InputError, match=r"goes back after line 4 \(from 0.002 to 0.001\); put the lines in time order"):
        open_recording(tmp_path / "back.csv")


def test_sigkill_loses_at_most_two_seconds(tmp_path):
    path = tmp_path / "killed.kemg"
    code = textwrap.dedent(f"""
        import sys, time, numpy as np
        from kneeemg.io import RecordingWriter
        w = RecordingWriter({str(path)!r}, 1000.0, ["c"])
        i = 0
        while True:
            w.write(np.full((20, 1), float(i)))
            i += 1
            if i % 50 == 0:
                print(i * 20, flush=True)
            time.sleep(0.02)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    written = 0
    t0 = time.time()
    while written < 4000 and time.time() - t0 < 60:
        written = int(proc.stdout.readline())
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with open_recording(path) as rec:
        assert written - rec.info.n_samples <= 2000
        y = rec.read()
        np.testing.assert_array_equal(y[::20, 0], np.arange(len(y) // 20))


def test_edf_and_bdf_export_read_by_two_readers(tmp_path):
    import mne
    import pyedflib

    x = signal_uv(4000, 2)
    rec = ArrayRecording(x, RecordingInfo(fs_hz=FS, labels=("left", "right"), n_samples=4000))
    events = [Event(1000, 1020, FS, 0, "twitch", 80, 30, 20, "left"), Event(2000, 3200, FS, 1, "spasm", 200, 60, 25, "right")]
    for bdf, tol in ((False, 0.05), (True, 1e-3)):
        path = tmp_path / ("n.bdf" if bdf else "n.edf")
        export_edf(rec, path, events, bdf=bdf)
        raw = (mne.io.read_raw_bdf if bdf else mne.io.read_raw_edf)(path, preload=True, verbose="error")
        np.testing.assert_allclose(raw.get_data().T * 1e6, x, atol=np.ptp(x) * 2 ** -(23 if bdf else 15) * 2 + tol)
        assert sorted(raw.annotations.description) == ["spasm ch1", "twitch ch0"]
        with pyedflib.EdfReader(str(path)) as f:
            assert f.getSignalLabels() == ["left", "right"]
            assert sorted(f.readAnnotations()[2]) == ["spasm ch1", "twitch ch0"]
        with open_recording(path) as back:  # annotations come back as ground truth
            assert [(e.kind, e.channel, e.onset_sample) for e in back.info.annotations] == [("twitch", 0, 1000), ("spasm", 1, 2000)]


def test_edf_export_keeps_every_annotation_of_a_dense_short_recording(tmp_path):
    import mne
    import pyedflib

    from kneeemg.events import ExcludedInterval

    rec = ArrayRecording(signal_uv(5000, 2), RecordingInfo(fs_hz=FS, labels=("left", "right"), n_samples=5000))
    # 300 events in 5 s: one annotation signal holds 5, the file needs 60
    events = [Event(16 * k, 16 * k + 8, FS, k % 2, "twitch", 80, 30, 20) for k in range(300)]
    excluded = [ExcludedInterval(0.0, 1.0, 0, "settling"), ExcludedInterval(2.0, 3.5, 1, "movement")]
    path = tmp_path / "dense.edf"
    export_edf(rec, path, events, excluded=excluded)
    with pyedflib.EdfReader(str(path)) as f:
        onsets, _, texts = f.readAnnotations()
    assert len(texts) == 302 and sorted(set(texts)) == ["excluded: movement ch1", "excluded: settling ch0", "twitch ch0", "twitch ch1"]
    raw = mne.io.read_raw_edf(path, preload=False, verbose="error")
    assert len(raw.annotations) == 302 and raw.ch_names == ["left", "right"]
    with open_recording(path) as back:  # the events come back; the excluded stretches are not events
        assert [(e.onset_sample, e.channel) for e in back.info.annotations] == [(e.onset_sample, e.channel) for e in events]
    # more than 64 annotations a second do not fit: refused, and nothing is left behind
    crowded = tmp_path / "crowded.edf"
    with pytest.raises(InputError, match=r"321 annotations do not fit in an EDF\+ file of 5 seconds"):
        export_edf(rec, crowded, [Event(k * 15, k * 15 + 5, FS, 0, "twitch", 1, 1, 1) for k in range(321)])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dense.edf"]


@pytest.mark.parametrize("bdf", [False, True])
def test_edf_export_keeps_a_last_part_second(tmp_path, bdf):
    import mne
    import pyedflib

    from kneeemg.io.edf import END_NOTE

    x = signal_uv(4321, 2)
    rec = ArrayRecording(x, RecordingInfo(fs_hz=FS, labels=("left", "right"), n_samples=4321))
    path = tmp_path / ("n.bdf" if bdf else "n.edf")
    export_edf(rec, path, [Event(4200, 4300, FS, 1, "twitch", 80, 30, 20)], bdf=bdf)
    with pyedflib.EdfReader(str(path)) as f:  # whole records: the last one padded with the last sample, and marked
        assert list(f.getNSamples()) == [5000, 5000]
        np.testing.assert_allclose(f.readSignal(1)[4320:], x[-1, 1], atol=np.ptp(x) * 2.0 ** -14)
        onsets, durations, texts = f.readAnnotations()
    assert list(texts) == ["twitch ch1", END_NOTE] and onsets[1] == 4.321 and durations[1] == pytest.approx(0.679)
    raw = (mne.io.read_raw_bdf if bdf else mne.io.read_raw_edf)(path, preload=False, verbose="error")
    assert END_NOTE in raw.annotations.description
    with open_recording(path) as back:  # read back to the recording's end, the last event with it
        assert back.info.n_samples == 4321
        np.testing.assert_allclose(back.read(), x, atol=np.ptp(x) * 2.0 ** -14)
        assert [(e.onset_sample, e.channel) for e in back.info.annotations] == [(4200, 1)]
    whole = tmp_path / ("w.bdf" if bdf else "w.edf")  # a recording of whole seconds has nothing to mark
    export_edf(ArrayRecording(x[:4000], RecordingInfo(fs_hz=FS, labels=("left", "right"), n_samples=4000)), whole, bdf=bdf)
    with pyedflib.EdfReader(str(whole)) as f:
        assert list(f.getNSamples()) == [4000, 4000] and len(f.readAnnotations()[2]) == 0


@pytest.mark.parametrize("bdf", [False, True])
@pytest.mark.parametrize("failure", ["short", "error"])
def test_an_edf_export_that_falls_short_leaves_nothing(tmp_path, monkeypatch, bdf, failure):
    # a full disk: edflib's writes fall short without a word (one channel), or it raises an
    # error without an errno (two channels); either way nothing is left and the error says why
    import kneeemg.io.edf as edf
    from kneeemg.errors import KneeEmgError

    write = edf._write_edf

    def falls_short(pyedflib, rec, path, *args):
        write(pyedflib, rec, path, *args)
        if failure == "error":
            raise OSError("Unknown error while calling blockWriteSamples: -1")
        os.truncate(path, path.stat().st_size - 700)  # (what a disk that filled up leaves)

    x = signal_uv(3000, 2)
    rec = ArrayRecording(x, RecordingInfo(fs_hz=FS, labels=("left", "right"), n_samples=3000))
    assert edf._edf_size(export_edf(rec, tmp_path / ("ok.bdf" if bdf else "ok.edf"), bdf=bdf)) == \
        (tmp_path / ("ok.bdf" if bdf else "ok.edf")).stat().st_size  # (the size the header gives is the file's)
    monkeypatch.setattr(edf, "_write_edf", falls_short)
    path = tmp_path / ("n.bdf" if bdf else "n.edf")
    with pytest.raises(KneeEmgError, match=r"could not be written whole \(nothing was written\): the disk is full"):
        export_edf(rec, path, bdf=bdf)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.bdf" if bdf else "ok.edf"]


def test_an_edf_export_of_values_no_header_can_hold_is_refused(tmp_path):
    # a file read in the wrong unit (volts taken as such, then in µV): EDF gives each limit in 8 characters
    x = signal_uv(2000, 1) * 1e7
    rec = ArrayRecording(x, RecordingInfo(fs_hz=FS, labels=("EMG",), n_samples=2000))
    with pytest.raises(InputError, match=r"channel EMG spans .* µV, more than an EDF file can hold .* check the recording's unit"):
        export_edf(rec, tmp_path / "v.bdf", bdf=True)
    assert list(tmp_path.iterdir()) == []


def test_edf_export_keeps_long_and_accented_labels_apart(tmp_path):
    # EDF labels are 16 ASCII characters: cut at 16, both of these were "vastus_medialis_"
    x = signal_uv(2000, 3)
    labels = ("vastus_medialis_left", "vastus_medialis_right", "gauche é")
    export_edf(ArrayRecording(x, RecordingInfo(fs_hz=FS, labels=labels, n_samples=2000)), tmp_path / "n.bdf", bdf=True)
    with open_recording(tmp_path / "n.bdf") as back:
        assert back.info.labels == ("vastus_~lis_left", "vastus_~is_right", "gauche e")


def test_edf_export_keeps_the_recordings_gaps(tmp_path):
    # samples lost on the way from the sensor stay lost time, not a flat or saturated stretch
    from kneeemg.io.base import Gap

    x = signal_uv(9000, 2)
    gaps = [Gap(2000, 1500, "lost"), Gap(6000, 700, "missing")]
    rec = ArrayRecording(x, RecordingInfo(fs_hz=FS, labels=("left", "right"), n_samples=9000, gaps=gaps))
    export_edf(rec, tmp_path / "g.edf")
    with open_recording(tmp_path / "g.edf") as back:
        assert back.info.gaps == gaps and back.info.annotations == []


def test_edf_export_writes_a_start_with_a_time_zone_in_local_time(tmp_path, monkeypatch):
    from datetime import datetime, timezone

    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    try:
        utc = datetime(2026, 11, 20, 22, 30, 5, tzinfo=timezone.utc)  # a live recording's start
        info = RecordingInfo(fs_hz=FS, labels=("left",), n_samples=3000, start_time=utc)
        export_edf(ArrayRecording(signal_uv(3000, 1), info), tmp_path / "n.edf")
        with open_recording(tmp_path / "n.edf") as back:
            assert back.info.start_time == datetime(2026, 11, 20, 23, 30, 5)  # the clock in Berlin then
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def _discontinuous(path, onsets, bdf=False):
    """``path`` (an EDF+/BDF+ file of one-second records) made discontinuous: its records start at ``onsets`` (s)."""
    data = bytearray(path.read_bytes())
    ns = int(data[252:256])
    per_record = [int(data[256 + ns * 216 + i * 8 : 256 + ns * 216 + (i + 1) * 8]) for i in range(ns)]
    width = 3 if bdf else 2
    header, record = 256 * (ns + 1), sum(per_record) * width
    tal_at, tal_bytes = sum(per_record[:-1]) * width, per_record[-1] * width  # (the annotation signal comes last)
    data[192:197] = b"BDF+D" if bdf else b"EDF+D"
    for k, onset in enumerate(onsets):
        at = header + k * record + tal_at
        tal = bytes(data[at : at + tal_bytes])
        rest = tal[tal.index(b"\x00") + 1 :]
        data[at : at + tal_bytes] = (f"+{onset:g}".encode() + b"\x14\x14\x00" + rest)[:tal_bytes].ljust(tal_bytes, b"\x00")
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("bdf", [False, True])
def test_a_discontinuous_edf_is_read_with_its_pauses_as_lost_time(tmp_path, monkeypatch, bdf):
    x = signal_uv(5000, 2)
    path = tmp_path / ("d.bdf" if bdf else "d.edf")
    events = [Event(1200, 1260, FS, 0, "twitch", 80, 30, 20), Event(3500, 3560, FS, 1, "twitch", 80, 30, 20)]
    export_edf(ArrayRecording(x, RecordingInfo(fs_hz=FS, labels=("left", "right"), n_samples=5000)), path, events, bdf=bdf)
    with open_recording(path) as rec:
        x = rec.read()  # (as stored)
    # a pause of 10 s after the second record, another of 2.4 s (rounded to 2 whole records) after the fourth
    _discontinuous(path, [0, 1, 12, 13, 16.4], bdf)
    before = path.read_bytes()
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    with open_recording(path) as rec:
        assert rec.info.warnings == [f"the file is discontinuous ({'BDF' if bdf else 'EDF'}+D): its recording paused 2 "
                                     "times, 12 s in all, read as lost time (the records after a pause are moved by up "
                                     "to 400 ms, to whole records of 1 s)"]
        assert [(g.start_sample, g.n_samples) for g in rec.info.gaps] == [(2000, 10000), (14000, 2000)]
        y = rec.read()
        assert len(y) == 17000 and list(temp.iterdir()) != []
        np.testing.assert_array_equal(y[:2000], x[:2000])
        np.testing.assert_array_equal(y[12000:14000], x[2000:4000])
        np.testing.assert_array_equal(y[16000:], x[4000:])
        assert (y[2000:12000] == x[1999]).all() and (y[14000:16000] == x[3999]).all()  # held at the last value
        # annotations keep their times from the start (EDF+: the same in a continuous and a discontinuous file)
        assert [e.onset_sample for e in rec.info.annotations] == [1200, 3500]
    assert list(temp.iterdir()) == [] and path.read_bytes() == before  # the copy is gone, the file untouched
    from kneeemg import replay

    res = replay(path)
    assert res.lost_s == 12.0
    assert sorted({(iv.start_s, iv.stop_s) for iv in res.excluded if iv.reason == "lost"}) == [(2.0, 12.0), (14.0, 16.0)]


def test_a_discontinuous_edf_whose_records_go_back_in_time_or_span_too_long_is_refused(tmp_path):
    path = _edf_file(tmp_path, "d.edf", n=4000)
    _discontinuous(path, [0, 5, 5.2, 9])
    with pytest.raises(RecordingFormatError, match=r"d.edf: data record 3 starts at 5.2 s, before the one before it has "
                                                   r"ended; export the recording again as EDF\+C"):
        open_recording(path)
    path = _edf_file(tmp_path, "long.edf", n=4000)  # a pause of 10 days would be written out in full: refused
    _discontinuous(path, [0, 1, 864000, 864001])
    with pytest.raises(RecordingFormatError, match=r"long.edf: its data records span 240 h 00 min from the first to the "
                                                   r"last, pauses included, more than the 7 days kneeemg reads"):
        open_recording(path)


def test_csv_with_time_column_and_without(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text("time,VM,RF\n" + "\n".join(f"{i / 2000:.4f},{i % 7},{-i % 5}" for i in range(3000)))
    with open_recording(p, channels=["rf"]) as rec:
        assert rec.info.fs_hz == 2000.0 and rec.info.labels == ("RF",) and rec.info.n_samples == 3000
    q = tmp_path / "b.csv"
    q.write_text("VM\n" + "\n".join(str(i % 3) for i in range(1000)))
    with pytest.raises(InputError, match="--fs"):
        open_recording(q)
    assert open_recording(q, fs_hz=1000).info.fs_hz == 1000.0


@pytest.mark.parametrize(
    "content, name, match",
    [(b"", "e.edf", "empty"), (b"hello there", "x.bin", "unknown recording format"), (b"KEMG\x01\x00", "t.kemg", "truncated|not a kneeemg")],
)
def test_bad_files_get_one_line_errors(tmp_path, content, name, match):
    p = tmp_path / name
    p.write_bytes(content)
    with pytest.raises(InputError, match=match) as info:
        open_recording(p)
    assert "\n" not in str(info.value)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_pipe_is_refused_as_no_regular_file_not_as_empty(tmp_path):
    fifo = tmp_path / "night.kemg"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match=r"night.kemg is not a regular file \(a pipe or a device\); save the recording"):
        open_recording(fifo)


def test_missing_file_and_channel(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        open_recording(tmp_path / "nope.edf")
    p = tmp_path / "a.kemg"
    with RecordingWriter(p, FS, ["left"]) as w:
        w.write(np.zeros((100, 1)))
    with pytest.raises(InputError, match="no channel named 'VM'; its channels are left"):
        open_recording(p, channels=["VM"])
    with pytest.raises(InputError, match="no channel named '\u00b2'; its channels are left"):  # a digit, not a number
        open_recording(p, channels=["\u00b2"])
    with pytest.raises(InputError, match=r"channel index 999999999999999999\.\.\. \(5000 digits\) is out of range; it has 1 "
                                         r"channel$"):  # (more digits than int() takes)
        open_recording(p, channels=["9" * 5000])


def test_a_label_that_several_channels_share_is_refused_and_each_is_chosen_by_index(tmp_path):
    p = tmp_path / "dup.csv"
    p.write_text("time,EMG,emg,RF\n" + "\n".join(f"{i / 1000:.4f},{i % 7},{-i % 5},{i % 3}" for i in range(3000)))
    with pytest.raises(InputError, match=r"2 channels are labelled 'EMG' \(indices 0, 1\); choose them by index") as info:
        open_recording(p, channels=["EMG"])
    assert "\n" not in str(info.value)
    with open_recording(p, channels=["1", "rf"]) as rec:
        assert rec.info.labels == ("emg", "RF") and rec.read(0, 3)[:, 0].tolist() == [0.0, 4.0, 3.0]


def test_real_files_open_with_the_right_rate_and_channels(data_dir):
    with open_recording(data_dir / "uci-lower-limb/N_TXT/1Nsen.txt") as rec:
        assert rec.info.fs_hz == 1000.0 and rec.info.labels == ("RF", "BF", "VM", "ST")
        assert "FX" in rec.info.extra and len(rec.info.extra["FX"][0]) == rec.info.n_samples
        assert 14.0 < rec.info.duration_s < 16.0
        assert np.abs(rec.read()).max() < 5000  # mV converted to µV
    with open_recording(data_dir / "uci-lower-limb/A_TXT/1Asen.txt", channels=["VM"]) as rec:
        assert rec.info.labels == ("VM",)  # the Spanish names are mapped
    with open_recording(data_dir / "physionet-emgdb/emg_healthy.hea") as rec:
        assert rec.info.fs_hz == 4000.0 and rec.info.duration_s == pytest.approx(12.7, abs=0.1)
    with open_recording(data_dir / "musclesynergies/ID0012_TW_01_emg.csv", channels=["VM", "RF"]) as rec:
        assert rec.info.fs_hz == 1000.0 and rec.info.labels == ("VM", "RF")
    with pytest.raises(ConfigError, match="--resample 1000"):
        open_recording(data_dir / "emggo/sample_data_TA_250Hz.mat")
    with open_recording(data_dir / "emggo/sample_data_TA_250Hz.mat", resample_hz=1000) as rec:
        assert rec.info.fs_hz == 1000.0 and rec.info.duration_s == pytest.approx(549.7, abs=0.1)


@pytest.mark.parametrize("bdf", [False, True])
def test_a_truncated_edf_is_read_to_its_last_whole_record_with_a_warning(tmp_path, capfd, monkeypatch, bdf):
    # a copy or an export cut short, a recorder that stopped while writing: what is whole is read
    x = signal_uv(4000, 2)
    path = tmp_path / ("n.bdf" if bdf else "n.edf")
    events = [Event(1000, 1050, FS, 0, "twitch", 80, 30, 20), Event(3500, 3550, FS, 1, "twitch", 80, 30, 20)]
    export_edf(ArrayRecording(x, RecordingInfo(fs_hz=FS, labels=("left", "right"), n_samples=4000)), path, events, bdf=bdf)
    with open_recording(path) as rec:  # the whole file reads
        assert rec.info.n_samples == 4000 and rec.info.warnings == []
        whole = rec.read()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 700])  # the last of the 4 one-second records, cut
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    capfd.readouterr()
    with open_recording(path) as rec:
        assert rec.info.warnings == [f"the file is cut short: its header announces 4 data records ({len(data)} bytes) but the "
                                     f"file has {len(data) - 700} bytes; the 3 whole data records it holds are read"]
        assert rec.info.n_samples == 3000 and list(temp.iterdir()) != []  # read through a copy of the whole records
        np.testing.assert_array_equal(rec.read(), whole[:3000])
        assert [e.onset_sample for e in rec.info.annotations] == [1000]  # the annotations of those records
    assert list(temp.iterdir()) == []  # the copy goes when the recording is closed
    assert path.read_bytes() == data[: len(data) - 700]  # the file itself is left as it is
    assert capfd.readouterr().out == ""  # nothing printed by the reader underneath
    path.write_bytes(data[: len(data) - 3 * (len(data) - 256 * 4) // 4 - 700])  # not one whole record
    with pytest.raises(RecordingFormatError, match=r"the file is cut short: .* not one whole data record; copy or export"):
        open_recording(path)
    assert list(temp.iterdir()) == []


def test_csv_time_column_is_told_from_the_header_alone(tmp_path):
    from kneeemg.io.text import csv_has_time_column

    cases = {"a.csv": "time,VM\n0,1\n", "b.tsv": "VM\tRF\n1\t2\n", "c.csv": "Seconds;left\n0;1\n", "d.csv": "", "e.csv": "1 2\n3 4\n"}
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
    assert [csv_has_time_column(tmp_path / n) for n in cases] == [True, False, True, False, False]
    assert not csv_has_time_column(tmp_path / "missing.csv")


def _kemg_with_header(tmp_path, name, body: bytes, n=3000, ch=2):
    """A .kemg file whose header JSON is ``body`` (with a valid CRC) and whose blocks are good."""
    import struct
    import zlib

    src = tmp_path / f"src-{name}"
    with RecordingWriter(src, FS, [f"c{i}" for i in range(ch)]) as w:
        w.write(signal_uv(n, ch))
    data = src.read_bytes()
    rest = data[10 + int.from_bytes(data[6:10], "little") + 4 :]
    path = tmp_path / name
    path.write_bytes(b"KEMG" + struct.pack("<HI", 1, len(body)) + body + struct.pack("<I", zlib.crc32(body)) + rest)
    return path


def _header(**changes):
    import json

    h = {"fs_hz": 1000.0, "labels": ["c0", "c1"], "units": "uV", "sample_format": "float32", "start_time": None,
         "device": "", "meta": {}}
    h.update(changes)
    return json.dumps({k: v for k, v in h.items() if v != "DROP"}).encode()


@pytest.mark.parametrize("body, match", [
    (b"{not json", "not a JSON object"), (b"[1, 2]", "not a JSON object"), (b'{"fs_hz": 1000, "labels": ["\xff"]}', "not a JSON object"),
    (_header(fs_hz=None), "fs_hz is None"), (_header(fs_hz="DROP"), "fs_hz is None"), (_header(fs_hz="fast"), "fs_hz is 'fast'"),
    (_header(fs_hz=0), "fs_hz is 0"), (_header(fs_hz=-1000), "fs_hz is -1000"),
    (_header(labels="c0"), "labels is 'c0'"), (_header(labels=[1, 2]), "labels is \\[1, 2\\]"),
    (_header(units="furlong"), "units is 'furlong'"),
    (_header(labels=["a", "b", "c"]), "lists 3 channel labels \\(a, b, c\\) but its 3 data blocks have 2 channels"),
])
def test_kemg_header_content_is_checked_even_when_its_crc_is_valid(tmp_path, body, match):
    path = _kemg_with_header(tmp_path, "h.kemg", body)
    for resample_hz in (None, 1000):  # a rate of 0 or below is damage, not a case for --resample
        with pytest.raises(RecordingFormatError, match=match) as info:
            open_recording(path, resample_hz=resample_hz)
        assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_kemg_header_start_time_and_units(tmp_path):
    good = _kemg_with_header(tmp_path, "good.kemg", _header())
    bad_start = _kemg_with_header(tmp_path, "start.kemg", _header(start_time="yesterday"))
    with open_recording(bad_start) as rec, open_recording(good) as ref:  # the samples are still read
        assert rec.info.start_time is None and rec.info.warnings == [
            "the start time 'yesterday' in the header is not an ISO 8601 date and time; read without a start time"]
        np.testing.assert_array_equal(rec.read(), ref.read())
        with open_recording(_kemg_with_header(tmp_path, "mv.kemg", _header(units="mV"))) as mv:  # honoured: scaled to µV
            np.testing.assert_allclose(mv.read(), ref.read() * 1000)
            np.testing.assert_allclose(mv.read(100, 200), ref.read(100, 200) * 1000)


def test_resample_keeps_gaps_and_annotations(tmp_path):
    path = tmp_path / "g.kemg"
    with RecordingWriter(path, FS, ["c"]) as w:
        w.write(signal_uv(3000, 1))
        w.mark_gap(3000, 1000)
        w.write(signal_uv(2000, 1))
    with open_recording(path, resample_hz=2000) as rec:
        assert rec.info.n_samples == 12000 and [(g.start_sample, g.n_samples, g.reason) for g in rec.info.gaps] == [(6000, 2000, "lost")]
        assert rec.info.lost_s == pytest.approx(1.0)
        y = rec.read()
        assert (y[6000:8000] == y[5999]).all()  # held flat, so the detector excludes it as it does unresampled
    edf = tmp_path / "a.edf"
    events = [Event(3000, 3020, FS, 1, "twitch", 80, 30, 20, "right")]
    export_edf(ArrayRecording(signal_uv(5000, 2), RecordingInfo(fs_hz=FS, labels=("left", "right"), n_samples=5000)), edf, events)
    with open_recording(edf, resample_hz=500) as rec:
        assert [(e.kind, e.channel, e.onset_sample, e.offset_sample, e.fs_hz) for e in rec.info.annotations] == [
            ("twitch", 1, 1500, 1510, 500.0)]


def test_recordings_too_short_for_a_noise_floor_are_refused(tmp_path):
    for n, ok in ((1, False), (3, False), (249, False), (250, True)):
        path = tmp_path / f"n{n}.kemg"
        with RecordingWriter(path, FS, ["c"]) as w:
            w.write(np.zeros((n, 1)))
        if ok:
            assert open_recording(path).info.n_samples == n
        else:
            said = "1 sample" if n == 1 else f"{n} samples"
            with pytest.raises(InputError, match=rf"{path} holds only {said} \(.* s\), too short .* at least 0.25 s"):
                open_recording(path)


def test_counts_of_one_are_said_in_the_singular():
    from kneeemg.io.array import channel_indices

    with pytest.raises(InputError, match=r"channel index 3 is out of range; it has 1 channel$"):
        channel_indices(("left",), [3], "f.csv")
    with pytest.raises(InputError, match=r"does not match 1 sample x 2 channels$"):
        ArrayRecording(np.zeros((2, 1)), RecordingInfo(fs_hz=FS, labels=("a", "b"), n_samples=1))


def _edf_file(tmp_path, name="a.edf", n=5000, start_time=None):
    path = tmp_path / name
    info = RecordingInfo(fs_hz=FS, labels=("left", "right"), n_samples=n, start_time=start_time)
    export_edf(ArrayRecording(signal_uv(n, 2), info), path)
    return path


def _plain_edf(tmp_path, name, n=5000):
    """An EDF (not EDF+: no annotation signal) of two 1000 Hz channels, ``n`` samples each."""
    import pyedflib

    path = tmp_path / name
    with pyedflib.EdfWriter(str(path), 2, file_type=pyedflib.FILETYPE_EDF) as w:
        w.setSignalHeaders([{"label": lab, "dimension": "uV", "sample_frequency": 1000, "physical_min": -500.0,
                             "physical_max": 1000.0, "digital_min": -32768, "digital_max": 32767} for lab in ("left", "right")])
        w.writeSamples([np.ascontiguousarray(c) for c in signal_uv(n, 2).T])
    return path


def _patch(path, offset, value: bytes):
    data = bytearray(path.read_bytes())
    data[offset : offset + len(value)] = value
    path.write_bytes(bytes(data))


def test_edf_with_a_damaged_header_gets_one_line_errors(tmp_path, monkeypatch):
    import pyedflib

    path = _plain_edf(tmp_path, "a.edf")
    _patch(path, 244, b"0       ")  # record duration 0: pyedflib divides by it
    with pytest.raises(RecordingFormatError, match="damaged header: its data records last 0 s"):
        open_recording(path)
    path = _plain_edf(tmp_path, "b.edf")
    digital_min = 256 + 2 * (16 + 80 + 8 + 8 + 8)  # after label, transducer, dimension, physical min and max
    _patch(path, digital_min, b"32767   ")
    with pytest.raises(RecordingFormatError, match="channel 'left' has its digital minimum equal to its maximum"):
        open_recording(path)
    with open_recording(path, channels=["right"]) as rec:  # the other channel still reads
        assert rec.info.n_samples == 5000

    def broken(self, *args):
        raise ValueError("bad field")

    monkeypatch.setattr(pyedflib.EdfReader, "getPhysicalDimension", broken)
    with pytest.raises(RecordingFormatError, match=r"c.edf: not a readable EDF/BDF file \(damaged header: bad field\)"):
        open_recording(_plain_edf(tmp_path, "c.edf"))


def test_edf_with_more_records_than_its_header_says_is_read_with_a_warning(tmp_path):
    path = _plain_edf(tmp_path, "a.edf", n=6000)
    _patch(path, 236, b"3       ")
    with open_recording(path) as rec:
        assert rec.info.n_samples == 3000
        assert rec.info.warnings == ["the file holds 3 more data records than the 3 its header announces; "
                                     "only those 3 are read (the header may be damaged)"]
    for whole in (_plain_edf(tmp_path, "whole.edf"), _edf_file(tmp_path, "plus.edf")):
        with open_recording(whole) as rec:
            assert rec.info.warnings == []


def test_edf_export_without_a_start_time_reads_back_without_one(tmp_path):
    import datetime

    import pyedflib

    path = _edf_file(tmp_path)
    with pyedflib.EdfReader(str(path)) as f:
        assert f.getStartdatetime() == datetime.datetime(1985, 1, 1)  # EDF+'s "unknown", not the export's time
    assert open_recording(path).info.start_time is None
    start = datetime.datetime(2024, 3, 5, 22, 47, 10)
    assert open_recording(_edf_file(tmp_path, "s.edf", start_time=start)).info.start_time == start


def test_kemg_warnings_are_returned_not_logged_as_well(tmp_path, caplog):
    import logging

    path = tmp_path / "cut.kemg"
    with RecordingWriter(path, FS, ["c"]) as w:
        w.write(signal_uv(4000, 1))
    path.write_bytes(path.read_bytes()[:-100])
    with caplog.at_level(logging.DEBUG), open_recording(path) as rec:
        assert len(rec.info.warnings) == 1 and "cut short" in rec.info.warnings[0]
    assert not [r for r in caplog.records if r.name.startswith("kneeemg")]


def _text_csv(tmp_path, name, header, rows):
    path = tmp_path / name
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return path


def test_mat_file_that_is_not_matlab_is_a_one_line_error(tmp_path):
    path = tmp_path / "fake.mat"
    path.write_text("not matlab\n")
    with pytest.raises(RecordingFormatError, match="fake.mat: cannot read the MATLAB file") as info:
        open_recording(path)
    assert "\n" not in str(info.value)


def test_a_compressed_mat_file_with_damaged_bytes_is_a_one_line_error(tmp_path):
    from scipy.io import savemat

    path = tmp_path / "night.mat"
    savemat(path, {"EMG": {"channelData": np.random.default_rng(0).normal(0, 3, 5000), "fs": 1000.0}}, do_compression=True)
    data = bytearray(path.read_bytes())
    data[-40:-20] = bytes(20)  # inside the compressed variable: zlib's check fails
    path.write_bytes(bytes(data))
    with pytest.raises(RecordingFormatError, match=r"night\.mat: cannot read the MATLAB file \(Error -3 while decompressing") as info:
        open_recording(path)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("data, fs, match", [
    (np.zeros(5000), "abc", r"EMG\.fs must be one number, the sampling rate in Hz \(it holds text\)"),
    (np.zeros(5000), np.array([1000.0, 1000.0]), r"EMG\.fs must be one number.*\(it holds numbers of shape 2\)"),
    ("abc", 1000, r"EMG\.channelData must be a matrix of numbers, samples x channels \(it holds text\)"),
    (np.array([np.zeros(100), np.zeros(50)], dtype=object), 1000, r"EMG\.channelData .*\(it holds cells or structs of shape 2\)"),
    (np.zeros(5000) + 1j, 1000, r"EMG\.channelData .*\(it holds complex numbers of shape 5000\)"),
    (np.zeros((100, 20, 10)), 1000, r"EMG\.channelData .*\(it holds numbers of shape 100x20x10\)"),
], ids=["fs-text", "fs-two", "data-text", "data-cells", "data-complex", "data-3d"])
def test_a_mat_file_whose_emg_struct_holds_other_things_is_a_one_line_error(tmp_path, data, fs, match):
    from scipy.io import savemat

    p = tmp_path / "odd.mat"
    savemat(p, {"EMG": {"channelData": data, "fs": fs}})
    with pytest.raises(RecordingFormatError, match=r"^" + str(p).replace(".", r"\.") + ": " + match) as info:
        open_recording(p)
    assert "\n" not in str(info.value)


def _uci_text(n_values, n_rows, unit="mV"):
    head = "".join(f"Channel {i + 1}: '{name}', {n_values} values, engineering units: {u}, no filters.\r\n"
                   for i, (name, u) in enumerate([("RF", unit), ("VM", unit), ("FX", "deg")]))
    return "File Name: x.log\r\n" + head + "\r\n" + "".join(f"0.00{i % 7}\t-0.00{i % 5}\t70.1\r\n" for i in range(n_rows))


def test_a_uci_file_cut_short_is_read_with_a_note_and_one_without_emg_is_refused(tmp_path):
    whole, cut, odd = tmp_path / "1Nsen.txt", tmp_path / "2Nsen.txt", tmp_path / "3Nsen.txt"
    whole.write_text(_uci_text(3000, 3000))
    cut.write_text(_uci_text(3000, 1200))
    odd.write_text(_uci_text(3000, 3000, unit="furlong"))
    with open_recording(whole) as rec:
        assert rec.info.format == "uci-text" and rec.info.n_samples == 3000 and rec.info.warnings == []
    with open_recording(cut) as rec:
        assert rec.info.n_samples == 1200
        assert rec.info.warnings == ["2Nsen.txt: its header announces 3000 samples per channel, but only 1200 rows of 3 "
                                     "numbers were read (the file was cut short, or lines were left out)"]
    with pytest.raises(RecordingFormatError, match=r"3Nsen.txt: no channel is in a voltage unit \(its units: furlong, "
                                                   r"deg\); kneeemg reads EMG in uV"):
        open_recording(odd)


def test_csv_lines_that_are_not_numbers_are_refused_with_their_line_not_dropped(tmp_path):
    rows = [f"{i / 1000:.3f},{i % 7}" for i in range(3000)]
    na_rows = [f"{r.split(',')[0]},NA" if 1000 <= i < 1100 and i % 2 else r for i, r in enumerate(rows)]
    na = _text_csv(tmp_path, "na.csv", "time,EMG", na_rows)
    with pytest.raises(InputError, match=r"na.csv: line 1003 \('1.001,NA'\) is not 2 numbers, nor are 49 more lines; fill in"):
        open_recording(na)
    text = _text_csv(tmp_path, "text.csv", "time,EMG", rows[:2000] + ["2.000,abc"] + rows[2001:])
    with pytest.raises(InputError, match=r"text.csv: line 2002 \('2.000,abc'\) is not 2 numbers; fill in"):
        open_recording(text)
    wide = _text_csv(tmp_path, "wide.csv", "A,B", [f"{i % 3},{i % 5}" for i in range(2500)] + ["1"] + ["1,2"] * 10)
    with pytest.raises(InputError, match=r"line 2502 \('1'\) is not 2 numbers"):
        open_recording(wide, fs_hz=1000)
    # a units line under the header is no sample; a cut last line (a file still being written) is left out, with a note
    cut = _text_csv(tmp_path, "cut.csv", "time,EMG\ns,uV", rows + ["3.000,"])
    with open_recording(cut) as rec:
        assert rec.info.n_samples == 3000 and rec.info.warnings == ["the last line (3003: '3.000,') is not 2 numbers; left out"]


def test_csv_time_jump_is_a_gap_held_at_the_last_value(tmp_path):
    rng = np.random.default_rng(1)
    t = np.r_[np.arange(3000), np.arange(6000, 9000)] / 1000 + rng.uniform(-0.0004, 0.0004, 6000)  # jitter is no jump
    path = _text_csv(tmp_path, "gap.csv", "time,EMG", [f"{s:.5f},{i}" for i, s in enumerate(t)])
    with open_recording(path) as rec:
        assert rec.info.fs_hz == 1000.0 and rec.info.n_samples == 9000
        assert [(g.start_sample, g.n_samples) for g in rec.info.gaps] == [(3000, 3000)] and rec.info.lost_s == 3.0
        x = rec.read()[:, 0]
        np.testing.assert_array_equal(x[2999:6001], [2999] * 3001 + [3000])  # held, then the samples after at 6 s


def test_csv_time_column_in_milliseconds(tmp_path):
    from kneeemg.io.text import csv_has_time_column

    rows = [f"{i},{i % 7}" for i in range(5000)]
    for header, step, fs in (("timestamp,EMG", 1, 1000.0), ("time_ms,EMG", 0.5, 2000.0), ("Time [ms],EMG", 2, 500.0),
                             ("ms,EMG", 1, 1000.0)):
        path = _text_csv(tmp_path, "ms.csv", header, [f"{1.7e12 + i * step},{i % 7}" for i in range(5000)])
        assert csv_has_time_column(path)
        with open_recording(path) as rec:
            assert rec.info.fs_hz == fs and rec.info.labels == ("EMG",) and rec.info.n_samples == 5000
    seconds = _text_csv(tmp_path, "s.csv", "time (s),EMG", rows)  # says seconds: never read as 1 Hz, never resampled
    with pytest.raises(InputError, match=r"s.csv: the time column 'time \(s\)' steps by 1 s \(1 Hz\), too slow for EMG; "
                                         r"if it counts milliseconds, name it 'time_ms'"):
        open_recording(seconds, resample_hz=1000)


@pytest.mark.parametrize("bad, said", [("NaN", "1 value that is"), ("inf", "1 value that is")], ids=["nan", "inf"])
def test_a_time_column_with_a_value_that_is_not_a_number_is_one_line(tmp_path, bad, said):
    rows = [f"{i / 1000:.3f},{i % 7}" for i in range(3000)]
    for at in (0, 1500):  # the first time (every step from it) and one in the middle
        path = _text_csv(tmp_path, "t.csv", "time,EMG", rows[:at] + [f"{bad},3"] + rows[at + 1 :])
        with pytest.raises(InputError, match=rf"t\.csv: the time column 'time' holds {said} not a finite number "
                                             r"\(such as NaN\); every row needs its time$"):
            open_recording(path)


def test_a_wfdb_header_whose_rate_overflows_is_one_line(tmp_path):
    import wfdb

    wfdb.wrsamp("r", fs=1000, units=["mV"], sig_name=["VM"], p_signal=np.zeros((3000, 1)), fmt=["16"], write_dir=str(tmp_path))
    head = (tmp_path / "r.hea").read_text().split("\n")
    head[0] = head[0].replace(" 1000 ", " " + "9" * 400 + " ")
    (tmp_path / "r.hea").write_text("\n".join(head))
    with pytest.raises(RecordingFormatError, match=r"r\.hea: cannot read the WFDB record \(OverflowError: ") as info:
        open_recording(tmp_path / "r.hea")
    assert "\n" not in str(info.value)


def test_csv_quoted_header_bom_and_time_with_unit(tmp_path):
    from kneeemg.io.text import csv_has_time_column

    rows = [f"{i / 1000:.3f},{i % 7}" for i in range(3000)]
    for name, header in (("q.csv", '"time","EMG"'), ("bom.csv", "\ufefftime,EMG"), ("u.csv", "Time (s),EMG"),
                         ("s.csv", "time_s,EMG")):
        path = tmp_path / name
        path.write_bytes((header + "\n" + "\n".join(rows)).encode("utf-8"))
        assert csv_has_time_column(path), name
        with open_recording(path) as rec:
            assert rec.info.labels == ("EMG",) and rec.info.fs_hz == 1000.0, name


def test_csv_with_only_a_time_column_names_the_file(tmp_path):
    path = _text_csv(tmp_path, "t.csv", "time", [f"{i / 1000:.3f}" for i in range(3000)])
    with pytest.raises(InputError, match="t.csv has no EMG column, only 'time'"):
        open_recording(path)


def test_a_csv_that_is_no_table_of_samples_is_said_in_one_line(tmp_path):
    from kneeemg.events import write_events_csv
    from kneeemg.simulate import simulate_night, write_simulated

    note = tmp_path / "note.csv"
    note.write_text("a note, with a comma\nanother line; here\n")
    with pytest.raises(RecordingFormatError, match="note.csv is not a table of samples"):
        open_recording(note)
    files = write_simulated(simulate_night(hours=0.01, seed=2), tmp_path / "n.kemg")
    events = write_events_csv([Event(10, 20, 1000.0, 0, "twitch", 9.0, 3.0, 6.0)], tmp_path / "events.csv")
    for path, what in ((files["truth"], "a list of events"), (events, "a list of events"),
                       (files["artefacts"], "a list of excluded or artefact stretches")):
        with pytest.raises(RecordingFormatError, match=f"is {what} .*written by kneeemg, not a recording"):
            open_recording(path)


@pytest.mark.parametrize("bdf", [False, True])
def test_an_edf_whose_name_is_not_utf8_is_written_and_read(tmp_path, bdf):
    from kneeemg.simulate import simulate_night

    night = simulate_night(hours=0.01, seed=3)
    folder = Path(os.fsdecode(os.fsencode(tmp_path) + b"/f\xfc"))  # the folder's name too
    folder.mkdir()
    path = Path(os.fsdecode(os.fsencode(folder) + (b"/n\xe4cht.bdf" if bdf else b"/n\xe4cht.edf")))
    export_edf(night, path, bdf=bdf)
    assert [p.name for p in folder.iterdir()] == [path.name]  # nothing else left beside it
    damaged = Path(os.fsdecode(os.fsencode(folder) + b"/d\xe4maged.edf"))
    damaged.write_bytes(b"0" * 300)
    with pytest.raises(RecordingFormatError, match="not a readable EDF/BDF file"):
        open_recording(damaged)
    with open_recording(path) as rec:
        x = rec.read()
    n = len(x)
    np.testing.assert_allclose(x, night.read(0, n), atol=0.05 if bdf else 2.0)
    assert not list(Path(tempfile.gettempdir()).glob("kneeemg-edf-*"))  # the link it was opened through is gone


def test_a_write_that_fails_as_the_file_closes_is_the_full_disk_message(tmp_path):
    import errno

    from kneeemg.errors import DeviceError
    from kneeemg.io import RecordingWriter

    w = RecordingWriter(tmp_path / "n.kemg", 1000.0, ("a",))
    w.write(np.zeros((500, 1)))
    real = w._fh

    class FullOnClose:  # the file object's own last flush, as it closes, finds the disk full
        def close(self):
            real.close()
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name):
            return getattr(real, name)

    w._fh = FullOnClose()
    with pytest.raises(DeviceError, match="No space left on device.*recording stopped.*free disk space"):
        w.close()
    w.close()  # closed: nothing more to do


class FullDisk:
    """A file object on a disk with ``room`` bytes left: what it is handed is buffered, and a
    flush writes what fits, then fails as a full disk does (ENOSPC)."""

    def __init__(self, real, room):
        self.real, self.room, self.pending = real, room, bytearray()

    def write(self, data):
        self.pending += data
        return len(data)

    def flush(self):
        import errno

        fits = max(0, min(len(self.pending), self.room))
        self.real.write(bytes(self.pending[:fits]))
        self.real.flush()
        del self.pending[:fits]
        self.room -= fits
        if self.pending:
            raise OSError(errno.ENOSPC, "No space left on device")

    def close(self):
        try:
            self.flush()  # a buffered file's own last flush, as it closes
        finally:
            self.real.close()

    def __getattr__(self, name):
        return getattr(self.real, name)


def test_a_full_disk_says_what_a_reader_gets_back(tmp_path):
    from kneeemg.errors import DeviceError
    from kneeemg.io.native import NativeRecording

    x = signal_uv(5000, 1)
    w = RecordingWriter(tmp_path / "n.kemg", FS, ("a",))
    w.write(x[:2000])  # two blocks of 1 s, flushed
    block = 4000 + 28  # a second of float32 samples and the block's head
    w._fh = FullDisk(w._fh, room=int(1.5 * block))  # room for one more block and a half
    with pytest.raises(DeviceError, match=r"No space left on device\); recording stopped, the first 3\.0 s are saved -- "
                                          "free disk space"):
        w.write(x[2000:5000])  # three blocks in one flush: the first of them fits whole
    assert w.saved_samples == 3000
    with pytest.raises(DeviceError):
        w.close()
    with NativeRecording(tmp_path / "n.kemg") as rec:
        assert rec.info.n_samples == 3000  # as said, not the 5 s handed to the writer
        np.testing.assert_allclose(rec.read()[:, 0], x[:3000, 0].astype(np.float32))


def test_a_disk_full_from_the_start_says_nothing_was_saved(tmp_path):
    from kneeemg.errors import DeviceError

    w = RecordingWriter(tmp_path / "n.kemg", FS, ("a",))
    w._fh = FullDisk(w._fh, room=0)  # no sample reaches the disk (at most the header, buffered before)
    with pytest.raises(DeviceError, match="recording stopped, nothing was saved -- free disk space"):
        w.write(signal_uv(1500, 1))
    with pytest.raises(DeviceError, match="nothing was saved"):
        w.close()
    assert w.saved_samples == 0


def test_more_damaged_files_are_one_line_errors(tmp_path):
    from kneeemg.errors import KneeEmgError
    from kneeemg.io import open_recording

    (tmp_path / "g.mat").write_bytes(b"MATLAB 5.0 MAT-file junk")
    (tmp_path / "a.hea").write_text("#\nrec 1 1000 3000\nrec.dat 16 200/mV 16 0 0 0 0 VM\n")  # its .dat is missing
    t = np.arange(4000) / 2000.0
    t[-1] = 1e9  # a last time far off
    (tmp_path / "jump.csv").write_text("time,EMG\n" + "\n".join(f"{a:.6f},1.0" for a in t))
    for name, words in (("g.mat", "cannot read the MATLAB file"), ("a.hea", r"signal \(\.dat\) files"),
                        ("jump.csv", "jumps by 1e\\+09 s after line 4000, more than a recording can last")):
        with pytest.raises(KneeEmgError, match=words) as err:
            open_recording(tmp_path / name)
        assert "\n" not in str(err.value)


@pytest.mark.parametrize("sep", [";", "\t"])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16"])
def test_csv_from_a_spreadsheet_with_decimal_commas_and_utf16(tmp_path, sep, encoding):
    from kneeemg.io.text import csv_has_time_column

    rng = np.random.default_rng(3)
    x = np.round(rng.normal(0, 20, (3000, 2)), 3)
    lines = [sep.join(["time", "links", "rechts"])]
    lines += [sep.join(f"{v:.3f}".replace(".", ",") for v in (i / 1000, *x[i])) for i in range(len(x))]
    path = tmp_path / "sheet.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    assert csv_has_time_column(path)
    with open_recording(path) as rec:
        assert rec.info.labels == ("links", "rechts") and rec.info.fs_hz == 1000.0
        np.testing.assert_allclose(rec.read(0, 3000), x)
    headless = tmp_path / "headless.csv"
    headless.write_bytes("\n".join(line for line in lines[1:]).encode(encoding))
    with open_recording(headless, fs_hz=1000.0) as rec:
        assert rec.info.n_samples == 3000 and len(rec.info.labels) == 3
        np.testing.assert_allclose(rec.read(0, 3000)[:, 1:], x)


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252"])
def test_a_csv_header_that_is_not_utf8_is_read_as_latin1(tmp_path, encoding):
    from kneeemg.io.text import csv_has_time_column

    x = np.round(np.random.default_rng(4).normal(0, 20, (3000, 2)), 3)
    lines = ["time,gauche é,droite ü"] + [f"{i / 1000:.3f},{x[i, 0]:.3f},{x[i, 1]:.3f}" for i in range(len(x))]
    path = tmp_path / "feuille.csv"
    path.write_bytes("\n".join(lines).encode(encoding))
    assert csv_has_time_column(path)
    with open_recording(path) as rec:
        assert rec.info.labels == ("gauche é", "droite ü") and rec.info.fs_hz == 1000.0
        np.testing.assert_allclose(rec.read(0, 3000), x)
    with open_recording(path, channels=["droite ü"]) as rec:
        np.testing.assert_allclose(rec.read(0, 3000)[:, 0], x[:, 1])


def test_a_comma_delimited_csv_is_not_read_with_decimal_commas(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("time,a\n" + "\n".join(f"{i / 1000:.3f},{i % 5}" for i in range(3000)))
    with open_recording(path) as rec:
        assert rec.info.labels == ("a",) and rec.info.fs_hz == 1000.0
        assert rec.read(0, 5)[:, 0].tolist() == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("version, message", [(0, "format version 0, which no kneeemg writes"),
                                              (9, "has format version 9; upgrade kneeemg")])
def test_a_kemg_header_of_another_version_is_refused(tmp_path, version, message):
    import struct

    path = tmp_path / "n.kemg"
    with RecordingWriter(path, 1000.0, ("a",)) as w:
        w.write(np.zeros((1000, 1)))
    raw = bytearray(path.read_bytes())
    raw[4:6] = struct.pack("<H", version)
    path.write_bytes(bytes(raw))
    with pytest.raises(RecordingFormatError, match=message):
        open_recording(path)


def test_wfdb_units_are_scaled_to_microvolts_and_unknown_units_refused(tmp_path):
    import wfdb

    x = np.random.default_rng(3).normal(0, 0.05, (3000, 1))  # 50 µV written in mV
    for unit, factor in (("mV", 1.0), ("millivolt", 1.0), ("millivolts", 1.0), ("uV", 1e3), ("microvolts", 1e3),
                         ("V", 1e-3), ("volts", 1e-3), ("nV", 1e6)):
        name = f"r_{unit}"
        wfdb.wrsamp(name, fs=1000, units=[unit], sig_name=["VM"], p_signal=x * factor, fmt=["32"], write_dir=str(tmp_path))
        with open_recording(tmp_path / f"{name}.hea") as rec:
            np.testing.assert_allclose(rec.read()[:, 0], x[:, 0] * 1000, rtol=1e-3, atol=0.01, err_msg=unit)
    two = np.c_[x, np.linspace(0, 90, 3000)]  # an EMG channel and a knee angle
    wfdb.wrsamp("angle", fs=1000, units=["millivolt", "NU"], sig_name=["VM", "FX"], p_signal=two, fmt=["32", "32"],
                write_dir=str(tmp_path))
    with pytest.raises(InputError, match=r"angle.hea: channel 'FX' is in 'NU', not a voltage unit kneeemg knows "
                                         r"\(uV .*\); choose EMG channels with --channels") as info:
        open_recording(tmp_path / "angle.hea")
    assert "\n" not in str(info.value)
    with open_recording(tmp_path / "angle.hea", channels=["VM"]) as rec:  # the EMG channel alone reads
        assert rec.info.labels == ("VM",) and rec.read().std() == pytest.approx(x.std() * 1000, rel=1e-3)


@pytest.mark.parametrize("header, units, factor, label", [
    ("time,EMG (mV)", None, 1e-3, "EMG"), ("time,EMG [V]", None, 1e-6, "EMG"), ("time,EMG_mV", None, 1e-3, "EMG"),
    ("time,EMG (uV)", None, 1.0, "EMG"), ("time,EMG (µV)", None, 1.0, "EMG"), ("time,EMG", "s,mV", 1e-3, "EMG"),
    ("time,EMG (mV)", "s,mV", 1e-3, "EMG"), ("time,EMG", None, 1.0, "EMG"), ("time,VM (left)", None, 1.0, "VM (left)"),
    ("time,EMG", "s,", 1.0, "EMG"), ("time,EMG", "ms,millivolts", 1e-3, "EMG"),
    ("time,VM_V", None, 1.0, "VM_V"),  # a bare _V ends names as often as it means volts
    ("time,EMG", ",left leg", 1.0, "EMG"),  # a line of descriptions, not units: skipped
])
def test_csv_units_in_the_label_or_a_units_line_are_scaled_to_microvolts(tmp_path, header, units, factor, label):
    x = np.random.default_rng(5).normal(0, 50, 3000)  # µV
    step = 1.0 if units and units.startswith("ms") else 0.001
    rows = [f"{i * step:.3f},{v * factor:.9g}" for i, v in enumerate(x)]
    path = _text_csv(tmp_path, "u.csv", header + ("\n" + units if units else ""), rows)
    with open_recording(path) as rec:
        assert rec.info.labels == (label,) and rec.info.fs_hz == 1000.0
        np.testing.assert_allclose(rec.read()[:, 0], x, rtol=1e-6)
    full = header.split(",")[1]
    for choice in {full, label, full.lower()}:  # chosen by the label as written in the file, or without its unit
        with open_recording(path, channels=[choice]) as rec:
            assert rec.info.labels == (label,), choice


def test_csv_units_that_are_not_voltages_are_refused(tmp_path):
    rows = [f"{i / 1000:.3f},{i % 7},{i % 5}" for i in range(3000)]
    for units, match in (("s,mV,furlong", r"u.csv: the units line gives column 'RF' in 'furlong', not a voltage unit "
                                          r"kneeemg knows \(uV .*\); write one of these there"),
                         ("s,mV", r"the units line \(line 2\) has 2 cells for 3 columns; give one unit per column"),
                         ("s,uV,mV", r"column 'VM \(mV\)' says mV in its label but uV in the units line"),
                         ("hours,mV,mV", r"the units line gives the time column 'time' in 'hours'; write s or ms")):
        path = _text_csv(tmp_path, "u.csv", "time,VM (mV),RF\n" + units, rows)
        with pytest.raises(InputError, match=match) as info:
            open_recording(path)
        assert "\n" not in str(info.value)
    clash = _text_csv(tmp_path, "t.csv", "time (ms),VM (mV),RF\ns,mV,mV", rows)
    with pytest.raises(InputError, match=r"the time column 'time \(ms\)' says ms in its name but s in the units line"):
        open_recording(clash)
    both = _text_csv(tmp_path, "b.csv", "time,EMG (mV),EMG (uV)", rows)  # the units alone tell these apart: kept
    with open_recording(both, channels=["emg (uv)"]) as rec:
        assert rec.info.labels == ("EMG (uV)",)


@pytest.mark.parametrize("fs", [2048.0, 3000.0, 1925.926, 999.5])
@pytest.mark.parametrize("decimals", [4, 9])
def test_csv_rate_from_a_time_column_rounded_to_few_decimals(tmp_path, fs, decimals):
    n = 20000
    t = np.arange(n + 1000) / fs
    keep = np.r_[0:12000, 13000:n + 1000]  # 1000 samples lost after the 12000th
    path = _text_csv(tmp_path, "r.csv", "time,EMG", [f"{t[i]:.{decimals}f},{i % 7}" for i in keep])
    with open_recording(path) as rec:
        precision = 2 * 10.0 ** -decimals / t[-1]  # what the column's times can tell, relative
        if fs == round(fs):
            assert rec.info.fs_hz == fs
        else:
            assert rec.info.fs_hz != round(rec.info.fs_hz) and abs(rec.info.fs_hz / fs - 1) < precision
        assert rec.info.n_samples == n + 1000 and [(g.start_sample, g.n_samples) for g in rec.info.gaps] == [(12000, 1000)]
    no_time = _text_csv(tmp_path, "f.csv", "EMG", [str(i % 7) for i in range(3000)])
    assert open_recording(no_time, fs_hz=fs).info.fs_hz == fs  # a rate given is used as it is


@pytest.mark.parametrize("fs, decimals", [(2048.0, 4), (3000.0, 4), (1925.926, 4), (999.5, 9)])
def test_csv_with_rounded_times_replays_bursts_at_their_time(tmp_path, fs, decimals):
    from kneeemg import replay
    from signals import bursts

    x, truth = bursts(fs_hz=fs, seconds=14.0, n_channels=1, artefacts=False)
    t = np.arange(len(x)) / fs
    path = _text_csv(tmp_path, "b.csv", "time,EMG", [f"{s:.{decimals}f},{v:.3f}" for s, v in zip(t, x[:, 0])])
    found = replay(path).events
    assert [e.kind for e in found] == [kind for *_, kind in truth]
    assert all(abs(e.onset_s - onset) < 0.015 for e, (_, onset, _, _) in zip(found, truth))  # a 2000 Hz rate put 6.0 s at 6.14 s


def _edf(tmp_path, name, seed=0):
    path = tmp_path / name
    x = signal_uv(4000, 1, seed=seed)
    export_edf(ArrayRecording(x, RecordingInfo(fs_hz=FS, labels=("left",), n_samples=4000)), path)
    with open_recording(path) as rec:
        return path, rec.read()


def test_an_edf_file_open_twice_says_so_and_no_reader_reads_zeros(tmp_path, capfd):
    import gc

    path, x = _edf(tmp_path, "n.edf")
    first = open_recording(path)
    for _ in range(2):  # the second open used to close the first reader's file: the third read zeros
        with pytest.raises(InputError, match=r"n.edf is already open in this program .*; close the other reader of it "
                                             r"first") as info:
            open_recording(path)
        assert "\n" not in str(info.value) and "complete" not in str(info.value)
    gc.collect()
    np.testing.assert_array_equal(first.read(), x)
    first.close()
    with pytest.raises(InputError, match="was closed; open it again"):
        first.read()
    with open_recording(path) as again:
        np.testing.assert_array_equal(again.read(), x)
    assert capfd.readouterr().out == ""


def test_a_failed_edf_open_leaves_other_open_files_readable(tmp_path, capfd):
    import gc

    import pyedflib

    path, x = _edf(tmp_path, "a.edf")
    other, y = _edf(tmp_path, "b.edf", seed=1)
    bad = tmp_path / "bad.edf"
    bad.write_bytes(b"0       " + b"x" * 600)
    with open_recording(path) as rec:
        with pytest.raises(RecordingFormatError, match="not a readable EDF/BDF file") as kept:
            open_recording(bad)
        gc.collect()
        np.testing.assert_array_equal(rec.read(), x)  # it read zeros: the failed reader closed this file
    with open_recording(other) as rec:  # the failed reader, freed with the error kept above, must not close this one
        del kept
        gc.collect()
        np.testing.assert_array_equal(rec.read(), y)
        pyedflib.close_file(rec._f.handle)  # a file closed under its reader is an error, never zeros
        with pytest.raises(RecordingFormatError, match=r"b.edf: reading samples 0-4000 of channel 'left' returned 0 of "
                                                       r"4000; .* open it again"):
            rec.read()
    assert capfd.readouterr().out == ""  # pyedflib's 'read -1' is not printed


@pytest.mark.parametrize("bdf", [False, True])
def test_a_discontinuous_edf_without_a_pause_reads_as_it_is(tmp_path, bdf):
    path = tmp_path / ("d.bdf" if bdf else "d.edf")
    x = signal_uv(4000, 1)
    export_edf(ArrayRecording(x, RecordingInfo(fs_hz=FS, labels=("left",), n_samples=4000)), path, bdf=bdf)
    with open_recording(path) as rec:
        x = rec.read()
    raw = bytearray(path.read_bytes())
    kind = b"BDF+" if bdf else b"EDF+"
    assert raw[192:197] == kind + b"C"
    raw[192:197] = kind + b"D"  # (pyedflib reads no such file, paused or not)
    path.write_bytes(bytes(raw))
    with open_recording(path) as rec:
        assert rec.info.gaps == [] and rec.info.warnings == [] and rec.info.n_samples == 4000
        np.testing.assert_array_equal(rec.read(), x)


def _signals_edf(tmp_path, name, signals, seconds=4):
    """An EDF of ``signals``: (label, unit, rate) each, noise with a fixed seed."""
    import pyedflib

    path = tmp_path / name
    rng = np.random.default_rng(3)
    with pyedflib.EdfWriter(str(path), len(signals), file_type=pyedflib.FILETYPE_EDF) as w:
        w.setSignalHeaders([{"label": lab, "dimension": unit, "sample_frequency": fs, "physical_min": -500.0,
                             "physical_max": 500.0, "digital_min": -32768, "digital_max": 32767}
                            for lab, unit, fs in signals])
        w.writeSamples([rng.normal(0, 20, fs * seconds) for _, _, fs in signals])
    return path


PSG = [("EEG C3-M2", "uV", 512), ("EMG Leg L", "uV", 512), ("ECG II", "mV", 512), ("Chin EMG", "uV", 512)]


def test_without_channels_a_sleep_lab_file_reads_its_leg_emg_and_says_so(tmp_path):
    with open_recording(_signals_edf(tmp_path, "psg.edf", PSG)) as rec:  # the ECG's beats were counted as twitches
        assert rec.info.labels == ("EMG Leg L",)
        assert rec.info.warnings == ["without --channels, read the leg EMG channel 'EMG Leg L' and left out "
                                     "'EEG C3-M2', 'ECG II', 'Chin EMG' (other signals by their labels); choose "
                                     "others with --channels"]
    with open_recording(tmp_path / "psg.edf", channels=["ECG II", "EMG Leg L"]) as rec:  # a choice is kept as it is
        assert rec.info.labels == ("ECG II", "EMG Leg L") and rec.info.warnings == []
    path = _signals_edf(tmp_path, "plain.edf", [("EMG1", "uV", 512), ("EMG2", "uV", 512)])
    with open_recording(path) as rec:  # no other signal: every channel, as before
        assert rec.info.labels == ("EMG1", "EMG2") and rec.info.warnings == []


def test_without_channels_a_file_of_other_signals_and_no_leg_emg_is_refused(tmp_path):
    path = _signals_edf(tmp_path, "psg.edf", [("EEG C3-M2", "uV", 512), ("EMG1", "uV", 512), ("ECG II", "mV", 512)])
    with pytest.raises(InputError, match=r"psg.edf: no channel is labelled as leg EMG, and 'EEG C3-M2', 'ECG II' are "
                                         r"other signals \(its channels: 'EEG C3-M2', 'EMG1', 'ECG II'\); choose the leg "
                                         r"EMG channels with --channels LABEL \.\.\.$"):
        open_recording(path)
    with open_recording(path, channels=["EMG1"]) as rec:
        assert rec.info.labels == ("EMG1",)


def test_channels_of_different_rates_are_named_with_their_rates(tmp_path):
    path = _signals_edf(tmp_path, "r.edf", [("left", "uV", 512), ("right", "uV", 256)])
    with pytest.raises(InputError, match=r"r.edf: the channels read without --channels have different rates \('left' "
                                         r"512 Hz, 'right' 256 Hz\); choose channels of one rate with --channels$"):
        open_recording(path)
    assert open_recording(path, channels=["left"]).info.fs_hz == 512


@pytest.mark.parametrize("label", ["EMG Leg L", "LAT1-LAT2", "RAT", "Leg/R", "EMG_Tib_L", "L-Leg", "LLEG1-LLEG2", "VM",
                                   "VL left", "RF", "TA", "Quadriceps R", "EMG thigh", "knee EMG", "PLM l", "LeftLeg",
                                   "RightLeg", "AntTib"])
def test_leg_emg_labels_are_recognised(label):
    from kneeemg.io.channels import is_leg_emg, is_other_signal

    assert is_leg_emg(label) and not is_other_signal(label)


@pytest.mark.parametrize("labels, own, site", [
    (("Leg L", "Leg R"), False, "shin"), (("LAT", "RAT"), False, "shin"), (("EMG_Tib_L",), False, "shin"), (("TA",), False, "shin"),
    (("VM", "RF"), False, "thigh"), (("RF", "BF", "VM", "ST"), False, "thigh"), (("Quadriceps R", "EMG thigh"), False, "thigh"),
    (("Vastus LAT",), False, "thigh"),  # a thigh muscle first, whatever else the label says
    (("VM", "TA"), False, None), (("ch0",), False, None), (("left", "right"), False, None), (("EMG",), False, None),
    (("ch0",), True, "thigh"), (("Leg L",), True, "thigh"),  # kneeemg's own sensor sits on the thigh
])
def test_the_muscle_site_comes_from_the_labels_or_from_kneeemg_s_own_sensor(labels, own, site):
    from kneeemg.io.channels import muscle_site

    assert muscle_site(labels, own=own) == site


@pytest.mark.parametrize("label", ["ECG II", "EKG", "EEG Fpz-Cz", "C3-M2", "O2-A1", "EOG horizontal", "LOC", "Resp oro-nasal",
                                   "Thorax", "Abdomen", "SpO2", "SaO2", "Pleth", "Pulse", "Position", "Body", "Temp rectal",
                                   "Chin EMG", "EMG submental", "Snore", "Airflow", "Event marker", "HR", "ABD", "Abdo"])
def test_other_signals_are_recognised(label):
    from kneeemg.io.channels import is_leg_emg, is_other_signal

    assert is_other_signal(label) and not is_leg_emg(label)
    assert not is_other_signal("Abductor L")  # (a muscle, not the abdomen's belt)


def test_the_muscles_of_lab_files_are_no_other_signal():
    from kneeemg.io.channels import default_channels

    for labels in (("RF", "BF", "VM", "ST"), ("ME", "MA", "FL", "RF", "VM", "VL", "ST", "BF", "TA", "PL", "GM", "GL", "SO"),
                   ("left", "right"), ("EMG",), ("ch0", "ch1"), ("EMG1", "EMG2")):
        assert default_channels(labels, "f") == (list(range(len(labels))), None)


@pytest.mark.parametrize("offset, value, said", [
    (256 + 2 * 96 + 8, b"\xb5V      ", r"the unit \(physical dimension\) of signal 2 \('right'\): 'µV'; EDF headers must be "
                                       r"plain ASCII: write that field in ASCII \('uV' for µV\)"),
    (256 + 16, b"EMG Bein \xdc      ", r"the label of signal 2: 'EMG Bein Ü'; EDF headers must be plain ASCII"),
    (8, b"M\xfcller".ljust(80), r"the patient identification: 'Müller'; EDF headers must be plain ASCII"),
])
def test_an_edf_header_that_is_not_plain_ascii_names_the_field(tmp_path, offset, value, said):
    path = _plain_edf(tmp_path, "a.edf")  # pyedflib refuses it: it had been told to check that the file is complete
    _patch(path, offset, value)
    with pytest.raises(RecordingFormatError, match=rf"a.edf: its header holds bytes that are not plain ASCII in {said}"
                                                   r".*, for instance with EDFbrowser's header editor$") as info:
        open_recording(path)
    assert "complete" not in str(info.value)


@pytest.mark.parametrize("offset, value, said", [
    (244, b"abc     ", r"\(Duration\)"),
    (168, b"99.99.99", r"the startdate is incorrect"),
])
def test_a_malformed_edf_header_is_not_taken_for_a_cut_short_file(tmp_path, offset, value, said):
    path = _plain_edf(tmp_path, "a.edf")
    _patch(path, offset, value)
    with pytest.raises(RecordingFormatError, match=rf"^\S*a.edf: not a readable EDF/BDF file \(the file is not EDF.*{said}.*\); "
                                                   r"its header is malformed: .*Check EDF/BDF compatibility.*, or export "
                                                   r"the recording again$") as info:
        open_recording(path)
    assert "complete" not in str(info.value) and str(info.value).count("a.edf") == 1


def test_an_edf_with_an_unknown_record_count_is_read_whole_and_one_with_no_unit_is_refused(tmp_path):
    path = _plain_edf(tmp_path, "a.edf")
    with open_recording(path) as rec:
        whole = rec.read()
    _patch(path, 236, b"-1      ")  # a recorder that did not finish the file
    with open_recording(path) as rec:
        assert rec.info.warnings == ["its header gives the number of data records as -1 (unknown: the recorder did not "
                                     "finish the file); the 5 whole data records it holds are read"]
        np.testing.assert_array_equal(rec.read(), whole)
    path = _plain_edf(tmp_path, "b.edf")
    _patch(path, 256 + 2 * 96, b"        ")
    with pytest.raises(InputError, match=r"b.edf: channel 'left' has no unit in its header \(its physical dimension is "
                                         r"empty\), so its values cannot be scaled to µV; write its unit \(e.g. 'uV'\) "
                                         r"into the header"):
        open_recording(path)


@pytest.mark.parametrize("fs, to", [(256.0, 1000.0), (200.0, 1000.0), (250.0, 4000.0), (2048.0, 1000.0), (1000.0, 999.0)])
def test_resampling_block_by_block_equals_resampling_the_whole_file(fs, to):
    # the whole file was resampled in memory: 1 GB for an 8-hour night at 256 Hz to 1000 Hz
    from scipy.signal import resample_poly

    from kneeemg.io.resampled import ResampledRecording, ratio

    n = int(fs * 7.3)
    x = signal_uv(n, 2, seed=4)
    whole = resample_poly(x, *ratio(fs, to), axis=0)
    rec = ResampledRecording(ArrayRecording(x, RecordingInfo(fs_hz=fs, labels=("a", "b"), n_samples=n)), to)
    assert rec.info.n_samples == len(whole) and rec.info.fs_hz == to
    rng = np.random.default_rng(5)
    cuts = np.unique(np.r_[0, rng.integers(0, len(whole), 12), 1, len(whole) - 1, len(whole)])
    blocks = [rec.read(a, b) for a, b in zip(cuts[:-1], cuts[1:])]
    np.testing.assert_allclose(np.concatenate(blocks), whole, rtol=0, atol=1e-9 * np.abs(whole).max())


def test_resampling_reads_only_the_blocks_it_needs(tmp_path):
    from kneeemg.io.resampled import ResampledRecording

    class Counted(ArrayRecording):
        def read(self, start=0, stop=None):
            seen.append((start, stop))
            return super().read(start, stop)

    seen = []
    n = 256 * 600
    rec = ResampledRecording(Counted(signal_uv(n, 1), RecordingInfo(fs_hz=256.0, labels=("a",), n_samples=n)), 1000.0)
    rec.read(500_000, 501_000)
    assert len(seen) == 1 and seen[0][1] - seen[0][0] < 400  # 256 samples, and the filter's reach either side


@pytest.mark.parametrize("text, hz", [("HP:10Hz LP:100Hz", 100.0), ("LP:1kHz", 1000.0), ("HP: 0.1 Hz LP: 70.5 Hz N:50Hz", 70.5),
                                      ("LP:100", 100.0), ("HP:10HzLP:100Hz", 100.0), ("hp:10hz lp:100hz", 100.0),
                                      ("BP:10-100Hz", 100.0), ("BP: 0.3 Hz - 35 Hz", 35.0), ("HP:10Hz BP:1-2kHz", 2000.0),
                                      ("", None), ("HP:10Hz", None), ("LP:0Hz", None), ("notch 50", None), ("HELP:5", None)])
def test_an_edf_prefilter_gives_its_low_pass_edge(text, hz):
    from kneeemg.io.edf import prefilter_low_pass_hz

    assert prefilter_low_pass_hz(text) == hz


@pytest.mark.parametrize("kind", ["data", "gap"])
def test_a_kemg_block_that_lies_years_into_the_recording_is_skipped_not_read_for_hours(tmp_path, kind):
    # a block whose CRC checks but whose first sample is near 2**62 (a writer's bug): reading
    # up to it, held over the gap, had run for hours; it is skipped with a warning
    from kneeemg.io import native

    path = tmp_path / "far.kemg"
    x = signal_uv(4000, 1)
    with RecordingWriter(path, FS, ["c"]) as w:
        w.write(x)
        if kind == "data":
            w._block(native.T_DATA, 2**62, 10, np.zeros(10, "<f4").tobytes())
        else:
            w._block(native.T_GAP, 2**62, 10, b"")
        w.next_sample = 2**62 + 10
    with open_recording(path) as rec:
        assert rec.info.n_samples == 4000 and rec.info.gaps == []
        (warning,) = rec.info.warnings
        assert "days into the recording, more than 366: it was skipped as damaged" in warning
        np.testing.assert_allclose(rec.read()[:, 0], x[:, 0], rtol=1e-5, atol=1e-3)


def test_kemg_blocks_that_all_lie_years_in_give_one_warning_not_one_each(tmp_path):
    # a jump an earlier recorder took runs on through every block written after it: they are
    # skipped with one warning that counts them, not a line for each of thousands of blocks
    from kneeemg.io import native

    path = tmp_path / "far.kemg"
    x = signal_uv(4000, 1)
    with RecordingWriter(path, FS, ["c"]) as w:
        w.write(x)
        w._block(native.T_GAP, 10**12, 2**32 - 1, b"")
        for k in range(50):
            w._block(native.T_DATA, 10**12 + 2**32 + 10 * k, 10, np.zeros(10, "<f4").tobytes())
        w.next_sample = 10**12 + 2**32 + 500
    with open_recording(path) as rec:
        assert rec.info.n_samples == 4000 and rec.info.gaps == []
        (warning,) = rec.info.warnings
        assert warning.startswith("51 blocks from byte ") and "they were skipped as damaged" in warning


def test_the_writer_refuses_what_the_reader_would_skip(tmp_path):
    # a gap or samples ending more than a year in would be written, then skipped as damage
    from kneeemg.io.native import MAX_RECORDING_S

    with RecordingWriter(tmp_path / "n.kemg", FS, ["c"]) as w:
        w.write(signal_uv(10, 1))
        for act in (lambda: w.mark_gap(10, int(MAX_RECORDING_S * FS)), lambda: w.write(signal_uv(10, 1), int(MAX_RECORDING_S * FS))):
            with pytest.raises(InputError, match=r"days into the recording, more than 366 a recording can hold; start a new"):
                act()
        w.write(signal_uv(10, 1))
    from kneeemg.io.native import NativeRecording

    with NativeRecording(tmp_path / "n.kemg") as rec:
        assert rec.info.n_samples == 20 and rec.info.warnings == []
