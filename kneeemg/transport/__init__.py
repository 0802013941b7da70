"""Links to the sensor, chosen by URL (like pyserial's ``serial_for_url``).

| URL | link |
|---|---|
| ``/dev/ttyACM0``, ``serial:///dev/ttyACM0``, ``COM3`` | :class:`SerialLink` (pyserial) |
| ``loop://`` | :class:`SerialLink` on pyserial's software loopback (tests) |
| ``memory://`` | :class:`MemoryLink`, an in-memory byte pipe for fast unit tests |

A link moves bytes; :mod:`kneeemg.protocol` turns them into frames.
"""

from __future__ import annotations

import abc
import collections

from ..errors import DeviceError


class Link(abc.ABC):
    """A byte link to a sensor."""

    @abc.abstractmethod
    def read(self, timeout_s: float = 0.1) -> bytes:
        """Bytes that arrived (b"" when none within ``timeout_s``)."""

    @abc.abstractmethod
    def write(self, data: bytes) -> None:
        """Send bytes to the sensor (commands)."""

    def close(self) -> None:  # noqa: B027 - optional
        """Close the link."""

    def __enter__(self) -> "Link":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SerialLink(Link):
    """A serial port (USB CDC) through pyserial."""

    def __init__(self, url: str, baudrate: int = 921_600) -> None:
        import serial

        self.url = url
        try:
            self._port = serial.serial_for_url(url, baudrate=baudrate, timeout=0.1)
        except (serial.SerialException, ValueError) as exc:
            raise DeviceError(f"cannot open serial port {url} ({exc}); check the port name with `kneeemg devices`") from None

    def read(self, timeout_s: float = 0.1) -> bytes:
        import serial

        self._port.timeout = timeout_s
        try:
            first = self._port.read(1)
            return first + (self._port.read(self._port.in_waiting) if first and self._port.in_waiting else b"")
        except (serial.SerialException, OSError) as exc:
            raise DeviceError(f"the serial port {self.url} stopped working ({exc}); is the cable still in?") from None

    def write(self, data: bytes) -> None:
        self._port.write(data)

    def close(self) -> None:
        self._port.close()


class MemoryLink(Link):
    """An in-memory link: ``inject`` bytes as if the sensor sent them; ``sent`` holds writes."""

    def __init__(self) -> None:
        self._incoming: collections.deque[bytes] = collections.deque()
        self.sent: list[bytes] = []

    def inject(self, data: bytes) -> None:
        self._incoming.append(data)

    def read(self, timeout_s: float = 0.1) -> bytes:
        return self._incoming.popleft() if self._incoming else b""

    def write(self, data: bytes) -> None:
        self.sent.append(data)


def open_link(url: str) -> Link:
    """The link a URL names (see the module docstring)."""
    if url.startswith("memory://"):
        return MemoryLink()
    if url.startswith("serial://"):
        url = url[len("serial://") :]
    if url.startswith(("ble://", "bluetooth://")):
        raise DeviceError("this version records over USB serial; connect the sensor by cable and use --serial PORT")
    return SerialLink(url)


def list_serial_ports() -> list[tuple[str, str]]:
    """(device, description) of every serial port on this machine."""
    from serial.tools import list_ports

    return [(p.device, p.description or "") for p in list_ports.comports()]
