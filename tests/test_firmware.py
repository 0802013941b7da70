"""The firmware's portable C core, built with gcc and run against the shared vectors."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

FIRMWARE = Path(__file__).resolve().parent.parent / "firmware"


@pytest.fixture(scope="module")
def make():
    if shutil.which("make") is None or shutil.which(os.environ.get("CC", "gcc")) is None:
        pytest.skip("gcc and make are needed to build the firmware's host tests")
    return ["make", "-s", "-C", str(FIRMWARE)]


def test_c_core_passes_its_unit_tests(make):
    out = subprocess.run([*make, "test"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr + out.stdout
    m = re.search(r"(\d+) passed, (\d+) failed", out.stdout)
    assert m and int(m.group(1)) >= 100 and m.group(2) == "0"


def test_host_simulator_builds(make):
    subprocess.run([*make, "host"], check=True)
    assert (FIRMWARE / "build" / "kneeemg-sensor-sim").exists()
