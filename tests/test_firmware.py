"""The firmware's portable C core and the host sensor simulator built from it.

``make -C firmware test`` runs the core's C unit tests (the shared vectors, ring buffer,
frame assembler); the simulator streams a known input file over a real pseudo-terminal with
injected faults, and the Python codec must find every intact frame, expose every loss
exactly through the sample counter, and read back the input sample for sample.
"""

from __future__ import annotations

import collections
import dataclasses
import os
import re
import select
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

import kneeemg.protocol as proto
from kneeemg.protocol import Command, CommandFrame, DataFrame, InfoFrame, SerialDeframer, serial_encode

FIRMWARE = Path(__file__).resolve().parent.parent / "firmware"
SIM = FIRMWARE / "build" / "kneeemg-sensor-sim"


@pytest.fixture(scope="module")
def make():
    if shutil.which("make") is None or shutil.which(os.environ.get("CC", "gcc")) is None:
        pytest.skip("gcc and make are needed to build the firmware's host tests (apt-get install gcc make)")
    return ["make", "-s", "-C", str(FIRMWARE)]


@pytest.fixture(scope="module")
def sim(make):
    subprocess.run([*make, "host"], check=True, capture_output=True)
    return SIM


def test_c_core_passes_its_unit_tests(make):
    out = subprocess.run([*make, "test"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr + out.stdout
    m = re.search(r"(\d+) passed, (\d+) failed", out.stdout)
    assert m, out.stdout
    assert int(m.group(1)) >= 250 and m.group(2) == "0"


def test_c_header_constants_match_python():
    text = (FIRMWARE / "core" / "kemg_proto.h").read_text()
    defines = {k: int(v, 0) for k, v in re.findall(r"#define KEMG_(\w+) (0x[0-9A-Fa-f]+|\d+)u", text)}
    for name in ("VERSION", "T_DATA", "T_INFO", "T_COMMAND", "T_FRAGMENT", "FMT_S16", "FMT_S24", "LABEL_BYTES", "CRC_BYTES",
                 "FRAGMENT_HEADER", "FRAGMENT_LAST", "MAX_FRAGMENTS", "MAX_CHANNELS", "BLE_FULL_MTU", "MIN_SAMPLES_PER_NOTIFICATION"):
        assert defines[name] == getattr(proto, name), name
    for name in ("SATURATION", "BATTERY_LOW", "LEAD_OFF_HIGH"):
        assert defines[f"STATUS_{name}"] == getattr(proto, f"STATUS_{name}"), name
    assert defines["DATA_HEADER"] == proto.DATA_HEADER.size and defines["INFO_HEADER"] == proto.INFO_HEADER.size
    assert defines["COMMAND_BYTES"] == proto.COMMAND.size + proto.CRC_BYTES
    enum = dict(re.findall(r"KEMG_CMD_(\w+) = (\d+)", text))
    assert {k: int(v) for k, v in enum.items()} == {c.name: int(c) for c in Command}


def test_firmware_uses_the_protocol_uuids():
    src = (FIRMWARE / "src" / "main.cpp").read_text()
    for uuid in (proto.SERVICE_UUID, proto.DATA_CHAR_UUID, proto.CONTROL_CHAR_UUID, proto.INFO_CHAR_UUID):
        assert uuid in src
    ini = (FIRMWARE / "platformio.ini").read_text()
    assert "[env:esp32-s3-devkitc-1]" in ini and "NimBLE-Arduino" in ini


def _input_counts(n: int, seed: int) -> np.ndarray:
    """Two channels of noise with bursts, including the 24-bit extremes."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 60, (n, 2))
    for start in rng.integers(0, n - 800, 12):
        x[start : start + rng.integers(50, 800)] *= rng.uniform(5, 200)
    c = np.clip(np.round(x), -(1 << 23), (1 << 23) - 1).astype(np.int32)
    c[100] = [(1 << 23) - 1, -(1 << 23)]
    return c


class _Pty:
    """The host end (master) of a pseudo-terminal whose device end the simulator opens."""

    def __init__(self):
        self.master, self.slave = os.openpty()
        self.name = os.ttyname(self.slave)
        self.deframer = SerialDeframer()
        self.frames: list = []
        self.eof = False

    def read_until(self, pred, timeout_s: float = 10.0):
        deadline = time.monotonic() + timeout_s
        while not pred() and not self.eof and time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.2)
            if not ready:
                continue
            try:
                data = os.read(self.master, 65536)
            except OSError:  # EIO: the simulator closed its end
                data = b""
            if not data:
                self.eof = True
            self.frames += self.deframer.feed(data)

    def send(self, command: Command, arg: int = 0) -> None:
        os.write(self.master, serial_encode(CommandFrame(command, arg)))

    def close(self):
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass


def _log(path: Path) -> list[tuple[int, int, str]]:
    return [(int(a), int(b), fate) for a, b, fate in (line.split() for line in path.read_text().splitlines())]


def test_simulator_over_a_pty_with_faults(sim, tmp_path):
    n = 30_000
    sent = _input_counts(n, seed=5)
    raw = tmp_path / "in.i32"
    sent.astype("<i4").tofile(raw)
    log = tmp_path / "fates.log"
    pty = _Pty()
    proc = subprocess.Popen([str(sim), "--tty", pty.name, "--input", str(raw), "--channels", "2", "--fs", "1000",
                             "--uv-per-count", "0.25", "--speed", "0", "--drop", "0.04", "--corrupt", "0.04",
                             "--duplicate", "0.04", "--reorder", "0.04", "--overrun", "0.02", "--garbage", "0.03",
                             "--seed", "11", "--log", str(log)], stderr=subprocess.PIPE)
    try:
        pty.read_until(lambda: len(pty.frames) >= 1)  # the device announces itself at once
        os.close(pty.slave)  # the simulator holds the device end now
        pty.send(Command.REQUEST_INFO)
        pty.read_until(lambda: len(pty.frames) >= 2)
        assert not any(isinstance(f, DataFrame) for f in pty.frames)  # nothing streams before START
        pty.send(Command.START)
        pty.read_until(lambda: False, timeout_s=60)  # to the end of the input (EOF on the pty)
        assert proc.wait(timeout=10) == 0, proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        pty.close()

    infos = [f for f in pty.frames if isinstance(f, InfoFrame)]
    assert len(infos) == 3 and isinstance(pty.frames[0], InfoFrame)  # at start, on request, on START
    assert infos[0].labels == ("left", "right") and infos[0].fs_hz == 1000.0 and infos[0].uv_per_count == np.float32(0.25)
    assert len({i.session_id for i in infos}) == 1

    data = [f for f in pty.frames if isinstance(f, DataFrame)]
    fates = _log(log)
    kinds = collections.Counter(f for _, _, f in fates)
    assert all(kinds[k] > 0 for k in ("sent", "dropped", "corrupted", "duplicated", "reordered", "overrun")), kinds

    # Every frame that was neither dropped nor corrupted decodes (duplicates twice), and nothing else does.
    expected = collections.Counter()
    for first, k, fate in fates:
        expected[(first, k)] += {"sent": 1, "reordered": 1, "duplicated": 2}.get(fate, 0)
    assert collections.Counter((f.first_sample, f.n_samples) for f in data) == +expected
    assert pty.deframer.stats.bad_frames >= kinds["corrupted"]

    # The sample counter exposes every loss exactly: what is missing is what was lost.
    got = np.zeros(n, bool)
    for f in data:
        got[f.first_sample : f.first_sample + f.n_samples] = True
    lost = np.zeros(n, bool)
    for first, k, fate in fates:
        if fate in ("dropped", "corrupted", "overrun"):
            lost[first : first + k] = True
    assert np.array_equal(~got, lost)

    # And the samples that arrived are the input's, index for index.
    back = np.zeros_like(sent)
    for f in data:
        back[f.first_sample : f.first_sample + f.n_samples] = f.counts
    np.testing.assert_array_equal(back[got], sent[got])
    assert got.sum() > 0.7 * n


def test_simulator_paces_in_real_time_and_stops_on_command(sim):
    pty = _Pty()
    proc = subprocess.Popen([str(sim), "--tty", pty.name, "--channels", "1", "--seconds", "0", "--speed", "1",
                             "--autostart", "--seed", "2"])
    try:
        pty.read_until(lambda: len(pty.frames) >= 1)
        os.close(pty.slave)
        t0 = time.monotonic()
        pty.read_until(lambda: sum(f.n_samples for f in pty.frames if isinstance(f, DataFrame)) >= 600, timeout_s=10)
        elapsed = time.monotonic() - t0
        pty.send(Command.STOP)
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        pty.close()
    data = [f for f in pty.frames if isinstance(f, DataFrame)]
    assert 0.4 < elapsed < 3.0  # about 0.6 s of signal took about 0.6 s
    assert [f.first_sample for f in data] == list(range(0, 74 * len(data), 74))  # 1 channel: 74 samples per frame
    ts = np.array([f.timestamp_us for f in data])
    assert np.array_equal(ts, np.array([f.first_sample for f in data]) * 1000)


def test_simulator_takes_only_the_rates_the_adc_runs_at(sim):
    pty = _Pty()
    proc = subprocess.Popen([str(sim), "--tty", pty.name, "--channels", "1", "--seconds", "1", "--speed", "0"])
    try:
        rates = []
        infos = lambda: [f for f in pty.frames if isinstance(f, InfoFrame)]  # noqa: E731
        pty.read_until(lambda: len(infos()) == 1)  # the one it sends as it starts (1000 Hz)
        for hz in (125, 300, 1024, 3000, 500, 8000):
            pty.send(Command.SET_RATE, hz)
            pty.read_until(lambda: len(infos()) > len(rates) + 1)
            rates.append(infos()[-1].fs_hz)
        pty.send(Command.STOP)
    finally:
        proc.kill()
        proc.wait()
        pty.close()
    assert rates == [125.0, 125.0, 125.0, 125.0, 500.0, 8000.0]  # 300, 1024 and 3000 Hz are refused


_INFO_FIELD = {"--fs": "fs_hz", "--uv-per-count": "uv_per_count"}


def _host_info(option: str, value: str) -> InfoFrame:
    """The info frame the host would send with the simulator's defaults and ``option`` set to ``value``."""
    fields = {"fs_hz": 1000.0, "uv_per_count": 0.0715, _INFO_FIELD[option]: float(value)}
    return InfoFrame(labels=("left", "right"), device_id=0x51, firmware=(1, 1, 0), battery_pct=95, **fields)


@pytest.mark.parametrize("option, value", [("--fs", "1e39"), ("--uv-per-count", "1e-50"), ("--fs", "2.99999999e38"),
                                           ("--uv-per-count", "2.99999999e38"), ("--fs", "1e-46")])
def test_simulator_and_host_refuse_a_rate_or_scale_an_info_frame_cannot_carry(sim, option, value):
    # 1e39 Hz is infinite as float32, 1e-50 and 1e-46 are 0, and 2.99999999e38 is 3.0000000055e38:
    # the core's info packer refuses each, so the simulator stops before sending anything,
    # and the host's encoder refuses the same value.
    out = subprocess.run([str(sim), "--seconds", "0", option, value], capture_output=True, text=True, timeout=10,
                         stdin=subprocess.DEVNULL)
    assert out.returncode == 2 and out.stdout == ""
    assert "--fs and --uv-per-count must be below 3e38" in out.stderr
    with pytest.raises(proto.ProtocolError, match=rf"^{_INFO_FIELD[option]}=.* below 3e38"):
        proto.encode_frame(_host_info(option, value))


@pytest.mark.parametrize("option, value", [("--fs", "2.9999999e38"), ("--uv-per-count", "1e-45")])
def test_simulator_and_host_send_the_same_info_frame_at_the_float32_limits(sim, option, value):
    # 2.9999999e38 is the largest float32 below 3e38 and 1e-45 the smallest above 0: both pass,
    # and the simulator's info frame is the host's, byte for byte (session id aside).
    out = subprocess.run([str(sim), "--autostart", "--input", os.devnull, option, value], capture_output=True,
                         timeout=10, stdin=subprocess.DEVNULL)
    assert out.returncode == 0, out.stderr
    sent = [f for f in SerialDeframer().feed(out.stdout) if isinstance(f, InfoFrame)]
    assert len(sent) == 2 and getattr(sent[0], _INFO_FIELD[option]) == float(np.float32(float(value))) > 0
    host = dataclasses.replace(_host_info(option, value), session_id=sent[0].session_id)
    assert proto.encode_frame(host) == proto.encode_frame(sent[0])


@pytest.mark.parametrize("option, value, words", [
    ("--channels", "2x", "--channels needs a whole number from 0 to 65535, not 2x"),
    ("--seed", "abc", "--seed must be a whole number, not abc"),
    ("--mtu", "70000", "--mtu needs a whole number from 0 to 65535, not 70000"),  # (it wrapped to 4464)
    ("--fd", "77", "--fd is not an open file descriptor: 77"),
    ("--drop", "2", "are chances, from 0 to 1"),
    ("--fs", "1e3x", "--fs needs a number, not 1e3x"),
])
def test_simulator_refuses_a_malformed_option_in_one_line(sim, option, value, words):
    out = subprocess.run([str(sim), "--autostart", "--speed", "0", "--seconds", "0.05", option, value], capture_output=True,
                         text=True, timeout=10, stdin=subprocess.DEVNULL)
    assert out.returncode == 2 and out.stdout == "" and words in out.stderr and out.stderr.count("\n") == 1
