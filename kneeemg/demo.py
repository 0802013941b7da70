"""The built-in demonstration: a simulated night, detected, scored against its truth.

:func:`run_demo` is what ``kneeemg demo`` calls. It simulates a night (seeded), streams it
through the same detector path as ``kneeemg replay``, compares the events with the
simulator's ground truth, and returns everything the command prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:  # the detector (numba, scipy) is imported when a demo runs, not with the CLI's parser
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


#: The demo's own history in its folder (the file name a real history has as well).
DEMO_HISTORY = "history.sqlite3"
#: How the demo names its night's source in its history.
DEMO_SOURCE = "simulated night"


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
        Where to write ``events.csv``, ``history.sqlite3`` and ``report.html``; nothing is
        written when omitted. Created, and checked that it can be written, before the night
        is simulated: an ``events.csv`` or ``report.html`` there that kneeemg did not write,
        and a ``history.sqlite3`` that holds any night not simulated by a demo, are refused
        (the demo would replace the files, and add its simulated night to that history).
    config : DetectorConfig, optional
    progress : callable, optional
        Called with the fraction done (0-1) as the night is processed.

    Raises
    ------
    InputError
        Settings outside the simulator's ranges, or an output folder that cannot be written
        or holds files the demo must not replace or add to.
    """
    from .playback import replay
    from .scoring import score_events
    from .simulate import simulate_night

    out = None if out_dir is None else check_demo_folder(out_dir)
    night = simulate_night(hours=hours, n_channels=channels, fs_hz=fs_hz, seed=seed)
    result = replay(night, config=config, progress=progress)
    score = score_events(result.events, night.info.annotations)
    files: dict[str, Path] = {}
    if out is not None:
        import hashlib
        from datetime import date, timedelta

        from .events import write_events_csv
        from .metrics import night_metrics
        from .report import write_report
        from .store import Store

        files["events"] = write_events_csv(result.events, out / "events.csv")
        evening = (date.today() - timedelta(days=1)).isoformat()
        files["history"] = out / DEMO_HISTORY
        key = hashlib.sha256(f"simulated {hours} {channels} {fs_hz} {seed}".encode()).hexdigest()
        with Store(files["history"]) as store:
            store.add_night(result, night_metrics(result, date=evening), f"{DEMO_SOURCE}, seed {seed}", key)
        files["report"] = write_report(out / "report.html", db=files["history"], recording=night)
    return DemoOutcome(result, score, hours, channels, fs_hz, seed, files)


def check_demo_folder(out_dir: str | Path) -> Path:
    """Create ``out_dir`` when missing and check that the demo may write its files there.

    ``events.csv`` and ``report.html`` are replaced only when kneeemg wrote them, and
    ``history.sqlite3`` is added to only when it holds nothing but the demo's simulated nights
    (no other night, no diary: ``$KNEEEMG_DB``'s folder named as ``--out`` by mistake),
    so a folder that holds someone's own events, report or history is refused before any work.

    Raises
    ------
    InputError
        With a one-line message naming the file and what to do.
    """
    from .errors import InputError, StoreError
    from .events import csv_signature
    from .paths import check_output_dir, check_output_file
    from .report import REPORT_SIGNATURE
    from .store import Store

    out = check_output_dir(out_dir, "--out")
    check_output_file(out / "events.csv", "--out", "kneeemg events CSV", csv_signature())
    check_output_file(out / "report.html", "--out", "kneeemg report", REPORT_SIGNATURE)
    history = out / DEMO_HISTORY
    if history.exists():
        try:
            with Store(history, create=False) as store:
                own = (all(n.source.startswith(DEMO_SOURCE) for n in store.nights()) and not store.days()
                       and not store.profile().as_dict())
        except StoreError:
            own = False
        if not own:
            raise InputError(f"--out {history} already exists and is not the demo's history (it holds nights that "
                             "were not simulated or a diary, or is not a kneeemg history), so the demo's simulated night "
                             "is not added to it; choose another --out or move that file away first")
    return out


#: Channels the virtual BLE sensor streams (its protocol's limit for one notification).
BLE_MAX_CHANNELS = 8
#: Most channel-samples per second (channels x rate) the virtual serial sensor streams: the
#: demo streams at 10x real time, and beyond this the recorder, reading a pseudo-terminal in
#: Python, fell behind and samples were lost (40 channels at 1000 Hz lost 185 of 10,000).
SERIAL_MAX_CHANNEL_HZ = 32_000.0
#: Shortest and longest signal the live-path demo streams, s.
LINK_SECONDS = (1.0, 3600.0)


def run_link_demo(link: str, seconds: float = 60.0, channels: int = 2, fs_hz: float = 1000.0, seed: int = 0,
                  out_dir: str | Path = "kneeemg-demo", speed: float = 10.0) -> Any:
    """Stream a simulated night through the live recording path (``kneeemg demo --link``).

    Parameters
    ----------
    link : {"ble", "serial"}
        bleak to a virtual BLE sensor, or a pseudo-terminal.
    seconds : float
        Signal to stream, s (1 s to 1 h: the signal is held in memory).
    channels, fs_hz, seed :
        The simulated night's settings.
    out_dir : path
        Folder of the recording (created, and checked, before anything starts).
    speed : float
        Pace relative to real time.

    Returns
    -------
    kneeemg.record.live.RecordOutcome

    Raises
    ------
    InputError
        Settings the link or the simulator cannot take, or an output folder that cannot be
        written.
    """
    from .paths import check_output_dir
    from .record.live import record_virtual
    from .simulate import simulate_night

    check_link_demo(link, seconds, channels, fs_hz)
    night = simulate_night(hours=max(seconds, 10.0) / 3600.0, n_channels=channels, fs_hz=fs_hz, seed=seed)
    out = check_output_dir(out_dir, "--out")
    return record_virtual(link, seconds=seconds, out_dir=out, night=night, speed=speed)


def check_link_demo(link: str, seconds: float, channels: int, fs_hz: float = 1000.0) -> None:
    """Raise :class:`InputError` for a link, length or channel count the live-path demo cannot take."""
    import math

    from .errors import InputError

    if link not in ("ble", "serial"):
        raise InputError(f"--link {link} is not allowed; use ble or serial")
    lo, hi = LINK_SECONDS
    if not (isinstance(seconds, (int, float)) and math.isfinite(seconds) and lo <= seconds <= hi):
        raise InputError(f"--seconds {seconds} is not allowed; give {lo:g} to {hi:g} seconds of signal to stream")
    if link == "ble" and not 1 <= channels <= BLE_MAX_CHANNELS:
        raise InputError(f"--channels {channels} is not allowed with --link ble: the virtual BLE sensor streams 1 to "
                         f"{BLE_MAX_CHANNELS} channels; give fewer, or use --link serial")
    if link == "serial" and channels * fs_hz > SERIAL_MAX_CHANNEL_HZ:
        raise InputError(f"--channels {channels} at --fs {fs_hz:g} is too much for --link serial: the virtual serial "
                         f"sensor streams at most {SERIAL_MAX_CHANNEL_HZ:,.0f} channel-samples per second (e.g. "
                         f"{int(SERIAL_MAX_CHANNEL_HZ // fs_hz)} channels at {fs_hz:g} Hz); give fewer channels or a lower --fs")
