"""Recording formats: round trips, crash safety, bad input, real files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

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


def test_truncated_and_corrupt_blocks(tmp_path):
    x = signal_uv(6000, 1)
    path = tmp_path / "t.kemg"
    with RecordingWriter(path, FS, ["c"], flush_s=1.0) as w:
        w.write(x)
    data = bytearray(path.read_bytes())
    # corrupt a byte inside the second block's payload, and cut the last block short
    header_len = 4 + 2 + 4 + int.from_bytes(data[6:10], "little") + 4
    block = 2 + 1 + 1 + 8 + 4 + 2 + 2 + 4 + 4 + 4000
    data[header_len + block + 100] ^= 0xFF
    (tmp_path / "bad.kemg").write_bytes(bytes(data[:-1000]))
    with open_recording(tmp_path / "bad.kemg") as rec:
        assert len(rec.info.warnings) == 2
        assert rec.info.n_samples == 5000  # the cut block is gone
        assert [(g.start_sample, g.n_samples) for g in rec.info.gaps] == [(1000, 1000)]
        y = rec.read()
        np.testing.assert_allclose(y[:1000], x[:1000], atol=1e-3)
        np.testing.assert_allclose(y[2000:5000], x[2000:5000], atol=1e-3)


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


def test_missing_file_and_channel(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        open_recording(tmp_path / "nope.edf")
    p = tmp_path / "a.kemg"
    with RecordingWriter(p, FS, ["left"]) as w:
        w.write(np.zeros((100, 1)))
    with pytest.raises(InputError, match="no channel named 'VM'; its channels are left"):
        open_recording(p, channels=["VM"])


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
def test_truncated_edf_is_refused_quietly_with_its_sizes(tmp_path, capfd, bdf):
    x = signal_uv(4000, 2)
    path = tmp_path / ("n.bdf" if bdf else "n.edf")
    export_edf(ArrayRecording(x, RecordingInfo(fs_hz=FS, labels=("left", "right"), n_samples=4000)), path)
    with open_recording(path) as rec:  # the whole file reads
        assert rec.info.n_samples == 4000
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 700])
    capfd.readouterr()
    with pytest.raises(RecordingFormatError, match=rf"truncated: .* \({len(data)} bytes\) but the file has {len(data) - 700} bytes"):
        open_recording(path)
    assert capfd.readouterr().out == ""  # nothing printed by the reader underneath


def test_csv_time_column_is_told_from_the_header_alone(tmp_path):
    from kneeemg.io.text import csv_has_time_column

    cases = {"a.csv": "time,VM\n0,1\n", "b.tsv": "VM\tRF\n1\t2\n", "c.csv": "Seconds;left\n0;1\n", "d.csv": "", "e.csv": "1 2\n3 4\n"}
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
    assert [csv_has_time_column(tmp_path / n) for n in cases] == [True, False, True, False, False]
    assert not csv_has_time_column(tmp_path / "missing.csv")
