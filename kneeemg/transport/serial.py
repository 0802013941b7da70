"""Serial (USB CDC) links through pyserial: ``serial:///dev/ttyACM0``, ``/dev/ttyACM0``, ``COM3``, ``loop://``.

A thread reads the port (pyserial is blocking) and hands each chunk of bytes to the event
loop; the frames are COBS-decoded there (:class:`~kneeemg.protocol.SerialDeframer`), so a
reader resynchronises after garbage or a broken frame.
"""

from __future__ import annotations

import errno
import logging
import threading
from typing import Any

from ..protocol import Frame, ProtocolError, SerialDeframer, cobs_decode, cobs_encode
from .base import Link, LinkError, LinkLostError, LinkState, SensorNotFoundError

log = logging.getLogger(__name__)

BAUDRATE = 921_600  # irrelevant over USB CDC, used by the firmware's UART fallback
READ_TIMEOUT_S = 0.05


class SerialLink(Link):
    """A sensor on a serial port.

    Parameters
    ----------
    url : str
        A port name (``/dev/ttyACM0``, ``COM3``), ``serial://`` + port name, or any URL
        pyserial's ``serial_for_url`` understands (``loop://`` echoes what is written).
    baudrate : int
    """

    def __init__(self, url: str, baudrate: int = BAUDRATE) -> None:
        super().__init__(url)
        self.port_name = url[len("serial://") :] if url.startswith("serial://") else url
        self.baudrate = baudrate
        self._port: Any = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._deframer = SerialDeframer()
        self.stats = self._deframer.stats
        self._raw_buf = bytearray()

    async def open(self) -> None:
        import serial

        self._attach()
        self.state = LinkState.CONNECTING
        try:
            # exclusive: a second reader would take half the bytes of each (POSIX: flock; Windows: always)
            self._port = serial.serial_for_url(self.port_name, baudrate=self.baudrate, timeout=READ_TIMEOUT_S,
                                               write_timeout=2.0, exclusive=True)
        except (serial.SerialException, ValueError, OSError) as exc:
            self.state = LinkState.CLOSED
            if getattr(exc, "errno", None) in (errno.EAGAIN, errno.EWOULDBLOCK):  # the lock is held
                raise LinkError(f"cannot open serial port {self.port_name}: it is in use by another program (another "
                                "kneeemg record?); end that program, or choose another port") from None
            raise SensorNotFoundError(
                f"cannot open serial port {self.port_name} ({exc}); check the port name with `kneeemg devices`") from None
        self.state = LinkState.CONNECTED
        self._thread = threading.Thread(target=self._reader, name=f"kneeemg-serial {self.port_name}", daemon=True)
        self._thread.start()

    def _reader(self) -> None:
        import serial

        port = self._port
        while not self._stop.is_set():
            try:
                data = port.read(max(1, port.in_waiting))
            except (serial.SerialException, OSError, TypeError, AttributeError) as exc:
                if not self._stop.is_set():
                    log.info("serial port %s failed: %s", self.port_name, exc)
                    err = LinkLostError(f"the serial port {self.port_name} stopped working ({exc}); is the cable still in?")
                    if self._loop is not None and not self._loop.is_closed():
                        self._loop.call_soon_threadsafe(self._lost, err)
                return
            if data:
                self._put_threadsafe(bytes(data))

    def _lost(self, err: LinkLostError) -> None:
        self.state = LinkState.CLOSED
        self._end(err)

    async def send_bytes(self, frame: bytes) -> None:
        import serial

        if self._port is None or self.state is not LinkState.CONNECTED:
            raise LinkLostError(f"the serial port {self.port_name} is not open")
        try:
            self._port.write(cobs_encode(frame) + b"\0")
        except (serial.SerialException, OSError) as exc:
            raise LinkLostError(f"cannot write to {self.port_name} ({exc}); is the cable still in?") from None

    async def close(self) -> None:
        if self.state is LinkState.CLOSED and self._port is None:
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        if self._port is not None:
            try:
                self._port.close()
            except OSError:
                pass  # closing a port whose device vanished
            self._port = None
        self.state = LinkState.CLOSED
        self._end()

    def _decode(self, unit: Any) -> list[Frame]:
        return self._deframer.feed(unit)

    def _split_raw(self, unit: Any) -> list[bytes]:
        self._raw_buf += unit
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


def list_serial_ports() -> list[tuple[str, str]]:
    """(device, description) of every serial port on this machine."""
    from serial.tools import list_ports

    return [(p.device, p.description or "") for p in sorted(list_ports.comports(), key=lambda p: p.device)]
