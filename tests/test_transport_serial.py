"""Serial links: pyserial's loop:// and a real pseudo-terminal; the blocking wrapper; the pty sensor;
reconnecting after the sensor is unplugged and plugged in again (a pty closed, a new one behind a stable name)."""

from __future__ import annotations

import asyncio
import os
import threading
import time

import numpy as np
import pytest

from kneeemg.errors import DeviceError
from kneeemg.io import open_recording
from kneeemg.protocol import Command, CommandFrame, DataFrame, InfoFrame, cobs_encode, encode_frame, serial_encode
from kneeemg.record import record_link
from kneeemg.transport import BlockingLink, LinkLostError, LinkState, SensorNotFoundError, SerialLink, open_link
from kneeemg.transport.ptysim import PtySensor

INFO = InfoFrame(1000.0, 0.0625, ("left", "right"), 7, (1, 0, 0))  # exact in float32


def run(coro, timeout_s=15.0):
    return asyncio.run(asyncio.wait_for(coro, timeout_s))


def signal_counts(n, seed=0):
    return np.random.default_rng(seed).integers(-40000, 40000, (n, 2)).astype(np.int32)


async def wait_until(predicate, timeout_s=20.0):
    async with asyncio.timeout(timeout_s):
        while not predicate():
            await asyncio.sleep(0.01)


def reader_threads():
    return [t for t in threading.enumerate() if t.name.startswith("kneeemg-serial")]


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
            assert isinstance(link, SerialLink) and link.state.value == "connected" and not link.reopens
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
        link = open_link(f"serial://{name}", backoff_s=0.05, give_up_s=0.3)
        await link.open()
        os.write(master, b"\x13\x37garbage\x00" + serial_encode(INFO) + serial_encode(data[0]))
        os.write(master, serial_encode(data[1])[:7])  # a frame split across writes
        await asyncio.sleep(0.1)
        os.write(master, serial_encode(data[1])[7:] + cobs_encode(bytes(bad)) + b"\0" + serial_encode(data[3]))
        got = await take(link.frames(timeout_s=5), 4)
        os.close(slave)
        os.close(master)  # the cable is pulled, for good
        with pytest.raises(LinkLostError, match=f"{name} stopped working .*did not come back in"):
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
    with PtySensor(c, speed=0) as sensor, BlockingLink(open_link(sensor.port, backoff_s=0.05, give_up_s=0.3)) as link:
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


def test_a_recording_through_an_unplug_keeps_the_counter_and_marks_the_exact_gap(tmp_path):
    c = signal_counts(8000, seed=4)
    stable = tmp_path / "usb-kneeemg-if00"  # as /dev/serial/by-id/ names it

    async def main(sensor):
        link = SerialLink(str(stable), backoff_s=0.05, backoff_max_s=0.2)
        sensor.unplug(0.6, at_sample=2500)
        return await record_link(link, tmp_path / "out", max_samples=len(c), no_data_timeout_s=10.0, pace=2.0)

    with PtySensor(c, speed=2.0, link=stable) as sensor:
        out = run(main(sensor), timeout_s=60.0)
    assert out.stop_reason == "samples" and out.status.reconnects == 1
    with open_recording(out.path) as rec:
        x, info = rec.read(), rec.info
    [(first, n)] = sensor.skipped
    assert first >= 2500 and n >= 0.6 * 2000  # the sensor went on counting while unplugged
    assert [(g.start_sample, g.n_samples) for g in info.gaps] == [(first, n)]  # exactly what it never sent
    assert info.n_samples == len(c) and out.status.samples == len(c) - n and out.status.frames_bad == 0
    kept = np.ones(len(c), bool)
    kept[first : first + n] = False
    np.testing.assert_allclose(x[kept], c[kept] * 0.0715, rtol=1e-6)  # every other sample in its place


def test_start_is_sent_again_to_a_sensor_that_restarted_and_a_torn_frame_is_not_joined():
    c = signal_counts(20000, seed=5)

    async def main(sensor):
        link = open_link(sensor.port, backoff_s=0.05, backoff_max_s=0.2)
        async with link:
            await link.send(Command.REQUEST_INFO)
            await link.send(Command.START)
            frames = link.frames(timeout_s=10)
            before = []
            async for f in frames:
                before.append(f)
                if isinstance(f, DataFrame) and f.first_sample >= 1000:
                    break
            sensor.unplug(0.3, restart=True, torn=True)
            after = []
            async for f in frames:  # the new session's info, then its data from sample 0
                after.append(f)  # (frames of the old session still on their way come first on a busy machine)
                if isinstance(f, DataFrame) and f.first_sample >= 370 and any(isinstance(g, InfoFrame) for g in after):
                    break
            return before, after, link.reconnects, link.stats.bad_frames, link.state

    with PtySensor(c, speed=2.0, link=None) as sensor:
        before, after, reconnects, bad, state = run(main(sensor), timeout_s=30.0)
        starts = sensor.starts
    sessions = {f.session_id for f in before + after if isinstance(f, InfoFrame)}
    new_info = [i for i, f in enumerate(after) if isinstance(f, InfoFrame) and f.session_id == max(sessions)]
    data_after = [f.first_sample for f in after[new_info[0]:] if isinstance(f, DataFrame)] if new_info else []
    assert len(sessions) == 2 and reconnects == 1 and state is LinkState.CONNECTED
    assert starts == 2  # the link sent START again: nothing else did
    assert data_after[:3] == [0, 37, 74]  # the new session streams from its start
    assert bad == 0  # the half frame sent before the cable was pulled did not join the first frame after


def test_the_rate_the_host_set_is_set_again_after_a_sensor_that_lost_power_comes_back():
    # a sensor that lost power is back at its first rate; the link sets the host's rate (its last
    # SET_RATE, also one sent while reconnecting) again before START, so the session goes on at it
    c = signal_counts(20000, seed=6)

    async def main(sensor):
        link = open_link(sensor.port, backoff_s=0.05, backoff_max_s=0.2)
        async with link:
            await link.send(Command.SET_RATE, 500)
            await link.send(Command.START)
            frames = link.frames(timeout_s=10)
            rates = []
            async for f in frames:
                if isinstance(f, InfoFrame):
                    rates.append(f.fs_hz)
                if isinstance(f, DataFrame) and f.first_sample >= 500:
                    break
            sensor.unplug(0.5, restart=True)
            while link.state is not LinkState.RECONNECTING:
                await asyncio.sleep(0.01)
            await link.send(Command.SET_RATE, 2000)  # while reconnecting: remembered, not dropped
            async for f in frames:
                if isinstance(f, InfoFrame):
                    rates.append(f.fs_hz)
                if isinstance(f, DataFrame) and f.first_sample >= 370 and rates[-1] == 2000:
                    break
            return rates

    with PtySensor(c, speed=4.0, link=None) as sensor:
        rates = run(main(sensor), timeout_s=30.0)
        commands = [(f.command, f.argument) for f in sensor.commands]
    assert commands == [(Command.SET_RATE, 500), (Command.START, 0), (Command.REQUEST_INFO, 0), (Command.SET_RATE, 2000),
                        (Command.START, 0)]
    # (the sensor's first rate, when its first info frame is read); the host's rate; the sensor back
    # at its first one after losing power; the host's again
    host = rates.index(500.0)
    assert set(rates[:host]) <= {1000.0} and 1000.0 in rates[host + 1 : -1] and rates[-1] == 2000.0


async def started(link):
    """Send START and take the first 3 frames; the frames that follow come from what this returns."""
    await link.send(Command.START)
    frames = link.frames(timeout_s=10)
    await take(frames, 3)
    return frames


def test_a_port_that_never_comes_back_ends_the_link_naming_it_and_the_time_waited(tmp_path):
    stable = tmp_path / "usb-kneeemg-if00"

    async def main(sensor):
        link = open_link(str(stable), backoff_s=0.05, backoff_max_s=0.1, give_up_s=0.5)
        async with link:
            frames = await started(link)
            sensor.unplug(at_sample=0)  # for good
            lost = time.monotonic()
            with pytest.raises(LinkLostError) as err:
                await take(frames, 10_000)
            return str(err.value), time.monotonic() - lost, link.state, link.reconnects

    with PtySensor(signal_counts(40000), speed=1.0, link=stable) as sensor:
        message, took_s, state, reconnects = run(main(sensor))
    assert f"the serial port {stable} stopped working" in message and "\n" not in message
    waited = float(message.split("did not come back in ")[1].split(" s")[0])
    assert 0.5 <= waited <= took_s and "kneeemg devices" in message
    assert state is LinkState.CLOSED and reconnects == 0 and not reader_threads()


def test_close_while_reconnecting_is_prompt_and_leaves_no_thread(tmp_path):
    stable = tmp_path / "usb-kneeemg-if00"

    async def main(sensor):
        link = open_link(str(stable), backoff_s=0.05, backoff_max_s=0.2)  # keeps trying
        await link.open()
        frames = await started(link)
        sensor.unplug(at_sample=0)
        await wait_until(lambda: link.state is LinkState.RECONNECTING)
        await asyncio.sleep(0.5)  # a few attempts
        await link.send(Command.STOP)  # remembered, not an error
        await link.send(Command.REQUEST_INFO)
        await asyncio.wait_for(link.close(), 3.0)
        rest = [f async for f in frames]  # ends without an error
        return link.state, link._reconnect_task.done(), link._streaming, rest

    with PtySensor(signal_counts(40000), speed=1.0, link=stable) as sensor:
        state, task_done, streaming, rest = run(main(sensor))
    assert state is LinkState.CLOSED and task_done and not streaming
    assert all(isinstance(f, (InfoFrame, DataFrame)) for f in rest)
    assert not reader_threads()


def test_a_port_that_fails_its_setup_as_it_comes_back_is_tried_again(tmp_path, monkeypatch):
    # pyserial sets a port up with termios calls that raise termios.error, not an OSError,
    # when the device goes away between opening and setting up (a connector that bounces as
    # it is plugged in): that ended the reconnecting, where the next try finds the port
    import serial
    import termios

    stable = tmp_path / "usb-kneeemg-if00"
    real, opened, failed = serial.serial_for_url, [], []

    def bouncing(url, *args, **kwargs):
        if opened and not failed and os.path.exists(url):  # the first try that finds it back
            failed.append(url)
            raise termios.error(5, "Input/output error")
        port = real(url, *args, **kwargs)
        opened.append(url)
        return port

    monkeypatch.setattr(serial, "serial_for_url", bouncing)

    async def main(sensor):
        link = open_link(str(stable), backoff_s=0.05, backoff_max_s=0.1, give_up_s=20.0)
        async with link:
            frames = await started(link)
            sensor.unplug(0.3, at_sample=0)
            await wait_until(lambda: link.state is LinkState.RECONNECTING)
            await wait_until(lambda: link.state is not LinkState.RECONNECTING)
            state, reconnects = link.state, link.reconnects
            after = await take(frames, 3) if state is LinkState.CONNECTED else []
            return state, reconnects, after

    with PtySensor(signal_counts(40000), speed=1.0, link=stable) as sensor:
        state, reconnects, after = run(main(sensor), timeout_s=40.0)
    assert failed == [str(stable)] and len(opened) == 2
    assert state is LinkState.CONNECTED and reconnects == 1 and len(after) == 3


def test_ports_are_listed_by_the_stable_name_that_survives_a_replug(tmp_path, monkeypatch):
    # `kneeemg devices` listed /dev/ttyACM0 while the docs say to record by the /dev/serial/by-id/ name
    from serial.tools import list_ports, list_ports_common

    from kneeemg.transport import serial as ser

    master, slave = os.openpty()
    try:
        device = os.ttyname(slave)
        by_id = tmp_path / "by-id"
        by_id.mkdir()
        (by_id / "usb-kneeemg_sensor_4B454D02-if00").symlink_to(device)
        assert ser.stable_names(by_id) == {os.path.realpath(device): str(by_id / "usb-kneeemg_sensor_4B454D02-if00")}
        assert ser.stable_names(tmp_path / "none") == {}  # no such folder (not Linux, or no USB device)
        info = list_ports_common.ListPortInfo(device, skip_link_detection=True)
        info.description = "kneeemg sensor"
        other = list_ports_common.ListPortInfo("/dev/ttyS0", skip_link_detection=True)
        monkeypatch.setattr(list_ports, "comports", lambda *a, **k: [other, info])
        assert ser.list_serial_ports(by_id) == [(str(by_id / "usb-kneeemg_sensor_4B454D02-if00"),
                                                 f"kneeemg sensor, now {device}"), ("/dev/ttyS0", "n/a")]
    finally:
        os.close(master)
        os.close(slave)
