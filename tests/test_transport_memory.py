"""The link base through the in-memory fake, and choosing a link by URL."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from kneeemg.errors import InputError
from kneeemg.protocol import Command, CommandFrame, DataFrame, InfoFrame, encode_frame
from kneeemg.transport import LinkError, LinkLostError, MemoryLink, SerialLink, open_link
from kneeemg.transport.ble import BleLink, VirtualBleLink

INFO = InfoFrame(1000.0, 0.0625, ("left", "right"), 7, (1, 0, 0))


def run(coro, timeout_s=10.0):
    return asyncio.run(asyncio.wait_for(coro, timeout_s))


def test_memory_link_decodes_checks_and_ends():
    frame = DataFrame(0, 0, np.ones((3, 2), np.int32))

    async def main():
        link = open_link("memory://")
        await link.open()
        await link.send(Command.START)
        link.inject(INFO)
        link.inject(encode_frame(frame))
        link.inject(encode_frame(frame)[:-1])  # truncated: fails its CRC
        link.lose()
        got = []
        with pytest.raises(LinkLostError):
            async for f in link.frames():
                got.append(f)
        with pytest.raises(LinkLostError):  # the end is sticky
            async for _ in link.frames():
                pass
        return link, got

    link, got = run(main())
    assert link.sent == [CommandFrame(Command.START)]
    assert got[0] == INFO and isinstance(got[1], DataFrame) and len(got) == 2
    assert link.stats.frames == 2 and link.stats.bad_frames == 1


def test_no_data_within_the_timeout_counts_as_lost():
    async def main():
        async with MemoryLink() as link:
            async for _ in link.frames(timeout_s=0.1):
                pass

    with pytest.raises(LinkLostError, match=r"no data from memory:// for 0\.1 s;"):
        run(main())


def test_frames_before_open_is_a_clear_error():
    async def main():
        async for _ in MemoryLink().frames():
            pass

    with pytest.raises(LinkError, match="not open"):
        run(main())


@pytest.mark.parametrize("url, cls", [("/dev/ttyACM0", SerialLink), ("serial:///dev/ttyACM0", SerialLink),
                                      ("loop://", SerialLink), ("COM3", SerialLink), ("memory://", MemoryLink),
                                      ("ble://AA:BB:CC:DD:EE:FF", BleLink), ("ble://", BleLink),
                                      ("ble+virtual://", VirtualBleLink)])
def test_open_link_chooses_by_url(url, cls):
    link = open_link(url)
    assert type(link) is cls and link.url == url and link.state.value == "idle"


def test_a_backend_can_be_injected():
    link = open_link("ble://AA:BB:CC:DD:EE:FF", backend=MemoryLink)
    assert isinstance(link, MemoryLink)
    assert open_link("ble://aa:bb:cc:dd:ee:ff").address == "AA:BB:CC:DD:EE:FF"


@pytest.mark.parametrize("url, options, message", [
    ("memory://", {"give_up_s": 3}, r"memory:// does not take the option\(s\) give_up_s; .*takes: none"),
    ("loop://", {"mtu": 247}, r"loop:// does not take the option\(s\) mtu; .*takes: backoff_max_s, backoff_s, baudrate, "
                              r"give_up_s$"),
    ("ble://x", {"foo": 1}, r"ble://x does not take the option\(s\) foo; .*give_up_s"),
    ("ble+virtual://", {"foo": 1}, r"does not take the option\(s\) foo; .*sensor"),
])
def test_unknown_options_are_refused_for_every_scheme(url, options, message):
    with pytest.raises(InputError, match=message):
        open_link(url, **options)


def test_known_options_still_reach_the_link():
    assert open_link("ble://", give_up_s=3).give_up_s == 3
    assert open_link("/dev/ttyACM0", give_up_s=3, backoff_s=0.1).give_up_s == 3
    assert open_link("ble+virtual://", sensor=None, give_up_s=3).give_up_s == 3
    assert open_link("loop://", baudrate=9600).baudrate == 9600


@pytest.mark.parametrize("url", [None, 3])
def test_the_url_must_be_a_string(url):
    with pytest.raises(InputError, match="the link URL must be a string"):
        open_link(url)
