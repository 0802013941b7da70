"""The command line: errors become one line and an exit code, never a traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest

from kneeemg.cli import COMMANDS, build_parser, main
from kneeemg.errors import ConfigError, KneeEmgError


def test_every_command_registers():
    parser = build_parser()
    names = set(parser._subparsers._group_actions[0].choices)
    assert names >= {"demo", "simulate", "replay", "import", "nights", "trends", "diary", "triage", "batch", "bench"}
    assert len(COMMANDS) >= 9


def test_kneeemg_error_is_one_line_and_exit_code(monkeypatch, capsys):
    def boom(args):
        raise ConfigError("sampling rate 100 Hz is outside the supported 500-4000 Hz; resample first")

    parser = build_parser()
    monkeypatch.setattr("kneeemg.cli.build_parser", lambda: parser)
    sub = parser._subparsers._group_actions[0]
    sub.choices["demo"].set_defaults(func=boom)
    code = main(["demo"])
    err = capsys.readouterr().err
    assert code == ConfigError.exit_code != 0
    assert err.count("\n") == 1 and err.startswith("kneeemg: error: sampling rate 100 Hz")


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "usage" in capsys.readouterr().out


def test_module_entry_point_runs():
    out = subprocess.run([sys.executable, "-m", "kneeemg", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("kneeemg ")


def test_exit_codes_are_distinct_per_family():
    from kneeemg.errors import DeviceError, InputError, StoreError

    codes = {KneeEmgError.exit_code, InputError.exit_code, DeviceError.exit_code, StoreError.exit_code}
    assert len(codes) == 4 and 0 not in codes


def test_data_dir_setting(tmp_path, monkeypatch):
    from kneeemg.datadir import find_data_dir
    from kneeemg.errors import InputError

    monkeypatch.delenv("KNEEEMG_DATA", raising=False)
    assert find_data_dir() is None
    monkeypatch.setenv("KNEEEMG_DATA", str(tmp_path))
    assert find_data_dir() == tmp_path
    with pytest.raises(InputError, match="does not exist"):
        find_data_dir(tmp_path / "nope")


@pytest.mark.parametrize("link", ["serial", "ble"])
def test_demo_over_the_live_path(tmp_path, capsys, link):
    assert main(["demo", "--link", link, "--seconds", "6", "--channels", "1", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "recording:" in out and "6000 samples" in out
    assert list(tmp_path.glob("night-*.kemg"))
