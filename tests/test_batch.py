"""Cohorts: a dozen nights through a Dask LocalCluster and the local pool, same events as replay."""

from __future__ import annotations

import pandas as pd
import pytest

from kneeemg.batch import discover_inputs, night_id, run_batch
from kneeemg.cli import main
from kneeemg.events import read_events_csv
from kneeemg.replay import replay
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
    assert [r["path"] for r in failed] == [str(paths[5].resolve())] and "RecordingFormatError" in failed[0]["error"]
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


def test_local_pool_works_after_threaded_detection_ran_in_this_process(cohort, tmp_path):
    import numpy as np

    from kneeemg.dsp import StreamingDetector

    det = StreamingDetector(1000.0, 8, threads=2)
    det.process(np.random.default_rng(0).normal(0, 3, (100_000, 8)))  # its worker thread is still alive
    folder, paths = cohort
    result = run_batch([str(p) for p in paths[:3]], tmp_path / "o", workers=2)
    assert [r["status"] for r in result.rows] == ["ok", "ok", "ok"]
