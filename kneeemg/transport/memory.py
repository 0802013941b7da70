"""An in-memory link for fast tests: frames injected by the test come out of :meth:`frames`."""

from __future__ import annotations

from typing import Any

from ..protocol import Frame, ProtocolError, decode_frame, encode_frame
from .base import Link, LinkLostError, LinkState


class MemoryLink(Link):
    """A fake sensor link (``memory://``).

    ``inject(frame)`` queues a frame (a decoded frame, or raw frame bytes, which are checked
    like bytes from a real link); ``lose()`` ends the stream as a lost sensor would;
    ``sent`` holds the command frames the host wrote, decoded.
    """

    def __init__(self, url: str = "memory://") -> None:
        super().__init__(url)
        self.sent: list[Frame] = []

    async def open(self) -> None:
        self._attach()
        self.state = LinkState.CONNECTED

    def inject(self, frame: Frame | bytes) -> None:
        """Queue one frame (call after :meth:`open`, from the event loop's thread)."""
        self._put(frame)

    def lose(self, message: str = "the fake sensor went away") -> None:
        """End the stream with :class:`LinkLostError`."""
        self.state = LinkState.CLOSED
        self._end(LinkLostError(message))

    async def send_bytes(self, frame: bytes) -> None:
        if self.state is not LinkState.CONNECTED:
            raise LinkLostError(f"{self.url} is not connected")
        self.sent.append(decode_frame(frame))

    async def close(self) -> None:
        if self.state is not LinkState.CLOSED:
            self.state = LinkState.CLOSED
            self._end()

    def _decode(self, unit: Any) -> list[Frame]:
        if not isinstance(unit, (bytes, bytearray)):
            self.stats.frames += 1
            return [unit]
        try:
            frame = decode_frame(unit)
        except ProtocolError:
            self.stats.bad_frames += 1
            return []
        self.stats.frames += 1
        return [frame]

    def _split_raw(self, unit: Any) -> list[bytes]:
        return [bytes(unit) if isinstance(unit, (bytes, bytearray)) else encode_frame(unit)]
