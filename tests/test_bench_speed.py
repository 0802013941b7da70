"""The speed benchmark: what it times is the real thing, and its rows are complete."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal as sps

from kneeemg.bench import speed
from kneeemg.cli import main
from kneeemg.config import DetectorConfig
from kneeemg.dsp.filters import design


@pytest.mark.parametrize("n_channels", [1, 16])
def test_filter_stage_is_the_band_pass_and_low_band(n_channels):
    rng = np.random.default_rng(2)
    x = np.ascontiguousarray(rng.normal(0.0, 5.0, (3000, n_channels)))
    d = design(1000.0, DetectorConfig(), 50.0)
    y, lo = speed._filter_stage(x, d)
    np.testing.assert_allclose(y.T, sps.sosfilt(d.sos, x, axis=0), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(lo.T, sps.sosfilt(d.sos_low, x, axis=0), rtol=1e-9, atol=1e-9)


def test_time_case_times_every_tool_on_the_same_data():
    x = speed._signal(10 / 3600, 2, 1000.0, seed=1)
    rows = speed.time_case("10 s, 2 ch", x, 1000.0, neurokit_s=None)
    tools = [r.tool for r in rows]
    assert tools[0] == "kneeemg pipeline, batch"
    assert any(t.startswith("kneeemg filter stage alone") for t in tools)
    assert any(t.startswith("kneeemg detect stage alone") for t in tools)
    assert any(t.startswith("scipy sosfilt, batch") for t in tools)
    assert all(r.samples == x.size and r.seconds > 0 for r in rows)
    chunked = [r for r in rows if "20 ms chunks" in r.tool]
    assert len(chunked) == 2 and all(0 < r.chunk_median_us <= r.chunk_p99_us for r in chunked)


@pytest.fixture
def no_benchmark_runs(monkeypatch):
    """Both benchmarks fail the test if they start: what is checked must be checked before."""
    import kneeemg.bench.accuracy as acc
    import kneeemg.bench.speed as spd

    def never(**_):
        raise AssertionError("the benchmark ran")

    monkeypatch.setattr(spd, "run_speed", never)
    monkeypatch.setattr(acc, "run_accuracy", never)


@pytest.mark.parametrize("kind", ["speed", "accuracy"])
@pytest.mark.parametrize("option", ["--json", "--plot"])
def test_an_empty_output_file_is_refused_before_the_run(no_benchmark_runs, capsys, kind, option):
    assert main(["bench", kind, "--quick", option, ""]) == 2
    assert capsys.readouterr().err == f"kneeemg: error: {option} is empty; give a file name\n"


@pytest.mark.parametrize("kind", ["speed", "accuracy"])
def test_output_files_are_checked_before_the_run(tmp_path, no_benchmark_runs, capsys, kind):
    (tmp_path / "notes.txt").write_text("my notes")
    for args, message in ((["--json", str(tmp_path / "no" / "r.json")], "folder"),
                          (["--plot", str(tmp_path / "notes.txt")], "is not a PNG image, so it is not replaced")):
        assert main(["bench", kind, "--quick", *args]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err
    assert (tmp_path / "notes.txt").read_text() == "my notes"
