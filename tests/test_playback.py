"""Replay (kneeemg.playback): the same events as live detection, real leg extensions, the command line."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from kneeemg.cli import main
from kneeemg.config import DetectorConfig
from kneeemg.dsp import StreamingDetector
from kneeemg.errors import InputError
from kneeemg.events import Event, read_events_csv
from kneeemg.io import open_recording
from kneeemg import replay
from kneeemg.scoring import score_events
from kneeemg.simulate import simulate_night, write_simulated


def test_kneeemg_replay_is_the_function_however_it_is_reached():
    code = ("import kneeemg, kneeemg.playback; from kneeemg import replay as a; import kneeemg.cli.replay; "
            "from kneeemg import replay as b; print(callable(a), a is b is kneeemg.replay is kneeemg.playback.replay)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["True", "True"]


def goniometer_movements(angle_deg: np.ndarray, fs_hz: float, on_deg: float = 20.0, off_deg: float = 8.0) -> list[tuple[float, float]]:
    """Movements seen by the knee angle: excursions from the resting angle (the most common one)."""
    bins = np.arange(angle_deg.min() - 1, angle_deg.max() + 2, 2.0)
    hist, edges = np.histogram(angle_deg, bins=bins)
    rest = edges[np.argmax(hist)] + 1.0
    out, start = [], None
    for i, v in enumerate(np.abs(angle_deg - rest)):
        if start is None and v > on_deg:
            start = i
        elif start is not None and v < off_deg:
            out.append((start / fs_hz, i / fs_hz))
            start = None
    if start is not None:
        out.append((start / fs_hz, len(angle_deg) / fs_hz))
    return [m for m in out if m[1] - m[0] > 0.3]


@pytest.mark.data
@pytest.mark.parametrize("name", ["1Nsen.txt", "3Nsen.txt", "4Nsen.txt", "5Nsen.txt"])
def test_one_spasm_length_burst_per_leg_extension(data_dir, name):
    path = data_dir / "uci-lower-limb" / "N_TXT" / name
    with open_recording(path, channels=["VM"]) as rec:
        moves = goniometer_movements(rec.info.extra["FX"][0], rec.info.fs_hz)
        res = replay(rec)
    assert len(moves) == 4  # each of these sessions holds four extensions
    truth = [Event(int(a * 1000), int(b * 1000), 1000.0, 0, "spasm", 0, 0, 0) for a, b in moves]
    bursts = [e for e in res.events if e.kind in ("spasm", "cramp")]
    score = score_events(bursts, truth, tolerance_s=1.0)
    assert score.per_kind["spasm"].tp == 4 and score.per_kind["spasm"].fp == 0
    assert all(0.5 <= b.duration_s <= 10.0 for b in bursts)


def test_replay_equals_live_detection(tmp_path):
    night = simulate_night(hours=0.1, n_channels=2, seed=4)
    path = write_simulated(night, tmp_path / "n.kemg")["recording"]
    res = replay(path, chunk_s=3.7, events_out=tmp_path / "ev.csv")
    det = StreamingDetector(night.info.fs_hz, 2, labels=night.info.labels)
    for chunk in night.chunks(20):  # 20 ms live chunks, straight from the simulator
        det.process(chunk)
    live = det.finish()
    assert [(e.onset_sample, e.offset_sample, e.channel, e.kind) for e in res.events] == [
        (e.onset_sample, e.offset_sample, e.channel, e.kind) for e in live.events
    ]
    back = read_events_csv(tmp_path / "ev.csv", fs_hz=1000.0)
    assert [e.onset_sample for e in back] == [e.onset_sample for e in res.events]


def test_events_out_never_replaces_the_recording_or_another_file(tmp_path):
    path = write_simulated(simulate_night(hours=0.01, seed=3), tmp_path / "n.kemg")["recording"]
    before = path.read_bytes()
    with pytest.raises(InputError, match="is the file being read"):
        replay(path, events_out=path)
    notes = tmp_path / "notes.csv"
    notes.write_text("my own notes\n")
    with pytest.raises(InputError, match="is not a kneeemg events CSV"):
        replay(path, events_out=notes)
    with pytest.raises(InputError, match="is a folder"):
        replay(path, events_out=tmp_path)
    truth = tmp_path / "n.kemg.truth.csv"
    kept = truth.read_text()
    with pytest.raises(InputError, match="is a ground-truth file"):
        replay(path, events_out=truth)
    link = tmp_path / "link.csv"  # the same file through a symbolic link
    link.symlink_to(truth.name)
    with pytest.raises(InputError, match="is a ground-truth file"):
        replay(path, events_out=link)
    assert truth.read_text() == kept
    assert path.read_bytes() == before and notes.read_text() == "my own notes\n"
    events = tmp_path / "events.csv"
    replay(path, events_out=events)
    first = events.read_text()
    replay(path, events_out=events)  # an earlier events CSV is replaced
    assert events.read_text() == first and first.startswith("onset_s,")


@pytest.mark.parametrize("suffix", [".edf", ".bdf"])
def test_edf_out_holds_the_recording_with_its_events_and_excluded_stretches(tmp_path, suffix):
    import pyedflib

    night = simulate_night(hours=0.05, n_channels=2, seed=2)
    path = write_simulated(night, tmp_path / "n.kemg")["recording"]
    res = replay(path, edf_out=tmp_path / f"n{suffix}")
    with open_recording(tmp_path / f"n{suffix}") as back, open_recording(path) as rec:
        x, y = rec.read(), back.read()
        assert back.info.labels == rec.info.labels and back.info.fs_hz == rec.info.fs_hz and len(y) == len(x)
        # within one step of the format over the channel's range (widened to whole µV, and by 1 µV each side)
        step = (np.ptp(x, axis=0) + 4) / (2**24 - 1 if suffix == ".bdf" else 2**16 - 1)
        assert np.all(np.abs(y - x) <= step)
        truth = sorted((e.kind, e.channel, e.onset_sample) for e in [*res.events, *res.leg_movements])
        assert truth and sorted((e.kind, e.channel, e.onset_sample) for e in back.info.annotations) == truth
    with pyedflib.EdfReader(str(tmp_path / f"n{suffix}")) as f:
        texts = list(f.readAnnotations()[2])
    assert [t for t in texts if t.startswith("excluded: ")] == [f"excluded: settling ch{c}" for c in (0, 1)]
    assert res.excluded and {iv.reason for iv in res.excluded} == {"settling"}


def test_edf_out_is_checked_before_any_work_and_never_replaces_a_file(tmp_path, monkeypatch):
    import kneeemg.playback as playback
    from kneeemg.io.array import ArrayRecording
    from kneeemg.io.base import RecordingInfo

    path = write_simulated(simulate_night(hours=0.01, seed=3), tmp_path / "n.kemg")["recording"]
    lab = tmp_path / "lab.edf"
    lab.write_bytes(b"0       the sleep lab's own file")
    monkeypatch.setattr(playback, "StreamingDetector", None)  # any detection would fail on it
    for edf_out, match in ((lab, "lab.edf already exists and is not replaced"), (path, "n.kemg already exists"),
                           (tmp_path / "n.csv", r"end the name in \.edf"), (tmp_path / "no" / "n.edf", "does not exist"),
                           ("", "--edf-out is empty")):
        with pytest.raises(InputError, match=match):
            replay(path, edf_out=edf_out)
    odd = ArrayRecording(np.zeros((3000, 1)), RecordingInfo(fs_hz=1000.5, labels=("left",), n_samples=3000))
    with pytest.raises(InputError, match="whole-number rate"):
        replay(odd, edf_out=tmp_path / "odd.edf")
    assert lab.read_bytes() == b"0       the sleep lab's own file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lab.edf", "n.kemg", "n.kemg.artefacts.csv", "n.kemg.truth.csv"]


def test_nan_in_a_file_is_a_clear_error(tmp_path):
    p = tmp_path / "nan.csv"
    rows = [f"{i / 1000:.3f},{'nan' if i == 2500 else i % 5}" for i in range(4000)]
    p.write_text("time,VM\n" + "\n".join(rows))
    with pytest.raises(Exception, match=r"NaN or infinite samples at 2\.500 s"):
        replay(p)


def test_cli_simulate_then_replay(tmp_path, capsys):
    out = tmp_path / "night.kemg"
    assert main(["simulate", "--hours", "0.05", "--channels", "2", "--fs", "1000", "--seed", "2", "--out", str(out)]) == 0
    assert (tmp_path / "night.kemg.truth.csv").exists() and (tmp_path / "night.kemg.artefacts.csv").exists()
    capsys.readouterr()
    events = tmp_path / "events.csv"
    assert main(["replay", str(out), "--events-out", str(events), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert set(summary) >= {"counts", "per_usable_hour", "usable_s", "lost_s"}
    header = events.read_text().splitlines()[0]
    assert header.startswith("onset_s,offset_s,channel,kind,peak_uv,duration_s")
    truth = read_events_csv(tmp_path / "night.kemg.truth.csv", fs_hz=1000.0)
    found = read_events_csv(events, fs_hz=1000.0)
    assert score_events(found, truth).per_kind["twitch"].sensitivity >= 0.9
    assert main(["replay", str(out), "--channels", "right"]) == 0
    assert "right" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args, message",
    [
        (["replay", "missing.edf"], "does not exist"),
        (["replay", "bad.xyz"], "unknown recording format"),
        (["replay", "ok.kemg", "--channels", "VM"], "no channel named 'VM'"),
    ],
)
def test_cli_errors_are_one_line(tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.xyz").write_bytes(b"\x00\x01garbage")
    night = simulate_night(hours=0.01, seed=1)
    write_simulated(night, tmp_path / "ok.kemg")
    proc = subprocess.run([sys.executable, "-m", "kneeemg", *args], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and message in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("gap_at, gap_n, lost", [(30_500, 500, [(30.0, 31.0)]), (30_500, 2000, [(30.0, 33.0)]),
                                                 (30_000, 1000, [(30.0, 31.0)])])
def test_time_lost_while_recording_is_excluded_as_lost(tmp_path, gap_at, gap_n, lost):
    from kneeemg.io import RecordingWriter

    x = np.random.default_rng(4).normal(0.0, 3.0, (72_000, 1))
    path = tmp_path / "gap.kemg"
    with RecordingWriter(path, 1000.0, ("quad",)) as w:
        w.write(x[:gap_at])
        w.mark_gap(gap_at, gap_n)
        w.write(x[gap_at + gap_n :], first_sample=gap_at + gap_n)
    res = replay(path, chunk_s=7.3)
    assert [(iv.start_s, iv.stop_s) for iv in res.excluded if iv.reason == "lost"] == lost
    assert res.lost_s == gap_n / 1000.0
    assert res.usable_s <= 72.0 - 1.0 - sum(b - a for a, b in lost)  # the settling second, and every touched epoch


def _narrow_edf(path, prefilter, fs_hz=256, seconds=600):
    """Quiet noise band-passed to 10-100 Hz (a sleep lab's leg channel), as one EDF+ signal."""
    import pyedflib
    from signals import sleep_lab_noise

    w = pyedflib.EdfWriter(str(path), 1, file_type=pyedflib.FILETYPE_EDFPLUS)
    w.setSignalHeaders([{"label": "LAT", "dimension": "uV", "sample_frequency": fs_hz, "physical_max": 500.0,
                         "physical_min": -500.0, "digital_max": 32767, "digital_min": -32768, "transducer": "",
                         "prefilter": prefilter}])
    w.writeSamples([sleep_lab_noise(fs_hz * seconds, float(fs_hz))])
    w.close()
    return path


def test_a_band_limited_recording_is_detected_with_the_narrow_onset_ratio(tmp_path):
    # Resampled from 256 Hz, or low-passed at 100 Hz by its recorder, the background is so
    # narrow that the default onset level counts noise as twitches: such a recording is
    # detected with narrow_onset_ratio (3.5), and a note says so and how to keep the ratio.
    lp = _narrow_edf(tmp_path / "lp.edf", "HP:10Hz LP:100Hz")
    plain = _narrow_edf(tmp_path / "plain.edf", "")
    res = replay(lp, resample_hz=1000.0)
    assert res.source.content_hz == 100.0 and res.events == [] and res.config.onset_ratio == 3.5
    (note,) = [w for w in res.source.warnings if "nothing above" in w]
    assert "nothing above 100 Hz" in note and "3.5 x the noise floor instead of 3" in note
    assert "--set narrow_onset_ratio=0 keeps 3" in note
    resampled = replay(plain, resample_hz=1000.0)
    assert resampled.config.onset_ratio == 3.5 and any("nothing above 128 Hz" in w for w in resampled.source.warnings)
    # turned off, the noise is counted as twitches; asked for higher, the higher one is kept
    noisy = replay(lp, resample_hz=1000.0, config=DetectorConfig(narrow_onset_ratio=0.0))
    assert len(noisy.events) >= 3 and noisy.config.onset_ratio == 3.0
    assert not any("nothing above" in w for w in noisy.source.warnings)
    high = replay(lp, resample_hz=1000.0, config=DetectorConfig(onset_ratio=4.0))
    assert high.config.onset_ratio == 4.0 and not any("nothing above" in w for w in high.source.warnings)
    wide = replay(_narrow_edf(tmp_path / "wide.edf", "HP:10Hz LP:400Hz", fs_hz=1000, seconds=30))
    assert wide.source.content_hz == 400.0 and wide.config.onset_ratio == 3.0
    assert not any("nothing above" in w for w in wide.source.warnings)
    full = replay(_narrow_edf(tmp_path / "full.edf", "LP:500Hz", fs_hz=1000, seconds=30)).source
    assert full.content_hz is None  # (not below its Nyquist frequency)


def test_a_band_limited_recording_that_does_not_say_so_is_told_by_its_spectrum(tmp_path):
    # A 512 Hz EDF with no prefilter, or a CSV export, of a sleep lab's 10-100 Hz leg channel:
    # its background lies some 60 dB below its 30-100 Hz level above 200 Hz, so it too is
    # detected with narrow_onset_ratio, and the note says why.
    from signals import sleep_lab_noise

    edf = replay(_narrow_edf(tmp_path / "plain512.edf", "", fs_hz=512, seconds=600))
    assert edf.source.content_hz is None and edf.config.onset_ratio == 3.5 and edf.events == []
    (note,) = [w for w in edf.source.warnings if "nothing above" in w]
    assert "holds next to nothing above 200 Hz (" in note and "dB below its 30-100 Hz level" in note
    assert "--set narrow_onset_ratio=0 keeps 3" in note
    csv = tmp_path / "lab.csv"
    np.savetxt(csv, sleep_lab_noise(600_000, 1000.0)[:, None], delimiter=",", header="LAT", comments="", fmt="%.4f")
    assert replay(csv, fs_hz=1000.0).config.onset_ratio == 3.5
    kept = replay(csv, fs_hz=1000.0, config=DetectorConfig(narrow_onset_ratio=0.0))
    assert kept.config.onset_ratio == 3.0 and len(kept.events) >= 3
    # broadband noise, and the same noise low-passed only gently (-30 dB up there), keep 3
    import scipy.signal as sg

    white = np.random.default_rng(1).normal(0.0, 3.0, 302_000)
    for x in (white, sg.sosfilt(sg.butter(2, 100.0, fs=1000.0, output="sos"), white)):
        np.savetxt(csv, x[2000:, None], delimiter=",", header="LAT", comments="", fmt="%.4f")
        res = replay(csv, fs_hz=1000.0)
        assert res.config.onset_ratio == 3.0 and not any("nothing above" in w for w in res.source.warnings)


@pytest.mark.data
def test_no_real_recording_of_the_data_directory_counts_as_band_limited(data_dir):
    # Real broadband EMG lies 5-28 dB below its 30-100 Hz level above 200 Hz, per channel;
    # the rule wants every channel 40 dB down (docs/detector.md, "Known limits").
    from kneeemg.dsp.filters import BAND_LIMITED_DB, high_band_level_db
    from kneeemg.playback import band_limit

    paths = sorted([*data_dir.glob("uci-lower-limb/*/*.txt"), *data_dir.glob("physionet-emgdb/*.hea"),
                    *data_dir.glob("musclesynergies/*_emg.csv")])
    assert len(paths) >= 30
    for path in paths:
        with open_recording(path) as rec:
            assert band_limit(rec, DetectorConfig()) == (None, None), path.name
            x = rec.read(0, min(rec.info.n_samples, int(300 * rec.info.fs_hz)))
            for c in range(x.shape[1]):
                assert high_band_level_db(x[:, c], rec.info.fs_hz) > BAND_LIMITED_DB + 10, (path.name, c)
