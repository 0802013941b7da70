"""A Python sensor on a pseudo-terminal: the serial path without hardware or a C compiler.

:class:`PtySensor` opens a pty pair and, on a thread, behaves like the sensor on USB serial:
it sends an info frame at once, answers REQUEST_INFO, streams COBS-framed data frames after
START (paced by ``speed``), stops on STOP, and closes its end when the signal runs out (the
reader then sees the port go away, as when a cable is pulled). The host opens
:attr:`PtySensor.port` like any serial port. ``firmware/build/kneeemg-sensor-sim`` is the
same thing built from the firmware's C core.
"""

from __future__ import annotations

import logging
import os
import select
import threading
import time
import tty

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
    """

    def __init__(self, counts: np.ndarray, *, fs_hz: float = 1000.0, uv_per_count: float = 0.0715,
                 labels: tuple[str, ...] | None = None, speed: float = 1.0, samples_per_frame: int = 37) -> None:
        self.counts = np.asarray(counts, dtype=np.int32)
        n_ch = self.counts.shape[1]
        self.info = InfoFrame(float(fs_hz), float(uv_per_count),
                              tuple(labels) if labels else (("left", "right") if n_ch == 2 else tuple(f"ch{i}" for i in range(n_ch))),
                              0x4B454D02, (1, 0, 0))
        self.speed = speed
        self.spf = samples_per_frame
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # bytes pass unchanged (no echo, no newline translation)
        self.port = os.ttyname(self._slave)  # the slave stays open until stop(), so early writes are kept
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kneeemg-pty-sensor", daemon=True)
        self.sent_samples = 0

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
                ready, _, _ = select.select([self._master], [], [], 0.0 if streaming else 0.05)
                if ready:
                    try:
                        data = os.read(self._master, 4096)
                    except OSError:
                        data = b""
                    for frame in deframer.feed(data):
                        if not isinstance(frame, CommandFrame):
                            continue
                        if frame.command == Command.START and not streaming:
                            streaming, t0 = True, time.monotonic() - index / fs / max(self.speed, 1e-9)
                        elif frame.command == Command.STOP:
                            streaming = False
                        elif frame.command == Command.REQUEST_INFO:
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
            os.close(self._master)
