"""The night report: self-contained HTML with the night's numbers; rendered in headless Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import pytest

from kneeemg.cli import main
from kneeemg.simulate import simulate_night, write_simulated
from kneeemg.store import Store


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    """Three short nights, the diary of the last one (with a hostile note) and a profile."""
    folder = tmp_path_factory.mktemp("rep")
    db = folder / "h.db"
    for i in range(3):
        night = simulate_night(hours=0.1, n_channels=2, seed=300 + i)
        path = write_simulated(night, folder / f"n{i}.kemg")["recording"]
        assert main(["import", str(path), "--db", str(db), "--date", f"2026-11-{18 + i}"]) == 0
    assert main(["diary", "--db", str(db), "--date", "2026-11-20", "--caffeine-drinks", "5", "--notes",
                 "<script>alert('x')</script> long day", "--symptom", "tingling"]) == 0
    assert main(["diary", "--db", str(db), "--profile", "--age", "47", "--medications", "diuretic",
                 "--twitching-since", "2026-10-01"]) == 0
    return folder, db


def test_report_is_self_contained_and_holds_the_numbers(history):
    folder, db = history
    out = folder / "report.html"
    assert main(["report", "--db", str(db), "--out", str(out)]) == 0
    text = out.read_text()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text)  # nothing fetched from the network
    assert text.count("data:image/png;base64,") >= 6
    with Store(db) as s:
        n = s.night()
        m = n.metrics
    assert f"twitched {m['counts']['twitch']} times" in text
    assert "&lt;script&gt;alert" in text and "<script>alert" not in text  # user text is escaped
    assert "not a diagnosis" in text and "Make an appointment with a doctor" in text  # diuretic -> see_doctor
    assert "The last 14 nights" in text


def test_doctor_version(history):
    folder, db = history
    out = folder / "doctor.html"
    assert main(["report", "--doctor", "--db", str(db), "--out", str(out)]) == 0
    text = out.read_text()
    for needle in ("since 2026-10-01", "diuretic", "tingling", "2026-11-19", "47", "Already tried"):
        assert needle in text


def test_report_without_nights_is_a_clear_error(tmp_path, capsys):
    assert main(["report", "--db", str(tmp_path / "empty.db"), "--out", str(tmp_path / "r.html")]) == 2
    assert "no nights" in capsys.readouterr().err


CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars"]


def test_report_renders_in_headless_chromium(history, artifacts_dir, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium is not installed (Debian package chromium; .ci/run installs it)")
    folder, db = history
    out = folder / "report.html"
    main(["report", "--db", str(db), "--out", str(out)])
    shot = artifacts_dir / "report-phone.png"
    shot.unlink(missing_ok=True)
    args = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'ud'}"]
    subprocess.run([*args, "--window-size=412,2400", f"--screenshot={shot}", out.as_uri()], capture_output=True, timeout=120, check=True)
    import matplotlib.image as mpimg

    img = mpimg.imread(shot)
    assert img.shape[1] == 412 and img.shape[0] >= 2000
    assert np.std(img[..., :3]) > 0.05  # not a blank page
    dom = subprocess.run([*args, "--dump-dom", out.as_uri()], capture_output=True, text=True, timeout=120, check=True).stdout
    assert "Your night of 2026-11-20" in dom and "The sensor recorded" in dom
