"""Recording: ordering, duplicates, gaps; the C sensor simulator over a real pseudo-terminal."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kneeemg.io import open_recording
from kneeemg.protocol import DataFrame, InfoFrame, serial_encode
from kneeemg.record import Recorder, check_signal, record_serial

FIRMWARE = Path(__file__).resolve().parent.parent / "firmware"
UPC = 0.0715
INFO = InfoFrame(1000.0, UPC, ("left", "right"), 7, (1, 0, 0))


def counts(n=3700, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(-3000, 3000, (n, 2)).astype(np.int32)


def frames(c, per=37):
    return [DataFrame(a, a * 1000, c[a : a + per]) for a in range(0, len(c), per)]


def recorded(path):
    with open_recording(path) as rec:
        return rec.read(), rec.info


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_any_local_reordering_and_duplication_gives_the_same_timeline(tmp_path_factory, data):
    c = counts()
    fr = frames(c)
    order = list(range(len(fr)))
    for i in range(len(order) - 1):  # swap neighbours (within the reorder window)
        if data.draw(st.booleans()):
            order[i], order[i + 1] = order[i + 1], order[i]
    dups = data.draw(st.lists(st.integers(0, len(fr) - 1), max_size=5))
    path = tmp_path_factory.mktemp("r") / "n.kemg"
    rec = Recorder(path)
    rec.feed_frame(INFO)
    for i in order:
        rec.feed_frame(fr[i])
        if i in dups:
            rec.feed_frame(fr[i])
    rec.close()
    x, info = recorded(path)
    assert info.gaps == [] and rec.samples_lost == 0
    np.testing.assert_allclose(x, c * UPC, rtol=1e-6)


def test_dropped_frames_become_exact_gaps(tmp_path):
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
    keep = np.ones(len(c), bool)
    keep[370:444] = keep[1480:1517] = False
    np.testing.assert_allclose(x[keep], c[keep] * UPC, rtol=1e-6)
    assert rec.status().samples_lost == 111 and rec.deframer.stats.bad_frames == 1


def test_signal_check_names_the_problem():
    rng = np.random.default_rng(1)
    x = np.column_stack([rng.normal(0, 3, 3000), np.full(3000, 500.0)])
    chk = check_signal(x, 1000.0, ("left", "right"), lead_off=["right"])
    assert not chk.ok and 2 < chk.floor_uv[0] < 4
    assert any("right: the signal is flat" in p for p in chk.problems)
    assert any("lead-off" in p for p in chk.problems)


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
                            "--duplicate", "0.05", "--reorder", "0.05", "--seed", "3"], pass_fds=(master,))
    try:
        path, result = record_serial(name, tmp_path, duration_s=60, no_data_timeout_s=1.5)
    finally:
        sim.wait(timeout=30)
        os.close(master)
    x, info = recorded(path)
    assert info.n_samples <= len(sent) and info.n_samples > len(sent) - 100
    lost = np.zeros(info.n_samples, bool)
    for g in info.gaps:
        lost[g.start_sample : g.start_sample + g.n_samples] = True
    assert 0 < lost.sum() < 0.3 * len(lost)  # frames were dropped and corrupted, and every loss is marked
    np.testing.assert_allclose(x[~lost], sent[: info.n_samples][~lost] * UPC, rtol=1e-6)  # the rest, sample by sample
    assert result is not None and result.lost_s == pytest.approx(lost.sum() / 1000.0)
    assert (path.parent / (path.name + ".clock.json")).exists()


def test_record_killed_with_sigkill_reopens(sensor_sim, tmp_path):
    master, name = _pty()
    sim = subprocess.Popen([str(sensor_sim), "--fd", str(master), "--channels", "2", "--seconds", "60", "--speed", "1"],
                           pass_fds=(master,))
    code = textwrap.dedent(f"""
        from kneeemg.record import record_serial
        record_serial({name!r}, {str(tmp_path)!r}, duration_s=60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code])
    try:
        deadline = time.time() + 30
        while not list(tmp_path.glob("night-*.kemg")) and time.time() < deadline:
            time.sleep(0.2)
        time.sleep(4.0)  # a few seconds of recording
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        sim.kill()
        sim.wait()
        os.close(master)
    [path] = tmp_path.glob("night-*.kemg")
    x, info = recorded(path)
    assert info.n_samples >= 1000  # at most about two seconds were lost of the ~4 s streamed
    assert np.isfinite(x).all()
