"""Recording from a link, live: the asyncio pipeline behind ``kneeemg record`` and the demo.

:func:`record_link` (async) opens a link, asks the sensor what it is and starts it, feeds
every frame to a :class:`~kneeemg.record.recorder.Recorder`, and stops on the duration, a
stop request, SIGTERM/Ctrl-C (through :func:`record`), or when the link is lost for good;
the recording is closed cleanly on every way out. :func:`record` is the synchronous entry
point for a URL; :func:`record_virtual` runs the whole live path over a simulated sensor
(``link="ble"``: bleak to the bumble virtual sensor; ``link="serial"``: a pseudo-terminal).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..config import DetectorConfig
from ..dsp import DetectionResult
from ..errors import DeviceError, InputError
from ..events import Event
from ..protocol import Command
from .check import SignalCheck
from .recorder import Recorder, RecordStatus

log = logging.getLogger(__name__)


@dataclass
class RecordOutcome:
    """What a recording produced.

    Attributes
    ----------
    path : Path
        The ``.kemg`` recording.
    result : DetectionResult or None
        Detection over the whole recording (None if no data came).
    status : RecordStatus
        The last status snapshot (samples, losses, bad frames, reconnects, ...).
    stop_reason : str
        ``duration``, ``samples``, ``stopped`` (stop request or signal), ``link lost`` or
        ``no data``.
    signal_check : SignalCheck or None
    events : list of Event
        Events as the live detector reported them.
    clock : dict
        The device-to-host clock mapping (also saved beside the recording).
    mtu : int or None
        ATT MTU of the BLE link.
    """

    path: Path
    result: DetectionResult | None
    status: RecordStatus
    stop_reason: str
    signal_check: SignalCheck | None
    events: list[Event] = field(default_factory=list)
    clock: dict[str, Any] = field(default_factory=dict)
    mtu: int | None = None


def new_recording_path(out_dir: str | Path) -> Path:
    """``night-YYYYmmdd-HHMMSS.kemg`` in ``out_dir`` (a suffix is added if that name is taken)."""
    out = Path(out_dir).expanduser()
    if not out.is_dir():
        raise InputError(f"the output folder {out} does not exist; create it or choose another with --out")
    stem = f"night-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    path, k = out / f"{stem}.kemg", 1
    while path.exists():
        k += 1
        path = out / f"{stem}-{k}.kemg"
    return path


async def record_link(link: Any, out_dir: str | Path, *, duration_s: float | None = None, max_samples: int | None = None,
                      config: DetectorConfig | None = None, lsl: bool = False, stop: asyncio.Event | None = None,
                      on_status: Callable[[RecordStatus], None] | None = None,
                      on_event: Callable[[Event], None] | None = None,
                      on_check: Callable[[SignalCheck], None] | None = None, no_data_timeout_s: float = 30.0,
                      reorder_window_s: float = 0.5, status_interval_s: float = 0.5,
                      path: str | Path | None = None) -> RecordOutcome:
    """Record from ``link`` (a :class:`~kneeemg.transport.Link`, not yet open) into ``out_dir``.

    Parameters
    ----------
    link : Link
    out_dir : path
        Folder for the recording (``night-<time>.kemg`` and its ``.clock.json``).
    duration_s : float, optional
        Stop after this much host time from the start, s.
    max_samples : int, optional
        Stop once this many samples are accounted for (recorded or lost).
    config : DetectorConfig, optional
    lsl : bool
        Publish the EMG and the events as Lab Streaming Layer outlets.
    stop : asyncio.Event, optional
        Set it to stop cleanly.
    on_status, on_event, on_check : callable, optional
        Called with a :class:`RecordStatus` every ``status_interval_s``, with each event as
        it is confirmed (about a second after it ends), and once with the signal check.
    no_data_timeout_s : float
        A link that delivers nothing for this long counts as lost, s.
    reorder_window_s : float
        See :class:`Recorder`.
    path : path, optional
        The exact file to create (instead of a new name in ``out_dir``).
    """
    path = Path(path) if path is not None else new_recording_path(out_dir)
    publisher: list[Any] = []

    def emit_event(ev: Event) -> None:
        if publisher:
            publisher[0].push_event(ev)
        if on_event is not None:
            on_event(ev)

    def emit_samples(x: np.ndarray, first: int) -> None:
        if publisher:
            publisher[0].push_samples(x, first)

    rec = Recorder(path, config=config, reorder_window_s=reorder_window_s, on_event=emit_event,
                   on_samples=emit_samples if lsl else None, meta={"link": link.url})
    rec.link, rec.link_stats = link, link.stats
    stop = stop or asyncio.Event()
    reason = "stopped"
    started = time.monotonic()
    await link.open()
    try:
        await link.send(Command.REQUEST_INFO)
        await link.send(Command.START)

        async def consume() -> str:
            async for frame in link.frames(timeout_s=no_data_timeout_s):
                had_info = rec.info is not None
                rec.feed_frame(frame)
                if lsl and not had_info and rec.info is not None:
                    from .lsl import LslPublisher

                    publisher.append(LslPublisher(rec.info))
                if max_samples is not None and rec.next_sample >= max_samples:
                    return "samples"
            return "link closed"

        async def watch() -> str:
            nonlocal on_check
            while True:
                rec.tick()
                if on_status is not None:
                    on_status(rec.status())
                if on_check is not None and rec.signal_check is not None:
                    on_check(rec.signal_check)
                    on_check = None
                if duration_s is not None and time.monotonic() - started >= duration_s:
                    return "duration"
                if stop.is_set():
                    return "stopped"
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), status_interval_s)

        tasks = [asyncio.ensure_future(consume()), asyncio.ensure_future(watch())]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            first = next(iter(done))
            try:
                reason = first.result()
            except DeviceError as exc:
                if rec.failed is not None:
                    raise
                log.warning("%s", exc)
                reason = "no data" if "no data" in str(exc) else "link lost"
        finally:
            for task in tasks:
                task.cancel()
    finally:
        with contextlib.suppress(DeviceError, asyncio.TimeoutError, OSError):
            await asyncio.wait_for(link.send(Command.STOP), 2.0)
        with contextlib.suppress(DeviceError, asyncio.TimeoutError, OSError):
            await asyncio.wait_for(link.close(), 10.0)
        try:
            result = rec.close()
        finally:
            if publisher:
                publisher[0].close()
    if rec.writer is None:
        raise DeviceError(f"no sensor answered on {link.url}; check that it is on and connected, then try again")
    status = rec.status()
    if on_status is not None:
        on_status(status)
    return RecordOutcome(path, result, status, reason, rec.signal_check, list(rec.events), rec.clock_summary(),
                         getattr(link, "mtu", None))


def _run(main: Callable[[asyncio.Event], Any]) -> Any:
    """Run ``main(stop)`` in a fresh event loop; SIGTERM and Ctrl-C set ``stop`` (a clean stop)."""

    async def runner() -> Any:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        installed = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
                installed.append(sig)
            except (NotImplementedError, RuntimeError, ValueError):
                pass  # not the main thread, or not POSIX: Ctrl-C still interrupts, the file still closes
        try:
            return await main(stop)
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)

    return asyncio.run(runner())


def record(url: str, out_dir: str | Path, *, duration_s: float | None = None, link_options: dict[str, Any] | None = None,
           **kwargs: Any) -> RecordOutcome:
    """Record from the sensor at ``url`` (see :func:`kneeemg.transport.open_link`) until the duration
    passes, SIGTERM or Ctrl-C, or the link is lost for good. Other arguments as :func:`record_link`."""
    from ..transport import open_link

    link = open_link(url, **(link_options or {}))
    return _run(lambda stop: record_link(link, out_dir, duration_s=duration_s, stop=stop, **kwargs))


def record_serial(url: str, out_dir: str | Path, duration_s: float | None = None, **kwargs: Any) -> tuple[Path, DetectionResult | None]:
    """Record from a serial port; returns (path, result). Shorthand for :func:`record`."""
    outcome = record(url, out_dir, duration_s=duration_s, **kwargs)
    return outcome.path, outcome.result


def _night_counts(night: Any, seconds: float | None, uv_per_count: float) -> tuple[np.ndarray, float, tuple[str, ...]]:
    from ..simulate import simulate_night

    if night is None:
        night = simulate_night(hours=(seconds or 60.0) / 3600.0, n_channels=2, seed=0)
    if isinstance(night, np.ndarray):
        raise InputError("pass the night as a Recording (e.g. simulate_night(...)), not a bare array")
    fs = night.info.fs_hz
    n = night.info.n_samples if seconds is None else min(night.info.n_samples, int(round(seconds * fs)))
    x = night.read(0, n)
    counts = np.clip(np.round(x / uv_per_count), -(1 << 23), (1 << 23) - 1).astype(np.int32)
    return counts, fs, tuple(night.info.labels)


def record_virtual(link: str = "ble", seconds: float | None = 60.0, out_dir: str | Path = ".", *, night: Any = None,
                   speed: float = 1.0, uv_per_count: float = 0.0715, disconnect_at_s: float | None = None,
                   sim_binary: str | Path | None = None, **kwargs: Any) -> RecordOutcome:
    """Run the live recording path over a simulated sensor.

    Parameters
    ----------
    link : {"ble", "serial"}
        ``ble``: bleak to the bumble virtual sensor (a real GATT server on an in-process
        link); ``serial``: a pseudo-terminal fed by :class:`~kneeemg.transport.ptysim.PtySensor`
        or, given ``sim_binary``, by the firmware's ``kneeemg-sensor-sim``.
    seconds : float, optional
        Signal to stream, s (the whole night when None).
    out_dir : path
    night : Recording, optional
        The signal to stream (a simulated or real recording); a simulated minute-scale
        night (seed 0) when omitted.
    speed : float
        Pace relative to real time.
    uv_per_count : float
        The simulated sensor's scale, µV per count.
    disconnect_at_s : float, optional
        BLE only: the sensor drops the connection after this much host time (the link
        reconnects; the missed samples become a gap).
    **kwargs
        As :func:`record_link` (``lsl``, ``on_status``, ``on_event``, ``on_check``, ``config``).
    """
    counts, fs, labels = _night_counts(night, seconds, uv_per_count)
    if link == "ble":
        from ..transport.ble import VirtualBleLink
        from ..transport.virtual import VirtualSensor

        async def main(stop: asyncio.Event) -> RecordOutcome:
            sensor = VirtualSensor(counts, fs_hz=fs, uv_per_count=uv_per_count, labels=labels, speed=speed)
            await sensor.start()
            dropper = None
            if disconnect_at_s is not None:
                async def drop() -> None:
                    await asyncio.sleep(disconnect_at_s)
                    await sensor.disconnect()

                dropper = asyncio.ensure_future(drop())
            try:
                ble = VirtualBleLink(sensor=sensor, backoff_s=0.25, backoff_max_s=2.0, give_up_s=30.0)
                return await record_link(ble, out_dir, max_samples=len(counts), stop=stop,
                                         duration_s=kwargs.pop("duration_s", len(counts) / fs / speed + 30.0),
                                         no_data_timeout_s=kwargs.pop("no_data_timeout_s", 10.0), **kwargs)
            finally:
                if dropper is not None:
                    dropper.cancel()
                await sensor.stop()

        return _run(main)
    if link == "serial":
        if sim_binary is not None:
            return _record_c_sim(Path(sim_binary), counts, fs, uv_per_count, speed, out_dir, **kwargs)
        from ..transport import SerialLink
        from ..transport.ptysim import PtySensor

        with PtySensor(counts, fs_hz=fs, uv_per_count=uv_per_count, labels=labels, speed=speed) as sensor:
            port = SerialLink(sensor.port)
            return _run(lambda stop: record_link(port, out_dir, max_samples=len(counts), stop=stop,
                                                 no_data_timeout_s=kwargs.pop("no_data_timeout_s", 10.0), **kwargs))
    raise InputError(f"unknown virtual link {link!r}; use 'ble' or 'serial'")


def _record_c_sim(binary: Path, counts: np.ndarray, fs: float, uv_per_count: float, speed: float, out_dir: str | Path,
                  **kwargs: Any) -> RecordOutcome:
    """The serial path through the firmware's host simulator on a pty."""
    import os
    import subprocess
    import tempfile

    from ..transport import SerialLink

    if not binary.is_file():
        raise InputError(f"{binary} does not exist; build it with `make -C firmware host`")
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "counts.i32"
        counts.astype("<i4").tofile(raw)
        master, slave = os.openpty()
        name = os.ttyname(slave)
        os.close(slave)
        sim = subprocess.Popen([str(binary), "--fd", str(master), "--input", str(raw), "--channels", str(counts.shape[1]),
                                "--fs", str(fs), "--uv-per-count", str(uv_per_count), "--speed", str(speed)],
                               pass_fds=(master,))
        try:
            return _run(lambda stop: record_link(SerialLink(name), out_dir, max_samples=len(counts), stop=stop,
                                                 no_data_timeout_s=kwargs.pop("no_data_timeout_s", 10.0), **kwargs))
        finally:
            sim.terminate()
            sim.wait(10)
            os.close(master)
