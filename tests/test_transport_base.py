"""The link base's reconnect loop (:meth:`kneeemg.transport.base.Link._reconnect`), through the in-memory fake."""

from __future__ import annotations

import asyncio

import pytest

from kneeemg.transport import LinkLostError, LinkState, MemoryLink


class BrokenReconnect(MemoryLink):
    """A link whose attempts to connect again fail with an error no link error covers (a bug, a stack fault)."""

    attempts = 0

    async def _connect_again(self) -> None:
        self.attempts += 1
        raise RuntimeError("the stack fell over")


def test_an_unexpected_error_while_reconnecting_ends_the_link_in_one_line():
    # the reconnect task died with it, unseen, and the link stayed 'reconnecting' for ever:
    # frames() ignores its timeout while a link reconnects, so a recording never ended
    async def main():
        link = BrokenReconnect()
        link.backoff_s = 0.01
        async with link:
            link._lost_connection("the test pulled it")
            with pytest.raises(LinkLostError) as err:
                async for _ in link.frames(timeout_s=0.2):
                    pass
            return str(err.value), link.state, link.attempts

    message, state, attempts = asyncio.run(asyncio.wait_for(main(), 10.0))
    assert message == ("reconnecting to memory:// failed (RuntimeError: the stack fell over); the link is closed")
    assert state is LinkState.CLOSED and attempts == 1
