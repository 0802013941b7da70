"""The link abstraction shared by every transport: state, errors, and a frame queue.

A :class:`Link` is asynchronous (asyncio), the natural style for BLE (bleak) and equally
simple for serial: ``await link.open()``, ``async for frame in link.frames()``,
``await link.send(Command.START)``, ``await link.close()``. The serial backend reads its port
in a thread and hands the bytes to the event loop; :class:`~kneeemg.transport.blocking.BlockingLink`
wraps any link for code that is not asynchronous.

A link that loses its sensor while open can reconnect by itself (BLE, and serial device
ports): it goes to :attr:`LinkState.RECONNECTING` and tries again with exponential backoff
(:meth:`Link._reconnect`: ``backoff_s`` doubling to ``backoff_max_s`` between attempts, giving
up after ``give_up_s`` without a connection, or never when that is None). The host's last
START or STOP and its last SET_RATE are remembered (:meth:`Link._note_command`), also when
sent while the link reconnects, and once the sensor is back they are sent again
(:meth:`Link._again`): SET_RATE, which a sensor that lost power has forgotten (it takes it
only between sessions, so a sensor still streaming keeps its rate), then START if the host
had started it. REQUEST_INFO is moot then: a link asks for the info itself as it connects.
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
from ..protocol import Command, DeframerStats, Frame, ProtocolError, decode_frame, encode_command

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

BACKOFF_S = 0.5  # first wait before a reconnect attempt, s
BACKOFF_MAX_S = 30.0  # longest wait between reconnect attempts, s


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
        Connections re-established after a loss (BLE, serial device ports).
    backoff_s, backoff_max_s : float
        First wait before a reconnect attempt, and its cap, s.
    give_up_s : float or None
        Stop trying to reconnect after this long without a connection, s (None: keep trying).
    stats : DeframerStats
        Frames decoded, frames that failed their check (CRC, length), garbage bytes.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.state = LinkState.IDLE
        self.mtu: int | None = None
        self.battery_pct: int | None = None
        self.reconnects = 0
        self.backoff_s = BACKOFF_S
        self.backoff_max_s = BACKOFF_MAX_S
        self.give_up_s: float | None = None
        self.stats = DeframerStats()
        self.last_rx_monotonic: float | None = None
        self._queue: asyncio.Queue[Any] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._failure: BaseException | None = None
        self._closing = False  # close() has begun: a loss is no reason to reconnect
        self._streaming = False  # the host's last START/STOP was START (sent again after a reconnect)
        self._rate: bytes | None = None  # the host's last SET_RATE, encoded (sent again after a reconnect)
        self._reconnect_task: asyncio.Task[None] | None = None

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

    def _end(self, failure: BaseException | None = None) -> None:
        """No more data will come; ``failure`` is raised to the consumer if given."""
        if failure is not None:
            self._failure = failure
        if self._queue is not None:
            self._queue.put_nowait(_END)

    def _note_command(self, frame: bytes) -> None:
        """Remember whether ``frame`` (an encoded command being sent) starts or stops streaming,
        or sets the rate."""
        try:
            command = decode_frame(frame)
        except ProtocolError:
            return
        if getattr(command, "command", None) in (Command.START, Command.STOP):
            self._streaming = command.command == Command.START
        elif getattr(command, "command", None) == Command.SET_RATE:
            self._rate = bytes(frame)

    def _again(self) -> list[bytes]:
        """The commands to send again once the sensor is back after a reconnect: the last
        SET_RATE, then START when the host had started streaming (encoded)."""
        return ([self._rate] if self._rate is not None else []) + ([encode_command(Command.START)] if self._streaming else [])

    def _lost_connection(self, why: str, advice: str = "") -> None:
        """The connection dropped while open (called in the loop's thread): reconnect in a task."""
        log.warning("lost the connection to %s (%s); reconnecting%s", self.url, why, f" -- {advice}" if advice else "")
        self.state = LinkState.RECONNECTING
        if self._reconnect_task is None or self._reconnect_task.done():
            self._reconnect_task = asyncio.get_running_loop().create_task(self._reconnect(why))

    async def _reconnect(self, why: str) -> None:
        """Call :meth:`_connect_again` with exponential backoff until it succeeds, the link is
        closed, or ``give_up_s`` has passed (the link then ends with :meth:`_gone`'s error). An
        attempt that raises anything but a :class:`LinkError` ends the link at once, with a
        :class:`LinkLostError` naming it (never a link left reconnecting with no task at work)."""
        delay, started = self.backoff_s, time.monotonic()
        while not self._closing:
            await asyncio.sleep(delay)
            if self._closing:
                return
            try:
                await self._connect_again()
                self.reconnects += 1
                return
            except BluetoothUnavailableError as exc:  # nothing left to try with
                self._give_up(exc)
                return
            except LinkError as exc:
                last = exc
                log.info("reconnect failed (%s); next try in %.1f s", exc, min(2 * delay, self.backoff_max_s))
            except Exception as exc:  # noqa: BLE001 - the task would end unseen, the link reconnecting for ever
                log.debug("reconnecting to %s failed", self.url, exc_info=True)
                self._give_up(LinkLostError(f"reconnecting to {self.url} failed ({type(exc).__name__}: {exc}); "
                                            "the link is closed"))
                return
            waited_s = time.monotonic() - started
            if self.give_up_s is not None and waited_s > self.give_up_s:
                self._give_up(self._gone(why, waited_s, last))
                return
            delay = min(2 * delay, self.backoff_max_s)

    async def _connect_again(self) -> None:
        """One reconnect attempt; raise :class:`LinkError` if it failed (links that reconnect override it)."""
        raise LinkLostError(f"{self.url} does not reconnect")

    def _gone(self, why: str, waited_s: float, last: LinkError) -> LinkLostError:
        """The error that ends a link whose sensor did not come back in ``waited_s`` seconds."""
        return LinkLostError(f"the sensor {self.url} did not come back within {self.give_up_s:.0f} s")

    def _give_up(self, failure: BaseException) -> None:
        self.state = LinkState.CLOSED
        self._end(failure)

    async def _stop_reconnecting(self) -> None:
        """End a reconnect in progress (from :meth:`close`, after setting ``_closing``)."""
        task = self._reconnect_task
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

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

