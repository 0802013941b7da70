"""Shared fixtures: the real-data directory and a place for test artefacts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

from kneeemg.datadir import ENV_VAR

# Property tests check laws, not speed: on a shared machine a first example can take longer
# than Hypothesis's default 200 ms deadline and fail a correct test.
settings.register_profile("kneeemg", deadline=None)
settings.load_profile("kneeemg")

ARTIFACTS = Path(os.environ.get("KNEEEMG_TEST_ARTIFACTS", Path(__file__).resolve().parent.parent / "test-artifacts"))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The folder of public recordings; tests using it skip when it is absent."""
    raw = os.environ.get(ENV_VAR)
    if not raw:
        pytest.skip(f"real recordings not available: set {ENV_VAR} to the shared data folder (see docs/data.md)")
    path = Path(raw)
    if not path.is_dir():
        pytest.skip(f"real recordings not available: {ENV_VAR}={raw} is not a directory")
    return path


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where tests save files worth looking at (screenshots, reports)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
