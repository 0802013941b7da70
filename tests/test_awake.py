"""Keeping the computer awake while recording (kneeemg.record.awake), over a real session D-Bus."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from kneeemg.record import kept_awake


NO_SYSTEM_BUS = "org.freedesktop.login1: no system D-Bus (no systemd login manager)"


def _bus():
    """A D-Bus of the test's own (dbus-daemon): its process and address."""
    daemon = shutil.which("dbus-daemon")
    if daemon is None:
        pytest.skip("dbus-daemon is not installed (Debian: apt-get install dbus-daemon)")
    proc = subprocess.Popen([daemon, "--session", "--nofork", "--print-address=1"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    return proc, proc.stdout.readline().strip()


@pytest.fixture
def session_bus(monkeypatch, tmp_path):
    """A session D-Bus of the test's own, named in DBUS_SESSION_BUS_ADDRESS; and no system
    D-Bus (DBUS_SYSTEM_BUS_ADDRESS names a socket that is not there), whatever the machine has."""
    proc, address = _bus()
    try:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address)
        monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", f"unix:path={tmp_path / 'no-system-bus'}")
        monkeypatch.delenv("XDG_SESSION_DESKTOP", raising=False)  # (wakepy judges some desktops' power managers)
        yield address
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def system_bus(session_bus, monkeypatch):
    """Beside the session bus, a second D-Bus of the test's own as the system bus."""
    proc, address = _bus()
    try:
        monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", address)
        yield address
    finally:
        proc.terminate()
        proc.wait(timeout=10)


class StandIn:
    """A stand-in service of tests/ (``powermanager.py``, ``logind.py``) on the test's bus,
    and the calls it answered."""

    def __init__(self, script: str, *args: str) -> None:
        self.proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name(script)), *args],
                                     stdout=subprocess.PIPE, text=True, env=dict(os.environ))
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.wait_for("ready")

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.strip())

    def wait_for(self, line: str, timeout_s: float = 10.0) -> None:
        end = time.monotonic() + timeout_s
        while line not in self.lines:
            if time.monotonic() > end:
                raise AssertionError(f"the stand-in never saw {line!r}: {self.lines}")
            time.sleep(0.01)

    def calls(self) -> list[str]:
        return [line for line in self.lines if line != "ready"]

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.fixture
def power_manager(session_bus):
    pm = StandIn("powermanager.py")
    yield pm
    pm.stop()


@pytest.fixture
def logind(system_bus):
    manager = StandIn("logind.py")
    yield manager
    manager.stop()


def test_the_computer_is_kept_awake_through_the_power_manager_until_the_block_ends(power_manager):
    with kept_awake() as awake:
        assert awake.held and awake.method == "org.freedesktop.PowerManagement" and awake.why_not == ""
        power_manager.wait_for("inhibit wakepy wakelock active 1")
        assert power_manager.calls() == ["inhibit wakepy wakelock active 1"]
    power_manager.wait_for("uninhibit 1")
    assert power_manager.calls() == ["inhibit wakepy wakelock active 1", "uninhibit 1"]


def test_without_a_power_manager_the_block_runs_and_says_why_in_one_line(session_bus, monkeypatch):
    ran = False
    with kept_awake() as awake:
        ran = True
    assert ran and not awake.held and awake.method == ""
    assert "org.freedesktop.PowerManagement: " in awake.why_not and "org.gnome.SessionManager: " in awake.why_not
    assert "\n" not in awake.why_not
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS")  # no session bus at all: a machine without a desktop session
    with kept_awake() as awake:
        pass
    assert not awake.held
    assert awake.why_not == ("org.freedesktop.PowerManagement: no desktop session (no session D-Bus); "
                             f"org.gnome.SessionManager: no desktop session (no session D-Bus); {NO_SYSTEM_BUS}")


INHIBIT = "inhibit sleep:idle kneeemg recording a night of EMG block 1"


def test_without_a_desktop_the_login_manager_keeps_the_computer_awake_until_the_block_ends(logind, monkeypatch):
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS")  # no desktop session: a window manager alone, or SSH
    with kept_awake() as awake:
        assert awake.held and awake.method == "org.freedesktop.login1" and awake.why_not == ""
        logind.wait_for(INHIBIT)
        time.sleep(0.2)
        assert logind.calls() == [INHIBIT]  # held while the block runs
    logind.wait_for("released 1")
    assert logind.calls() == [INHIBIT, "released 1"]


def test_a_desktop_s_power_manager_comes_before_the_login_manager(power_manager, logind):
    with kept_awake() as awake:
        assert awake.method == "org.freedesktop.PowerManagement"
    power_manager.wait_for("uninhibit 1")
    assert logind.calls() == []


def test_a_system_bus_without_the_login_manager_says_so(system_bus, monkeypatch):
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS")
    with kept_awake() as awake:
        pass
    assert not awake.held and awake.why_not.endswith("; org.freedesktop.login1: no such service on the system D-Bus")


def test_the_record_command_keeps_the_computer_awake_through_the_login_manager(logind, monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS")
    out = _record_over_a_pty(tmp_path, capsys)
    assert "this computer is kept from sleeping until the recording ends (org.freedesktop.login1)" in out
    logind.wait_for("released 1")
    assert logind.calls() == [INHIBIT, "released 1"]


def test_a_login_manager_that_refuses_is_one_more_reason_in_the_line(system_bus, monkeypatch):
    refusing = StandIn("logind.py", "--refuse")
    try:
        monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS")
        with kept_awake() as awake:
            pass
    finally:
        refusing.stop()
    assert not awake.held and "\n" not in awake.why_not
    assert awake.why_not.endswith("; org.freedesktop.login1: Permission denied to block sleep")


def _record_over_a_pty(tmp_path, capsys, *options: str) -> str:
    from kneeemg.cli import main
    from kneeemg.transport.ptysim import PtySensor

    counts = np.random.default_rng(0).integers(-40, 40, (3000, 2)).astype(np.int32)
    with PtySensor(counts, speed=0) as sensor:
        assert main(["record", "--serial", sensor.port, "--out", str(tmp_path), "--duration", "2", *options]) == 0
    return " ".join(capsys.readouterr().out.split())


def test_the_record_command_keeps_the_computer_awake_while_it_records(power_manager, tmp_path, capsys):
    out = _record_over_a_pty(tmp_path, capsys)
    assert ("this computer is kept from sleeping until the recording ends (org.freedesktop.PowerManagement); the screen "
            "may still turn off, and closing a laptop's lid may still put it to sleep") in out
    power_manager.wait_for("uninhibit 1")  # released when it ended
    assert power_manager.calls() == ["inhibit wakepy wakelock active 1", "uninhibit 1"]
    assert len(list(tmp_path.glob("night-*.kemg"))) == 1


def test_the_record_command_says_when_the_computer_may_fall_asleep(session_bus, tmp_path, capsys):
    out = _record_over_a_pty(tmp_path, capsys)
    assert "this computer may fall asleep during the night, and the recording would pause with it: it could not be kept awake (" in out
    assert 'set it not to sleep tonight (docs/recording.md, "Keeping the computer awake")' in out
    assert len(list(tmp_path.glob("night-*.kemg"))) == 1  # recorded all the same


def test_record_without_keep_awake_asks_nothing(power_manager, tmp_path):
    from kneeemg.record import record
    from kneeemg.transport.ptysim import PtySensor

    counts = np.random.default_rng(0).integers(-40, 40, (3000, 2)).astype(np.int32)
    told = []
    with PtySensor(counts, speed=0) as sensor:
        outcome = record(f"serial://{sensor.port}", tmp_path, duration_s=2.0, keep_awake=False, on_awake=told.append)
    assert outcome.awake is None and told == [] and power_manager.calls() == []
    with PtySensor(counts, speed=0) as sensor:
        outcome = record(f"serial://{sensor.port}", tmp_path, duration_s=2.0, on_awake=told.append)
    assert told == [outcome.awake] and outcome.awake.held
    power_manager.wait_for("uninhibit 1")
    assert power_manager.calls() == ["inhibit wakepy wakelock active 1", "uninhibit 1"]


def test_devices_says_whether_the_computer_can_be_kept_awake(power_manager, capsys, monkeypatch):
    from kneeemg.cli import main

    assert main(["devices", "--no-ble"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        "keeping awake: yes, `kneeemg record` keeps this computer from sleeping (org.freedesktop.PowerManagement)")
    power_manager.wait_for("uninhibit 1")  # asked and let go at once
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS")
    assert main(["devices", "--no-ble"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        "keeping awake: no (org.freedesktop.PowerManagement: no desktop session (no session D-Bus); "
        f"org.gnome.SessionManager: no desktop session (no session D-Bus); {NO_SYSTEM_BUS}); set this computer not to "
        'sleep on the night of a recording (docs/recording.md, "Keeping the computer awake")')


def test_the_login_manager_method_is_registered_with_wakepy_once():
    # wakepy refuses a second method of the same name: asked again (or if wakepy has one of its own), it is found
    from kneeemg.record.awake import LOGIND, _logind_method

    first = _logind_method()
    _logind_method.cache_clear()
    assert _logind_method() is first and first.name == LOGIND
