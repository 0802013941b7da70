"""The link abstraction shared by every transport: state, errors, and a frame queue.

A :class:`Link` is asynchronous (asyncio), the natural style for BLE (bleak) and equally
simple for serial: ``await link.open()``, ``async for frame in link.frames()``,
``await link.send(Command.START)``, ``await link.close()``. The serial backend reads its port
in a thread and hands the bytes to the event loop; :class:`~kneeemg.transport.blocking.BlockingLink`
wraps any link for code that is not asynchronous.
"""

from __future__ import annotations

import abc
import asyncio
import enum
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from ..errors import DeviceError
from ..protocol import Command, DeframerStats, Frame, encode_command

log = logging.getLogger(__name__)


class LinkError(DeviceError):
    """A transport problem (root of the errors below)."""


class SensorNotFoundError(LinkError):
    """No sensor at the given address or port (or none found by a scan)."""


class BluetoothUnavailableError(LinkError):
    """This machine has no usable Bluetooth adapter (or no access to it)."""


class LinkLostError(LinkError):
    """The link went away and could not be brought back."""


class NoDataError(LinkLostError):
    """The link is up but nothing arrived for the time allowed (the sensor stopped sending)."""


class LinkState(str, enum.Enum):
    """Where a link is in its life."""

    IDLE = "idle"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    CLOSED = "closed"


_END = object()  # queue marker: no more data


class Link(abc.ABC):
    """A link to one sensor that yields frames (see the module docstring).

    Attributes
    ----------
    url : str
        What the link was opened with.
    state : LinkState
    mtu : int or None
        ATT MTU negotiated (BLE only).
    battery_pct : int or None
        Latest battery level the link learned (BLE battery service), %.
    reconnects : int
        Connections re-established after a loss (BLE).
    stats : DeframerStats
        Frames decoded, frames that failed their check (CRC, length), garbage bytes.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.state = LinkState.IDLE
        self.mtu: int | None = None
        self.battery_pct: int | None = None
        self.reconnects = 0
        self.stats = DeframerStats()
        self.last_rx_monotonic: float | None = None
        self._queue: asyncio.Queue[Any] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._failure: BaseException | None = None

    # ---------------------------------------------------------------- for backends
    def _attach(self) -> None:
        """Bind the queue to the running loop (called at the start of :meth:`open`)."""
        self._loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue()

    def _put(self, item: Any) -> None:
        """Hand a unit of received data to the consumer (from the loop's thread)."""
        self.last_rx_monotonic = time.monotonic()
        if self._queue is not None:
            self._queue.put_nowait(item)

    def _put_threadsafe(self, item: Any) -> None:
        """Hand received data over from another thread."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._put, item)

    def _end(self, failure: BaseException | None = None) -> None:
        """No more data will come; ``failure`` is raised to the consumer if given."""
        if failure is not None:
            self._failure = failure
        if self._queue is not None:
            self._queue.put_nowait(_END)

    @abc.abstractmethod
    def _decode(self, unit: Any) -> list[Frame]:
        """Frames completed by one unit of received data (damaged ones counted in ``stats``)."""

    @abc.abstractmethod
    def _split_raw(self, unit: Any) -> list[bytes]:
        """The raw frames (unframed bytes, CRC included) in one unit of received data."""

    # ---------------------------------------------------------------- public API
    @abc.abstractmethod
    async def open(self) -> None:
        """Connect; raise :class:`LinkError` (or a subclass) if the sensor cannot be reached."""

    @abc.abstractmethod
    async def send_bytes(self, frame: bytes) -> None:
        """Send one encoded frame to the sensor (a command)."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Disconnect and release the port or adapter (idempotent)."""

    async def send(self, command: Command, argument: int = 0) -> None:
        """Send a command (START, STOP, REQUEST_INFO, SET_RATE)."""
        await self.send_bytes(encode_command(command, argument))

    async def _units(self, timeout_s: float | None) -> AsyncIterator[Any]:
        if self._queue is None:
            raise LinkError(f"the link {self.url} is not open; call open() first")
        while True:
            try:
                # asyncio.timeout, not wait_for: on Python 3.11, wait_for swallows a cancellation
                # that arrives when the queue already holds an item, and the reader never stops
                async with asyncio.timeout(timeout_s):
                    item = await self._queue.get()
            except TimeoutError:
                if self.state is LinkState.RECONNECTING:
                    continue  # the link is working on it (and gives up by its own rule)
                raise NoDataError(f"no data from {self.url} for {timeout_s:g} s; is the sensor on and in range?") from None
            if item is _END:
                self._queue.put_nowait(_END)  # later iterations end at once, too
                if self._failure is not None:
                    raise self._failure
                return
            yield item

    async def frames(self, timeout_s: float | None = None) -> AsyncIterator[Frame]:
        """Decoded frames as they arrive (a frame that fails its CRC is counted, not yielded).

        Ends when the link is closed; raises :class:`LinkLostError` when the sensor is gone
        for good or when nothing arrives for ``timeout_s`` seconds while connected.
        """
        async for unit in self._units(timeout_s):
            for frame in self._decode(unit):
                yield frame

    async def raw_frames(self, timeout_s: float | None = None) -> AsyncIterator[bytes]:
        """Raw frames (unframed bytes, CRC included, not checked), as they arrive."""
        async for unit in self._units(timeout_s):
            for raw in self._split_raw(unit):
                yield raw

    async def __aenter__(self) -> "Link":
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url} {self.state.value}>"

