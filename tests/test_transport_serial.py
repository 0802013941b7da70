"""Serial links: pyserial's loop:// and a real pseudo-terminal; the blocking wrapper; the pty sensor."""

from __future__ import annotations

import asyncio
import os

import numpy as np
import pytest

from kneeemg.errors import DeviceError
from kneeemg.protocol import Command, CommandFrame, DataFrame, InfoFrame, cobs_encode, encode_frame, serial_encode
from kneeemg.transport import BlockingLink, LinkLostError, SensorNotFoundError, SerialLink, open_link
from kneeemg.transport.ptysim import PtySensor

INFO = InfoFrame(1000.0, 0.0625, ("left", "right"), 7, (1, 0, 0))  # exact in float32


def run(coro, timeout_s=15.0):
    return asyncio.run(asyncio.wait_for(coro, timeout_s))


async def take(agen, n):
    out = []
    async for item in agen:
        out.append(item)
        if len(out) == n:
            break
    return out


def test_loop_url_echoes_commands_as_frames():
    async def main():
        async with open_link("loop://") as link:
            assert isinstance(link, SerialLink) and link.state.value == "connected"
            await link.send(Command.SET_RATE, 2000)
            await link.send(Command.START)
            return await take(link.frames(timeout_s=5), 2)

    assert run(main()) == [CommandFrame(Command.SET_RATE, 2000), CommandFrame(Command.START)]


def test_pty_frames_garbage_damage_and_hangup():
    master, slave = os.openpty()
    name = os.ttyname(slave)
    data = [DataFrame(i * 4, i * 4000, np.full((4, 2), i, np.int32)) for i in range(5)]
    bad = bytearray(encode_frame(data[2]))
    bad[-5] ^= 0xFF

    async def main():
        link = open_link(f"serial://{name}")
        await link.open()
        os.write(master, b"\x13\x37garbage\x00" + serial_encode(INFO) + serial_encode(data[0]))
        os.write(master, serial_encode(data[1])[:7])  # a frame split across writes
        await asyncio.sleep(0.1)
        os.write(master, serial_encode(data[1])[7:] + cobs_encode(bytes(bad)) + b"\0" + serial_encode(data[3]))
        got = await take(link.frames(timeout_s=5), 4)
        os.close(slave)
        os.close(master)  # the cable is pulled
        with pytest.raises(LinkLostError, match="stopped working"):
            await take(link.frames(timeout_s=5), 1)
        await link.close()
        return got, link.stats

    got, stats = run(main())
    assert got[0] == INFO and [f.first_sample for f in got[1:]] == [0, 4, 12]
    np.testing.assert_array_equal(got[2].counts, data[1].counts)
    assert stats.bad_frames == 2 and stats.frames == 4  # the garbage and the damaged frame


def test_raw_frames_are_cobs_decoded_bytes():
    async def main():
        async with open_link("loop://") as link:
            await link.send(Command.STOP)
            return await take(link.raw_frames(timeout_s=5), 1)

    from kneeemg.protocol import encode_command

    assert run(main()) == [encode_command(Command.STOP)]


def test_a_missing_port_says_how_to_find_the_right_one():
    with pytest.raises(SensorNotFoundError, match="cannot open serial port /dev/kneeemg-nope.*kneeemg devices"):
        run(open_link("/dev/kneeemg-nope").open())


def test_blocking_link_over_the_pty_sensor():
    c = np.arange(740, dtype=np.int32).reshape(-1, 2) * 1000
    with PtySensor(c, speed=0) as sensor, BlockingLink(open_link(sensor.port)) as link:
        link.send(Command.REQUEST_INFO)
        link.send(Command.START)
        got = []
        with pytest.raises(LinkLostError):  # the sensor closes its end after the last frame
            while len(got) < 100:
                got.append(link.read_frame(timeout_s=5))
    data = [f for f in got if isinstance(f, DataFrame)]
    assert isinstance(got[0], InfoFrame) and got[0].labels == ("left", "right")
    np.testing.assert_array_equal(np.concatenate([f.counts for f in data]), c)


def test_a_port_in_use_is_refused_and_the_first_reader_keeps_every_byte():
    data = [DataFrame(i * 4, i * 4000, np.full((4, 2), i, np.int32)) for i in range(40)]
    master, slave = os.openpty()
    name = os.ttyname(slave)

    async def main():
        first = open_link(name)
        await first.open()
        second = open_link(f"serial://{name}")
        with pytest.raises(DeviceError, match=f"cannot open serial port {name}: it is in use by another program") as err:
            await second.open()
        assert "\n" not in str(err.value) and second.state.value == "closed"
        for f in data:
            os.write(master, serial_encode(f))
        got = await take(first.frames(timeout_s=5), len(data))  # nothing taken by the second opener
        await first.close()
        return got

    try:
        got = run(main())
    finally:
        os.close(slave)
        os.close(master)
    assert [f.first_sample for f in got] == [f.first_sample for f in data]
