"""The built-in demonstration: a simulated night, detected, scored against its truth.

:func:`run_demo` is what ``kneeemg demo`` calls. It simulates a night (seeded), streams it
through the same detector path as ``kneeemg replay``, compares the events with the
simulator's ground truth, and returns everything the command prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from .config import DetectorConfig
from .dsp.result import DetectionResult


@dataclass
class DemoOutcome:
    """What the demo produced.

    Attributes
    ----------
    result : DetectionResult
        The detector's result for the simulated night.
    score : kneeemg.scoring.Score
        Detected events against the simulator's ground truth.
    hours, channels, fs_hz, seed : the simulated night's settings.
    files : dict of str to Path
        Files written (recording, events, report), by name.
    """

    result: DetectionResult
    score: Any
    hours: float
    channels: int
    fs_hz: float
    seed: int
    files: dict[str, Path]


def run_demo(
    hours: float = 8.0,
    channels: int = 2,
    fs_hz: float = 1000.0,
    seed: int = 0,
    out_dir: str | Path | None = None,
    config: DetectorConfig | None = None,
    progress: Callable[[float], None] | None = None,
) -> DemoOutcome:
    """Simulate a night, detect its events, and score them against the truth.

    Parameters
    ----------
    hours : float
        Length of the simulated night, h.
    channels : int
        Channels (legs) simulated.
    fs_hz : float
        Sampling rate, Hz.
    seed : int
        Seed of the simulated night.
    out_dir : path, optional
        Where to write ``events.csv`` (and the report, when available); nothing is written
        when omitted.
    config : DetectorConfig, optional
    progress : callable, optional
        Called with the fraction done (0-1) as the night is processed.
    """
    from .replay import replay
    from .scoring import score_events
    from .simulate import simulate_night

    night = simulate_night(hours=hours, n_channels=channels, fs_hz=fs_hz, seed=seed)
    result = replay(night, config=config, progress=progress)
    score = score_events(result.events, night.info.annotations)
    files: dict[str, Path] = {}
    if out_dir is not None:
        import hashlib
        from datetime import date, timedelta

        from .events import write_events_csv
        from .metrics import night_metrics
        from .report import write_report
        from .store import Store

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        files["events"] = write_events_csv(result.events, out / "events.csv")
        evening = (date.today() - timedelta(days=1)).isoformat()
        files["history"] = out / "history.sqlite3"
        key = hashlib.sha256(f"simulated {hours} {channels} {fs_hz} {seed}".encode()).hexdigest()
        with Store(files["history"]) as store:
            store.add_night(result, night_metrics(result, date=evening), f"simulated night, seed {seed}", key)
        files["report"] = write_report(out / "report.html", db=files["history"], recording=night)
    return DemoOutcome(result, score, hours, channels, fs_hz, seed, files)
