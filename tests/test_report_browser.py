"""The report renders in a real browser (headless Chromium) at a phone's width, offline.

The screenshots are saved as test artefacts (``test-artifacts/report-phone.png`` and
``report-doctor-phone.png``) for a person to look at. The figures' text is measured on a
375 px wide phone and on a desktop's screen.
"""

from __future__ import annotations

import html
import json
import re
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
#: A medication's name as one word wider than a phone (the page must wrap it, not widen).
LONG_WORD = "MagnesiumcitratBrausetabletten400mgVorratspackungen"


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("chromium is not installed (Debian package `chromium`; .ci/run installs it)")
    return path


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """The night report and the doctor's summary of one six-minute simulated night (a script as
    the diary's note, a medication of one long word in the profile)."""
    folder = tmp_path_factory.mktemp("browser")
    db = folder / "h.db"
    night = simulate_night(hours=0.1, n_channels=2, seed=41)
    path = write_simulated(night, folder / "night.kemg")["recording"]
    assert main(["import", str(path), "--db", str(db), "--date", "2026-11-20"]) == 0
    assert main(["diary", "--db", str(db), "--date", "2026-11-20", "--notes", "<script>document.title='x'</script>",
                 "--caffeine-drinks", "3"]) == 0
    assert main(["diary", "--db", str(db), "--profile", "--age", "52", "--twitching-since", "2026-09-15",
                 "--medications", LONG_WORD]) == 0
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


def _measure(chromium: str, page, width: int, user_dir) -> dict:
    """The report laid out ``width`` CSS px wide: the viewport's and the page's width, and each
    figure's shown and intrinsic width (an iframe of that width: Chromium's window is wider)."""
    frame = (f'<!DOCTYPE html><iframe id="f" style="border:0;width:{width}px;height:600px" '
             f'srcdoc="{html.escape(page.read_text(encoding="utf-8"))}"></iframe><pre id="m"></pre>'
             '<script>addEventListener("load", () => { const d = f.contentDocument; m.textContent = JSON.stringify('
             '{viewport: f.contentWindow.innerWidth, page: d.documentElement.scrollWidth, figures: [...d.images].map('
             'i => [i.getBoundingClientRect().width, i.naturalWidth])}); });</script>')
    harness = user_dir.parent / f"measure-{width}.html"
    harness.write_text(frame, encoding="utf-8")
    dom = subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={user_dir}", f"--window-size={max(width, 600)},800",
                          "--virtual-time-budget=5000", "--dump-dom", harness.as_uri()],
                         capture_output=True, text=True, timeout=120, check=True).stdout
    return json.loads(html.unescape(re.search(r'<pre id="m">(.*?)</pre>', dom, re.S).group(1)))


@pytest.mark.parametrize("width, largest_px", [(375, 15.0), (1280, 21.0)])
def test_figure_text_is_legible_on_a_phone_and_not_oversized_on_a_desktop(reports, tmp_path, width, largest_px):
    # at 375 px the figures' smallest text was 7.8 CSS px (4.6-inch figures shown 323 px wide),
    # and the diary's unbroken note made the page 428 px wide
    from kneeemg.report import plots

    m = _measure(_chromium(), reports[0], width, tmp_path / "ud")
    assert m["viewport"] == width and m["page"] <= width  # nothing wider than the screen
    assert len(m["figures"]) == 5  # per hour, timeline, traces, intervals, quality
    for shown, intrinsic in m["figures"]:
        assert intrinsic == round(plots.WIDTH_IN * plots.DPI)
        px_per_pt = shown / intrinsic * plots.DPI / 72  # CSS px of one point of the figure's text
        assert plots.SMALL_PT * px_per_pt >= 11.0 and plots.TEXT_PT * px_per_pt <= largest_px, (width, shown)


def test_doctor_summary_is_no_wider_than_a_phone(reports, tmp_path):
    # the long medication's name made the page 602 px wide
    m = _measure(_chromium(), reports[1], 375, tmp_path / "ud")
    assert m["viewport"] == 375 and m["page"] <= 375
    assert re.search(r"Medications</td><td>\S{50,}</td>", reports[1].read_text(encoding="utf-8"))  # one word
