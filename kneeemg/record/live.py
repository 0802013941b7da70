"""Recording from a link, live: the asyncio pipeline behind ``kneeemg record`` and the demo.

:func:`record_link` (async) opens a link, asks the sensor what it is and starts it, feeds
every frame to a :class:`~kneeemg.record.recorder.Recorder`, and stops on the duration, a
stop request, SIGTERM/Ctrl-C (through :func:`record`), or when the link is lost for good;
the recording is closed cleanly on every way out. A stop request is honoured at any
point, while connecting too. :func:`record` is the synchronous entry point for a URL;
:func:`record_virtual` runs the whole live path over a simulated sensor (``link="ble"``:
bleak to the bumble virtual sensor; ``link="serial"``: a pseudo-terminal). Both check the
output folder (:func:`kneeemg.paths.output_folder`) before any sensor is contacted, and
remove the folders they created when nothing was recorded into them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import signal
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..config import MAX_RECORD_S, MIN_RECORDING_S, DetectorConfig
from ..dsp import DetectionResult
from ..errors import DeviceError, InputError, KneeEmgError
from ..events import Event
from ..paths import output_folder
from ..protocol import Command, DataFrame, InfoFrame
from ..transport.base import LinkState, NoDataError
from .awake import KeepAwake, kept_awake
from .check import SignalCheck
from .recorder import Recorder, RecordStatus

log = logging.getLogger(__name__)

#: Why a stop was requested: the signal's reason code (see :attr:`RecordOutcome.stop_reason`).
SIGNAL_REASONS = {signal.SIGINT: "interrupted", signal.SIGTERM: "terminated"}
if hasattr(signal, "SIGHUP"):  # the terminal was closed (POSIX only)
    SIGNAL_REASONS[signal.SIGHUP] = "hangup"
#: Stop reasons nobody asked for: the recording ended early (``record`` exits with the device-error code).
ENDED_EARLY = ("link closed", "link lost", "no data")
#: How a link to a simulated sensor reconnects (the sensor is back at once, or never).
VIRTUAL_RECONNECT = {"backoff_s": 0.25, "backoff_max_s": 2.0, "give_up_s": 30.0}
SETTLE_S = 5.0  # how long a cancelled step (a connection attempt, the frame reader) may take to end, s
DETECT_GRACE_S = 3.0  # after a stop request, how long the detector may take to finish the recording, s


class StopRequest(asyncio.Event):
    """An :class:`asyncio.Event` that also says why the stop was asked for.

    :func:`record` and :func:`record_virtual` pass one to :func:`record_link` and set it on
    SIGINT (``reason`` ``interrupted``), SIGTERM (``terminated``) and SIGHUP (``hangup``); a plain ``set()`` gives
    ``stopped``.
    """

    reason = "stopped"

    def request(self, reason: str = "stopped") -> None:
        """Ask for a stop; the first reason given is kept."""
        if not self.is_set():
            self.reason = reason
        self.set()


class StoppedBeforeRecording(KneeEmgError):
    """A stop (Ctrl-C, SIGTERM, a stop request) came before the sensor sent any signal.

    Nothing was recorded and no file is left behind. ``exit_code`` follows the shell's
    convention for the signal (130 for Ctrl-C, 143 for SIGTERM).
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason
        self.exit_code = {"interrupted": 130, "terminated": 143, "hangup": 129}.get(reason, 1)
        how = {"interrupted": "by Ctrl-C", "terminated": "by SIGTERM", "hangup": "by SIGHUP"}.get(reason, "on request")
        super().__init__(f"stopped {how} before the sensor sent any signal; nothing was recorded -- "
                         "run the command again to record")


def _stop_reason(stop: asyncio.Event) -> str:
    return getattr(stop, "reason", "stopped")


@dataclass
class RecordOutcome:
    """What a recording produced.

    Attributes
    ----------
    path : Path
        The ``.kemg`` recording.
    result : DetectionResult or None
        Detection over the whole recording (None if no data came, or if a stop came while the
        detector was still compiling its kernels, the first time: see :data:`DETECT_GRACE_S`).
    status : RecordStatus
        The last status snapshot (samples, losses, bad frames, reconnects, ...).
    stop_reason : str
        ``duration`` (``duration_s`` passed), ``samples`` (``max_samples`` reached: the
        virtual sensor's signal ended), ``interrupted`` (SIGINT, Ctrl-C), ``terminated``
        (SIGTERM), ``hangup`` (SIGHUP: the terminal was closed), ``stopped`` (a stop request), ``link closed`` (the link ended),
        ``link lost`` (the sensor is gone for good) or ``no data`` (nothing arrived for
        ``no_data_timeout_s``).
    signal_check : SignalCheck or None
    events : list of Event
        Events as the live detector reported them.
    clock : dict
        The device-to-host clock mapping (also saved beside the recording).
    mtu : int or None
        ATT MTU of the BLE link.
    awake : KeepAwake or None
        Whether the computer was kept from sleeping (:func:`record` only).
    """

    path: Path
    result: DetectionResult | None
    status: RecordStatus
    stop_reason: str
    signal_check: SignalCheck | None
    events: list[Event] = field(default_factory=list)
    clock: dict[str, Any] = field(default_factory=dict)
    mtu: int | None = None
    awake: KeepAwake | None = None

    @property
    def ended_early(self) -> bool:
        """True when the recording ended for a reason nobody asked for (:data:`ENDED_EARLY`)."""
        return self.stop_reason in ENDED_EARLY


def prepare_output_folder(out_dir: str | Path) -> Path:
    """Make sure recordings can be written to ``out_dir`` (created with its parents when
    missing) before any sensor is contacted; see :func:`kneeemg.paths.check_output_dir`.

    Raises :class:`InputError` when ``out_dir`` is a file, cannot be created, or cannot be
    written.
    """
    from ..paths import check_output_dir

    return check_output_dir(out_dir, "--out")


def new_recording_path(out_dir: str | Path) -> Path:
    """``night-YYYYmmdd-HHMMSS.kemg`` in ``out_dir``; if that name is taken when the file is
    created, :func:`record_link` adds -2, -3, ... (see ``Recorder(numbered=True)``).

    The folder is created if it does not exist (see :func:`prepare_output_folder`).
    """
    out = prepare_output_folder(out_dir)
    return out / f"night-{datetime.now().strftime('%Y%m%d-%H%M%S')}.kemg"


async def record_link(link: Any, out_dir: str | Path, *, duration_s: float | None = None, max_samples: int | None = None,
                      config: DetectorConfig | None = None, lsl: bool = False, stop: asyncio.Event | None = None,
                      on_status: Callable[[RecordStatus], None] | None = None,
                      on_event: Callable[[Event], None] | None = None,
                      on_check: Callable[[SignalCheck], None] | None = None, no_data_timeout_s: float = 30.0,
                      reorder_window_s: float = 0.5, status_interval_s: float = 0.5,
                      path: str | Path | None = None, pace: float = 1.0) -> RecordOutcome:
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
        Set it to stop cleanly, at any point (while connecting too); a :class:`StopRequest`
        also gives the reason. A stop before the first signal raises
        :class:`StoppedBeforeRecording` and leaves no file.
    on_status, on_event, on_check : callable, optional
        Called with a :class:`RecordStatus` every ``status_interval_s``, with each event as
        it is confirmed (about a second after it ends), and once with the signal check (also
        when the recording ends right after it was computed).
    no_data_timeout_s : float
        A link that delivers nothing for this long counts as lost, s; so does one that is
        connected for this long without a first sample (bytes that are no valid kneeemg
        frame, or frames that all fail their check).
    reorder_window_s : float
        See :class:`Recorder`.
    path : path, optional
        The exact file to create (instead of a new name in ``out_dir``).
    pace : float
        See :class:`Recorder` (a virtual sensor's speed).
    """
    numbered = path is None  # a name of our own choosing: another if it is taken; an exact path is not changed
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

    checked: list[SignalCheck] = []  # the signal check, once reported

    def report_check(check: SignalCheck) -> None:
        if on_check is not None and not checked:
            checked.append(check)
            on_check(check)

    rec = Recorder(path, config=config, reorder_window_s=reorder_window_s, on_event=emit_event,
                   on_samples=emit_samples if lsl else None, meta={"link": link.url}, numbered=numbered, pace=pace,
                   expected_s=duration_s, expected_samples=max_samples)
    rec.link, rec.link_stats = link, link.stats
    stop = stop if stop is not None else StopRequest()
    reason = "stopped"
    started = time.monotonic()
    if stop.is_set():
        raise StoppedBeforeRecording(_stop_reason(stop))
    opened = False
    try:
        opened = await _unless_stopped(link.open(), stop)
        if opened:
            await link.send(Command.REQUEST_INFO)
            await link.send(Command.START)
            reason = await _pump(rec, link, stop, started, duration_s=duration_s, max_samples=max_samples, lsl=lsl,
                                 publisher=publisher, on_status=on_status, on_check=report_check,
                                 no_data_timeout_s=no_data_timeout_s, status_interval_s=status_interval_s)
        else:
            reason = _stop_reason(stop)
    finally:
        if opened and rec.info is not None:  # no info: no sensor of ours answered (or another program reads the port)
            with contextlib.suppress(DeviceError, asyncio.TimeoutError, OSError):
                await asyncio.wait_for(link.send(Command.STOP), 2.0)
        with contextlib.suppress(DeviceError, asyncio.TimeoutError, OSError):
            await asyncio.wait_for(link.close(), 10.0)
        try:
            try:
                rec.close(wait_s=0.0)  # the file is closed here, whatever the detector is doing
            finally:
                if rec.signal_check is not None:  # computed after the status loop last looked (it ended first), or on closing
                    report_check(rec.signal_check)
            result = await _detection_result(rec, stop)
        except DeviceError:
            if rec.writer is not None and rec.writer.saved_samples == 0 and rec._file_problem() is None:
                _discard_empty(rec)  # a full disk took even the first samples: no file for import to fail on
            raise
        finally:
            if publisher:
                publisher[0].close()
    if rec.samples == 0 and rec.samples_lost == 0:
        _discard_empty(rec)  # only a header: nothing was recorded, nothing is left behind
        if stop.is_set():
            raise StoppedBeforeRecording(_stop_reason(stop))
        if rec.writer is not None:
            bad = f"; {link.stats.bad_frames} bad frames" if link.stats.bad_frames else ""
            raise DeviceError(f"the sensor on {link.url} answered but sent no signal before the recording ended "
                              f"({reason}{bad}); nothing was recorded -- check that it is on and connected, then try again")
    if rec.writer is None:
        if link.last_rx_monotonic is not None and not link.stats.frames:
            raise DeviceError(f"no sensor answered on {link.url}: bytes arrived but not one valid kneeemg frame "
                              f"({link.stats.bad_frames} bad frames, {link.stats.garbage_bytes} stray bytes); check "
                              "the port (`kneeemg devices` lists them) and that the device on it is a kneeemg sensor")
        raise DeviceError(f"no sensor answered on {link.url}; check that it is on and connected, then try again")
    status = rec.status()
    if on_status is not None:
        on_status(status)
    return RecordOutcome(rec.path, result, status, reason, rec.signal_check, list(rec.events), rec.clock_summary(),
                         getattr(link, "mtu", None))


async def _pump(rec: Recorder, link: Any, stop: asyncio.Event, started: float, *, duration_s: float | None,
                max_samples: int | None, lsl: bool, publisher: list[Any],
                on_status: Callable[[RecordStatus], None] | None, on_check: Callable[[SignalCheck], None] | None,
                no_data_timeout_s: float, status_interval_s: float) -> str:
    """Frames from the open link into ``rec`` until a stop condition; returns the reason code."""
    data_in_session = False  # data came since the sensor's session last changed

    async def consume() -> str:
        nonlocal data_in_session
        async for frame in link.frames(timeout_s=no_data_timeout_s):
            had_info = rec.info is not None
            if isinstance(frame, InfoFrame) and had_info and frame.session_id != rec.info.session_id:
                if data_in_session:  # it restarted mid-recording, and after power-on it waits for START
                    await link.send(Command.START)
                data_in_session = False
            elif isinstance(frame, DataFrame):
                data_in_session = True
            rec.feed_frame(frame)
            if lsl and not had_info and rec.info is not None:
                from .lsl import LslPublisher

                publisher.append(LslPublisher(rec.info))
            if max_samples is not None and rec.next_sample >= max_samples:
                return "samples"
            if stop.is_set():
                return _stop_reason(stop)
        return "link closed"

    async def watch() -> str:
        nonlocal on_check
        signal_by = time.monotonic() + no_data_timeout_s  # the first sample, while connected
        while True:
            rec.tick()
            if rec.next_sample == 0:  # bytes that are no kneeemg frame, or only bad frames, keep the link busy
                if link.state is not LinkState.CONNECTED:
                    signal_by = time.monotonic() + no_data_timeout_s
                elif time.monotonic() >= signal_by:
                    return "no data"
            if on_status is not None:
                on_status(rec.status())
            if on_check is not None and rec.signal_check is not None:
                on_check(rec.signal_check)
                on_check = None
            if stop.is_set():
                return _stop_reason(stop)
            if duration_s is not None and time.monotonic() - started >= duration_s:
                return "duration"
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), status_interval_s)

    tasks = [asyncio.ensure_future(consume()), asyncio.ensure_future(watch())]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        await _settle(tasks)
    first = next(t for t in tasks if t in done)  # the frame reader first: its failure matters most
    try:
        return first.result()
    except DeviceError as exc:
        if rec.failed is not None:
            raise
        log.warning("%s", exc)
        return "no data" if isinstance(exc, NoDataError) else "link lost"  # by type: a vanished port says "no data" too


async def _detection_result(rec: Recorder, stop: asyncio.Event) -> DetectionResult | None:
    """The detection of the closed recording, once the detector (on a thread of its own) has
    finished it. Its first call compiles its kernels, which can take half a minute: a stop
    request, before or while this waits, leaves it at most :data:`DETECT_GRACE_S` more; then
    the result is None (the recording is complete, ``kneeemg replay`` detects it)."""
    until = None
    while rec.detecting:
        if stop.is_set():
            until = time.monotonic() + DETECT_GRACE_S if until is None else until
            if time.monotonic() >= until:
                long_enough = rec.info is not None and (rec.samples + rec.samples_lost) >= MIN_RECORDING_S * rec.info.fs_hz
                log.warning("stopped before the detector had finished (the first time it compiles its kernels, "
                            "about half a minute); " + ("the recording is complete: `kneeemg replay %s` detects it"
                                                        if long_enough else "the recording %s is too short to analyse"),
                            rec.path)
                return None
        await asyncio.sleep(0.05)
    return rec.detection_result()


async def _settle(tasks: list[asyncio.Future[Any]], timeout_s: float = SETTLE_S) -> None:
    """Cancel ``tasks`` and wait (up to ``timeout_s``) until they have ended, cancelling again
    if one swallowed the cancellation."""
    deadline = time.monotonic() + timeout_s
    pending = [t for t in tasks if not t.done()]
    while pending and time.monotonic() < deadline:
        for task in pending:
            task.cancel()
        await asyncio.wait(pending, timeout=min(0.2, max(0.0, deadline - time.monotonic())))
        pending = [t for t in pending if not t.done()]
    for task in tasks:
        if task.done() and not task.cancelled():
            task.exception()  # retrieved: its outcome is read (or deliberately dropped) by the caller


async def _unless_stopped(step: Any, stop: asyncio.Event) -> bool:
    """Await ``step`` (a coroutine) unless ``stop`` is set first, in which case the step is
    cancelled; True if the step completed (its error, if any, is raised)."""
    task = asyncio.ensure_future(step)
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait([task, stopper], return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
        if not task.done():
            await _settle([task])
    if not task.done() or task.cancelled():  # stopped (a step that ignores cancelling is left to the loop's end)
        return False
    if stop.is_set():  # asked to stop: how the step ended (connected, or failed on the way) no longer matters
        if task.exception() is not None:
            log.debug("stopped while connecting: %s", task.exception())
        return False
    task.result()
    return True


def _discard_empty(rec: Recorder) -> None:
    """Remove a recording that holds its header and nothing else, or not even that (and its clock file,
    and that file's temporary copy)."""
    if rec.writer is None:
        return
    for suffix in ("", ".clock.json", ".clock.json.tmp"):
        with contextlib.suppress(OSError):
            rec.path.with_name(rec.path.name + suffix).unlink()


def _run(main: Callable[[StopRequest], Any]) -> Any:
    """Run ``main(stop)`` in a fresh event loop; SIGTERM, SIGHUP and Ctrl-C request ``stop`` (a clean stop).

    The handlers are installed before ``main`` starts and removed after it has ended (the
    recording closed). A Ctrl-C before that (while loading, or simulating the virtual
    sensor's signal) raises KeyboardInterrupt as usual: no file exists yet.
    """

    async def runner() -> Any:
        stop = StopRequest()
        loop = asyncio.get_running_loop()
        installed = []
        for sig, why in SIGNAL_REASONS.items():
            try:
                loop.add_signal_handler(sig, stop.request, why)
                installed.append(sig)
            except (NotImplementedError, RuntimeError, ValueError):
                pass  # not the main thread, or not POSIX: Ctrl-C still interrupts, the file still closes
        try:
            return await main(stop)
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)

    return asyncio.run(runner())


#: Longest simulated night the virtual sensor streams, s: it is made whole, in memory, first
#: (two channels of 8 h peaked at 1.5 GB: ``_night_counts(None, 28800, 0.0715)`` under
#: ``/usr/bin/time``).
MAX_VIRTUAL_S = 8 * 3600.0


def check_duration(duration_s: float | None) -> None:
    """Raise :class:`InputError` unless ``duration_s`` is None or a length a recording can have
    (from :data:`~kneeemg.config.MIN_RECORDING_S`, the shortest that replay and import read, to
    :data:`MAX_RECORD_S`)."""
    import math

    if duration_s is None:
        return
    if isinstance(duration_s, bool) or not isinstance(duration_s, (int, float)) or not math.isfinite(duration_s) \
            or not MIN_RECORDING_S <= duration_s <= MAX_RECORD_S:
        raise InputError(f"--duration {duration_s!r} is not allowed; give at least {MIN_RECORDING_S:g} (the shortest "
                         f"recording replay and import read) and at most {MAX_RECORD_S:.0f} seconds (48 h), or leave "
                         "it out to record until Ctrl-C")


def record(url: str, out_dir: str | Path, *, duration_s: float | None = None, link_options: dict[str, Any] | None = None,
           keep_awake: bool = True, on_awake: Callable[[KeepAwake], None] | None = None, **kwargs: Any) -> RecordOutcome:
    """Record from the sensor at ``url`` (see :func:`kneeemg.transport.open_link`) until the duration
    passes, SIGTERM or Ctrl-C, or the link is lost for good. Other arguments as :func:`record_link`.

    The duration and the output folder are checked before the sensor is contacted. With
    ``keep_awake`` the computer is asked not to sleep until the recording ends
    (:func:`~kneeemg.record.awake.kept_awake`); ``on_awake`` is told whether it agreed, before
    the sensor is contacted, and the outcome's ``awake`` says it too."""
    from ..transport import open_link

    check_duration(duration_s)
    with output_folder(out_dir, "--out"):  # before the sensor is contacted; removed again if nothing was recorded
        link = open_link(url, **(link_options or {}))
        with kept_awake() if keep_awake else contextlib.nullcontext() as awake:
            if on_awake is not None and awake is not None:
                on_awake(awake)
            outcome = _run(lambda stop: record_link(link, out_dir, duration_s=duration_s, stop=stop, **kwargs))
        outcome.awake = awake
        return outcome


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
        reconnects; the missed samples become a gap). The links to the simulated sensor
        reconnect as :data:`VIRTUAL_RECONNECT` says.
    **kwargs
        As :func:`record_link` (``lsl``, ``on_status``, ``on_event``, ``on_check``, ``config``).
    """
    if link not in ("ble", "serial"):
        raise InputError(f"unknown virtual link {link!r}; use 'ble' or 'serial'")
    check_duration(seconds)
    if night is None and seconds is not None and seconds > MAX_VIRTUAL_S:  # (its samples are made whole, in memory)
        raise InputError(f"--duration {seconds:g} is more than the virtual sensor streams: its simulated night is made "
                         f"whole in memory first; give at most {MAX_VIRTUAL_S:.0f} seconds (8 h), a night's length")
    with output_folder(out_dir, "--out"):  # before the sensor is simulated; removed again if nothing was recorded
        return _record_virtual(link, seconds, out_dir, night, speed, uv_per_count, disconnect_at_s, sim_binary, **kwargs)


def _record_virtual(link: str, seconds: float | None, out_dir: str | Path, night: Any, speed: float, uv_per_count: float,
                    disconnect_at_s: float | None, sim_binary: str | Path | None, **kwargs: Any) -> RecordOutcome:
    counts, fs, labels = _night_counts(night, seconds, uv_per_count)
    kwargs["pace"] = speed if speed > 0 else math.inf  # (speed 0: as fast as the link goes)
    if link == "ble":
        from ..transport.ble import VirtualBleLink
        from ..transport.virtual import VirtualSensor

        async def main(stop: StopRequest) -> RecordOutcome:
            sensor = VirtualSensor(counts, fs_hz=fs, uv_per_count=uv_per_count, labels=labels, speed=speed)
            await sensor.start()
            dropper = None
            if disconnect_at_s is not None:
                async def drop() -> None:
                    await asyncio.sleep(disconnect_at_s)
                    await sensor.disconnect()

                dropper = asyncio.ensure_future(drop())
            try:
                ble = VirtualBleLink(sensor=sensor, **VIRTUAL_RECONNECT)
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
            port = SerialLink(sensor.port, **VIRTUAL_RECONNECT)
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
            return _run(lambda stop: record_link(SerialLink(name, **VIRTUAL_RECONNECT), out_dir, max_samples=len(counts), stop=stop,
                                                 no_data_timeout_s=kwargs.pop("no_data_timeout_s", 10.0), **kwargs))
        finally:
            sim.terminate()
            sim.wait(10)
            os.close(master)
