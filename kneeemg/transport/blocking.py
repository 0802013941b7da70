"""A blocking wrapper around any :class:`~kneeemg.transport.base.Link`, for code that is not asynchronous.

The link runs in an event loop on a background thread; the calls below wait for it::

    with BlockingLink(open_link("/dev/ttyACM0")) as link:
        link.send(Command.START)
        frame = link.read_frame(timeout_s=1.0)   # None if nothing came in time
"""

from __future__ import annotations

import asyncio
import queue
import threading
from typing import Any

from ..protocol import Command, Frame
from .base import Link, LinkError

_STOP = object()


class BlockingLink:
    """Synchronous access to a link (see the module docstring)."""

    def __init__(self, link: Link, open_timeout_s: float = 60.0) -> None:
        self.link = link
        self.open_timeout_s = open_timeout_s
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="kneeemg-link", daemon=True)
        self._frames: queue.Queue[Any] = queue.Queue()
        self._pump: Any = None

    def _call(self, coro: Any, timeout_s: float | None) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout_s)

    def open(self) -> "BlockingLink":
        """Connect (raises the link's errors)."""
        self._thread.start()
        self._call(self.link.open(), self.open_timeout_s)
        self._pump = asyncio.run_coroutine_threadsafe(self._pump_frames(), self._loop)
        return self

    async def _pump_frames(self) -> None:
        try:
            async for frame in self.link.frames():
                self._frames.put(frame)
        except LinkError as exc:
            self._frames.put(exc)
        self._frames.put(_STOP)

    def read_frame(self, timeout_s: float | None = None) -> Frame | None:
        """The next frame; None after ``timeout_s`` or once the link has ended.

        Raises the link's error if it was lost.
        """
        try:
            item = self._frames.get(timeout=timeout_s)
        except queue.Empty:
            return None
        if item is _STOP:
            self._frames.put(_STOP)
            return None
        if isinstance(item, LinkError):
            self._frames.put(_STOP)
            raise item
        return item

    def send(self, command: Command, argument: int = 0) -> None:
        self._call(self.link.send(command, argument), 10.0)

    def close(self) -> None:
        if not self._thread.is_alive():
            return
        try:
            self._call(self.link.close(), 10.0)
            if self._pump is not None:
                self._pump.result(5.0)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5.0)
            self._loop.close()

    def __enter__(self) -> "BlockingLink":
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()
