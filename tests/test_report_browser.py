"""The report renders in a real browser (headless Chromium) at a phone's width, offline.

The screenshots are saved as test artefacts (``test-artifacts/report-phone.png`` and
``report-doctor-phone.png``) for a person to look at.
"""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from kneeemg.cli import main
from kneeemg.simulate import simulate_night, write_simulated

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                  "--host-resolver-rules=MAP * ~NOTFOUND"]  # no name resolves: the page must need no network
PHONE = "--window-size=412,2000"


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("chromium is not installed (Debian package `chromium`; .ci/run installs it)")
    return path


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """The night report and the doctor's summary of one six-minute simulated night."""
    folder = tmp_path_factory.mktemp("browser")
    db = folder / "h.db"
    night = simulate_night(hours=0.1, n_channels=2, seed=41)
    path = write_simulated(night, folder / "night.kemg")["recording"]
    assert main(["import", str(path), "--db", str(db), "--date", "2026-11-20"]) == 0
    assert main(["diary", "--db", str(db), "--date", "2026-11-20", "--notes", "<script>document.title='x'</script>",
                 "--caffeine-drinks", "3"]) == 0
    assert main(["diary", "--db", str(db), "--profile", "--age", "52", "--twitching-since", "2026-09-15"]) == 0
    report, doctor = folder / "report.html", folder / "doctor.html"
    assert main(["report", "--db", str(db), "--out", str(report)]) == 0
    assert main(["report", "--doctor", "--db", str(db), "--out", str(doctor)]) == 0
    return report, doctor


def _render(chromium: str, page, shot, user_dir) -> tuple[np.ndarray, str]:
    import matplotlib.image as mpimg

    args = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={user_dir}"]
    shot.unlink(missing_ok=True)
    subprocess.run([*args, PHONE, f"--screenshot={shot}", page.as_uri()], capture_output=True, timeout=120, check=True)
    dom = subprocess.run([*args, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120, check=True).stdout
    return mpimg.imread(shot), dom


def _not_blank(img: np.ndarray) -> None:
    rgb = img[..., :3]
    assert img.shape[:2] == (2000, 412)  # the phone-sized window
    assert np.std(rgb) > 0.05  # more than one flat colour
    background = np.median(rgb.reshape(-1, 3), axis=0)
    differs = np.any(np.abs(rgb - background) > 0.1, axis=-1)
    assert differs.mean() > 0.1  # text, boxes and figures cover a good part of the screen
    assert differs[:200].mean() > 0.02  # the page starts at the top (the heading is there)


def test_night_report_renders_on_a_phone(reports, artifacts_dir, tmp_path):
    chromium = _chromium()
    img, dom = _render(chromium, reports[0], artifacts_dir / "report-phone.png", tmp_path / "ud")
    _not_blank(img)
    assert "Your night of 2026-11-20" in dom and "You had the sensor on for 6 min" in dom
    assert "<title>kneeemg: night of 2026-11-20</title>" in dom  # the diary's script did not run
    assert "&lt;script&gt;document.title" in dom


def test_doctor_summary_renders_on_a_phone(reports, artifacts_dir, tmp_path):
    chromium = _chromium()
    img, dom = _render(chromium, reports[1], artifacts_dir / "report-doctor-phone.png", tmp_path / "ud")
    _not_blank(img)
    assert "summary for the doctor" in dom and "since 2026-09-15" in dom
