"""Cohorts: a dozen nights through a Dask LocalCluster and the local pool, same events as replay."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from kneeemg.batch import discover_inputs, night_id, run_batch
from kneeemg.cli import main
from kneeemg.events import read_events_csv
from kneeemg import replay
from kneeemg.simulate import simulate_night, write_simulated
from kneeemg.store import Store


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    """Twelve simulated nights of two minutes each, one of them corrupted."""
    folder = tmp_path_factory.mktemp("cohort")
    paths = []
    for i in range(12):
        night = simulate_night(hours=2 / 60, n_channels=1, seed=200 + i)
        paths.append(write_simulated(night, folder / f"n{i:02d}.kemg")["recording"])
    bad = folder / "n05.kemg"
    data = bytearray(bad.read_bytes())
    bad.write_bytes(b"JUNK" + bytes(data[4:]))  # a damaged header
    return folder, paths


def _events(out, path):
    return [(e.onset_sample, e.offset_sample, e.channel, e.kind) for e in read_events_csv(out / "nights" / night_id(path) / "events.csv", 1000.0)]


@pytest.mark.parametrize("scheduler", [None, "local"], ids=["process-pool", "dask-localcluster"])
def test_batch_matches_replay_reports_failures_and_resumes(cohort, tmp_path, scheduler):
    folder, paths = cohort
    out = tmp_path / "out"
    result = run_batch([str(folder)], out, workers=2, scheduler=scheduler)
    assert len(result.rows) == 12 and result.processed == 12
    failed = result.failed
    assert [r["path"] for r in failed] == [str(paths[5].resolve())]
    assert failed[0]["error"].startswith(f"{paths[5].resolve()}: unknown recording format")  # the message, no class name
    for p in paths[:3] + paths[6:8]:
        expected = [(e.onset_sample, e.offset_sample, e.channel, e.kind) for e in replay(p).events]
        assert _events(out, p) == expected
    table = pd.read_parquet(result.parquet_path)
    assert len(table) == 12 and set(table["status"]) == {"ok", "error"}
    assert table["kneeemg_version"].notna().all() and table["settings_hash"].nunique() == 1
    assert pd.read_csv(result.csv_path)["night_id"].tolist() == table["night_id"].tolist()
    again = run_batch([str(folder / "*.kemg")], out, workers=2, scheduler=scheduler)
    assert again.processed == 0 and len(again.rows) == 12  # a rerun does no work


def test_inputs_and_cli_with_history_import(cohort, tmp_path, capsys):
    folder, paths = cohort
    found = discover_inputs([str(folder)])
    assert found == sorted(p.resolve() for p in paths)  # truth files beside them are not recordings
    with pytest.raises(Exception, match="no such file"):
        discover_inputs([str(tmp_path / "nothing*.edf")])
    db = tmp_path / "h.db"
    assert main(["batch", str(paths[0]), str(paths[1]), "--out", str(tmp_path / "o"), "--workers", "1", "--db", str(db)]) == 0
    assert "2 nights: 2 ok" in capsys.readouterr().out
    with Store(db) as s:
        nights = s.nights()
        assert len(nights) == 2
        assert len(s.events(nights[0].id)) == nights[0].metrics["counts"]["twitch"] + nights[0].metrics["counts"]["spasm"] + nights[0].metrics["counts"]["cramp"]


def test_tables_kneeemg_wrote_beside_recordings_are_not_nights(tmp_path):
    # an events list saved under a name of one's own, a nights list, beside the recordings
    rec = write_simulated(simulate_night(hours=1 / 60, seed=3), tmp_path / "night.kemg")["recording"]
    assert main(["replay", str(rec), "--events-out", str(tmp_path / "my-events.csv")]) == 0
    assert main(["import", str(rec), "--db", str(tmp_path / "h.db")]) == 0
    assert main(["nights", "--db", str(tmp_path / "h.db"), "--csv", str(tmp_path / "list.csv")]) == 0
    (tmp_path / "emg.csv").write_text("time,emg\n" + "".join(f"{i / 1000},{(-1) ** i}\n" for i in range(2000)))
    assert discover_inputs([str(tmp_path)]) == sorted([Path(rec).resolve(), (tmp_path / "emg.csv").resolve()])


def test_local_pool_works_after_threaded_detection_ran_in_this_process(cohort, tmp_path):
    import numpy as np

    from kneeemg.dsp import StreamingDetector

    det = StreamingDetector(1000.0, 8, threads=2)
    det.process(np.random.default_rng(0).normal(0, 3, (100_000, 8)))  # its worker thread is still alive
    folder, paths = cohort
    result = run_batch([str(p) for p in paths[:3]], tmp_path / "o", workers=2)
    assert [r["status"] for r in result.rows] == ["ok", "ok", "ok"]


def _untimed_csv(path):
    """Fifteen seconds of two-channel noise at 1 kHz, without a time column."""
    import numpy as np

    x = np.random.default_rng(5).normal(0.0, 3.0, (15_000, 2))
    path.write_text("left,right\n" + "".join(f"{a:.3f},{b:.3f}\n" for a, b in x))
    return path


def test_cli_exit_code_is_1_whenever_a_night_failed_and_errors_are_plain(cohort, tmp_path, capsys):
    folder, paths = cohort
    out = tmp_path / "o"
    assert main(["batch", str(paths[0]), str(paths[5]), "--out", str(out), "--workers", "1"]) == 1  # some failed
    text = capsys.readouterr().out
    assert text.startswith("2 nights: 1 ok, 1 failed")  # the first line, also written to a file or a pipe
    failed = [line for line in text.splitlines() if "failed:" in line]
    assert len(failed) == 1 and "unknown recording format" in text
    assert "Error:" not in text  # kneeemg's own errors without their Python class
    assert main(["batch", str(paths[5]), "--out", str(out), "--workers", "1"]) == 1  # all failed
    assert "1 night: 0 ok, 1 failed" in capsys.readouterr().out
    assert main(["batch", str(paths[0]), "--out", str(out), "--workers", "1"]) == 0  # none failed


def test_unexpected_errors_keep_their_class(cohort, tmp_path, monkeypatch):
    from kneeemg.batch import NightJob, process_night
    from kneeemg.config import DetectorConfig

    def boom(*args, **kwargs):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr("kneeemg.playback.replay", boom)
    (tmp_path / "nights").mkdir()
    row = process_night(NightJob(str(cohort[1][0]), str(tmp_path), DetectorConfig().as_dict()))
    assert row["status"] == "error" and row["error"] == "ZeroDivisionError: division by zero"


def test_cli_passes_fs_and_the_detector_options_to_every_night(tmp_path, capsys):
    (tmp_path / "in").mkdir()
    csv = _untimed_csv(tmp_path / "in" / "untimed.csv")
    out = tmp_path / "o"
    assert main(["batch", str(csv), "--out", str(out), "--workers", "1"]) == 1
    text = capsys.readouterr().out.replace("\n", "")
    assert "has no time column; give the sampling rate with --fs" in text
    # the advice works: with --fs the failed night is processed again (its settings changed)
    assert main(["batch", str(csv), "--out", str(out), "--workers", "1", "--fs", "1000", "--mains", "50",
                 "--channels", "right"]) == 0
    assert "1 night: 1 ok, 0 failed, 1 processed now" in capsys.readouterr().out
    row = pd.read_csv(out / "cohort.csv").iloc[0]
    assert row["status"] == "ok" and row["fs_hz"] == 1000.0 and row["channels"] == "right"
    settings = json.loads(row["settings"])
    assert settings["mains_hz"] == 50.0 and settings["import_fs_hz"] == 1000.0 and settings["import_channels"] == ["right"]
    assert main(["batch", str(csv), "--out", str(out), "--workers", "1", "--fs", "1000", "--mains", "50",
                 "--channels", "right"]) == 0
    assert "0 processed now, 1 already done" in capsys.readouterr().out


def test_fs_is_no_setting_of_a_file_with_its_own_rate(cohort, tmp_path):
    from kneeemg.batch import NightJob
    from kneeemg.config import DetectorConfig

    _, paths = cohort
    out = tmp_path / "o"
    first = run_batch([str(paths[0])], out, workers=1)
    again = run_batch([str(paths[0])], out, workers=1, fs_hz=500.0)  # a .kemg file keeps its own rate
    assert first.processed == 1 and again.processed == 0 and again.rows[0]["settings_hash"] == first.rows[0]["settings_hash"]
    assert "import_fs_hz" not in json.loads(again.rows[0]["settings"])
    csv = _untimed_csv(tmp_path / "untimed.csv")
    assert NightJob(str(csv), str(out), DetectorConfig().as_dict(), fs_hz=1000.0).all_settings()["import_fs_hz"] == 1000.0
    db = tmp_path / "h.db"
    assert main(["import", str(paths[0]), "--db", str(db), "--fs", "700"]) == 0
    with Store(db) as s:  # import and batch agree: the batch night is the one import stored
        assert s.add_batch_night(out / "nights" / night_id(paths[0])) == (s.nights()[0].id, False)


def test_library_checks_before_any_work(tmp_path):
    from kneeemg.batch import check_scheduler
    from kneeemg.paths import check_output_dir
    from kneeemg.errors import InputError

    (tmp_path / "f").write_text("x")
    for workers in (0, -1, 1.5, True):
        with pytest.raises(InputError, match="--workers"):
            run_batch([str(tmp_path)], tmp_path / "o", workers=workers)
    with pytest.raises(InputError, match="is a file, not a folder"):
        check_output_dir(tmp_path / "f")
    with pytest.raises(InputError, match="f is a file"):
        check_output_dir(tmp_path / "f" / "sub")
    assert check_output_dir(tmp_path / "new" / "deeper").is_dir()
    for bad in ("foo", "tcp://host", "foo://h:1", "tcp://h:x"):
        with pytest.raises(InputError, match="not a Dask scheduler address"):
            check_scheduler(bad)
    for good in (None, "local", "tcp://10.0.0.5:8786", "10.0.0.5:8786", "tls://h:1"):
        check_scheduler(good)
    with pytest.raises(InputError, match=r"^--workers sets how many worker processes this machine starts, and the "
                                         r"cluster at tcp://10\.0\.0\.5:8786 has its own; leave out --workers"):
        run_batch([str(tmp_path)], tmp_path / "o", workers=2, scheduler="tcp://10.0.0.5:8786")
    assert not (tmp_path / "o").exists()


def test_cli_keeps_the_dask_cluster_quiet_unless_verbose(cohort, tmp_path, capsys, caplog):
    import logging

    folder, paths = cohort
    caplog.set_level(logging.DEBUG)
    assert main(["batch", str(paths[0]), "--out", str(tmp_path / "o"), "--scheduler", "local", "--workers", "1"]) == 0
    chatter = [r for r in caplog.records if r.name.startswith("distributed") and r.levelno < logging.WARNING]
    assert chatter == []
    assert "1 night: 1 ok" in capsys.readouterr().out


def test_batch_says_when_fs_was_not_used(tmp_path, capsys):
    from kneeemg.cli import main
    from kneeemg.simulate import simulate_night, write_simulated

    path = write_simulated(simulate_night(hours=0.01, seed=5), tmp_path / "n.kemg")["recording"]
    assert main(["batch", str(path), "--out", str(tmp_path / "out"), "--fs", "500", "--workers", "1"]) == 0
    assert "note: --fs 500 was not used for 1 night:" in capsys.readouterr().out


def test_a_db_that_is_no_history_is_refused_before_any_night(tmp_path, capsys):
    path = write_simulated(simulate_night(hours=0.01, seed=6), tmp_path / "n.kemg")["recording"]
    notdb = tmp_path / "notes.txt"
    notdb.write_text("hello\n")
    assert main(["batch", str(path), "--out", str(tmp_path / "out"), "--db", str(notdb)]) == 4
    assert "is not a kneeemg history database" in capsys.readouterr().err
    assert not (tmp_path / "out").exists() and notdb.read_text() == "hello\n"


def test_a_db_that_is_one_of_the_recordings_is_refused_before_any_night(tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    empty = folder / "e.csv"
    empty.write_bytes(b"")
    for inputs in ([str(empty)], [str(folder)], [str(folder / "*.csv")]):
        assert main(["batch", *inputs, "--out", str(tmp_path / "out"), "--db", str(empty)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "is one of the recordings of the batch; give another --db" in err
        assert empty.read_bytes() == b"" and not (tmp_path / "out").exists()


def test_a_file_name_that_is_not_utf8_is_a_night_like_any_other(tmp_path, capsys):
    import os

    folder = tmp_path / "in"
    folder.mkdir()
    name = os.fsdecode(b"n\xe9uit.kemg")  # Latin-1 bytes in a file name
    write_simulated(simulate_night(hours=1 / 60, seed=5), folder / name)
    assert main(["batch", str(folder), "--out", str(tmp_path / "out"), "--workers", "1", "--db", str(tmp_path / "h.db")]) == 0
    assert "n\\xe9uit.kemg" in pd.read_csv(tmp_path / "out" / "cohort.csv")["path"][0]
    assert main(["import", str(folder / name), "--db", str(tmp_path / "h.db")]) == 0
    assert "already in the history" in capsys.readouterr().out


def test_the_output_folder_inside_the_inputs_is_not_read_and_a_record_counts_once(tmp_path):
    import wfdb
    import numpy as np

    folder = tmp_path / "in"
    folder.mkdir()
    write_simulated(simulate_night(hours=1 / 60, seed=6), folder / "a.kemg")
    for _ in range(2):
        res = run_batch([folder], folder / "results", workers=1)
        assert [r["status"] for r in res.rows] == ["ok"]
    same = tmp_path / "same"
    same.mkdir()
    write_simulated(simulate_night(hours=1 / 60, seed=6), same / "a.kemg")
    for _ in range(2):  # the output folder the input folder itself
        assert [r["status"] for r in run_batch([same], same, workers=1).rows] == ["ok"]
    # what other runs wrote into the folder is not read either (their cohort tables and night
    # folders were read as 5 failed CSV recordings)
    assert [r["status"] for r in run_batch([same], same / "again", workers=1).rows] == ["ok"]
    assert [r["status"] for r in run_batch([folder], folder, workers=1).rows] == ["ok"]
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "cohort.csv").write_text("time,a\n" + "\n".join(f"{i / 1000:.3f},{i % 5}" for i in range(3000)))
    assert discover_inputs([plain]) == [(plain / "cohort.csv").resolve()]  # a recording named so, with no nights folder
    wfdb.wrsamp("rec", fs=1000, units=["mV"], sig_name=["VM"], p_signal=np.zeros((3000, 1)), fmt=["16"], write_dir=str(tmp_path))
    assert discover_inputs([tmp_path / "rec.dat", tmp_path / "rec.hea"]) == [(tmp_path / "rec.hea").resolve()]


def test_an_interrupted_night_leaves_no_scratch_folder(tmp_path, monkeypatch):
    import os
    import time

    import kneeemg.batch as batch

    folder = tmp_path / "in"
    folder.mkdir()
    write_simulated(simulate_night(hours=1 / 60, seed=7), folder / "a.kemg")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(batch, "_process_into", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_batch([folder], tmp_path / "out", workers=1)
    assert list((tmp_path / "out" / "nights").iterdir()) == []
    monkeypatch.undo()
    stale = tmp_path / "out" / "nights" / ".a-123-left-by-a-killed-run"
    stale.mkdir()
    old = time.time() - 2 * batch.STALE_SCRATCH_S
    os.utime(stale, (old, old))
    run_batch([folder], tmp_path / "out", workers=1)
    assert [d.name for d in (tmp_path / "out" / "nights").iterdir()] == [night_id(folder / "a.kemg")]


def test_a_damaged_file_fails_as_its_own_night_whatever_the_options(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    write_simulated(simulate_night(hours=1 / 60, n_channels=2, seed=8), folder / "a.kemg")
    (folder / "g.mat").write_bytes(b"MATLAB 5.0 MAT-file junk")
    res = run_batch([folder], tmp_path / "out", workers=1, channels=["0"])
    assert sorted(r["status"] for r in res.rows) == ["error", "ok"]


def test_a_failed_night_whose_file_name_is_not_utf8_is_listed_and_rerun(tmp_path):
    import os

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / os.fsdecode(b"n\xe9uit.csv")).write_text("a,b\n1,2\n")  # no time column: the night fails
    for _ in range(2):  # processed, then already done
        res = run_batch([folder], tmp_path / "out", workers=1)
        assert [r["status"] for r in res.rows] == ["error"]
        assert "n\\xe9uit.csv" in pd.read_parquet(res.parquet_path)["error"][0]
    # a night folder an earlier kneeemg left with the file name as it was
    result = next((tmp_path / "out" / "nights").iterdir()) / "result.json"
    stored = json.loads(result.read_text())
    stored["row"]["error"] = stored["row"]["error"].replace("\\xe9", "\udce9")
    result.write_text(json.dumps(stored))
    res = run_batch([folder], tmp_path / "out", workers=1)
    assert "n\\xe9uit.csv" in pd.read_csv(res.csv_path)["error"][0]


def test_ctrl_c_starts_no_other_night(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    write_simulated(simulate_night(hours=1 / 60, seed=9), folder / "n00.kemg")
    for i in range(1, 16):
        (folder / f"n{i:02d}.kemg").write_bytes((folder / "n00.kemg").read_bytes())

    def ctrl_c(done, total, row):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_batch([folder], tmp_path / "out", workers=2, progress=ctrl_c)
    nights = list((tmp_path / "out" / "nights").iterdir())
    assert 1 <= len(nights) < 16 and not (tmp_path / "out" / "cohort.csv").exists()
    assert all(not d.name.startswith(".") for d in nights)  # no half-written night


@pytest.mark.parametrize("name", ["cohort.csv", "cohort.parquet"])
def test_a_cohort_table_the_batch_did_not_write_is_refused_before_any_night(tmp_path, capsys, name):
    path = write_simulated(simulate_night(hours=0.01, seed=6), tmp_path / "n.kemg")["recording"]
    out = tmp_path / "study"
    out.mkdir()
    if name == "cohort.csv":
        (out / name).write_text("subject,age,group\n1,52,A\n")
    else:
        pd.DataFrame({"subject": [1], "age": [52]}).to_parquet(out / name)
    before = (out / name).read_bytes()
    assert main(["batch", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"kneeemg: error: --out {out / name} already exists and is not a kneeemg cohort table, so it is not "
                   "replaced; choose another --out or move that file away first"]
    assert (out / name).read_bytes() == before and sorted(p.name for p in out.iterdir()) == [name]
    # the tables of an earlier batch are replaced as before
    (out / name).unlink()
    assert main(["batch", str(path), "--out", str(out)]) == 0
    assert main(["batch", str(path), "--out", str(out)]) == 0
    assert len(pd.read_csv(out / "cohort.csv")) == 1 and len(pd.read_parquet(out / "cohort.parquet")) == 1


def test_a_recording_still_being_written_waits_for_its_end_so_its_start_never_counts_twice(tmp_path, capsys):
    import numpy as np

    from kneeemg.io.native import RecordingWriter

    folder = tmp_path / "in"
    folder.mkdir()
    path = folder / "tonight.kemg"
    db = tmp_path / "h.db"
    args = ["batch", str(folder), "--out", str(tmp_path / "o"), "--workers", "1", "--db", str(db)]
    signal = np.random.default_rng(0).normal(0.0, 3.0, (30_000, 2))
    with RecordingWriter(path, 1000.0, ["left", "right"]) as w:
        w.write(signal[:20_000])
        w.flush()  # the first 20 s are on disk, as a night half-way through is
        assert main(args) == 1
        out = capsys.readouterr().out
        assert "1 failed" in out and "tonight.kemg is still being recorded; process it once the recording has ended" in out
        w.write(signal[20_000:])
    assert main(args) == 0
    with Store(db, create=False) as s:
        assert [n.recording_s for n in s.nights()] == [30.0]
