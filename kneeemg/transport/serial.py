"""Serial (USB CDC) links through pyserial: ``serial:///dev/ttyACM0``, ``/dev/ttyACM0``, ``COM3``, ``loop://``.

A thread reads the port (pyserial is blocking) and hands each chunk of bytes to the event
loop; the frames are COBS-decoded there (:class:`~kneeemg.protocol.SerialDeframer`), so a
reader resynchronises after garbage or a broken frame.

When the port fails while open (the cable pulled, the USB device re-enumerated), the link
closes it, goes to :attr:`~.base.LinkState.RECONNECTING` and opens the same port name
again with exponential backoff, as a BLE link does (``backoff_s``, ``backoff_max_s``,
``give_up_s``). On the port that comes back it asks for the info frame (REQUEST_INFO; the
sensor announces itself only when it starts) and sends START again if the host had sent
it, after the rate the host last set (SET_RATE, which a sensor that lost power has
forgotten). Bytes are tagged with their connection, so half a frame from the old connection never
joins the new one. The sensor's sample counter keeps running while unplugged (on its
battery), so the recorder sees the missed samples as an exact gap; a sensor that restarted
sends a new session, and the recording goes on after the host time that passed.

The port name must stay the same across a re-plug: on Linux, ``/dev/ttyACM0`` may come back
as ``/dev/ttyACM1`` while a ``/dev/serial/by-id/...`` link follows the device. Ports named by
a pyserial URL (``loop://``, ``socket://``, ...) are not reopened: a failure ends the link.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import sys
import threading
from pathlib import Path
from typing import Any

from ..protocol import Command, Frame, ProtocolError, SerialDeframer, cobs_decode, cobs_encode, encode_command
from .base import BACKOFF_S, Link, LinkError, LinkLostError, LinkState, SensorNotFoundError

log = logging.getLogger(__name__)

BAUDRATE = 921_600  # irrelevant over USB CDC, used by the firmware's UART fallback
READ_TIMEOUT_S = 0.05
WRITE_TIMEOUT_S = 2.0
#: Longest wait between attempts to open a port again, s: shorter than over BLE (30 s), since
#: trying to open a port that is not there costs nothing, and a re-plugged cable should
#: bring the recording back within seconds.
SERIAL_BACKOFF_MAX_S = 2.0
try:  # pyserial sets a port up with termios calls, which raise termios.error (no OSError) when the
    # device goes away meanwhile, as a connector that bounces while it is plugged in makes it do
    from termios import error as _TermiosError
except ImportError:  # Windows
    _TermiosError = OSError
STABLE_NAME_HINT = ("record from the sensor's name under /dev/serial/by-id/, which stays the same when it is plugged in "
                    "again (a name such as /dev/ttyACM0 may change)")


class SerialLink(Link):
    """A sensor on a serial port.

    Parameters
    ----------
    url : str
        A port name (``/dev/ttyACM0``, ``COM3``), ``serial://`` + port name, or any URL
        pyserial's ``serial_for_url`` understands (``loop://`` echoes what is written).
    baudrate : int
    backoff_s, backoff_max_s : float
        First wait before an attempt to open the port again after it failed, and its cap, s.
    give_up_s : float or None
        Stop trying after this long without the port, s (None: keep trying).

    Attributes
    ----------
    reopens : bool
        Whether a port that fails is opened again (a device name: yes; a pyserial URL: no).
    """

    def __init__(self, url: str, baudrate: int = BAUDRATE, *, backoff_s: float = BACKOFF_S,
                 backoff_max_s: float = SERIAL_BACKOFF_MAX_S, give_up_s: float | None = None) -> None:
        super().__init__(url)
        self.port_name = url[len("serial://") :] if url.startswith("serial://") else url
        self.baudrate = baudrate
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s
        self.give_up_s = give_up_s
        self.reopens = "://" not in self.port_name
        self._port: Any = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()  # the current connection's reader stops
        self._generation = 0  # connection number; received bytes carry it
        self._decoder_generation = 0
        self._deframer = SerialDeframer()
        self.stats = self._deframer.stats
        self._raw_buf = bytearray()

    async def open(self) -> None:
        self._attach()
        self._closing = False
        self.state = LinkState.CONNECTING
        try:
            self._connect()
        except LinkError:
            self.state = LinkState.CLOSED
            raise

    def _connect(self, *commands: bytes) -> None:
        """Open the port, write ``commands`` (encoded) to it, and start its reader thread."""
        import serial

        try:
            # exclusive: a second reader would take half the bytes of each (POSIX: flock; Windows: always)
            port = serial.serial_for_url(self.port_name, baudrate=self.baudrate, timeout=READ_TIMEOUT_S,
                                         write_timeout=WRITE_TIMEOUT_S, exclusive=True)
        except (serial.SerialException, ValueError, OSError, _TermiosError) as exc:
            if getattr(exc, "errno", None) in (errno.EAGAIN, errno.EWOULDBLOCK):  # the lock is held
                raise LinkError(f"cannot open serial port {self.port_name}: it is in use by another program (another "
                                "kneeemg record?); end that program, or choose another port") from None
            raise SensorNotFoundError(
                f"cannot open serial port {self.port_name} ({exc}); check the port name with `kneeemg devices`") from None
        try:
            for command in commands:
                port.write(cobs_encode(command) + b"\0")
        except (serial.SerialException, OSError) as exc:
            with contextlib.suppress(OSError):
                port.close()
            raise LinkLostError(f"cannot write to {self.port_name} ({exc})") from None
        self._generation += 1
        self._port, self._stop = port, threading.Event()
        self._thread = threading.Thread(target=self._reader, args=(port, self._stop, self._generation),
                                        name=f"kneeemg-serial {self.port_name}", daemon=True)
        self._thread.start()
        self.state = LinkState.CONNECTED

    async def _connect_again(self) -> None:
        self._connect(encode_command(Command.REQUEST_INFO), *self._again())
        log.info("serial port %s is back (connection %d)", self.port_name, self._generation)

    def _reader(self, port: Any, stop: threading.Event, generation: int) -> None:
        import serial

        while not stop.is_set():
            try:
                data = port.read(max(1, port.in_waiting))
            except (serial.SerialException, OSError, TypeError, AttributeError) as exc:
                if not stop.is_set():
                    log.info("serial port %s failed: %s", self.port_name, exc)
                    self._call_threadsafe(self._failed, generation, exc)
                return
            if data:
                self._call_threadsafe(self._received, generation, bytes(data))

    def _call_threadsafe(self, fn: Any, *args: Any) -> None:
        """Run ``fn(*args)`` in the loop's thread (from the reader thread); nothing once the loop is closed."""
        if self._loop is not None and not self._loop.is_closed():
            try:
                self._loop.call_soon_threadsafe(fn, *args)
            except RuntimeError:  # the loop closed after the check: no one is left to take the bytes
                pass

    def _received(self, generation: int, data: bytes) -> None:
        if generation == self._generation:  # a last chunk of a connection already replaced is dropped
            self._put((generation, data))

    def _failed(self, generation: int, exc: BaseException) -> None:
        """The port of connection ``generation`` failed (in the loop's thread): reconnect, or end."""
        if generation != self._generation or self._closing or self.state is not LinkState.CONNECTED:
            return
        self._drop()
        if not self.reopens:
            self._give_up(LinkLostError(f"the serial port {self.port_name} stopped working ({exc}); is the cable still in?"))
            return
        stable = not sys.platform.startswith("linux") or self.port_name.startswith("/dev/serial/")
        self._lost_connection(str(exc), "" if stable else STABLE_NAME_HINT)

    def _drop(self) -> None:
        """Stop the reader thread and close the port (idempotent)."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2.0)
        port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except OSError:
                pass  # closing a port whose device vanished

    def _gone(self, why: str, waited_s: float, last: LinkError) -> LinkLostError:
        return LinkLostError(f"the serial port {self.port_name} stopped working ({why}) and did not come back in "
                             f"{waited_s:.1f} s of trying; is the cable still in? (last try: {last})")

    async def send_bytes(self, frame: bytes) -> None:
        import serial

        self._note_command(frame)  # START, STOP and SET_RATE are sent again after a reconnect
        port = self._port
        if port is None or self.state is not LinkState.CONNECTED:
            if self.state is LinkState.RECONNECTING:
                return  # sent again (SET_RATE, START) or moot (REQUEST_INFO) once the port is back
            raise LinkLostError(f"the serial port {self.port_name} is not open")
        try:
            port.write(cobs_encode(frame) + b"\0")
        except (serial.SerialException, OSError) as exc:
            if not self.reopens:
                raise LinkLostError(f"cannot write to {self.port_name} ({exc}); is the cable still in?") from None
            self._failed(self._generation, exc)

    async def close(self) -> None:
        if self.state is LinkState.CLOSED and self._port is None:
            return
        self._closing = True
        await self._stop_reconnecting()
        self._drop()
        self.state = LinkState.CLOSED
        self._end()

    def _decode(self, unit: Any) -> list[Frame]:
        generation, data = unit
        if generation != self._decoder_generation:  # a new connection: an unfinished frame never continues across it
            self._deframer = SerialDeframer(stats=self.stats)
            self._decoder_generation = generation
        return self._deframer.feed(data)

    def _split_raw(self, unit: Any) -> list[bytes]:
        generation, data = unit
        if generation != self._decoder_generation:
            self._raw_buf = bytearray()
            self._decoder_generation = generation
        self._raw_buf += data
        parts = self._raw_buf.split(b"\0")
        self._raw_buf = parts.pop()
        out = []
        for part in parts:
            if part:
                try:
                    out.append(cobs_decode(part))
                except ProtocolError:
                    self.stats.bad_frames += 1
        return out


#: Where Linux (udev) keeps a name for each USB serial device that stays the same across re-plugs.
BY_ID_DIR = "/dev/serial/by-id"


def stable_names(by_id_dir: str | os.PathLike[str] = BY_ID_DIR) -> dict[str, str]:
    """The stable name (``/dev/serial/by-id/...``) of each serial device that has one, by the
    device it leads to now (``/dev/ttyACM0``); empty where there is no such folder."""
    names: dict[str, str] = {}
    try:
        links = sorted(Path(by_id_dir).iterdir())
    except OSError:
        return names
    for link in links:
        try:
            names.setdefault(os.path.realpath(link), str(link))
        except OSError:
            continue
    return names


def list_serial_ports(by_id_dir: str | os.PathLike[str] = BY_ID_DIR) -> list[tuple[str, str]]:
    """(name, description) of every serial port on this machine. The name is the port's stable
    ``/dev/serial/by-id/`` name where it has one (a recording survives a re-plug by it), and
    the description then ends with the device it leads to now ("..., now /dev/ttyACM0")."""
    from serial.tools import list_ports

    stable = stable_names(by_id_dir)
    out = []
    for p in sorted(list_ports.comports(), key=lambda p: p.device):
        name = stable.get(os.path.realpath(p.device))
        desc = p.description or ""
        out.append((name, f"{desc}, now {p.device}" if desc else f"now {p.device}") if name else (p.device, desc))
    return out
