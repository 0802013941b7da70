"""Recording a night from the sensor: frames in, a crash-safe recording and live events out.

:class:`Recorder` holds the explicit state of one recording. It takes decoded frames (or raw
serial bytes), puts data frames in order by their sample index, drops duplicates, restores
frames that arrive out of order within a reorder window, and records every missing range
as a gap (from the sample counter, so lost time is exact). Samples are written as they come
to a ``.kemg`` file (at most about two seconds lost if the process is killed) and fed to the
live detector, gaps included (held at the last value, so the detector excludes them).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np

from .config import DetectorConfig
from .dsp import DetectionResult, StreamingDetector
from .errors import DeviceError
from .events import Event
from .io import RecordingWriter
from .protocol import DataFrame, InfoFrame, SerialDeframer

log = logging.getLogger(__name__)


@dataclass
class RecordStatus:
    """A snapshot for the live status line."""

    connected: bool
    data_age_s: float | None
    samples: int
    samples_lost: int
    frames_bad: int
    duplicates: int
    battery_pct: int | None
    lead_off: list[str]
    floor_uv: float | None
    twitches: int
    spasms: int


@dataclass
class SignalCheck:
    """The first seconds of signal: is every electrode in good contact?"""

    floor_uv: list[float]
    mains_uv: list[float]
    lead_off: list[str]
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_signal(x_uv: np.ndarray, fs_hz: float, labels: tuple[str, ...], lead_off: list[str]) -> SignalCheck:
    """Noise floor (20-450 Hz RMS), mains amplitude and lead-off of a few seconds of signal."""
    from scipy import signal as sps

    sos = sps.butter(4, [20, min(450, 0.45 * fs_hz)], "bandpass", fs=fs_hz, output="sos")
    y = sps.sosfiltfilt(sos, x_uv - x_uv.mean(axis=0), axis=0)
    blocks = np.array_split(y, max(1, len(y) // int(fs_hz / 4)))  # quarter-second blocks
    floors = np.median(np.array([np.sqrt(np.mean(b**2, axis=0)) for b in blocks]), axis=0)
    f, p = sps.welch(x_uv - x_uv.mean(axis=0), fs=fs_hz, nperseg=int(min(len(x_uv), fs_hz)), axis=0)
    mains = []
    for c in range(x_uv.shape[1]):
        k50, k60 = np.argmin(np.abs(f - 50)), np.argmin(np.abs(f - 60))
        power = max(p[k50, c], p[k60, c]) * (f[1] - f[0]) * 1.5  # Hann window bandwidth
        mains.append(float(np.sqrt(2 * power)))
    problems = [f"{lab}: the electrode is off or loose (lead-off); press it on or replace it" for lab in lead_off]
    for c, lab in enumerate(labels):
        if floors[c] < 0.2:
            problems.append(f"{lab}: the signal is flat; check that the electrode touches the skin")
        elif floors[c] > 20:
            problems.append(f"{lab}: noise of {floors[c]:.0f} µV is high (2-5 µV is typical); clean the skin and re-seat the electrode")
        if mains[c] > 200:
            problems.append(f"{lab}: strong mains hum ({mains[c]:.0f} µV); move the cable away from power cords")
    return SignalCheck([round(float(v), 2) for v in floors], [round(v, 1) for v in mains], lead_off, problems)


class Recorder:
    """Frames in, recording and live events out (see the module docstring).

    Parameters
    ----------
    path : path
        The ``.kemg`` file to create.
    config : DetectorConfig, optional
    reorder_window_s : float
        How long to wait for a missing frame before recording its samples as lost.
    check_s : float
        Seconds of signal judged by :func:`check_signal` at the start.
    on_event : callable, optional
        Called with each event as the live detector confirms it.
    """

    def __init__(self, path: str | Path, config: DetectorConfig | None = None, reorder_window_s: float = 0.5,
                 check_s: float = 3.0, on_event: Callable[[Event], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.path = Path(path)
        self.config = config
        self.reorder_window_s = reorder_window_s
        self.check_s = check_s
        self.on_event = on_event
        self._clock = clock
        self.info: InfoFrame | None = None
        self.writer: RecordingWriter | None = None
        self.detector: StreamingDetector | None = None
        self.deframer = SerialDeframer()
        self.next_sample = 0
        self._pending: dict[int, DataFrame] = {}
        self._last = np.zeros(0)
        self.samples = 0
        self.samples_lost = 0
        self.duplicates = 0
        self.events: list[Event] = []
        self.signal_check: SignalCheck | None = None
        self._check_buf: list[np.ndarray] = []
        self._last_rx: float | None = None
        self._lead_off: list[str] = []
        self._clock_points: list[tuple[int, float]] = []

    # ---------------------------------------------------------------- input
    def feed_bytes(self, data: bytes) -> None:
        """Raw serial bytes (COBS frames); damaged frames are counted and skipped."""
        for frame in self.deframer.feed(data):
            self.feed_frame(frame)

    def feed_frame(self, frame: object) -> None:
        """One decoded frame (an info frame must come before data)."""
        if isinstance(frame, InfoFrame):
            self._start(frame)
            return
        if not isinstance(frame, DataFrame):
            return
        if self.info is None:
            return  # data before the sensor said what it is: wait for its info frame
        self._last_rx = self._clock()
        self._clock_points.append((frame.first_sample, self._last_rx))
        end = frame.first_sample + frame.n_samples
        if end <= self.next_sample or frame.first_sample in self._pending:
            self.duplicates += 1
            return
        self._pending[frame.first_sample] = frame
        self._drain(force=False)

    def _start(self, info: InfoFrame) -> None:
        self.info = info
        if self.writer is None:
            meta = {"uv_per_count": info.uv_per_count, "device_id": info.device_id, "firmware": ".".join(map(str, info.firmware))}
            self.writer = RecordingWriter(self.path, info.fs_hz, info.labels, start_time=datetime.now(timezone.utc),
                                          device=f"kneeemg sensor {info.device_id:#x}", meta=meta)
            self.detector = StreamingDetector(info.fs_hz, len(info.labels), config=self.config, labels=info.labels)
            self._last = np.zeros(len(info.labels))

    def _drain(self, force: bool) -> None:
        """Write frames that are next in line; declare a gap when the wait is over."""
        fs = self.info.fs_hz
        while self._pending:
            first = min(self._pending)
            if first > self.next_sample:
                waited = max(f.first_sample + f.n_samples for f in self._pending.values()) - self.next_sample
                if not force and waited < self.reorder_window_s * fs:
                    return
                self._gap(first - self.next_sample)
            frame = self._pending.pop(first)
            skip = self.next_sample - frame.first_sample  # overlap with what was written
            counts = frame.counts[skip:] if skip > 0 else frame.counts
            if len(counts):
                self._write(counts.astype(np.float64) * self.info.uv_per_count, frame.status)

    def _gap(self, n: int) -> None:
        self.writer.mark_gap(self.next_sample, n)
        self.samples_lost += n
        held = np.repeat(self._last[None, :], n, axis=0)
        self._detect(held)
        self.next_sample += n

    def _write(self, x_uv: np.ndarray, status: int) -> None:
        self.writer.write(x_uv, first_sample=self.next_sample)
        self._lead_off = [self.info.labels[c] for c in range(min(8, len(self.info.labels))) if status & (1 << c)]
        self._detect(x_uv)
        self.next_sample += len(x_uv)
        self.samples += len(x_uv)
        self._last = x_uv[-1]
        if self.signal_check is None:
            self._check_buf.append(x_uv)
            if sum(len(b) for b in self._check_buf) >= self.check_s * self.info.fs_hz:
                self.signal_check = check_signal(np.concatenate(self._check_buf), self.info.fs_hz, self.info.labels, self._lead_off)
                self._check_buf = []

    def _detect(self, x_uv: np.ndarray) -> None:
        for ev in self.detector.process(x_uv):
            self.events.append(ev)
            if self.on_event:
                self.on_event(ev)

    # ---------------------------------------------------------------- output
    def status(self) -> RecordStatus:
        floor = None
        if self.detector is not None and self.detector._design is not None:
            floor = float(np.median(self.detector._fs[:, 0]))
        age = None if self._last_rx is None else self._clock() - self._last_rx
        return RecordStatus(
            connected=age is not None and age < 2.0, data_age_s=age, samples=self.samples, samples_lost=self.samples_lost,
            frames_bad=self.deframer.stats.bad_frames, duplicates=self.duplicates,
            battery_pct=self.info.battery_pct if self.info else None, lead_off=list(self._lead_off), floor_uv=floor,
            twitches=sum(e.kind == "twitch" for e in self.events), spasms=sum(e.kind == "spasm" for e in self.events),
        )

    def clock_fit(self) -> dict[str, float] | None:
        """Device sample index to host time: the lower envelope of (index, receive time)
        per 10 s of signal, fitted with a line; its slope gives the device clock's drift."""
        if self.info is None or len(self._clock_points) < 2:
            return None
        fs = self.info.fs_hz
        pts = np.array(self._clock_points)
        bins = (pts[:, 0] // (10 * fs)).astype(int)
        lows = np.array([pts[bins == b][np.argmin(pts[bins == b, 1] - pts[bins == b, 0] / fs)] for b in np.unique(bins)])
        if len(lows) < 2:
            return {"offset_s": float(lows[0, 1] - lows[0, 0] / fs), "drift_ppm": 0.0}
        slope, offset = np.polyfit(lows[:, 0] / fs, lows[:, 1], 1)
        return {"offset_s": float(offset), "drift_ppm": float((slope - 1.0) * 1e6)}

    def close(self) -> DetectionResult | None:
        """Write what is still waiting (gaps included), close the file, finish detection."""
        if self.writer is None:
            return None
        self._drain(force=True)
        self.writer.close()
        fit = self.clock_fit()
        if fit is not None:
            self.path.with_name(self.path.name + ".clock.json").write_text(json.dumps(fit))
        for ev in self.detector.process(np.zeros((0, len(self.info.labels)))):
            self.events.append(ev)
        result = self.detector.finish()
        result.lost_s = self.samples_lost / self.info.fs_hz
        return result


def record_serial(url: str, out_dir: str | Path, duration_s: float | None = None, config: DetectorConfig | None = None,
                  on_status: Callable[[RecordStatus], None] | None = None, on_event: Callable[[Event], None] | None = None,
                  should_stop: Callable[[], bool] | None = None, no_data_timeout_s: float = 10.0,
                  on_check: Callable[[SignalCheck], None] | None = None) -> tuple[Path, DetectionResult | None]:
    """Record from a serial sensor until ``duration_s`` passes, ``should_stop()``, or the sensor stops sending.

    Returns the recording's path and the detection result. The file is closed cleanly on
    any exit, including KeyboardInterrupt.
    """
    from .protocol import Command, CommandFrame, serial_encode
    from .transport import open_link

    out = Path(out_dir)
    if not out.is_dir():
        raise DeviceError(f"the output folder {out} does not exist; create it or choose another with --out")
    path = out / f"night-{datetime.now().strftime('%Y%m%d-%H%M%S')}.kemg"
    rec = Recorder(path, config=config, on_event=on_event)
    t0 = time.monotonic()
    last_data = t0
    with open_link(url) as link:
        link.write(serial_encode(CommandFrame(Command.REQUEST_INFO)) + serial_encode(CommandFrame(Command.START)))
        try:
            while True:
                data = link.read(0.1)
                now = time.monotonic()
                if data:
                    rec.feed_bytes(data)
                    last_data = now
                if on_status:
                    on_status(rec.status())
                if on_check and rec.signal_check is not None:
                    on_check(rec.signal_check)
                    on_check = None
                if duration_s is not None and now - t0 >= duration_s:
                    break
                if should_stop and should_stop():
                    break
                if now - last_data > no_data_timeout_s:
                    log.warning("no data from %s for %.0f s; stopping", url, no_data_timeout_s)
                    break
        finally:
            try:
                link.write(serial_encode(CommandFrame(Command.STOP)))
            except (DeviceError, OSError):
                pass  # the sensor is gone; what was recorded is closed below either way
            result = rec.close()
    if rec.writer is None:
        raise DeviceError(f"no sensor answered on {url}; check the port and that the sensor is on")
    return path, result
