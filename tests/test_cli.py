"""The command line: errors become one line and an exit code, never a traceback."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time

import pytest

from kneeemg.cli import COMMANDS, build_parser, main
from kneeemg.errors import ConfigError, KneeEmgError
from kneeemg.io import open_recording


def test_every_command_registers():
    parser = build_parser()
    names = set(parser._subparsers._group_actions[0].choices)
    assert names >= {"demo", "simulate", "replay", "import", "nights", "trends", "diary", "triage", "batch", "bench"}
    assert len(COMMANDS) >= 9


def test_a_command_s_help_names_only_options_that_command_takes():
    """An option named in a command's --help is one of its own, or is named with its command
    (`kneeemg triage --explain` in the help of report, which has no --explain)."""
    import argparse
    import re

    for name, parser in build_parser()._subparsers._group_actions[0].choices.items():
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        parsers = {f"{name} {k}": p for k, p in subs[0].choices.items()} if subs else {name: parser}
        for full, p in parsers.items():
            own = {o for a in p._actions for o in a.option_strings}
            text = re.sub(r"`kneeemg [^`]*`", "", p.format_help())
            named = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", text))
            assert named <= own, f"`kneeemg {full} --help` names {sorted(named - own)}, which it does not take"


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


def test_a_full_disk_the_library_did_not_check_is_named_as_such(monkeypatch, capsys):
    import errno

    def full(args):
        raise OSError(errno.ENOSPC, "No space left on device", "out.csv")

    parser = build_parser()
    monkeypatch.setattr("kneeemg.cli.build_parser", lambda: parser)
    parser._subparsers._group_actions[0].choices["demo"].set_defaults(func=full)
    assert main(["demo"]) == 1
    assert capsys.readouterr().err == "kneeemg: error: out.csv: the disk is full; free some space on it and run the command again\n"


@pytest.mark.parametrize("argv, message", [
    (["demo", "--hours", "0.01", "--out", ""], "--out is empty; give a folder"),
    (["demo", "--link", "serial", "--out", ""], "--out is empty; give a folder"),
    (["batch", "n.kemg", "--out", ""], "--out is empty; give a folder"),
    (["record", "--virtual", "--out", ""], "--out is empty; give a folder"),
    (["replay", "n.kemg", "--events-out", ""], "--events-out is empty; give a file name"),
    (["triage", "--case", ""], "--case is empty; give a JSON case file"),
    (["diary", "--import", ""], "--import is empty; give a TOML or JSON file"),
    (["bench", "accuracy", "--quick", "--data-dir", ""], "--data-dir is empty; give the folder of public recordings, "
                                                         "or leave --data-dir out"),
    (["batch", "", "--out", "out"], "an input is empty; give a recording file, a folder or a pattern"),
    (["replay", ""], "the recording's name is empty; give a recording file"),
    (["import", ""], "the recording's name is empty; give a recording file"),
], ids=["demo", "demo-link", "batch", "record", "replay", "triage", "diary", "bench", "batch-input", "replay-file", "import-file"])
def test_an_empty_path_is_refused_not_taken_as_left_out(tmp_path, monkeypatch, capsys, argv, message):
    from kneeemg.simulate import simulate_night, write_simulated

    write_simulated(simulate_night(hours=0.01, seed=1), tmp_path / "n.kemg")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KNEEEMG_DB", str(tmp_path / "h.db"))
    before = sorted(tmp_path.iterdir())
    assert main(argv) == 2
    assert capsys.readouterr().err == f"kneeemg: error: {message}\n"
    assert sorted(tmp_path.iterdir()) == before  # nothing written in the current folder


EMPTY_DB = "kneeemg: error: --db is empty; give a history database file, or leave --db out for the default one\n"


@pytest.mark.parametrize("argv", [
    ["import", "n.kemg"], ["nights"], ["trends"], ["diary"], ["diary", "--import", "d.toml"], ["triage"],
    ["report", "--out", "r.html"], ["batch", "n.kemg", "--out", "out"],
], ids=["import", "nights", "trends", "diary", "diary-import", "triage", "report", "batch"])
def test_an_empty_db_is_refused_not_taken_as_the_default_history(tmp_path, monkeypatch, capsys, argv):
    from kneeemg.simulate import simulate_night, write_simulated

    write_simulated(simulate_night(hours=0.01, seed=1), tmp_path / "n.kemg")
    (tmp_path / "d.toml").write_text('[[days]]\ndate = "2024-03-01"\nstress = 2\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KNEEEMG_DB", str(tmp_path / "h.db"))  # what `--db ""` used to read and write
    before = sorted(tmp_path.iterdir())
    assert main([*argv, "--db", ""]) == 2
    assert capsys.readouterr().err == EMPTY_DB
    assert sorted(tmp_path.iterdir()) == before  # no history, report, batch folder or diary entry


@pytest.mark.parametrize("ctrl_c", [True, False])
def test_an_error_that_replaces_a_ctrl_c_is_read_as_the_ctrl_c(monkeypatch, capsys, ctrl_c):
    import signal

    def compile_interrupted(args):  # as numba does when Ctrl-C comes while it compiles a kernel
        try:
            if ctrl_c:
                os.kill(os.getpid(), signal.SIGINT)
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise RuntimeError("no compiled object yet for <Library '_filter_group'>") from None

    parser = build_parser()
    monkeypatch.setattr("kneeemg.cli.build_parser", lambda: parser)
    parser._subparsers._group_actions[0].choices["demo"].set_defaults(func=compile_interrupted)
    # Python's own handler, as at the start of a command line, whatever an earlier test left:
    # the command notes a Ctrl-C only over that one
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        if ctrl_c:
            assert main(["demo"]) == 130
            assert capsys.readouterr().err == "kneeemg: interrupted\n"
        else:  # without a Ctrl-C, an unexpected error is not hidden
            with pytest.raises(RuntimeError, match="no compiled object"):
                main(["demo"])
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back as it was
    finally:
        signal.signal(signal.SIGINT, previous)


def test_a_ctrl_c_lost_in_a_c_callback_still_stops_the_command(monkeypatch, capsys):
    import ctypes
    import signal

    finished = []

    def command(args):  # Ctrl-C while llvmlite's C code calls back into Python, as numba compiles
        ctypes.CFUNCTYPE(None)(lambda: os.kill(os.getpid(), signal.SIGINT))()
        time.sleep(2.0)  # the compiler goes on
        finished.append(True)
        return 0

    parser = build_parser()
    monkeypatch.setattr("kneeemg.cli.build_parser", lambda: parser)
    parser._subparsers._group_actions[0].choices["demo"].set_defaults(func=command)
    hook = sys.unraisablehook
    assert main(["demo"]) == 130 and not finished
    assert capsys.readouterr().err == "kneeemg: interrupted\n"  # no "Exception ignored" traceback
    assert sys.unraisablehook is hook


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


def test_verbose_is_accepted_before_and_after_the_command(tmp_path, capsys, monkeypatch):
    from kneeemg.cli import build_parser

    parser = build_parser()
    for argv, count in ((["-v", "replay", "f.csv"], 1), (["replay", "-v", "f.csv"], 1), (["replay", "f.csv", "-vv"], 2),
                        (["-v", "replay", "--verbose", "f.csv"], 2), (["bench", "speed", "-v"], 1)):
        args, extra = parser.parse_known_args(argv)
        assert not extra and args.verbose + args.verbose_after == count, argv
    seen = []
    monkeypatch.setattr("kneeemg.cli.replay.run", lambda args: seen.append(args.verbose) or 0)
    assert main(["-v", "replay", "-v", "f.csv"]) == 0 and seen == [2]  # what the commands read (batch: Dask's log)
    monkeypatch.undo()
    assert main(["replay", "-v", str(tmp_path / "missing.csv")]) == 2
    assert "missing.csv does not exist" in capsys.readouterr().err


def test_data_dir_setting(tmp_path, monkeypatch):
    from kneeemg.datadir import find_data_dir
    from kneeemg.errors import InputError

    monkeypatch.delenv("KNEEEMG_DATA", raising=False)
    assert find_data_dir() is None
    monkeypatch.setenv("KNEEEMG_DATA", str(tmp_path))
    assert find_data_dir() == tmp_path
    with pytest.raises(InputError, match="does not exist"):
        find_data_dir(tmp_path / "nope")


def test_data_dir_that_is_a_file_is_named_as_a_file(tmp_path):
    from kneeemg.datadir import find_data_dir
    from kneeemg.errors import InputError

    (tmp_path / "recordings.zip").write_bytes(b"")
    with pytest.raises(InputError, match=r"recordings\.zip is a file, not a folder; set KNEEEMG_DATA or --data-dir"):
        find_data_dir(tmp_path / "recordings.zip")


@pytest.mark.parametrize("link", ["serial", "ble"])
def test_demo_over_the_live_path(tmp_path, capsys, link):
    assert main(["demo", "--link", link, "--seconds", "6", "--channels", "1", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "recording:" in out and "6000 samples" in out
    assert list(tmp_path.glob("night-*.kemg"))


# --- bad input on the command line: one line, exit code 2, no traceback, nothing started ---


def _fails(capsys, argv):
    """Run ``kneeemg ARGV``; return its exit code, stdout and last stderr line (checked for a traceback)."""
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse refused an option (one error line)
        code = exc.code
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "Error:" not in err
    lines = err.strip().splitlines()
    assert lines and lines[-1].startswith("kneeemg") and ": error: " in lines[-1]
    return code, out, lines


@pytest.mark.parametrize(
    "argv, option",
    [
        (["demo", "--link", "ble", "--seconds", "0"], "--seconds"),
        (["demo", "--link", "serial", "--seconds", "-3"], "--seconds"),
        (["demo", "--link", "serial", "--seconds", "nan"], "--seconds"),
        (["demo", "--hours", "0"], "--hours"),
        (["demo", "--hours", "nan"], "--hours"),
        (["demo", "--hours", "inf"], "--hours"),
        (["demo", "--hours", "-1"], "--hours"),
        (["demo", "--hours", "1e-6"], "--hours"),
        (["demo", "--channels", "0"], "--channels"),
        (["demo", "--fs", "inf"], "--fs"),
        (["demo", "--fs", "0"], "--fs"),
        (["demo", "--seed", "-1"], "--seed"),
        (["simulate", "--hours", "0.01", "--seed", "-3", "--out", "x.kemg"], "--seed"),
        (["simulate", "--hours", "nan", "--out", "x.kemg"], "--hours"),
        (["simulate", "--hours", "0", "--out", "x.kemg"], "--hours"),
        (["simulate", "--hours", "6e-5", "--out", "x.kemg"], "--hours"),
        (["simulate", "--channels", "-2", "--out", "x.kemg"], "--channels"),
        (["simulate", "--channels", "65", "--out", "x.kemg"], "--channels"),
        (["simulate", "--fs", "100", "--out", "x.kemg"], "--fs"),
        (["simulate", "--fs", "nan", "--out", "x.kemg"], "--fs"),
        (["replay", "x.csv", "--fs", "nan"], "--fs"),
        (["replay", "x.csv", "--fs", "inf"], "--fs"),
        (["replay", "x.csv", "--fs", "0"], "--fs"),
        (["replay", "x.csv", "--fs", "-1000"], "--fs"),
        (["replay", "x.csv", "--resample", "-1"], "--resample"),
        (["replay", "x.csv", "--resample", "0"], "--resample"),
        (["replay", "x.csv", "--resample", "nan"], "--resample"),
        (["replay", "x.csv", "--resample", "100"], "--resample"),
        (["batch", "x", "--out", "o", "--workers", "0"], "--workers"),
        (["batch", "x", "--out", "o", "--workers", "-1"], "--workers"),
        (["batch", "x", "--out", "o", "--fs", "nan"], "--fs"),
        (["batch", "x", "--out", "o", "--resample", "-1"], "--resample"),
        (["bench", "speed", "--seed", "-1"], "--seed"),
    ],
)
def test_bad_numbers_are_one_line_usage_errors(tmp_path, monkeypatch, capsys, argv, option):
    monkeypatch.chdir(tmp_path)
    code, out, lines = _fails(capsys, argv)
    assert code == 2
    assert f"argument {option}: " in lines[-1]
    assert "Simulating" not in out and "Streaming" not in out  # nothing started
    assert "scipy" not in lines[-1] and "resample the recording" not in lines[-1]  # no wrong advice
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_rates_name_the_allowed_range(capsys):
    _, _, lines = _fails(capsys, ["simulate", "--fs", "100", "--out", "x.kemg"])
    assert "500 to 4000 Hz" in lines[-1]
    _, _, lines = _fails(capsys, ["replay", "x.csv", "--resample", "-1"])
    assert "500 to 4000 Hz" in lines[-1]


def test_demo_over_ble_refuses_more_channels_than_the_sensor_streams(tmp_path, capsys):
    code, out, lines = _fails(capsys, ["demo", "--link", "ble", "--channels", "9", "--seconds", "3",
                                       "--out", str(tmp_path / "d")])
    assert code == 2 and len(lines) == 1
    assert "--channels 9" in lines[0] and "--link serial" in lines[0]
    assert "Streaming" not in out and not (tmp_path / "d").exists()


@pytest.mark.parametrize("channels, fs", [("33", "1000"), ("9", "4000")])
def test_demo_over_serial_refuses_more_than_the_virtual_sensor_streams(tmp_path, capsys, channels, fs):
    # 48 channels at 1000 Hz lost 2553 of 10,000 samples and exited 0
    code, out, lines = _fails(capsys, ["demo", "--link", "serial", "--channels", channels, "--fs", fs, "--seconds", "3",
                                       "--out", str(tmp_path / "d")])
    assert code == 2 and len(lines) == 1
    assert f"--channels {channels} at --fs {fs}" in lines[0] and "32,000 channel-samples per second" in lines[0]
    assert "Streaming" not in out and not (tmp_path / "d").exists()


@pytest.fixture
def afile(tmp_path):
    path = tmp_path / "afile"
    path.write_text("not a folder")
    return path


@pytest.mark.parametrize("command", [["demo", "--hours", "0.01"], ["demo", "--link", "serial", "--seconds", "2"],
                                     ["batch", "IN"]], ids=["demo", "demo-link", "batch"])
@pytest.mark.parametrize("where", ["file", "below-a-file", "not-permitted"])
def test_bad_output_folders_are_refused_before_the_work(tmp_path, afile, capsys, command, where):
    out = {"file": afile, "below-a-file": afile / "sub", "not-permitted": "/sys/kernel/kneeemg-test-out"}[where]
    if where == "not-permitted" and not os.path.isdir("/sys/kernel"):
        pytest.skip("needs Linux's /sys/kernel (a folder nobody may create folders in)")
    if "IN" in command:
        from kneeemg.simulate import simulate_night, write_simulated

        rec = write_simulated(simulate_night(hours=0.2 / 60, seed=1), tmp_path / "n.kemg")["recording"]
        command = ["batch", str(rec)]
    code, out_text, lines = _fails(capsys, [*command, "--out", str(out)])
    assert code == 2 and len(lines) == 1
    assert lines[0].startswith(f"kneeemg: error: --out {out}")
    assert "choose another --out" in lines[0] or "give a folder" in lines[0]
    assert "Simulating" not in out_text and "Streaming" not in out_text
    assert afile.read_text() == "not a folder"


@pytest.mark.parametrize("address", ["foo", "tcp://host-without-port", "foo://h:1", ""])
def test_batch_refuses_a_scheduler_address_without_a_port(tmp_path, capsys, address):
    code, _, lines = _fails(capsys, ["batch", str(tmp_path), "--out", str(tmp_path / "o"), "--scheduler", address])
    assert code == 2 and len(lines) == 1
    said = f"--scheduler {address} is not a Dask scheduler address" if address else "--scheduler is empty; give a Dask"
    assert said in lines[0] and "tcp://" in lines[0]
    assert not (tmp_path / "o").exists()


def test_batch_has_the_detector_options_of_replay(capsys):
    with pytest.raises(SystemExit):
        main(["batch", "--help"])
    text = capsys.readouterr().out
    for option in ("--fs", "--mains", "--resample", "--channels"):
        assert option in text
    with pytest.raises(SystemExit):
        main(["replay", "--help"])
    assert "--fs" in capsys.readouterr().out


def test_simulate_refuses_other_file_endings(tmp_path, capsys):
    out = tmp_path / "x.csv"
    code, _, lines = _fails(capsys, ["simulate", "--hours", "0.01", "--out", str(out)])
    assert code == 2 and len(lines) == 1
    assert ".kemg" in lines[0] and ".edf" in lines[0] and ".bdf" in lines[0] and "--out" in lines[0]
    assert list(tmp_path.iterdir()) == []
    code, _, lines = _fails(capsys, ["simulate", "--hours", "0.01", "--out", str(tmp_path / "no" / "x.kemg")])
    assert code == 2 and "does not exist" in lines[0]
    assert main(["simulate", "--hours", "0.005", "--out", str(tmp_path / "x.EDF")]) == 0
    assert (tmp_path / "x.EDF").exists()


@pytest.mark.parametrize("twice", [["left", "LEFT"], ["left", "0"]])
def test_replay_refuses_a_channel_named_twice(tmp_path, capsys, twice):
    from kneeemg.simulate import simulate_night, write_simulated

    path = write_simulated(simulate_night(hours=0.01, n_channels=2, seed=1), tmp_path / "x.kemg")["recording"]
    code, _, lines = _fails(capsys, ["replay", str(path), "--channels", *twice])
    assert code == 2 and "channel 'left' is chosen twice" in lines[-1]


def _csv(path, fs_hz, time_column):
    import numpy as np

    x = np.random.default_rng(3).normal(0.0, 3.0, (int(5 * fs_hz), 2))
    with path.open("w") as fh:
        fh.write("time,left,right\n" if time_column else "left,right\n")
        for i, row in enumerate(x):
            fh.write((f"{i / fs_hz:.5f}," if time_column else "") + f"{row[0]:.3f},{row[1]:.3f}\n")
    return path


def test_replay_json_gives_the_recording_s_notes_on_stderr(tmp_path, capsys):
    # with --json the notes (channels chosen, a narrow band, a damaged file) were dropped
    import numpy as np
    import pyedflib

    path = tmp_path / "psg.edf"
    w = pyedflib.EdfWriter(str(path), 2, file_type=pyedflib.FILETYPE_EDFPLUS)
    w.setSignalHeaders([{"label": label, "dimension": "uV", "sample_frequency": 1000, "physical_min": -500.0,
                         "physical_max": 500.0, "digital_min": -32768, "digital_max": 32767, "transducer": "",
                         "prefilter": "HP:10Hz LP:100Hz"} for label in ("ECG", "Leg L")])
    w.writeSamples([np.random.default_rng(0).normal(0.0, 3.0, 5000) for _ in range(2)])
    w.close()
    assert main(["replay", str(path), "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["channels"] == ["Leg L"]
    err = err.replace("\n", " ")
    assert "note: without --channels, read the leg EMG channel 'Leg L'" in err
    assert "nothing above 100 Hz" in err


def test_replay_json_and_the_cohort_table_give_no_rate_under_an_hour(tmp_path, capsys):
    # the table says "No rates"; the JSON and the cohort table said 180 twitches an hour of 20 s
    from kneeemg.simulate import simulate_night, write_simulated

    write_simulated(simulate_night(hours=0.05, seed=1), tmp_path / "n.kemg")
    assert main(["replay", str(tmp_path / "n.kemg"), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert sum(summary["counts"].values()) > 0 and set(summary["per_usable_hour"].values()) == {None}
    assert summary["leg_movements_thigh"]["plm_per_usable_hour"] is None
    assert main(["batch", str(tmp_path / "n.kemg"), "--out", str(tmp_path / "out"), "--workers", "1"]) == 0
    with open(tmp_path / "out" / "cohort.csv", encoding="utf-8") as fh:
        row = next(csv.DictReader(fh))
    assert int(row["twitches"]) + int(row["spasms"]) > 0 and row["twitch_per_h"] == row["spasm_per_h"] == row["cramp_per_h"] == ""


def test_replay_refuses_one_file_for_both_outputs_and_says_an_infinite_sample_in_one_line(tmp_path):
    import numpy as np

    from kneeemg.simulate import simulate_night, write_simulated

    write_simulated(simulate_night(hours=0.01, seed=1), tmp_path / "n.kemg")
    proc = subprocess.run([sys.executable, "-m", "kneeemg", "replay", "n.kemg", "--events-out", "x.bdf", "--edf-out", "x.bdf"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr == "kneeemg: error: --events-out and --edf-out both name x.bdf; give each its own file\n"
    assert not (tmp_path / "x.bdf").exists()
    x = np.random.default_rng(0).normal(0.0, 3.0, 20000)
    x[100] = np.inf  # (the band measurement before the detector used to print numpy's warnings)
    (tmp_path / "inf.csv").write_text("time,emg\n" + "".join(f"{i / 1000},{v}\n" for i, v in enumerate(x)))
    proc = subprocess.run([sys.executable, "-m", "kneeemg", "replay", "inf.csv"], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr == "kneeemg: error: inf.csv has NaN or infinite samples at 0.100 s; repair or cut the file\n"


def test_replay_says_which_muscle_the_leg_movements_come_from(tmp_path, capsys):
    import numpy as np
    import pyedflib

    from kneeemg.simulate import simulate_night, write_simulated

    path = tmp_path / "lab.edf"
    with pyedflib.EdfWriter(str(path), 3, file_type=pyedflib.FILETYPE_EDFPLUS) as w:
        w.setSignalHeaders([{"label": label, "dimension": "uV", "sample_frequency": 1000, "physical_min": -500.0,
                             "physical_max": 500.0, "digital_min": -32768, "digital_max": 32767, "transducer": "",
                             "prefilter": ""} for label in ("ECG", "Leg L", "Leg R")])
        w.writeSamples([np.random.default_rng(0).normal(0.0, 3.0, 5000) for _ in range(3)])
    own = write_simulated(simulate_night(hours=0.01, seed=1), tmp_path / "n.kemg")["recording"]
    plain = _csv(tmp_path / "timed.csv", 1000.0, True)
    said = {}
    for name in (path, own, plain):
        assert main(["replay", str(name)]) == 0
        said[name] = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("* WASM"))
    assert said[path] == ("* WASM 2016 leg-movement rules, computed from the shin (as a sleep lab scores them, but over "
                          "all usable time, awake time included).")
    assert said[own] == "* WASM 2016 leg-movement rules, computed from the thigh (sleep labs use the shin muscle)."
    assert said[plain] == "* WASM 2016 leg-movement rules, computed from the recorded muscle (sleep labs use the shin muscle)."


def test_replay_says_when_fs_was_not_used(tmp_path, capsys):
    timed = _csv(tmp_path / "timed.csv", 1000.0, True)
    assert main(["replay", str(timed), "--fs", "2000"]) == 0
    assert "note: --fs 2000 was not used" in capsys.readouterr().out.replace("\n", " ")
    assert main(["replay", str(timed), "--fs", "2000", "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["fs_hz"] == 1000.0 and "--fs 2000 was not used" in err
    untimed = _csv(tmp_path / "untimed.csv", 1000.0, False)
    assert main(["replay", str(untimed), "--fs", "1000"]) == 0
    assert "was not used" not in capsys.readouterr().out
    assert main(["replay", str(untimed), "--fs", "1000", "--resample", "2000"]) == 0  # --fs used, then resampled
    assert "was not used" not in capsys.readouterr().out
    assert main(["replay", str(timed), "--fs", "250", "--resample", "2000"]) == 0
    assert "sampling rate (then resampled to 2000 Hz with --resample)" in capsys.readouterr().out.replace("\n", " ")


def test_replay_of_a_short_recording_gives_counts_but_no_rates(tmp_path, capsys):
    # as the nights list, trends and the report: under min_usable_hours (1 h) a rate says little
    assert main(["simulate", "--hours", "0.05", "--seed", "2", "--out", str(tmp_path / "short.kemg")]) == 0
    capsys.readouterr()
    assert main(["replay", str(tmp_path / "short.kemg")]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "No rates: 2 min 59 s of usable time is less than the 1 h a rate needs" in out
    twitch = next(line for line in out.split("│ twitch")[1:2])
    assert twitch.split("│")[2].strip() == "-" and int(twitch.split("│")[1]) > 0  # counted, not rated
    assert main(["simulate", "--hours", "1.1", "--seed", "2", "--out", str(tmp_path / "long.kemg")]) == 0
    capsys.readouterr()
    assert main(["replay", str(tmp_path / "long.kemg")]) == 0
    out = capsys.readouterr().out
    assert "No rates" not in out and float(out.split("│ twitch")[1].split("│")[2]) > 0


def test_replay_edf_out_writes_the_file_and_says_where(tmp_path, capsys):
    assert main(["simulate", "--hours", "0.02", "--seed", "2", "--out", str(tmp_path / "n.kemg")]) == 0
    capsys.readouterr()
    assert main(["replay", str(tmp_path / "n.kemg"), "--edf-out", str(tmp_path / "n.bdf")]) == 0
    assert f"EDF with the events as annotations: {tmp_path / 'n.bdf'}" in capsys.readouterr().out.replace("\n", "")
    with open_recording(tmp_path / "n.bdf") as back:
        assert back.info.format == "bdf" and back.info.n_samples == 72_000
    before = (tmp_path / "n.bdf").read_bytes()
    assert main(["replay", str(tmp_path / "n.kemg"), "--edf-out", str(tmp_path / "n.bdf")]) == 2
    assert capsys.readouterr().err.startswith(f"kneeemg: error: --edf-out {tmp_path / 'n.bdf'} already exists and is not replaced")
    assert (tmp_path / "n.bdf").read_bytes() == before


def test_replay_and_import_show_a_file_name_that_is_not_utf8_as_nights_does(tmp_path, capsys):
    odd = _csv(tmp_path / os.fsdecode(b"n\xe9uit.csv"), 1000.0, True)  # it was shown as n\udce9uit.csv
    assert main(["replay", str(odd), "--fs", "2000"]) == 0
    out = capsys.readouterr().out.replace("\n", " ")
    assert "n\\xe9uit.csv (left, right)" in out and "was not used: " in out and "udce9" not in out
    db = str(tmp_path / "h.db")
    for again in range(2):
        assert main(["import", str(odd), "--fs", "2000", "--db", db, "--date", "2026-03-01"]) == 0
        out = capsys.readouterr().out
        assert out.count("n\\xe9uit.csv") == 2 and "udce9" not in out, out
    assert main(["nights", "--db", db]) == 0
    assert "n\\xe9uit.csv" in capsys.readouterr().out


def test_bench_speed_prints_the_machine_as_text_and_says_what_quick_times(capsys):
    from kneeemg.bench.speed import machine_info
    from kneeemg.cli.bench import _span, machine_text

    assert (_span(10 / 60), _span(0.05), _span(8.0)) == ("10 min", "3 min", "8 h")  # not "0.166667 h"

    text = machine_text(machine_info())
    assert "{" not in text and "'" not in text and "cores" in text and "numpy" in text
    with pytest.raises(SystemExit):
        main(["bench", "speed", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "1 minute of 64-channel data" in help_text and "ten minutes of data instead" not in help_text


def test_building_the_parser_imports_no_signal_processing():
    """``kneeemg --help`` and a Ctrl-C while the parser is built stay instant: numpy, scipy and
    numba are imported by the commands that run, not by the parser."""
    code = ("import sys; from kneeemg.cli import build_parser; build_parser(); "
            "print(sorted(m for m in ('numpy', 'scipy', 'numba', 'rich') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_tables_written_to_a_file_keep_every_cell_whole(tmp_path):
    from kneeemg.simulate import simulate_night, write_simulated

    folder = tmp_path / "a folder with a rather long name for the recordings"
    folder.mkdir()
    path = write_simulated(simulate_night(hours=0.01, seed=2), folder / "night-2026-11-20.kemg")["recording"]
    db = tmp_path / "h.db"
    assert main(["import", str(path), "--db", str(db), "--date", "2026-11-20"]) == 0
    out = subprocess.run([sys.executable, "-m", "kneeemg", "nights", "--db", str(db)], capture_output=True, text=True,
                         env={**os.environ, "COLUMNS": ""}, check=True).stdout  # a pipe, not a terminal
    assert "2026-11-20" in out and "twitches" in out and "usable h" in out and "…" not in out


@pytest.mark.parametrize("argv, words", [
    (["demo", "--seed", "-1"], "argument --seed: -1 must be a whole number"),
    (["bogus"], "invalid choice: 'bogus'"),
    (["replay"], "the following arguments are required: FILE"),
    (["replay", "--channels", "left", "n.kemg"], "required: FILE (if --channels came before it, --channels took it as a "
                                                 "channel: give --channels after it)"),
    (["batch", "--channels", "left", ".", "--out", "r"], "required: INPUTS (if --channels came before it"),
    (["record", "--virtual", "--out", "r", "--duration", "0"], "argument --duration: 0 is not allowed"),
    (["record", "--virtual", "--out", "r", "--duration", "0.1"], "--duration: 0.1 is not allowed; give a number from 0.25"),
    (["devices", "--scan", "-1"], "argument --scan: -1 is not allowed"),
])
def test_option_errors_are_one_line_with_where_to_look(tmp_path, argv, words):
    proc = subprocess.run([sys.executable, "-m", "kneeemg", *argv], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and words in proc.stderr and "--help`" in proc.stderr
    assert not (tmp_path / "r").exists()  # nothing made before the options are right


@pytest.mark.parametrize("argv, words", [
    (["demo", "--seconds", "5"], "--seconds goes with --link"),
    (["demo", "--link", "serial", "--hours", "1"], "--hours is the simulated night's length without --link"),
    (["record", "--serial", "/dev/null", "--link", "serial", "--out", "r"], "--link chooses the virtual sensor's path"),
    (["batch", "x.kemg", "--out", "r", "--channels", "left", "LEFT"], "--channels names 'LEFT' twice"),
    (["devices", "--no-ble", "--scan", "3"], "--scan sets how long to scan for Bluetooth sensors, and --no-ble skips"),
])
def test_options_that_would_be_ignored_are_refused(tmp_path, monkeypatch, capsys, argv, words):
    monkeypatch.chdir(tmp_path)
    code, out, lines = _fails(capsys, argv)
    assert code == 2 and lines == [lines[-1]] and words in lines[-1] and out == ""
    assert not (tmp_path / "r").exists() and not (tmp_path / "kneeemg-demo").exists()


def test_record_refuses_a_duration_it_cannot_record_before_anything(tmp_path):
    from kneeemg.errors import InputError
    from kneeemg.record import record, record_virtual

    for bad in (0, 0.1, -5.0, float("nan"), 3 * 86400.0):
        with pytest.raises(InputError, match="--duration .* is not allowed"):
            record("serial:///dev/null", tmp_path / "a", duration_s=bad)
        with pytest.raises(InputError, match="--duration .* is not allowed"):
            record_virtual("serial", seconds=bad, out_dir=tmp_path / "b")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_an_unknown_option_is_said_by_the_command_it_was_given_to(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "kneeemg", "nights", "--days", "3"], capture_output=True, text=True,
                          cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr == ("kneeemg nights: error: unrecognized arguments: --days 3; "
                                                    "see `kneeemg nights --help`\n")


def test_batch_option_errors_come_before_its_progress_bar(tmp_path, capsys):
    assert main(["batch", "x.kemg", "--out", str(tmp_path), "--scheduler", "foo"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("kneeemg: error: --scheduler foo") and err.count("\n") == 1


def test_output_piped_into_a_program_that_stops_reading_ends_quietly(tmp_path):
    from kneeemg.simulate import simulate_night, write_simulated

    path = write_simulated(simulate_night(hours=0.05, n_channels=1, seed=9), tmp_path / "n.kemg")["recording"]
    proc = subprocess.Popen([sys.executable, "-m", "kneeemg", "replay", str(path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.close()  # like `| head -0`: every write finds the pipe closed
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 0 and err == b""


@pytest.mark.parametrize("low", [False, True])  # the sensor's battery-low bit
def test_an_error_after_the_status_line_is_on_a_line_of_its_own(tmp_path, monkeypatch, capsys, low):
    import kneeemg.record
    from kneeemg.cli import main
    from kneeemg.errors import DeviceError
    from kneeemg.record import RecordStatus

    def failing_record(url, out_dir, on_status, **kwargs):
        on_status(RecordStatus("connected", 0.1, 5.0, 0.0, 5000, 0, 0, 0, 0, 80, [], [3.1], 0, 0, 0, 0, battery_low=low))
        raise DeviceError("cannot write the recording (No space left on device)")

    monkeypatch.setattr(kneeemg.record, "record", failing_record)
    code = main(["record", "--serial", "/dev/ttyACM9", "--out", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 3 and "cramps 0" in out and out.endswith("\n")  # not run into the error (a log file holds both)
    assert ("| battery low |" if low else "| battery 80 % |") in out
    assert err == "kneeemg: error: cannot write the recording (No space left on device)\n"


def test_a_warning_while_recording_on_a_terminal_is_on_a_line_of_its_own(tmp_path, monkeypatch):
    import io
    import logging

    from rich.console import Console

    import kneeemg.cli.render
    import kneeemg.record
    from kneeemg.cli import main
    from kneeemg.errors import DeviceError
    from kneeemg.record import RecordStatus

    screen = io.StringIO()  # a terminal: rich keeps the status line at its bottom
    monkeypatch.setattr(kneeemg.cli.render, "make_console",
                        lambda: Console(file=screen, force_terminal=True, width=300, color_system=None))
    stderr = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    handler = logging.StreamHandler(stderr)  # as the command line sets up logging
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)

    def warning_record(url, out_dir, on_status, **kwargs):
        on_status(RecordStatus("connected", 0.1, 5.0, 0.0, 5000, 0, 0, 0, 0, 80, [], [3.1], 0, 0, 0, 0))
        logging.getLogger("kneeemg.record").warning("ATT MTU is low")
        raise DeviceError("the sensor went away")

    monkeypatch.setattr(kneeemg.record, "record", warning_record)
    try:
        assert main(["record", "--serial", "/dev/ttyACM9", "--out", str(tmp_path)]) == 3
    finally:
        logging.getLogger().removeHandler(handler)
    assert "WARNING kneeemg.record: ATT MTU is low" in screen.getvalue()  # printed by rich, above the status line
    assert "ATT MTU" not in stderr.getvalue() and handler.stream is stderr


def test_detector_settings_on_the_command_line(tmp_path, capsys):
    # Quiet noise band-limited to 10-100 Hz (a sleep lab's leg channel): at the default onset
    # level its 10 ms envelope crosses 3 x floor now and then. Its spectrum tells, so it is
    # detected at narrow_onset_ratio (3.5), with a note; --set narrow_onset_ratio=0 keeps 3, and
    # --set onset_ratio=3.5 asks for 3.5 anyway (docs/detector.md, "Known limits"). The
    # setting is part of an imported night's settings.
    from signals import sleep_lab_noise
    from kneeemg.io.native import RecordingWriter
    from kneeemg.store import Store

    path = tmp_path / "narrow.kemg"
    with RecordingWriter(path, 1000.0, ["LAT"]) as w:
        w.write(sleep_lab_noise(1_200_000, 1000.0)[:, None])
    counts, notes = [], []
    for extra in ([], ["--set", "narrow_onset_ratio=0"], ["--set", "narrow_onset_ratio=0", "--set", "onset_ratio=3.5"]):
        assert main(["replay", str(path), "--json", *extra]) == 0
        out, err = capsys.readouterr()
        counts.append(sum(json.loads(out)["counts"].values()))
        notes.append("holds next to nothing above 200 Hz" in err)
    assert counts[0] == 0 and counts[1] >= 3 and counts[2] == 0
    assert notes == [True, False, False]
    db = tmp_path / "h.db"
    assert main(["import", str(path), "--db", str(db), "--date", "2026-11-20", "--set", "onset_ratio=3.5"]) == 0
    with Store(db, create=False) as s:
        assert s.night().settings["onset_ratio"] == 3.5
    for bad, message in ((["--set", "onset=4"], "unknown detector setting 'onset' in 'onset=4'; did you mean onset_ratio?"),
                         (["--set", "mains_hz=50"], "'mains_hz' in 'mains_hz=50'; it has its own option"),
                         (["--set", "offset_ratio=9"], "offset_ratio must not exceed onset_ratio")):
        capsys.readouterr()
        assert main(["replay", str(path), *bad]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1


def test_an_error_shows_a_file_name_that_is_not_utf8_as_the_rest_of_kneeemg_does(tmp_path, capsys):
    bad = tmp_path / os.fsdecode(b"n\xe9uit.csv")
    bad.write_bytes(b"this is no recording\n")
    assert main(["replay", str(bad)]) != 0
    err = capsys.readouterr().err
    assert "n\\xe9uit.csv" in err and "udce9" not in err and err.count("\n") == 1
    assert main(["replay", str(tmp_path / os.fsdecode(b"gone\xff.kemg"))]) != 0
    err = capsys.readouterr().err
    assert "gone\\xff.kemg" in err and "udcff" not in err


@pytest.mark.parametrize("name", ["events.csv", "report.html", "history.sqlite3"])
def test_demo_leaves_someone_elses_events_report_or_history_in_its_folder_alone(tmp_path, capsys, name):
    from kneeemg.simulate import simulate_night, write_simulated

    folder = tmp_path / "out"
    folder.mkdir()
    if name == "history.sqlite3":  # a history with a recorded night in it
        rec = write_simulated(simulate_night(hours=0.2 / 60, seed=1), tmp_path / "n.kemg")["recording"]
        assert main(["import", str(rec), "--db", str(folder / name), "--date", "2026-11-20"]) == 0
        capsys.readouterr()
    else:
        (folder / name).write_text("my own notes\n")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    code, out, lines = _fails(capsys, ["demo", "--hours", "0.01", "--out", str(folder)])
    assert code == 2 and len(lines) == 1 and f"--out {folder / name} already exists" in lines[0]
    assert "Simulating" not in out
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_demo_never_adds_its_simulated_night_to_a_history_of_real_nights(tmp_path, capsys):
    from kneeemg.diary import validate_day
    from kneeemg.store import Store

    out = tmp_path / "nights"
    out.mkdir()
    history = out / "history.sqlite3"  # the name of the history's own file, as KNEEEMG_DB may name it
    with Store(history) as s:
        s.save_day(validate_day({"date": "2026-11-20", "stress": 3}))
    before = history.read_bytes()
    assert main(["demo", "--hours", "0.02", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "history.sqlite3 already exists and is not the demo's history" in err
    assert history.read_bytes() == before and not (out / "events.csv").exists()
    demo = tmp_path / "demo"  # the demo's own history: run again, its night is there once
    assert main(["demo", "--hours", "0.02", "--out", str(demo)]) == 0
    assert main(["demo", "--hours", "0.02", "--out", str(demo)]) == 0
    with Store(demo / "history.sqlite3", create=False) as s:
        assert len(s.nights()) == 1


def test_a_recording_s_losses_are_told_in_one_line_with_counts_in_the_right_number():
    from types import SimpleNamespace

    from kneeemg.cli.render import losses_words

    def status(**kw):
        return SimpleNamespace(**{"samples_lost": 0, "frames_bad": 0, "late": 0, "reconnects": 0, "lost_s": 0.0,
                                  "asleep_s": 0.0, **kw})

    assert losses_words(status()) is None  # nothing lost: nothing said
    assert losses_words(status(samples_lost=1706, lost_s=1.706, reconnects=1)) == (
        "lost 1.7 s in gaps; 0 damaged frames dropped; 1 reconnect")
    assert losses_words(status(samples_lost=80, lost_s=0.08, frames_bad=1, late=2, reconnects=3)) == (
        "lost 0.1 s in gaps; 1 damaged frame dropped; 2 frames dropped as too late; 3 reconnects")
    assert losses_words(status(samples_lost=3_600_000, lost_s=3600.0, asleep_s=3600.0, reconnects=1)) == (
        'lost 3600.0 s in gaps (this computer was asleep for about 1 h 00 min of it: docs/recording.md, "Keeping the '
        'computer awake"); 0 damaged frames dropped; 1 reconnect')


@pytest.mark.parametrize("argv, message", [
    (["bench", "speed", "--quick", "--plot", "speed.txt"], "--plot speed.txt is not a .png file; name the plot like accuracy.png"),
    (["bench", "speed", "--quick", "--plot", "r.png", "--json", "r.png"], "--json and --plot both name r.png; give each its own file"),
])
def test_bench_outputs_that_could_not_be_written_are_refused_before_the_run(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert capsys.readouterr().err == f"kneeemg: error: {message}\n" and list(tmp_path.iterdir()) == []
