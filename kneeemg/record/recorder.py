"""The recorder: decoded frames in; an ordered, crash-safe recording and live events out.

:class:`Recorder` holds the explicit state of one recording. Data frames are put in order
by their sample index: duplicates are dropped, frames that arrive out of order within the
reorder window are put back in place, and every range still missing when the window has
passed is recorded as a gap (``RecordingWriter.mark_gap``) and counted as lost time -- from
the sample counter, so the loss is exact. A frame that jumps more than the window past every
frame so far waits until another frame confirms the jump (a frame within the window of it:
the sensor lost those samples, or was paused); if the old sequence goes on past the window
instead, it was a stray (a bit error that passed the CRC) and is dropped as a bad frame. A
confirmed jump past what the time since the first frame allows is the counter skipping: the
recording goes on after the time that passed. Samples are written as they come (``.kemg``: at
most about two seconds lost if the process is killed) and fed to the live detector, gaps
held at the last value and declared lost (so the detector excludes them).

A frame from before a counter skip that comes after the skip was confirmed (held up in the
link) is placed by the counter as it was before the skip: right after the frames before it,
in the gap the skip left, cut where the frames after the skip begin (they keep their place;
the gap's length is the host time that passed, an estimate). It is kept like any frame out
of order while that gap is still waiting (the reorder window). A gap, once written, is never
rewritten (the file's gaps and samples are written in order): a frame that comes after its
place was written as a gap is dropped and counted as late (:attr:`RecordStatus.late`, with
the frames cut to fit), its samples counted lost with the gap, not as a duplicate.

The detector runs on a thread of its own, fed through a queue in order (its first call
compiles its kernels, half a minute on a cold cache, and the caller's thread -- the event
loop of a live recording -- must not wait for that): the caller's thread stays the only one
that writes the file, and takes the events back, in order, in :meth:`Recorder.feed_frame`,
:meth:`Recorder.tick` and :meth:`Recorder.close`.

A new session (the info frame's ``session_id`` changes: the sensor restarted its counter)
continues the same timeline after the time that passed on the host, recorded as a gap. The
clock mapping (:meth:`Recorder.save_clock`) is saved with the first data of each session,
then every :data:`CLOCK_SAVE_S` of host time, and when the recording closes.

A write failure stops the recording (``failed``) with what was written intact. So does the
file vanishing under it (deleted, its folder deleted, or replaced), which writing alone
would not reveal (on POSIX, writing to a deleted file succeeds): about once a second of
signal, and of host time, the path is compared with the open file; if it is gone, what was
recorded is read back from the open file and saved again at the path (its folder created
again), or beside it when another file took its place.
"""

from __future__ import annotations

import bisect
import contextlib
import errno
import json
import logging
import math
import os
import queue
import shutil
import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..config import MAX_FS_HZ, MIN_FS_HZ, DetectorConfig
from ..dsp import DetectionResult, StreamingDetector
from ..errors import ConfigError, DeviceError, KneeEmgError
from ..events import Event
from ..io import RecordingWriter
from ..io.native import RecordingExistsError
from ..protocol import STATUS_BATTERY_LOW, DataFrame, DeframerStats, InfoFrame, SerialDeframer
from .check import SignalCheck, check_signal, noise_floor_uv
from .clock import ClockFit
from ..words import duration_text, plural

log = logging.getLogger(__name__)

FILE_CHECK_S = 1.0  # the recording file is checked (still there, still ours) this often, in signal and host time
DETECT_CHUNK_S = 0.1  # samples go to the detector in chunks of at least this much signal
FLOOR_EVERY_S = 5.0  # the status line's noise floor is re-estimated this often, over this much signal
CLOCK_SAVE_S = 60.0  # the clock mapping is saved this often (host time), so a kill loses at most this much of it
#: Between two data frames, the wall clock running ahead of the monotonic clock (which stops
#: while the computer sleeps, on Linux and macOS) by more than this is taken as the computer
#: having slept, s (well above a clock's adjustments by NTP).
HOST_SLEEP_MIN_S = 10.0
#: The length of a night the free disk space is checked against when the recording's own is
#: not known (no ``--duration``), s.
NIGHT_S = 10 * 3600.0
#: Bytes a ``.kemg`` file takes per channel-sample, at most: float32, plus its blocks' headers
#: (4.03 in a live recording of two channels at 1 kHz, a block a second; 4.01 in a simulated one).
KEMG_BYTES_PER_VALUE = 4.04
#: A counter jump is possible when the samples before it fit in the host time since the first
#: data frame, give or take this fraction (clock drift, far beyond any crystal's) and this
#: latency, s (frames held up in the link); beyond, the counter skipped (see ``_confirms``).
MAX_DRIFT = 0.01
LATENCY_S = 10.0
#: The name of the live detector's thread.
DETECTOR_THREAD = "kneeemg-live-detector"
GAP_PIECE = 1 << 16  # a gap's held samples go to the detector this many at a time (never the whole gap at once)


class _LiveDetection:
    """A :class:`StreamingDetector` on a thread of its own, fed through a queue.

    Samples, lost spans and the finish are run in the order they are queued; the events
    come back in order from :meth:`events`. A failure of the detector ends the thread and
    is kept in ``error`` (the recorder raises it again). The thread (:data:`DETECTOR_THREAD`)
    is a daemon: a detector still busy (compiling its kernels, the first time) when a
    recording is stopped early is left behind, and the command line then ends the process at
    once (:func:`kneeemg.cli.run`), since the interpreter's own shutdown, stopping the thread
    inside the compiler, sometimes crashed it (exit code 134 or 139).
    """

    def __init__(self, detector: StreamingDetector) -> None:
        self.detector = detector
        self.result: DetectionResult | None = None  # set by finish
        self.error: BaseException | None = None
        self.done = threading.Event()  # finished, or failed
        self._jobs: queue.SimpleQueue[tuple[Any, ...]] = queue.SimpleQueue()
        self._events: queue.SimpleQueue[Event] = queue.SimpleQueue()
        threading.Thread(target=self._work, name=DETECTOR_THREAD, daemon=True).start()

    def mark_lost(self, start_sample: int, n_samples: int) -> None:
        self._jobs.put(("lost", start_sample, n_samples))

    def process(self, x_uv: np.ndarray) -> None:
        self._jobs.put(("process", x_uv))

    def finish(self) -> None:
        self._jobs.put(("finish",))

    def stop(self) -> None:
        """End the thread after the queued work, without a result (the recording failed)."""
        self._jobs.put(("stop",))

    def events(self) -> list[Event]:
        """The events confirmed since the last call, in order."""
        out = []
        with contextlib.suppress(queue.Empty):
            while True:
                out.append(self._events.get_nowait())
        return out

    def _work(self) -> None:
        try:
            while True:
                job = self._jobs.get()
                if job[0] == "lost":
                    self.detector.mark_lost(job[1], job[2])
                elif job[0] == "process":
                    for ev in self.detector.process(job[1]):
                        self._events.put(ev)
                elif job[0] == "finish":
                    self.result = self.detector.finish()
                    return
                else:
                    return
        except BaseException as exc:  # raised again on the recorder's thread
            self.error = exc
        finally:
            self.detector.close()
            self.done.set()


@dataclass
class RecordStatus:
    """A snapshot for the live status line.

    Attributes
    ----------
    state : str
        The link's state (``connected``, ``reconnecting``, ...) or ``waiting`` before data.
    data_age_s : float or None
        Seconds since the last frame arrived.
    recorded_s, lost_s : float
        Signal written, and signal lost (gaps), s.
    samples, samples_lost : int
    frames_bad : int
        Frames that failed their check (CRC, length), or that jumped far ahead with no frame to
        confirm the jump, and were dropped.
    duplicates, reordered : int
        Frames dropped as duplicates, and frames put back in place.
    battery_pct : int or None
    lead_off : list of str
        Channels the sensor reports as lead-off now.
    floor_uv : list of float
        Recent noise floor per channel, µV (empty until known).
    twitches, spasms, cramps : int
        Events so far.
    reconnects : int
    battery_low : bool
        The sensor's latest data frame has its battery-low bit set.
    late : int
        Frames that came after their place was recorded as a gap (their samples are counted
        in ``samples_lost``), and frames from before a counter skip cut to the gap it left:
        dropped, wholly or in part.
    asleep_s : float
        How long the computer slept while recording, s (seen on Linux and macOS, where the
        host's monotonic clock stops meanwhile; :data:`HOST_SLEEP_MIN_S`).
    """

    state: str
    data_age_s: float | None
    recorded_s: float
    lost_s: float
    samples: int
    samples_lost: int
    frames_bad: int
    duplicates: int
    reordered: int
    battery_pct: int | None
    lead_off: list[str]
    floor_uv: list[float]
    twitches: int
    spasms: int
    cramps: int
    reconnects: int
    battery_low: bool = False
    late: int = 0
    asleep_s: float = 0.0

    @property
    def connected(self) -> bool:
        return self.state == "connected"


def _size_text(n_bytes: float) -> str:
    """A size in bytes as MB or GB (powers of 1000, as disk sizes are sold)."""
    if n_bytes >= 1e9:
        return f"{n_bytes / 1e9:.1f} GB"
    return f"{n_bytes / 1e6:.1f} MB" if n_bytes < 10e6 else f"{n_bytes / 1e6:.0f} MB"


class Recorder:
    """Frames in, recording and live events out (see the module docstring).

    Parameters
    ----------
    path : path
        The ``.kemg`` file to create (never overwritten).
    config : DetectorConfig, optional
    reorder_window_s : float
        How long (in signal, and in host time) to wait for a missing frame before its
        samples are recorded as lost, s.
    check_s : float
        Seconds of signal judged by :func:`check_signal` at the start.
    on_event : callable, optional
        Called with each event as the live detector confirms it.
    on_samples : callable, optional
        Called with ``(chunk_uv, first_sample)`` for every run of samples written (LSL).
    clock : callable
        Host clock, s (monotonic); injectable for tests.
    meta : dict, optional
        More metadata for the recording's header (the link URL, ...).
    numbered : bool
        When ``path`` exists as the file is created (another recording started in the same
        second), add -2, -3, ... to its name until one is free (``path`` then says which).
    pace : float
        How fast the sensor makes samples, in real time: 1 for a real sensor; a virtual one
        may stream faster (``math.inf``: as fast as it can). A counter jump beyond what this
        pace allows since the first data frame is the counter skipping (``_confirms``).
    expected_s : float, optional
        How long the recording is to last, s. When the file is created, a disk with less
        free space than that much signal needs is warned of.
    expected_samples : int, optional
        Or how many samples it is to hold (a virtual sensor's signal); when neither is
        given, a night of :data:`NIGHT_S`.
    """

    def __init__(self, path: str | Path, config: DetectorConfig | None = None, reorder_window_s: float = 0.5,
                 check_s: float = 3.0, on_event: Callable[[Event], None] | None = None,
                 on_samples: Callable[[np.ndarray, int], None] | None = None,
                 clock: Callable[[], float] = time.monotonic, meta: dict[str, Any] | None = None,
                 numbered: bool = False, pace: float = 1.0, expected_s: float | None = None,
                 expected_samples: int | None = None) -> None:
        self.path = Path(path)
        self.numbered = numbered
        self.config = config
        self.reorder_window_s = reorder_window_s
        if not pace > 0:  # (NaN too)
            raise ConfigError(f"pace={pace!r} must be above 0 (1 for a real sensor; math.inf: as fast as it can)")
        self.pace = pace
        self.expected_s = expected_s
        self.expected_samples = expected_samples
        self.check_s = check_s
        self.on_event = on_event
        self.on_samples = on_samples
        self.meta = dict(meta or {})
        self._clock = clock
        self.info: InfoFrame | None = None
        self.writer: RecordingWriter | None = None
        self.detector: StreamingDetector | None = None  # run on a thread of its own (_LiveDetection)
        self._detection: _LiveDetection | None = None
        self._result: DetectionResult | None = None
        self.deframer = SerialDeframer()  # for feed_bytes (serial bytes straight in)
        self.link_stats: DeframerStats | None = None  # a link's counters, when frames come decoded
        self.link: Any = None  # the link, for its state, battery and reconnects in status()
        self.next_sample = 0  # recording index of the next sample to write
        self._offset = 0  # recording index = device index + offset (changes with the session)
        self._joined = False  # a data frame has come (the first one anchors a sensor that was streaming)
        self._start_t = 0.0  # host time of the first data frame
        self._start_wall = 0.0  # and its wall-clock time (which, unlike the monotonic clock, goes on while the host sleeps)
        self._session: int | None = None
        self._pending: dict[int, tuple[DataFrame, float]] = {}  # by recording index: (frame, arrival)
        self._last = np.zeros(0)
        self._det_buf: list[np.ndarray] = []
        self._det_n = 0
        self._floor_buf: list[np.ndarray] = []
        self._floor_n = 0
        self.floor_uv: list[float] = []
        self.samples = 0
        self.samples_lost = 0
        self.duplicates = 0
        self.reordered = 0
        self.strays = 0  # frames far ahead that nothing confirmed, dropped (counted with the bad frames)
        self.late = 0  # frames, or their ends, that came after their place was a gap or taken (see RecordStatus)
        self._gap_starts: list[int] = []  # the gaps written, in order (recording indices): a late frame's place
        self._gap_ends: list[int] = []
        # the latest counter skip: (recording index = device index + this, for the frames from
        # before it; the recording index of the first frame after it)
        self._skip: tuple[int, int] | None = None
        # a jump ahead awaiting confirmation: (first, frame, frontier, host time, host time of the frame before)
        self._held: tuple[int, DataFrame, int, float, float | None] | None = None
        self.events: list[Event] = []
        self.signal_check: SignalCheck | None = None
        self._check_buf: list[np.ndarray] = []
        self._last_rx: float | None = None  # host time of the last data frame (the status line's data age)
        self._session_t: float | None = None  # host time of the last change of session
        self._last_rx_wall = self._session_wall = 0.0  # the wall-clock times of those two (which go on while the host sleeps)
        self.asleep: list[tuple[float, float, float]] = []  # each sleep of the computer: wall times around it, s asleep
        self._lead_off: list[str] = []
        self._battery_low = False  # the battery-low bit of the latest data frame written
        self.clocks: list[dict[str, Any]] = []  # one per session: start index and its ClockFit
        self.failed: KneeEmgError | None = None
        self.closed = False
        self.saved_again: Path | None = None  # where the recording was saved again after its file vanished
        self._read_fd: int | None = None  # the recording, opened for reading: its identity, and a way back to its data
        self._identity: tuple[int, int] | None = None  # (st_dev, st_ino) of the file created
        self._next_check = 0  # next_sample at which the file is checked next
        self._next_check_t = 0.0  # host time at which it is checked next
        self._clock_save_t = -np.inf  # host time at which the clock mapping is saved next (with the next data)

    # ---------------------------------------------------------------- input
    def feed_bytes(self, data: bytes) -> None:
        """Raw serial bytes (COBS frames); damaged frames are counted and skipped."""
        for frame in self.deframer.feed(data):
            self.feed_frame(frame)

    def feed_frame(self, frame: object) -> None:
        """One decoded frame. Data before the first info frame waits for it (is dropped); so is a data frame of no samples."""
        if self.failed is not None or self.closed:
            return
        if isinstance(frame, InfoFrame):
            self._on_info(frame)
            return
        if not isinstance(frame, DataFrame) or self.info is None:
            return
        if not frame.n_samples:  # nothing to write; held in place, it would shut out the frame with those samples
            return
        now, wall = self._clock(), time.time()
        before, before_wall = self._last_rx, self._last_rx_wall
        self._last_rx, self._last_rx_wall = now, wall
        if before is not None and (wall - before_wall) - (now - before) > HOST_SLEEP_MIN_S:
            self._host_slept(before_wall, wall, (wall - before_wall) - (now - before))
        if frame.counts.shape[1] != len(self.info.labels):
            self._changed(plural(frame.counts.shape[1], "channel"), f"{len(self.info.labels)}")
        fs = self.info.fs_hz
        if not self._joined:
            self._joined = True
            self._start_t, self._start_wall = now, time.time()
            if len(self.clocks) == 1 and frame.first_sample > self.reorder_window_s * fs:
                # the sensor was streaming already (another host started it, or this one before
                # a crash): the recording starts at the first frame, not at the session's start
                self._offset = -frame.first_sample
                self.clocks[-1]["device_first_sample"] = frame.first_sample
                log.info("the sensor was streaming already (at sample %d); recording from there", frame.first_sample)
        first = frame.first_sample + self._offset
        before_skip = self._skip is not None and frame.first_sample + self._skip[0] < self._skip[1]
        cut = False
        if before_skip:  # from before a counter skip, held up in the link: its place is in the gap the skip left
            first = frame.first_sample + self._skip[0]
            cut = first + frame.n_samples > self._skip[1]
            if cut:  # the frames after the skip stay where they are
                frame = replace(frame, counts=frame.counts[: self._skip[1] - first])
        if first + frame.n_samples <= self.next_sample and self._was_gap(first, first + frame.n_samples):
            self.late += 1  # its place was recorded as a gap before it came
            return
        if first + frame.n_samples <= self.next_sample or first in self._pending \
                or (self._held is not None and first == self._held[0]):
            self.duplicates += 1
            return
        self.late += cut
        window = self.reorder_window_s * self.info.fs_hz
        frontier = max([self.next_sample] + [f + fr.n_samples for f, (fr, _) in self._pending.items()])
        if first > frontier + window:
            first = self._confirms(first, frame, frontier, now, before)
            if first is None:
                return
        if self._held is not None and first + frame.n_samples > self._held[2] + window:
            self._drop_held()  # the old sequence went on past the window: the jump was a stray
        if self._pending and first < max(self._pending):
            self.reordered += 1
        if not before_skip:  # (the clock fit is the new timeline's, unwrapped frame to frame along its counter)
            self._note_clock(frame, now)
        self._pending[first] = (frame, now)
        self._guard(self._drain, False)
        self._watch_file(now)
        self._take_events()

    def _note_clock(self, frame: DataFrame, now: float) -> None:
        """Add a data frame taken into the recording to this session's clock fit."""
        clock = self.clocks[-1]
        # the device's 32-bit clock (from its boot, not the session's start) unwrapped against
        # this session's previous frame: where it should be now, by the samples in between
        last = clock.get("_last")
        expected = frame.timestamp_us if last is None else last[1] + (frame.first_sample - last[0]) / self.info.fs_hz * 1e6
        device_us = ClockFit.unwrap_us(frame.timestamp_us, expected)
        clock["_last"] = (frame.first_sample, device_us)
        clock["fit"].add(device_us * 1e-6, now)
        if now >= self._clock_save_t:  # the mapping so far, for a process that is killed
            self._clock_save_t = now + CLOCK_SAVE_S
            self.save_clock()

    def _confirms(self, first: int, frame: DataFrame, frontier: int, now: float, before: float | None) -> int | None:
        """A frame far ahead of ``frontier``: where it goes when it confirms the jump held
        (both go on, to be written after a gap); otherwise None, and it is held in place of
        the one before.

        A jump further than the time since the first data frame allows (the sensor cannot
        have made those samples yet: its counter skipped) goes on after the host time that
        passed since the frame before the jump (the monotonic clock's), as a new session
        does. The time since the first data frame is the longer of the host clock's and the
        wall clock's, so a host that slept through part of the night, with the sensor going
        on, keeps its real gap (the jump is then within what that time allows)."""
        held = self._held
        fs = self.info.fs_hz
        if held is None or abs(first - held[0]) > self.reorder_window_s * fs:
            if held is not None:
                self._drop_held()
            self._held = (first, frame, frontier, now, before)
            return None
        self._held = None
        held_first, held_frame, _, held_t, held_before = held
        elapsed = max(held_t - self._start_t, time.time() - self._start_wall)
        possible = ((elapsed * (1.0 + MAX_DRIFT) + LATENCY_S) * self.pace + self.reorder_window_s) * fs
        if held_first > possible and math.isfinite(self.pace):
            since = held_t - (held_before if held_before is not None else held_t)
            shift = held_first - (frontier + int(round(since * fs)))
            log.warning("the sensor's sample counter jumped %d samples ahead (%.0f s) after %.1f s; continuing after "
                        "the %.1f s that passed", held_first - frontier, (held_first - frontier) / fs, since, since)
            self._skip = (self._offset, held_first - shift)
            self._offset -= shift
            held_first, first = held_first - shift, first - shift
            self.clocks.append({"session_id": self._session, "first_sample": held_first, "fit": ClockFit()})
            self._clock_save_t = -np.inf  # saved with the new timeline's first data
        self._note_clock(held_frame, held_t)
        self._pending[held_first] = (held_frame, now)
        return first

    def _host_slept(self, from_wall: float, to_wall: float, slept_s: float) -> None:
        """The computer slept (for ``slept_s``, between two data frames at these wall times)."""
        self.asleep.append((from_wall, to_wall, slept_s))
        clock = [datetime.fromtimestamp(t).strftime("%H:%M:%S") for t in (from_wall, to_wall)]
        log.warning("this computer was asleep for about %s, between %s and %s: the sensor's signal of that time is a gap "
                    "in the recording (docs/recording.md, \"Keeping the computer awake\")", duration_text(slept_s), *clock)

    def _drop_held(self) -> None:
        first, frame, frontier, _, _ = self._held
        self._held = None
        self.strays += 1
        log.info("dropped a frame %d samples ahead that no other frame followed", first - frontier)

    def tick(self) -> None:
        """Call now and then (a few times a second): a hole whose frames are overdue in host
        time is declared lost even when no later frame arrives to push it out, and the
        recording file is checked even while no data comes."""
        if self.failed is not None or self.closed:
            return
        if self._pending:
            self._guard(self._drain, False)
        self._watch_file(self._clock())
        self._take_events()

    def _on_info(self, info: InfoFrame) -> None:
        if self.info is None:
            self.info = info
            self._session = info.session_id
            self._guard(self._start, info)
            return
        if info.device_id != self.info.device_id:  # another sensor took the port (a re-plugged USB name)
            self._stop(f"another sensor ({info.device_id:#010x}) answered in place of sensor {self.info.device_id:#010x}",
                       "record each sensor by its /dev/serial/by-id/ name (or its Bluetooth address)")
        if (info.fs_hz, len(info.labels)) != (self.info.fs_hz, len(self.info.labels)):
            self._changed(f"{info.fs_hz:g} Hz and {plural(len(info.labels), 'channel')}",
                          f"{self.info.fs_hz:g} Hz, {len(self.info.labels)}")
        if info.session_id != self._session:  # the counter restarted: continue after the host time that passed
            if self._held is not None:
                self._drop_held()
            self._guard(self._drain, True)
            # the host time since the last data, or since the last new session when that came
            # later: a second new session before any data (the sensor's power-on session, then
            # the one START begins) adds only the time since the first; by the monotonic clock
            # or, when longer, the wall clock (a host that slept meanwhile: the sensor went on)
            now, wall = self._clock(), time.time()
            marks = [(t, w) for t, w in ((self._last_rx, self._last_rx_wall), (self._session_t, self._session_wall))
                     if t is not None]
            since, since_wall = max(marks, default=(now, wall))
            gap = int(round(max(0.0, now - since, wall - since_wall) * info.fs_hz))
            if gap:
                self._guard(self._gap, gap)
            self._session_t, self._session_wall = now, wall
            self._offset = self.next_sample
            self._skip = None  # the counter restarted: a frame from before a skip can no longer be told apart
            self._session = info.session_id
            self.clocks.append({"session_id": info.session_id, "first_sample": self.next_sample, "fit": ClockFit()})
            self._clock_save_t = -np.inf  # saved with the new session's first data
            log.info("the sensor started session %d; continuing at sample %d", info.session_id, self.next_sample)
        self.info = info  # battery and the like are refreshed

    def _changed(self, now: str, was: str) -> None:
        """The sensor changed its rate or channels: write what came before, then stop with that reason."""
        self._stop(f"the sensor changed to {now} mid-recording (it was {was})", "start a new recording")

    def _stop(self, why: str, advice: str) -> None:
        """Write what came before, then stop: ``why``, what is saved, ``advice`` (a :class:`DeviceError`)."""
        self._guard(self._drain, True)
        self.failed = DeviceError(f"{why}; recording stopped, the first {self.next_sample / self.info.fs_hz:.0f} s are "
                                  f"saved in {self.path} -- {advice}")
        raise self.failed

    def _start(self, info: InfoFrame) -> None:
        if not MIN_FS_HZ <= info.fs_hz <= MAX_FS_HZ:  # another of the sensor's rates, set by SET_RATE
            raise DeviceError(f"the sensor samples at {info.fs_hz:g} Hz; kneeemg records at {MIN_FS_HZ:g}-{MAX_FS_HZ:g} Hz "
                              "-- switch the sensor off and on (it starts at 1000 Hz) and record again")
        stem, k = self.path.stem, 1
        while self.writer is None:
            meta = {"uv_per_count": info.uv_per_count, "device_id": info.device_id, "session_id": info.session_id,
                    "firmware": ".".join(map(str, info.firmware)), "clock": self.path.name + ".clock.json", **self.meta}
            try:
                self.writer = RecordingWriter(self.path, info.fs_hz, info.labels, start_time=datetime.now(timezone.utc),
                                              device=f"kneeemg sensor {info.device_id:#010x}", meta=meta)
            except RecordingExistsError:
                if not self.numbered:
                    raise
                k += 1
                self.path = self.path.with_name(f"{stem}-{k}{self.path.suffix}")
        self._check_space(info)
        # on a thread of its own already; with one, no pool thread of the detector's that the
        # process would wait for at its end (while compiling)
        self.detector = StreamingDetector(info.fs_hz, len(info.labels), config=self.config, labels=info.labels,
                                          threads=1)
        self._detection = _LiveDetection(self.detector)
        self._last = np.zeros(len(info.labels))
        self._lead_lost = 0  # samples lost before the first one, passed to the detector with it
        self.clocks.append({"session_id": info.session_id, "first_sample": 0, "fit": ClockFit(),
                            "host_wall_minus_monotonic_s": time.time() - time.monotonic()})
        try:
            self._read_fd = os.open(self.path, os.O_RDONLY)
            st = os.fstat(self._read_fd)
            self._identity = (st.st_dev, st.st_ino)
        except OSError as exc:  # a file that can be written but not read: it cannot be checked nor saved again
            log.warning("cannot open %s for reading (%s); if it is deleted while recording, that will go unnoticed",
                        self.path, exc.strerror or exc)
        self._next_check = int(FILE_CHECK_S * info.fs_hz)
        self._next_check_t = self._clock() + FILE_CHECK_S

    def _check_space(self, info: InfoFrame) -> None:
        """Warn when the disk of the recording has less free space than the recording needs."""
        seconds = (self.expected_s if self.expected_s is not None else self.expected_samples / info.fs_hz
                   if self.expected_samples is not None else NIGHT_S)
        need = seconds * info.fs_hz * len(info.labels) * KEMG_BYTES_PER_VALUE
        try:
            free = shutil.disk_usage(self.path.parent).free
        except OSError:
            return
        if free < need:
            fits_s = free / (info.fs_hz * len(info.labels) * KEMG_BYTES_PER_VALUE)
            whose = "of a night" if self.expected_s is None and self.expected_samples is None else "asked for"
            log.warning("the disk of %s has %s free, room for about %s of this signal (%s at %g Hz) instead of the %s %s: "
                        "free some space, or the recording stops when the disk is full (keeping what it has)",
                        self.path.parent, _size_text(free), duration_text(fits_s), plural(len(info.labels), "channel"),
                        info.fs_hz, duration_text(seconds), whose)

    # ---------------------------------------------------------------- the file under the recording
    def _watch_file(self, now: float) -> None:
        """Check, about once a second (of signal or of host time), that the file is still there."""
        if self._identity is None or (self.next_sample < self._next_check and now < self._next_check_t):
            return
        self._next_check = self.next_sample + int(FILE_CHECK_S * self.info.fs_hz)
        self._next_check_t = now + FILE_CHECK_S
        problem = self._file_problem()
        if problem is not None:
            self._guard(self._lost_file, problem)

    def _file_problem(self) -> str | None:
        """Why the path no longer leads to the file being written, or None if it does."""
        try:
            st = os.stat(self.path)
        except (FileNotFoundError, NotADirectoryError):
            return "the file was deleted while recording, or its folder was"
        except OSError as exc:  # e.g. a folder made unreadable: the open file is still written
            log.debug("cannot check %s (%s)", self.path, exc)
            return None
        if (st.st_dev, st.st_ino) != self._identity:
            return "another file took its place while recording"
        return None

    def _lost_file(self, problem: str) -> None:
        """The file vanished: save what it holds again, then stop with one line saying so."""
        self.writer.flush()  # the samples still buffered go to the (unlinked) file as well
        saved = self.writer.next_sample / self.info.fs_hz
        try:
            target = self._save_again()
        except OSError as exc:
            raise DeviceError(
                f"cannot write {self.path} ({problem}); recording stopped, and the {saved:.0f} s recorded could not be "
                f"saved again ({exc.strerror or exc}) -- keep the output folder in place until the recording ends"
            ) from None
        self.saved_again = target
        where = "again" if target == self.path else f"as {target}"
        raise DeviceError(
            f"cannot write {self.path} ({problem}); recording stopped, the first {saved:.0f} s are saved {where} "
            "-- keep the output folder in place until the recording ends"
        )

    def _save_again(self) -> Path:
        """Copy the open (possibly deleted) file to its path, or beside it if that is taken."""
        if self._read_fd is None:
            raise OSError(errno.EBADF, "the file was not open for reading")
        target, k = self.path, 1
        while os.path.lexists(target):
            k += 1
            target = self.path.with_name(f"{self.path.stem}-recovered{'' if k == 2 else f'-{k - 1}'}{self.path.suffix}")
        target.parent.mkdir(parents=True, exist_ok=True)
        os.lseek(self._read_fd, 0, os.SEEK_SET)
        with open(target, "xb") as out:
            while chunk := os.read(self._read_fd, 1 << 20):
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        return target

    def _guard(self, fn: Callable[..., None], *args: Any) -> None:
        """Run a step that writes; a write failure stops the recording with what is saved intact."""
        try:
            fn(*args)
        except KneeEmgError as exc:  # DeviceError (cannot write), InputError (cannot create the file)
            self.failed = exc
            raise

    def _drain(self, force: bool) -> None:
        """Write frames that are next in line; declare a gap when the wait is over."""
        fs = self.info.fs_hz
        window = self.reorder_window_s * fs
        now = self._clock()
        while self._pending:
            first = min(self._pending)
            if first > self.next_sample:
                ahead = max(f + fr.n_samples for f, (fr, _) in self._pending.items()) - self.next_sample
                oldest = min(t for _, t in self._pending.values())
                if not force and ahead < window and now - oldest < self.reorder_window_s:
                    return
                self._gap(first - self.next_sample)
            frame, _ = self._pending.pop(first)
            skip = self.next_sample - first  # overlap with what was written
            counts = frame.counts[skip:] if skip > 0 else frame.counts
            if len(counts):
                self._write(self._uv(counts), frame)

    def _was_gap(self, start: int, end: int) -> bool:
        """Whether a gap was written over some of the recording's samples ``start`` to ``end`` (not included)."""
        i = bisect.bisect_right(self._gap_starts, end - 1) - 1  # the last gap that starts before end
        return i >= 0 and self._gap_ends[i] > start

    def _uv(self, counts: np.ndarray) -> np.ndarray:
        """Counts in µV, as the file stores them (float32), so that the live detection sees
        exactly what a replay of the file does."""
        return (counts * self.info.uv_per_count).astype(np.float32).astype(np.float64)

    def _gap(self, n: int) -> None:
        self.writer.mark_gap(self.next_sample, n)
        self._gap_starts.append(self.next_sample)
        self._gap_ends.append(self.next_sample + n)
        self.samples_lost += n
        self._detection.mark_lost(self.next_sample, n)  # excluded as lost, never usable time
        if self.samples == 0:  # before the first sample: held at it, as the file's reader does, once it comes
            self._lead_lost += n
        else:
            self._detect_held(self._last, n)
        self.next_sample += n

    def _detect_held(self, x_uv: np.ndarray, n: int) -> None:
        """``n`` samples held at ``x_uv`` (one row) to the detector, a piece at a time."""
        for a in range(0, n, GAP_PIECE):
            self._detect(np.repeat(x_uv[None, :], min(GAP_PIECE, n - a), axis=0))

    def _write(self, x_uv: np.ndarray, frame: DataFrame) -> None:
        self.writer.write(x_uv, first_sample=self.next_sample)
        labels = self.info.labels
        self._lead_off = [labels[c] for c in frame.lead_off if c < len(labels)]
        self._battery_low = bool(frame.status & STATUS_BATTERY_LOW)
        if self.on_samples is not None:
            self.on_samples(x_uv, self.next_sample)
        if self._lead_lost:
            self._detect_held(x_uv[0], self._lead_lost)
            self._lead_lost = 0
        self._detect(x_uv)
        self.next_sample += len(x_uv)
        self.samples += len(x_uv)
        self._last = x_uv[-1]
        fs = self.info.fs_hz
        if self.signal_check is None:
            self._check_buf.append(x_uv)
            if sum(len(b) for b in self._check_buf) >= self.check_s * fs:
                x = np.concatenate(self._check_buf)
                self.signal_check = check_signal(x, fs, labels, self._lead_off, self.config)
                self.floor_uv = list(self.signal_check.floor_uv)
                self._check_buf = []
        self._floor_buf.append(x_uv)
        self._floor_n += len(x_uv)
        if self._floor_n >= FLOOR_EVERY_S * fs:
            self.floor_uv = [round(float(v), 2) for v in noise_floor_uv(np.concatenate(self._floor_buf), fs, self.config)]
            self._floor_buf, self._floor_n = [], 0

    def _detect(self, x_uv: np.ndarray, final: bool = False) -> None:
        if len(x_uv):
            self._det_buf.append(x_uv)
            self._det_n += len(x_uv)
        if not self._det_buf or (not final and self._det_n < DETECT_CHUNK_S * self.info.fs_hz):
            return
        x = np.concatenate(self._det_buf) if len(self._det_buf) > 1 else self._det_buf[0]
        self._det_buf, self._det_n = [], 0
        self._detection.process(x)

    def _take_events(self) -> None:
        """The events the detector has confirmed since the last call, in order (and its failure)."""
        if self._detection is None:
            return
        for ev in self._detection.events():
            self.events.append(ev)
            if self.on_event is not None:
                self.on_event(ev)
        if self._detection.error is not None:
            raise self._detection.error

    # ---------------------------------------------------------------- output
    def status(self) -> RecordStatus:
        """The live status snapshot."""
        fs = self.info.fs_hz if self.info else 1.0
        age = None if self._last_rx is None else self._clock() - self._last_rx
        link = self.link
        if link is not None:
            state = link.state.value
        else:
            state = "connected" if age is not None and age < 2.0 else "waiting"
        bad = self.deframer.stats.bad_frames + (self.link_stats.bad_frames if self.link_stats is not None else 0) \
            + self.strays
        battery = getattr(link, "battery_pct", None)
        if battery is None and self.info is not None:
            battery = self.info.battery_pct
        kinds = [e.kind for e in self.events]
        return RecordStatus(
            state=state, data_age_s=age, recorded_s=self.samples / fs, lost_s=self.samples_lost / fs,
            samples=self.samples, samples_lost=self.samples_lost, frames_bad=bad, duplicates=self.duplicates,
            reordered=self.reordered, battery_pct=battery, lead_off=list(self._lead_off), floor_uv=list(self.floor_uv),
            twitches=kinds.count("twitch"), spasms=kinds.count("spasm"), cramps=kinds.count("cramp"),
            reconnects=getattr(link, "reconnects", 0), battery_low=self._battery_low, late=self.late,
            asleep_s=sum(a[2] for a in self.asleep),
        )

    def clock_summary(self) -> dict[str, Any]:
        """The device-to-host clock mapping of every session (JSON-ready)."""
        sessions = []
        for c in self.clocks:
            entry = {k: v for k, v in c.items() if k != "fit" and not k.startswith("_")}
            entry["fit"] = c["fit"].summary()
            sessions.append(entry)
        return {"sessions": sessions, "fs_hz": self.info.fs_hz if self.info else None,
                "note": "host_monotonic_s = offset_s + slope * device_s; wall = host_monotonic_s + host_wall_minus_monotonic_s"}

    def save_clock(self) -> Path | None:
        """Write the clock mapping beside the recording (atomically)."""
        if self.writer is None:
            return None
        out = self.path.with_name(self.path.name + ".clock.json")
        tmp = out.with_name(out.name + ".tmp")
        try:
            tmp.write_text(json.dumps(self.clock_summary(), indent=1))
            os.replace(tmp, out)
        except OSError as exc:
            log.warning("cannot save the clock mapping %s: %s", out, exc)
            with contextlib.suppress(OSError):
                tmp.unlink()  # what a full disk left of it
            return None
        return out

    def close(self, wait_s: float | None = None) -> DetectionResult | None:
        """Write what is still waiting (gaps included), close the file, finish detection.

        The file is closed (and the clock mapping saved) before the detection is waited
        for; ``wait_s`` bounds that wait, s (None: until it is done). When the detector has
        not finished by then (its first call compiles its kernels), None is returned;
        :attr:`detecting` says so, and :meth:`detection_result` gives the result later.

        After a write failure the file is closed as it stands (what was written stays
        readable) and the failure is raised again.
        """
        if self.closed:
            return None
        self.closed = True
        try:
            self._close()
        finally:
            if self._read_fd is not None:
                os.close(self._read_fd)
                self._read_fd = None
        return self.detection_result(wait_s)

    @property
    def detecting(self) -> bool:
        """Closed, and the detector is still at work on the recording."""
        return self.closed and self.failed is None and self._detection is not None and not self._detection.done.is_set()

    def detection_result(self, wait_s: float | None = None) -> DetectionResult | None:
        """The detection over the whole recording, once closed: waits up to ``wait_s`` for
        the detector (None: until it is done); None if it has not finished by then, or if
        nothing was recorded. The events it adds at the end are passed to ``on_event``, once."""
        if not self.closed or self.failed is not None or self._detection is None:
            return None
        if self._result is None:
            if not self._detection.done.wait(wait_s):
                return None
            self._take_events()
            result = self._detection.result
            seen = {(e.onset_sample, e.channel, e.kind) for e in self.events}
            for ev in result.events:
                if (ev.onset_sample, ev.channel, ev.kind) not in seen:
                    self.events.append(ev)
                    if self.on_event is not None:
                        self.on_event(ev)
            result.lost_s = self.samples_lost / self.info.fs_hz
            self._result = result
        return self._result

    def _close(self) -> None:
        if self.writer is None:
            if self.failed is not None:
                raise self.failed
            return
        if self.failed is None:
            if self._held is not None:
                self._drop_held()
            try:
                self._drain(force=True)
                self.writer.close()
                problem = None if self._identity is None else self._file_problem()
                if problem is not None:
                    self._lost_file(problem)
            except DeviceError as exc:
                self.failed = exc
        if self.failed is not None:
            try:
                self.writer.close()
            except DeviceError:
                pass  # the same failure; the blocks written before it are intact
            if self.saved_again == self.path:
                self.save_clock()
            if self._detection is not None:
                self._detection.stop()
            raise self.failed
        self.save_clock()
        self._detect(np.zeros((0, len(self.info.labels))), final=True)
        self._detection.finish()
