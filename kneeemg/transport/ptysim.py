"""A Python sensor on a pseudo-terminal: the serial path without hardware or a C compiler.

:class:`PtySensor` opens a pty pair and, on a thread, behaves like the sensor on USB serial:
it sends an info frame at once, answers REQUEST_INFO, streams COBS-framed data frames after
START (paced by ``speed``), stops on STOP, and closes its end when the signal runs out (the
reader then sees the port go away, as when a cable is pulled). The host opens
:attr:`PtySensor.port` like any serial port. ``firmware/build/kneeemg-sensor-sim`` is the
same thing built from the firmware's C core.

:meth:`PtySensor.unplug` pulls the cable and plugs it in again: the pty is closed (the port
vanishes) and, after a pause, a new one is opened; given ``link``, a symlink that stands
for a stable name such as ``/dev/serial/by-id/...`` is removed meanwhile and then points at
the new pty. On its battery the sensor keeps counting samples while unplugged, and once
plugged in it sends nothing until the host speaks (a USB sensor's writes go nowhere while
no host has its port open): those samples are never sent, and :attr:`PtySensor.skipped`
says which. With ``restart`` it lost power instead: a new session, counting from 0, that
waits for START.
"""

from __future__ import annotations

import array
import dataclasses
import fcntl
import logging
import math
import os
import select
import termios
import threading
import time
import tty
from pathlib import Path

import numpy as np

from ..protocol import Command, CommandFrame, DataFrame, InfoFrame, SerialDeframer, serial_encode

log = logging.getLogger(__name__)


class PtySensor:
    """A simulated sensor on a pty (see the module docstring).

    Parameters
    ----------
    counts : ndarray, shape (n_samples, n_channels), int
        ADC counts to stream.
    fs_hz, uv_per_count : float
    labels : tuple of str, optional
    speed : float
        Pace relative to real time (0: as fast as the reader takes it).
    samples_per_frame : int
    link : path, optional
        A symlink to make to the pty, as udev makes ``/dev/serial/by-id/...``; :attr:`port`
        is then this name, which stays the same across :meth:`unplug`.

    Attributes
    ----------
    port : str
        The name the host opens.
    skipped : list of (int, int)
        ``(first_sample, n_samples)`` of every run of samples made while unplugged and never sent.
    starts : int
        START commands received.
    commands : list of CommandFrame
        Every command received, in order.

    Like the firmware, the sensor takes SET_RATE only between sessions (while not
    streaming), answers every SET_RATE with its info frame (the rate in force), and is back
    at its first rate after it lost power (``unplug(restart=True)``).
    """

    def __init__(self, counts: np.ndarray, *, fs_hz: float = 1000.0, uv_per_count: float = 0.0715,
                 labels: tuple[str, ...] | None = None, speed: float = 1.0, samples_per_frame: int = 37,
                 link: str | Path | None = None) -> None:
        self.counts = np.asarray(counts, dtype=np.int32)
        n_ch = self.counts.shape[1]
        self.info = InfoFrame(float(fs_hz), float(uv_per_count),
                              tuple(labels) if labels else (("left", "right") if n_ch == 2 else tuple(f"ch{i}" for i in range(n_ch))),
                              0x4B454D02, (1, 0, 0))
        self.speed = speed
        self.spf = samples_per_frame
        self.link = None if link is None else Path(link)
        self._plug_in()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kneeemg-pty-sensor", daemon=True)
        self.sent_samples = 0
        self.skipped: list[tuple[int, int]] = []
        self.starts = 0
        self.commands: list[CommandFrame] = []
        self._first_fs_hz = float(fs_hz)
        self._unplug: tuple[int, float, bool, bool] | None = None  # (at_sample, for_s, restart, torn)

    def _plug_in(self) -> None:
        """A new pty pair (and the link pointed at it)."""
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # bytes pass unchanged (no echo, no newline translation)
        name = os.ttyname(self._slave)  # the slave stays open until stop(), so early writes are kept
        if self.link is not None:
            tmp = self.link.with_name(self.link.name + ".new")
            tmp.unlink(missing_ok=True)
            os.symlink(name, tmp)
            os.replace(tmp, self.link)
        self.port = name if self.link is None else str(self.link)

    def unplug(self, for_s: float = math.inf, *, at_sample: int = 0, restart: bool = False, torn: bool = False) -> None:
        """Pull the cable once the stream reaches ``at_sample``, and plug it in again ``for_s``
        seconds later (never, when infinite).

        Before the cable is pulled, the sensor waits until the host has read every byte sent
        (so that what the host misses is exactly :attr:`skipped`). ``restart``: the sensor lost
        power (a new session that waits for START). ``torn``: the first half of a frame goes
        out just before the cable is pulled.
        """
        self._unplug = (at_sample, for_s, restart, torn)

    def _drain(self, timeout_s: float = 10.0, quiet_s: float = 0.1) -> None:
        """Wait until the host has read every byte sent (none unread for ``quiet_s``: the
        kernel hands bytes on to the reader's side with a delay), or ``timeout_s`` passed."""
        buf = array.array("i", [0])
        deadline, drained_since = time.monotonic() + timeout_s, None
        while time.monotonic() < deadline and not self._stop.is_set():
            fcntl.ioctl(self._slave, termios.FIONREAD, buf)
            if buf[0]:
                drained_since = None
            elif drained_since is None:
                drained_since = time.monotonic()
            elif time.monotonic() - drained_since > quiet_s:
                return
            time.sleep(0.01)

    def _pull(self, index: int, streaming: bool, t0: float) -> tuple[int, bool, bool]:
        """Unplug and, after the pause, plug in again; (index, streaming, plugged in)."""
        _, for_s, restart, torn = self._unplug
        self._unplug = None
        self._drain()
        if torn:
            n = min(self.spf, len(self.counts) - index)
            frame = serial_encode(DataFrame(index, 0, self.counts[index : index + n]))
            self._send(frame[: len(frame) // 2])
            self._drain()
        os.close(self._master)
        os.close(self._slave)
        if self.link is not None:
            self.link.unlink(missing_ok=True)
        log.info("unplugged at sample %d", index)
        if not math.isfinite(for_s) or self._stop.wait(for_s):
            self._master = self._slave = None
            return index, streaming, False
        self._plug_in()
        if restart:  # (back at its first rate)
            self.info = dataclasses.replace(self.info, session_id=self.info.session_id + 1, fs_hz=self._first_fs_hz)
            self._send(serial_encode(self.info))
            return 0, False, True
        self._await_host()
        made = int((time.monotonic() - t0) * self.info.fs_hz * self.speed) if streaming and self.speed > 0 else index
        made = min(made, len(self.counts))
        if made > index:
            self.skipped.append((index, made - index))
        return made, streaming, True

    def _await_host(self) -> None:
        """Wait (counting samples, sending nothing) until the host writes to the port."""
        while not self._stop.is_set():
            ready, _, _ = select.select([self._master], [], [], 0.05)
            if ready:
                return

    def start(self) -> "PtySensor":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5.0)
        if self._slave is not None:
            os.close(self._slave)
            self._slave = None
        if self.link is not None:
            self.link.unlink(missing_ok=True)

    def __enter__(self) -> "PtySensor":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _send(self, data: bytes) -> None:
        view = memoryview(data)
        while view and not self._stop.is_set():
            _, ready, _ = select.select([], [self._master], [], 0.1)
            if ready:
                view = view[os.write(self._master, view):]

    def _run(self) -> None:
        deframer = SerialDeframer()
        streaming = False
        index, t0 = 0, 0.0
        fs = self.info.fs_hz
        try:
            self._send(serial_encode(self.info))
            while not self._stop.is_set() and index < len(self.counts):
                if self._unplug is not None and index >= self._unplug[0]:
                    index, streaming, plugged = self._pull(index, streaming, t0)
                    if not plugged:
                        return
                    deframer = SerialDeframer()
                    fs = self.info.fs_hz  # (a sensor that lost power is back at its first rate)
                ready, _, _ = select.select([self._master], [], [], 0.0 if streaming else 0.05)
                if ready:
                    try:
                        data = os.read(self._master, 4096)
                    except OSError:
                        data = b""
                    for frame in deframer.feed(data):
                        if not isinstance(frame, CommandFrame):
                            continue
                        self.commands.append(frame)
                        if frame.command == Command.START:
                            self.starts += 1
                        if frame.command == Command.START and not streaming:
                            streaming, t0 = True, time.monotonic() - index / fs / max(self.speed, 1e-9)
                        elif frame.command == Command.STOP:
                            streaming = False
                        elif frame.command == Command.REQUEST_INFO:
                            self._send(serial_encode(self.info))
                        elif frame.command == Command.SET_RATE:
                            if not streaming and frame.argument > 0:  # a session has one rate
                                self.info = dataclasses.replace(self.info, fs_hz=float(frame.argument))
                                fs = self.info.fs_hz
                            self._send(serial_encode(self.info))
                if not streaming:
                    continue
                due = len(self.counts) if self.speed <= 0 else int((time.monotonic() - t0) * fs * self.speed)
                out = bytearray()
                while index < min(due, len(self.counts)):
                    n = min(self.spf, len(self.counts) - index)
                    out += serial_encode(DataFrame(index, int(index / fs * 1e6) & 0xFFFFFFFF, self.counts[index : index + n]))
                    index += n
                    if len(out) > 8192:
                        break
                if out:
                    self._send(bytes(out))
                    self.sent_samples = index
                else:
                    time.sleep(min(0.01, self.spf / fs / max(self.speed, 1e-9)))
            time.sleep(0.05)  # let the reader take the last bytes before the port goes away
        finally:
            if self._master is not None:
                os.close(self._master)
